package events_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnhq/cairn/blobstore/cache"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

func cacheInput(id string, st schema.CacheSettings) events.ServiceInput {
	return events.ServiceInput{ID: id, Type: schema.ServiceCache, Settings: schema.ServiceSettings{Cache: &st}}
}

func TestCreateService_Cache(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	c.service(t, "photos")
	if _, err := c.svc.CreateAccount(ctx, c.o, "other", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "theirs", Account: "other"}); err != nil {
		t.Fatal(err)
	}
	svc, err := c.svc.CreateService(ctx, c.o, cacheInput("edge", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}}))
	if err != nil {
		t.Fatal(err)
	}
	if st := svc.Settings.Cache; svc.Type != schema.ServiceCache || st.Refresh != "1h" || st.NegativeTTL != "1m" || st.ExpireUnused != "" {
		t.Fatalf("created %+v %+v: the defaults belong in the event", svc, svc.Settings.Cache)
	}
	origin := schema.CacheSource{URL: "http://127.0.0.1:1/x"}
	for name, in := range map[string]events.ServiceInput{
		"no settings":       {ID: "c1", Type: schema.ServiceCache},
		"no source":         cacheInput("c1", schema.CacheSettings{}),
		"own source":        cacheInput("c1", schema.CacheSettings{Source: schema.CacheSource{Service: "c1"}}),
		"missing source":    cacheInput("c1", schema.CacheSettings{Source: schema.CacheSource{Service: "nope"}}),
		"another account's": cacheInput("c1", schema.CacheSettings{Source: schema.CacheSource{Service: "theirs"}}),
		"a cache as source": cacheInput("c1", schema.CacheSettings{Source: schema.CacheSource{Service: "edge"}}),
		"bad duration":      cacheInput("c1", schema.CacheSettings{Source: origin, Refresh: "soon"}),
		"storage settings": {ID: "c1", Type: schema.ServiceCache, Settings: schema.ServiceSettings{KeepVersions: "720h",
			Cache: &schema.CacheSettings{Source: origin}}},
		"cache settings on storage": {ID: "c1", Settings: schema.ServiceSettings{Cache: &schema.CacheSettings{Source: origin}}},
		"a swift-only name":         cacheInput("Caps", schema.CacheSettings{Source: origin}),
	} {
		if _, err := c.svc.CreateService(ctx, c.o, in); !schema.IsKind(err, schema.KindInvalidArgument) {
			t.Errorf("%s: %v, want InvalidArgument", name, err)
		}
	}
	// settings change through UpdateService, checked the same way
	svc, err = c.svc.UpdateService(ctx, c.o, "edge", func(s *schema.Service) error {
		s.Settings.Cache.MaxBytes = 1 << 20
		s.Settings.Cache.Refresh = ""
		return nil
	})
	if err != nil || svc.Settings.Cache.MaxBytes != 1<<20 || svc.Settings.Cache.Refresh != "1h" {
		t.Fatalf("update: %+v %v", svc, err)
	}
	_, err = c.svc.UpdateService(ctx, c.o, "edge", func(s *schema.Service) error {
		s.Settings.Cache.Source = schema.CacheSource{Service: "theirs"}
		return nil
	})
	if !schema.IsKind(err, schema.KindInvalidArgument) {
		t.Fatalf("update to another account's source: %v", err)
	}
	_, err = c.svc.UpdateService(ctx, c.o, "photos", func(s *schema.Service) error {
		s.Settings.Cache = &schema.CacheSettings{Source: origin}
		return nil
	})
	if !schema.IsKind(err, schema.KindInvalidArgument) {
		t.Fatalf("cache settings on a storage service: %v", err)
	}
}

// cacheEnv is a core with a storage service "photos" and the cache
// services of its instance, on a test clock.
type cacheEnv struct {
	*core
	clk    *schematest.Clock
	caches *events.Caches
	dir    string
}

func newCacheEnv(t *testing.T) *cacheEnv {
	t.Helper()
	clk := schematest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	c := newCore(t, events.Options{Clock: clk.Now})
	c.service(t, "photos")
	e := &cacheEnv{core: c, clk: clk, dir: t.TempDir()}
	e.caches = events.NewCaches(c.svc, events.CachesOptions{Dir: e.dir})
	t.Cleanup(func() { _ = e.caches.Close() })
	return e
}

func (e *cacheEnv) cacheService(t *testing.T, id string, st schema.CacheSettings) *schema.Service {
	t.Helper()
	svc, err := e.svc.CreateService(context.Background(), e.o, cacheInput(id, st))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (e *cacheEnv) svcOf(t *testing.T, id string) *schema.Service {
	t.Helper()
	svc, err := e.state.Service(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// get reads path from cache service id: body, status, error.
func (e *cacheEnv) get(t *testing.T, id, path string) (string, string, error) {
	t.Helper()
	res, err := e.caches.Get(context.Background(), e.svcOf(t, id), path)
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), res.Status, nil
}

func (e *cacheEnv) want(t *testing.T, id, path, body, status string) {
	t.Helper()
	got, st, err := e.get(t, id, path)
	if err != nil || got != body || st != status {
		t.Fatalf("%s %s: %q %s %v, want %q %s", id, path, got, st, err, body, status)
	}
}

func TestCaches_ServiceSource(t *testing.T) {
	ctx := context.Background()
	e := newCacheEnv(t)
	e.cacheService(t, "edge", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}, SourcePath: "public",
		Refresh: "10m", NegativeTTL: "0s"})
	v1, err := e.put(ctx, "photos", "public/a.txt", []byte("first"), events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.put(ctx, "photos", "private.txt", []byte("secret"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	e.want(t, "edge", "a.txt", "first", cache.StatusMiss)
	res, err := e.caches.Get(ctx, e.svcOf(t, "edge"), "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if x := res.Entry; x.ID != v1.Version || x.SyncID != v1.SyncID || x.ETag != v1.ETag || x.ContentType != "text/plain" || res.Status != cache.StatusHit {
		t.Fatalf("a copy of %+v: %+v %s", v1, x, res.Status)
	}
	if _, _, err := e.get(t, "edge", "../private.txt"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("outside the source path: %v", err)
	}
	e.clk.Advance(10 * time.Minute)
	e.want(t, "edge", "a.txt", "first", cache.StatusRevalidated) // same version: no bytes
	if _, err := e.put(ctx, "photos", "public/a.txt", []byte("second"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	e.want(t, "edge", "a.txt", "first", cache.StatusHit)
	e.clk.Advance(10 * time.Minute)
	e.want(t, "edge", "a.txt", "second", cache.StatusRefreshed)
	if _, err := e.svc.DeleteObject(ctx, e.o, "photos", "public/a.txt", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(10 * time.Minute)
	if _, _, err := e.get(t, "edge", "a.txt"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("a deleted source file: %v", err)
	}
	st, _ := e.caches.Stats(e.svcOf(t, "edge"))
	if st.Files != 0 || st.Revalidated != 1 || st.BytesFetched != 11 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCaches_FlushEvent(t *testing.T) {
	ctx := context.Background()
	e := newCacheEnv(t)
	e.cacheService(t, "edge", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}})
	for _, p := range []string{"a", "b", "c"} {
		if _, err := e.caches.Put(ctx, e.svcOf(t, "edge"), events.CachePut{Path: p, Body: bytes.NewReader([]byte(p))}); err != nil {
			t.Fatal(err)
		}
	}
	o := events.Origin{Actor: schema.Actor{KeyID: "FLUSHER", Dialect: "native", Addr: "192.0.2.7"}, RequestID: "req-1"}
	n, err := e.caches.Flush(ctx, o, e.svcOf(t, "edge"))
	if err != nil || n != 3 {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	last, _ := e.log.LastSeq(ctx)
	ev, err := e.log.Get(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	var p schema.CacheFlushed
	if err := ev.Decode(&p); err != nil || ev.Type != schema.TypeCacheFlushed || p.ID != "edge" || p.Flushed != 3 ||
		ev.Actor != o.Actor || ev.RequestID != "req-1" || ev.Service != "edge" || ev.Account != schema.DefaultAccount {
		t.Fatalf("event %+v %+v", ev, p)
	}
	if svc := e.svcOf(t, "edge"); svc.LastSeq != last {
		t.Errorf("the service's last_seq %d, want the flush's %d", svc.LastSeq, last)
	}
	if _, err := e.caches.Flush(ctx, o, e.svcOf(t, "photos")); !schema.IsKind(err, schema.KindMethodNotAllowed) {
		t.Fatalf("flush of a storage service: %v", err)
	}
}

func TestCaches_Conditions(t *testing.T) {
	ctx := context.Background()
	e := newCacheEnv(t)
	e.cacheService(t, "edge", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}})
	svc := e.svcOf(t, "edge")
	put := func(body string, cond events.Conditions) (cache.Entry, error) {
		return e.caches.Put(ctx, svc, events.CachePut{Path: "p", Body: bytes.NewReader([]byte(body)), Cond: cond})
	}
	if _, err := put("x", events.Conditions{IfMatch: "*"}); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Fatalf("If-Match on nothing: %v", err)
	}
	first, err := put("one", events.Conditions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := put("two", events.Conditions{IfNoneMatch: "*"}); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Fatalf("If-None-Match: * on a copy: %v", err)
	}
	if _, err := put("two", events.Conditions{IfMatch: `"` + first.ETag + `"`}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.caches.Delete(ctx, svc, "p", events.Conditions{IfMatch: `"` + first.ETag + `"`}); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Fatalf("a delete of a replaced copy: %v", err)
	}
	if _, err := e.caches.Delete(ctx, svc, "p", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
}

// Settings follow the service: a lower bound evicts, a new source drops
// the old one's copies; a deleted and re-created id starts empty.
func TestCaches_Settings(t *testing.T) {
	ctx := context.Background()
	e := newCacheEnv(t)
	e.cacheService(t, "edge", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}})
	for _, p := range []string{"a", "b"} {
		if _, err := e.caches.Put(ctx, e.svcOf(t, "edge"), events.CachePut{Path: p, Body: bytes.NewReader([]byte("1234"))}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(fn func(*schema.CacheSettings)) {
		t.Helper()
		if _, err := e.svc.UpdateService(ctx, e.o, "edge", func(s *schema.Service) error { fn(s.Settings.Cache); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	update(func(c *schema.CacheSettings) { c.MaxBytes = 4 })
	if st, _ := e.caches.Stats(e.svcOf(t, "edge")); st.Files != 1 || st.Evicted != 1 {
		t.Fatalf("after lowering the bound: %+v", st)
	}
	update(func(c *schema.CacheSettings) { c.SourcePath = "elsewhere" })
	if st, _ := e.caches.Stats(e.svcOf(t, "edge")); st.Files != 0 {
		t.Fatalf("after changing the source: %+v", st)
	}
	if _, err := e.caches.Put(ctx, e.svcOf(t, "edge"), events.CachePut{Path: "c", Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteService(ctx, e.o, "edge"); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second)
	e.cacheService(t, "edge", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}})
	if st, _ := e.caches.Stats(e.svcOf(t, "edge")); st.Files != 0 {
		t.Fatalf("a re-created cache holds the old one's copies: %+v", st)
	}
}

// Copies survive a clean close; Sweep and Remove drop the directories of
// services that are no longer caches.
func TestCaches_Lifecycle(t *testing.T) {
	ctx := context.Background()
	e := newCacheEnv(t)
	e.cacheService(t, "edge", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}, Refresh: "never"})
	e.cacheService(t, "gone", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}})
	if _, err := e.put(ctx, "photos", "a", []byte("kept"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	e.want(t, "edge", "a", "kept", cache.StatusMiss)
	if _, err := e.caches.Put(ctx, e.svcOf(t, "gone"), events.CachePut{Path: "x", Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	if err := e.caches.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.get(t, "edge", "a"); !schema.IsKind(err, schema.KindUnavailable) {
		t.Fatalf("a closed Caches: %v", err)
	}
	if err := e.svc.DeleteService(ctx, e.o, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeleteObject(ctx, e.o, "photos", "a", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll(filepath.Join(e.dir, "photos"), 0o700) // a storage service's name
	e.caches = events.NewCaches(e.svc, events.CachesOptions{Dir: e.dir})
	if err := e.caches.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"edge": true, "gone": false, "photos": false} {
		if _, err := os.Stat(filepath.Join(e.dir, name)); (err == nil) != want {
			t.Errorf("directory %s exists: %v, want %v", name, err == nil, want)
		}
	}
	e.want(t, "edge", "a", "kept", cache.StatusHit) // from the copy: the source lost it since
	if err := e.caches.Remove("edge"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "edge")); !os.IsNotExist(err) {
		t.Errorf("Remove left the directory: %v", err)
	}
}

func TestCaches_ReadOnly(t *testing.T) {
	ctx := context.Background()
	e := newCacheEnv(t)
	e.cacheService(t, "edge", schema.CacheSettings{Source: schema.CacheSource{Service: "photos"}})
	if _, err := e.put(ctx, "photos", "a", []byte("bytes"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	ro := events.NewCore(e.log, e.blobs, e.state, nil, events.Options{ReadOnly: true})
	caches := events.NewCaches(ro, events.CachesOptions{}) // a temporary directory
	defer caches.Close()
	svc := e.svcOf(t, "edge")
	if res, err := caches.Get(ctx, svc, "a"); err != nil {
		t.Fatalf("a read-only server still reads through its caches: %v", err)
	} else {
		res.Body.Close()
	}
	_, perr := caches.Put(ctx, svc, events.CachePut{Path: "b", Body: bytes.NewReader(nil)})
	_, derr := caches.Delete(ctx, svc, "a", events.Conditions{})
	_, ferr := caches.Flush(ctx, e.o, svc)
	for name, err := range map[string]error{"put": perr, "delete": derr, "flush": ferr} {
		if !schema.IsKind(err, schema.KindForbidden) {
			t.Errorf("%s on a read-only server: %v", name, err)
		}
	}
}
