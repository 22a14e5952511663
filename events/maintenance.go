package events

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// Maintenance is the core's family of background jobs and start-up
// steps: expiry (the reaper), retention, garbage collection, signed
// checkpoints of the hash chain (checkpoint.go) and the abort of stale
// multipart uploads (staleuploads.go).
type Maintenance interface {
	ExpireObject(ctx context.Context, service, path, version string) error
	ReapOnce(ctx context.Context) (int, error)
	RunReaper(ctx context.Context, interval time.Duration, log *slog.Logger)
	RetainOnce(ctx context.Context) (int, error)
	RunRetention(ctx context.Context, interval time.Duration, log *slog.Logger)
	CollectGarbage(ctx context.Context, grace time.Duration) (int, error)
	RunCollector(ctx context.Context, interval, grace time.Duration, log *slog.Logger)
	Checkpoint(ctx context.Context, key ed25519.PrivateKey) (uint64, error)
	RunCheckpoints(ctx context.Context, key ed25519.PrivateKey, interval time.Duration, log *slog.Logger)
	AbortStaleUploads(ctx context.Context, maxAge time.Duration) (int, error)
	RunUploadReaper(ctx context.Context, interval, maxAge time.Duration, log *slog.Logger)
	// SeedTime makes event times continue after t (the newest in the log).
	SeedTime(t time.Time)
}

var _ Maintenance = (*Core)(nil)

// ReapOnce appends an expiry event for every scheduled expiry that is due,
// and returns how many it handled.
func (s *Core) ReapOnce(ctx context.Context) (int, error) {
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
func (s *Core) RunReaper(ctx context.Context, interval time.Duration, log *slog.Logger) {
	every(ctx, interval, log, "reaper", "expired", s.ReapOnce)
}

// every runs job each interval until ctx ends, logging its failures and,
// when it did something, how much (as counted).
func every(ctx context.Context, interval time.Duration, log *slog.Logger, name, counted string, job func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := job(ctx); err != nil && ctx.Err() == nil {
				log.Error(name, "err", err)
			} else if n > 0 && counted != "" {
				log.Info(name, counted, n)
			}
		}
	}
}

// CollectGarbage removes blobs that no version references and that are
// older than grace (a blob is written before its event is applied).
func (s *Core) CollectGarbage(ctx context.Context, grace time.Duration) (int, error) {
	return blobstore.CollectOrphans(ctx, s.blobs, func(d string) (bool, error) {
		return s.state.BlobReferenced(ctx, d)
	}, grace, s.opts.Clock())
}

// RetainOnce applies every storage service's keep_versions: versions
// superseded longer ago than it are purged by events (actor "retention"),
// each recording the service's new horizon, the oldest moment
// point-in-time reads still reach; their blobs go with the next garbage
// collection once nothing references them. Replicas follow their primary's
// purges instead. It returns how many versions it purged.
func (s *Core) RetainOnce(ctx context.Context) (int, error) {
	svcs, err := s.state.Services(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	o := Origin{Actor: schema.Actor{KeyID: ActorRetention}}
	for _, svc := range svcs {
		kv := svc.Settings.KeepVersions
		if svc.Type != schema.ServiceStorage || svc.Settings.Replica != nil || kv == "" || kv == "forever" {
			continue
		}
		keep, err := time.ParseDuration(kv)
		if err != nil || keep <= 0 {
			continue
		}
		horizon := s.opts.Clock().Add(-keep).UTC()
		for {
			old, err := s.state.Superseded(ctx, svc.ID, horizon, 256)
			if err != nil {
				return n, err
			}
			for _, v := range old {
				if _, err := s.purge(ctx, o, svc.ID, v.Path, v.Version, &horizon); err != nil && !schema.IsKind(err, schema.KindNotFound) {
					return n, err
				}
				n++
			}
			if len(old) < 256 {
				break
			}
		}
	}
	return n, nil
}

// ActorRetention is the actor of retention's purges.
const ActorRetention = "retention"

// RunRetention calls RetainOnce every interval until ctx ends.
func (s *Core) RunRetention(ctx context.Context, interval time.Duration, log *slog.Logger) {
	every(ctx, interval, log, "retention", "purged", s.RetainOnce)
}

// ExpireObject records that version's expiry passed, if it is still the
// live version (a newer put makes the expiry moot: nothing is appended).
// A replica's expiries are its primary's: nothing is appended either.
func (s *Core) ExpireObject(ctx context.Context, service, path, version string) error {
	m := &mutation{service: service, path: path, scope: scopeObject}
	if err := s.load(ctx, m); err != nil {
		return err
	}
	if m.svc.Settings.Replica != nil { // its primary's reaper decides, and the change follows
		return nil
	}
	if err := s.refuseReadOnly(); err != nil {
		return err
	}
	_, err := s.commitObject(ctx, m, func(m *mutation) (*schema.Event, error) {
		head := m.head
		if head == nil || head.Deleted || head.Version != version || !head.ExpiredAt(s.opts.Clock()) {
			return nil, errMoot
		}
		ev, err := s.newEvent(Origin{Actor: schema.Actor{KeyID: schema.ActorReaper}}, schema.TypeObjectExpired, m.svc.Account, service, path, nil)
		if err != nil {
			return nil, err
		}
		ev.Data, err = json.Marshal(schema.ObjectExpired{Version: ev.ID, Expired: version})
		return ev, err
	})
	if errors.Is(err, errMoot) || schema.IsKind(err, schema.KindNotFound) {
		return nil
	}
	return err
}

// errMoot stops a mutation that has nothing to do.
var errMoot = errors.New("events: nothing to do")
