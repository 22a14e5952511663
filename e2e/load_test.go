package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/cmd/bench"
	"github.com/cairnhq/cairn/cmd/load"
)

// The load generator uploads what it says and reports every failure.
func TestLoad_Run(t *testing.T) {
	t.Parallel()
	e := Start(t)
	sid := e.WithService(t)
	r, err := load.Run(context.Background(), load.Options{URL: e.URL, Key: e.AdminKey, SID: sid, Prefix: "l/", Size: 100, Count: 40, Clients: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.Count != 40 || r.Failed != 0 || r.OpsPerS <= 0 || r.P50 <= 0 || r.Max < r.P99 || r.P99 < r.P50 {
		t.Fatalf("result: %+v", r)
	}
	resp := e.Do(t, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid, "prefix", "l/")})
	var list struct {
		Files []struct {
			Size int64 `json:"size"`
		} `json:"files"`
	}
	resp.JSON(t, &list)
	if resp.Status != http.StatusOK || len(list.Files) != 40 || list.Files[0].Size != 100 {
		t.Fatalf("filelist after the load: %d, %d files", resp.Status, len(list.Files))
	}
	reader := e.NewKey(t, map[string]string{sid: "read"})
	_, err = load.Run(context.Background(), load.Options{URL: e.URL, Key: reader.Value, SID: sid, Size: 1, Count: 3, Clients: 1})
	if err == nil || !strings.Contains(err.Error(), "3 of 3 uploads failed") {
		t.Fatalf("a read-only key must make every upload fail and say so: %v", err)
	}
}

// cairn bench's runner drives a real server with the AWS SDK, counts what
// it did, and reports failures with their S3 codes: two targets (the same
// server with two keys), a read-only one failing every PUT.
func TestBench_Run(t *testing.T) {
	t.Parallel()
	e := Start(t)
	sid := e.WithService(t)
	reader := e.NewKey(t, map[string]string{sid: "read"})
	rs, err := bench.Run(context.Background(), bench.Options{
		Targets: []bench.Target{{Name: "admin", Endpoint: e.URL, AccessKey: e.AdminKeyID, SecretKey: e.AdminKey},
			{Name: "reader", Endpoint: e.URL, AccessKey: reader.ID, SecretKey: reader.Value}},
		Bucket: sid, Mix: map[string]int{bench.OpPut: 1, bench.OpList: 1}, Size: 100, Concurrency: 4, Count: 60, Objects: 10, Prefix: "b/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 {
		t.Fatalf("results: %+v", rs)
	}
	byKey := map[string]bench.Result{}
	for _, r := range rs {
		byKey[r.Target+"/"+r.Op] = r
	}
	a, l := byKey["admin/put"], byKey["admin/list"]
	if a.Ops+l.Ops != 60 || a.Errors != 0 || l.Errors != 0 || a.Ops == 0 || a.OpsPerS <= 0 || a.P99ms < a.P50ms || a.MiBPerS <= 0 {
		t.Fatalf("admin results: %+v %+v", a, l)
	}
	files := natList(t, e, e.AdminKey, sid, "prefix", "b/").Files
	if len(files) == 0 || len(files) > 10 || files[0].Size != 100 {
		t.Fatalf("the bench's objects: %+v", files)
	}
	rp := byKey["reader/put"]
	if rp.Ops != 0 || rp.Errors == 0 || len(rp.ErrorSample) != 1 || !strings.HasPrefix(rp.ErrorSample[0], "AccessDenied") || byKey["reader/list"].Errors != 0 {
		t.Fatalf("a read-only key's PUTs must all fail with AccessDenied: %+v", rp)
	}
}
