package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events/datadir"
)

// rbKeys are the keys of the workload.
type rbKeys struct {
	writer, reader, revoked, acme Key
}

// TestRebuild_IdenticalToLive drives a varied workload through the HTTP API
// (accounts, services, keys, puts inline and through the blobstore,
// overwrites, deletes, conditional writes, expiry by an injected clock,
// a service delete), then requires that
//
//   - an offline rebuild (datadir.Rebuild, what `cairn rebuild` runs) gives
//     the live projections' digest, reports its progress with the right
//     total, and the server serves the same answers from it;
//   - deleting projections.db and restarting replays the whole log into the
//     same digest and the same answers.
func TestRebuild_IdenticalToLive(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC))
	// No checkpoint at shutdown: the test compares the live projections
	// with a rebuild of exactly the log they had folded
	// (TestShutdown_SignsCheckpoint covers that checkpoint).
	e := Start(t, func(c *server.Config) { c.Clock = clock.Now; c.CheckpointOnStop = false })
	keys := rbWorkload(t, e, clock)

	last, liveDigest := e.Settled(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	want := rbSnapshot(t, e, keys)

	// 1. Offline rebuild of the stopped server's data directory.
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var mu sync.Mutex
	var calls [][2]uint64
	st, err := datadir.Rebuild(ctx, e.Dir, func(applied, total uint64) {
		mu.Lock()
		calls = append(calls, [2]uint64{applied, total})
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if st.Events != last {
		t.Errorf("Rebuild reports %d events, the log holds %d", st.Events, last)
	}
	if st.Digest != liveDigest {
		t.Errorf("rebuilt digest %s, live %s", st.Digest, liveDigest)
	}
	mu.Lock()
	if len(calls) == 0 {
		t.Errorf("the progress callback was never called")
	} else {
		for i, c := range calls {
			if c[1] != last || c[0] > c[1] || (i > 0 && c[0] < calls[i-1][0]) {
				t.Errorf("progress call %d: applied %d of %d (the log holds %d; calls %v)", i, c[0], c[1], last, calls)
			}
		}
		if fin := calls[len(calls)-1]; fin[0] != last {
			t.Errorf("the last progress call says %d of %d, want all %d", fin[0], fin[1], last)
		}
	}
	mu.Unlock()
	e.Restart(t)
	rbCompare(t, "after an offline rebuild", e, keys, want, liveDigest, last)

	// 2. No projections at all: the server rebuilds them from the log.
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := os.Remove(filepath.Join(e.Dir, "projections.db")); err != nil {
		t.Fatalf("remove projections.db: %v", err)
	}
	e.Restart(t)
	rbCompare(t, "after deleting projections.db", e, keys, want, liveDigest, last)

	// The rebuilt server keeps working: the writer writes, the revoked key
	// stays revoked.
	e.Upload(t, keys.writer.Value, "rb-a", "after-rebuild.txt", []byte("still here"), nil)
	if r := e.Do(t, Req{Fn: "getfile", Key: keys.revoked.Value, Query: Q("sid", "rb-a", "path", "a.txt")}); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked key after rebuild: %d, want 401", r.Status)
	}
}

// rbCompare checks that the restarted server e has the live digest and
// gives the same answers.
func rbCompare(t *testing.T, when string, e *Env, keys rbKeys, want map[string]string, digest string, last uint64) {
	t.Helper()
	if got := e.Srv.State.Applied(); got != last {
		t.Errorf("%s: the projections applied %d events, want %d", when, got, last)
	}
	got, err := e.Srv.State.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != digest {
		t.Errorf("%s: digest %s, want the live %s", when, got, digest)
	}
	have := rbSnapshot(t, e, keys)
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if have[k] != want[k] {
			t.Errorf("%s: %s differs:\n got  %s\n want %s", when, k, have[k], want[k])
		}
	}
	if len(have) != len(want) {
		t.Errorf("%s: %d answers, want %d", when, len(have), len(want))
	}
}

func rbAdmin(t *testing.T, e *Env, fn string, body map[string]any, want int) map[string]any {
	t.Helper()
	var out map[string]any
	e.Admin(t, fn, body, want).JSON(t, &out)
	return out
}

func rbStatus(t *testing.T, e *Env, r Req, want int) *Resp {
	t.Helper()
	resp := e.Do(t, r)
	if resp.Status != want {
		t.Fatalf("%s %s %v: status %d, want %d: %s", r.Method, r.Fn, r.Query, resp.Status, want, resp.Body)
	}
	return resp
}

// rbWorkload changes everything the projections hold, through the API.
func rbWorkload(t *testing.T, e *Env, clock *testClock) rbKeys {
	t.Helper()
	rbAdmin(t, e, "accountcreate", map[string]any{"id": "acme", "name": "Acme"}, http.StatusCreated)
	rbAdmin(t, e, "servicecreate", map[string]any{"id": "rb-a"}, http.StatusCreated)
	rbAdmin(t, e, "servicecreate", map[string]any{"id": "rb-b", "account": "acme", "keep_versions": "720h"}, http.StatusCreated)
	rbAdmin(t, e, "servicecreate", map[string]any{"id": "rb-c", "name": "short-lived"}, http.StatusCreated)
	rbAdmin(t, e, "serviceupdate", map[string]any{"id": "rb-a", "name": "Alpha", "quota_bytes": 10 << 20}, http.StatusOK)

	var k rbKeys
	k.writer = e.CreateKey(t, KeySpec{Name: "writer", Account: "", Access: map[string]string{"rb-a": "write", "rb-c": "write"}})
	k.reader = e.CreateKey(t, KeySpec{Name: "reader", Account: "", Access: map[string]string{"*": "read"}})
	k.revoked = e.CreateKey(t, KeySpec{Name: "revoked", Account: "", Access: map[string]string{"rb-a": "read"}})
	k.acme = e.CreateKey(t, KeySpec{Name: "acme-writer", Account: "acme", Access: map[string]string{"rb-b": "write"}})
	rbAdmin(t, e, "keyrevoke", map[string]any{"id": k.revoked.ID}, http.StatusOK)

	// rb-a: inline and blob puts, overwrites (inline → blob → inline), a
	// delete, metadata, two files with the same bytes, expiry.
	big := freshBytes(70 << 10)
	e.Upload(t, k.writer.Value, "rb-a", "a.txt", freshBytes(1<<10), map[string]string{"Content-Type": "text/plain", "x-owncdn-meta-color": "blue"})
	e.Upload(t, k.writer.Value, "rb-a", "big.bin", big, nil)
	e.Upload(t, k.writer.Value, "rb-a", "same-as-big.bin", big, nil)
	e.Upload(t, k.writer.Value, "rb-a", "dir/empty", nil, nil)
	e.Upload(t, k.writer.Value, "rb-a", "a.txt", freshBytes(200<<10), nil)
	e.Upload(t, k.writer.Value, "rb-a", "a.txt", []byte("ten bytes!"), map[string]string{"x-owncdn-meta-color": "green"})
	rbStatus(t, e, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.writer.Value, Query: Q("sid", "rb-a", "path", "dir/empty")}, http.StatusOK)
	e.Upload(t, k.writer.Value, "rb-a", "exp.txt", []byte("expires in a minute"), map[string]string{"x-owncdn-delete-after": "60"})
	e.Upload(t, k.writer.Value, "rb-a", "later.txt", []byte("expires tomorrow"), map[string]string{"x-owncdn-delete-after": "86400"})
	e.Upload(t, k.writer.Value, "rb-a", "dir/sub/deep.json", []byte(`{"deep":true}`), nil)

	// rb-b (account acme): conditional writes, a delete.
	u := e.Upload(t, k.acme.Value, "rb-b", "one", []byte("one"), nil)
	e.Upload(t, k.acme.Value, "rb-b", "two", freshBytes(100<<10), nil)
	e.Upload(t, k.acme.Value, "rb-b", "three", []byte("three"), nil)
	rbStatus(t, e, Req{Method: http.MethodPut, Fn: "uploadfile", Key: k.acme.Value, Query: Q("sid", "rb-b", "path", "one"),
		Body: bytes.NewReader([]byte("nope")), Header: map[string]string{"If-None-Match": "*"}}, http.StatusConflict) // the native spec: 409 for a failed precondition
	e.Upload(t, k.acme.Value, "rb-b", "one", []byte("one, again"), map[string]string{"If-Match": `"` + u.ETag + `"`})
	rbStatus(t, e, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.acme.Value, Query: Q("sid", "rb-b", "path", "three")}, http.StatusOK)

	// rb-c: filled, emptied, deleted.
	e.Upload(t, k.writer.Value, "rb-c", "x", []byte("x"), nil)
	e.Upload(t, k.writer.Value, "rb-c", "y", freshBytes(80<<10), nil)
	e.Admin(t, "servicedelete", map[string]any{"id": "rb-c"}, http.StatusConflict)
	for _, p := range []string{"x", "y"} {
		rbStatus(t, e, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.writer.Value, Query: Q("sid", "rb-c", "path", p)}, http.StatusOK)
	}
	rbAdmin(t, e, "servicedelete", map[string]any{"id": "rb-c"}, http.StatusOK)

	// Expiry: move the clock past exp.txt's delete_at; reads say 404 at
	// once, and the reaper appends object.expired (waited for through
	// syncnext's long poll, not a sleep).
	var before struct {
		Last uint64 `json:"last_sync_id"`
	}
	rbStatus(t, e, Req{Fn: "syncnext", Key: e.AdminKey, Query: Q("sid", "rb-a", "after", "0", "limit", "1")}, http.StatusOK).JSON(t, &before)
	clock.Advance(2 * time.Minute)
	rbStatus(t, e, Req{Fn: "getfile", Key: k.reader.Value, Query: Q("sid", "rb-a", "path", "exp.txt")}, http.StatusNotFound)
	after := before.Last
	eventually(t, 60*time.Second, func() error {
		var sn struct {
			Updates []struct {
				SyncID uint64 `json:"sync_id"`
				Op     string `json:"op"`
				Path   string `json:"path"`
			} `json:"updates"`
			Last uint64 `json:"last_sync_id"`
		}
		rbStatus(t, e, Req{Fn: "syncnext", Key: e.AdminKey, Query: Q("sid", "rb-a", "after", strconv.FormatUint(after, 10), "wait", "10")}, http.StatusOK).JSON(t, &sn)
		expired := false
		for _, up := range sn.Updates {
			if up.Path == "exp.txt" && up.Op == "expire" {
				expired = true
			} else {
				t.Errorf("unexpected change after moving the clock: %+v", up)
			}
			after = up.SyncID
		}
		if !expired {
			return errors.New("the reaper did not expire exp.txt")
		}
		return nil
	})
	return k
}

// snapAnswer sends r to e and describes the answer for a comparison of
// two servers: an error as its status and code (its body carries a
// request id), getfile as its status, the headers every version has and
// the extra ones, and the body's SHA-256, anything else as its status and
// body. It returns the answer too.
func snapAnswer(t *testing.T, e *Env, r Req, extra ...string) (string, *Resp) {
	t.Helper()
	resp := e.Do(t, r)
	switch {
	case resp.Status >= 300:
		return fmt.Sprintf("%d %s", resp.Status, resp.ErrorCode()), resp
	case r.Fn == "getfile":
		hd := []string{}
		for _, h := range append([]string{"Content-Type", "Content-Length", "ETag", "Last-Modified", "X-Version-Id", "X-Sync-Id"}, extra...) {
			hd = append(hd, h+"="+resp.Header.Get(h))
		}
		return fmt.Sprintf("%d %v sha256=%s", resp.Status, hd, sha256hex(resp.Body)), resp
	}
	return fmt.Sprintf("%d %s", resp.Status, bytes.TrimSpace(resp.Body)), resp
}

// rbSnapshot records the server's answers to every read the workload can
// be seen through, by name. Error answers are recorded as status and code
// (their bodies carry a request id).
func rbSnapshot(t *testing.T, e *Env, k rbKeys) map[string]string {
	t.Helper()
	out := map[string]string{}
	record := func(name string, r Req) *Resp {
		var resp *Resp
		out[name], resp = snapAnswer(t, e, r, "X-Owncdn-Meta-Color", "X-Owncdn-Delete-At")
		return resp
	}
	adminPost := func(fn string) {
		record(fn, Req{Method: http.MethodPost, Fn: fn, Key: e.AdminKey, Body: bytes.NewReader([]byte("{}"))})
	}
	record("servicelist admin", Req{Fn: "servicelist", Key: e.AdminKey})
	record("servicelist reader", Req{Fn: "servicelist", Key: k.reader.Value})
	record("servicelist acme", Req{Fn: "servicelist", Key: k.acme.Value})
	adminPost("keylist")
	adminPost("accountlist")
	paths := map[string][]string{
		"rb-a": {"a.txt", "big.bin", "same-as-big.bin", "dir/empty", "exp.txt", "later.txt", "dir/sub/deep.json"},
		"rb-b": {"one", "two", "three"},
		"rb-c": {"x", "y"},
	}
	for _, sid := range []string{"rb-a", "rb-b", "rb-c"} {
		record("filelist "+sid, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid, "limit", "10000")})
		record("filelist delimiter "+sid, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid, "delimiter", "/")})
		record("syncnext "+sid, Req{Fn: "syncnext", Key: e.AdminKey, Query: Q("sid", sid, "after", "0", "limit", "1000")})
		for _, p := range paths[sid] {
			record("getfile "+sid+" "+p, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", p)})
			record("versionlist "+sid+" "+p, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", p)})
		}
	}
	// every version of a.txt, by id
	var vl struct {
		Versions []struct {
			Version string `json:"version"`
		} `json:"versions"`
	}
	if r := e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", "rb-a", "path", "a.txt")}); r.Status == http.StatusOK {
		if err := json.Unmarshal(r.Body, &vl); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range vl.Versions {
		record(fmt.Sprintf("getfile rb-a a.txt version %d", i), Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", "rb-a", "path", "a.txt", "version", v.Version)})
	}
	// what each key may do
	record("reader getfile", Req{Fn: "getfile", Key: k.reader.Value, Query: Q("sid", "rb-a", "path", "big.bin")})
	record("reader upload", Req{Method: http.MethodPut, Fn: "uploadfile", Key: k.reader.Value, Query: Q("sid", "rb-a", "path", "nope"), Body: bytes.NewReader(nil)})
	record("revoked getfile", Req{Fn: "getfile", Key: k.revoked.Value, Query: Q("sid", "rb-a", "path", "big.bin")})
	record("writer on rb-b", Req{Fn: "filelist", Key: k.writer.Value, Query: Q("sid", "rb-b")})
	record("acme on rb-a", Req{Fn: "filelist", Key: k.acme.Value, Query: Q("sid", "rb-a")})
	return out
}
