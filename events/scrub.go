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
	// Repair fetches good copies of damaged blobs from replication
	// sources (scrubrepair.go); nil: damaged blobs are only reported.
	Repair RepairSource
}

// maxBlobUsers bounds the versions a damaged blob's report names.
const maxBlobUsers = 100

// Scrubber is the background job that verifies every blob of the core's
// blobstore (its size and SHA-256, blobstore.Store.Verify) at a bounded
// rate, and that every blob the versions reference is there. A damaged
// blob is quarantined by the blobstore, never deleted; the scrubber
// remembers it (or a missing one) with the versions that reference it,
// and reports it (Health, the native blobhealth function) until an upload
// of the same bytes heals it or the scrubber repairs it: given a
// RepairSource, it fetches a good copy from a replication source that
// holds one of those versions (scrubrepair.go), right after finding the
// damage and again at every pass, and records each repair as a
// blob.repaired.v1 event. It never runs on a read-only core. Its state is
// its own: two servers in one process share nothing.
type Scrubber struct {
	core *Core
	opts ScrubOptions
	// wait pauses a pass for d to keep to BytesPerSecond (real time:
	// pacing is about the disk, not the core's clock).
	wait func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	health   schema.BlobHealth       // counters of the last completed pass
	damaged  map[string]*damagedBlob // by digest
	order    []string                // digests in the order found
	repaired int64                   // blobs repaired since the scrubber was made
}

// damagedBlob is what the scrubber remembers of a damaged or missing blob.
type damagedBlob struct {
	schema.DamagedBlob
	// gone: the blob was out of the store when found (quarantined, or
	// missing altogether), so its digest back in the store means an
	// upload of its bytes healed it.
	gone bool
}

// NewScrubber returns the scrubber of core's blobstore.
func NewScrubber(core *Core, o ScrubOptions) *Scrubber {
	return &Scrubber{core: core, opts: o, wait: sleepCtx, damaged: map[string]*damagedBlob{}}
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

// ScrubOnce verifies every blob once, at most BytesPerSecond, then checks
// that every referenced blob is in the store, and returns how many it
// found damaged (each quarantined by the blobstore) or missing. Each is
// repaired at once when it can be (tryRepair), and the pass first tries
// again those that earlier passes found and nothing has healed since. A
// blob removed during the pass (by the collector) is skipped; an I/O error
// on one blob does not stop the pass and is returned at its end.
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

	for _, dg := range s.unhealed(ctx) {
		s.tryRepair(ctx, dg)
	}
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
			s.tryRepair(ctx, info.SHA256)
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
	if err == nil {
		var missing int64
		missing, err = s.findMissing(ctx, &errs)
		found += missing
	}

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
	q := schema.IsKind(serr, schema.KindNotFound)
	s.note(ctx, schema.DamagedBlob{Digest: info.SHA256, Size: info.Size, Reason: reason, Quarantined: q}, q)
}

// note adds d, with the versions that reference it, to the damaged blobs
// (replacing what an earlier pass noted of the same digest, but keeping
// its repair attempts).
func (s *Scrubber) note(ctx context.Context, d schema.DamagedBlob, gone bool) {
	users, uerr := s.core.state.BlobUsers(ctx, d.Digest, maxBlobUsers)
	if uerr != nil {
		users = []schema.ObjectRef{}
	}
	d.Objects, d.Repairs = users, []schema.RepairAttempt{}
	d.Found = s.core.opts.Clock().UTC().Format(time.RFC3339Nano)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.damaged[d.Digest]; ok {
		d.Repairs = old.Repairs
	} else {
		s.order = append(s.order, d.Digest)
	}
	s.damaged[d.Digest] = &damagedBlob{DamagedBlob: d, gone: gone}
}

// missingPage is how many referenced digests findMissing reads at once.
const missingPage = 1000

// findMissing looks for blobs that versions (or upload parts) reference
// and that are not in the store at all: a file deleted behind the
// server's back, or quarantined by a read. Each one not already known is
// noted as damaged and repaired when it can be; it returns how many it
// found. Stat errors other than not found are added to errs.
func (s *Scrubber) findMissing(ctx context.Context, errs *[]error) (int64, error) {
	var found int64
	for after := ""; ; {
		page, err := s.core.state.ReferencedBlobs(ctx, after, missingPage)
		if err != nil {
			return found, err
		}
		for _, dg := range page {
			s.mu.Lock()
			_, known := s.damaged[dg]
			s.mu.Unlock()
			if known {
				continue
			}
			_, err := s.core.blobs.Stat(ctx, dg)
			switch {
			case err == nil:
				continue
			case ctx.Err() != nil:
				return found, ctx.Err()
			case !schema.IsKind(err, schema.KindNotFound):
				if len(*errs) < 10 {
					*errs = append(*errs, err)
				}
				continue
			}
			// the last version that used it may have been purged and the
			// blob collected since the page was read
			if ref, err := s.core.state.BlobReferenced(ctx, dg); err != nil || !ref {
				continue
			}
			found++
			s.note(ctx, schema.DamagedBlob{Digest: dg, Reason: "missing: referenced, but not in the store"}, true)
			s.tryRepair(ctx, dg)
		}
		if len(page) < missingPage {
			return found, nil
		}
		after = page[len(page)-1]
	}
}

// unhealed returns the damaged blobs remembered that no upload has healed
// since (a healed one is forgotten).
func (s *Scrubber) unhealed(ctx context.Context) []string {
	s.mu.Lock()
	var gone []string
	for _, dg := range s.order {
		if s.damaged[dg].gone {
			gone = append(gone, dg)
		}
	}
	s.mu.Unlock()
	healed := map[string]bool{}
	for _, dg := range gone {
		if _, err := s.core.blobs.Stat(ctx, dg); err == nil {
			healed[dg] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, dg := range append([]string(nil), s.order...) {
		if healed[dg] {
			s.forget(dg)
		} else {
			out = append(out, dg)
		}
	}
	return out
}

// forget drops digest from the damaged blobs; s.mu is held.
func (s *Scrubber) forget(digest string) {
	delete(s.damaged, digest)
	for i, dg := range s.order {
		if dg == digest {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			return
		}
	}
}

// Health reports the scrubber's settings, its last completed pass, how
// many blobs it repaired, and the damaged blobs it found that are still
// damaged, each with its latest repair attempts: a quarantined or missing
// blob whose digest is in the store again was healed by an upload of its
// bytes (or repaired) and is no longer listed.
func (s *Scrubber) Health(ctx context.Context) schema.BlobHealth {
	order := s.unhealed(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health
	h.Enabled = s.enabled()
	h.Interval = s.opts.Interval.String()
	h.BytesPerSecond = s.opts.BytesPerSecond
	h.Quarantined = s.core.blobs.Quarantined()
	h.Repaired = s.repaired
	h.Blobs = []schema.DamagedBlob{}
	for _, dg := range order {
		d, ok := s.damaged[dg] // a pass may have repaired it meanwhile
		if !ok {
			continue
		}
		b := d.DamagedBlob
		b.Objects = append([]schema.ObjectRef{}, b.Objects...)
		b.Repairs = append([]schema.RepairAttempt{}, b.Repairs...)
		h.Blobs = append(h.Blobs, b)
	}
	return h
}
