package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
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
	key := p.NewKey(t, map[string]string{sid: "read"})
	r.Admin(t, "sourcecreate", map[string]any{"name": "primary", "url": p.URL, "key": key.Value}, http.StatusCreated)
	r.Admin(t, "servicecreate", map[string]any{"id": sid, "replica": map[string]string{"source": "primary", "sid": sid}}, http.StatusCreated)
	return &repPair{primary: p, replica: r, sid: sid}
}

type repVersions struct {
	Versions []map[string]any `json:"versions"`
}

// repState is what must be equal on both sides: last_sync_id and the
// version list of each path.
func repState(t *testing.T, e *Env, sid string, paths ...string) (uint64, map[string][]map[string]any) {
	t.Helper()
	var list struct {
		Services []struct {
			ID         string `json:"id"`
			LastSyncID uint64 `json:"last_sync_id"`
		} `json:"services"`
	}
	e.Do(t, Req{Fn: "servicelist", Key: e.AdminKey}).JSON(t, &list)
	var last uint64
	for _, s := range list.Services {
		if s.ID == sid {
			last = s.LastSyncID
		}
	}
	out := map[string][]map[string]any{}
	for _, p := range paths {
		var v repVersions
		e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", p)}).JSON(t, &v)
		out[p] = v.Versions
	}
	return last, out
}

// repWait waits until the replica's last_sync_id is the primary's.
func (rp *repPair) wait(t *testing.T) uint64 {
	t.Helper()
	want, _ := repState(t, rp.primary, rp.sid)
	eventually(t, 30*time.Second, func() error {
		if got, _ := repState(t, rp.replica, rp.sid); got != want {
			return fmt.Errorf("replica at sync id %d, primary at %d", got, want)
		}
		return nil
	})
	return want
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
	var list struct {
		Services []struct {
			ID      string          `json:"id"`
			Replica json.RawMessage `json:"replica"`
		} `json:"services"`
	}
	rp.replica.Do(t, Req{Fn: "servicelist", Key: rp.replica.AdminKey}).JSON(t, &list)
	var lag struct {
		Source     string `json:"source"`
		Behind     uint64 `json:"behind"`
		LastResult string `json:"last_result"`
	}
	for _, s := range list.Services {
		if s.ID == sid {
			_ = json.Unmarshal(s.Replica, &lag)
		}
	}
	if lag.Source != "primary" || lag.Behind != 0 || lag.LastResult != "ok" {
		t.Fatalf("replica status %+v", lag)
	}
}

// repResyncs returns the replica's resync count from servicelist.
func repResyncs(t *testing.T, e *Env, sid string) int {
	t.Helper()
	var list struct {
		Services []struct {
			ID      string `json:"id"`
			Replica *struct {
				Resyncs int `json:"resyncs"`
			} `json:"replica"`
		} `json:"services"`
	}
	e.Do(t, Req{Fn: "servicelist", Key: e.AdminKey}).JSON(t, &list)
	for _, s := range list.Services {
		if s.ID == sid && s.Replica != nil {
			return s.Replica.Resyncs
		}
	}
	return -1
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
	if n := repResyncs(t, r, sid); n != 1 {
		t.Fatalf("resyncs = %d, want exactly 1", n)
	}
	pl, pv := repState(t, p, sid, "e")
	rl, rv := repState(t, r, sid, "e")
	if pl != rl || !reflect.DeepEqual(pv, rv) {
		t.Fatalf("after the resync: primary %d %v, replica %d %v", pl, pv, rl, rv)
	}
}
