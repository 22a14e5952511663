package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/cairnhq/cairn/blobstore"
)

// ReapOnce appends an expiry event for every scheduled expiry that is due,
// and returns how many it handled.
func (s *Service) ReapOnce(ctx context.Context) (int, error) {
	n := 0
	for {
		due, err := s.state.DueExpiries(ctx, s.opts.Clock(), 256)
		if err != nil {
			return n, err
		}
		if len(due) == 0 {
			return n, nil
		}
		for _, d := range due {
			if err := s.ExpireObject(ctx, d.Service, d.Path, d.Version); err != nil {
				return n, err
			}
			n++
		}
		if len(due) < 256 {
			return n, nil
		}
	}
}

// RunReaper calls ReapOnce every interval until ctx ends.
func (s *Service) RunReaper(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.ReapOnce(ctx); err != nil && ctx.Err() == nil {
				log.Error("reaper", "err", err)
			} else if n > 0 {
				log.Info("reaper", "expired", n)
			}
		}
	}
}

// CollectGarbage removes blobs that no version references and that are
// older than grace (a blob is written before its event is applied).
func (s *Service) CollectGarbage(ctx context.Context, grace time.Duration) (int, error) {
	return blobstore.CollectOrphans(ctx, s.blobs, func(d string) (bool, error) {
		return s.state.BlobReferenced(ctx, d)
	}, grace, s.opts.Clock())
}
