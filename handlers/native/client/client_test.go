package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/handlers/native/client"
	"github.com/cairnhq/cairn/schema"
)

const testKey = "the-key-value"

// fakeServer answers the native functions from routes (keyed by function
// name) and records every request it saw.
type fakeServer struct {
	t      *testing.T
	routes map[string]http.HandlerFunc
	seen   []*http.Request
	bodies []string
}

func newFake(t *testing.T, routes map[string]http.HandlerFunc) (*fakeServer, *client.Client) {
	f := &fakeServer{t: t, routes: routes}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.seen = append(f.seen, r)
		f.bodies = append(f.bodies, string(b))
		if got := r.Header.Get(schema.KeyHeader); got != testKey {
			writeErr(w, http.StatusUnauthorized, schema.CodeUnauthorized, "no key")
			return
		}
		h, ok := f.routes[strings.Trim(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(ts.Close)
	return f, client.New(ts.URL+"/", testKey, ts.Client())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, schema.ErrorBody{Error: schema.ErrorDetail{Code: code, Message: msg}, RequestID: "req-1"})
}

func TestClient_ServiceList(t *testing.T) {
	want := []schema.ServiceEntry{{ID: "a", Name: "A", Type: "storage", Access: "write", Files: 2, Bytes: 10, LastSyncID: 7,
		Replica: &schema.ReplicaEntry{Source: "p", SID: "b", Behind: 3}}}
	f, c := newFake(t, map[string]http.HandlerFunc{
		"servicelist": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"services": want})
		},
	})
	got, err := c.ServiceList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("services %+v, want %+v", got, want)
	}
	if r := f.seen[0]; r.Method != http.MethodGet || r.URL.RawQuery != "" {
		t.Errorf("request %s %s", r.Method, r.URL)
	}
}

func TestClient_EachFile_Pages(t *testing.T) {
	all := []schema.FileEntry{{Path: "a", Size: 1, Version: "v1"}, {Path: "b", Size: 2, Version: "v2"}, {Path: "c", Size: 3, Version: "v3"}}
	f, c := newFake(t, map[string]http.HandlerFunc{
		"filelist": func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("sid") != "s1" || q.Get("limit") != "2" || q.Get("asof") != "sync:9" {
				writeErr(w, http.StatusBadRequest, schema.CodeInvalidArgument, "bad query "+q.Encode())
				return
			}
			start := 0
			for start < len(all) && q.Get("after") != "" && all[start].Path <= q.Get("after") {
				start++
			}
			end := min(start+2, len(all))
			page := schema.FileList{Files: all[start:end], Prefixes: []string{}}
			if end < len(all) {
				next := all[end-1].Path
				page.Next = &next
			}
			writeJSON(w, http.StatusOK, page)
		},
	})
	var got []schema.FileEntry
	err := c.EachFile(context.Background(), "s1", schema.FileListQuery{Limit: 2, AsOf: "sync:9"}, func(e schema.FileEntry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, all) {
		t.Errorf("files %+v, want %+v", got, all)
	}
	if len(f.seen) != 2 || f.seen[1].URL.Query().Get("after") != "b" {
		t.Errorf("%d requests; the second's after %q, want b", len(f.seen), f.seen[len(f.seen)-1].URL.Query().Get("after"))
	}
	stop := errors.New("stop")
	if err := c.EachFile(context.Background(), "s1", schema.FileListQuery{Limit: 2, AsOf: "sync:9"}, func(schema.FileEntry) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("EachFile with a failing fn: %v, want its error", err)
	}
}

func TestClient_SyncNext(t *testing.T) {
	f, c := newFake(t, map[string]http.HandlerFunc{
		"syncnext": func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("after") == "1" {
				writeErr(w, http.StatusGone, schema.CodeHistoryTruncated, "history before sync id 5 is no longer kept")
				return
			}
			writeJSON(w, http.StatusOK, schema.SyncPage{LastSyncID: 12, Updates: []schema.Update{
				{SyncID: 11, Time: "2026-01-02T03:04:05.5Z", Op: schema.OpPut, Path: "x", Version: "v", Size: 4,
					Segments: []schema.UpdateSegment{{Service: "s", Path: "seg", SHA256: "ab"}}},
			}})
		},
	})
	ctx := context.Background()
	p, err := c.SyncNext(ctx, "s1", 10, 500, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.LastSyncID != 12 || len(p.Updates) != 1 || p.Updates[0].Path != "x" || p.Updates[0].Segments[0].SHA256 != "ab" {
		t.Errorf("page %+v", p)
	}
	if q := f.seen[0].URL.Query(); q.Get("sid") != "s1" || q.Get("after") != "10" || q.Get("limit") != "500" || q.Get("wait") != "30" {
		t.Errorf("query %s", f.seen[0].URL.RawQuery)
	}
	_, err = c.SyncNext(ctx, "s1", 1, 1, 0)
	if !schema.IsKind(err, schema.KindHistoryTruncated) {
		t.Fatalf("truncated history: %v (kind %v), want KindHistoryTruncated", err, schema.KindOf(err))
	}
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusGone || ce.Code != schema.CodeHistoryTruncated || ce.RequestID != "req-1" {
		t.Errorf("error %+v", ce)
	}
	if want := "410 Gone: history before sync id 5 is no longer kept (history_truncated)"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if schema.MessageOf(err) != "history before sync id 5 is no longer kept" {
		t.Errorf("schema message %q", schema.MessageOf(err))
	}
	if q := f.seen[1].URL.Query(); q.Has("wait") {
		t.Errorf("no wait asked, but the query has one: %s", f.seen[1].URL.RawQuery)
	}
}

func TestClient_GetUploadDelete(t *testing.T) {
	f, c := newFake(t, map[string]http.HandlerFunc{
		"getfile": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "bytes of "+r.URL.Query().Get("version"))
		},
		"uploadfile": func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPut {
				writeErr(w, http.StatusMethodNotAllowed, schema.CodeMethodNotAllowed, "put")
				return
			}
			if r.Header.Get("If-None-Match") == "*" {
				writeErr(w, http.StatusConflict, schema.CodePreconditionFailed, "the file exists")
				return
			}
			writeJSON(w, http.StatusCreated, schema.Uploaded{Path: r.URL.Query().Get("path"), Version: "v9", Size: 5, ETag: "e", SyncID: 3})
		},
		"deletefile": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, schema.Deleted{Path: r.URL.Query().Get("path"), Version: "d1", SyncID: 4})
		},
	})
	ctx := context.Background()
	resp, err := c.GetFile(ctx, "s1", "a b", "v1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "bytes of v1" || f.seen[0].URL.Query().Get("path") != "a b" {
		t.Errorf("getfile: %q, query %s", b, f.seen[0].URL.RawQuery)
	}
	u, err := c.UploadFile(ctx, "s1", "a.txt", strings.NewReader("hello"), client.UploadOptions{ContentType: "text/plain", Meta: map[string]string{"color": "red"}})
	if err != nil {
		t.Fatal(err)
	}
	if *u != (schema.Uploaded{Path: "a.txt", Version: "v9", Size: 5, ETag: "e", SyncID: 3}) {
		t.Errorf("uploaded %+v", u)
	}
	if r := f.seen[1]; r.Header.Get("Content-Type") != "text/plain" || r.Header.Get("X-Owncdn-Meta-Color") != "red" || f.bodies[1] != "hello" {
		t.Errorf("upload request: headers %v, body %q", r.Header, f.bodies[1])
	}
	if _, err := c.UploadFile(ctx, "s1", "a.txt", strings.NewReader("x"), client.UploadOptions{IfNoneMatch: "*"}); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Errorf("conditional upload: %v, want KindPreconditionFailed", err)
	}
	d, err := c.DeleteFile(ctx, "s1", "a.txt")
	if err != nil || *d != (schema.Deleted{Path: "a.txt", Version: "d1", SyncID: 4}) {
		t.Errorf("deletefile: %+v, %v", d, err)
	}
}

func TestClient_CallAndErrors(t *testing.T) {
	f, c := newFake(t, map[string]http.HandlerFunc{
		"keycreate": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusCreated, map[string]string{"id": "K1"})
		},
		"plain": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "nope", http.StatusForbidden)
		},
	})
	ctx := context.Background()
	raw, err := c.Call(ctx, http.MethodPost, "keycreate", map[string]any{"name": "n"})
	if err != nil || strings.TrimSpace(string(raw)) != `{"id":"K1"}` {
		t.Fatalf("Call: %s, %v", raw, err)
	}
	if r := f.seen[0]; r.Header.Get("Content-Type") != "application/json" || f.bodies[0] != `{"name":"n"}` {
		t.Errorf("Call request: %v %q", r.Header, f.bodies[0])
	}
	// A body that is not a native error: the status says the kind.
	_, err = c.Call(ctx, http.MethodGet, "plain", nil)
	if !schema.IsKind(err, schema.KindForbidden) || err.Error() != "403 Forbidden" {
		t.Errorf("plain 403: %v (kind %v)", err, schema.KindOf(err))
	}
	// A wrong key: the server's unauthorized answer.
	other := client.New(c.URL(), "wrong", nil)
	if _, err := other.ServiceList(ctx); !schema.IsKind(err, schema.KindUnauthorized) {
		t.Errorf("wrong key: %v", err)
	}
}

func TestClient_Events(t *testing.T) {
	since := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	f, c := newFake(t, map[string]http.HandlerFunc{
		"events": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"events":[{"seq":4,"type":"object.put.v1"}],"last":9}`+"\n")
		},
	})
	p, err := c.Events(context.Background(), client.FeedQuery{SID: "s1", Type: "object.put.v1", After: 3, Since: since, Limit: 1000, Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if p.Last != 9 || len(p.Events) != 1 || string(p.Events[0]) != `{"seq":4,"type":"object.put.v1"}` {
		t.Errorf("page %+v", p)
	}
	want := url.Values{"sid": {"s1"}, "type": {"object.put.v1"}, "after": {"3"}, "since": {"2026-05-01T10:00:00Z"},
		"limit": {"1000"}, "wait": {"60"}}
	if got := f.seen[0].URL.Query(); !reflect.DeepEqual(got, want) {
		t.Errorf("query %v, want %v", got, want)
	}
}
