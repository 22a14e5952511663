package e2e

import (
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// repPair is a primary and a replica of one of its services.
type repPair struct {
	primary, replica *Env
	sid              string // the same id on both sides
}

// repStart starts a primary with a service and a replica server that
// follows it through a source named "primary".
func repStart(t *testing.T) *repPair {
	t.Helper()
	p := StartLocal(t, "runs a replica beside its primary")
	r := StartLocal(t, "runs a replica beside its primary")
	sid := p.WithService(t)
	rpAttach(t, r, "primary", p.URL, rpReadKey(t, p, "", sid), sid, sid, "")
	return &repPair{primary: p, replica: r, sid: sid}
}

type repVersions struct {
	Versions []map[string]any `json:"versions"`
}

// repState is what must be equal on both sides: last_sync_id and the
// version list of each path.
func repState(t *testing.T, e *Env, sid string, paths ...string) (uint64, map[string][]map[string]any) {
	t.Helper()
	last := rpSvc(t, e, sid).LastSyncID
	out := map[string][]map[string]any{}
	for _, p := range paths {
		var v repVersions
		e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", p)}).JSON(t, &v)
		out[p] = v.Versions
	}
	return last, out
}

// wait waits until the replica's last_sync_id is the primary's and
// returns it.
func (rp *repPair) wait(t *testing.T) uint64 {
	t.Helper()
	return rpWaitSync(t, rp.primary, rp.sid, rp.replica, rp.sid)
}

func TestReplica_FollowsPrimary(t *testing.T) {
	rp := repStart(t)
	p, sid := rp.primary, rp.sid
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: the blobstore
	p.Upload(t, p.AdminKey, sid, "a.txt", []byte("one"), map[string]string{"x-owncdn-meta-color": "blue"})
	p.Upload(t, p.AdminKey, sid, "a.txt", []byte("two"), nil)
	p.Upload(t, p.AdminKey, sid, "big.bin", big, map[string]string{"Content-Type": "application/x-big"})
	p.Upload(t, p.AdminKey, sid, "gone.txt", []byte("bye"), nil)
	if r := p.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: p.AdminKey, Query: Q("sid", sid, "path", "gone.txt")}); r.Status != http.StatusOK {
		t.Fatalf("deletefile: %d %s", r.Status, r.Body)
	}
	last := rp.wait(t)
	paths := []string{"a.txt", "big.bin", "gone.txt"}
	pl, pv := repState(t, p, sid, paths...)
	rl, rv := repState(t, rp.replica, sid, paths...)
	if pl != rl || pl != last || !reflect.DeepEqual(pv, rv) {
		t.Fatalf("primary %d %v\nreplica %d %v", pl, pv, rl, rv)
	}
	for path, want := range map[string][]byte{"a.txt": []byte("two"), "big.bin": big} {
		r := rp.replica.Do(t, Req{Fn: "getfile", Key: rp.replica.AdminKey, Query: Q("sid", sid, "path", path)})
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, want) {
			t.Fatalf("replica getfile %s: %d, %d bytes", path, r.Status, len(r.Body))
		}
	}
	// read-only to clients
	r := rp.replica.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: rp.replica.AdminKey,
		Query: Q("sid", sid, "path", "x"), Body: strings.NewReader("x")})
	if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "read-only replica") {
		t.Fatalf("a write to the replica: %d %s", r.Status, r.Body)
	}
	// lag in servicelist
	if lag := rpSvc(t, rp.replica, sid).Replica; lag == nil || lag.Source != "primary" || lag.Behind != 0 || lag.LastResult != "ok" {
		t.Fatalf("replica status %+v", lag)
	}
}

// A replica whose history diverged from its primary's (both took writes
// after a failover) starts over at the primary's current files, once, and
// follows it again.
func TestReplica_ResyncAfterDivergence(t *testing.T) {
	rp := repStart(t)
	p, r, sid := rp.primary, rp.replica, rp.sid
	p.Upload(t, p.AdminKey, sid, "a", []byte("a1"), nil)
	p.Upload(t, p.AdminKey, sid, "b", bytes.Repeat([]byte("b"), 100000), nil)
	rp.wait(t)
	r.Admin(t, "serviceupdate", map[string]any{"id": sid, "promote": true}, http.StatusOK)
	r.Upload(t, r.AdminKey, sid, "only-on-replica", []byte("c"), nil)
	r.Upload(t, r.AdminKey, sid, "a", []byte("a-replica"), nil)
	p.Upload(t, p.AdminKey, sid, "d", []byte("d1"), nil)
	r.Admin(t, "serviceupdate", map[string]any{"id": sid, "follow": map[string]string{"source": "primary", "sid": sid}}, http.StatusOK)
	rp.wait(t)
	p.Upload(t, p.AdminKey, sid, "e", []byte("after"), nil) // followed change by change again
	rp.wait(t)
	want := map[string]string{"a": "a1", "d": "d1", "e": "after", "only-on-replica": ""}
	for path, body := range want {
		got := r.Do(t, Req{Fn: "getfile", Key: r.AdminKey, Query: Q("sid", sid, "path", path)})
		if (body == "" && got.Status != http.StatusNotFound) || (body != "" && string(got.Body) != body) {
			t.Fatalf("replica %s after the resync: %d %q, want %q", path, got.Status, got.Body, body)
		}
	}
	if got := r.Do(t, Req{Fn: "getfile", Key: r.AdminKey, Query: Q("sid", sid, "path", "b")}); len(got.Body) != 100000 {
		t.Fatalf("replica b after the resync: %d, %d bytes", got.Status, len(got.Body))
	}
	if st := rpSvc(t, r, sid).Replica; st == nil || st.Resyncs != 1 {
		t.Fatalf("replica status %+v, want exactly 1 resync", st)
	}
	pl, pv := repState(t, p, sid, "e")
	rl, rv := repState(t, r, sid, "e")
	if pl != rl || !reflect.DeepEqual(pv, rv) {
		t.Fatalf("after the resync: primary %d %v, replica %d %v", pl, pv, rl, rv)
	}
}
