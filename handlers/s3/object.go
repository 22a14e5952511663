package s3

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// MaxMetaSize bounds x-amz-meta-* (names and values), as S3 does.
const MaxMetaSize = 2 << 10

// MaxObjectSize bounds a single PUT, as S3 does (5 GiB).
const MaxObjectSize = 5 << 30

// storedHeaders are the standard headers kept with an object and sent back
// on GET and HEAD.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// objectMeta reads the content type, x-amz-meta-* and stored headers of a
// write.
func objectMeta(hd http.Header) (contentType string, meta, headers map[string]string, err error) {
	size := 0
	for name, vals := range hd {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && k != "" {
			if meta == nil {
				meta = map[string]string{}
			}
			meta[k] = strings.Join(vals, ",")
			size += len(k) + len(meta[k])
		}
	}
	if size > MaxMetaSize {
		return "", nil, nil, s3Errorf("MetadataTooLarge", http.StatusBadRequest,
			"Your metadata headers exceed the maximum allowed metadata size (%d bytes)", MaxMetaSize)
	}
	for _, name := range storedHeaders {
		v := hd.Get(name)
		if name == "Content-Encoding" {
			v = withoutAWSChunked(v)
		}
		if v != "" {
			if headers == nil {
				headers = map[string]string{}
			}
			headers[strings.ToLower(name)] = v
		}
	}
	contentType = hd.Get("Content-Type")
	if contentType == "" {
		contentType = "binary/octet-stream"
	}
	return contentType, meta, headers, nil
}

// withoutAWSChunked drops the aws-chunked transfer coding, which describes
// the request's framing, not the object.
func withoutAWSChunked(v string) string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			out = append(out, e)
		}
	}
	return strings.Join(out, ",")
}

// unsupportedWrite refuses write options Cairn cannot honour rather than
// silently ignoring them.
func unsupportedWrite(hd http.Header) error {
	if hd.Get("x-amz-server-side-encryption-customer-algorithm") != "" {
		return s3Errorf("NotImplemented", http.StatusNotImplemented, "server-side encryption with customer keys is not supported")
	}
	if sc := hd.Get("x-amz-storage-class"); sc != "" && sc != "STANDARD" {
		return s3Errorf("InvalidStorageClass", http.StatusBadRequest, "The storage class you specified is not valid")
	}
	return nil
}

// writeConditions reads If-Match / If-None-Match of a conditional write.
func writeConditions(hd http.Header) (schema.Conditions, error) {
	cond := schema.Conditions{IfMatch: hd.Get("If-Match"), IfNoneMatch: hd.Get("If-None-Match")}
	if cond.IfNoneMatch != "" && cond.IfNoneMatch != "*" {
		return cond, s3Errorf("NotImplemented", http.StatusNotImplemented, "If-None-Match on a write accepts only *")
	}
	return cond, nil
}

// bodyLength checks a write's declared length.
func bodyLength(c *req) error {
	n := c.r.ContentLength
	if c.auth != nil && c.auth.DecodedLength >= 0 && strings.HasPrefix(c.auth.Payload, "STREAMING-") {
		n = c.auth.DecodedLength
	}
	switch {
	case n < 0:
		return s3Errorf("MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header.")
	case n > min(MaxObjectSize, c.h.d.Core.MaxObjectSize()):
		return s3Errorf("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size.")
	}
	return nil
}

func putObject(c *req) error {
	if err := bodyLength(c); err != nil {
		return err
	}
	if err := unsupportedWrite(c.r.Header); err != nil {
		return err
	}
	ct, meta, headers, err := objectMeta(c.r.Header)
	if err != nil {
		return err
	}
	cond, err := writeConditions(c.r.Header)
	if err != nil {
		return err
	}
	v, err := c.h.d.Core.PutObject(c.ctx(), c.origin(), events.PutInput{
		Service: c.bucket, Path: c.key, Body: c.r.Body, ContentType: ct, Meta: meta, Headers: headers, Cond: cond,
		Declared: max(c.r.ContentLength, 0),
	})
	if err != nil {
		return err
	}
	hd := c.w.Header()
	hd.Set("ETag", httpx.Quote(v.ETag))
	hd.Set("x-amz-version-id", vid(v))
	for _, k := range checksumHeaders {
		if val := c.r.Header.Get(k); val != "" {
			hd.Set(k, val)
		}
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// checksumHeaders are echoed on a successful write: the body was verified
// against them.
var checksumHeaders = []string{"x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-sha1", "x-amz-checksum-sha256", "x-amz-checksum-crc64nvme"}

// version finds the version a read serves, through the one version
// chooser (projections.Choose): the version named by id ("null"
// included), the one live at moment m (the point-in-time extension; nil
// without it) or the newest. A delete marker in the way answers 404
// NoSuchKey on a live read and 405 MethodNotAllowed when named by id, both
// with x-amz-delete-marker: true (an error answer carries no
// x-amz-version-id: writeError removes it).
func version(c *req, bucket, key, id string, m *projections.Moment) (*schema.Version, error) {
	ch, err := choose(c, bucket, key, id, m)
	if ch.Marker != nil {
		c.w.Header().Set("x-amz-delete-marker", "true")
	}
	return ch.Version, err
}

// choose runs projections.Choose for a read and turns its answers into
// S3's errors.
func choose(c *req, bucket, key, id string, m *projections.Moment) (projections.Chosen, error) {
	sel := projections.Selector{VersionID: id, At: m, Now: c.h.d.Core.Now()}
	if m != nil { // an expired object is gone but to its administrators
		if svc, err := c.h.d.State.Service(c.ctx(), bucket); err == nil {
			sel.ShowExpired = c.p.Owns(svc)
		}
	}
	ch, err := projections.Choose(c.ctx(), c.h.d.State, bucket, key, sel)
	switch {
	case err == nil:
	case id != "" && m != nil && schema.IsKind(err, schema.KindInvalidArgument):
		err = s3Errorf("InvalidArgument", http.StatusBadRequest, "versionId and %s exclude each other", AsOfHeader)
	case ch.Marker != nil && schema.IsKind(err, schema.KindMethodNotAllowed):
		err = s3Errorf("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	case !schema.IsKind(err, schema.KindNotFound):
	case id != "":
		err = s3Errorf("NoSuchVersion", http.StatusNotFound, "The specified version does not exist.")
	case m != nil:
		err = s3Errorf("NoSuchKey", http.StatusNotFound, "The specified key did not exist at that moment.")
	default:
		err = s3Errorf("NoSuchKey", http.StatusNotFound, "The specified key does not exist.")
	}
	return ch, err
}

// responseOverrides are the GET query parameters that replace a response
// header.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

// objectHeaders sets the headers describing a version.
func objectHeaders(hd http.Header, v *schema.Version) {
	hd.Set("ETag", httpx.Quote(v.ETag))
	hd.Set("Last-Modified", v.Time.UTC().Format(http.TimeFormat))
	hd.Set("x-amz-version-id", vid(v))
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("Content-Type", v.ContentType)
	for k, val := range v.Meta {
		hd["X-Amz-Meta-"+k] = []string{val}
	}
	for k, val := range v.Headers {
		hd.Set(k, val)
	}
	if v.Parts > 0 {
		hd.Set("x-amz-mp-parts-count", strconv.Itoa(v.Parts))
	}
	if v.DeleteAt > 0 {
		hd.Set("x-amz-expiration", time.Unix(v.DeleteAt, 0).UTC().Format(http.TimeFormat))
	}
}

// getObject serves GetObject and HeadObject.
func getObject(c *req) error {
	part := 0
	if pn := c.q.Get("partNumber"); pn != "" {
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > events.MaxParts {
			return s3Errorf("InvalidArgument", http.StatusBadRequest, "Part number must be an integer between 1 and %d, inclusive", events.MaxParts)
		}
		if c.r.Header.Get("Range") != "" {
			return s3Errorf("InvalidRequest", http.StatusBadRequest, "Cannot specify both Range header and partNumber query parameter")
		}
		part = n
	}
	m, err := asOf(c)
	if err != nil {
		return err
	}
	v, err := version(c, c.bucket, c.key, c.q.Get("versionId"), m)
	if err != nil {
		return err
	}
	if v, err = c.h.d.Core.Resolve(c.ctx(), v, c.p.CanRead); err != nil { // a large object reads as its whole content
		return err
	}
	hd := c.w.Header()
	objectHeaders(hd, v)
	for param, header := range responseOverrides {
		if val := c.q.Get(param); val != "" {
			hd.Set(header, val)
		}
	}
	switch httpx.Precondition(c.r, v.ETag, v.Time) {
	case http.StatusNotModified:
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	case http.StatusPreconditionFailed:
		return s3Errorf("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold")
	}
	// One range is served (206); anything else that parses serves the
	// whole object, as S3 does for multiple ranges and RFC 9110 for a
	// header that cannot be parsed.
	start, length, status := int64(0), v.Size, http.StatusOK
	if part > 0 {
		var ok bool
		if start, length, ok = partRange(v, part); !ok {
			return s3Errorf("InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable")
		}
		status = http.StatusPartialContent
		hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, v.Size))
	} else if rg := c.r.Header.Get("Range"); rg != "" {
		if valid, satisfiable := httpx.ParseRange(rg, v.Size); valid && !satisfiable {
			hd.Set("Content-Range", "bytes */"+strconv.FormatInt(v.Size, 10))
			return s3Errorf("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable")
		}
		if s, n, ok := httpx.SingleRange(rg, v.Size); ok {
			start, length, status = s, n, http.StatusPartialContent
			hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", s, s+n-1, v.Size))
		}
	}
	hd.Set("Content-Length", strconv.FormatInt(length, 10))
	return httpx.ServeBytes(c.w, c.r, status, start, length, func() (httpx.ReaderAtCloser, error) {
		return c.h.d.Core.Open(c.ctx(), v)
	}, c.h.d.Log)
}

// source is a parsed x-amz-copy-source.
type source struct {
	bucket, key, version string
}

// copySource parses "bucket/key" or "/bucket/key", URL-encoded, with an
// optional "?versionId=".
func parseCopySource(raw string) (source, error) {
	bad := s3Errorf("InvalidArgument", http.StatusBadRequest, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	p, query, _ := strings.Cut(raw, "?")
	p, err := url.PathUnescape(strings.TrimPrefix(p, "/"))
	if err != nil {
		return source{}, bad
	}
	var s source
	var ok bool
	s.bucket, s.key, ok = strings.Cut(p, "/")
	if !ok || s.bucket == "" || s.key == "" {
		return source{}, bad
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return source{}, bad
		}
		s.version = q.Get("versionId")
	}
	return s, nil
}

// copySourceVersion resolves x-amz-copy-source: read access to the source
// bucket, the version, and the x-amz-copy-source-if-* conditions.
func copySourceVersion(c *req) (*schema.Version, source, error) {
	src, err := parseCopySource(c.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return nil, src, err
	}
	if err := schema.CheckPath(src.key); err != nil {
		return nil, src, err
	}
	svc, err := c.lookup(src.bucket, access.Want{Level: access.Read})
	if err != nil {
		return nil, src, err
	}
	if svc.Type != schema.ServiceStorage {
		return nil, src, s3Errorf("InvalidArgument", http.StatusBadRequest, "the copy source bucket is not a storage service")
	}
	src.bucket = svc.ID // from here on, the service (the core names services by id)
	ch, err := choose(c, src.bucket, src.key, src.version, nil)
	if ch.Marker != nil && src.version != "" {
		return nil, src, s3Errorf("InvalidRequest", http.StatusBadRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
	}
	if err != nil {
		return nil, src, err
	}
	v := ch.Version
	if !copyConditionsHold(c.r.Header, v) {
		return nil, src, s3Errorf("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold")
	}
	return v, src, nil
}

// copyConditionsHold evaluates x-amz-copy-source-if-* on the source:
// the four conditions of a read (a matching If-Match wins over a failing
// If-Unmodified-Since, a matching If-None-Match over If-Modified-Since),
// where "not modified" fails the copy as well.
func copyConditionsHold(hd http.Header, v *schema.Version) bool {
	cond := schema.ConditionsFrom(func(name string) string { return hd.Get("x-amz-copy-source-" + name) })
	verdict, _ := cond.Evaluate(schema.TargetOf(v), true)
	return verdict == schema.Proceed
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	Xmlns        string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// copyObject stores a new version sharing the source's bytes: no bytes are
// copied. x-amz-metadata-directive REPLACE takes metadata from the request.
func copyObject(c *req) error {
	if err := unsupportedWrite(c.r.Header); err != nil {
		return err
	}
	src, s, err := copySourceVersion(c)
	if err != nil {
		return err
	}
	directive := strings.ToUpper(c.r.Header.Get("x-amz-metadata-directive"))
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return s3Errorf("InvalidArgument", http.StatusBadRequest, "Unknown metadata directive.")
	}
	in := events.CopyInput{From: schema.ObjectRef{Service: s.bucket, Path: s.key, Version: src.Version},
		Service: c.bucket, Path: c.key, ReplaceMeta: directive == "REPLACE"}
	if in.ReplaceMeta {
		if in.ContentType, in.Meta, in.Headers, err = objectMeta(c.r.Header); err != nil {
			return err
		}
	} else if s.bucket == c.bucket && s.key == c.key {
		return s3Errorf("InvalidRequest", http.StatusBadRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	if in.Cond, err = writeConditions(c.r.Header); err != nil {
		return err
	}
	v, err := c.h.d.Core.CopyObject(c.ctx(), c.origin(), in)
	if err != nil {
		return err
	}
	c.w.Header().Set("x-amz-version-id", vid(v))
	c.w.Header().Set("x-amz-copy-source-version-id", vid(src))
	return writeXML(c, copyObjectResult{Xmlns: xmlns, ETag: httpx.Quote(v.ETag), LastModified: iso(v.Time)})
}

// deleteObject adds a delete marker, or with versionId removes that version
// for good. Deleting what is not there succeeds, as in S3.
func deleteObject(c *req) error {
	hd := c.w.Header()
	if id := c.q.Get("versionId"); id != "" {
		gone, err := purge(c, c.bucket, c.key, id)
		if schema.ReasonOf(err) == schema.ReasonNoSuchVersion {
			err = nil // S3 answers 204 for a version that is not there
		}
		if err != nil {
			return err
		}
		hd.Set("x-amz-version-id", id)
		if gone != nil && gone.Deleted {
			hd.Set("x-amz-delete-marker", "true")
		}
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	cond := schema.Conditions{IfMatch: c.r.Header.Get("If-Match")}
	v, err := c.h.d.Core.DeleteObject(c.ctx(), c.origin(), c.bucket, c.key, cond)
	switch {
	case schema.IsKind(err, schema.KindNotFound) && cond.IfMatch == "":
	case err != nil:
		return err
	default:
		hd.Set("x-amz-delete-marker", "true")
		hd.Set("x-amz-version-id", vid(v))
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name       `xml:"DeleteResult"`
	Xmlns   string         `xml:"xmlns,attr"`
	Deleted []deletedEntry `xml:"Deleted"`
	Errors  []deleteError  `xml:"Error"`
}

type deletedEntry struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type deleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

// deleteObjects deletes up to 1,000 keys, each as DeleteObject would, and
// reports each result (only errors in quiet mode).
func deleteObjects(c *req) error {
	var in deleteRequest
	if err := readXML(c, 2<<20, &in); err != nil {
		return err
	}
	if len(in.Objects) == 0 || len(in.Objects) > 1000 {
		return s3Errorf("MalformedXML", http.StatusBadRequest, "a Delete request names between 1 and 1000 objects")
	}
	res := deleteResult{Xmlns: xmlns}
	for _, o := range in.Objects {
		d, err := deleteOne(c, o.Key, o.VersionID)
		if err != nil {
			_, code, msg := classify(err)
			if code == "InternalError" {
				c.h.d.Log.Error("s3 delete failed", "request_id", httpx.InfoOf(c.ctx()).ID, "key", o.Key, "err", err)
			}
			res.Errors = append(res.Errors, deleteError{Key: o.Key, VersionID: o.VersionID, Code: code, Message: msg})
			continue
		}
		if !in.Quiet {
			res.Deleted = append(res.Deleted, d)
		}
	}
	return writeXML(c, res)
}

func deleteOne(c *req, key, id string) (deletedEntry, error) {
	d := deletedEntry{Key: key, VersionID: id}
	if err := schema.CheckPath(key); err != nil {
		return d, err
	}
	if id != "" {
		gone, err := purge(c, c.bucket, key, id)
		if schema.ReasonOf(err) == schema.ReasonNoSuchVersion {
			return d, nil
		}
		if err != nil {
			return d, err
		}
		if gone.Deleted {
			d.DeleteMarker, d.DeleteMarkerVersionID = true, id
		}
		return d, nil
	}
	v, err := c.h.d.Core.DeleteObject(c.ctx(), c.origin(), c.bucket, key, schema.Conditions{})
	if schema.IsKind(err, schema.KindNotFound) {
		return d, nil
	} else if err != nil {
		return d, err
	}
	d.DeleteMarker, d.DeleteMarkerVersionID = true, vid(v)
	return d, nil
}

func getObjectACL(c *req) error {
	if _, err := version(c, c.bucket, c.key, c.q.Get("versionId"), nil); err != nil {
		return err
	}
	return acl(c)
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr"`
	TagSet  struct{} `xml:"TagSet"`
}

// getObjectTagging answers an empty tag set: Cairn keeps no object tags.
func getObjectTagging(c *req) error {
	v, err := version(c, c.bucket, c.key, c.q.Get("versionId"), nil)
	if err != nil {
		return err
	}
	c.w.Header().Set("x-amz-version-id", vid(v))
	return writeXML(c, tagging{Xmlns: xmlns})
}

// vid is the version id S3 clients see: "null" for a version written while
// versioning was suspended.
func vid(v *schema.Version) string {
	if v.Null {
		return projections.NullVersion
	}
	return v.Version
}

// purge removes the version a client named ("null": the null version,
// which the core knows by its own id). A delete names versions as they
// are stored, expired ones and delete markers included, so it does not
// go through the read's version chooser.
func purge(c *req, bucket, key, id string) (*schema.Version, error) {
	if id == projections.NullVersion {
		vs, err := c.h.d.State.Versions(c.ctx(), bucket, key, 0)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(vs, func(v *schema.Version) bool { return v.Null })
		if i < 0 {
			return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchVersion, "version not found")
		}
		id = vs[i].Version
	}
	return c.h.d.Core.PurgeVersion(c.ctx(), c.origin(), bucket, key, id)
}

// partRange returns where part n of v is: a part of a completed upload, or
// for any other object part 1, the whole of it.
func partRange(v *schema.Version, n int) (start, length int64, ok bool) {
	if len(v.PartSizes) == 0 {
		return 0, v.Size, n == 1
	}
	if n > len(v.PartSizes) {
		return 0, 0, false
	}
	for _, size := range v.PartSizes[:n-1] {
		start += size
	}
	return start, v.PartSizes[n-1], true
}
