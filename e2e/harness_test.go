package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
)

// Env is one running in-process server.
type Env struct {
	URL        string
	AdminKeyID string
	AdminKey   string
	Dir        string
	Srv        *server.Server
	Client     *http.Client
	Config     server.Config
}

// Start runs a complete server on 127.0.0.1 with its data in a fresh
// temporary directory; it is closed when the test ends. edit may change the
// configuration before it starts.
func Start(t testing.TB, edit ...func(*server.Config)) *Env {
	t.Helper()
	dir := t.TempDir()
	cfg := server.Default()
	cfg.Data = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Name = fmt.Sprintf("e2e-%d", serverNo.Add(1))
	for _, fn := range edit {
		fn(&cfg)
	}
	return startIn(t, cfg)
}

var serverNo atomic.Int64

func startIn(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := server.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close(context.Background())
		t.Fatalf("Listen: %v", err)
	}
	go srv.Serve()
	e := &Env{URL: srv.URL(), AdminKeyID: srv.AdminKeyID, AdminKey: srv.AdminKey, Dir: cfg.Data, Srv: srv,
		Client: &http.Client{Timeout: 90 * time.Second}, Config: cfg}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("server.Close: %v", err)
		}
	})
	return e
}

// Restart shuts the server down in order and starts it again on the same
// data directory (on a new port); e is updated in place.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatalf("server.Close: %v", err)
	}
	*e = *startIn(t, e.Config)
}

// Resp is a response read whole.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Resp) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response (%d) is not JSON: %v: %q", r.Status, err, r.Body)
	}
}

// ErrorCode returns error.code of a native error body ("" if none).
func (r *Resp) ErrorCode() string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(r.Body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// Req describes one native API request.
type Req struct {
	Method string
	Fn     string     // function name: "getfile", ...
	Key    string     // x-owncdn-key value ("" sends none)
	Query  url.Values // query parameters
	Body   io.Reader
	Header map[string]string
}

// Do sends a native request and reads the whole response, failing the
// test on a transport error.
func (e *Env) Do(t testing.TB, r Req) *Resp {
	t.Helper()
	resp, err := e.Send(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Fn, err)
	}
	return resp
}

// Send is Do for goroutines: it returns the transport error instead of
// failing the test.
func (e *Env) Send(r Req) (*Resp, error) {
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	u := e.URL + "/" + r.Fn
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequest(r.Method, u, r.Body)
	if err != nil {
		return nil, err
	}
	if r.Key != "" {
		req.Header.Set("x-owncdn-key", r.Key)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Admin calls an admin function with the admin key and a JSON body, and
// fails the test unless the status is want.
func (e *Env) Admin(t testing.TB, fn string, body any, want int) *Resp {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, Req{Method: http.MethodPost, Fn: fn, Key: e.AdminKey, Body: bytes.NewReader(b)})
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d: %s", fn, r.Status, want, r.Body)
	}
	return r
}

var serviceNo atomic.Int64

// uniqueName is a service (bucket) name for t: the prefix, a number unique
// in this test binary and t's name in lower case, [a-z0-9-] only.
func uniqueName(t testing.TB, prefix string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	return strings.Trim(fmt.Sprintf("%s%d-%s", prefix, serviceNo.Add(1), name), "-.")
}

// WithService creates a fresh storage service and returns its id.
func (e *Env) WithService(t testing.TB) string {
	t.Helper()
	sid := uniqueName(t, "t")
	e.Admin(t, "servicecreate", map[string]any{"id": sid}, http.StatusCreated)
	return sid
}

// Key is a created API key.
type Key struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// NewKey creates a key with the given access map ({"sid": "read"}, ...).
func (e *Env) NewKey(t testing.TB, access map[string]string) Key {
	t.Helper()
	var k Key
	e.Admin(t, "keycreate", map[string]any{"name": t.Name(), "access": access}, http.StatusCreated).JSON(t, &k)
	if k.ID == "" || k.Value == "" {
		t.Fatalf("keycreate returned no id or value")
	}
	return k
}

// Upload puts body at path and returns the parsed 201 answer.
func (e *Env) Upload(t testing.TB, key, sid, path string, body []byte, hdr map[string]string) UploadResult {
	t.Helper()
	r := e.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: key,
		Query: url.Values{"sid": {sid}, "path": {path}}, Body: bytes.NewReader(body), Header: hdr})
	if r.Status != http.StatusCreated {
		t.Fatalf("uploadfile %q: status %d: %s", path, r.Status, r.Body)
	}
	var u UploadResult
	r.JSON(t, &u)
	return u
}

// UploadResult is uploadfile's answer.
type UploadResult struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Size    int64  `json:"size"`
	ETag    string `json:"etag"`
	SyncID  uint64 `json:"sync_id"`
}

// Q builds query values from pairs: Q("sid", sid, "path", p).
func Q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}
