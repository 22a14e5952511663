package events_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// Writers racing for the last places of a quota never take usage past it:
// the check and the append are one atomic step in the log.
func TestService_QuotaUnderConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name         string
		bytes, count int64
		account      int64
	}{
		{name: "count", count: 10},
		{name: "bytes", bytes: 10 * 1024},
		{name: "account bytes", account: 10 * 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := newCore(t, events.Options{})
			c.service(t, "q")
			if tc.account > 0 {
				if _, err := c.svc.SetAccountQuota(ctx, c.o, schema.DefaultAccount, tc.account); err != nil {
					t.Fatal(err)
				}
			} else if _, err := c.svc.SetServiceQuota(ctx, c.o, "q", tc.bytes, tc.count); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 16)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = c.put(ctx, "q", fmt.Sprintf("f%02d", i), bytes.Repeat([]byte("x"), 1024), events.Conditions{})
				}()
			}
			wg.Wait()
			landed := 0
			for _, err := range errs {
				switch {
				case err == nil:
					landed++
				case !schema.IsKind(err, schema.KindQuotaExceeded):
					t.Fatalf("unexpected error: %v", err)
				}
			}
			svc, err := c.state.Service(ctx, "q")
			if err != nil {
				t.Fatal(err)
			}
			if landed != 10 || svc.Files != 10 || svc.Bytes != 10*1024 {
				t.Fatalf("%d writes landed, usage %d files %d bytes; want exactly 10", landed, svc.Files, svc.Bytes)
			}
		})
	}
}
