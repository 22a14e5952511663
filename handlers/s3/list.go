package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/projections"
)

// listParams are the parameters every listing shares.
type listParams struct {
	prefix, delimiter string
	max               int
	encode            func(string) string
	encodingType      string
}

// encodeURL is S3's encoding-type=url: query escaping with spaces as %20,
// which every client's decoder reads back exactly.
func encodeURL(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

func readListParams(c *req, maxName string) (listParams, error) {
	lp := listParams{prefix: c.q.Get("prefix"), delimiter: c.q.Get("delimiter"), max: 1000, encode: func(s string) string { return s }}
	if v := c.q.Get(maxName); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lp, s3Errorf("InvalidArgument", http.StatusBadRequest, "%s must be a non-negative integer", maxName)
		}
		lp.max = min(n, 1000)
	}
	switch et := c.q.Get("encoding-type"); et {
	case "":
	case "url":
		lp.encode, lp.encodingType = encodeURL, "url"
	default:
		return lp, s3Errorf("InvalidArgument", http.StatusBadRequest, "Invalid Encoding Method specified in Request")
	}
	return lp, nil
}

type object struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
	Owner        *owner `xml:"Owner,omitempty"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName        xml.Name       `xml:"ListBucketResult"`
	Xmlns          string         `xml:"xmlns,attr"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         *string        `xml:"Marker,omitempty"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	StartAfter     string         `xml:"StartAfter,omitempty"`
	Token          string         `xml:"ContinuationToken,omitempty"`
	NextToken      string         `xml:"NextContinuationToken,omitempty"`
	KeyCount       *int           `xml:"KeyCount,omitempty"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	Contents       []object       `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

// list runs one listing page after the given path.
func list(c *req, lp listParams, after string) (*projections.ListResult, error) {
	if lp.max == 0 {
		return &projections.ListResult{}, nil
	}
	o := projections.ListOptions{Prefix: lp.prefix, Delimiter: lp.delimiter, After: after, Limit: lp.max, Now: c.h.d.Core.Now()}
	m, err := asOf(c)
	if err != nil {
		return nil, err
	}
	if m != nil {
		if m.SyncID == 0 { // before the bucket's first change
			return &projections.ListResult{}, nil
		}
		o.AsOf, o.AsOfTime = m.SyncID, m.Time
		o.ShowExpired = c.svc != nil && c.p.Owns(c.svc) // an expired object is gone but to its administrators
	}
	return c.h.d.State.List(c.ctx(), c.bucket, o)
}

// AsOfHeader is Cairn's point-in-time extension of S3: on GetObject,
// HeadObject and ListObjects(V2), this header (or the query parameter of
// the same name) reads the bucket as it was at a moment: an RFC 3339 time
// or sync:N (the native API's asof).
const AsOfHeader = "x-cairn-asof"

// asOf reads the point-in-time extension (nil when absent).
func asOf(c *req) (*projections.Moment, error) {
	raw := c.r.Header.Get(AsOfHeader)
	if raw == "" {
		raw = c.q.Get(AsOfHeader)
	}
	if raw == "" {
		return nil, nil
	}
	m, err := c.h.d.State.MomentOf(c.ctx(), c.svc, raw)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

func (res *listBucketResult) fill(c *req, lp listParams, page *projections.ListResult, withOwner bool) {
	res.Contents, res.CommonPrefixes = []object{}, []commonPrefix{}
	o := ownerOf(c.svc.Account)
	for _, v := range page.Files {
		obj := object{Key: lp.encode(v.Path), LastModified: iso(v.Time), ETag: httpx.Quote(v.ETag), Size: v.Size, StorageClass: "STANDARD"}
		if withOwner {
			obj.Owner = &o
		}
		res.Contents = append(res.Contents, obj)
	}
	for _, p := range page.Prefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: lp.encode(p)})
	}
	res.IsTruncated = page.Truncated
}

// listObjectsV1 is ListObjects: marker paging; NextMarker is sent when the
// page is truncated (clients without a delimiter use the last key).
func listObjectsV1(c *req) error {
	lp, err := readListParams(c, "max-keys")
	if err != nil {
		return err
	}
	marker := c.q.Get("marker")
	page, err := list(c, lp, marker)
	if err != nil {
		return err
	}
	res := listBucketResult{Xmlns: xmlns, Name: c.name, Prefix: lp.encode(lp.prefix), Marker: new(string),
		MaxKeys: lp.max, Delimiter: lp.encode(lp.delimiter), EncodingType: lp.encodingType}
	*res.Marker = lp.encode(marker)
	res.fill(c, lp, page, true)
	if page.Truncated {
		res.NextMarker = lp.encode(page.Next)
	}
	return writeXML(c, res)
}

// listObjectsV2 is ListObjectsV2: the continuation token is the last entry
// returned, opaque to clients.
func listObjectsV2(c *req) error {
	lp, err := readListParams(c, "max-keys")
	if err != nil {
		return err
	}
	after := c.q.Get("start-after")
	token := c.q.Get("continuation-token")
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || !strings.HasPrefix(string(raw), "k:") {
			return s3Errorf("InvalidArgument", http.StatusBadRequest, "The continuation token provided is incorrect")
		}
		after = string(raw[2:])
	}
	page, err := list(c, lp, after)
	if err != nil {
		return err
	}
	n := len(page.Files) + len(page.Prefixes)
	res := listBucketResult{Xmlns: xmlns, Name: c.name, Prefix: lp.encode(lp.prefix), StartAfter: lp.encode(c.q.Get("start-after")),
		Token: token, KeyCount: &n, MaxKeys: lp.max, Delimiter: lp.encode(lp.delimiter), EncodingType: lp.encodingType}
	res.fill(c, lp, page, c.q.Get("fetch-owner") == "true")
	if page.Truncated {
		res.NextToken = base64.RawURLEncoding.EncodeToString([]byte("k:" + page.Next))
	}
	return writeXML(c, res)
}

type listVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	Xmlns               string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	Entries             []versionEntry `xml:"Version"` // element names from XMLName: Version or DeleteMarker
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

type versionEntry struct {
	XMLName      xml.Name
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag,omitempty"`
	Size         *int64 `xml:"Size,omitempty"`
	StorageClass string `xml:"StorageClass,omitempty"`
	Owner        owner  `xml:"Owner"`
}

// listObjectVersions lists every version, delete markers included, in key
// order and newest first within a key, in one sequence as S3 does.
func listObjectVersions(c *req) error {
	lp, err := readListParams(c, "max-keys")
	if err != nil {
		return err
	}
	km, vm := c.q.Get("key-marker"), c.q.Get("version-id-marker")
	if vm != "" && km == "" {
		return s3Errorf("InvalidArgument", http.StatusBadRequest, "A version-id marker cannot be specified without a key marker.")
	}
	res := listVersionsResult{Xmlns: xmlns, Name: c.name, Prefix: lp.encode(lp.prefix), KeyMarker: lp.encode(km), VersionIDMarker: vm,
		MaxKeys: lp.max, Delimiter: lp.encode(lp.delimiter), EncodingType: lp.encodingType, CommonPrefixes: []commonPrefix{}}
	if lp.max > 0 {
		page, err := c.h.d.State.ListVersions(c.ctx(), c.bucket, projections.VersionListOptions{
			Prefix: lp.prefix, Delimiter: lp.delimiter, KeyMarker: km, VersionMarker: vm, Limit: lp.max,
		})
		if err != nil {
			return err
		}
		o := ownerOf(c.svc.Account)
		for _, v := range page.Versions {
			e := versionEntry{Key: lp.encode(v.Path), VersionID: vid(v.Version), IsLatest: v.Latest, LastModified: iso(v.Time), Owner: o}
			if v.Deleted {
				e.XMLName = xml.Name{Local: "DeleteMarker"}
			} else {
				size := v.Size
				e.XMLName, e.ETag, e.Size, e.StorageClass = xml.Name{Local: "Version"}, httpx.Quote(v.ETag), &size, "STANDARD"
			}
			res.Entries = append(res.Entries, e)
		}
		for _, p := range page.Prefixes {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: lp.encode(p)})
		}
		res.IsTruncated = page.Truncated
		res.NextKeyMarker, res.NextVersionIDMarker = lp.encode(page.NextKey), page.NextVersion
	}
	return writeXML(c, res)
}
