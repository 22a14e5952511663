package e2e

// The one way the e2e tests wait for something that happens on its own (a
// replica catching up, the reaper's event, a counter settling): poll a
// condition until it holds, with a deadline. The pause between two tries
// is the only time.Sleep of the package outside the real-clock tests
// (realClock below).

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// eventually calls f until it returns nil and fails the test with f's last
// error when timeout passes first. f runs at once, then after pauses that
// grow from 1 ms to 50 ms.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	if err := poll(timeout, f); err != nil {
		t.Fatalf("not within %v: %v", timeout, err)
	}
}

// poll is eventually for goroutines and for callers that decide what a
// timeout means: it returns nil once f does, or f's last error when
// timeout has passed.
func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// realClockEnv, set to 0, skips the real-clock tests (realClock).
const realClockEnv = "CAIRN_E2E_REAL_CLOCK"

// realClock marks a test that depends on the real clock or on timing (it
// waits for a wall-clock second to pass, measures memory while data
// streams, or loads a server at a rate): such a test may sleep, and is the
// first suspect when a slow machine makes a run flaky. It runs by default
// (CI covers it) and skips under -short or with CAIRN_E2E_REAL_CLOCK=0.
// doc.go lists the tests that call it; `grep -n 'realClock(t' e2e/*.go`
// finds them.
func realClock(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("a real-clock test (realClock): skipped under -short")
	}
	if os.Getenv(realClockEnv) == "0" {
		t.Skipf("a real-clock test (realClock): skipped with %s=0", realClockEnv)
	}
}

// testClock is a clock a test moves by hand, injected as the server's
// Config.Clock: it starts at start (the zero time: now, to the second) and
// then reads real time plus what Advance added when real is true, or
// stands still between Advance calls when it is false.
type testClock struct {
	mu    sync.Mutex
	start time.Time // the clock's reading when created
	since time.Time // real time when created (real clocks only)
	off   time.Duration
	real  bool
}

// newTestClock is a clock standing at start (zero: now, truncated to the
// second) that moves only when the test advances it.
func newTestClock(start time.Time) *testClock {
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	return &testClock{start: start}
}

// newOffsetClock is real time plus an offset the test moves forward: a
// moment in the server's past is a real past moment, which point-in-time
// tools compare with the wall clock.
func newOffsetClock() *testClock {
	now := time.Now()
	return &testClock{start: now, since: now, real: true}
}

// Now is the clock's time.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now().Add(c.off)
	}
	return c.start.Add(c.off)
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// String describes the clock for messages.
func (c *testClock) String() string {
	return fmt.Sprintf("test clock at %s", c.Now().Format(time.RFC3339Nano))
}
