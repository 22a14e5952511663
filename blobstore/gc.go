package blobstore

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// CollectOrphans deletes every blob of s last modified before now-grace that
// referenced reports as unreferenced, and returns how many it deleted.
//
// A blob is written before the event that references it is appended, so a
// young unreferenced blob may be an upload in flight: blobs modified at or
// after now-grace are never deleted, and referenced is not asked about them.
// Each candidate is re-checked with Stat just before deletion, so a blob that
// a Put re-used meanwhile (which refreshes its ModTime) is kept.
//
// Candidates are gathered during the walk and deleted after it, so s need not
// support deletion during Walk, and memory grows with the garbage, not with
// the store. The first error from referenced, Walk, Stat or Delete stops the
// collection and is returned with the count deleted so far. Only blobs are
// candidates: Walk never reports a backend's own files (FS's sidecars of
// chunk digests), and Delete removes them with their blob, so they are
// neither collected as orphans nor left behind. A negative grace
// is a schema.KindInvalidArgument error. CollectOrphans belongs in a
// background job, never in the request path.
func CollectOrphans(ctx context.Context, s Store, referenced func(digest string) (bool, error), grace time.Duration, now time.Time) (removed int, err error) {
	if grace < 0 {
		return 0, schema.Errorf(schema.KindInvalidArgument, "orphan grace period must not be negative")
	}
	cutoff := now.Add(-grace)

	var orphans []string
	err = s.Walk(ctx, func(info Info) error {
		if !info.ModTime.Before(cutoff) {
			return nil
		}
		ref, err := referenced(info.SHA256)
		if err != nil {
			return fmt.Errorf("blobstore: collect orphans: checking %s: %w", info.SHA256, err)
		}
		if !ref {
			orphans = append(orphans, info.SHA256)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}

	for _, digest := range orphans {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("blobstore: collect orphans: %w", err)
		}
		info, err := s.Stat(ctx, digest)
		if schema.IsKind(err, schema.KindNotFound) {
			continue
		}
		if err != nil {
			return removed, err
		}
		if !info.ModTime.Before(cutoff) {
			continue // re-used by a Put since the walk
		}
		if err := s.Delete(ctx, digest); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}
