package projections

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// PointInTime is the query family of a service's history: moments
// resolved to sync ids, and an object as it was at one (List with AsOf
// lists a service as it was).
type PointInTime interface {
	// MomentOf resolves an as-of value, an RFC 3339 time or "sync:N".
	MomentOf(ctx context.Context, svc *schema.Service, raw string) (Moment, error)
	// SyncAt returns the sync id of a service as it was at time t.
	SyncAt(ctx context.Context, service string, t time.Time) (uint64, error)
	// ChangeTime returns the time of change n of a service.
	ChangeTime(ctx context.Context, service string, n uint64) (time.Time, error)
	// VersionAt returns the version of an object that was newest at sync
	// id asof (tombstones included), or KindNotFound.
	VersionAt(ctx context.Context, service, path string, asof uint64) (*schema.Version, error)
}

var _ PointInTime = (*Store)(nil)

// Moment is a resolved point in a service's history: the state after
// change SyncID (0: before any), at Time.
type Moment struct {
	SyncID uint64
	Time   time.Time
}

// MomentOf resolves an as-of value, an RFC 3339 time or "sync:N", for a
// service. A moment the history no longer reaches (versions purged by
// retention before it) is KindHistoryTruncated, naming the oldest moment
// that is still exact; one after the service's newest change is
// KindInvalidArgument for sync:N (a later time is simply now).
func (s *Store) MomentOf(ctx context.Context, svc *schema.Service, raw string) (Moment, error) {
	var m Moment
	if n, found := strings.CutPrefix(raw, "sync:"); found {
		id, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			return m, schema.Errorf(schema.KindInvalidArgument, "asof: sync:N needs a number")
		}
		if id > svc.LastSyncID {
			return m, schema.Errorf(schema.KindInvalidArgument, "asof: sync:%d is after the service's last sync id %d", id, svc.LastSyncID)
		}
		m.SyncID = id
	} else {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return m, schema.Errorf(schema.KindInvalidArgument, "asof must be an RFC 3339 time or sync:N")
		}
		if m.SyncID, err = s.SyncAt(ctx, svc.ID, t); err != nil {
			return m, err
		}
		m.Time = t
	}
	if m.SyncID > 0 {
		ct, err := s.ChangeTime(ctx, svc.ID, m.SyncID)
		if err != nil {
			return m, err
		}
		if m.Time.IsZero() {
			m.Time = ct
		}
	}
	if !svc.Horizon.IsZero() && (m.Time.Before(svc.Horizon) || m.SyncID == 0) && svc.LastSyncID > 0 {
		return m, schema.Errorf(schema.KindHistoryTruncated,
			"the history before %s is no longer kept (keep_versions %s): the oldest reachable moment is %s",
			svc.Horizon.UTC().Format(time.RFC3339Nano), svc.Settings.KeepVersions, svc.Horizon.UTC().Format(time.RFC3339Nano))
	}
	return m, nil
}

// SyncAt returns the sync id of a service as it was at time t: the largest
// sync id whose change happened at or before t (0: before the first).
// Event times are monotonic in the log, so this is a binary search.
func (s *Store) SyncAt(ctx context.Context, service string, t time.Time) (uint64, error) {
	svc, err := s.Service(ctx, service)
	if err != nil {
		return 0, err
	}
	first, err := s.FirstSyncID(ctx, service)
	if err != nil {
		return 0, schema.Wrap(schema.KindInternal, err, "read projection")
	}
	if first == 0 {
		return 0, nil
	}
	var out uint64
	err = s.db.View(func(tx *buntdb.Tx) error {
		n := int(svc.LastSyncID - first + 1)
		i := sort.Search(n, func(i int) bool {
			ct, ok := s.changeTime(tx, service, first+uint64(i))
			return !ok || ct.After(t)
		})
		if i > 0 {
			out = first + uint64(i) - 1
		}
		return nil
	})
	return out, err
}

// ChangeTime returns the time of change n of a service.
func (s *Store) ChangeTime(_ context.Context, service string, n uint64) (time.Time, error) {
	var t time.Time
	var ok bool
	err := s.db.View(func(tx *buntdb.Tx) error {
		t, ok = s.changeTime(tx, service, n)
		return nil
	})
	if err != nil {
		return t, err
	}
	if !ok {
		return t, notFound("change")
	}
	return t, nil
}

// VersionAt returns the version of an object that was newest at sync id
// asof (tombstones included), or KindNotFound.
func (s *Store) VersionAt(_ context.Context, service, path string, asof uint64) (*schema.Version, error) {
	return s.newestVersion(service, path, "file", func(v *schema.Version) bool { return v.SyncID <= asof })
}

// changeTime returns the time of the change with sync id n.
func (s *Store) changeTime(tx *buntdb.Tx, service string, n uint64) (time.Time, bool) {
	path, err := tx.Get(schema.ChangeKey(service, n))
	if err != nil {
		return time.Time{}, false
	}
	v, ok := changeVersion(tx, service, path, n)
	if !ok {
		return time.Time{}, false
	}
	return v.Time, true
}

// changeVersion returns the version change n of a service made at path:
// its version record, or the record of a purge.
func changeVersion(tx *buntdb.Tx, service, path string, n uint64) (*schema.Version, bool) {
	var v schema.Version
	if ok, err := getJSON(tx, schema.VersionKey(service, path, n), &v); err == nil && ok {
		return &v, true
	}
	if ok, err := getJSON(tx, schema.PurgeKey(service, n), &v); err == nil && ok {
		return &v, true
	}
	return nil, false
}
