package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

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
