package projections

import (
	"context"
	"strings"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// Maintenance is the query family of the background jobs: the expiry
// schedule (the reaper), superseded versions (retention) and blob
// references (the garbage collector).
type Maintenance interface {
	// DueExpiries returns up to limit schedule entries with delete_at <=
	// now, soonest first.
	DueExpiries(ctx context.Context, now time.Time, limit int) ([]Expiring, error)
	// Superseded returns up to limit versions of a service that a newer
	// version of their path replaced before the moment before.
	Superseded(ctx context.Context, service string, before time.Time, limit int) ([]*schema.Version, error)
	// BlobReferenced reports whether any version references the blob.
	BlobReferenced(ctx context.Context, digest string) (bool, error)
	// BlobUsers returns up to limit versions that reference the blob.
	BlobUsers(ctx context.Context, digest string, limit int) ([]schema.ObjectRef, error)
	// ReferencedBlobs returns up to limit digests of referenced blobs,
	// in order, after digest after.
	ReferencedBlobs(ctx context.Context, after string, limit int) ([]string, error)
}

var _ Maintenance = (*Store)(nil)

// Expiring is an entry of the expiry schedule.
type Expiring struct {
	DeleteAt int64
	Service  string
	Path     string
	Version  string
}

// DueExpiries returns up to limit (<= 0: all) schedule entries with
// delete_at <= now, soonest first.
func (s *Store) DueExpiries(ctx context.Context, now time.Time, limit int) ([]Expiring, error) {
	var out []Expiring
	replicas := map[string]bool{}
	if all, err := s.Services(ctx); err == nil {
		for _, svc := range all {
			replicas[svc.ID] = svc.Settings.Replica != nil
		}
	}
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", "x:", func(k, v string) bool {
			at, svc, path, ok := schema.SplitExpiryKey(k)
			if !ok || at > now.Unix() {
				return false
			}
			if replicas[svc] { // a replica's expiries come from its primary
				return true
			}
			out = append(out, Expiring{DeleteAt: at, Service: svc, Path: path, Version: v})
			return limit <= 0 || len(out) < limit
		})
	})
	return out, err
}

// Superseded returns up to limit versions of a service that a newer
// version of their path replaced before the moment before: what retention
// may purge, as no moment from before on needs them. Each path's newest
// version is never among them.
func (s *Store) Superseded(_ context.Context, service string, before time.Time, limit int) ([]*schema.Version, error) {
	var out []*schema.Version
	pfx := schema.VersionPrefix(service)
	var path string
	var newer time.Time // the time of the next newer version of path
	var derr error
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", pfx, func(k, raw string) bool {
			p, _, ok := schema.SplitVersionKey(service, k)
			if !ok {
				return strings.HasPrefix(k, pfx)
			}
			var v schema.Version
			if derr = decodeJSON(raw, &v); derr != nil {
				return false
			}
			if p != path { // the path's newest version: kept
				path, newer = p, v.Time
				return true
			}
			if newer.Before(before) {
				out = append(out, &v)
			}
			newer = v.Time
			return len(out) < limit
		})
	})
	if derr != nil {
		err = derr
	}
	return out, err
}

// BlobReferenced reports whether any version references the blob.
func (s *Store) BlobReferenced(_ context.Context, digest string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *buntdb.Tx) error {
		_, err := tx.Get(schema.BlobRefKey(digest))
		if err == buntdb.ErrNotFound {
			return nil
		}
		ok = err == nil
		return err
	})
	return ok, err
}

// BlobUsers returns up to limit (<= 0: all) versions, of every service,
// that reference the blob (their own bytes or a segment's). It reads every
// version: it is for reports on damaged blobs (the scrubber), not for a
// request path.
func (s *Store) BlobUsers(_ context.Context, digest string, limit int) ([]schema.ObjectRef, error) {
	out := []schema.ObjectRef{}
	var derr error
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", "v:", func(k, raw string) bool {
			if !strings.HasPrefix(k, "v:") {
				return false
			}
			var v schema.Version
			if derr = decodeJSON(raw, &v); derr != nil {
				return false
			}
			for _, d := range v.Digests() {
				if d == digest {
					out = append(out, schema.ObjectRef{Service: v.Service, Path: v.Path, Version: v.Version})
					break
				}
			}
			return limit <= 0 || len(out) < limit
		})
	})
	if derr != nil {
		err = derr
	}
	return out, err
}

// ReferencedBlobs returns up to limit digests, in order and after digest
// after ("" from the first), of the blobs that versions or upload parts
// reference (those with a reference count): what the store must hold, so
// the scrubber can find a blob file that is missing altogether. Each call
// is one short read transaction; page with the last digest returned.
func (s *Store) ReferencedBlobs(_ context.Context, after string, limit int) ([]string, error) {
	out := []string{}
	prefix := schema.BlobRefKey("")
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", prefix+after, func(k, _ string) bool {
			if !strings.HasPrefix(k, prefix) {
				return false
			}
			if d := k[len(prefix):]; d != after {
				out = append(out, d)
			}
			return limit <= 0 || len(out) < limit
		})
	})
	return out, err
}
