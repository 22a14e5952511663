package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events/datadir"
)

func testConfig(t *testing.T, name string) Config {
	c := Default()
	c.Data = t.TempDir()
	c.Listen = "127.0.0.1:0"
	c.Name = name
	return c
}

func TestServer_OpenListenClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t, "server-test-1")
	s, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !s.AdminKeyGenerated || s.AdminKeyID == "" || len(s.AdminKey) < 16 {
		t.Errorf("first start: generated %v, id %q", s.AdminKeyGenerated, s.AdminKeyID)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Data, "admin.json"))
	if err != nil {
		t.Fatalf("admin.json: %v", err)
	}
	var f adminFile
	if err := json.Unmarshal(b, &f); err != nil || f.ID != s.AdminKeyID || f.Value != s.AdminKey {
		t.Errorf("admin.json holds %+v (%v), the server uses %s", f, err, s.AdminKeyID)
	}
	if fi, err := os.Stat(filepath.Join(cfg.Data, "admin.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.json mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	// A second server or an offline rebuild on the same directory is refused.
	cfg2 := cfg
	cfg2.Name = "server-test-1b"
	if s2, err := Open(ctx, cfg2, nil); err == nil {
		s2.Close(ctx)
		t.Errorf("a second Open on a directory in use succeeded")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open: %v, want 'in use'", err)
	}
	if _, err := datadir.Rebuild(ctx, cfg.Data, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Rebuild of a running server's directory: %v, want 'in use'", err)
	}

	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/servicelist", nil)
	req.Header.Set("x-owncdn-key", s.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("servicelist: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("servicelist: %d", resp.StatusCode)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Close: %v, want nil", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Reopened: same admin key, from admin.json; the lock was released.
	s, err = Open(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if s.AdminKeyGenerated || s.AdminKeyID != f.ID || s.AdminKey != f.Value {
		t.Errorf("reopen: generated %v, id %s, want %s from admin.json", s.AdminKeyGenerated, s.AdminKeyID, f.ID)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// The config's admin key wins over admin.json.
	cfg.AdminKeyID, cfg.AdminKey = "CKCONFIGKEY000000001", "config-admin-secret-value"
	s, err = Open(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("open with a configured key: %v", err)
	}
	if s.AdminKeyGenerated || s.AdminKeyID != cfg.AdminKeyID || s.AdminKey != cfg.AdminKey {
		t.Errorf("configured key: got id %s generated %v", s.AdminKeyID, s.AdminKeyGenerated)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestOpen_InvalidConfig(t *testing.T) {
	cfg := testConfig(t, "server-test-2")
	cfg.Sync = "sometimes"
	if s, err := Open(context.Background(), cfg, nil); err == nil {
		s.Close(context.Background())
		t.Fatal("Open with an invalid config succeeded")
	}
	if entries, _ := os.ReadDir(cfg.Data); len(entries) != 0 {
		t.Errorf("an invalid config still wrote into the data directory: %v", entries)
	}
}

func TestOpen_BadAdminFile(t *testing.T) {
	cfg := testConfig(t, "server-test-3")
	if err := os.WriteFile(filepath.Join(cfg.Data, "admin.json"), []byte(`{"id":""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg, nil)
	if err == nil {
		s.Close(ctx)
		t.Fatal("Open with a broken admin.json succeeded")
	}
	if !strings.Contains(err.Error(), "admin key file") {
		t.Errorf("Open: %v", err)
	}
	// the failed Open released everything: a good start works now
	if err := os.Remove(filepath.Join(cfg.Data, "admin.json")); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("Open after a failed Open: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
