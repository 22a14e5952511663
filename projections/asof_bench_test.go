package projections

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// BenchmarkListAsOf measures a point-in-time listing (one page of 1,000
// files) of a service holding CAIRN_BENCH_VERSIONS versions (default
// 1,000,000: 100,000 files of 10 versions each), at a moment in the middle
// of its history. Report: ns/op is the latency of one page.
//
//	go test ./projections -run '^$' -bench ListAsOf -benchtime 200x
func BenchmarkListAsOf(b *testing.B) {
	versions := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CAIRN_BENCH_VERSIONS")); err == nil && v > 0 {
		versions = v
	}
	files := max(versions/10, 1)
	st, err := Open(b.TempDir()+"/p.db", Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	l := newLog()
	l.step = time.Millisecond
	l.account(schema.DefaultAccount)
	l.service("big")
	start := time.Now()
	flush := func() {
		if err := st.Apply(l.events); err != nil {
			b.Fatal(err)
		}
		l.events = l.events[:0]
	}
	for i := 0; i < versions; i++ {
		l.put("big", fmt.Sprintf("dir%03d/file%06d", (i%files)%1000, i%files), 1000, fmt.Sprintf("%064x", i), 0)
		if len(l.events) == 5000 {
			flush()
		}
	}
	flush()
	b.Logf("folded %d versions of %d files in %v", versions, files, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	svc, _ := st.Service(ctx, "big")
	mid := svc.LastSyncID / 2
	at, _ := st.ChangeTime(ctx, "big", mid)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page, err := st.List(ctx, "big", ListOptions{Limit: 1000, AsOf: mid, AsOfTime: at, Now: at,
			After: fmt.Sprintf("dir%03d/", i%1000)})
		if err != nil || len(page.Files) == 0 {
			b.Fatalf("list: %v (%d files)", err, len(page.Files))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
}
