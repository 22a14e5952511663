package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/bench"
	"github.com/cairnhq/cairn/cmd/load"
	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// BenchmarkUpload measures durable uploads through the whole stack: HTTP,
// the native handler, the core, the log (sync always unless the name says
// otherwise) and read-your-writes, with 16 concurrent clients, as the
// foundation issue asks. Figures: ops/s and latency percentiles.
//
//	go test ./e2e -run '^$' -bench Upload -benchtime 5000x
func BenchmarkUpload(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
		sync string
	}{
		{"4KiB/sync=always", 4 << 10, "always"},
		{"128KiB/sync=always", 128 << 10, "always"},
		{"4KiB/sync=1s", 4 << 10, "1s"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := Start(b, func(c *server.Config) { c.Sync = bc.sync })
			runUploads(b, e, e.WithService(b), bc.size, benchClients)
		})
	}
}

func runUploads(b *testing.B, e *Env, sid string, size, clients int) {
	b.SetBytes(int64(size))
	b.ResetTimer()
	r, err := load.Run(context.Background(), load.Options{URL: e.URL, Key: e.AdminKey, SID: sid, Prefix: "bench/",
		Size: size, Count: b.N, Clients: clients})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.OpsPerS, "ops/s")
	b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
}

// BenchmarkRebuild measures how fast the projections fold the log: a log
// of 100,000 object events (puts, overwrites, deletes over 20,000 paths in
// 4 services) is written once, then every iteration folds all of it into
// fresh projections, as `cairn rebuild` and a restart without
// projections.db do. Figure: events/s.
//
//	go test ./e2e -run '^$' -bench Rebuild -benchtime 3x
func BenchmarkRebuild(b *testing.B) {
	const total = 100_000
	ctx := context.Background()
	dir := b.TempDir()
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: dir, Name: "bench-rebuild"})
	if err != nil {
		b.Fatal(err)
	}
	defer jl.Close()
	if err := writeBenchLog(ctx, jl, total); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		st, err := projections.Open(":memory:", projections.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		stats, err := datadir.Fold(ctx, jl, st, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		if stats.Events != total+5 {
			b.Fatalf("folded %d events, want %d", stats.Events, total+5)
		}
		elapsed += stats.Elapsed
		st.Close()
	}
	b.ReportMetric(float64(b.N*total)/elapsed.Seconds(), "events/s")
}

// writeBenchLog appends an account, 4 services and n object events.
func writeBenchLog(ctx context.Context, jl *events.JetStream, n int) error {
	ids := schema.NewIDs()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(i int, typ, svc, path string, payload any) *schema.Event {
		data, _ := json.Marshal(payload)
		at := t0.Add(time.Duration(i) * time.Millisecond)
		return &schema.Event{Type: typ, ID: ids.New(at), Time: at, Actor: schema.Actor{KeyID: "BENCH"},
			Account: schema.DefaultAccount, Service: svc, Path: path, Data: data}
	}
	seed := []*schema.Event{mk(0, schema.TypeAccountCreated, "", "", schema.AccountCreated{ID: schema.DefaultAccount, Name: "d"})}
	for s := 0; s < 4; s++ {
		id := fmt.Sprintf("svc-%d", s)
		seed = append(seed, mk(0, schema.TypeServiceCreated, id, "", schema.ServiceCreated{ID: id, Name: id, Type: schema.ServiceStorage}))
	}
	for _, ev := range seed {
		if _, err := jl.Append(ctx, ev, events.Expect{}); err != nil {
			return err
		}
	}
	body := bytes.Repeat([]byte("x"), 1024)
	jobs := make(chan int)
	errc := make(chan error, 64)
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				svc, path := fmt.Sprintf("svc-%d", i%4), fmt.Sprintf("dir%d/file%d", i%50, i%20000)
				var ev *schema.Event
				if i%10 == 9 {
					ev = mk(i, schema.TypeObjectDelete, svc, path, schema.ObjectDelete{Version: ids.New(t0)})
				} else {
					ev = mk(i, schema.TypeObjectPut, svc, path, schema.ObjectPut{Version: ids.New(t0), Size: int64(len(body)),
						ETag: "etag", ContentType: "text/plain", Blob: schema.BlobRef{SHA256: "sum", Inline: body}})
				}
				if _, err := jl.Append(ctx, ev, events.Expect{}); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case jobs <- i:
		case err := <-errc:
			close(jobs)
			return err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// benchClients is how many uploads run at once (the figure is 16;
// CAIRN_BENCH_CLIENTS changes it to explore).
var benchClients = func() int {
	if n, err := strconv.Atoi(os.Getenv("CAIRN_BENCH_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return 16
}()

// BenchmarkS3 measures the S3 dialect with the AWS SDK through cmd/bench,
// in-process (client and server share the machine): 4 KiB objects, 16
// concurrent clients, sync always. `cairn bench` gives the same figures
// against a server in its own process, or any other S3 server.
//
//	go test ./e2e -run '^$' -bench S3 -benchtime 8000x
func BenchmarkS3(b *testing.B) {
	for _, op := range []string{bench.OpPut, bench.OpGet} {
		b.Run(op, func(b *testing.B) {
			e := Start(b)
			o := bench.Options{Targets: []bench.Target{{Name: "cairn", Endpoint: e.URL, AccessKey: e.AdminKeyID, SecretKey: e.AdminKey}},
				Bucket: "bench", CreateBucket: true, Op: op, Size: 4 << 10, Concurrency: benchClients, Count: b.N, Objects: 2000}
			b.SetBytes(4 << 10)
			b.ResetTimer()
			rs, err := bench.Run(context.Background(), o)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			r := rs[0]
			if r.Errors > 0 {
				b.Fatalf("%d errors: %v", r.Errors, r.ErrorSample)
			}
			b.ReportMetric(r.OpsPerS, "ops/s")
			b.ReportMetric(r.P50ms, "p50-ms")
			b.ReportMetric(r.P99ms, "p99-ms")
		})
	}
}
