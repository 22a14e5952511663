package events

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// ScrubOptions configure the scrubber.
type ScrubOptions struct {
	// Interval is how often a pass over every blob starts (a pass still
	// running when the next is due delays it). 0 turns the scrubber off.
	Interval time.Duration
	// BytesPerSecond bounds how fast a pass reads blobs, so it does not
	// starve requests of the disk; 0 reads as fast as the disk goes.
	BytesPerSecond int64
}

// maxBlobUsers bounds the versions a damaged blob's report names.
const maxBlobUsers = 100

// Scrubber is the background job that verifies every blob of the core's
// blobstore (its size and SHA-256, blobstore.Store.Verify) at a bounded
// rate. A damaged blob is quarantined by the blobstore, never deleted; the
// scrubber remembers it with the versions that reference it until an
// upload of the same bytes heals it, and reports it (Health, the native
// blobhealth function). It repairs nothing itself, appends no event and
// never runs on a read-only core. Its state is its own: two servers in one
// process share nothing.
type Scrubber struct {
	core *Core
	opts ScrubOptions
	// wait pauses a pass for d to keep to BytesPerSecond (real time:
	// pacing is about the disk, not the core's clock).
	wait func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	health  schema.BlobHealth              // counters of the last completed pass
	damaged map[string]*schema.DamagedBlob // by digest
	order   []string                       // digests in the order found
}

// NewScrubber returns the scrubber of core's blobstore.
func NewScrubber(core *Core, o ScrubOptions) *Scrubber {
	return &Scrubber{core: core, opts: o, wait: sleepCtx, damaged: map[string]*schema.DamagedBlob{}}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// enabled reports whether Run scrubs.
func (s *Scrubber) enabled() bool { return s.opts.Interval > 0 && !s.core.opts.ReadOnly }

// Run calls ScrubOnce every Interval until ctx ends; it returns at once
// when the scrubber is off (Interval 0) or the core is read-only.
func (s *Scrubber) Run(ctx context.Context, log *slog.Logger) {
	if !s.enabled() {
		return
	}
	every(ctx, s.opts.Interval, log, "scrubber", "damaged", s.ScrubOnce)
}

// ScrubOnce verifies every blob once, at most BytesPerSecond, and returns
// how many it found damaged (each quarantined by the blobstore). A blob
// removed during the pass (by the collector) is skipped; an I/O error on
// one blob does not stop the pass and is returned at its end.
func (s *Scrubber) ScrubOnce(ctx context.Context) (int, error) {
	if s.core.opts.ReadOnly {
		return 0, nil
	}
	s.mu.Lock()
	if s.health.Running {
		s.mu.Unlock()
		return 0, schema.Errorf(schema.KindConflict, "a scrub pass is already running")
	}
	s.health.Running = true
	s.health.LastStarted = s.core.opts.Clock().UTC().Format(time.RFC3339Nano)
	s.mu.Unlock()

	var checked, bytes, found int64
	var errs []error
	start := time.Now()
	err := s.core.blobs.Walk(ctx, func(info blobstore.Info) error {
		err := s.core.blobs.Verify(ctx, info.SHA256, -1)
		switch {
		case err == nil:
		case errors.Is(err, blobstore.ErrDamaged):
			found++
			s.remember(ctx, info, err)
		case schema.IsKind(err, schema.KindNotFound): // collected meanwhile
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			if len(errs) < 10 {
				errs = append(errs, err)
			}
		}
		checked++
		bytes += info.Size
		if r := s.opts.BytesPerSecond; r > 0 {
			due := time.Duration(float64(bytes) / float64(r) * float64(time.Second))
			if d := due - time.Since(start); d > 0 {
				return s.wait(ctx, d)
			}
		}
		return nil
	})

	s.mu.Lock()
	defer s.mu.Unlock()
	s.health.Running = false
	if err != nil {
		return int(found), err // an interrupted pass leaves the last one's counters
	}
	s.health.Passes++
	s.health.LastFinished = s.core.opts.Clock().UTC().Format(time.RFC3339Nano)
	s.health.Checked, s.health.CheckedBytes, s.health.Damaged = checked, bytes, found
	return int(found), errors.Join(errs...)
}

// remember records the damaged blob info (err is how Verify reported it)
// with the versions that reference it.
func (s *Scrubber) remember(ctx context.Context, info blobstore.Info, err error) {
	reason := err.Error()
	if _, why, ok := strings.Cut(reason, info.SHA256+": "); ok {
		reason = why
	}
	_, serr := s.core.blobs.Stat(ctx, info.SHA256)
	users, uerr := s.core.state.BlobUsers(ctx, info.SHA256, maxBlobUsers)
	if uerr != nil {
		users = []schema.ObjectRef{}
	}
	d := &schema.DamagedBlob{Digest: info.SHA256, Size: info.Size, Reason: reason,
		Found: s.core.opts.Clock().UTC().Format(time.RFC3339Nano), Quarantined: schema.IsKind(serr, schema.KindNotFound),
		Objects: users}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.damaged[info.SHA256]; !ok {
		s.order = append(s.order, info.SHA256)
	}
	s.damaged[info.SHA256] = d
}

// Health reports the scrubber's settings, its last completed pass and the
// damaged blobs it found that are still damaged: a quarantined blob whose
// digest is in the store again was healed by an upload of its bytes and is
// no longer listed.
func (s *Scrubber) Health(ctx context.Context) schema.BlobHealth {
	s.mu.Lock()
	order := append([]string(nil), s.order...)
	s.mu.Unlock()
	healed := map[string]bool{}
	for _, dg := range order {
		s.mu.Lock()
		q := s.damaged[dg].Quarantined
		s.mu.Unlock()
		if _, err := s.core.blobs.Stat(ctx, dg); q && err == nil {
			healed[dg] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health
	h.Enabled = s.enabled()
	h.Interval = s.opts.Interval.String()
	h.BytesPerSecond = s.opts.BytesPerSecond
	h.Quarantined = s.core.blobs.Quarantined()
	h.Blobs = []schema.DamagedBlob{}
	kept := s.order[:0]
	for _, dg := range s.order {
		if healed[dg] {
			delete(s.damaged, dg)
			continue
		}
		kept = append(kept, dg)
		h.Blobs = append(h.Blobs, *s.damaged[dg])
	}
	s.order = kept
	return h
}
