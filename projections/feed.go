package projections

import (
	"context"
	"strconv"
	"strings"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// Feed is the query family of what changed: a service's change index
// (the sync ids syncnext and replicas follow), the replication sources a
// replica follows, and the progress of the runner that applies the log
// (store.go), which long polls and read-your-writes wait on.
type Feed interface {
	// Changes returns up to limit changes of a service with sync ids
	// above after, in sync id order.
	Changes(ctx context.Context, service string, after uint64, limit int) ([]*schema.Version, error)
	// FirstSyncID returns the oldest sync id still in a service's change
	// index (0 when it holds none).
	FirstSyncID(ctx context.Context, service string) (uint64, error)
	// Source returns a replication source.
	Source(ctx context.Context, name string) (*schema.Source, error)
	// Sources returns every replication source, by name.
	Sources(ctx context.Context) ([]*schema.Source, error)
	// Applied returns the last applied log sequence.
	Applied() uint64
	// Wait blocks until the event at seq has been applied or ctx ends.
	Wait(ctx context.Context, seq uint64) error
	// Changed returns a channel closed at the next applied batch.
	Changed() <-chan struct{}
}

var _ Feed = (*Store)(nil)

// Change is one entry of a service's change index.
type Change = schema.Version

// Changes returns up to limit changes of a service with sync ids above
// after, in sync id order.
func (s *Store) Changes(_ context.Context, service string, after uint64, limit int) ([]*schema.Version, error) {
	var out []*schema.Version
	pfx := schema.ChangePrefix(service)
	var derr error
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", schema.ChangeKey(service, after+1), func(k, path string) bool {
			if !strings.HasPrefix(k, pfx) {
				return false
			}
			id, err := strconv.ParseUint(k[len(pfx):], 16, 64)
			if err != nil {
				derr = err
				return false
			}
			v, ok := changeVersion(tx, service, path, id)
			if !ok { // a version since purged, or replaced as S3's null version
				return true
			}
			out = append(out, v)
			return limit <= 0 || len(out) < limit
		})
	})
	if derr != nil {
		err = derr
	}
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "read projection")
	}
	return out, nil
}

// FirstSyncID returns the oldest sync id still in a service's change index
// (0 when it holds none): history before it is no longer available.
func (s *Store) FirstSyncID(_ context.Context, service string) (uint64, error) {
	var first uint64
	pfx := schema.ChangePrefix(service)
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", pfx, func(k, _ string) bool {
			if strings.HasPrefix(k, pfx) {
				first, _ = strconv.ParseUint(k[len(pfx):], 16, 64)
			}
			return false
		})
	})
	return first, err
}

// Source returns a replication source.
func (s *Store) Source(_ context.Context, name string) (*schema.Source, error) {
	return record[schema.Source](s, schema.SourceKey(name), "source")
}

// Sources returns every replication source, by name.
func (s *Store) Sources(_ context.Context) ([]*schema.Source, error) {
	return scanAll[schema.Source](s, "src:")
}
