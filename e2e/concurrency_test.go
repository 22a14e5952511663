package e2e

// Concurrent writers through the native API: conditional writes are atomic
// in the log, unconditional ones all land with consecutive sync ids.

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"
)

const natWriters = 32

// natRace runs fn(i) for i in [0, n) in n goroutines released together and
// returns the responses; a transport error fails the test.
func natRace(t *testing.T, n int, fn func(i int) (*Resp, error)) []*Resp {
	t.Helper()
	out := make([]*Resp, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			out[i], errs[i] = fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	return out
}

func TestConcurrency_Native(t *testing.T) {
	t.Parallel()
	e := Start(t)

	t.Run("if_none_match_one_winner", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		resps := natRace(t, natWriters, func(i int) (*Resp, error) {
			return e.Send(Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "only-once"),
				Body: bytes.NewReader([]byte("writer " + strconv.Itoa(i))), Header: map[string]string{"If-None-Match": "*"}})
		})
		winner := -1
		conflicts := 0
		for i, r := range resps {
			switch r.Status {
			case http.StatusCreated:
				if winner >= 0 {
					t.Errorf("writers %d and %d both got 201", winner, i)
				}
				winner = i
			case http.StatusConflict:
				natWantErr(t, "loser", r, http.StatusConflict, "precondition_failed")
				conflicts++
			default:
				t.Errorf("writer %d: status %d: %s", i, r.Status, r.Body)
			}
		}
		if winner < 0 || conflicts != natWriters-1 {
			t.Fatalf("%d conflicts and winner %d, want 1 winner and %d conflicts", conflicts, winner, natWriters-1)
		}
		var u UploadResult
		resps[winner].JSON(t, &u)
		vs := natVersions(t, e, e.AdminKey, sid, "only-once")
		if len(vs) != 1 || vs[0].Version != u.Version || vs[0].ETag != u.ETag || !vs[0].Current {
			t.Errorf("versionlist: %+v, winner %+v", vs, u)
		}
		if g := natGet(t, e, e.AdminKey, sid, "only-once"); string(g.Body) != "writer "+strconv.Itoa(winner) {
			t.Errorf("content %q, winner was %d", g.Body, winner)
		}
		if s := natServices(t, e, e.AdminKey)[sid]; s.LastSyncID != 1 || s.Files != 1 {
			t.Errorf("service after the race: %+v", s)
		}
	})

	t.Run("if_match_one_winner", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		base := e.Upload(t, e.AdminKey, sid, "cas", []byte("base"), nil)
		// bodies past the inline threshold: the blob is written before the race is decided
		body := func(i int) []byte { return bytes.Repeat([]byte("writer "+strconv.Itoa(i)+";"), 8000) }
		resps := natRace(t, natWriters, func(i int) (*Resp, error) {
			return e.Send(Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "cas"),
				Body: bytes.NewReader(body(i)), Header: map[string]string{"If-Match": `"` + base.ETag + `"`}})
		})
		won, winner := 0, -1
		for i, r := range resps {
			switch r.Status {
			case http.StatusCreated:
				won, winner = won+1, i
			case http.StatusConflict:
			default:
				t.Errorf("writer %d: status %d: %s", i, r.Status, r.Body)
			}
		}
		if won != 1 {
			t.Errorf("%d writers won a compare-and-swap on one etag, want 1", won)
		}
		if vs := natVersions(t, e, e.AdminKey, sid, "cas"); len(vs) != 2 {
			t.Errorf("versions: %d, want 2", len(vs))
		}
		if g := natGet(t, e, e.AdminKey, sid, "cas"); won == 1 && !bytes.Equal(g.Body, body(winner)) {
			t.Errorf("content is not the winner's (%d bytes)", len(g.Body))
		}
	})

	t.Run("delete_one_winner", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		e.Upload(t, e.AdminKey, sid, "d", []byte("x"), nil)
		resps := natRace(t, natWriters, func(i int) (*Resp, error) {
			return e.Send(Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "d")})
		})
		ok := 0
		for i, r := range resps {
			switch r.Status {
			case http.StatusOK:
				ok++
			case http.StatusNotFound:
			default:
				t.Errorf("deleter %d: status %d: %s", i, r.Status, r.Body)
			}
		}
		if ok != 1 {
			t.Errorf("%d deletes succeeded, want 1", ok)
		}
		if vs := natVersions(t, e, e.AdminKey, sid, "d"); len(vs) != 2 || !vs[0].Deleted {
			t.Errorf("versions: %+v, want one tombstone over one version", vs)
		}
	})

	t.Run("distinct_paths", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		resps := natRace(t, natWriters, func(i int) (*Resp, error) {
			return e.Send(Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "p/"+strconv.Itoa(i)),
				Body: bytes.NewReader([]byte("body " + strconv.Itoa(i)))})
		})
		var ids []int
		for i, r := range resps {
			if r.Status != http.StatusCreated {
				t.Fatalf("writer %d: status %d: %s", i, r.Status, r.Body)
			}
			var u UploadResult
			r.JSON(t, &u)
			ids = append(ids, int(u.SyncID))
		}
		sort.Ints(ids)
		for i, id := range ids {
			if id != i+1 {
				t.Fatalf("upload sync ids %v, want 1..%d", ids, natWriters)
			}
		}
		p := natSync(t, e, e.AdminKey, sid, "after", "0", "limit", "1000")
		if len(p.Updates) != natWriters || p.LastSyncID != natWriters {
			t.Fatalf("syncnext: %d updates, last_sync_id %d", len(p.Updates), p.LastSyncID)
		}
		seen := map[string]bool{}
		for i, u := range p.Updates {
			if u.SyncID != uint64(i+1) || u.Op != "put" {
				t.Errorf("update %d: %+v", i, u)
			}
			seen[u.Path] = true
		}
		if len(seen) != natWriters {
			t.Errorf("syncnext covers %d paths, want %d", len(seen), natWriters)
		}
		for i := 0; i < natWriters; i++ {
			if g := natGet(t, e, e.AdminKey, sid, "p/"+strconv.Itoa(i)); string(g.Body) != "body "+strconv.Itoa(i) {
				t.Errorf("p/%d: %d %q", i, g.Status, g.Body)
			}
		}
		if s := natServices(t, e, e.AdminKey)[sid]; s.Files != natWriters || s.LastSyncID != natWriters {
			t.Errorf("service: %+v", s)
		}
	})
}
