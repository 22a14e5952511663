package projections

import (
	"context"
	"slices"
	"strings"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// Objects is the query family of a service's objects as they are now:
// their versions, the listings (list.go) and the open multipart uploads.
type Objects interface {
	// Object returns the live version of an object, or KindNotFound.
	Object(ctx context.Context, service, path string) (*schema.Version, error)
	// Head returns the newest version of an object, tombstones included.
	Head(ctx context.Context, service, path string) (*schema.Version, error)
	// Version returns one version of an object by id, or KindNotFound.
	Version(ctx context.Context, service, path, id string) (*schema.Version, error)
	// Versions returns up to limit versions of an object, newest first.
	Versions(ctx context.Context, service, path string, limit int) ([]*schema.Version, error)
	// List returns a page of a service's live files (or, with AsOf, of
	// the files as they were).
	List(ctx context.Context, service string, o ListOptions) (*ListResult, error)
	// ListVersions returns a page of a service's versions.
	ListVersions(ctx context.Context, service string, o VersionListOptions) (*VersionListResult, error)
	// Upload returns an open multipart upload of a service.
	Upload(ctx context.Context, service, id string) (*schema.Upload, error)
	// Uploads returns a service's open uploads by path, then initiation.
	Uploads(ctx context.Context, service string) ([]*schema.Upload, error)
	// Parts returns the stored parts of an upload in part-number order.
	Parts(ctx context.Context, service, upload string) ([]*schema.Part, error)
}

var _ Objects = (*Store)(nil)

// Object returns the current live version of an object (it may have an
// expiry in the past that the reaper has not yet recorded), or KindNotFound.
func (s *Store) Object(_ context.Context, service, path string) (*schema.Version, error) {
	return record[schema.Version](s, schema.ObjectKey(service, path), "file")
}

// Head returns the newest version of an object, tombstones included, or
// KindNotFound when the object never existed.
func (s *Store) Head(_ context.Context, service, path string) (*schema.Version, error) {
	return s.newestVersion(service, path, "file", func(*schema.Version) bool { return true })
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
	return s.newestVersion(service, path, "version", func(v *schema.Version) bool { return v.Version == id })
}

// Referenced returns the version of a static large object that a
// manifest's segment references: one of the object's versions, or, once it
// left the history (purged, retired, its service deleted), the pinned
// record the projections keep while any manifest references it. Only reads
// through a reference may see a pinned record. KindNotFound when neither
// holds it. Both are read in one transaction, so a version moving from its
// history to its pinned record is never missed.
func (s *Store) Referenced(_ context.Context, service, path, id string) (*schema.Version, error) {
	var out *schema.Version
	pfx := schema.VersionPathPrefix(service, path)
	var derr error
	err := s.db.View(func(tx *buntdb.Tx) error {
		err := tx.AscendGreaterOrEqual("", pfx, func(k, raw string) bool {
			if !strings.HasPrefix(k, pfx) || len(k) != len(pfx)+16 {
				return false
			}
			if !strings.Contains(raw, id) { // most versions are not the one: skip decoding them
				return true
			}
			v := new(schema.Version)
			if derr = decodeJSON(raw, v); derr != nil {
				return false
			}
			if v.Version == id {
				out = v
			}
			return out == nil
		})
		if err != nil || derr != nil || out != nil {
			return err
		}
		v := new(schema.Version)
		ok, err := getJSON(tx, schema.PinnedKey(service, path, id), v)
		if ok {
			out = v
		}
		return err
	})
	if derr != nil {
		err = derr
	}
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "read projection")
	}
	if out == nil {
		return nil, notFound("version")
	}
	return out, nil
}

// newestVersion returns the newest version of path that match accepts, or
// KindNotFound naming what.
func (s *Store) newestVersion(service, path, what string, match func(*schema.Version) bool) (*schema.Version, error) {
	var out *schema.Version
	err := s.versions(service, path, func(v *schema.Version) bool {
		if match(v) {
			out = v
		}
		return out == nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound(what)
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
