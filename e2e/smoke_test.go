package e2e

import (
	"net/http"
	"testing"
)

func TestHarness_UploadGet(t *testing.T) {
	t.Parallel()
	e := Start(t)
	sid := e.WithService(t)
	u := e.Upload(t, e.AdminKey, sid, "a/b.txt", []byte("hello"), nil)
	if u.SyncID != 1 || u.Size != 5 {
		t.Fatalf("upload: %+v", u)
	}
	r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "a/b.txt")})
	if r.Status != http.StatusOK || string(r.Body) != "hello" {
		t.Fatalf("getfile: %d %q", r.Status, r.Body)
	}
}
