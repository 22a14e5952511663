package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
)

// The durability tests need a server they can kill -9, so they run this
// very test binary a second time as a child process: with CAIRN_E2E_CHILD=1
// TestChildServer opens a server on CAIRN_E2E_DATA, prints one JSON line
// (childHello) on stdout, serves until SIGINT or SIGTERM, then shuts down in
// order and passes (exit 0). Run normally, it is skipped.
const (
	childEnv     = "CAIRN_E2E_CHILD"
	childDataEnv = "CAIRN_E2E_DATA"
)

// childHello is the line the child prints once it is listening.
type childHello struct {
	URL        string `json:"url"`
	AdminKeyID string `json:"admin_key_id"`
	AdminKey   string `json:"admin_key"`
	PID        int    `json:"pid"`
}

func TestChildServer(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("helper process: the durability tests run this binary as a server child")
	}
	cfg := server.Default()
	cfg.Data = os.Getenv(childDataEnv)
	cfg.Listen = "127.0.0.1:0"
	cfg.Name = "cairn-child"
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	octx, cancel := context.WithTimeout(ctx, 60*time.Second)
	srv, err := server.Open(octx, cfg, logger)
	cancel()
	if err != nil {
		t.Fatalf("child: server.Open: %v", err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close(context.Background())
		t.Fatalf("child: Listen: %v", err)
	}
	b, _ := json.Marshal(childHello{URL: srv.URL(), AdminKeyID: srv.AdminKeyID, AdminKey: srv.AdminKey, PID: os.Getpid()})
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", b); err != nil {
		t.Fatalf("child: write hello: %v", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	select {
	case err := <-errc:
		srv.Close(context.Background())
		t.Fatalf("child: Serve ended before a signal: %v", err)
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if err := srv.Close(sctx); err != nil {
		t.Fatalf("child: ordered shutdown: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("child: Serve after shutdown: %v", err)
	}
	fmt.Fprintln(os.Stdout, `{"stopped":true}`)
}

// childOutput collects a child's stdout or stderr and tells waiters when
// more arrived.
type childOutput struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{}
}

func newChildOutput() *childOutput { return &childOutput{notify: make(chan struct{})} }

func (o *childOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buf.Len() < 4<<20 { // keep the first 4 MiB for diagnostics
		o.buf.Write(p)
	}
	close(o.notify)
	o.notify = make(chan struct{})
	return len(p), nil
}

// snapshot returns what arrived so far and a channel closed at the next write.
func (o *childOutput) snapshot() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String(), o.notify
}

func (o *childOutput) String() string { s, _ := o.snapshot(); return s }

// childServer is a server running in a child process.
type childServer struct {
	dir    string
	cmd    *exec.Cmd
	stdout *childOutput
	stderr *childOutput
	hello  childHello
	done   chan struct{} // closed when the process has been waited for
	err    error         // cmd.Wait's result, valid once done is closed
}

// startChild starts the server child on dir and waits for its hello line.
func startChild(t *testing.T, dir string) *childServer {
	t.Helper()
	skipExternal(t, "runs its own server process (to kill it, restart it or measure it)")
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("os.Executable: %v", err)
	}
	c := &childServer{dir: dir, stdout: newChildOutput(), stderr: newChildOutput(), done: make(chan struct{})}
	c.cmd = exec.Command(exe, "-test.run=^TestChildServer$", "-test.timeout=5m")
	c.cmd.Env = append(os.Environ(), childEnv+"=1", childDataEnv+"="+dir)
	c.cmd.Stdout, c.cmd.Stderr = c.stdout, c.stderr
	c.cmd.WaitDelay = 10 * time.Second
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	for {
		out, more := c.stdout.snapshot()
		if line, ok := childHelloLine(out); ok {
			if err := json.Unmarshal([]byte(line), &c.hello); err != nil || c.hello.URL == "" || c.hello.AdminKey == "" {
				t.Fatalf("child hello %q: %v", line, err)
			}
			return c
		}
		select {
		case <-more:
		case <-c.done:
			t.Fatalf("child exited before listening (%v)\nstdout:\n%s\nstderr:\n%s", c.err, c.stdout, c.stderr)
		case <-deadline.C:
			t.Fatalf("child did not print its URL in time\nstdout:\n%s\nstderr:\n%s", c.stdout, c.stderr)
		}
	}
}

// childHelloLine finds the first complete line that is a hello.
func childHelloLine(out string) (string, bool) {
	lines := strings.Split(out, "\n")
	for _, line := range lines[:len(lines)-1] { // the last piece is not a complete line yet
		if strings.HasPrefix(line, `{"url":`) {
			return line, true
		}
	}
	return "", false
}

// env is an Env talking to the child (no in-process server: Srv is nil).
func (c *childServer) env() *Env {
	return &Env{URL: c.hello.URL, AdminKeyID: c.hello.AdminKeyID, AdminKey: c.hello.AdminKey, Dir: c.dir,
		Client: &http.Client{Timeout: 90 * time.Second}}
}

// wait waits for the process to end.
func (c *childServer) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Fatalf("child did not exit after %s\nstderr:\n%s", what, c.stderr)
	}
	if s := c.stderr.String(); strings.Contains(s, "WARNING: DATA RACE") || strings.Contains(s, "panic:") {
		t.Errorf("child reported a data race or panic:\n%s", s)
	}
}

// kill sends SIGKILL and waits for the process: a crash, nothing flushed
// or closed by the server itself.
func (c *childServer) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	c.wait(t, "SIGKILL")
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", c.cmd.ProcessState)
	}
}

// stop sends SIGINT (Ctrl-C) and requires an ordered shutdown and exit 0.
func (c *childServer) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("SIGINT: %v", err)
	}
	c.wait(t, "SIGINT")
	var exitErr *exec.ExitError
	if c.err != nil || !c.cmd.ProcessState.Success() {
		if errors.As(c.err, &exitErr) {
			t.Fatalf("child exited with %v after SIGINT, want 0\nstdout:\n%s\nstderr:\n%s", exitErr, c.stdout, c.stderr)
		}
		t.Fatalf("child after SIGINT: %v\nstdout:\n%s\nstderr:\n%s", c.err, c.stdout, c.stderr)
	}
	if !strings.Contains(c.stdout.String(), `{"stopped":true}`) {
		t.Fatalf("child exited 0 without an ordered shutdown\nstdout:\n%s", c.stdout)
	}
}
