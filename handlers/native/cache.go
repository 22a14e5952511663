package native

import (
	"io"
	"net/http"
	"strconv"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// Cache services: getfile serves a copy or fills it from the source,
// filelist lists the copies, uploadfile writes one, deletefile evicts one,
// flush empties the cache (the one change that goes to the log).
// versionlist and syncnext are for storage services (405).

// cacheJSON is a cache service's state in servicelist and the admin
// answers: what it holds, its counters since the server started and, for
// admin keys, its settings.
type cacheJSON = schema.CacheEntry

// cacheState returns a cache service's state (nil for other services),
// with its settings when settings is set.
func (h *Handler) cacheState(s *schema.Service, settings bool) *cacheJSON {
	if s.Type != schema.ServiceCache {
		return nil
	}
	out := &cacheJSON{}
	if settings {
		out.Settings = s.Settings.Cache
	}
	if h.d.Caches == nil {
		return out
	}
	st, err := h.d.Caches.Stats(s)
	if err != nil {
		h.d.Log.Warn("cache state", "service", s.ID, "err", err)
		return out
	}
	out.Files, out.Bytes, out.Hits, out.Misses, out.NegativeHits = st.Files, st.Bytes, st.Hits, st.Misses, st.NegativeHits
	out.Fetches, out.Revalidated, out.Evicted, out.Expired = st.Fetches, st.Revalidated, st.Evicted, st.Expired
	out.BytesServed, out.BytesFetched, out.Waiting = st.BytesServed, st.BytesFetched, st.Waiting
	return out
}

// caches returns the cache services, or 503 on a server without them.
func (h *Handler) caches() (Caches, error) {
	if h.d.Caches == nil {
		return nil, schema.Errorf(schema.KindUnavailable, "cache services are not served here")
	}
	return h.d.Caches, nil
}

// currentOnly refuses version and asof on a cache: it holds one copy of a
// path, not a history.
func currentOnly(c *call, params ...string) error {
	for _, p := range params {
		if c.query(p) != "" {
			return schema.Errorf(schema.KindInvalidArgument, "%s is for storage services: a cache holds only current copies", p)
		}
	}
	return nil
}

func (h *Handler) cacheGetFile(c *call) error {
	p, err := c.path()
	if err != nil {
		return err
	}
	if err := currentOnly(c, "version", "asof"); err != nil {
		return err
	}
	caches, err := h.caches()
	if err != nil {
		return err
	}
	res, err := caches.Get(c.r.Context(), c.svc, p)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	e := res.Entry
	hd := c.w.Header()
	hd.Set("ETag", httpx.Quote(e.ETag))
	hd.Set("Last-Modified", e.Modified.UTC().Format(http.TimeFormat))
	hd.Set("X-Version-Id", e.ID)
	hd.Set("X-Sync-Id", strconv.FormatUint(e.SyncID, 10))
	hd.Set("X-Cache", res.Status)
	hd.Set("Accept-Ranges", "bytes")
	for k, val := range e.Meta {
		hd.Set("x-owncdn-meta-"+k, val)
	}
	return serveBody(c, e.ETag, e.Modified, e.Size, e.ContentType, func() (io.ReadSeekCloser, error) { return res.Body, nil })
}

func (h *Handler) cacheFileList(c *call) error {
	limit, err := intParam(c, "limit", 1000, 1, 10000)
	if err != nil {
		return err
	}
	if err := currentOnly(c, "asof"); err != nil {
		return err
	}
	caches, err := h.caches()
	if err != nil {
		return err
	}
	page, err := caches.List(c.r.Context(), c.svc, c.query("prefix"), c.query("delimiter"), c.query("after"), limit)
	if err != nil {
		return err
	}
	files, prefixes := []fileJSON{}, []string{}
	for _, e := range page.Files {
		files = append(files, fileJSON{Path: e.Path, Size: e.Size, ETag: e.ETag, ContentType: e.ContentType,
			Modified: rfc3339(e.Modified), Version: e.ID})
	}
	prefixes = append(prefixes, page.Prefixes...)
	var next *string
	if page.Truncated {
		next = &page.Next
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"files": files, "prefixes": prefixes, "next": next})
	return nil
}

func (h *Handler) cacheUploadFile(c *call) error {
	p, meta, err := c.upload()
	if err != nil {
		return err
	}
	if c.r.Header.Get("x-owncdn-delete-at") != "" || c.r.Header.Get("x-owncdn-delete-after") != "" {
		return schema.Errorf(schema.KindInvalidArgument, "a cache's copies expire by its expire_unused setting, not x-owncdn-delete-*")
	}
	caches, err := h.caches()
	if err != nil {
		return err
	}
	e, err := caches.Put(c.r.Context(), c.svc, events.CachePut{Path: p, Body: c.r.Body, Meta: meta,
		ContentType: httpx.ContentType(c.r.Header.Get("Content-Type"), p),
		Cond:        writeConditions(c.r.Header)})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, map[string]any{"path": e.Path, "version": e.ID, "size": e.Size, "etag": e.ETag, "sync_id": 0})
	return nil
}

func (h *Handler) cacheDeleteFile(c *call) error {
	p, err := c.path()
	if err != nil {
		return err
	}
	caches, err := h.caches()
	if err != nil {
		return err
	}
	e, err := caches.Delete(c.r.Context(), c.svc, p, deleteConditions(c.r.Header))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"path": e.Path, "version": e.ID, "sync_id": 0})
	return nil
}

// flush empties a cache service and answers how many files it dropped;
// the flush is a cache.flushed.v1 event with who asked.
func (h *Handler) flush(c *call) error {
	if c.svc.Type != schema.ServiceCache {
		return schema.Errorf(schema.KindMethodNotAllowed, "flush works on cache services; %q is a storage service", c.svc.ID)
	}
	caches, err := h.caches()
	if err != nil {
		return err
	}
	n, err := caches.Flush(c.r.Context(), c.origin(), c.svc)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"flushed": n})
	return nil
}

// setCache applies the cache settings a servicecreate or serviceupdate
// body carries (nil: absent) to st, starting from its current ones.
func setCache(st *schema.ServiceSettings, source *schema.CacheSource, sourcePath, refresh, expireUnused *string,
	maxBytes *int64, negativeTTL *string) {
	if source == nil && sourcePath == nil && refresh == nil && expireUnused == nil && maxBytes == nil && negativeTTL == nil {
		return
	}
	var cs schema.CacheSettings
	if st.Cache != nil {
		cs = *st.Cache
	}
	if source != nil {
		cs.Source = *source
	}
	for dst, v := range map[*string]*string{&cs.SourcePath: sourcePath, &cs.Refresh: refresh,
		&cs.ExpireUnused: expireUnused, &cs.NegativeTTL: negativeTTL} {
		if v != nil {
			*dst = *v
		}
	}
	if maxBytes != nil {
		cs.MaxBytes = *maxBytes
	}
	st.Cache = &cs
}
