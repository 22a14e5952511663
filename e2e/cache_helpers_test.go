package e2e

// Helpers of the cache service tests (cache_test.go): an HTTP origin the
// test runs and counts, and short ways to create caches, read through them
// and read their counters. Everything starts with "cache".

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// cacheOrigin is an HTTP origin on 127.0.0.1 that counts what it is asked.
// It serves its files under /static/ with an ETag and Last-Modified, and
// answers 304 to an If-None-Match naming the current ETag.
type cacheOrigin struct {
	srv *httptest.Server

	mu       sync.Mutex
	files    map[string]cacheOriginFile // path under /static/ (decoded) → file
	failing  map[string]int             // path → status to answer instead
	requests []cacheOriginRequest
	// gate, when set, holds every request until it is closed.
	gate chan struct{}
}

type cacheOriginFile struct {
	body     string
	etag     string
	modified time.Time
}

// cacheOriginRequest is one request the origin received.
type cacheOriginRequest struct {
	Path        string // decoded, under /static/
	IfNoneMatch string
	IfModSince  string
	Status      int
}

func newCacheOrigin(t testing.TB) *cacheOrigin {
	o := &cacheOrigin{files: map[string]cacheOriginFile{}, failing: map[string]int{}}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

// URL is the base URL a cache service takes as its source.
func (o *cacheOrigin) URL() string { return o.srv.URL + "/static" }

func (o *cacheOrigin) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	gate := o.gate
	o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	path, _ := strings.CutPrefix(r.URL.Path, "/static/")
	req := cacheOriginRequest{Path: path, IfNoneMatch: r.Header.Get("If-None-Match"), IfModSince: r.Header.Get("If-Modified-Since")}
	f, ok := o.files[path]
	switch st := o.failing[path]; {
	case st != 0:
		req.Status = st
	case !ok:
		req.Status = http.StatusNotFound
	case req.IfNoneMatch == f.etag:
		req.Status = http.StatusNotModified
	default:
		req.Status = http.StatusOK
	}
	o.requests = append(o.requests, req)
	if req.Status != http.StatusOK {
		w.WriteHeader(req.Status)
		return
	}
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Last-Modified", f.modified.UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(f.body))
}

// set makes the origin serve body at path, with a new ETag.
func (o *cacheOrigin) set(path, body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	sum := md5.Sum([]byte(body))
	o.files[path] = cacheOriginFile{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`,
		modified: time.Date(2026, 4, 1, 12, 0, len(o.files), 0, time.UTC)}
}

// remove makes path a 404 at the origin.
func (o *cacheOrigin) remove(path string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.files, path)
}

// fail makes the origin answer status for path (0: serve it again).
func (o *cacheOrigin) fail(path string, status int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failing[path] = status
}

// hold makes the origin hold requests until the returned func is called.
func (o *cacheOrigin) hold() (release func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	gate := make(chan struct{})
	o.gate = gate
	return func() {
		o.mu.Lock()
		o.gate = nil
		o.mu.Unlock()
		close(gate)
	}
}

// count returns the requests the origin received for path ("": all).
func (o *cacheOrigin) count(path string) int {
	return len(o.log(path))
}

// log returns the requests the origin received for path ("": all).
func (o *cacheOrigin) log(path string) []cacheOriginRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []cacheOriginRequest
	for _, r := range o.requests {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// cacheCreate creates a cache service with settings (source and the rest,
// as servicecreate takes them) and returns its id.
func cacheCreate(t testing.TB, e *Env, settings map[string]any) string {
	t.Helper()
	sid := uniqueName(t, "c", 63)
	body := map[string]any{"id": sid, "type": "cache"}
	for k, v := range settings {
		body[k] = v
	}
	e.Admin(t, "servicecreate", body, http.StatusCreated)
	return sid
}

// cacheGet reads path through cache sid with the admin key.
func cacheGet(t testing.TB, e *Env, sid, path string, hdr map[string]string) *Resp {
	t.Helper()
	return e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", path), Header: hdr})
}

// cacheWant reads path through cache sid and checks the body and how it
// was served (X-Cache).
func cacheWant(t testing.TB, e *Env, sid, path, body, xcache string) *Resp {
	t.Helper()
	r := cacheGet(t, e, sid, path, nil)
	if r.Status != http.StatusOK || string(r.Body) != body || r.Header.Get("X-Cache") != xcache {
		t.Fatalf("getfile %s from %s: %d %q X-Cache %q, want 200 %q %s", path, sid, r.Status, r.Body, r.Header.Get("X-Cache"), body, xcache)
	}
	return r
}

// cacheWantStatus reads path through cache sid and checks the status and
// error code.
func cacheWantStatus(t testing.TB, e *Env, sid, path string, status int, code string) {
	t.Helper()
	natWantErr(t, fmt.Sprintf("getfile %s from %s", path, sid), cacheGet(t, e, sid, path, nil), status, code)
}

// cacheStats reads cache sid's state from servicelist as key sees it.
func cacheStats(t testing.TB, e *Env, key, sid string) schema.CacheEntry {
	t.Helper()
	r := e.Do(t, Req{Fn: "servicelist", Key: key})
	natWant(t, "servicelist", r, http.StatusOK)
	var list struct {
		Services []struct {
			ID    string          `json:"id"`
			Type  string          `json:"type"`
			Files int64           `json:"files"`
			Cache json.RawMessage `json:"cache"`
		} `json:"services"`
	}
	r.JSON(t, &list)
	for _, s := range list.Services {
		if s.ID == sid {
			var st schema.CacheEntry
			if s.Type != "cache" || json.Unmarshal(s.Cache, &st) != nil || s.Files != st.Files {
				t.Fatalf("servicelist shows %s as %s with cache %s", sid, s.Type, s.Cache)
			}
			return st
		}
	}
	t.Fatalf("servicelist does not show %s: %s", sid, r.Body)
	return schema.CacheEntry{}
}

// cacheListPaths lists the paths cache sid holds.
func cacheListPaths(t testing.TB, e *Env, sid string) []string {
	t.Helper()
	var out []string
	for _, f := range natList(t, e, e.AdminKey, sid).Files {
		out = append(out, f.Path)
	}
	return out
}
