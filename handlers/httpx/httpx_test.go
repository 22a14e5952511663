package httpx

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		header             string
		size               int64
		valid, satisfiable bool
	}{
		{"", 10, false, false},
		{"bytes=0-4", 10, true, true},
		{"bytes=5-", 10, true, true},
		{"bytes=-3", 10, true, true},
		{"bytes=0-0,8-9", 10, true, true},
		{"bytes=10-", 10, true, false},
		{"bytes=20-30", 10, true, false},
		{"bytes=-0", 10, true, false},
		{"bytes=-5", 0, true, false},
		{"bytes=abc-", 10, false, false},
		{"bytes=3-1", 10, false, false},
		{"items=0-1", 10, false, false},
		{"bytes=", 10, false, false},
		{"bytes=1", 10, false, false},
		{"bytes=20-30,x", 10, false, false},
	} {
		valid, sat := ParseRange(c.header, c.size)
		if valid != c.valid || sat != c.satisfiable {
			t.Errorf("ParseRange(%q, %d) = %v, %v; want %v, %v", c.header, c.size, valid, sat, c.valid, c.satisfiable)
		}
	}
}

func TestPrecondition(t *testing.T) {
	mod := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"none", nil, 0},
		{"if-match same", map[string]string{"If-Match": `"abc"`}, 0},
		{"if-match star", map[string]string{"If-Match": `*`}, 0},
		{"if-match list", map[string]string{"If-Match": `"x", "abc"`}, 0},
		{"if-match other", map[string]string{"If-Match": `"x"`}, http.StatusPreconditionFailed},
		{"if-match weak never matches", map[string]string{"If-Match": `W/"abc"`}, http.StatusPreconditionFailed},
		{"if-none-match same", map[string]string{"If-None-Match": `"abc"`}, http.StatusNotModified},
		{"if-none-match weak", map[string]string{"If-None-Match": `W/"abc"`}, http.StatusNotModified},
		{"if-none-match other", map[string]string{"If-None-Match": `"x"`}, 0},
		{"if-modified-since later", map[string]string{"If-Modified-Since": mod.Add(time.Hour).Format(http.TimeFormat)}, http.StatusNotModified},
		{"if-modified-since earlier", map[string]string{"If-Modified-Since": mod.Add(-time.Hour).Format(http.TimeFormat)}, 0},
		{"if-none-match wins over if-modified-since", map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": mod.Add(time.Hour).Format(http.TimeFormat)}, 0},
		{"if-unmodified-since earlier", map[string]string{"If-Unmodified-Since": mod.Add(-time.Hour).Format(http.TimeFormat)}, http.StatusPreconditionFailed},
		{"if-match wins over if-unmodified-since", map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": mod.Add(-time.Hour).Format(http.TimeFormat)}, 0},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		if got := Precondition(r, "abc", mod); got != c.want {
			t.Errorf("%s: Precondition = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestSingleRange(t *testing.T) {
	cases := []struct {
		header        string
		start, length int64
		ok            bool
	}{
		{"bytes=0-4", 0, 5, true},
		{"bytes=10-", 10, 5, true},
		{"bytes=-5", 10, 5, true},
		{"bytes=-100", 0, 15, true},  // a suffix longer than the object: all of it
		{"bytes=3-100", 3, 12, true}, // clamped to the end
		{"bytes=0-1,3-4", 0, 0, false},
		{"bytes=20-30", 0, 0, false},
		{"bytes=5-2", 0, 0, false},
		{"items=0-4", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		s, n, ok := SingleRange(c.header, 15)
		if ok != c.ok || (ok && (s != c.start || n != c.length)) {
			t.Errorf("SingleRange(%q, 15) = %d, %d, %v; want %d, %d, %v", c.header, s, n, ok, c.start, c.length, c.ok)
		}
	}
}

func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		header string
		valid  bool
		want   []ByteRange
	}{
		{"", false, nil},
		{"bytes=0-0", true, []ByteRange{{0, 1}}},
		{"bytes=0-1,5-", true, []ByteRange{{0, 2}, {5, 5}}},
		{"bytes=-3", true, []ByteRange{{7, 3}}},
		{"bytes=-30", true, []ByteRange{{0, 10}}},
		{"bytes=8-20", true, []ByteRange{{8, 2}}},
		{"bytes=10-20", true, nil},
		{"bytes=10-20,2-2", true, []ByteRange{{2, 1}}},
		{"bytes=5-2", false, nil},
		{"items=0-1", false, nil},
	} {
		got, valid := Ranges(tc.header, 10)
		if valid != tc.valid || !slices.Equal(got, tc.want) {
			t.Errorf("Ranges(%q, 10) = %v, %v; want %v, %v", tc.header, got, valid, tc.want, tc.valid)
		}
	}
	if got := (ByteRange{2, 3}).ContentRange(10); got != "bytes 2-4/10" {
		t.Errorf("ContentRange = %q", got)
	}
}

// countingBody counts the bytes read from it.
type countingBody struct {
	r io.Reader
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}
func (b *countingBody) Close() error { return nil }

// An error answered before the body was read leaves the body drained (up
// to drainRefusedMax) for a client that sends it without waiting for 100
// Continue; a success, an Expect: 100-continue request or a body declared
// too large is left alone.
func TestMiddleware_DrainsRefusedBodies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		size    int64
		expect  bool
		drained bool
	}{
		{"507 of 1 MiB", http.StatusInsufficientStorage, 1 << 20, false, true},
		{"413 at the cap", http.StatusRequestEntityTooLarge, drainRefusedMax, false, true},
		{"401 chunked", http.StatusUnauthorized, -1, false, true},
		{"over the cap", http.StatusInsufficientStorage, drainRefusedMax + 1, false, false},
		{"expect 100-continue", http.StatusInsufficientStorage, 1 << 20, true, false},
		{"a success", http.StatusCreated, 1 << 20, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.size
			if n < 0 {
				n = 3 << 20
			}
			body := &countingBody{r: io.LimitReader(zeros{}, n)}
			r := httptest.NewRequest(http.MethodPut, "/x", nil)
			r.Body, r.ContentLength = body, tc.size
			if tc.expect {
				r.Header.Set("Expect", "100-continue")
			}
			h := Middleware(slog.New(slog.DiscardHandler), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
			}))
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got := body.n == n; got != tc.drained {
				t.Fatalf("read %d of %d bytes; want drained %v", body.n, n, tc.drained)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
