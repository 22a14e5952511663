package e2e

// Helpers for the replication tests and benchmarks (replica_*_test.go).
// Every name starts with "rp" so it cannot collide with helpers of other
// e2e files; nothing here is package-level state but constants.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/schema"
)

// rpConverge is how long a replica may take to catch up in a test (the
// race detector makes everything several times slower).
const rpConverge = 90 * time.Second

// rpFast is the server configuration of the replication tests: a short
// syncnext long poll, so shutdowns and reconnections are quick.
func rpFast(c *server.Config) { c.ReplicationWait = server.Duration(2 * time.Second) }

// rpReadKey creates on e a key of account acct ("" = the default account)
// that may read sid, and returns its value: what a replica's source holds.
func rpReadKey(t testing.TB, e *Env, acct, sid string) string {
	t.Helper()
	return e.CreateKey(t, KeySpec{Name: "replication of " + sid, Account: acct, Access: map[string]string{sid: "read"}}).Value
}

// rpAttach defines source src (srcURL, key) on r and creates sid on r, in
// account acct ("" = default), as a replica of service psid there.
func rpAttach(t testing.TB, r *Env, src, srcURL, key, sid, psid, acct string) {
	t.Helper()
	r.Admin(t, "sourcecreate", map[string]any{"name": src, "url": srcURL, "key": key}, http.StatusCreated)
	body := map[string]any{"id": sid, "replica": map[string]string{"source": src, "sid": psid}}
	if acct != "" {
		body["account"] = acct
	}
	r.Admin(t, "servicecreate", body, http.StatusCreated)
}

// rpServiceOf returns sid as servicelist shows it on e, or an error (for
// polling loops and goroutines).
func rpServiceOf(e *Env, sid string) (*schema.ServiceEntry, error) {
	r, err := e.Send(Req{Fn: "servicelist", Key: e.AdminKey})
	if err != nil {
		return nil, err
	}
	if r.Status != http.StatusOK {
		return nil, fmt.Errorf("servicelist: %d %s", r.Status, r.Body)
	}
	var list schema.ServiceList
	if err := json.Unmarshal(r.Body, &list); err != nil {
		return nil, err
	}
	for i := range list.Services {
		if list.Services[i].ID == sid {
			return &list.Services[i], nil
		}
	}
	return nil, fmt.Errorf("servicelist on %s has no service %q", e.URL, sid)
}

// rpSvc is rpServiceOf failing the test on an error.
func rpSvc(t testing.TB, e *Env, sid string) *schema.ServiceEntry {
	t.Helper()
	s, err := rpServiceOf(e, sid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rpWaitSync waits until sid on r has the last_sync_id of psid on p (both
// read anew each time) and returns it.
func rpWaitSync(t testing.TB, p *Env, psid string, r *Env, sid string) uint64 {
	t.Helper()
	return rpWaitSyncIn(t, rpConverge, p, psid, r, sid)
}

// rpWaitSyncIn is rpWaitSync with a deadline of d.
func rpWaitSyncIn(t testing.TB, d time.Duration, p *Env, psid string, r *Env, sid string) uint64 {
	t.Helper()
	var last uint64
	eventually(t, d, func() error {
		ps, err := rpServiceOf(p, psid)
		if err != nil {
			return err
		}
		rs, err := rpServiceOf(r, sid)
		if err != nil {
			return err
		}
		if ps.LastSyncID != rs.LastSyncID {
			return fmt.Errorf("replica %s on %s catching up with %s on %s: primary at %d, replica at %d, replica status %+v",
				sid, r.URL, psid, p.URL, ps.LastSyncID, rs.LastSyncID, rs.Replica)
		}
		last = ps.LastSyncID
		return nil
	})
	return last
}

// rpWaitAt waits until sid on e has reached at least sync id n.
func rpWaitAt(t testing.TB, e *Env, sid string, n uint64) {
	t.Helper()
	eventually(t, rpConverge, func() error {
		s, err := rpServiceOf(e, sid)
		if err != nil {
			return err
		}
		if s.LastSyncID < n {
			return fmt.Errorf("%s on %s reaching sync id %d: at %d, status %+v", sid, e.URL, n, s.LastSyncID, s.Replica)
		}
		return nil
	})
}

// rpSnap is everything of one service that a replica must hold exactly as
// its primary: the counters, the whole change history (syncnext from 0),
// every path's versionlist, the live listing, and for every version that
// has bytes the answer getfile gives for it (and for the path).
type rpSnap struct {
	Last     uint64
	Since    uint64 // the history starts here (0: at the beginning)
	Files    int64
	Bytes    int64
	Changes  []map[string]any
	Versions map[string][]map[string]any
	Live     []map[string]any
	Bodies   map[string]string // "path@version" (or "path@" = current) -> status, headers, sha256
}

// rpSnapshot reads the rpSnap of sid on e with e's admin key.
func rpSnapshot(t testing.TB, e *Env, sid string) *rpSnap {
	t.Helper()
	svc := rpSvc(t, e, sid)
	s := &rpSnap{Last: svc.LastSyncID, Files: svc.Files, Bytes: svc.Bytes,
		Versions: map[string][]map[string]any{}, Bodies: map[string]string{}}
	restarts := 0
	for after := "0"; ; {
		r := e.Do(t, Req{Fn: "syncnext", Key: e.AdminKey, Query: Q("sid", sid, "after", after, "limit", "1000")})
		if r.Status == http.StatusGone && after != "0" && r.ErrorCode() == "history_truncated" && restarts < 3 {
			// a resync started the replica's history over while it was
			// being read: read it again from its new start
			restarts++
			after, s.Since, s.Changes = "0", 0, nil
			continue
		}
		if r.Status == http.StatusGone && after == "0" && r.ErrorCode() == "history_truncated" {
			// a resynchronised replica: its history starts at the resync
			var gone struct {
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			r.JSON(t, &gone)
			if _, err := fmt.Sscanf(gone.Error.Message, "history before sync id %d", &s.Since); err != nil || s.Since == 0 {
				t.Fatalf("syncnext %s on %s: 410 %q does not say where the history starts", sid, e.URL, gone.Error.Message)
			}
			after = rpItoa(s.Since - 1)
			continue
		}
		if r.Status != http.StatusOK {
			t.Fatalf("syncnext %s after %s on %s: %d %s", sid, after, e.URL, r.Status, r.Body)
		}
		var page struct {
			Updates []map[string]any `json:"updates"`
		}
		r.JSON(t, &page)
		if len(page.Updates) == 0 {
			break
		}
		s.Changes = append(s.Changes, page.Updates...)
		after = fmt.Sprint(page.Updates[len(page.Updates)-1]["sync_id"])
	}
	paths := map[string]bool{}
	for _, c := range s.Changes {
		paths[c["path"].(string)] = true
	}
	for p := range paths {
		r := e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", p)})
		if r.Status == http.StatusNotFound { // every version purged
			s.Versions[p] = nil
			continue
		}
		var v struct {
			Versions []map[string]any `json:"versions"`
		}
		r.JSON(t, &v)
		s.Versions[p] = v.Versions
		s.Bodies[p+"@"] = rpGet(t, e, sid, p, "")
		for _, ver := range v.Versions {
			if ver["deleted"] != true {
				id := ver["version"].(string)
				s.Bodies[p+"@"+id] = rpGet(t, e, sid, p, id)
			}
		}
	}
	for after := ""; ; {
		q := Q("sid", sid, "limit", "1000")
		if after != "" {
			q.Set("after", after)
		}
		r := e.Do(t, Req{Fn: "filelist", Key: e.AdminKey, Query: q})
		if r.Status != http.StatusOK {
			t.Fatalf("filelist %s on %s: %d %s", sid, e.URL, r.Status, r.Body)
		}
		var page struct {
			Files []map[string]any `json:"files"`
			Next  *string          `json:"next"`
		}
		r.JSON(t, &page)
		s.Live = append(s.Live, page.Files...)
		for _, f := range page.Files {
			if p := f["path"].(string); s.Bodies[p+"@"] == "" {
				s.Bodies[p+"@"] = rpGet(t, e, sid, p, "")
			}
		}
		if page.Next == nil || *page.Next == "" {
			break
		}
		after = *page.Next
	}
	return s
}

// rpGet describes getfile's answer for a path (and version): the status,
// the headers a client sees and the SHA-256 of the bytes.
func rpGet(t testing.TB, e *Env, sid, path, version string) string {
	t.Helper()
	q := Q("sid", sid, "path", path)
	if version != "" {
		q.Set("version", version)
	}
	r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: q})
	if r.Status != http.StatusOK {
		return fmt.Sprintf("%d %s", r.Status, r.ErrorCode())
	}
	var hs []string
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-owncdn-") || lk == "content-type" || lk == "etag" || lk == "last-modified" ||
			lk == "x-version-id" || lk == "content-length" || lk == "content-disposition" || lk == "cache-control" {
			hs = append(hs, lk+": "+strings.Join(v, ","))
		}
	}
	sort.Strings(hs)
	sum := sha256.Sum256(r.Body)
	return fmt.Sprintf("200 %s sha256 %s", strings.Join(hs, "; "), hex.EncodeToString(sum[:]))
}

// rpSame fails the test unless the replica's snapshot is the primary's,
// naming the first difference of each part.
func rpSame(t testing.TB, what string, p, r *rpSnap) {
	t.Helper()
	if p.Last != r.Last || p.Since != r.Since || p.Files != r.Files || p.Bytes != r.Bytes {
		t.Errorf("%s: history since %d/%d, last_sync_id/files/bytes: primary %d/%d/%d, replica %d/%d/%d", what, p.Since, r.Since, p.Last, p.Files, p.Bytes, r.Last, r.Files, r.Bytes)
	}
	rpSameList(t, what+": syncnext history", p.Changes, r.Changes)
	rpSameList(t, what+": filelist", p.Live, r.Live)
	for path, pv := range p.Versions {
		rv, ok := r.Versions[path]
		if !ok {
			t.Errorf("%s: the replica's history has no change of %q", what, path)
			continue
		}
		rpSameList(t, what+": versionlist "+path, pv, rv)
	}
	for path := range r.Versions {
		if _, ok := p.Versions[path]; !ok {
			t.Errorf("%s: the replica has changes of %q, the primary none", what, path)
		}
	}
	for k, pb := range p.Bodies {
		if rb := r.Bodies[k]; rb != pb {
			t.Errorf("%s: getfile %s:\n primary %s\n replica %s", what, k, pb, rb)
		}
	}
	for k, rb := range r.Bodies {
		if _, ok := p.Bodies[k]; !ok {
			t.Errorf("%s: getfile %s only on the replica: %s", what, k, rb)
		}
	}
}

// rpSameList fails the test unless two lists of JSON objects are equal,
// naming the first index where they differ.
func rpSameList(t testing.TB, what string, p, r []map[string]any) {
	t.Helper()
	for i := 0; i < len(p) || i < len(r); i++ {
		var pi, ri map[string]any
		if i < len(p) {
			pi = p[i]
		}
		if i < len(r) {
			ri = r[i]
		}
		if !reflect.DeepEqual(pi, ri) {
			pj, _ := json.Marshal(pi)
			rj, _ := json.Marshal(ri)
			t.Errorf("%s: %d entries on the primary, %d on the replica; first difference at %d:\n primary %s\n replica %s",
				what, len(p), len(r), i, pj, rj)
			return
		}
	}
}

// rpNoDuplicates fails the test unless the history's sync ids grow
// strictly up to last_sync_id, with no more gaps than purges (a purged
// version's change leaves the history), and no sync id or version id
// appears in two versions: no change was applied twice or skipped.
func rpNoDuplicates(t testing.TB, what string, s *rpSnap) {
	t.Helper()
	prev := max(s.Since, 1) - 1 // a resynchronised replica's history starts later
	gaps, purges := 0, 0
	for i, c := range s.Changes {
		n, _ := c["sync_id"].(float64)
		if uint64(n) <= prev {
			t.Errorf("%s: change %d of the history has sync id %v after %d (a change repeated)", what, i, c["sync_id"], prev)
			return
		}
		gaps += int(uint64(n) - prev - 1)
		prev = uint64(n)
		if c["op"] == "purge" {
			purges++
		}
	}
	if prev != s.Last || gaps > purges {
		t.Errorf("%s: history ends at sync id %d (last_sync_id %d) with %d gaps and %d purges: a change skipped", what, prev, s.Last, gaps, purges)
	}
	syncIDs, versions := map[float64]string{}, map[string]string{}
	for path, vs := range s.Versions {
		for _, v := range vs {
			n, _ := v["sync_id"].(float64)
			id, _ := v["version"].(string)
			if other, dup := syncIDs[n]; dup {
				t.Errorf("%s: sync id %v is in two versions (%s and %s)", what, n, other, path)
			}
			if other, dup := versions[id]; dup {
				t.Errorf("%s: version %s is twice in the history (%s and %s)", what, id, other, path)
			}
			syncIDs[n], versions[id] = path, path
		}
	}
}

// rpProxy is a reverse proxy on 127.0.0.1 in front of a server: replicas
// use its URL as their source's, so the test can count the functions they
// call, slow down getfile, and move the target when the server behind it
// restarts on a new port.
type rpProxy struct {
	URL     string
	target  atomic.Pointer[url.URL]
	delay   atomic.Int64  // added before each getfile, in nanoseconds
	trimmed atomic.Uint64 // syncnext after less than this: 410 history_truncated
	mu      sync.Mutex
	calls   map[string]int // function name -> requests
	active  map[string]int // function name -> requests in flight
	fetched []string       // each getfile: "path@version"
}

func rpNewProxy(t testing.TB, target string) *rpProxy {
	t.Helper()
	p := &rpProxy{calls: map[string]int{}, active: map[string]int{}}
	p.setTarget(t, target)
	rev := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(p.target.Load()) },
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn := strings.ToLower(strings.Trim(r.URL.Path, "/"))
		p.mu.Lock()
		p.calls[fn]++
		p.active[fn]++
		if fn == "getfile" {
			p.fetched = append(p.fetched, r.URL.Query().Get("path")+"@"+r.URL.Query().Get("version"))
		}
		p.mu.Unlock()
		defer func() { p.mu.Lock(); p.active[fn]--; p.mu.Unlock() }()
		if after, err := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64); fn == "syncnext" && err == nil && after < p.trimmed.Load() {
			// a primary whose history before p.trimmed is gone
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			fmt.Fprintf(w, `{"error":{"code":"history_truncated","message":"history before sync id %d is no longer kept"}}`, p.trimmed.Load())
			return
		}
		if d := time.Duration(p.delay.Load()); fn == "getfile" && d > 0 {
			select { // a slow link, not a synchronisation
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		rev.ServeHTTP(w, r)
	}))
	p.URL = srv.URL
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return p
}

func (p *rpProxy) setTarget(t testing.TB, target string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p.target.Store(u)
}

// count returns how many requests of function fn passed.
func (p *rpProxy) count(fn string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[fn]
}

// inFlight returns how many requests of function fn are in flight.
func (p *rpProxy) inFlight(fn string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active[fn]
}

// fetches returns the getfile requests that passed ("path@version").
func (p *rpProxy) fetches() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.fetched...)
}

// rpDelete deletes path with the admin key, failing the test unless 200.
func rpDelete(t testing.TB, e *Env, sid, path string) {
	t.Helper()
	r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", path)})
	if r.Status != http.StatusOK {
		t.Fatalf("deletefile %s on %s: %d %s", path, e.URL, r.Status, r.Body)
	}
}

// rpWantReadOnly fails the test unless r is a 403 whose body says the
// service is a read-only replica.
func rpWantReadOnly(t testing.TB, what string, status int, body string) {
	t.Helper()
	if status != http.StatusForbidden || !strings.Contains(body, "read-only replica") {
		t.Errorf("%s on the replica: %d %.300s, want 403 mentioning \"read-only replica\"", what, status, body)
	}
}

// rpItoa is strconv.Itoa for uint64 values in queries.
func rpItoa(n uint64) string { return strconv.FormatUint(n, 10) }
