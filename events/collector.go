package events

import (
	"context"
	"log/slog"
	"time"
)

// RunCollector calls CollectGarbage (with grace) every interval until ctx
// ends: the blob collector, a background loop like the reaper's.
func (s *Core) RunCollector(ctx context.Context, interval, grace time.Duration, log *slog.Logger) {
	every(ctx, interval, log, "blob collector", "removed", func(ctx context.Context) (int, error) {
		return s.CollectGarbage(ctx, grace)
	})
}
