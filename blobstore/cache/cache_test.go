package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// fakeSource serves files by path, each with a version; it counts its
// fetches and can hold them at a gate.
type fakeSource struct {
	mu      sync.Mutex
	files   map[string]string // path → content; the version is the content's length and first byte
	fail    error
	fetches []string // "path" or "path?version" for conditional ones
	gate    chan struct{}
	arrived chan struct{}
}

func newFakeSource(files map[string]string) *fakeSource {
	return &fakeSource{files: files}
}

func version(content string) string { return fmt.Sprintf("v%d-%.1s", len(content), content) }

func (s *fakeSource) Fetch(ctx context.Context, path string, have *Validators) (*Response, error) {
	s.mu.Lock()
	call := path
	if have != nil {
		call += "?" + have.Version
	}
	s.fetches = append(s.fetches, call)
	gate, arrived := s.gate, s.arrived
	s.mu.Unlock()
	if arrived != nil {
		arrived <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	content, ok := s.files[path]
	if !ok {
		return nil, schema.Errorf(schema.KindNotFound, "no such file")
	}
	v := version(content)
	if have != nil && have.Version == v {
		return &Response{NotModified: true}, nil
	}
	return &Response{Body: io.NopCloser(strings.NewReader(content)), ContentType: "text/plain", ID: v,
		Validators: Validators{Version: v}}, nil
}

func (s *fakeSource) set(path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if content == "" {
		delete(s.files, path)
	} else {
		s.files[path] = content
	}
}

func (s *fakeSource) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.fetches...)
}

type fixture struct {
	c   *Cache
	src *fakeSource
	clk *schematest.Clock
}

func newFixture(t *testing.T, set Settings, files map[string]string) *fixture {
	t.Helper()
	clk := schematest.NewClock(t0)
	src := newFakeSource(files)
	c := New(newStore(t, 0), src, set, Options{Clock: clk.Now, MaxObjectSize: 1 << 20})
	return &fixture{c: c, src: src, clk: clk}
}

// get serves path and returns the body and status, or the error.
func (f *fixture) get(t *testing.T, path string) (string, string, error) {
	t.Helper()
	res, err := f.c.Get(context.Background(), path)
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

func (f *fixture) want(t *testing.T, path, body, status string) {
	t.Helper()
	got, st, err := f.get(t, path)
	if err != nil || got != body || st != status {
		t.Fatalf("Get %s = %q %s %v, want %q %s", path, got, st, err, body, status)
	}
}

func (f *fixture) wantErr(t *testing.T, path string, kind schema.Kind) {
	t.Helper()
	if _, st, err := f.get(t, path); !schema.IsKind(err, kind) {
		t.Fatalf("Get %s = %s %v, want a %v error", path, st, err, kind)
	}
}

func (f *fixture) wantCalls(t *testing.T, want ...string) {
	t.Helper()
	if got := f.src.calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("source fetches %v, want %v", got, want)
	}
}

var hour = Settings{Refresh: time.Hour, NegativeTTL: time.Minute}

func TestCache_HitAndMiss(t *testing.T) {
	f := newFixture(t, hour, map[string]string{"a.txt": "hello"})
	f.want(t, "a.txt", "hello", StatusMiss)
	f.want(t, "a.txt", "hello", StatusHit)
	f.want(t, "a.txt", "hello", StatusHit)
	f.wantCalls(t, "a.txt")
	st := f.c.Stats()
	if st.Hits != 2 || st.Misses != 1 || st.Fetches != 1 || st.BytesFetched != 5 || st.BytesServed != 10 || st.Files != 1 || st.Bytes != 5 {
		t.Fatalf("stats %+v", st)
	}
	res, _ := f.c.Get(context.Background(), "a.txt")
	defer res.Body.Close()
	if e := res.Entry; e.ID != "v5-h" || e.ETag != "5d41402abc4b2a76b9719d911017c592" || e.ContentType != "text/plain" ||
		!e.Modified.Equal(t0) || e.Size != 5 {
		t.Fatalf("entry %+v", e)
	}
}

func TestCache_Refresh(t *testing.T) {
	t.Run("NotModified", func(t *testing.T) {
		f := newFixture(t, hour, map[string]string{"a": "one"})
		f.want(t, "a", "one", StatusMiss)
		f.clk.Advance(59 * time.Minute)
		f.want(t, "a", "one", StatusHit)
		f.clk.Advance(2 * time.Minute)
		f.want(t, "a", "one", StatusRevalidated)
		f.want(t, "a", "one", StatusHit) // fresh again for an hour
		f.wantCalls(t, "a", "a?v3-o")
		if st := f.c.Stats(); st.Revalidated != 1 || st.BytesFetched != 3 || st.Hits != 3 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("Changed", func(t *testing.T) {
		f := newFixture(t, hour, map[string]string{"a": "one"})
		f.want(t, "a", "one", StatusMiss)
		f.src.set("a", "second")
		f.want(t, "a", "one", StatusHit) // not due yet
		f.clk.Advance(time.Hour)
		f.want(t, "a", "second", StatusRefreshed)
		f.want(t, "a", "second", StatusHit)
		f.wantCalls(t, "a", "a?v3-o")
		if st := f.c.Stats(); st.Misses != 2 || st.Bytes != 6 || st.Files != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("Gone", func(t *testing.T) {
		f := newFixture(t, hour, map[string]string{"a": "one"})
		f.want(t, "a", "one", StatusMiss)
		f.src.set("a", "")
		f.clk.Advance(time.Hour)
		f.wantErr(t, "a", schema.KindNotFound)
		if st := f.c.Stats(); st.Files != 0 {
			t.Fatalf("the copy of a file the source lost is kept: %+v", st)
		}
	})
	t.Run("EveryTime", func(t *testing.T) {
		f := newFixture(t, Settings{}, map[string]string{"a": "one"})
		f.want(t, "a", "one", StatusMiss)
		f.want(t, "a", "one", StatusRevalidated)
		f.want(t, "a", "one", StatusRevalidated)
		f.wantCalls(t, "a", "a?v3-o", "a?v3-o")
	})
	t.Run("Never", func(t *testing.T) {
		f := newFixture(t, Settings{Refresh: -1}, map[string]string{"a": "one"})
		f.want(t, "a", "one", StatusMiss)
		f.clk.Advance(1000 * time.Hour)
		f.want(t, "a", "one", StatusHit)
		f.wantCalls(t, "a")
	})
}

func TestCache_Negative(t *testing.T) {
	t.Run("NotFound", func(t *testing.T) {
		f := newFixture(t, hour, map[string]string{})
		f.wantErr(t, "nope", schema.KindNotFound)
		f.wantErr(t, "nope", schema.KindNotFound)
		f.wantCalls(t, "nope")
		f.src.set("nope", "now it is")
		f.clk.Advance(59 * time.Second)
		f.wantErr(t, "nope", schema.KindNotFound)
		f.clk.Advance(time.Second)
		f.want(t, "nope", "now it is", StatusMiss)
		f.wantCalls(t, "nope", "nope")
		if st := f.c.Stats(); st.NegativeHits != 2 || st.Misses != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("NotRemembered", func(t *testing.T) {
		f := newFixture(t, Settings{Refresh: time.Hour}, map[string]string{})
		f.wantErr(t, "nope", schema.KindNotFound)
		f.wantErr(t, "nope", schema.KindNotFound)
		f.wantCalls(t, "nope", "nope")
	})
	t.Run("Failure", func(t *testing.T) {
		f := newFixture(t, hour, map[string]string{"a": "one"})
		f.src.fail = errors.New("connection refused")
		f.wantErr(t, "a", schema.KindUnavailable)
		f.wantErr(t, "a", schema.KindUnavailable)
		f.wantCalls(t, "a")
		f.src.fail = nil
		f.clk.Advance(time.Minute)
		f.want(t, "a", "one", StatusMiss)
	})
	t.Run("StaleOnFailure", func(t *testing.T) {
		f := newFixture(t, hour, map[string]string{"a": "one"})
		f.want(t, "a", "one", StatusMiss)
		f.clk.Advance(time.Hour)
		f.src.fail = schema.Errorf(schema.KindUnavailable, "the origin answered 503")
		f.want(t, "a", "one", StatusStale)
		f.want(t, "a", "one", StatusStale) // remembered: not asked again
		f.wantCalls(t, "a", "a?v3-o")
		f.src.fail = nil
		f.clk.Advance(time.Minute)
		f.want(t, "a", "one", StatusRevalidated)
	})
}

func TestCache_ExpireUnused(t *testing.T) {
	f := newFixture(t, Settings{Refresh: -1, ExpireUnused: 10 * time.Minute}, map[string]string{"a": "one", "b": "two"})
	f.want(t, "a", "one", StatusMiss)
	f.want(t, "b", "two", StatusMiss)
	for range 3 { // a stays in use, b does not
		f.clk.Advance(6 * time.Minute)
		f.want(t, "a", "one", StatusHit)
	}
	if p := f.c.List("", "", "", 10); len(p.Files) != 1 || p.Files[0].Path != "a" {
		t.Fatalf("listing %+v", p)
	}
	f.want(t, "b", "two", StatusMiss)
	if st := f.c.Stats(); st.Expired != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCache_Bound(t *testing.T) {
	f := newFixture(t, Settings{Refresh: -1, MaxBytes: 8}, map[string]string{"a": "aaaa", "b": "bbbb", "c": "cccc", "big": "123456789"})
	f.want(t, "a", "aaaa", StatusMiss)
	f.want(t, "b", "bbbb", StatusMiss)
	f.want(t, "a", "aaaa", StatusHit)
	f.want(t, "c", "cccc", StatusMiss) // evicts b
	f.want(t, "a", "aaaa", StatusHit)
	f.want(t, "b", "bbbb", StatusMiss)
	f.want(t, "big", "123456789", StatusMiss) // served, never kept
	f.want(t, "big", "123456789", StatusMiss)
	if st := f.c.Stats(); st.Evicted != 2 || st.Bytes > 8 {
		t.Fatalf("stats %+v", st)
	}
	f.c.Configure(f.src, Settings{Refresh: -1, MaxBytes: 4}, false)
	if st := f.c.Stats(); st.Files != 1 || st.Bytes != 4 {
		t.Fatalf("after lowering the bound: %+v", st)
	}
}

func TestCache_TooLarge(t *testing.T) {
	f := newFixture(t, hour, map[string]string{"huge": strings.Repeat("x", 1<<20+1)})
	f.wantErr(t, "huge", schema.KindTooLarge)
	f.wantErr(t, "huge", schema.KindTooLarge) // remembered
	f.wantCalls(t, "huge")
}

func TestCache_PutDeleteFlush(t *testing.T) {
	f := newFixture(t, Settings{Refresh: time.Hour, MaxBytes: 10, NegativeTTL: time.Minute}, map[string]string{"a": "src"})
	f.wantErr(t, "up", schema.KindNotFound)
	e, err := f.c.Put(PutInput{Path: "up", Body: strings.NewReader("mine"), Meta: map[string]string{"k": "v"}})
	if err != nil || !e.Uploaded || e.ETag != "918b81db5e91d031548b963c93845e5b" || e.Size != 4 || e.Meta["k"] != "v" {
		t.Fatalf("Put: %+v %v", e, err)
	}
	f.want(t, "up", "mine", StatusHit) // the remembered not-found is forgotten
	if _, err := f.c.Put(PutInput{Path: "x", Body: strings.NewReader("01234567890")}); !schema.IsKind(err, schema.KindTooLarge) {
		t.Fatalf("Put past the bound: %v", err)
	}
	conflict := schema.Errorf(schema.KindPreconditionFailed, "exists")
	if _, err := f.c.Put(PutInput{Path: "up", Body: strings.NewReader("x"), Check: func(cur *Entry) error {
		if cur != nil {
			return conflict
		}
		return nil
	}}); err != conflict {
		t.Fatalf("Put with a failing check: %v", err)
	}
	// an uploaded copy is re-checked with a full fetch when due
	f.clk.Advance(time.Hour)
	f.wantErr(t, "up", schema.KindNotFound)
	f.wantCalls(t, "up", "up")

	f.want(t, "a", "src", StatusMiss)
	if _, err := f.c.Delete("a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Delete("a", nil); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("Delete twice: %v", err)
	}
	f.want(t, "a", "src", StatusMiss)
	_, _ = f.c.Put(PutInput{Path: "b", Body: strings.NewReader("b")})
	if n := f.c.Flush(); n != 2 {
		t.Fatalf("Flush = %d, want 2", n)
	}
	if st := f.c.Stats(); st.Files != 0 || st.Bytes != 0 {
		t.Fatalf("after flush: %+v", st)
	}
}

func TestCache_Configure(t *testing.T) {
	f := newFixture(t, hour, map[string]string{"a": "one"})
	f.want(t, "a", "one", StatusMiss)
	f.c.Configure(f.src, Settings{Refresh: -1}, false)
	f.want(t, "a", "one", StatusHit)
	other := newFakeSource(map[string]string{"a": "elsewhere"})
	f.c.Configure(other, hour, true)
	f.want(t, "a", "elsewhere", StatusMiss)
}

// One fetch for any number of concurrent misses of a path; every request
// gets the bytes; a request that gives up while waiting gets its error
// and the others are not disturbed.
func TestCache_Herd(t *testing.T) {
	f := newFixture(t, hour, map[string]string{"hot": "popular bytes"})
	f.src.gate, f.src.arrived = make(chan struct{}), make(chan struct{}, 1)
	const n = 100
	var wg sync.WaitGroup
	results := make(chan string, n)
	cancelled, cancel := context.WithCancel(context.Background())
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%10 == 9 {
				ctx = cancelled
			}
			res, err := f.c.Get(ctx, "hot")
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			results <- string(b)
		}()
	}
	<-f.src.arrived                                             // the one fetch is in flight
	waitFor(t, func() bool { return f.c.Stats().Waiting == n }) // all joined the one fetch
	cancel()
	close(f.src.gate)
	wg.Wait()
	close(results)
	ok, gaveUp := 0, 0
	for r := range results {
		switch {
		case r == "popular bytes":
			ok++
		case strings.Contains(r, "context canceled"):
			gaveUp++
		default:
			t.Errorf("a request got %q", r)
		}
	}
	f.wantCalls(t, "hot")
	if ok+gaveUp != n || ok < n-10 {
		t.Fatalf("%d served, %d gave up", ok, gaveUp)
	}
	f.want(t, "hot", "popular bytes", StatusHit)
	if st := f.c.Stats(); st.Waiting != 0 || st.Misses != n || st.Fetches != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A fill in flight when the cache is flushed serves its requests but does
// not keep the copy: it may be what the flush meant to drop.
func TestCache_FlushDuringFill(t *testing.T) {
	f := newFixture(t, hour, map[string]string{"a": "old"})
	f.src.gate, f.src.arrived = make(chan struct{}), make(chan struct{}, 1)
	done := make(chan string)
	go func() {
		b, _, err := f.get(t, "a")
		if err != nil {
			b = err.Error()
		}
		done <- b
	}()
	<-f.src.arrived
	f.c.Flush()
	close(f.src.gate)
	if got := <-done; got != "old" {
		t.Fatalf("the waiting request got %q", got)
	}
	if st := f.c.Stats(); st.Files != 0 {
		t.Fatalf("the fill outlived the flush: %+v", st)
	}
}

// waitFor polls cond until it holds (10 s at most): the herd's waiters
// register in the flight as they arrive.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		runtime.Gosched()
	}
}
