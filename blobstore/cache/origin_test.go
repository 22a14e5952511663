package cache

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

func TestOrigin_URL(t *testing.T) {
	for _, c := range []struct{ base, pre, path, want string }{
		{"http://o/base", "", "a/b.txt", "http://o/base/a/b.txt"},
		{"http://o/base/", "/static/v2/", "a b/c?d#e%f", "http://o/base/static/v2/a%20b/c%3Fd%23e%25f"},
		{"https://o", "x y", "ü", "https://o/x%20y/%C3%BC"},
		{"http://o", "", "/lead", "http://o//lead"},
	} {
		o, err := NewOrigin(nil, c.base, c.pre)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.URL(c.path); got != c.want {
			t.Errorf("URL(%q, %q, %q) = %q, want %q", c.base, c.pre, c.path, got, c.want)
		}
	}
	for _, bad := range []string{"ftp://o/x", "/relative", "http://"} {
		if _, err := NewOrigin(nil, bad, ""); err == nil {
			t.Errorf("NewOrigin(%q) succeeded", bad)
		}
	}
}

func TestOrigin_Fetch(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		switch r.URL.EscapedPath() {
		case "/base/pre/a%20file":
			if r.Header.Get("If-None-Match") == `"e1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"e1"`)
			w.Header().Set("Last-Modified", "Fri, 01 May 2026 10:00:00 GMT")
			w.Header().Set("Content-Type", "text/x-test")
			_, _ = io.WriteString(w, "content")
		case "/base/pre/gone":
			w.WriteHeader(http.StatusGone)
		case "/base/pre/broken":
			w.WriteHeader(http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	o, err := NewOrigin(srv.Client(), srv.URL+"/base", "pre")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := o.Fetch(ctx, "a file", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "content" || resp.ContentType != "text/x-test" || !resp.Modified.Equal(t0) ||
		resp.Validators != (Validators{ETag: `"e1"`, LastModified: "Fri, 01 May 2026 10:00:00 GMT"}) || resp.ETag != "" {
		t.Fatalf("200: %q %+v", body, resp)
	}
	resp, err = o.Fetch(ctx, "a file", &resp.Validators)
	if err != nil || !resp.NotModified || resp.Body != nil {
		t.Fatalf("conditional: %+v %v", resp, err)
	}
	mu.Lock()
	last := seen[len(seen)-1]
	mu.Unlock()
	if last.Header.Get("If-None-Match") != `"e1"` || last.Header.Get("If-Modified-Since") != "Fri, 01 May 2026 10:00:00 GMT" ||
		last.Header.Get("User-Agent") != "cairn-cache" {
		t.Errorf("conditional request headers: %v", last.Header)
	}
	for path, kind := range map[string]schema.Kind{"missing": schema.KindNotFound, "gone": schema.KindNotFound,
		"broken": schema.KindUnavailable} {
		if _, err := o.Fetch(ctx, path, nil); !schema.IsKind(err, kind) {
			t.Errorf("%s: %v, want %v", path, err, kind)
		}
	}
	srv.Close()
	if _, err := o.Fetch(ctx, "a file", nil); !schema.IsKind(err, schema.KindUnavailable) {
		t.Errorf("a closed origin: %v", err)
	}
}

// An origin that answers 304 to a request without validators is broken;
// the cache must not take that as a confirmation.
func TestOrigin_UnconditionalNotModified(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	}))
	defer srv.Close()
	o, _ := NewOrigin(DefaultClient(), srv.URL, "")
	if _, err := o.Fetch(context.Background(), "x", nil); !schema.IsKind(err, schema.KindUnavailable) {
		t.Fatalf("304 without validators: %v", err)
	}
}
