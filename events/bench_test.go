package events_test

import (
	"context"
	"encoding/json"
	"fmt"
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
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						ev := &schema.Event{Type: schema.TypeObjectPut, ID: ids.New(time.Now()), Time: time.Now(),
							Service: "s", Path: fmt.Sprint(i), Data: payload}
						if _, err := l.Append(ctx, ev, events.Expect{}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
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
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := c.put(ctx, "bench", fmt.Sprint(i), body, events.Conditions{}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}
