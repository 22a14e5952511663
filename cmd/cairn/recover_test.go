package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// `cairn recover` of an undamaged log copies it whole into a directory a
// server opens, and refuses what it cannot do; the damaged case is
// e2e/damaged_log_test.go.
func TestRecover(t *testing.T) {
	ts := startServer(t)
	env := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": ts.key}
	adminJSON(t, env, nil, "servicecreate", "--id", "svc-rec")
	if st, body := httpStatus(t, http.MethodPut, ts.url+"/uploadfile?sid=svc-rec&path=f", ts.key, strings.NewReader("kept")); st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, body)
	}
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "new")
	if err := run(ctx, []string{"recover", "--data", ts.dir}, io.Discard, io.Discard, envOf(nil)); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("recover without --out: %v", err)
	}
	if err := run(ctx, []string{"recover", "--data", ts.dir, "--out", out}, io.Discard, io.Discard, envOf(nil)); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("recover of a running server's data: %v, want 'in use'", err)
	}
	last, err := ts.srv.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := run(ctx, []string{"recover", "--data", ts.dir, "--out", out}, &buf, io.Discard, envOf(nil)); err != nil {
		t.Fatalf("recover: %v\n%s", err, buf.String())
	}
	if !strings.Contains(buf.String(), "the log misses no event") {
		t.Errorf("recover said:\n%s", buf.String())
	}
	buf.Reset()
	if err := run(ctx, []string{"verify", "--data", out}, &buf, io.Discard, envOf(nil)); err != nil {
		t.Fatalf("verify of the recovered directory: %v\n%s", err, buf.String())
	}
	cfg := ts.srv.Config
	cfg.Data, cfg.Name = out, "cmd-test-recovered"
	srv := serveTest(t, cfg)
	if n, _ := srv.Log.LastSeq(ctx); n < last {
		t.Errorf("the recovered log ends at %d, the source's at %d", n, last)
	}
	if st, body := httpStatus(t, http.MethodGet, srv.URL()+"/getfile?sid=svc-rec&path=f", srv.AdminKey, nil); st != http.StatusOK || string(body) != "kept" {
		t.Errorf("getfile after recover: %d %q", st, body)
	}
}
