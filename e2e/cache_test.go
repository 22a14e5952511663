package e2e

// Cache services (issue 9) against a real HTTP origin the tests run and
// count, and against a storage service of the same server: hits and
// misses, refresh with 304 and with changed content, negative caching and
// its expiry on the test clock, LRU eviction, expire_unused, flush and its
// event, one origin fetch for a herd of concurrent misses, uploadfile and
// deletefile, the functions that are not for caches, counters in
// servicelist, and copies across a restart.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

func TestCache_HitAndMiss(t *testing.T) {
	t.Parallel()
	e := Start(t)
	o := newCacheOrigin(t)
	o.set("img/a b.txt", "hello, cache")
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}})

	r := cacheWant(t, e, sid, "img/a b.txt", "hello, cache", "miss")
	if got := o.log(""); len(got) != 1 || got[0].Path != "img/a b.txt" || got[0].IfNoneMatch != "" {
		t.Fatalf("origin requests %+v, want one plain GET of the escaped path", got)
	}
	etag := r.Header.Get("ETag")
	if etag != `"`+md5hex([]byte("hello, cache"))+`"` || r.Header.Get("Last-Modified") != "Wed, 01 Apr 2026 12:00:00 GMT" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || r.Header.Get("X-Version-Id") == "" || r.Header.Get("Content-Length") != "12" {
		t.Errorf("headers of a miss: %v", r.Header)
	}
	r2 := cacheWant(t, e, sid, "img/a b.txt", "hello, cache", "hit")
	if r2.Header.Get("ETag") != etag || r2.Header.Get("X-Version-Id") != r.Header.Get("X-Version-Id") {
		t.Errorf("a hit differs from its miss: %v", r2.Header)
	}
	natWant(t, "304 from the copy", cacheGet(t, e, sid, "img/a b.txt", map[string]string{"If-None-Match": etag}), http.StatusNotModified)
	rr := cacheGet(t, e, sid, "img/a b.txt", map[string]string{"Range": "bytes=7-"})
	if rr.Status != http.StatusPartialContent || string(rr.Body) != "cache" {
		t.Errorf("range of a copy: %d %q", rr.Status, rr.Body)
	}
	h := e.Do(t, Req{Method: http.MethodHead, Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "img/a b.txt")})
	if h.Status != http.StatusOK || h.Header.Get("X-Cache") != "hit" || len(h.Body) != 0 {
		t.Errorf("HEAD: %d %v", h.Status, h.Header)
	}
	if n := o.count(""); n != 1 {
		t.Fatalf("the origin was asked %d times, want once", n)
	}
	if got := cacheListPaths(t, e, sid); !slices.Equal(got, []string{"img/a b.txt"}) {
		t.Errorf("filelist: %v", got)
	}
	st := cacheStats(t, e, e.AdminKey, sid)
	if st.Misses != 1 || st.Hits != 4 || st.Fetches != 1 || st.Files != 1 || st.Bytes != 12 || st.BytesFetched != 12 ||
		st.BytesServed != 12+5 || st.Settings == nil || st.Settings.Source.URL != o.URL() {
		t.Errorf("counters %+v", st)
	}
}

// refresh re-checks a copy with a conditional request: 304 keeps it (no
// bytes move), new content replaces it.
func TestCache_Refresh(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	o := newCacheOrigin(t)
	o.set("a.css", "body{}")
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}, "refresh": "10m"})
	cacheWant(t, e, sid, "a.css", "body{}", "miss")
	clk.Advance(9 * time.Minute)
	cacheWant(t, e, sid, "a.css", "body{}", "hit")
	clk.Advance(2 * time.Minute)
	cacheWant(t, e, sid, "a.css", "body{}", "revalidated")
	reqs := o.log("a.css")
	if len(reqs) != 2 || reqs[1].IfNoneMatch == "" || reqs[1].IfModSince != "Wed, 01 Apr 2026 12:00:00 GMT" || reqs[1].Status != http.StatusNotModified {
		t.Fatalf("origin requests %+v: the re-check must be conditional and answered 304", reqs)
	}
	cacheWant(t, e, sid, "a.css", "body{}", "hit") // fresh for another 10 minutes

	o.set("a.css", "body{color:red}")
	cacheWant(t, e, sid, "a.css", "body{}", "hit")
	clk.Advance(11 * time.Minute)
	r := cacheWant(t, e, sid, "a.css", "body{color:red}", "refreshed")
	if r.Header.Get("ETag") != `"`+md5hex([]byte("body{color:red}"))+`"` {
		t.Errorf("ETag after the refresh: %s", r.Header.Get("ETag"))
	}
	cacheWant(t, e, sid, "a.css", "body{color:red}", "hit")
	if n := o.count("a.css"); n != 3 {
		t.Errorf("origin asked %d times, want 3", n)
	}
	st := cacheStats(t, e, e.AdminKey, sid)
	if st.Revalidated != 1 || st.Fetches != 3 || st.Misses != 2 || st.Hits != 5 || st.BytesFetched != 6+15 || st.Bytes != 15 {
		t.Errorf("counters %+v", st)
	}
}

// Not-found and failed answers of the origin are remembered for
// negative_ttl, then asked again.
func TestCache_NegativeTTL(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	o := newCacheOrigin(t)
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}, "negative_ttl": "30s"})
	cacheWantStatus(t, e, sid, "late.js", http.StatusNotFound, "not_found")
	cacheWantStatus(t, e, sid, "late.js", http.StatusNotFound, "not_found")
	o.set("late.js", "here now")
	clk.Advance(29 * time.Second)
	cacheWantStatus(t, e, sid, "late.js", http.StatusNotFound, "not_found")
	if n := o.count("late.js"); n != 1 {
		t.Fatalf("origin asked %d times within the negative TTL, want once", n)
	}
	clk.Advance(time.Second)
	cacheWant(t, e, sid, "late.js", "here now", "miss")
	if n := o.count("late.js"); n != 2 {
		t.Fatalf("origin asked %d times, want 2", n)
	}

	// a failing origin: 503 unavailable, remembered the same way
	o.set("flaky", "ok")
	o.fail("flaky", http.StatusInternalServerError)
	cacheWantStatus(t, e, sid, "flaky", http.StatusServiceUnavailable, "unavailable")
	cacheWantStatus(t, e, sid, "flaky", http.StatusServiceUnavailable, "unavailable")
	o.fail("flaky", 0)
	clk.Advance(30 * time.Second)
	cacheWant(t, e, sid, "flaky", "ok", "miss")
	if n := o.count("flaky"); n != 2 {
		t.Fatalf("origin asked %d times for flaky, want 2", n)
	}
	if st := cacheStats(t, e, e.AdminKey, sid); st.NegativeHits != 3 {
		t.Errorf("counters %+v", st)
	}

	// a copy due for its re-check is served as it is while the origin
	// fails (and the failure is remembered); the origin losing the file
	// drops the copy
	clk.Advance(2 * time.Hour)
	o.fail("flaky", http.StatusBadGateway)
	cacheWant(t, e, sid, "flaky", "ok", "stale")
	cacheWant(t, e, sid, "flaky", "ok", "stale")
	if n := o.count("flaky"); n != 3 {
		t.Fatalf("origin asked %d times for flaky, want 3", n)
	}
	o.fail("flaky", 0)
	o.remove("flaky")
	clk.Advance(time.Minute)
	cacheWantStatus(t, e, sid, "flaky", http.StatusNotFound, "not_found")
	if got := cacheListPaths(t, e, sid); !slices.Equal(got, []string{"late.js"}) {
		t.Errorf("filelist: %v", got)
	}
}

// max_bytes evicts the least recently used copies first.
func TestCache_EvictionLRU(t *testing.T) {
	t.Parallel()
	e := Start(t)
	o := newCacheOrigin(t)
	for _, p := range []string{"a", "b", "c", "d"} {
		o.set(p, strings.Repeat(p, 40))
	}
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}, "max_bytes": 100})
	cacheWant(t, e, sid, "a", strings.Repeat("a", 40), "miss")
	cacheWant(t, e, sid, "b", strings.Repeat("b", 40), "miss")
	cacheWant(t, e, sid, "a", strings.Repeat("a", 40), "hit") // b is now the least recently used
	cacheWant(t, e, sid, "c", strings.Repeat("c", 40), "miss")
	if got := cacheListPaths(t, e, sid); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("after the bound: %v, want [a c]", got)
	}
	cacheWant(t, e, sid, "a", strings.Repeat("a", 40), "hit")
	cacheWant(t, e, sid, "b", strings.Repeat("b", 40), "miss") // evicts c
	cacheWant(t, e, sid, "d", strings.Repeat("d", 40), "miss") // evicts a
	if got := cacheListPaths(t, e, sid); !slices.Equal(got, []string{"b", "d"}) {
		t.Fatalf("%v, want [b d]", got)
	}
	if o.count("a") != 1 || o.count("b") != 2 || o.count("c") != 1 {
		t.Errorf("origin requests a %d b %d c %d", o.count("a"), o.count("b"), o.count("c"))
	}
	st := cacheStats(t, e, e.AdminKey, sid)
	if st.Evicted != 3 || st.Bytes != 80 || st.Files != 2 {
		t.Errorf("counters %+v", st)
	}
	// a lower bound evicts at once; a file larger than it is served, not kept
	e.Admin(t, "serviceupdate", map[string]any{"id": sid, "max_bytes": 50}, http.StatusOK)
	if got := cacheListPaths(t, e, sid); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("after lowering max_bytes: %v", got)
	}
	o.set("big", strings.Repeat("x", 60))
	cacheWant(t, e, sid, "big", strings.Repeat("x", 60), "miss")
	cacheWant(t, e, sid, "big", strings.Repeat("x", 60), "miss")
}

// expire_unused drops copies not served for that long (sliding).
func TestCache_ExpireUnused(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	o := newCacheOrigin(t)
	o.set("kept", "used often")
	o.set("idle", "used once")
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}, "refresh": "never", "expire_unused": "10m"})
	cacheWant(t, e, sid, "kept", "used often", "miss")
	cacheWant(t, e, sid, "idle", "used once", "miss")
	for range 3 {
		clk.Advance(6 * time.Minute)
		cacheWant(t, e, sid, "kept", "used often", "hit")
	}
	if got := cacheListPaths(t, e, sid); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("after 18 minutes: %v, want [kept]", got)
	}
	cacheWant(t, e, sid, "idle", "used once", "miss")
	if st := cacheStats(t, e, e.AdminKey, sid); st.Expired != 1 {
		t.Errorf("counters %+v", st)
	}
}

// flush empties the cache, answers the number dropped, and is an event
// with who asked and the request id.
func TestCache_Flush(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "reads its log")
	o := newCacheOrigin(t)
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}})
	for _, p := range []string{"1", "2", "3"} {
		o.set(p, "file "+p)
		cacheWant(t, e, sid, p, "file "+p, "miss")
	}
	k := e.NewKey(t, map[string]string{sid: "write"})
	r := e.Do(t, Req{Method: http.MethodPost, Fn: "flush", Key: k.Value, Query: Q("sid", sid)})
	natWant(t, "flush", r, http.StatusOK)
	var out struct {
		Flushed int64 `json:"flushed"`
	}
	r.JSON(t, &out)
	if out.Flushed != 3 {
		t.Fatalf("flush answered %s", r.Body)
	}
	if got := cacheListPaths(t, e, sid); len(got) != 0 {
		t.Fatalf("after flush: %v", got)
	}
	cacheWant(t, e, sid, "1", "file 1", "miss")
	if n := o.count("1"); n != 2 {
		t.Errorf("origin asked %d times for 1, want 2", n)
	}
	ev := esWaitFor(t, e, "cache.flushed.v1", func(ev *schema.Event) bool { return ev.Type == schema.TypeCacheFlushed })
	var p schema.CacheFlushed
	if err := ev.Decode(&p); err != nil || p.Flushed != 3 || p.ID != sid || ev.Service != sid || ev.Actor.KeyID != k.ID ||
		ev.Actor.Dialect != "native" || ev.RequestID == "" || ev.RequestID != r.Header.Get("X-Request-Id") {
		t.Fatalf("flush event %+v %+v (request id %s)", ev, p, r.Header.Get("X-Request-Id"))
	}
	// the service's feed shows it, by type too
	evs := feedGet(t, e, k.Value, Q("sid", sid, "type", schema.TypeCacheFlushed), http.StatusOK).Events
	if len(evs) != 1 || evs[0].Actor.KeyID != k.ID || !strings.Contains(string(evs[0].Data), `"flushed":3`) {
		t.Fatalf("feed: %+v", evs)
	}
	ro := e.NewKey(t, map[string]string{sid: "read"})
	natWantErr(t, "flush with a read key", e.Do(t, Req{Method: http.MethodPost, Fn: "flush", Key: ro.Value, Query: Q("sid", sid)}),
		http.StatusForbidden, "forbidden")
}

// A hundred concurrent misses of one path make one origin request; every
// request gets the bytes.
func TestCache_Herd(t *testing.T) {
	t.Parallel()
	e := Start(t)
	o := newCacheOrigin(t)
	body := strings.Repeat("popular ", 8<<10)
	o.set("hot.bin", body)
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}})
	release := o.hold()
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Send(Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "hot.bin")})
			switch {
			case err != nil:
				errs <- err.Error()
			case r.Status != http.StatusOK || string(r.Body) != body || r.Header.Get("X-Cache") != "miss":
				errs <- "status " + strconv.Itoa(r.Status) + " X-Cache " + r.Header.Get("X-Cache") + ", " + strconv.Itoa(len(r.Body)) + " bytes"
			}
		}()
	}
	// every request is waiting on the one fetch the origin holds
	if err := poll(60*time.Second, func() error {
		if st := cacheStats(t, e, e.AdminKey, sid); st.Waiting != n {
			return fmt.Errorf("only %d requests waiting after 60s", st.Waiting)
		}
		return nil
	}); err != nil {
		release()
		t.Fatal(err)
	}
	release()
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if got := o.log(""); len(got) != 1 {
		t.Fatalf("the origin got %d requests for %d concurrent misses, want exactly 1", len(got), n)
	}
	st := cacheStats(t, e, e.AdminKey, sid)
	if st.Misses != n || st.Fetches != 1 || st.BytesFetched != int64(len(body)) || st.Waiting != 0 {
		t.Errorf("counters %+v", st)
	}
	cacheWant(t, e, sid, "hot.bin", body, "hit")
}

// A cache of a storage service of the same account: the version decides
// whether a copy is current.
func TestCache_ServiceSource(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	src := e.WithService(t)
	e.Upload(t, e.AdminKey, src, "pub/logo.svg", []byte("<svg>v1</svg>"), map[string]string{"x-owncdn-meta-owner": "design"})
	e.Upload(t, e.AdminKey, src, "private.txt", []byte("not published"), nil)
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"service": src}, "source_path": "pub", "refresh": "5m"})
	// a key that may read the cache only reads through it
	k := e.NewKey(t, map[string]string{sid: "read"})
	natWantErr(t, "the source itself", natGet(t, e, k.Value, src, "pub/logo.svg"), http.StatusForbidden, "forbidden")
	r := natGet(t, e, k.Value, sid, "logo.svg")
	if r.Status != http.StatusOK || string(r.Body) != "<svg>v1</svg>" || r.Header.Get("X-Cache") != "miss" || r.Header.Get("x-owncdn-meta-owner") != "design" {
		t.Fatalf("through the cache: %d %q %v", r.Status, r.Body, r.Header)
	}
	v1 := r.Header.Get("X-Version-Id")
	if hist := natVersions(t, e, e.AdminKey, src, "pub/logo.svg"); v1 != hist[0].Version || r.Header.Get("X-Sync-Id") != strconv.FormatUint(hist[0].SyncID, 10) {
		t.Errorf("X-Version-Id %s X-Sync-Id %s, the source's version is %+v", v1, r.Header.Get("X-Sync-Id"), hist[0])
	}
	cacheWantStatus(t, e, sid, "../private.txt", http.StatusNotFound, "not_found")

	clk.Advance(6 * time.Minute)
	cacheWant(t, e, sid, "logo.svg", "<svg>v1</svg>", "revalidated") // same version: no bytes
	e.Upload(t, e.AdminKey, src, "pub/logo.svg", []byte("<svg>version two</svg>"), nil)
	cacheWant(t, e, sid, "logo.svg", "<svg>v1</svg>", "hit") // not due yet
	clk.Advance(6 * time.Minute)
	r = cacheWant(t, e, sid, "logo.svg", "<svg>version two</svg>", "refreshed")
	if r.Header.Get("X-Version-Id") == v1 {
		t.Errorf("the refreshed copy kept the old version id")
	}
	natWant(t, "deletefile in the source", e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey,
		Query: Q("sid", src, "path", "pub/logo.svg")}), http.StatusOK)
	clk.Advance(6 * time.Minute)
	cacheWantStatus(t, e, sid, "logo.svg", http.StatusNotFound, "not_found")
	st := cacheStats(t, e, e.AdminKey, sid)
	if st.Revalidated != 1 || st.BytesFetched != int64(len("<svg>v1</svg>")+len("<svg>version two</svg>")) || st.Files != 0 {
		t.Errorf("counters %+v", st)
	}

	// the source must be a storage service of the cache's account
	acct, _ := e.Account(t)
	other := uniqueName(t, "o", 63)
	e.Admin(t, "servicecreate", map[string]any{"id": other, "account": acct}, http.StatusCreated)
	for _, bad := range []map[string]any{
		{"id": "cache-bad-1", "type": "cache", "source": map[string]string{"service": other}},
		{"id": "cache-bad-2", "type": "cache", "source": map[string]string{"service": sid}},
		{"id": "cache-bad-3", "type": "cache", "source": map[string]string{"service": src, "url": "http://127.0.0.1:1/"}},
		{"id": "cache-bad-4", "type": "cache"},
		{"id": "cache-bad-5", "type": "cache", "source": map[string]string{"url": "ftp://127.0.0.1/"}},
		{"id": "cache-bad-6", "type": "cache", "source": map[string]string{"service": src}, "refresh": "often"},
		{"id": "cache-bad-7", "type": "cache", "source": map[string]string{"service": src}, "keep_versions": "720h"},
		{"id": "cache-bad-8", "source": map[string]string{"service": src}},
	} {
		natWantErr(t, natf("servicecreate %v", bad), e.Do(t, Req{Method: http.MethodPost, Fn: "servicecreate", Key: e.AdminKey,
			Body: natJSON(bad)}), http.StatusBadRequest, "invalid_argument")
	}
}

// uploadfile writes into a cache and deletefile evicts; neither asks the
// origin or goes to the log.
func TestCache_UploadAndDelete(t *testing.T) {
	t.Parallel()
	e := Start(t)
	o := newCacheOrigin(t)
	o.set("page.html", "from the origin")
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}})
	k := e.NewKey(t, map[string]string{sid: "write"})
	u := e.Upload(t, k.Value, sid, "page.html", []byte("pushed"), map[string]string{"Content-Type": "text/html"})
	if u.Size != 6 || u.ETag != md5hex([]byte("pushed")) || u.SyncID != 0 || u.Version == "" {
		t.Errorf("uploadfile answered %+v", u)
	}
	r := cacheWant(t, e, sid, "page.html", "pushed", "hit")
	if r.Header.Get("Content-Type") != "text/html" || r.Header.Get("X-Version-Id") != u.Version {
		t.Errorf("the uploaded copy: %v", r.Header)
	}
	natWantErr(t, "If-None-Match: * on a copy", natPut(t, e, k.Value, sid, "page.html", []byte("x"), map[string]string{"If-None-Match": "*"}),
		http.StatusConflict, "precondition_failed")
	d := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.Value, Query: Q("sid", sid, "path", "page.html")})
	natWant(t, "deletefile", d, http.StatusOK)
	if !strings.Contains(string(d.Body), `"version":"`+u.Version+`"`) {
		t.Errorf("deletefile answered %s", d.Body)
	}
	natWantErr(t, "deletefile again", e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.Value,
		Query: Q("sid", sid, "path", "page.html")}), http.StatusNotFound, "not_found")
	if n := o.count(""); n != 0 {
		t.Fatalf("the origin was asked %d times by uploads and deletes", n)
	}
	cacheWant(t, e, sid, "page.html", "from the origin", "miss")
	ro := e.NewKey(t, map[string]string{sid: "read"})
	natWantErr(t, "uploadfile with a read key", natPut(t, e, ro.Value, sid, "x", []byte("x"), nil), http.StatusForbidden, "forbidden")
	// nothing of this is in the log: the service's feed holds its creation only
	for _, ev := range feedGet(t, e, e.AdminKey, Q("sid", sid), http.StatusOK).Events {
		if ev.Type != schema.TypeServiceCreated {
			t.Errorf("uploads or deletes on a cache appended %s", ev.Type)
		}
	}
}

// versionlist and syncnext are for storage services, flush for caches;
// S3 and Swift serve storage services only and do not list caches.
func TestCache_NotForStorageFunctions(t *testing.T) {
	t.Parallel()
	e := Start(t)
	o := newCacheOrigin(t)
	o.set("x", "x")
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}})
	cacheWant(t, e, sid, "x", "x", "miss")
	storage := e.WithService(t)
	for what, r := range map[string]*Resp{
		"versionlist on a cache": e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", "x")}),
		"syncnext on a cache":    e.Do(t, Req{Fn: "syncnext", Key: e.AdminKey, Query: Q("sid", sid)}),
		"flush on storage":       e.Do(t, Req{Method: http.MethodPost, Fn: "flush", Key: e.AdminKey, Query: Q("sid", storage)}),
	} {
		natWantErr(t, what, r, http.StatusMethodNotAllowed, "method_not_allowed")
	}
	natWantErr(t, "getfile with version", natGet(t, e, e.AdminKey, sid, "x", "version", "01J0"), http.StatusBadRequest, "invalid_argument")
	natWantErr(t, "filelist with asof", e.Do(t, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid, "asof", "sync:0")}),
		http.StatusBadRequest, "invalid_argument")
	natWantErr(t, "quota on a cache", e.Do(t, Req{Method: http.MethodPost, Fn: "serviceupdate", Key: e.AdminKey,
		Body: natJSON(map[string]any{"id": sid, "quota_bytes": 100})}), http.StatusBadRequest, "invalid_argument")
	cacheNotInS3(t, e, sid)
	cacheNotInSwift(t, e, sid)
	cacheWant(t, e, sid, "x", "x", "hit") // still there
}

// cacheNotInS3: the cache is no bucket to S3: not listed, 405 on objects.
func cacheNotInS3(t *testing.T, e *Env, sid string) {
	t.Helper()
	for _, target := range []string{"/" + sid + "/x", "/" + sid} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete} {
			if target == "/"+sid && method == http.MethodPut {
				continue // CreateBucket: the name is taken
			}
			r := s3Do(t, e, e.AdminKeyID, e.AdminKey, method, target, nil, nil, "")
			if r.Status != http.StatusMethodNotAllowed {
				t.Errorf("S3 %s %s of a cache: %d %s", method, target, r.Status, r.Body)
			}
		}
	}
	if r := s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodGet, "/", nil, nil, ""); r.Status != http.StatusOK || strings.Contains(string(r.Body), sid) {
		t.Errorf("ListBuckets shows the cache: %d %s", r.Status, r.Body)
	}
}

// cacheNotInSwift: the cache is no container to Swift: not listed, 405.
func cacheNotInSwift(t *testing.T, e *Env, sid string) {
	t.Helper()
	tok := swToken(t, e, e.CreateKey(t, KeySpec{Account: schema.DefaultAccount, Admin: true, Access: nil}))
	for _, p := range []string{swPath(schema.DefaultAccount, sid), swPath(schema.DefaultAccount, sid, "x")} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			if r := swDo(t, e, method, p, tok, nil, nil); r.Status != http.StatusMethodNotAllowed {
				t.Errorf("Swift %s %s: %d", method, p, r.Status)
			}
		}
	}
	if r := swDo(t, e, http.MethodGet, swPath(schema.DefaultAccount)+"?format=json", tok, nil, nil); strings.Contains(string(r.Body), sid) {
		t.Errorf("the Swift account lists the cache: %s", r.Body)
	}
}

// Copies survive a clean restart (no origin request for them); a deleted
// cache's directory goes; settings (not counters) are for admin keys.
func TestCache_RestartAndDelete(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "restarts the server and reads its data directory")
	o := newCacheOrigin(t)
	o.set("keep.txt", "kept across the restart")
	sid := cacheCreate(t, e, map[string]any{"source": map[string]string{"url": o.URL()}, "refresh": "never"})
	cacheWant(t, e, sid, "keep.txt", "kept across the restart", "miss")
	dir := filepath.Join(e.Dir, "caches", sid)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the cache's directory: %v", err)
	}
	e.Restart(t)
	cacheWant(t, e, sid, "keep.txt", "kept across the restart", "hit")
	if n := o.count(""); n != 1 {
		t.Fatalf("the origin was asked %d times, want once (before the restart)", n)
	}
	k := e.NewKey(t, map[string]string{sid: "read"})
	if st := cacheStats(t, e, k.Value, sid); st.Settings != nil || st.Files != 1 || st.Hits != 1 {
		t.Errorf("servicelist for a read key: %+v", st)
	}
	var svc struct {
		Cache schema.CacheEntry `json:"cache"`
	}
	e.Admin(t, "serviceupdate", map[string]any{"id": sid, "name": "Edge"}, http.StatusOK).JSON(t, &svc)
	if s := svc.Cache.Settings; s == nil || s.Refresh != "never" || s.NegativeTTL != "1m" || svc.Cache.Files != 1 {
		t.Errorf("serviceupdate answered %+v", svc.Cache)
	}
	e.Admin(t, "servicedelete", map[string]any{"id": sid}, http.StatusOK)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the deleted cache's directory is still there: %v", err)
	}
	// the same id as a new cache starts empty
	e.Admin(t, "servicecreate", map[string]any{"id": sid, "type": "cache", "source": map[string]string{"url": o.URL()}}, http.StatusCreated)
	cacheWant(t, e, sid, "keep.txt", "kept across the restart", "miss")
	raw, _ := json.Marshal(cacheStats(t, e, e.AdminKey, sid))
	if st := cacheStats(t, e, e.AdminKey, sid); st.Misses != 1 || st.Hits != 0 {
		t.Errorf("the new cache's counters: %s", raw)
	}
}
