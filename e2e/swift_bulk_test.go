package e2e

// Swift bulk delete (CONTRACT5 "Bulk delete"): POST /v1/{account}
// ?bulk-delete=true with newline-separated paths, processed in order,
// answered in JSON, XML or plain text; one object.delete.v1 event per
// object; the account's admins only; 10,000 paths in one request.

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sxBulkResult is a bulk delete's answer, whatever its format.
type sxBulkResult struct {
	Deleted  int64
	NotFound int64
	Status   string
	Body     string
	Errors   [][2]string // path, status
}

// sxBulk POSTs a bulk delete of the paths (one a line) with accept ("":
// no Accept header) and returns the raw answer.
func sxBulk(t testing.TB, e *Env, tok, acct, accept string, paths []string) *Resp {
	t.Helper()
	hdr := map[string]string{"Content-Type": "text/plain"}
	if accept != "" {
		hdr["Accept"] = accept
	}
	return swDo(t, e, http.MethodPost, swPath(acct)+"?bulk-delete=true", tok, hdr, strings.NewReader(strings.Join(paths, "\n")+"\n"))
}

// sxBulkJSON decodes a JSON answer, checking its members.
func sxBulkJSON(t testing.TB, r *Resp) sxBulkResult {
	t.Helper()
	swWant(t, "bulk delete", r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("bulk delete JSON: Content-Type %q", ct)
	}
	m := sxJSONKeys(t, "bulk delete JSON", r.Body, "Number Deleted", "Number Not Found", "Response Status", "Response Body", "Errors")
	var out sxBulkResult
	var errs [][]string
	for k, dst := range map[string]any{"Number Deleted": &out.Deleted, "Number Not Found": &out.NotFound,
		"Response Status": &out.Status, "Response Body": &out.Body, "Errors": &errs} {
		if err := json.Unmarshal(m[k], dst); err != nil {
			t.Fatalf("bulk delete JSON %q: %v: %s", k, err, m[k])
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(string(m["Errors"])), "[") {
		t.Errorf("bulk delete JSON: Errors is %s, want a list", m["Errors"])
	}
	for _, e := range errs {
		if len(e) != 2 {
			t.Fatalf("bulk delete JSON: an error entry %q is not [path, status]", e)
		}
		out.Errors = append(out.Errors, [2]string{e[0], e[1]})
	}
	return out
}

// sxBulkXML decodes an XML answer.
func sxBulkXML(t testing.TB, r *Resp) sxBulkResult {
	t.Helper()
	swWant(t, "bulk delete", r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Errorf("bulk delete XML: Content-Type %q", ct)
	}
	var doc struct {
		XMLName  xml.Name `xml:"delete"`
		Deleted  *int64   `xml:"number_deleted"`
		NotFound *int64   `xml:"number_not_found"`
		Status   *string  `xml:"response_status"`
		Body     *string  `xml:"response_body"`
		Errors   *struct {
			Objects []struct {
				Name   string `xml:"name"`
				Status string `xml:"status"`
			} `xml:"object"`
		} `xml:"errors"`
	}
	if err := xml.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("bulk delete XML: %v: %s", err, sxTrim(r.Body))
	}
	if doc.Deleted == nil || doc.NotFound == nil || doc.Status == nil || doc.Body == nil || doc.Errors == nil {
		t.Fatalf("bulk delete XML: an element is missing: %s", sxTrim(r.Body))
	}
	out := sxBulkResult{Deleted: *doc.Deleted, NotFound: *doc.NotFound, Status: *doc.Status, Body: *doc.Body}
	for _, o := range doc.Errors.Objects {
		out.Errors = append(out.Errors, [2]string{o.Name, o.Status})
	}
	return out
}

// sxBulkPlain decodes a text/plain answer: "Key: value" lines, then
// "Errors:" and one "path, status" line per error.
func sxBulkPlain(t testing.TB, r *Resp) sxBulkResult {
	t.Helper()
	swWant(t, "bulk delete", r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("bulk delete plain: Content-Type %q", ct)
	}
	lines := strings.Split(strings.TrimRight(strings.TrimLeft(string(r.Body), " \n"), "\n"), "\n")
	i := slices.Index(lines, "Errors:")
	if i < 0 {
		t.Fatalf("bulk delete plain: no \"Errors:\" line: %q", r.Body)
	}
	fields := map[string]string{}
	for _, l := range lines[:i] {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			k, v, ok = strings.Cut(l, ":") // "Response Body: " may lose its space
		}
		if !ok {
			t.Fatalf("bulk delete plain: line %q is not \"Key: value\": %q", l, r.Body)
		}
		fields[k] = v
	}
	var out sxBulkResult
	for k, dst := range map[string]*int64{"Number Deleted": &out.Deleted, "Number Not Found": &out.NotFound} {
		if _, err := fmt.Sscanf(fields[k], "%d", dst); err != nil {
			t.Fatalf("bulk delete plain: %q is %q: %q", k, fields[k], r.Body)
		}
	}
	var ok1, ok2 bool
	out.Status, ok1 = fields["Response Status"]
	out.Body, ok2 = fields["Response Body"]
	if !ok1 || !ok2 || len(fields) != 4 {
		t.Errorf("bulk delete plain: fields %q, want Number Deleted, Number Not Found, Response Status, Response Body", fields)
	}
	for _, l := range lines[i+1:] {
		p, s, ok := strings.Cut(l, ", ")
		if !ok {
			t.Fatalf("bulk delete plain: error line %q is not \"path, status\"", l)
		}
		out.Errors = append(out.Errors, [2]string{p, s})
	}
	return out
}

// sxWantBulk fails the test unless got is want.
func sxWantBulk(t testing.TB, what string, got, want sxBulkResult) {
	t.Helper()
	if got.Deleted != want.Deleted || got.NotFound != want.NotFound || got.Status != want.Status ||
		natf("%q", got.Errors) != natf("%q", want.Errors) || (want.Body == "" && got.Body != "") {
		t.Errorf("%s: %+v, want %+v", what, got, want)
	}
}

// sxBulkScene is a fresh set of containers and objects for one bulk
// delete: ca with o1, "a b" and "ü+x"; cb with x and y; cc empty; cd with
// keep (not empty).
type sxBulkScene struct {
	ca, cb, cc, cd string
}

func sxNewBulkScene(t *testing.T, e *Env, a *sxAcct) sxBulkScene {
	t.Helper()
	s := sxBulkScene{ca: swContainer(t, a.Conn), cb: swContainer(t, a.Conn), cc: swContainer(t, a.Conn), cd: swContainer(t, a.Conn)}
	for _, p := range [][2]string{{s.ca, "o1"}, {s.ca, "a b"}, {s.ca, "ü+x"}, {s.cb, "x"}, {s.cb, "y"}, {s.cd, "keep"}} {
		sxPut(t, e, a.Tok, a.ID, p[0], p[1], []byte("bulk "+p[1]), nil)
	}
	return s
}

// paths is the request: every path form, in an order that deletes cb
// after its objects, a not-found object, an object in a missing
// container, and the non-empty cd.
func (s sxBulkScene) paths(missing string) []string {
	return []string{
		s.ca + "/o1",
		"/" + s.ca + "/a%20b",
		s.ca + "/%C3%BC%2Bx",
		s.cb + "/x",
		"/" + s.cb + "/y",
		s.cb,
		s.cc,
		s.ca + "/missing",
		missing + "/z",
		s.cd,
	}
}

// check fails the test unless the scene is as the request above leaves it.
func (s sxBulkScene) check(t *testing.T, e *Env, a *sxAcct) {
	t.Helper()
	sxWantUsage(t, e, a.Tok, a.ID, s.ca, 0, 0)
	for _, c := range []string{s.cb, s.cc} {
		swWant(t, "HEAD deleted container "+c, swDo(t, e, http.MethodHead, swPath(a.ID, c), a.Tok, nil, nil), http.StatusNotFound)
	}
	sxWantUsage(t, e, a.Tok, a.ID, s.cd, 1, int64(len("bulk keep")))
	if g := swDo(t, e, http.MethodGet, swPath(a.ID, s.cd, "keep"), a.Tok, nil, nil); g.Status != http.StatusOK || string(g.Body) != "bulk keep" {
		t.Errorf("cd/keep: %d %q", g.Status, g.Body)
	}
	names := swListPlain(t, e, swPath(a.ID), a.Tok)
	if slices.Contains(names, s.cb) || slices.Contains(names, s.cc) || !slices.Contains(names, s.ca) || !slices.Contains(names, s.cd) {
		t.Errorf("account listing after the bulk delete: %q", names)
	}
}

// want is the answer to paths.
func (s sxBulkScene) want() sxBulkResult {
	return sxBulkResult{Deleted: 7, NotFound: 2, Status: "400 Bad Request", Errors: [][2]string{{s.cd, "409 Conflict"}}}
}

// TestSwiftBulk_Delete: the JSON answer (default), order, every path
// form, not-found counting, a non-empty container's 409, and one delete
// event per object.
func TestSwiftBulk_Delete(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	s := sxNewBulkScene(t, e, a)
	other := sxNewAcct(t, e)
	oc := swContainer(t, other.Conn)
	sxPut(t, e, other.Tok, other.ID, oc, "theirs", []byte("not yours"), nil)

	paths := s.paths(swName(t) + "-none")
	// another account's object, by its container's name: not found here
	paths = append(paths[:len(paths)-1], oc+"/theirs", paths[len(paths)-1])
	want := s.want()
	want.NotFound++
	sxWantBulk(t, "bulk delete (JSON by default)", sxBulkJSON(t, sxBulk(t, e, a.Tok, a.ID, "", paths)), want)
	s.check(t, e, a)
	if g := swDo(t, e, http.MethodGet, swPath(other.ID, oc, "theirs"), other.Tok, nil, nil); g.Status != http.StatusOK || string(g.Body) != "not yours" {
		t.Errorf("another account's object after the bulk delete: %d %q", g.Status, g.Body)
	}

	// one object.delete.v1 per object, each its own event
	ups := sxUpdates(t, e, e.AdminKey, s.ca)
	if got := sxOps(ups); !slices.Equal(got, []string{"put o1", "put a b", "put ü+x", "delete o1", "delete a b", "delete ü+x"}) {
		t.Errorf("syncnext of ca: %q", got)
	}
	seen := map[uint64]bool{}
	for _, u := range ups {
		if seen[u.SyncID] {
			t.Errorf("two updates share sync id %d: %+v", u.SyncID, ups)
		}
		seen[u.SyncID] = true
	}
	for _, p := range []string{"o1", "a b", "ü+x"} {
		v := sxWaitOp(t, e, e.AdminKey, s.ca, p, "delete", 0)
		if v != nil && v["deleted"] != true {
			t.Errorf("versionlist %s: the delete version is not a deletion: %v", p, v)
		}
	}

	// all well: 200 OK, no errors, with Accept: application/json
	c := swContainer(t, a.Conn)
	sxPut(t, e, a.Tok, a.ID, c, "one", []byte("1"), nil)
	sxPut(t, e, a.Tok, a.ID, c, "two", []byte("2"), nil)
	r := sxBulk(t, e, a.Tok, a.ID, "application/json", []string{c + "/one", c + "/two", c + "/three", c})
	sxWantBulk(t, "bulk delete, all well", sxBulkJSON(t, r), sxBulkResult{Deleted: 3, NotFound: 1, Status: "200 OK", Errors: nil})
	swWant(t, "HEAD the deleted container", swDo(t, e, http.MethodHead, swPath(a.ID, c), a.Tok, nil, nil), http.StatusNotFound)
	// nothing to delete at all: still 200 OK
	r = sxBulk(t, e, a.Tok, a.ID, "", []string{c + "/gone", c})
	sxWantBulk(t, "bulk delete of what is not there", sxBulkJSON(t, r), sxBulkResult{Deleted: 0, NotFound: 2, Status: "200 OK"})

	// in order: a container before its object is still full (409), the
	// object after it goes
	z := swContainer(t, a.Conn)
	sxPut(t, e, a.Tok, a.ID, z, "o", []byte("o"), nil)
	r = sxBulk(t, e, a.Tok, a.ID, "", []string{z, z + "/o"})
	sxWantBulk(t, "bulk delete of a container before its object", sxBulkJSON(t, r),
		sxBulkResult{Deleted: 1, Status: "400 Bad Request", Errors: [][2]string{{z, "409 Conflict"}}})
	sxWantUsage(t, e, a.Tok, a.ID, z, 0, 0)
}

// TestSwiftBulk_Formats: the same request answered in XML and plain text
// by Accept.
func TestSwiftBulk_Formats(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	for _, f := range []struct {
		accept string
		decode func(testing.TB, *Resp) sxBulkResult
	}{
		{"application/xml", sxBulkXML},
		{"text/plain", sxBulkPlain},
		{"application/json", sxBulkJSON},
	} {
		t.Run(strings.ReplaceAll(f.accept, "/", "_"), func(t *testing.T) {
			s := sxNewBulkScene(t, e, a)
			r := sxBulk(t, e, a.Tok, a.ID, f.accept, s.paths(swName(t)+"-none"))
			sxWantBulk(t, "bulk delete "+f.accept, f.decode(t, r), s.want())
			s.check(t, e, a)
			// all well in this format too
			c := swContainer(t, a.Conn)
			sxPut(t, e, a.Tok, a.ID, c, "o", []byte("o"), nil)
			r = sxBulk(t, e, a.Tok, a.ID, f.accept, []string{c + "/o", c})
			got := f.decode(t, r)
			sxWantBulk(t, "bulk delete "+f.accept+", all well", got, sxBulkResult{Deleted: 2, Status: "200 OK"})
			if got.Body != "" {
				t.Errorf("bulk delete %s, all well: Response Body %q, want empty", f.accept, got.Body)
			}
		})
	}
}

// TestSwiftBulk_Forbidden: only the account's admins (and the server
// admin) may bulk delete; nothing is deleted otherwise.
func TestSwiftBulk_Forbidden(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	c := swContainer(t, a.Conn)
	sxPut(t, e, a.Tok, a.ID, c, "o", []byte("stays"), nil)
	paths := []string{c + "/o", c}
	writer := swToken(t, e, e.CreateKey(t, KeySpec{Account: a.ID, Admin: false, Access: map[string]string{"*": "write"}}))
	swWantErr(t, "bulk delete with a non-admin key", sxBulk(t, e, writer, a.ID, "", paths), http.StatusForbidden)
	other := sxNewAcct(t, e)
	swWantErr(t, "bulk delete with another account's admin", sxBulk(t, e, other.Tok, a.ID, "", paths), http.StatusForbidden)
	swWant(t, "bulk delete without a token", sxBulk(t, e, "", a.ID, "", paths), http.StatusUnauthorized)
	sxWantUsage(t, e, a.Tok, a.ID, c, 1, 5)
	// the server admin may
	admin := swToken(t, e, Key{ID: e.AdminKeyID, Value: e.AdminKey})
	sxWantBulk(t, "bulk delete by the server admin", sxBulkJSON(t, sxBulk(t, e, admin, a.ID, "", paths)),
		sxBulkResult{Deleted: 2, Status: "200 OK"})
	swWant(t, "HEAD the deleted container", swDo(t, e, http.MethodHead, swPath(a.ID, c), a.Tok, nil, nil), http.StatusNotFound)
}

// TestSwiftBulk_NcwClient: ncw/swift's BulkDelete, which sends
// DELETE /v1/{account}?bulk-delete=1 (OpenStack Swift's bulk middleware
// takes DELETE as well as POST; the contract names POST).
func TestSwiftBulk_NcwClient(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	c := swContainer(t, a.Conn)
	for _, n := range []string{"one", "two words", "ü"} {
		sxPut(t, e, a.Tok, a.ID, c, n, []byte(n), nil)
	}
	res, err := a.Conn.BulkDelete(swCtx, c, []string{"one", "two words", "ü", "absent"})
	if err != nil || res.NumberDeleted != 3 || res.NumberNotFound != 1 || len(res.Errors) != 0 {
		t.Fatalf("ncw BulkDelete: %+v %v", res, err)
	}
	sxWantUsage(t, e, a.Tok, a.ID, c, 0, 0)
}

// sxBulkCount is how many objects TestSwiftBulk_TenThousand makes and
// deletes in one request: the contract's 10,000.
const sxBulkCount = 10000

// TestSwiftBulk_TenThousand: 10,000 paths in one request; each object is
// its own delete event. /info announces the limits.
func TestSwiftBulk_TenThousand(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	c := swContainer(t, a.Conn)

	var info struct {
		Bulk *struct {
			MaxDeletes int `json:"max_deletes_per_request"`
			MaxFailed  int `json:"max_failed_deletes"`
		} `json:"bulk_delete"`
	}
	ir := swDo(t, e, http.MethodGet, "/info", "", nil, nil)
	swWant(t, "GET /info", ir, http.StatusOK)
	ir.JSON(t, &info)
	if info.Bulk == nil || info.Bulk.MaxDeletes != 10000 || info.Bulk.MaxFailed != 1000 {
		t.Errorf("/info bulk_delete: %s", ir.Body)
	}

	// make them: 16 writers, small bodies
	start := time.Now()
	names := make([]string, sxBulkCount)
	for i := range names {
		names[i] = fmt.Sprintf("many/%05d", i)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(names) {
					return
				}
				r, err := swSend(e, http.MethodPut, swPath(a.ID, c, names[i]), a.Tok, nil, strings.NewReader("x"))
				if err != nil || r.Status != http.StatusCreated {
					select {
					case errs <- fmt.Sprintf("PUT %s: %v %v", names[i], err, r):
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for m := range errs {
		t.Fatal(m)
	}
	t.Logf("%d PUTs in %v", sxBulkCount, time.Since(start))
	sxWantUsage(t, e, a.Tok, a.ID, c, sxBulkCount, sxBulkCount)

	// one request, 10,000 paths (URL-encoded as clients send them)
	var body strings.Builder
	for i, n := range names {
		if i%2 == 0 {
			body.WriteString("/")
		}
		body.WriteString(c + "/" + strings.ReplaceAll(n, "/", "%2F") + "\n")
	}
	start = time.Now()
	req, err := http.NewRequest(http.MethodPost, e.URL+swPath(a.ID)+"?bulk-delete=true", strings.NewReader(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", a.Tok)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("bulk delete of %d: %v", sxBulkCount, err)
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bulk delete of %d in %v", sxBulkCount, time.Since(start))
	got := sxBulkJSON(t, &Resp{Status: resp.StatusCode, Header: resp.Header, Body: rb})
	sxWantBulk(t, "bulk delete of 10,000", got, sxBulkResult{Deleted: sxBulkCount, Status: "200 OK"})
	sxWantUsage(t, e, a.Tok, a.ID, c, 0, 0)
	if l := swListPlain(t, e, swPath(a.ID, c), a.Tok); len(l) != 0 {
		t.Errorf("listing after the bulk delete: %d names", len(l))
	}
	// each deletion its own event
	deletes := map[string]int{}
	for _, u := range sxUpdates(t, e, e.AdminKey, c) {
		if u.Op == "delete" {
			deletes[u.Path]++
		}
	}
	if len(deletes) != sxBulkCount {
		t.Errorf("%d paths have a delete update, want %d", len(deletes), sxBulkCount)
	}
	for p, n := range deletes {
		if n != 1 {
			t.Errorf("%s: %d delete updates", p, n)
		}
	}
}
