package native

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// serviceJSON is a servicelist row (the wire type is defined in schema).
type serviceJSON = schema.ServiceEntry

func (h *Handler) serviceList(c *call) error {
	all, err := h.d.State.Services(c.r.Context())
	if err != nil {
		return err
	}
	out := []serviceJSON{}
	for _, s := range all {
		if level := c.p.Level(s); level != "" {
			j := serviceJSON{ID: s.ID, Name: s.Name, Account: s.Account, Container: s.ContainerName(), Type: s.Type, Replica: h.replicaOf(s), Access: level,
				Files: s.Files, Bytes: s.Bytes, LastSyncID: s.LastSyncID}
			if j.Cache = h.cacheState(s, c.p.Admin); j.Cache != nil { // a cache's files are its copies
				j.Files, j.Bytes = j.Cache.Files, j.Cache.Bytes
			}
			out = append(out, j)
		}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"services": out})
	return nil
}

// fileJSON is a filelist row (the wire type is defined in schema).
type fileJSON = schema.FileEntry

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// intParam parses an optional integer parameter within [min, max].
func intParam(c *call, name string, def, min, max int) (int, error) {
	raw := c.query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < min || n > max {
		return 0, schema.Errorf(schema.KindInvalidArgument, "%s must be an integer from %d to %d", name, min, max)
	}
	return n, nil
}

// asof resolves the asof parameter to a moment; nil when none was given.
func (h *Handler) asof(c *call) (*projections.Moment, error) {
	raw := c.query("asof")
	if raw == "" {
		return nil, nil
	}
	m, err := h.d.State.MomentOf(c.r.Context(), c.svc, raw)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

func (h *Handler) fileList(c *call) error {
	limit, err := intParam(c, "limit", 1000, 1, 10000)
	if err != nil {
		return err
	}
	at, err := h.asof(c)
	if err != nil {
		return err
	}
	files, prefixes := []fileJSON{}, []string{}
	var next *string
	if at == nil || at.SyncID > 0 { // sync id 0: before the first change, nothing
		opts := projections.ListOptions{Prefix: c.query("prefix"), Delimiter: c.query("delimiter"), After: c.query("after"),
			Limit: limit, Now: h.d.Core.Now()}
		if at != nil {
			opts.AsOf, opts.AsOfTime = at.SyncID, at.Time
			opts.ShowExpired = c.p != nil && c.p.Owns(c.svc) // an expired file is gone but to its administrators
		}
		res, err := h.d.State.List(c.r.Context(), c.svc.ID, opts)
		if err != nil {
			return err
		}
		for _, v := range res.Files {
			files = append(files, fileJSON{Path: v.Path, Size: v.Size, ETag: v.ETag, ContentType: v.ContentType,
				Modified: rfc3339(v.Time), Version: v.Version})
		}
		prefixes = append(prefixes, res.Prefixes...)
		if res.Truncated {
			next = &res.Next
		}
	}
	writeJSON(c.w, http.StatusOK, schema.FileList{Files: files, Prefixes: prefixes, Next: next})
	return nil
}

func (c *call) path() (string, error) {
	p := c.query("path")
	if p == "" {
		return "", schema.Errorf(schema.KindInvalidArgument, "missing parameter path")
	}
	return p, schema.CheckPath(p)
}

// resolve finds the version getfile serves with the one version chooser
// (projections.Choose): by id, as of a moment, or the live one. The
// dialect's own rules on top: a version id takes precedence over asof
// (asof is then not read), and a deletion is 404 however it is named (by
// id too). A large object reads as its whole content.
func (h *Handler) resolve(c *call, p string) (*schema.Version, error) {
	ctx := c.r.Context()
	sel := projections.Selector{VersionID: c.query("version"), Now: h.d.Core.Now()}
	if sel.VersionID == "" {
		at, err := h.asof(c)
		if err != nil {
			return nil, err
		}
		sel.At = at
		sel.ShowExpired = c.p != nil && c.p.Owns(c.svc) // an expired file is gone but to its administrators
	}
	chosen, err := projections.Choose(ctx, h.d.State, c.svc.ID, p, sel)
	if chosen.Marker != nil && schema.IsKind(err, schema.KindMethodNotAllowed) {
		return nil, schema.Errorf(schema.KindNotFound, "file not found")
	}
	if err != nil {
		return nil, err
	}
	return h.d.Core.Resolve(ctx, chosen.Version, c.p.CanRead)
}

func (h *Handler) getFile(c *call) error {
	p, err := c.path()
	if err != nil {
		return err
	}
	v, err := h.resolve(c, p)
	if err != nil {
		return err
	}
	hd := c.w.Header()
	hd.Set("ETag", httpx.Quote(v.ETag))
	hd.Set("Last-Modified", v.Time.UTC().Format(http.TimeFormat))
	hd.Set("X-Version-Id", v.Version)
	hd.Set("X-Sync-Id", strconv.FormatUint(v.SyncID, 10))
	hd.Set("Accept-Ranges", "bytes")
	for k, val := range v.Meta {
		hd.Set("x-owncdn-meta-"+k, val)
	}
	for k, val := range v.Headers { // stored by S3 or Swift writes: Cache-Control, ...
		hd.Set(k, val)
	}
	if v.DeleteAt > 0 {
		hd.Set("x-owncdn-delete-at", strconv.FormatInt(v.DeleteAt, 10))
	}
	return serveBody(c, v.ETag, v.Time, v.Size, v.ContentType, func() (io.ReadSeekCloser, error) {
		return h.d.Core.Open(c.r.Context(), v)
	})
}

// writeConditions are an upload's conditions: If-Match and If-None-Match
// (the dates are for reads), decided by the core with schema.Conditions.
func writeConditions(hd http.Header) schema.Conditions {
	return schema.Conditions{IfMatch: hd.Get("If-Match"), IfNoneMatch: hd.Get("If-None-Match")}
}

// deleteConditions are a deletion's conditions: If-Match only.
func deleteConditions(hd http.Header) schema.Conditions {
	return schema.Conditions{IfMatch: hd.Get("If-Match")}
}

// serveBody answers a GET or HEAD of a file whose headers are set: the
// conditions first (a failed precondition is 409, as the dialect says;
// 304), then the range, then the bytes open gives.
func serveBody(c *call, etag string, mod time.Time, size int64, contentType string, open func() (io.ReadSeekCloser, error)) error {
	hd := c.w.Header()
	switch httpx.Precondition(c.r, etag, mod) {
	case http.StatusNotModified:
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	case http.StatusPreconditionFailed:
		return schema.Errorf(schema.KindPreconditionFailed, "precondition failed")
	}
	// The conditions are decided above (409 on failure, as the dialect
	// says); ServeContent must not decide them again with its own rules.
	for _, name := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		c.r.Header.Del(name)
	}
	switch valid, satisfiable := httpx.ParseRange(c.r.Header.Get("Range"), size); {
	case !valid:
		c.r.Header.Del("Range") // RFC 9110: a Range header that cannot be parsed is ignored
	case !satisfiable:
		hd.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		return schema.Errorf(schema.KindRangeNotSatisfiable, "the range is not satisfiable for %d bytes", size)
	}
	rd, err := open()
	if err != nil {
		return err
	}
	defer rd.Close()
	hd.Set("Content-Type", contentType)
	src := &httpx.TrackedReader{ReadSeeker: rd}
	http.ServeContent(c.w, c.r, "", mod, src)
	if src.Err != nil { // the stored bytes failed to verify or read: never a complete body
		httpx.Abort(c.r, c.h.d.Log, src.Err)
	}
	return nil
}

// metaHeaders collects x-owncdn-meta-* headers (names lower-cased).
func metaHeaders(hd http.Header) (map[string]string, error) {
	var meta map[string]string
	size := 0
	for name, vals := range hd {
		lname := strings.ToLower(name)
		if k, ok := strings.CutPrefix(lname, "x-owncdn-meta-"); ok && k != "" {
			if meta == nil {
				meta = map[string]string{}
			}
			meta[k] = strings.Join(vals, ",")
			size += len(k) + len(meta[k])
		}
	}
	if size > 8192 {
		return nil, schema.Errorf(schema.KindInvalidArgument, "metadata is larger than 8 KiB")
	}
	return meta, nil
}

// maxDeleteAt is the latest expiry accepted, 9999999999 (the year 2286):
// Swift's ceiling on delete-at, so every dialect stores the same range.
const maxDeleteAt = 9999999999

// deleteAt reads x-owncdn-delete-at / -delete-after (after wins). Values
// that are not integers, not in the future, or past maxDeleteAt are 400:
// an expiry is never dropped or wrapped around silently.
func deleteAt(hd http.Header, now time.Time) (int64, error) {
	if after := hd.Get("x-owncdn-delete-after"); after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n <= 0 || n > maxDeleteAt-now.Unix() {
			return 0, schema.Errorf(schema.KindInvalidArgument,
				"x-owncdn-delete-after must be a positive number of seconds ending by unix time %d", int64(maxDeleteAt))
		}
		return now.Unix() + n, nil
	}
	if at := hd.Get("x-owncdn-delete-at"); at != "" {
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil || n <= now.Unix() || n > maxDeleteAt {
			return 0, schema.Errorf(schema.KindInvalidArgument,
				"x-owncdn-delete-at must be a unix time in the future, at most %d", int64(maxDeleteAt))
		}
		return n, nil
	}
	return 0, nil
}

// upload reads what every upload names: the path, and the metadata of
// the x-owncdn-meta-* headers.
//
// A declared size over the maximum object size is refused here, before
// the body is read: net/http sends "100 Continue" on the first read, so a
// client that asked for it never sends the body.
func (c *call) upload() (path string, meta map[string]string, err error) {
	if max := c.h.d.Core.MaxObjectSize(); c.r.ContentLength > max {
		return "", nil, schema.Errorf(schema.KindTooLarge, "the upload declares %d bytes, more than the maximum object size of %d", c.r.ContentLength, max)
	}
	if path, err = c.path(); err != nil {
		return "", nil, err
	}
	meta, err = metaHeaders(c.r.Header)
	return path, meta, err
}

func (h *Handler) uploadFile(c *call) error {
	p, meta, err := c.upload()
	if err != nil {
		return err
	}
	at, err := deleteAt(c.r.Header, h.d.Core.Now())
	if err != nil {
		return err
	}
	v, err := h.d.Core.PutObject(c.r.Context(), c.origin(), events.PutInput{
		Service: c.svc.ID, Path: p, Body: c.r.Body, Meta: meta, DeleteAt: at,
		ContentType: httpx.ContentType(c.r.Header.Get("Content-Type"), p),
		Cond:        writeConditions(c.r.Header),
		Declared:    max(c.r.ContentLength, 0),
	})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, schema.Uploaded{Path: v.Path, Version: v.Version, Size: v.Size,
		ETag: v.ETag, SyncID: v.SyncID})
	return nil
}

func (h *Handler) deleteFile(c *call) error {
	p, err := c.path()
	if err != nil {
		return err
	}
	v, err := h.d.Core.DeleteObject(c.r.Context(), c.origin(), c.svc.ID, p, deleteConditions(c.r.Header))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, schema.Deleted{Path: v.Path, Version: v.Version, SyncID: v.SyncID})
	return nil
}

// versionJSON is a versionlist row (the wire type is defined in schema).
type versionJSON = schema.VersionEntry

func (h *Handler) versionList(c *call) error {
	p, err := c.path()
	if err != nil {
		return err
	}
	vs, err := h.d.State.Versions(c.r.Context(), c.svc.ID, p, 0)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return schema.Errorf(schema.KindNotFound, "file not found")
	}
	now := h.d.Core.Now()
	out := make([]versionJSON, 0, len(vs))
	for i, v := range vs {
		out = append(out, versionJSON{Version: v.Version, Modified: rfc3339(v.Time), Size: v.Size, ETag: v.ETag,
			Deleted: v.Deleted, Current: i == 0 && v.Live(now), SyncID: v.SyncID, Op: v.Op, Actor: v.Actor})
	}
	writeJSON(c.w, http.StatusOK, schema.VersionList{Path: p, Versions: out})
	return nil
}

// updateJSON is a syncnext row (the wire type is defined in schema).
type updateJSON = schema.Update

// segmentJSON is one segment of a static large object in syncnext.
type segmentJSON = schema.UpdateSegment

func segmentsJSON(v *schema.Version) []segmentJSON {
	var out []segmentJSON
	for _, sg := range v.Segments {
		out = append(out, segmentJSON{Service: sg.Service, Path: sg.Path, Version: sg.Version, Size: sg.Size,
			ETag: sg.ETag, ContentType: sg.ContentType, SHA256: sg.Blob.SHA256})
	}
	return out
}

func (h *Handler) syncNext(c *call) error {
	after, err := strconv.ParseUint(strOr(c.query("after"), "0"), 10, 64)
	if err != nil {
		return schema.Errorf(schema.KindInvalidArgument, "after must be a sync id")
	}
	limit, err := intParam(c, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	wait, err := intParam(c, "wait", 0, 0, 60)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	first, err := h.d.State.FirstSyncID(ctx, c.svc.ID)
	if err != nil {
		return err
	}
	if first > 1 && after+1 < first {
		return schema.Errorf(schema.KindHistoryTruncated, "history before sync id %d is no longer kept", first)
	}
	changes, last, err := h.changes(ctx, c.svc.ID, after, limit, time.Duration(wait)*time.Second)
	if err != nil {
		return err
	}
	if wait > 0 { // time passed: what arrived is answered only to a key that may still read it
		if err := h.recheck(c); err != nil {
			return err
		}
	}
	out := make([]updateJSON, 0, len(changes))
	for _, v := range changes {
		out = append(out, updateJSON{SyncID: v.SyncID, Time: rfc3339(v.Time), Op: v.Op, Path: v.Path,
			Version: v.Version, Size: v.Size, ETag: v.ETag, ContentType: v.ContentType, Meta: v.Meta,
			DeleteAt: v.DeleteAt, CopiedFrom: v.CopiedFrom, PartSizes: v.PartSizes, Segments: segmentsJSON(v), Headers: v.Headers, Null: v.Null, SHA256: v.Blob.SHA256,
			Purged: v.Purged, Actor: v.Actor})
	}
	writeJSON(c.w, http.StatusOK, schema.SyncPage{Updates: out, LastSyncID: last})
	return nil
}

// changes returns the changes after a sync id, waiting up to wait for one
// when there are none yet.
func (h *Handler) changes(ctx context.Context, sid string, after uint64, limit int, wait time.Duration) ([]*schema.Version, uint64, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		changed := h.d.State.Changed()
		svc, err := h.d.State.Service(ctx, sid)
		if err != nil {
			return nil, 0, err
		}
		if svc.LastSyncID > after || wait <= 0 {
			list, err := h.d.State.Changes(ctx, sid, after, limit)
			return list, svc.LastSyncID, err
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, svc.LastSyncID, nil
		case <-ctx.Done():
			return nil, svc.LastSyncID, nil
		case <-h.d.Stop: // the server is shutting down: answer now so HTTP drains
			return nil, svc.LastSyncID, nil
		}
	}
}

func strOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// reqList serves the service's request log: every request to those who
// administer the service (the server's admin key, an admin key of its
// account), and to any other key only the requests made with it, so a
// key with read access learns nothing of other parties (their keys,
// addresses, clients) from it.
func (h *Handler) reqList(c *call) error {
	limit, err := intParam(c, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	keyID := ""
	if !c.p.Owns(c.svc) {
		keyID = c.p.KeyID
	}
	reqs, err := h.d.Requests.Requests(c.r.Context(), c.svc.ID, limit, keyID)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"requests": reqs})
	return nil
}
