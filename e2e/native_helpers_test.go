package e2e

// Helpers for the native API tests (native_test.go, access_test.go,
// concurrency_test.go, paths_test.go). Every name starts with "nat" so it
// cannot collide with helpers of other e2e files.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/schema"
)

// natStartClock starts a server whose core runs on a test clock, with a
// reaper that looks for due expiries often (the reaper's ticker is real
// time; what is due is decided by the test clock).
func natStartClock(t *testing.T) (*Env, *testClock) {
	t.Helper()
	clk := newTestClock(time.Time{})
	e := StartLocal(t, "injects a clock", func(c *server.Config) {
		c.Clock = clk.Now
		c.ReapInterval = server.Duration(20 * time.Millisecond)
	})
	return e, clk
}

// natWant fails the test unless r has the status.
func natWant(t testing.TB, what string, r *Resp, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-Id header", what)
	}
}

// natWantErr fails the test unless r is a native error with the status and
// (when code is not "") the wire code, in exactly the documented shape
// {"error":{"code","message"},"request_id"}, with X-Request-Id equal to
// request_id.
func natWantErr(t testing.TB, what string, r *Resp, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &top); err != nil {
		t.Fatalf("%s: error body is not a JSON object: %v: %q", what, err, r.Body)
	}
	if len(top) != 2 || top["error"] == nil || top["request_id"] == nil {
		t.Errorf("%s: error body has members %v, want exactly error and request_id: %s", what, natMembers(top), r.Body)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(top["error"], &inner); err != nil || len(inner) != 2 || inner["code"] == nil || inner["message"] == nil {
		t.Errorf("%s: error member is not {code, message}: %s", what, r.Body)
	}
	var body schema.ErrorBody
	r.JSON(t, &body)
	if body.Error.Code == "" || body.Error.Message == "" || body.RequestID == "" {
		t.Errorf("%s: empty code, message or request_id: %s", what, r.Body)
	}
	if code != "" && body.Error.Code != code {
		t.Errorf("%s: code %q, want %q (%s)", what, body.Error.Code, code, body.Error.Message)
	}
	if got := r.Header.Get("X-Request-Id"); got != body.RequestID {
		t.Errorf("%s: X-Request-Id %q, request_id %q", what, got, body.RequestID)
	}
}

func natMembers(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// natHasMembers fails the test unless the JSON object raw has every member
// in names.
func natHasMembers(t testing.TB, what string, raw []byte, names ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: not a JSON object: %v: %s", what, err, raw)
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			t.Errorf("%s: no member %q in %s", what, n, raw)
		}
	}
}

// natPut uploads with PUT and returns the raw response.
func natPut(t testing.TB, e *Env, key, sid, path string, body []byte, hdr map[string]string) *Resp {
	t.Helper()
	return e.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: key, Query: Q("sid", sid, "path", path),
		Body: bytes.NewReader(body), Header: hdr})
}

// natGet calls getfile.
func natGet(t testing.TB, e *Env, key, sid, path string, q ...string) *Resp {
	t.Helper()
	return e.Do(t, Req{Fn: "getfile", Key: key, Query: Q(append([]string{"sid", sid, "path", path}, q...)...)})
}

// natList calls filelist with the parameters in kv and decodes the page.
func natList(t testing.TB, e *Env, key, sid string, kv ...string) schema.FileList {
	t.Helper()
	r := e.Do(t, Req{Fn: "filelist", Key: key, Query: Q(append([]string{"sid", sid}, kv...)...)})
	natWant(t, "filelist", r, http.StatusOK)
	natHasMembers(t, "filelist", r.Body, "files", "prefixes", "next")
	var p schema.FileList
	r.JSON(t, &p)
	if p.Files == nil || p.Prefixes == nil {
		t.Errorf("filelist: files or prefixes is null, want []: %s", r.Body)
	}
	return p
}

// natListAll pages through a listing with limit, following next, and
// returns every file and common prefix in the order received. It fails
// the test when a page with a cursor is empty or the paging does not end.
func natListAll(t testing.TB, e *Env, key, sid string, limit int, kv ...string) ([]schema.FileEntry, []string, []string) {
	t.Helper()
	var files []schema.FileEntry
	var prefixes, order []string
	after := ""
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatalf("filelist: paging does not end")
		}
		q := append([]string{"limit", strconv.Itoa(limit)}, kv...)
		if after != "" {
			q = append(q, "after", after)
		}
		p := natList(t, e, key, sid, q...)
		if n := len(p.Files) + len(p.Prefixes); n > limit {
			t.Fatalf("filelist: %d entries on a page with limit %d", n, limit)
		}
		files = append(files, p.Files...)
		prefixes = append(prefixes, p.Prefixes...)
		for _, f := range p.Files {
			order = append(order, f.Path)
		}
		order = append(order, p.Prefixes...)
		if p.Next == nil {
			return files, prefixes, order
		}
		if len(p.Files)+len(p.Prefixes) == 0 {
			t.Fatalf("filelist: empty page with next %q", *p.Next)
		}
		after = *p.Next
	}
}

// natVersions calls versionlist and decodes it.
func natVersions(t testing.TB, e *Env, key, sid, path string) []schema.VersionEntry {
	t.Helper()
	r := e.Do(t, Req{Fn: "versionlist", Key: key, Query: Q("sid", sid, "path", path)})
	natWant(t, "versionlist "+path, r, http.StatusOK)
	var out schema.VersionList
	r.JSON(t, &out)
	if out.Path != path {
		t.Errorf("versionlist: path %q, want %q", out.Path, path)
	}
	return out.Versions
}

// natSync calls syncnext with the parameters in kv.
func natSync(t testing.TB, e *Env, key, sid string, kv ...string) schema.SyncPage {
	t.Helper()
	r := e.Do(t, Req{Fn: "syncnext", Key: key, Query: Q(append([]string{"sid", sid}, kv...)...)})
	natWant(t, "syncnext", r, http.StatusOK)
	natHasMembers(t, "syncnext", r.Body, "updates", "last_sync_id")
	var p schema.SyncPage
	r.JSON(t, &p)
	if p.Updates == nil {
		t.Errorf("syncnext: updates is null, want []: %s", r.Body)
	}
	return p
}

// natServices calls servicelist and returns the services by id.
func natServices(t testing.TB, e *Env, key string) map[string]schema.ServiceEntry {
	t.Helper()
	r := e.Do(t, Req{Fn: "servicelist", Key: key})
	natWant(t, "servicelist", r, http.StatusOK)
	var out struct {
		Services []json.RawMessage `json:"services"`
	}
	r.JSON(t, &out)
	if out.Services == nil {
		t.Errorf("servicelist: services is null or missing: %s", r.Body)
	}
	m := map[string]schema.ServiceEntry{}
	for _, raw := range out.Services {
		natHasMembers(t, "servicelist entry", raw, "id", "name", "type", "replica", "access", "files", "bytes", "last_sync_id")
		var s schema.ServiceEntry
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		if _, dup := m[s.ID]; dup {
			t.Errorf("servicelist: %q listed twice", s.ID)
		}
		m[s.ID] = s
	}
	return m
}

func natf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
