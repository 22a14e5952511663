package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/schema"
)

// syncBuffer is an io.Writer that serve may write to while the test reads.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{notify: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.notify)
	b.notify = make(chan struct{})
	return b.buf.Write(p)
}

func (b *syncBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.notify
}

func (b *syncBuffer) String() string { s, _ := b.snapshot(); return s }

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// served is a `cairn serve` running in a goroutine.
type served struct {
	out, errs *syncBuffer
	cancel    context.CancelFunc
	done      chan error
	url       string
}

var listeningRe = regexp.MustCompile(`(?m)^cairn is listening on (http://\S+) \(data in (.+), sync (\S+)\)$`)

// startServe runs `cairn serve args...` and waits until it prints its
// banner (the last line is the curl hint).
func startServe(t *testing.T, env map[string]string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{out: newSyncBuffer(), errs: newSyncBuffer(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, append([]string{"serve"}, args...), s.out, s.errs, envOf(env)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			t.Errorf("serve did not return after cancel")
		}
	})
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		out, more := s.out.snapshot()
		if strings.Contains(out, "try: curl") {
			m := listeningRe.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("serve printed no URL line:\n%s", out)
			}
			s.url = m[1]
			return s
		}
		select {
		case <-more:
		case err := <-s.done:
			t.Fatalf("serve returned early: %v\nstdout:\n%s\nstderr:\n%s", err, out, s.errs)
		case <-deadline.C:
			t.Fatalf("serve did not start in time\nstdout:\n%s\nstderr:\n%s", out, s.errs)
		}
	}
}

// stop cancels the context (what Ctrl-C does) and requires a clean return.
func (s *served) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve after cancel: %v\nstderr:\n%s", err, s.errs)
		}
		s.done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not shut down after cancel")
	}
}

func httpStatus(t *testing.T, method, url, key string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-owncdn-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

var (
	keyIDLineRe = regexp.MustCompile(`(?m)^  key id: (\S+)$`)
	keyLineRe   = regexp.MustCompile(`(?m)^  key:    (\S+)$`)
)

func TestServe(t *testing.T) {
	dir := t.TempDir()

	// First start on an empty directory: a generated admin key, printed.
	s := startServe(t, nil, "--data", dir, "--listen", "127.0.0.1:0")
	out := s.out.String()
	m := listeningRe.FindStringSubmatch(out)
	if m[2] != dir || m[3] != "always" {
		t.Errorf("banner: data %q sync %q, want %q and always", m[2], m[3], dir)
	}
	if !strings.Contains(out, "admin key (generated, kept in "+dir+"/admin.json)") {
		t.Errorf("banner does not say the key was generated:\n%s", out)
	}
	idm, km := keyIDLineRe.FindStringSubmatch(out), keyLineRe.FindStringSubmatch(out)
	if idm == nil || km == nil {
		t.Fatalf("no admin key id and key printed:\n%s", out)
	}
	keyID, key := idm[1], km[1]
	if !schema.ValidKeyID(keyID) || len(key) < 16 {
		t.Errorf("printed key id %q / key of %d characters", keyID, len(key))
	}
	if st, body := httpStatus(t, http.MethodGet, s.url+"/servicelist", key, nil); st != http.StatusOK {
		t.Errorf("servicelist with the printed key: %d %s", st, body)
	}
	if st, _ := httpStatus(t, http.MethodGet, s.url+"/servicelist", "not-the-key-at-all", nil); st != http.StatusUnauthorized {
		t.Errorf("servicelist with a wrong key: %d, want 401", st)
	}
	if strings.Contains(s.errs.String(), key) {
		t.Errorf("the admin key is in the log")
	}
	s.stop(t)
	if st := pingErr(s.url); st == nil {
		t.Errorf("the server still answers after serve returned")
	}

	// Second start: the same key, read back from admin.json.
	s = startServe(t, nil, "--data", dir, "--listen", "127.0.0.1:0")
	out = s.out.String()
	if !strings.Contains(out, "admin key (from "+dir+"/admin.json)") || !strings.Contains(out, "key id: "+keyID) || !strings.Contains(out, "key:    "+key) {
		t.Errorf("second start does not show the kept key:\n%s", out)
	}
	s.stop(t)

	// CAIRN_ADMIN_KEY_ID / CAIRN_ADMIN_KEY override it; the value is not printed.
	envKeyID, envKey := "CKFROMTHEENVIRONMENT", "an-environment-admin-key"
	s = startServe(t, map[string]string{"CAIRN_ADMIN_KEY_ID": envKeyID, "CAIRN_ADMIN_KEY": envKey}, "--data", dir, "--listen", "127.0.0.1:0")
	out = s.out.String()
	if !strings.Contains(out, "admin key id "+envKeyID+" (key from CAIRN_ADMIN_KEY)") {
		t.Errorf("banner with an environment key:\n%s", out)
	}
	if strings.Contains(out, envKey) || strings.Contains(s.errs.String(), envKey) {
		t.Errorf("the environment's admin key value was printed or logged")
	}
	if st, body := httpStatus(t, http.MethodGet, s.url+"/servicelist", envKey, nil); st != http.StatusOK {
		t.Errorf("servicelist with the environment key: %d %s", st, body)
	}
	if st, _ := httpStatus(t, http.MethodGet, s.url+"/servicelist", key, nil); st != http.StatusUnauthorized {
		t.Errorf("servicelist with admin.json's key while the environment overrides it: %d, want 401", st)
	}
	s.stop(t)
}

// TestServe_Interrupt sends the process a real SIGINT (what Ctrl-C does):
// serve shuts down in order and returns nil.
func TestServe_Interrupt(t *testing.T) {
	s := startServe(t, nil, "--data", t.TempDir(), "--listen", "127.0.0.1:0")
	// serve installed its signal handler before printing the banner, so
	// the signal cannot take the default action (exit) here.
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve after SIGINT: %v\nstderr:\n%s", err, s.errs)
		}
		s.done <- nil
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not shut down after SIGINT")
	}
	if !strings.Contains(s.errs.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", s.errs)
	}
	if err := pingErr(s.url); err == nil {
		t.Errorf("the server still answers after SIGINT")
	}
}

// pingErr returns the error of a request to url (nil when it answers).
func pingErr(url string) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url + "/servicelist")
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestServe_ConfigFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "from-config")
	cfgPath := filepath.Join(t.TempDir(), "cairn.json")
	cfg, _ := json.Marshal(map[string]any{"data": dir, "listen": "127.0.0.1:0", "sync": "2s"})
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, nil, "--config", cfgPath)
	m := listeningRe.FindStringSubmatch(s.out.String())
	if m[2] != dir || m[3] != "2s" {
		t.Errorf("banner: data %q sync %q, want the config file's %q and 2s", m[2], m[3], dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "admin.json")); err != nil {
		t.Errorf("the config file's data directory was not used: %v", err)
	}
	s.stop(t)

	// A bad config file stops serve before it starts.
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"data": "x", "colour": "blue"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"serve", "--config", bad}, io.Discard, io.Discard, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("serve with an unknown config field: %v", err)
	}
}

func TestLoadConfig_Precedence(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "cairn.json")
	if err := os.WriteFile(cfgPath, []byte(`{"data": "from-file", "listen": "127.0.0.1:1001", "sync": "3s", "log_level": "debug"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CAIRN_DATA": "from-env", "CAIRN_LISTEN": "127.0.0.1:1002"}
	cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), []string{"--config", cfgPath, "--data", "from-flag"}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "from-flag" || cfg.Listen != "127.0.0.1:1002" || cfg.Sync != "3s" || cfg.LogLevel != "debug" {
		t.Errorf("precedence (flag > env > file > default): %+v", cfg)
	}
	if _, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), []string{"--sync", "sometimes"}, envOf(nil)); err == nil {
		t.Errorf("--sync sometimes accepted")
	}
	if _, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), []string{"--listen", "nowhere"}, envOf(nil)); err == nil {
		t.Errorf("--listen nowhere accepted")
	}
}

func TestRun_Usage(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), nil, &out, &errs, envOf(nil)); err == nil || !strings.Contains(errs.String(), "usage: cairn") {
		t.Errorf("no command: %v, stderr %q", err, errs.String())
	}
	errs.Reset()
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errs, envOf(nil)); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("unknown command: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, &out, &errs, envOf(nil)); err != nil || !strings.Contains(out.String(), "rebuild") {
		t.Errorf("help: %v %q", err, out.String())
	}
}

// testServer is an in-process server for the admin and rebuild commands.
type testServer struct {
	srv *server.Server
	dir string
	url string
	key string
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	cfg := server.Default()
	cfg.Data, cfg.Name = t.TempDir(), "cmd-test"
	srv := serveTest(t, cfg)
	return &testServer{srv: srv, dir: cfg.Data, url: srv.URL(), key: srv.AdminKey}
}

// serveTest opens a server on cfg, listening on a free local port, and serves
// it until the test ends.
func serveTest(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := server.Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close(ctx)
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close(context.Background()) })
	return srv
}

// admin runs `cairn admin args...` and decodes its JSON output.
func adminJSON(t *testing.T, env map[string]string, v any, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"admin"}, args...), &out, io.Discard, envOf(env)); err != nil {
		t.Fatalf("cairn admin %v: %v", args, err)
	}
	if v != nil {
		if err := json.Unmarshal(out.Bytes(), v); err != nil {
			t.Fatalf("cairn admin %v printed no JSON: %v\n%s", args, err, out.String())
		}
	}
	return out.String()
}

func adminErr(t *testing.T, env map[string]string, args ...string) error {
	t.Helper()
	err := run(context.Background(), append([]string{"admin"}, args...), io.Discard, io.Discard, envOf(env))
	if err == nil {
		t.Fatalf("cairn admin %v succeeded, want an error", args)
	}
	return err
}

type adminKeyJSON struct {
	ID     string            `json:"id"`
	Value  *string           `json:"value"`
	Name   string            `json:"name"`
	Access map[string]string `json:"access"`
}

func TestAdmin(t *testing.T) {
	ts := startServer(t)
	flags := []string{"--url", ts.url, "--key", ts.key}
	env := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": ts.key}

	// servicecreate with flags and with the environment.
	var svc struct {
		ID, Name, Type string
		KeepVersions   string `json:"keep_versions"`
	}
	adminJSON(t, nil, &svc, append([]string{"servicecreate", "--id", "svc-one", "--name", "One", "--keep-versions", "720h"}, flags...)...)
	if svc.ID != "svc-one" || svc.Name != "One" || svc.Type != "storage" || svc.KeepVersions != "720h" {
		t.Errorf("servicecreate: %+v", svc)
	}
	adminJSON(t, env, &svc, "servicecreate", "--id", "svc-two")
	if svc.ID != "svc-two" {
		t.Errorf("servicecreate from the environment: %+v", svc)
	}
	var sl struct {
		Services []struct{ ID string } `json:"services"`
	}
	adminJSON(t, env, &sl, "servicelist")
	if len(sl.Services) != 2 {
		t.Errorf("servicelist: %+v", sl)
	}

	// keycreate --read / --write
	var k adminKeyJSON
	adminJSON(t, nil, &k, append([]string{"keycreate", "--name", "deploy", "--read", "svc-one", "--write", "svc-two"}, flags...)...)
	if k.ID == "" || k.Value == nil || *k.Value == "" || k.Name != "deploy" ||
		len(k.Access) != 2 || k.Access["svc-one"] != "read" || k.Access["svc-two"] != "write" {
		t.Fatalf("keycreate: %+v", k)
	}
	value := *k.Value
	if st, _ := httpStatus(t, http.MethodGet, ts.url+"/filelist?sid=svc-one", value, nil); st != http.StatusOK {
		t.Errorf("the new key cannot read svc-one: %d", st)
	}
	if st, _ := httpStatus(t, http.MethodPut, ts.url+"/uploadfile?sid=svc-one&path=f", value, strings.NewReader("x")); st != http.StatusForbidden {
		t.Errorf("the read key wrote to svc-one: %d", st)
	}
	if st, _ := httpStatus(t, http.MethodPut, ts.url+"/uploadfile?sid=svc-two&path=f", value, strings.NewReader("x")); st != http.StatusCreated {
		t.Errorf("the write key cannot write to svc-two: %d", st)
	}
	var k2 adminKeyJSON
	adminJSON(t, env, &k2, "keycreate", "--name", "everything", "--read", "*")
	if k2.Access["*"] != "read" || k2.Value == nil {
		t.Errorf("keycreate --read '*': %+v", k2)
	}

	// keylist: ids and names, never a value.
	var kl struct {
		Keys []map[string]any `json:"keys"`
	}
	raw := adminJSON(t, env, &kl, "keylist")
	if strings.Contains(raw, value) || strings.Contains(raw, *k2.Value) || strings.Contains(raw, ts.key) || strings.Contains(raw, `"value"`) {
		t.Errorf("keylist shows key values:\n%s", raw)
	}
	ids := map[string]bool{}
	for _, kk := range kl.Keys {
		id, _ := kk["id"].(string)
		ids[id] = true
	}
	if !ids[k.ID] || !ids[k2.ID] {
		t.Errorf("keylist misses the new keys: %s", raw)
	}
	// keycreate --login with no access: a key whose rights come only from
	// container ACLs, listed with its login
	var k3 map[string]any
	adminJSON(t, env, &k3, "keycreate", "--name", "acl-only", "--login", "ops.bot")
	raw = adminJSON(t, env, &kl, "keylist")
	listed := false
	for _, kk := range kl.Keys {
		listed = listed || (kk["id"] == k3["id"] && kk["login"] == "ops.bot")
	}
	if k3["login"] != "ops.bot" || len(k3["access"].(map[string]any)) != 0 || !listed {
		t.Errorf("keycreate --login: %v; keylist:\n%s", k3, raw)
	}

	// keyrevoke: gone from the list, refused by the server.
	if out := adminJSON(t, nil, &map[string]any{}, append([]string{"keyrevoke", "--id", k.ID}, flags...)...); strings.TrimSpace(out) != "{}" {
		t.Errorf("keyrevoke printed %q, want {}", out)
	}
	raw = adminJSON(t, env, &kl, "keylist")
	if strings.Contains(raw, k.ID) {
		t.Errorf("keylist still shows the revoked key:\n%s", raw)
	}
	if st, _ := httpStatus(t, http.MethodGet, ts.url+"/filelist?sid=svc-one", value, nil); st != http.StatusUnauthorized {
		t.Errorf("the revoked key still reads: %d", st)
	}

	// servicedelete: refused while it holds files; svc-one goes.
	if err := adminErr(t, env, "servicedelete", "--id", "svc-two"); !strings.Contains(err.Error(), "409") {
		t.Errorf("servicedelete of a service with files: %v, want a 409", err)
	}
	if out := adminJSON(t, env, &map[string]any{}, "servicedelete", "--id", "svc-one"); strings.TrimSpace(out) != "{}" {
		t.Errorf("servicedelete printed %q, want {}", out)
	}
	adminJSON(t, env, &sl, "servicelist")
	if len(sl.Services) != 1 || sl.Services[0].ID != "svc-two" {
		t.Errorf("servicelist after servicedelete: %+v", sl)
	}

	// Flags win over the environment; --data finds the key in admin.json.
	adminJSON(t, map[string]string{"CAIRN_URL": "http://127.0.0.1:1", "CAIRN_KEY": "wrong"}, &sl, "servicelist", "--url", ts.url, "--key", ts.key)
	adminJSON(t, map[string]string{"CAIRN_URL": ts.url}, &sl, "servicelist", "--data", ts.dir)

	// Errors.
	if err := adminErr(t, env, "servicecreate"); !strings.Contains(err.Error(), "needs --id") {
		t.Errorf("servicecreate without --id: %v", err)
	}
	if err := adminErr(t, env, "frobnicate"); !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("unknown function: %v", err)
	}
	if err := adminErr(t, map[string]string{"CAIRN_URL": ts.url}, "servicelist", "--data", t.TempDir()); !strings.Contains(err.Error(), "no admin key") {
		t.Errorf("no key anywhere: %v", err)
	}
	if err := adminErr(t, map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": "not-a-key-value-at-all"}, "servicelist"); !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong key: %v", err)
	}
	if err := adminErr(t, map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": value}, "keylist"); !strings.Contains(err.Error(), "401") {
		t.Errorf("revoked key: %v", err)
	}
	if err := adminErr(t, nil); !strings.Contains(err.Error(), "missing function") {
		t.Errorf("admin without a function: %v", err)
	}
}

var (
	appliedRe = regexp.MustCompile(`(?m)^applied (\d+) of (\d+) events$`)
	rebuiltRe = regexp.MustCompile(`^rebuilt (\d+) events in \S+ \((\d+) events/s\), digest ([0-9a-f]{64})$`)
)

func TestRebuild(t *testing.T) {
	cfg := server.Default()
	cfg.Data, cfg.Name = t.TempDir(), "cmd-test"
	cfg.CheckpointOnStop = false // the rebuild must find exactly the events the live projections folded
	srv := serveTest(t, cfg)
	ts := &testServer{srv: srv, dir: cfg.Data, url: srv.URL(), key: srv.AdminKey}
	env := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": ts.key}
	adminJSON(t, env, nil, "servicecreate", "--id", "svc-r")
	for i := range 5 {
		if st, body := httpStatus(t, http.MethodPut, ts.url+"/uploadfile?sid=svc-r&path=f"+strconv.Itoa(i), ts.key, strings.NewReader(strings.Repeat("x", i*30000))); st != http.StatusCreated {
			t.Fatalf("upload: %d %s", st, body)
		}
	}
	if st, _ := httpStatus(t, http.MethodDelete, ts.url+"/deletefile?sid=svc-r&path=f1", ts.key, nil); st != http.StatusOK {
		t.Fatalf("delete: %d", st)
	}
	ctx := context.Background()
	last, err := ts.srv.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.State.Wait(ctx, last); err != nil {
		t.Fatal(err)
	}
	live, err := ts.srv.State.Digest()
	if err != nil {
		t.Fatal(err)
	}

	// refused while the server runs
	if err := run(ctx, []string{"rebuild", "--data", ts.dir}, io.Discard, io.Discard, envOf(nil)); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("rebuild of a running server's data: %v, want 'in use'", err)
	}
	if err := ts.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"rebuild", "--data", ts.dir}, &out, io.Discard, envOf(nil)); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	progress := appliedRe.FindAllStringSubmatch(out.String(), -1)
	if len(progress) == 0 {
		t.Fatalf("rebuild printed no progress:\n%s", out.String())
	}
	if fin := progress[len(progress)-1]; fin[1] != strconv.FormatUint(last, 10) || fin[2] != strconv.FormatUint(last, 10) {
		t.Errorf("last progress line %q, want applied %d of %d", fin[0], last, last)
	}
	m := rebuiltRe.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("the last line is not the summary:\n%s", out.String())
	}
	if m[1] != strconv.FormatUint(last, 10) || m[3] != live {
		t.Errorf("summary: %s events, digest %s; want %d and the live digest %s", m[1], m[3], last, live)
	}

	// via CAIRN_DATA, and again: a rebuild of a rebuild is the same.
	out.Reset()
	if err := run(ctx, []string{"rebuild"}, &out, io.Discard, envOf(map[string]string{"CAIRN_DATA": ts.dir})); err != nil {
		t.Fatalf("rebuild with CAIRN_DATA: %v", err)
	}
	if !strings.Contains(out.String(), "digest "+live) {
		t.Errorf("second rebuild:\n%s\nwant digest %s", out.String(), live)
	}

	// a directory with no server in it
	missing := filepath.Join(t.TempDir(), "nothing-here")
	if err := run(ctx, []string{"rebuild", "--data", missing}, io.Discard, io.Discard, envOf(nil)); err == nil {
		t.Errorf("rebuild of a missing directory succeeded")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("rebuild created the missing data directory %s", missing)
	}
}
