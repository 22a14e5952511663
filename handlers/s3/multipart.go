package s3

import (
	"encoding/xml"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func createMultipartUpload(c *req) error {
	if err := unsupportedWrite(c.r.Header); err != nil {
		return err
	}
	ct, meta, headers, err := objectMeta(c.r.Header)
	if err != nil {
		return err
	}
	u, err := c.h.d.Core.CreateUpload(c.ctx(), c.origin(), events.UploadInput{
		Service: c.bucket, Path: c.key, ContentType: ct, Meta: meta, Headers: headers,
	})
	if err != nil {
		return err
	}
	return writeXML(c, initiateResult{Xmlns: xmlns, Bucket: c.name, Key: c.key, UploadID: u.ID})
}

// upload returns the request's open upload, which must be of its key.
func upload(c *req) (*schema.Upload, error) {
	u, err := c.h.d.Core.Upload(c.ctx(), c.bucket, c.q.Get("uploadId"))
	if err != nil {
		return nil, err
	}
	if u.Path != c.key {
		return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchUpload, "upload not found")
	}
	return u, nil
}

func partNumber(c *req) (int, error) {
	n, err := strconv.Atoi(c.q.Get("partNumber"))
	if err != nil || n < 1 || n > events.MaxParts {
		return 0, s3Errorf("InvalidArgument", http.StatusBadRequest, "Part number must be an integer between 1 and %d, inclusive", events.MaxParts)
	}
	return n, nil
}

func uploadPart(c *req) error {
	n, err := partNumber(c)
	if err != nil {
		return err
	}
	if err := bodyLength(c); err != nil {
		return err
	}
	if _, err := upload(c); err != nil {
		return err
	}
	p, err := c.h.d.Core.PutPart(c.ctx(), c.origin(), c.bucket, c.q.Get("uploadId"), n, c.r.Body)
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", httpx.Quote(p.ETag))
	for _, k := range checksumHeaders {
		if val := c.r.Header.Get(k); val != "" {
			c.w.Header().Set(k, val)
		}
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	Xmlns        string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

var copyRange = regexp.MustCompile(`^bytes=(\d+)-(\d+)$`)

// uploadPartCopy stores a part from (a range of) another object's bytes.
func uploadPartCopy(c *req) error {
	n, err := partNumber(c)
	if err != nil {
		return err
	}
	if _, err := upload(c); err != nil {
		return err
	}
	src, _, err := copySourceVersion(c)
	if err != nil {
		return err
	}
	first, last := int64(0), src.Size-1
	if rg := c.r.Header.Get("x-amz-copy-source-range"); rg != "" {
		m := copyRange.FindStringSubmatch(rg)
		if m == nil {
			return s3Errorf("InvalidArgument", http.StatusBadRequest, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
		}
		first, _ = strconv.ParseInt(m[1], 10, 64)
		last, _ = strconv.ParseInt(m[2], 10, 64)
		if first > last || last >= src.Size {
			return s3Errorf("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable")
		}
	}
	rd, err := c.h.d.Core.Open(c.ctx(), src)
	if err != nil {
		return err
	}
	defer rd.Close()
	p, err := c.h.d.Core.PutPart(c.ctx(), c.origin(), c.bucket, c.q.Get("uploadId"), n, io.NewSectionReader(rd, first, last-first+1))
	if err != nil {
		return err
	}
	c.w.Header().Set("x-amz-copy-source-version-id", vid(src))
	return writeXML(c, copyPartResult{Xmlns: xmlns, ETag: httpx.Quote(p.ETag), LastModified: iso(p.Modified)})
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func completeMultipartUpload(c *req) error {
	if _, err := upload(c); err != nil {
		return err
	}
	var in completeRequest
	if err := readXML(c, 4<<20, &in); err != nil {
		return err
	}
	if len(in.Parts) == 0 {
		return s3Errorf("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema")
	}
	list := make([]events.CompletePart, len(in.Parts))
	for i, p := range in.Parts {
		list[i] = events.CompletePart{Number: p.PartNumber, ETag: p.ETag}
	}
	cond, err := writeConditions(c.r.Header)
	if err != nil {
		return err
	}
	v, err := c.h.d.Core.CompleteUpload(c.ctx(), c.origin(), c.bucket, c.q.Get("uploadId"), list, cond)
	if err != nil {
		return err
	}
	c.w.Header().Set("x-amz-version-id", vid(v))
	loc := "http://" + c.r.Host + "/" + c.name + "/" + c.key
	return writeXML(c, completeResult{Xmlns: xmlns, Location: loc, Bucket: c.name, Key: c.key, ETag: httpx.Quote(v.ETag)})
}

func abortMultipartUpload(c *req) error {
	if _, err := upload(c); err != nil {
		return err
	}
	if err := c.h.d.Core.AbortUpload(c.ctx(), c.origin(), c.bucket, c.q.Get("uploadId")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type listUploadsResult struct {
	XMLName            xml.Name       `xml:"ListMultipartUploadsResult"`
	Xmlns              string         `xml:"xmlns,attr"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string         `xml:"Prefix"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Uploads            []uploadEntry  `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

type uploadEntry struct {
	Key          string `xml:"Key"`
	UploadID     string `xml:"UploadId"`
	Initiator    owner  `xml:"Initiator"`
	Owner        owner  `xml:"Owner"`
	StorageClass string `xml:"StorageClass"`
	Initiated    string `xml:"Initiated"`
}

// listMultipartUploads lists open uploads by key, then initiation, after
// the key (and upload id) markers.
func listMultipartUploads(c *req) error {
	lp, err := readListParams(c, "max-uploads")
	if err != nil {
		return err
	}
	km, um := c.q.Get("key-marker"), c.q.Get("upload-id-marker")
	all, err := c.h.d.State.Uploads(c.ctx(), c.bucket)
	if err != nil {
		return err
	}
	res := listUploadsResult{Xmlns: xmlns, Bucket: c.name, KeyMarker: lp.encode(km), UploadIDMarker: um, Prefix: lp.encode(lp.prefix),
		Delimiter: lp.encode(lp.delimiter), MaxUploads: lp.max, EncodingType: lp.encodingType, Uploads: []uploadEntry{}, CommonPrefixes: []commonPrefix{}}
	seen := map[string]bool{}
	count := 0
	for _, u := range all {
		if !strings.HasPrefix(u.Path, lp.prefix) || u.Path < km || (u.Path == km && (um == "" || u.ID <= um)) {
			continue
		}
		if lp.delimiter != "" {
			if i := strings.Index(u.Path[len(lp.prefix):], lp.delimiter); i >= 0 {
				cp := u.Path[:len(lp.prefix)+i+len(lp.delimiter)]
				if seen[cp] || cp <= km {
					continue
				}
				if count == lp.max {
					res.IsTruncated = true
					break
				}
				seen[cp] = true
				res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: lp.encode(cp)})
				res.NextKeyMarker, res.NextUploadIDMarker = lp.encode(cp), ""
				count++
				continue
			}
		}
		if count == lp.max {
			res.IsTruncated = true
			break
		}
		o := ownerOf(u.Account)
		res.Uploads = append(res.Uploads, uploadEntry{Key: lp.encode(u.Path), UploadID: u.ID, Initiator: owner{ID: u.Actor, DisplayName: u.Actor},
			Owner: o, StorageClass: "STANDARD", Initiated: iso(u.Initiated)})
		res.NextKeyMarker, res.NextUploadIDMarker = lp.encode(u.Path), u.ID
		count++
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return writeXML(c, res)
}

type listPartsResult struct {
	XMLName              xml.Name    `xml:"ListPartsResult"`
	Xmlns                string      `xml:"xmlns,attr"`
	Bucket               string      `xml:"Bucket"`
	Key                  string      `xml:"Key"`
	UploadID             string      `xml:"UploadId"`
	Initiator            owner       `xml:"Initiator"`
	Owner                owner       `xml:"Owner"`
	StorageClass         string      `xml:"StorageClass"`
	PartNumberMarker     int         `xml:"PartNumberMarker"`
	NextPartNumberMarker int         `xml:"NextPartNumberMarker"`
	MaxParts             int         `xml:"MaxParts"`
	IsTruncated          bool        `xml:"IsTruncated"`
	Parts                []partEntry `xml:"Part"`
}

type partEntry struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
}

func listParts(c *req) error {
	u, err := upload(c)
	if err != nil {
		return err
	}
	max := 1000
	if v := c.q.Get("max-parts"); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 0 {
			return s3Errorf("InvalidArgument", http.StatusBadRequest, "max-parts must be a non-negative integer")
		}
		max = min(max, 1000)
	}
	marker := 0
	if v := c.q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return s3Errorf("InvalidArgument", http.StatusBadRequest, "part-number-marker must be a non-negative integer")
		}
	}
	parts, err := c.h.d.Core.Parts(c.ctx(), c.bucket, u.ID)
	if err != nil {
		return err
	}
	res := listPartsResult{Xmlns: xmlns, Bucket: c.name, Key: c.key, UploadID: u.ID, Initiator: owner{ID: u.Actor, DisplayName: u.Actor},
		Owner: ownerOf(u.Account), StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: max, Parts: []partEntry{}}
	for _, p := range parts {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == max {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, partEntry{PartNumber: p.Number, LastModified: iso(p.Modified), ETag: httpx.Quote(p.ETag), Size: p.Size})
		res.NextPartNumberMarker = p.Number
	}
	return writeXML(c, res)
}
