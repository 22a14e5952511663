package native

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// callFunc is TestOpenAPI_Responses' call: one request, its answer checked
// against the document and the wanted status.
type callFunc func(method, fn, key string, q url.Values, body any, hdr map[string]string, want int) *answer

// cacheCalls exercises the functions on cache services (an HTTP origin
// and the storage service "photos" as sources) for TestOpenAPI_Responses,
// so their answers are validated against the document too.
func cacheCalls(t *testing.T, call callFunc, admin, rw string) {
	t.Helper()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/static/hello.txt" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("If-None-Match") == `"o1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"o1"`)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello from the origin")
	}))
	defer origin.Close()
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	get, head, post := http.MethodGet, http.MethodHead, http.MethodPost

	a := call(post, "servicecreate", admin, nil, map[string]any{"id": "edge", "type": "cache",
		"source": map[string]string{"url": origin.URL + "/static"}, "refresh": "0s", "max_bytes": 1 << 20}, nil, http.StatusCreated)
	var created struct {
		Cache struct {
			Settings map[string]any `json:"settings"`
		} `json:"cache"`
	}
	_ = json.Unmarshal(a.body, &created)
	if s := created.Cache.Settings; s["refresh"] != "0s" || s["negative_ttl"] != "1m" {
		t.Errorf("servicecreate of a cache: %s", a.body)
	}
	call(post, "servicecreate", admin, nil, map[string]any{"id": "edge-q", "type": "cache",
		"source": map[string]string{"url": origin.URL}, "quota_bytes": 10}, nil, http.StatusBadRequest)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "edge2", "type": "cache",
		"source": map[string]string{"service": "photos"}}, nil, http.StatusCreated)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "edge3", "type": "cache",
		"source": map[string]string{"service": "photos", "url": origin.URL}}, nil, http.StatusBadRequest)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "edge", "negative_ttl": "30s", "expire_unused": "24h"}, nil, http.StatusOK)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "edge", "keep_versions": "720h"}, nil, http.StatusBadRequest)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "photos", "max_bytes": 10}, nil, http.StatusBadRequest)

	if a := call(get, "getfile", rw, q("sid", "edge", "path", "hello.txt"), nil, nil, http.StatusOK); string(a.body) != "hello from the origin" ||
		a.header.Get("X-Cache") != "miss" {
		t.Errorf("getfile miss: %s %v", a.body, a.header)
	}
	a = call(get, "getfile", rw, q("sid", "edge", "path", "hello.txt"), nil, nil, http.StatusOK)
	if a.header.Get("X-Cache") != "revalidated" { // refresh 0s: re-checked every time
		t.Errorf("getfile again: X-Cache %q", a.header.Get("X-Cache"))
	}
	call(get, "getfile", rw, q("sid", "edge", "path", "hello.txt"), nil, map[string]string{"If-None-Match": a.header.Get("ETag")}, http.StatusNotModified)
	call(get, "getfile", rw, q("sid", "edge", "path", "hello.txt"), nil, map[string]string{"Range": "bytes=0-4"}, http.StatusPartialContent)
	call(head, "getfile", rw, q("sid", "edge", "path", "hello.txt"), nil, nil, http.StatusOK)
	call(get, "getfile", rw, q("sid", "edge", "path", "missing"), nil, nil, http.StatusNotFound)
	call(get, "getfile", rw, q("sid", "edge", "path", "hello.txt", "version", "01J0"), nil, nil, http.StatusBadRequest)
	call(get, "getfile", rw, q("sid", "edge", "path", "hello.txt", "asof", "sync:1"), nil, nil, http.StatusBadRequest)
	call(get, "getfile", rw, q("sid", "edge2", "path", "big.bin"), nil, nil, http.StatusOK)
	call(get, "filelist", rw, q("sid", "edge", "prefix", "h", "limit", "1"), nil, nil, http.StatusOK)
	call(get, "filelist", rw, q("sid", "edge", "asof", "sync:1"), nil, nil, http.StatusBadRequest)

	call(http.MethodPut, "uploadfile", rw, q("sid", "edge", "path", "up.txt"), []byte("pushed"),
		map[string]string{"x-owncdn-meta-color": "red"}, http.StatusCreated)
	call(http.MethodPut, "uploadfile", rw, q("sid", "edge", "path", "up.txt"), []byte("again"), map[string]string{"If-None-Match": "*"}, http.StatusConflict)
	call(http.MethodPut, "uploadfile", rw, q("sid", "edge", "path", "x"), []byte("x"), map[string]string{"x-owncdn-delete-after": "60"}, http.StatusBadRequest)
	call(http.MethodDelete, "deletefile", rw, q("sid", "edge", "path", "up.txt"), nil, nil, http.StatusOK)
	call(http.MethodDelete, "deletefile", rw, q("sid", "edge", "path", "up.txt"), nil, nil, http.StatusNotFound)
	call(get, "versionlist", rw, q("sid", "edge", "path", "hello.txt"), nil, nil, http.StatusMethodNotAllowed)
	call(get, "syncnext", rw, q("sid", "edge"), nil, nil, http.StatusMethodNotAllowed)
	if a := call(get, "servicelist", admin, nil, nil, nil, http.StatusOK); !strings.Contains(string(a.body), `"misses":1`) ||
		!strings.Contains(string(a.body), origin.URL) {
		t.Errorf("servicelist: %s", a.body)
	}
	if a := call(get, "servicelist", rw, nil, nil, nil, http.StatusOK); strings.Contains(string(a.body), origin.URL) {
		t.Errorf("servicelist shows a cache's source to a key that is not an admin: %s", a.body)
	}
	if a := call(post, "flush", rw, q("sid", "edge"), nil, nil, http.StatusOK); strings.TrimSpace(string(a.body)) != `{"flushed":1}` {
		t.Errorf("flush: %s", a.body)
	}
	call(post, "servicedelete", admin, nil, map[string]any{"id": "edge2"}, nil, http.StatusOK)
}
