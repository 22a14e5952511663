// Package load is Cairn's load generator: concurrent uploads through the
// native API, reported as operations per second and latency percentiles.
// `cairn load` runs it against any server; the e2e benchmarks run it
// against an in-process one.
package load

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnhq/cairn/handlers/native/client"
)

// Options describes one run.
type Options struct {
	URL     string // server base URL
	Key     string // key value (sent in schema.KeyHeader by the native client) with write access to SID
	SID     string // storage service to upload into
	Prefix  string // paths are Prefix + a number
	Size    int    // bytes per object
	Count   int    // uploads in all
	Clients int    // uploads at once
}

// Result is what a run measured.
type Result struct {
	Count    int
	Failed   int
	Elapsed  time.Duration
	OpsPerS  float64
	P50, P90 time.Duration
	P99, Max time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d uploads (%d failed) in %s: %.0f ops/s, latency p50 %s p90 %s p99 %s max %s",
		r.Count, r.Failed, r.Elapsed.Round(time.Millisecond), r.OpsPerS,
		r.P50.Round(10*time.Microsecond), r.P90.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
}

// Run uploads Count objects of Size random bytes with Clients concurrent
// connections and reports the figures. Every upload must answer 201.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Clients <= 0 || o.Count <= 0 || o.Size < 0 || o.URL == "" || o.SID == "" {
		return Result{}, fmt.Errorf("load: need url, sid, a positive count and clients, a size >= 0")
	}
	body := make([]byte, o.Size)
	_, _ = rand.Read(body)
	tr := &http.Transport{MaxIdleConnsPerHost: o.Clients, MaxConnsPerHost: o.Clients}
	defer tr.CloseIdleConnections()
	nc := client.New(o.URL, o.Key, &http.Client{Transport: tr, Timeout: time.Minute})
	lat := make([]time.Duration, o.Count)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < o.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= o.Count {
					return
				}
				t0 := time.Now()
				_, err := nc.UploadFile(ctx, o.SID, fmt.Sprintf("%s%09d", o.Prefix, i), bytes.NewReader(body), client.UploadOptions{})
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Errorf("upload %d: %w", i, err))
				}
			}
		}()
	}
	wg.Wait()
	r := Result{Count: o.Count, Failed: int(failed.Load()), Elapsed: time.Since(start)}
	r.OpsPerS = float64(o.Count) / r.Elapsed.Seconds()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	r.P50, r.P90, r.P99, r.Max = pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1]
	if err, _ := firstErr.Load().(error); err != nil {
		return r, fmt.Errorf("load: %d of %d uploads failed, first: %w", r.Failed, o.Count, err)
	}
	return r, ctx.Err()
}
