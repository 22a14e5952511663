package e2e

// Replication benchmarks. Both servers run in this process (they share
// its CPUs); the replica is watched through its projections' change
// notification, so measuring adds no requests.
//
//	go test ./e2e -run '^$' -bench RpLag -benchtime 1000x      (RP_LAG_RATE=50 uploads/s, RP_LAG_PRELOAD=0 files)
//	go test ./e2e -run '^$' -bench RpCatchUp -benchtime 100000x -timeout 60m

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/load"
	"github.com/cairnhq/cairn/cmd/server"
)

// rpEnvInt is an integer from the environment, or def.
func rpEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// rpWatch records when each sync id of sid first became visible on e (in
// its projections, which serve every read) until sync id last has.
type rpWatch struct {
	mu      sync.Mutex
	visible []time.Time // by sync id
	done    chan struct{}
	stop    chan struct{}
}

func rpStartWatch(tb testing.TB, e *Env, sid string, last uint64) *rpWatch {
	w := &rpWatch{visible: make([]time.Time, last+1), done: make(chan struct{}), stop: make(chan struct{})}
	st := e.Srv.State
	go func() {
		defer close(w.done)
		var seen uint64
		for {
			ch := st.Changed()
			if svc, err := st.Service(context.Background(), sid); err == nil && svc.LastSyncID > seen {
				now := time.Now()
				w.mu.Lock()
				for n := seen + 1; n <= min(svc.LastSyncID, last); n++ {
					w.visible[n] = now
				}
				w.mu.Unlock()
				seen = svc.LastSyncID
			}
			if seen >= last {
				return
			}
			select {
			case <-ch:
			case <-w.stop:
				return
			}
		}
	}()
	tb.Cleanup(func() {
		select {
		case <-w.done:
		default:
			close(w.stop)
			<-w.done
		}
	})
	return w
}

// wait waits until every sync id up to last is visible, or d passed.
func (w *rpWatch) wait(d time.Duration) bool {
	select {
	case <-w.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (w *rpWatch) at(n uint64) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.visible[n]
}

// rpPercentile is the q-quantile (0..1) of sorted durations.
func rpPercentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// BenchmarkRpLag: b.N uploads of 4 KiB at a steady rate (RP_LAG_RATE per
// second, default 50) to the primary; for each, the time from the
// primary's uploadfile reply to its version being visible on the replica
// (0 when the replica had it before the reply reached the client). With
// RP_LAG_PRELOAD=N the service first holds N other files (replicated
// before measuring): the lag of a replica of a large service.
func BenchmarkRpLag(b *testing.B) {
	rate, preload := rpEnvInt("RP_LAG_RATE", 50), rpEnvInt("RP_LAG_PRELOAD", 0)
	p, r := Start(b), Start(b) // default configuration, sync always, 20 s long poll
	sid := p.WithService(b)
	if preload > 0 {
		if res, err := load.Run(context.Background(), load.Options{URL: p.URL, Key: p.AdminKey, SID: sid, Prefix: "preload/",
			Size: 1 << 10, Count: preload, Clients: 32}); err != nil || res.Failed > 0 {
			b.Fatalf("preload: %v (%d failed)", err, res.Failed)
		}
	}
	rpAttach(b, r, "primary", p.URL, rpReadKey(b, p, "", sid), sid, sid, "")
	body := randomBytes(uint64(1), 4<<10)
	first := p.Upload(b, p.AdminKey, sid, "warm-up", body, nil).SyncID
	w0 := rpStartWatch(b, r, sid, first)
	if !w0.wait(time.Duration(preload)*50*time.Millisecond + time.Minute) {
		b.Fatalf("the replica did not catch up with the preload")
	}
	w := rpStartWatch(b, r, sid, first+uint64(b.N))

	replied := make([]time.Time, int(first)+b.N+1) // by sync id
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, b.N)
	slots := make(chan struct{}, 16)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		<-tick.C
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			u, err := p.TryUpload(p.AdminKey, sid, fmt.Sprintf("lag/%d", i), body, nil)
			now := time.Now()
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			if u.SyncID < uint64(len(replied)) {
				replied[u.SyncID] = now
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	if !w.wait(2 * time.Minute) {
		b.Fatalf("the replica did not catch up within 2 minutes of the last upload")
	}
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	lags := make([]time.Duration, 0, b.N)
	for n := first + 1; n <= first+uint64(b.N); n++ {
		if replied[n].IsZero() {
			b.Fatalf("no upload answered with sync id %d", n)
		}
		lags = append(lags, max(0, w.at(n).Sub(replied[n])))
	}
	slices.Sort(lags)
	b.ReportMetric(float64(b.N)/sent.Seconds(), "uploads/s")
	b.ReportMetric(rpPercentile(lags, 0.50).Seconds(), "p50-s")
	b.ReportMetric(rpPercentile(lags, 0.99).Seconds(), "p99-s")
	b.ReportMetric(lags[len(lags)-1].Seconds(), "max-s")
}

// BenchmarkRpCatchUp: a backlog of b.N changes (1 KiB inline uploads, 32
// clients) on the primary while the replica's service does not exist;
// then the replica is created and the time until it holds them all is
// measured: ns/op is per change, changes/s the catch-up rate. The
// primary's log syncs every second while the backlog is built (it only
// serves reads while measured); the replica's sync mode is the
// sub-benchmark's.
func BenchmarkRpCatchUp(b *testing.B) {
	for _, sync := range []string{"always", "1s"} {
		b.Run("replica-sync="+sync, func(b *testing.B) {
			p := Start(b, func(c *server.Config) { c.Sync = "1s" })
			r := Start(b, func(c *server.Config) { c.Sync = sync })
			sid := p.WithService(b)
			built := time.Now()
			res, err := load.Run(context.Background(), load.Options{URL: p.URL, Key: p.AdminKey, SID: sid, Prefix: "backlog/",
				Size: 1 << 10, Count: b.N, Clients: 32})
			if err != nil || res.Failed > 0 {
				b.Fatalf("building the backlog: %v (%d failed)", err, res.Failed)
			}
			buildTime := time.Since(built)
			last := rpSvc(b, p, sid).LastSyncID
			if last != uint64(b.N) {
				b.Fatalf("the primary holds %d changes, want %d", last, b.N)
			}
			r.Admin(b, "sourcecreate", map[string]any{"name": "primary", "url": p.URL, "key": rpReadKey(b, p, "", sid)}, 201)
			w := rpStartWatch(b, r, sid, last)
			b.ResetTimer()
			start := time.Now()
			r.Admin(b, "servicecreate", map[string]any{"id": sid, "replica": map[string]string{"source": "primary", "sid": sid}}, 201)
			if !w.wait(time.Duration(b.N)*50*time.Millisecond + time.Minute) {
				b.Fatalf("the replica did not catch up: at %d of %d", rpSvc(b, r, sid).LastSyncID, last)
			}
			took := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(last)/took.Seconds(), "changes/s")
			b.ReportMetric(float64(b.N)/buildTime.Seconds(), "backlog-uploads/s")
		})
	}
}
