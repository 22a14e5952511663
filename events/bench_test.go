package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// BenchmarkAppend measures the log alone (no HTTP, no projections): 16
// concurrent appenders of 4 KiB events, with sync always and with a 1 s
// sync interval.
func BenchmarkAppend(b *testing.B) {
	for _, always := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync-always=%v", always), func(b *testing.B) {
			ctx := context.Background()
			l, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: b.TempDir(), SyncAlways: always,
				SyncInterval: time.Second, Name: fmt.Sprintf("bench-append-%v", always)})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			payload, _ := json.Marshal(schema.ObjectPut{Blob: schema.BlobRef{Inline: make([]byte, 4096)}})
			ids := schema.NewIDs()
			runConcurrently(b, "events/s", func(i int64) error {
				ev := &schema.Event{Type: schema.TypeObjectPut, ID: ids.New(time.Now()), Time: time.Now(),
					Service: "s", Path: fmt.Sprint(i), Data: payload}
				_, err := l.Append(ctx, ev, events.Expect{})
				return err
			})
		})
	}
}

// BenchmarkPutObject measures the core without HTTP: 16 concurrent 4 KiB
// PutObject calls (inline in their event), each answered after the local
// projections applied it, with sync always.
func BenchmarkPutObject(b *testing.B) {
	ctx := context.Background()
	c := newCoreSync(b)
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "bench"}); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 4096)
	runConcurrently(b, "puts/s", func(i int64) error {
		_, err := c.put(ctx, "bench", fmt.Sprint(i), body, events.Conditions{})
		return err
	})
}

// runConcurrently times b.N calls of op (i from 1 to b.N) made by 16
// goroutines at once, and reports them per second under unit. A goroutine
// whose call fails reports the error and stops.
func runConcurrently(b *testing.B, unit string, op func(i int64) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkRestore measures restoring CAIRN_BENCH_FILES files (default
// 100,000 small ones, sync always): the fork of a moment holding them all
// into a new service (one copy event per file, no bytes copied), and an
// in-place restore of the moment after every file was overwritten. Report:
// seconds and files/s of each.
//
//	go test ./events -run '^$' -bench Restore -benchtime 1x
func BenchmarkRestore(b *testing.B) {
	files := 100_000
	if v, err := strconv.Atoi(os.Getenv("CAIRN_BENCH_FILES")); err == nil && v > 0 {
		files = v
	}
	ctx := context.Background()
	c := newCoreSync(b)
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "big"}); err != nil {
		b.Fatal(err)
	}
	putAll := func(round int) {
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if _, err := c.put(ctx, "big", fmt.Sprintf("f/%06d", i), []byte(fmt.Sprintf("%d/%d", round, i)), events.Conditions{}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		for i := 0; i < files; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	start := time.Now()
	putAll(1)
	b.Logf("wrote %d files in %v", files, time.Since(start).Round(time.Millisecond))
	svc, _ := c.state.Service(ctx, "big")
	at, err := c.state.MomentOf(ctx, svc, fmt.Sprintf("sync:%d", svc.LastSyncID))
	if err != nil {
		b.Fatal(err)
	}
	putAll(2)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		t0 := time.Now()
		acts, err := c.svc.Restore(ctx, c.o, events.RestoreInput{Service: "big", At: at, Into: fmt.Sprintf("fork%d", n)})
		if err != nil || len(acts) != files {
			b.Fatalf("fork: %d actions, %v", len(acts), err)
		}
		fork := time.Since(t0)
		t0 = time.Now()
		acts, err = c.svc.Restore(ctx, c.o, events.RestoreInput{Service: "big", At: at})
		if err != nil || len(acts) != files {
			b.Fatalf("restore: %d actions, %v", len(acts), err)
		}
		inPlace := time.Since(t0)
		b.ReportMetric(fork.Seconds(), "fork-s")
		b.ReportMetric(float64(files)/fork.Seconds(), "fork-files/s")
		b.ReportMetric(inPlace.Seconds(), "restore-s")
		b.ReportMetric(float64(files)/inPlace.Seconds(), "restore-files/s")
	}
}
