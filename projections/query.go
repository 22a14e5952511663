package projections

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

func notFound(what string) error { return schema.Errorf(schema.KindNotFound, "%s not found", what) }

func (s *Store) get(key string, v any, what string) error {
	return s.db.View(func(tx *buntdb.Tx) error {
		ok, err := getJSON(tx, key, v)
		if err != nil {
			return schema.Wrap(schema.KindInternal, err, "read projection")
		}
		if !ok {
			return notFound(what)
		}
		return nil
	})
}

// Service returns a service, or KindNotFound.
func (s *Store) Service(_ context.Context, id string) (*schema.Service, error) {
	s.svcMu.RLock()
	svc, ok := s.svcCache[id]
	gen := s.svcGen
	s.svcMu.RUnlock()
	if ok {
		return cloneService(svc), nil
	}
	if err := s.get(schema.ServiceKey(id), &svc, "service"); err != nil {
		return nil, err
	}
	s.svcMu.Lock()
	if s.svcGen == gen {
		s.svcCache[id] = svc
	}
	s.svcMu.Unlock()
	return cloneService(svc), nil
}

// cloneService copies a cached service so callers may change theirs.
func cloneService(svc schema.Service) *schema.Service {
	svc.Settings.Meta = maps.Clone(svc.Settings.Meta)
	return &svc
}

// Services returns every service, ordered by id.
func (s *Store) Services(_ context.Context) ([]*schema.Service, error) {
	return scanAll[schema.Service](s, "svc:")
}

// Account returns an account, or KindNotFound.
func (s *Store) Account(_ context.Context, id string) (*schema.Account, error) {
	var a schema.Account
	if err := s.get(schema.AccountKey(id), &a, "account"); err != nil {
		return nil, err
	}
	return &a, nil
}

// Accounts returns every account, ordered by id.
func (s *Store) Accounts(_ context.Context) ([]*schema.Account, error) {
	return scanAll[schema.Account](s, "acct:")
}

// Key returns a key by id (revoked keys included), or KindNotFound.
func (s *Store) Key(_ context.Context, id string) (*schema.Key, error) {
	var k schema.Key
	if err := s.get(schema.KeyKey(id), &k, "key"); err != nil {
		return nil, err
	}
	return &k, nil
}

// KeyByLookup returns the unrevoked key whose value hashes to lookup.
func (s *Store) KeyByLookup(ctx context.Context, lookup string) (*schema.Key, error) {
	var id string
	err := s.db.View(func(tx *buntdb.Tx) error {
		var err error
		id, err = tx.Get(schema.KeyLookupKey(lookup))
		return err
	})
	if err == buntdb.ErrNotFound {
		return nil, notFound("key")
	}
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "read projection")
	}
	return s.Key(ctx, id)
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

// Source returns a replication source.
func (s *Store) Source(_ context.Context, name string) (*schema.Source, error) {
	var src schema.Source
	if err := s.get(schema.SourceKey(name), &src, "source"); err != nil {
		return nil, err
	}
	return &src, nil
}

// Sources returns every replication source, by name.
func (s *Store) Sources(_ context.Context) ([]*schema.Source, error) {
	return scanAll[schema.Source](s, "src:")
}

// Token returns a key's current auth token record.
func (s *Store) Token(_ context.Context, keyID string) (*schema.Token, error) {
	var t schema.Token
	if err := s.get(schema.TokenKey(keyID), &t, "token"); err != nil {
		return nil, err
	}
	return &t, nil
}

// TokenByLookup finds the token record whose token hashes to lookup.
func (s *Store) TokenByLookup(ctx context.Context, lookup string) (*schema.Token, error) {
	var id string
	err := s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(schema.TokenLookupKey(lookup))
		id = v
		return err
	})
	if err == buntdb.ErrNotFound {
		return nil, notFound("token")
	}
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "token lookup")
	}
	t, err := s.Token(ctx, id)
	if err != nil || t.Lookup != lookup {
		return nil, notFound("token")
	}
	return t, nil
}

// Keys returns every key (revoked ones included), ordered by id.
func (s *Store) Keys(_ context.Context) ([]*schema.Key, error) { return scanAll[schema.Key](s, "key:") }

// scanAll decodes every record under prefix, in key order.
func scanAll[T any](s *Store, prefix string) ([]*T, error) {
	var out []*T
	err := s.scanJSON(prefix, func(raw string) error {
		v := new(T)
		if err := decodeJSON(raw, v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func (s *Store) scanJSON(prefix string, fn func(raw string) error) error {
	var ferr error
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", prefix, func(k, v string) bool {
			if !strings.HasPrefix(k, prefix) {
				return false
			}
			ferr = fn(v)
			return ferr == nil
		})
	})
	if ferr != nil {
		return schema.Wrap(schema.KindInternal, ferr, "read projection")
	}
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "read projection")
	}
	return nil
}

// Object returns the current live version of an object (it may have an
// expiry in the past that the reaper has not yet recorded), or KindNotFound.
func (s *Store) Object(_ context.Context, service, path string) (*schema.Version, error) {
	var v schema.Version
	if err := s.get(schema.ObjectKey(service, path), &v, "file"); err != nil {
		return nil, err
	}
	return &v, nil
}

// Head returns the newest version of an object, tombstones included, or
// KindNotFound when the object never existed.
func (s *Store) Head(ctx context.Context, service, path string) (*schema.Version, error) {
	var out *schema.Version
	err := s.versions(service, path, func(v *schema.Version) bool { out = v; return false })
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound("file")
	}
	return out, nil
}

// Versions returns up to limit versions of an object, newest first.
func (s *Store) Versions(_ context.Context, service, path string, limit int) ([]*schema.Version, error) {
	var out []*schema.Version
	err := s.versions(service, path, func(v *schema.Version) bool {
		out = append(out, v)
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// Version returns one version of an object by id, or KindNotFound.
func (s *Store) Version(_ context.Context, service, path, id string) (*schema.Version, error) {
	var out *schema.Version
	err := s.versions(service, path, func(v *schema.Version) bool {
		if v.Version == id {
			out = v
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound("version")
	}
	return out, nil
}

// VersionAt returns the version of an object that was newest at sync id
// asof (tombstones included), or KindNotFound.
func (s *Store) VersionAt(_ context.Context, service, path string, asof uint64) (*schema.Version, error) {
	var out *schema.Version
	err := s.versions(service, path, func(v *schema.Version) bool {
		if v.SyncID <= asof {
			out = v
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound("file")
	}
	return out, nil
}

func (s *Store) versions(service, path string, fn func(*schema.Version) bool) error {
	pfx := schema.VersionPathPrefix(service, path)
	var derr error
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", pfx, func(k, raw string) bool {
			if !strings.HasPrefix(k, pfx) || len(k) != len(pfx)+16 {
				return false
			}
			var v schema.Version
			if derr = decodeJSON(raw, &v); derr != nil {
				return false
			}
			return fn(&v)
		})
	})
	if derr != nil {
		err = derr
	}
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "read projection")
	}
	return nil
}

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

// Upload returns an open multipart upload of a service.
func (s *Store) Upload(_ context.Context, service, id string) (*schema.Upload, error) {
	var u schema.Upload
	if err := s.get(schema.UploadKey(service, id), &u, "upload"); err != nil {
		if schema.IsKind(err, schema.KindNotFound) {
			return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchUpload, "upload not found")
		}
		return nil, err
	}
	return &u, nil
}

// Uploads returns a service's open uploads ordered by path, then by
// initiation (upload ids are ULIDs, so id order is initiation order).
func (s *Store) Uploads(_ context.Context, service string) ([]*schema.Upload, error) {
	out, err := scanAll[schema.Upload](s, schema.UploadPrefix(service))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *schema.Upload) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Parts returns the stored parts of an upload in part-number order.
func (s *Store) Parts(_ context.Context, service, upload string) ([]*schema.Part, error) {
	return scanAll[schema.Part](s, schema.PartPrefix(service, upload))
}
