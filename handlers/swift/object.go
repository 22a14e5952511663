package swift

import (
	"crypto/md5"
	"encoding/hex"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// objectOp serves /v1/{account}/{container}/{object}.
func objectOp(c *req) (string, error) {
	if len(c.object) > maxObjectNameLength {
		return "CheckName", swiftErr(http.StatusBadRequest, "Object name length of "+strconv.Itoa(len(c.object))+
			" longer than "+strconv.Itoa(maxObjectNameLength))
	}
	if err := schema.CheckPath(c.object); err != nil {
		return "CheckName", err
	}
	switch c.r.Method {
	case http.MethodPut:
		return "PutObject", putObject(c)
	case http.MethodHead:
		return "HeadObject", getObject(c)
	case http.MethodGet:
		return "GetObject", getObject(c)
	case http.MethodPost:
		return "PostObject", postObject(c)
	case http.MethodDelete:
		if c.q.Get("multipart-manifest") == "delete" {
			return "DeleteLargeObject", deleteLarge(c)
		}
		return "DeleteObject", deleteObject(c)
	case "COPY":
		return "CopyObject", copyObject(c)
	}
	c.w.Header().Set("Allow", "PUT, HEAD, GET, POST, DELETE, COPY, OPTIONS")
	return "Unknown", errMethod
}

// writable finds the container for an object write the principal may make.
func (c *req) writable() (*schema.Service, error) {
	return c.findContainer(access.Write)
}

// writableLive finds the container for a write to an existing object, and
// the object's live version in it (Swift's 404 when there is none).
func (c *req) writableLive() (*schema.Service, *schema.Version, error) {
	svc, err := c.writable()
	if err != nil {
		return nil, nil, err
	}
	v, err := c.version(svc, nil)
	return svc, v, err
}

// putObject stores an object: the body (chunked allowed), verified against
// an Etag header (422 when it differs: nothing is stored).
func putObject(c *req) error {
	if c.r.Header.Get("X-Copy-From") != "" {
		return copyObject(c)
	}
	svc, err := c.writable()
	if err != nil {
		return err
	}
	if c.q.Get("multipart-manifest") == "put" {
		return putLarge(c, svc)
	}
	if c.r.ContentLength > c.h.d.Core.MaxObjectSize() {
		return swiftErr(http.StatusRequestEntityTooLarge, "Your request is too large.")
	}
	w, err := readWrite(c, svc)
	if err != nil {
		return err
	}
	var body io.Reader = c.r.Body
	if want := strings.ToLower(strings.Trim(c.r.Header.Get("Etag"), `"`)); want != "" {
		body = &md5Check{r: c.r.Body, h: md5.New(), want: want}
	}
	cond := schema.Conditions{IfNoneMatch: c.r.Header.Get("If-None-Match")}
	if cond.IfNoneMatch != "" && cond.IfNoneMatch != "*" {
		return swiftErr(http.StatusBadRequest, "If-None-Match only supports *")
	}
	v, err := c.h.d.Core.PutObject(c.ctx(), c.origin(), events.PutInput{
		Service: svc.ID, Path: c.object, Body: body, ContentType: w.contentType,
		Meta: w.meta, Headers: w.headers, DeleteAt: w.deleteAt, Cond: cond,
		Declared: max(c.r.ContentLength, 0),
	})
	if err != nil {
		return err
	}
	hd := c.w.Header()
	hd.Set("Etag", v.ETag)
	hd.Set("Last-Modified", v.Time.UTC().Format(http.TimeFormat))
	hd.Set("Content-Length", "0")
	hd.Set("Content-Type", "text/html; charset=UTF-8")
	c.w.WriteHeader(http.StatusCreated)
	return nil
}

func nilIfNone(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// write is what an object PUT says about the new object besides its bytes.
type write struct {
	contentType string
	meta        map[string]string
	headers     map[string]string
	deleteAt    int64
}

// readWrite reads an object PUT's content type (guessed from the name when
// absent or X-Detect-Content-Type asks), metadata, stored headers (an
// X-Object-Manifest makes a DLO) and expiry: the container's
// X-Container-Meta-Default-Delete-After when it has one (the seed: it
// overrides the object's own header on a PUT), else X-Delete-After /
// X-Delete-At.
func readWrite(c *req, svc *schema.Service) (*write, error) {
	meta, _, err := readMeta(c.r.Header, "X-Object-Meta-", "X-Remove-Object-Meta-")
	if err != nil {
		return nil, err
	}
	at, _, err := deleteAt(c.r.Header, c.now())
	if err != nil {
		return nil, err
	}
	if d, ok := defaultDeleteAt(svc, c.now()); ok {
		at = d
	}
	ct := c.r.Header.Get("Content-Type")
	if strings.EqualFold(c.r.Header.Get("X-Detect-Content-Type"), "true") {
		ct = ""
	}
	headers := readStored(c.r.Header)
	if m := c.r.Header.Get("X-Object-Manifest"); m != "" {
		if err := checkManifest(c, m); err != nil {
			return nil, err
		}
		if headers == nil {
			headers = map[string]string{}
		}
		headers[events.ManifestHeader] = m
	}
	return &write{contentType: httpx.ContentType(ct, c.object), meta: nilIfNone(meta), headers: headers, deleteAt: at}, nil
}

// defaultDeleteAt returns the expiry a container's
// X-Container-Meta-Default-Delete-After gives an object written now.
func defaultDeleteAt(svc *schema.Service, now time.Time) (int64, bool) {
	v := svc.Settings.Meta["default-delete-after"]
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, false // a bad default never blocks writes; the container shows it as set
	}
	if n > maxDeleteAt-now.Unix() { // as Swift normalizes every delete-at
		return maxDeleteAt, true
	}
	return now.Unix() + n, true
}

// md5Check passes a body through and fails its end when its MD5 is not
// want, so the core never stores it.
type md5Check struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (m *md5Check) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(m.h.Sum(nil)) != m.want {
		return n, swiftErr(http.StatusUnprocessableEntity, "Etag of the body does not match the Etag header")
	}
	return n, err
}

// canRead reports whether the request may read svc's objects: its
// principal may, or the container is public. A dynamic large object's
// segments are read only from containers it allows.
func (c *req) canRead(svc *schema.Service) bool {
	return c.allows(svc, access.Want{Level: access.Read, Public: true})
}

// readable finds the container and the version for a read the principal
// (or, in a public container, anyone) may make: the object as it was at
// the moment X-Cairn-Asof asks, else the live one.
func (c *req) readable() (*schema.Service, *schema.Version, error) {
	svc, err := c.findContainer(access.Read)
	if err != nil {
		return nil, nil, err
	}
	m, err := c.asOf(svc)
	if err != nil {
		return nil, nil, err
	}
	v, err := c.version(svc, m)
	if err != nil {
		return nil, nil, err
	}
	return svc, v, nil
}

// version chooses the version of the URL's object in svc that a read
// serves (projections.Choose): as of moment at, or the live one (at nil).
// No version to serve (none, expired, a delete marker, none at that
// moment) is Swift's 404.
func (c *req) version(svc *schema.Service, at *projections.Moment) (*schema.Version, error) {
	sel := projections.Selector{At: at, Now: c.now()}
	if at != nil { // an expired object is gone but to its administrators
		sel.ShowExpired = c.allows(svc, access.Want{Level: access.Own})
	}
	chosen, err := projections.Choose(c.ctx(), c.h.d.State, svc.ID, c.object, sel)
	if schema.IsKind(err, schema.KindNotFound) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	return chosen.Version, nil
}

// AsOfHeader is Cairn's point-in-time extension of Swift: on object
// GET/HEAD and container listings, this header (or the query parameter
// asof) reads the container as it was at a moment: an RFC 3339 time or
// sync:N (the native API's asof).
const AsOfHeader = "X-Cairn-Asof"

// asOf reads the point-in-time extension for svc (nil when absent).
func (c *req) asOf(svc *schema.Service) (*projections.Moment, error) {
	raw := c.r.Header.Get(AsOfHeader)
	if raw == "" {
		raw = c.q.Get("asof")
	}
	if raw == "" {
		return nil, nil
	}
	// history is for the container's own readers: a public ACL opens what
	// is there now, never what was there (a deleted object stays deleted
	// for anyone without a token)
	if !c.allows(svc, access.Want{Level: access.Read}) {
		if c.p == nil {
			return nil, errUnauthorized
		}
		return nil, errForbidden
	}
	m, err := c.h.d.State.MomentOf(c.ctx(), svc, raw)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// objectHeaders sets what describes a version: the standard headers, its
// metadata, and the stored headers over the container's defaults.
func objectHeaders(c *req, svc *schema.Service, v *schema.Version) {
	hd := c.w.Header()
	for _, name := range append(storedHeaders, containerOnlyHeaders...) {
		if d := svc.Settings.Meta[strings.ToLower(name)]; d != "" {
			hd.Set(name, d)
		}
	}
	for k, val := range v.Headers {
		hd.Set(k, val)
	}
	hd.Set("Content-Type", v.ContentType)
	hd.Set("Etag", v.ETag)
	hd.Set("Last-Modified", v.Time.UTC().Format(http.TimeFormat))
	hd.Set("X-Timestamp", timestamp(v.Time))
	hd.Set("Accept-Ranges", "bytes")
	for k, val := range v.Meta {
		hd.Set("X-Object-Meta-"+canonical(k), val)
	}
	if v.DeleteAt > 0 {
		hd.Set("X-Delete-At", strconv.FormatInt(v.DeleteAt, 10))
	}
	corsResponse(c, svc, v)
}

// getObject serves GET and HEAD of an object: conditionals, one or many
// ranges, ?filename= as an attachment.
func getObject(c *req) error {
	svc, v, err := c.readable()
	if err != nil {
		return err
	}
	if c.q.Get("multipart-manifest") == "get" && len(v.Segments) > 0 {
		return getManifest(c, svc, v)
	}
	large := len(v.Segments) > 0 || v.Headers[events.ManifestHeader] != ""
	if c.q.Get("multipart-manifest") != "get" { // a DLO's manifest is itself
		if v, err = c.h.d.Core.Resolve(c.ctx(), v, c.canRead); err != nil {
			return err
		}
	} else {
		large = false
	}
	objectHeaders(c, svc, v)
	hd := c.w.Header()
	if large {
		hd.Set("Etag", httpx.Quote(v.ETag)) // Swift quotes a large object's ETag
	}
	if len(v.Segments) > 0 && v.Headers[events.ManifestHeader] == "" {
		hd.Set("X-Static-Large-Object", "True")
	}
	if name := c.q.Get("filename"); name != "" {
		hd.Set("Content-Disposition", attachment(name))
	}
	switch httpx.Precondition(c.r, v.ETag, v.Time) {
	case http.StatusNotModified:
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	case http.StatusPreconditionFailed:
		return swiftErr(http.StatusPreconditionFailed, "A precondition for this request was not met.")
	}
	ranges, valid := httpx.Ranges(c.r.Header.Get("Range"), v.Size)
	if valid && len(ranges) == 0 {
		hd.Set("Content-Range", "bytes */"+strconv.FormatInt(v.Size, 10))
		return swiftErr(http.StatusRequestedRangeNotSatisfiable, "Requested range not satisfiable")
	}
	if len(ranges) > 1 {
		return writeRanges(c, v, ranges)
	}
	start, length, status := int64(0), v.Size, http.StatusOK
	if len(ranges) == 1 {
		start, length, status = ranges[0].Start, ranges[0].Length, http.StatusPartialContent
		hd.Set("Content-Range", ranges[0].ContentRange(v.Size))
	}
	hd.Set("Content-Length", strconv.FormatInt(length, 10))
	return httpx.ServeBytes(c.w, c.r, status, start, length, func() (httpx.ReaderAtCloser, error) {
		return c.h.d.Core.Open(c.ctx(), v)
	}, c.h.d.Log)
}

// attachment is the Content-Disposition of ?filename=: the name quoted
// (RFC 6266), or RFC 5987-encoded when it is not plain printable ASCII.
func attachment(name string) string {
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return mime.FormatMediaType("attachment", map[string]string{"filename": name})
		}
	}
	return `attachment; filename="` + name + `"`
}

// writeRanges answers several ranges as one multipart/byteranges body.
func writeRanges(c *req, v *schema.Version, ranges []httpx.ByteRange) error {
	hd := c.w.Header()
	hd.Del("Content-Length")
	mw := multipart.NewWriter(c.w)
	ct := v.ContentType
	hd.Set("Content-Type", "multipart/byteranges; boundary="+mw.Boundary())
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(http.StatusPartialContent)
		return nil
	}
	rd, err := c.h.d.Core.Open(c.ctx(), v)
	if err != nil {
		return err
	}
	defer rd.Close()
	c.w.WriteHeader(http.StatusPartialContent)
	for _, r := range ranges {
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {ct}, "Content-Range": {r.ContentRange(v.Size)}})
		if err == nil {
			src := &httpx.TrackedReader{ReadSeeker: io.NewSectionReader(rd, r.Start, r.Length)}
			if _, err = io.Copy(part, src); src.Err != nil {
				httpx.Abort(c.r, c.h.d.Log, src.Err) // the stored bytes failed: never a complete body
			}
		}
		if err != nil {
			c.h.d.Log.Debug("swift body write", "request_id", httpx.InfoOf(c.ctx()).ID, "err", err)
			return nil
		}
	}
	if err := mw.Close(); err != nil {
		c.h.d.Log.Debug("swift body write", "request_id", httpx.InfoOf(c.ctx()).ID, "err", err)
	}
	return nil
}

// postObject replaces an object's metadata (Swift's POST: the
// X-Object-Meta-* and stored headers sent become the whole set), its
// content type when one is sent, and its expiry when asked; the bytes stay.
func postObject(c *req) error {
	svc, cur, err := c.writableLive()
	if err != nil {
		return err
	}
	meta, _, err := readMeta(c.r.Header, "X-Object-Meta-", "X-Remove-Object-Meta-")
	if err != nil {
		return err
	}
	at, ok, err := deleteAt(c.r.Header, c.now())
	if err != nil {
		return err
	}
	if !ok {
		at = cur.DeleteAt
	}
	if c.r.Header.Get("X-Remove-Delete-At") != "" {
		at = 0
	}
	ct := c.r.Header.Get("Content-Type")
	if ct == "" {
		ct = cur.ContentType
	}
	if _, err := c.h.d.Core.UpdateMeta(c.ctx(), c.origin(), events.MetaInput{Service: svc.ID, Path: c.object,
		ContentType: ct, Meta: nilIfNone(meta), Headers: readStored(c.r.Header), DeleteAt: at}); err != nil {
		return err
	}
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

// deleteObject deletes an object: 204, or 404 when it is not there.
func deleteObject(c *req) error {
	svc, err := c.writable()
	if err != nil {
		return err
	}
	if _, err := c.h.d.Core.DeleteObject(c.ctx(), c.origin(), svc.ID, c.object, schema.Conditions{}); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
