package e2e

// Crashes mid-stream: the replica, then (in another test) the primary, is
// a child process killed with SIGKILL while the replica works through a
// backlog and the primary keeps taking uploads. Restarted on the same
// data directory, the replica converges to exactly the primary's state:
// every path's version list, every version's bytes, last_sync_id.

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rpLoad uploads to a service at a steady pace until stopped.
type rpLoad struct {
	stop         chan struct{}
	done         chan struct{}
	ok, failed   atomic.Int64
	mu           sync.Mutex
	lastFailures []string
}

// rpStartLoad uploads a new version of one of 80 paths every interval
// (1 KiB, every 8th 100 KiB) through e, which may be down for a while.
func rpStartLoad(e *Env, sid string, every time.Duration) *rpLoad {
	l := &rpLoad{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			size := 1 << 10
			if i%8 == 0 {
				size = 100 << 10
			}
			if _, err := e.TryUpload(e.AdminKey, sid, fmt.Sprintf("load/%02d", i%80), randomBytes(uint64(100000+i), size), nil); err != nil {
				l.failed.Add(1)
				l.mu.Lock()
				l.lastFailures = append(l.lastFailures[max(0, len(l.lastFailures)-4):], err.Error())
				l.mu.Unlock()
				continue
			}
			l.ok.Add(1)
		}
	}()
	return l
}

func (l *rpLoad) end() { close(l.stop); <-l.done }

// rpBacklog uploads n versions over 100 paths (every 10th 100 KiB).
func rpBacklog(t *testing.T, e *Env, sid string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		size := 1 << 10
		if i%10 == 0 {
			size = 100 << 10
		}
		e.Upload(t, e.AdminKey, sid, fmt.Sprintf("f/%03d", i%100), randomBytes(uint64(i), size), nil)
	}
}

// rpMidStream waits until the replica has applied at least n changes and
// fails unless it is still behind the primary: a crash now is mid-stream.
// It returns the replica's sync id, which must survive the crash.
func rpMidStream(t *testing.T, p, r *Env, sid string, n uint64) uint64 {
	t.Helper()
	rpWaitAt(t, r, sid, n)
	got, want := rpSvc(t, r, sid).LastSyncID, rpSvc(t, p, sid).LastSyncID
	if got >= want {
		t.Fatalf("the replica had caught up (%d of %d) before the crash: not mid-stream", got, want)
	}
	return got
}

// rpConverged stops the load, waits for the replica and compares
// everything.
func rpConverged(t *testing.T, p, r *Env, sid string, load *rpLoad, px *rpProxy) {
	t.Helper()
	load.end()
	px.delay.Store(0)
	if load.ok.Load() == 0 {
		t.Errorf("no upload succeeded while the replica was crashing (%d failed: %v)", load.failed.Load(), load.lastFailures)
	}
	rpWaitSync(t, p, sid, r, sid)
	ps, rs := rpSnapshot(t, p, sid), rpSnapshot(t, r, sid)
	rpSame(t, "after the crashes", ps, rs)
	rpNoDuplicates(t, "replica", rs)
	if st := rpSvc(t, r, sid).Replica; st == nil || st.Resyncs != 0 || st.LastResult != "ok" {
		t.Errorf("replica status after the crashes: %+v, want ok and no resync", st)
	}
	t.Logf("converged at sync id %d; %d uploads during the test (%d refused while a server was down)", ps.Last, load.ok.Load(), load.failed.Load())
}

// TestRpKill_Replica kills the replica process twice while it follows.
func TestRpKill_Replica(t *testing.T) {
	realClock(t) // clients upload at a rate and the kills land mid-stream
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	t.Parallel()
	p := Start(t, rpFast)
	px := rpNewProxy(t, p.URL)
	px.delay.Store(int64(10 * time.Millisecond)) // the replica lags: a crash lands mid-stream
	sid := p.WithService(t)
	rpBacklog(t, p, sid, 150)

	dir := t.TempDir()
	c := startChild(t, dir)
	r := c.env()
	rpAttach(t, r, "primary", px.URL, rpReadKey(t, p, "", sid), sid, sid, "")
	load := rpStartLoad(p, sid, 15*time.Millisecond)
	for round, at := range []uint64{40, 110} {
		durable := rpMidStream(t, p, r, sid, at)
		c.kill(t)
		c = startChild(t, dir)
		r = c.env()
		if got := rpSvc(t, r, sid).LastSyncID; got < durable {
			t.Fatalf("crash %d: the replica restarted at sync id %d, it had applied %d before the crash", round+1, got, durable)
		}
	}
	rpConverged(t, p, r, sid, load, px)
	c.stop(t)
}

// TestRpKill_Primary kills the primary process while the replica follows
// it and clients upload; the primary restarts on the same data directory
// behind the same address (the proxy).
func TestRpKill_Primary(t *testing.T) {
	realClock(t) // clients upload at a rate and the kills land mid-stream
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	t.Parallel()
	dir := t.TempDir()
	c := startChild(t, dir)
	p := c.env()
	px := rpNewProxy(t, p.URL)
	px.delay.Store(int64(10 * time.Millisecond))
	sid := "rp-kill-primary"
	p.Admin(t, "servicecreate", map[string]any{"id": sid}, http.StatusCreated)
	rpBacklog(t, p, sid, 150)
	r := Start(t, rpFast)
	rpAttach(t, r, "primary", px.URL, rpReadKey(t, p, "", sid), sid, sid, "")
	// clients reach the primary at the proxy's address too
	viaProxy := &Env{URL: px.URL, AdminKey: p.AdminKey, Client: &http.Client{Timeout: 30 * time.Second}}
	load := rpStartLoad(viaProxy, sid, 15*time.Millisecond)
	for round, at := range []uint64{40, 110} {
		rpMidStream(t, p, r, sid, at)
		before := load.ok.Load()
		c.kill(t)
		c = startChild(t, dir)
		p = c.env()
		px.setTarget(t, p.URL)
		// the replica follows again: it reaches what the primary held
		// at its restart, and the clients' uploads go on
		restarted := rpSvc(t, p, sid).LastSyncID
		rpWaitAt(t, r, sid, min(restarted, at+20))
		eventually(t, 30*time.Second, func() error {
			if n := load.ok.Load() - before; n <= 5 {
				return fmt.Errorf("uploads after restart %d: %d since the crash", round+1, n)
			}
			return nil
		})
	}
	rpConverged(t, p, r, sid, load, px)
	c.stop(t)
}
