package e2e

// Helpers for the Swift expiry, quota, server-side copy and bulk delete
// tests (swift_expiry_test.go, swift_quota_test.go, swift_copy_test.go,
// swift_bulk_test.go). Every name starts with "sx" so it cannot collide
// with helpers of other e2e files.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ncw/swift/v2"

	"github.com/cairnhq/cairn/schema"
)

// sxAcct is a fresh account with an account admin key, its auth token and
// an ncw/swift connection authenticated as that key.
type sxAcct struct {
	ID   string
	Key  Key
	Tok  string
	Conn *swift.Connection
}

// sxNewAcct creates an account with an admin key and authenticates it.
func sxNewAcct(t testing.TB, e *Env) *sxAcct {
	t.Helper()
	id, k := e.Account(t)
	c := e.Swift(t, k.ID, k.Value, 1)
	return &sxAcct{ID: id, Key: k, Tok: c.AuthToken, Conn: c}
}

// sxBody wraps a byte slice for swDo ("nil" stays a nil body).
func sxBody(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

// sxChunked is a reader of unknown length: net/http sends it with
// Transfer-Encoding: chunked.
type sxChunked struct{ r io.Reader }

func (c *sxChunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// sxPut PUTs body at acct/cont/name with the headers and fails the test
// unless the answer is 201.
func sxPut(t testing.TB, e *Env, tok, acct, cont, name string, body []byte, hdr map[string]string) *Resp {
	t.Helper()
	if body == nil {
		body = []byte{}
	}
	r := swDo(t, e, http.MethodPut, swPath(acct, cont, name), tok, hdr, bytes.NewReader(body))
	swWant(t, "PUT "+cont+"/"+name, r, http.StatusCreated)
	return r
}

// sxDeleteAt HEADs an object (wanting 200), checks that GET shows the
// same X-Delete-At, and returns it ("" when the object has none).
func sxDeleteAt(t testing.TB, e *Env, tok, acct, cont, name string) string {
	t.Helper()
	h := swDo(t, e, http.MethodHead, swPath(acct, cont, name), tok, nil, nil)
	swWant(t, "HEAD "+cont+"/"+name, h, http.StatusOK)
	g := swDo(t, e, http.MethodGet, swPath(acct, cont, name), tok, nil, nil)
	swWant(t, "GET "+cont+"/"+name, g, http.StatusOK)
	if g.Header.Get("X-Delete-At") != h.Header.Get("X-Delete-At") {
		t.Errorf("%s/%s: X-Delete-At on GET %q, on HEAD %q", cont, name, g.Header.Get("X-Delete-At"), h.Header.Get("X-Delete-At"))
	}
	return h.Header.Get("X-Delete-At")
}

// sxWantDeleteAt fails the test unless the object's X-Delete-At is want
// (0: none).
func sxWantDeleteAt(t testing.TB, e *Env, tok, acct, cont, name string, want int64) {
	t.Helper()
	w := ""
	if want != 0 {
		w = strconv.FormatInt(want, 10)
	}
	if got := sxDeleteAt(t, e, tok, acct, cont, name); got != w {
		t.Errorf("%s/%s: X-Delete-At %q, want %q", cont, name, got, w)
	}
}

// sxUsage HEADs a container (wanting 204) and returns its object count
// and bytes used.
func sxUsage(t testing.TB, e *Env, tok, acct, cont string) (int64, int64) {
	t.Helper()
	return sxHeadUsage(t, e, tok, swPath(acct, cont), "Container")
}

// sxWantUsage fails the test unless the container holds n objects of b
// bytes in all.
func sxWantUsage(t testing.TB, e *Env, tok, acct, cont string, n, b int64) {
	t.Helper()
	if gn, gb := sxUsage(t, e, tok, acct, cont); gn != n || gb != b {
		t.Errorf("container %s: X-Container-Object-Count %d, X-Container-Bytes-Used %d; want %d and %d", cont, gn, gb, n, b)
	}
}

// sxAccountUsage HEADs an account (wanting 204) and returns its object
// count and bytes used.
func sxAccountUsage(t testing.TB, e *Env, tok, acct string) (int64, int64) {
	t.Helper()
	return sxHeadUsage(t, e, tok, swPath(acct), "Account")
}

// sxHeadUsage HEADs path, an account or a container (kind), wanting 204,
// and returns its X-<kind>-Object-Count and X-<kind>-Bytes-Used.
func sxHeadUsage(t testing.TB, e *Env, tok, path, kind string) (int64, int64) {
	t.Helper()
	r := swDo(t, e, http.MethodHead, path, tok, nil, nil)
	swWant(t, "HEAD "+path, r, http.StatusNoContent)
	count, used := r.Header.Get("X-"+kind+"-Object-Count"), r.Header.Get("X-"+kind+"-Bytes-Used")
	n, err1 := strconv.ParseInt(count, 10, 64)
	b, err2 := strconv.ParseInt(used, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("HEAD %s: X-%s-Object-Count %q, X-%s-Bytes-Used %q", path, kind, count, kind, used)
	}
	return n, b
}

// sxSwiftNames is the object names of a container's JSON listing.
func sxSwiftNames(t testing.TB, e *Env, tok, acct, cont string) []string {
	t.Helper()
	var l []swObjectEntry
	swListJSON(t, e, swPath(acct, cont), tok, &l, "limit", "10000")
	return swObjectNames(t, l)
}

// sxNatPaths is every path the native filelist lists in a service.
func sxNatPaths(t testing.TB, e *Env, key, sid string) []string {
	t.Helper()
	files, _, _ := natListAll(t, e, key, sid, 1000)
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

// sxVersionsRaw calls versionlist and returns its versions as JSON
// objects, so members the helpers' struct lacks (op, actor) can be read.
func sxVersionsRaw(t testing.TB, e *Env, key, sid, path string) []map[string]any {
	t.Helper()
	r := e.Do(t, Req{Fn: "versionlist", Key: key, Query: Q("sid", sid, "path", path)})
	natWant(t, "versionlist "+sid+"/"+path, r, http.StatusOK)
	var out struct {
		Path     string           `json:"path"`
		Versions []map[string]any `json:"versions"`
	}
	r.JSON(t, &out)
	if out.Path != path {
		t.Errorf("versionlist: path %q, want %q", out.Path, path)
	}
	return out.Versions
}

// sxStr is a JSON member of v as a string ("" when absent or not one).
func sxStr(v map[string]any, name string) string {
	s, _ := v[name].(string)
	return s
}

// sxWaitOp polls syncnext until an update of path with op is there (or
// fails the test after timeout), then checks that versionlist shows that
// event as a version (same sync id) with the op, as the contract has it,
// and returns that version (nil when versionlist lacks it).
func sxWaitOp(t testing.TB, e *Env, key, sid, path, op string, timeout time.Duration) map[string]any {
	t.Helper()
	var up *schema.Update
	eventually(t, timeout, func() error {
		ups := sxUpdates(t, e, key, sid)
		for i := range ups {
			if ups[i].Op == op && ups[i].Path == path {
				up = &ups[i]
				return nil
			}
		}
		return fmt.Errorf("syncnext %s: no %q update of %q: %q", sid, op, path, sxOps(ups, path))
	})
	vs := sxVersionsRaw(t, e, key, sid, path)
	for _, v := range vs {
		if id, _ := v["sync_id"].(float64); uint64(id) == up.SyncID {
			if got, ok := v["op"]; !ok || got != op {
				t.Errorf("versionlist %s/%s: the %s event (sync id %d) has op %v (present: %v), want %q: %v", sid, path, op, up.SyncID, got, ok, op, v)
			}
			return v
		}
	}
	t.Errorf("versionlist %s/%s: no version for the %s event of sync id %d: %v", sid, path, op, up.SyncID, vs)
	return nil
}

// sxUpdates pages through syncnext from the start and returns every update.
func sxUpdates(t testing.TB, e *Env, key, sid string) []schema.Update {
	t.Helper()
	var all []schema.Update
	after := uint64(0)
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatalf("syncnext: paging does not end")
		}
		p := natSync(t, e, key, sid, "after", strconv.FormatUint(after, 10), "limit", "1000")
		if len(p.Updates) == 0 {
			return all
		}
		all = append(all, p.Updates...)
		after = p.Updates[len(p.Updates)-1].SyncID
	}
}

// sxOps is the updates' "op path" pairs for the paths (all when none).
func sxOps(ups []schema.Update, paths ...string) []string {
	var out []string
	for _, u := range ups {
		if len(paths) == 0 || slices.Contains(paths, u.Path) {
			out = append(out, u.Op+" "+u.Path)
		}
	}
	return out
}

// sxBlobFiles counts the blob files under the data directory's blobstore
// (content-addressed, <Dir>/blobs/sha256/..; temp files of Puts in
// progress are not counted).
func sxBlobFiles(t testing.TB, e *Env) int {
	t.Helper()
	n := 0
	root := filepath.Join(e.Dir, "blobs", "sha256")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("walking %s: %v", root, err)
	}
	return n
}

// sxTrim is a body cut for a message.
func sxTrim(b []byte) string {
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return strings.TrimSpace(s)
}

// sxJSONKeys fails the test unless raw is a JSON object with exactly the
// members names.
func sxJSONKeys(t testing.TB, what string, raw []byte, names ...string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: not a JSON object: %v: %s", what, err, sxTrim(raw))
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: members %q, want %q", what, got, want)
	}
	return m
}
