package projections

import (
	"context"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// VersionReader is what choosing a version reads.
type VersionReader interface {
	// Object is the live (newest, not deleted) version of path.
	Object(ctx context.Context, service, path string) (*schema.Version, error)
	// Head is the newest version of path, a delete marker included.
	Head(ctx context.Context, service, path string) (*schema.Version, error)
	// Version is one version of path by id.
	Version(ctx context.Context, service, path, id string) (*schema.Version, error)
	// Versions lists path's versions, newest first (limit 0: all).
	Versions(ctx context.Context, service, path string, limit int) ([]*schema.Version, error)
	// VersionAt is the newest version of path with a sync id <= asof.
	VersionAt(ctx context.Context, service, path string, asof uint64) (*schema.Version, error)
}

var _ VersionReader = (*Store)(nil)

// Selector says which version of an object a read serves.
type Selector struct {
	// VersionID names one version; "null" is the null version (S3's
	// unversioned writes).
	VersionID string
	// At reads the object as it was at a moment (MomentOf); SyncID 0 is
	// before the service's first change.
	At *Moment
	// Now is the clock for a live read or a read by id: a version whose
	// delete-at has passed is not served.
	Now time.Time
	// ShowExpired: the reader administers the service, and an as-of read
	// may serve a version that was live then though its delete-at has
	// passed since. For anyone else an expired object is gone in every
	// read form.
	ShowExpired bool
}

// Chosen is a read's version, and the delete marker in its way when there
// is one.
type Chosen struct {
	// Version is the version to serve; nil when Choose fails.
	Version *schema.Version
	// Marker is the delete marker that answered instead: the newest
	// version of a deleted object on a live read, or the version a read by
	// id named. Dialects that show markers (S3's x-amz-delete-marker) use
	// it; nil otherwise.
	Marker *schema.Version
}

// NullVersion is the version id S3 gives the null version.
const NullVersion = "null"

// Choose finds the version a read serves, the one rule every dialect
// follows:
//   - VersionID and At together are KindInvalidArgument.
//   - By id: a missing id is KindNotFound (reason no_such_version); a
//     delete marker is KindMethodNotAllowed with Chosen.Marker set (a
//     marker has no content); a version whose delete-at passed is
//     KindNotFound (reason no_such_version).
//   - As of a moment: the newest version at or before it, KindNotFound
//     when there was none, it was a delete marker, or it had expired by
//     then (or, unless ShowExpired, has expired since).
//   - Live: the newest version; KindNotFound when there is none, when it
//     has expired, or when it is a delete marker (Chosen.Marker set).
func Choose(ctx context.Context, r VersionReader, service, path string, sel Selector) (Chosen, error) {
	switch {
	case sel.VersionID != "" && sel.At != nil:
		return Chosen{}, schema.Errorf(schema.KindInvalidArgument, "a version id and a moment exclude each other")
	case sel.VersionID != "":
		return byID(ctx, r, service, path, sel)
	case sel.At != nil:
		if sel.At.SyncID == 0 {
			return Chosen{}, schema.Errorf(schema.KindNotFound, "file not found at that moment")
		}
		v, err := r.VersionAt(ctx, service, path, sel.At.SyncID)
		if err != nil {
			return Chosen{}, err
		}
		if !v.Live(sel.At.Time) || (!sel.ShowExpired && v.ExpiredAt(sel.Now)) {
			return Chosen{}, schema.Errorf(schema.KindNotFound, "file not found at that moment")
		}
		return Chosen{Version: v}, nil
	}
	v, err := r.Object(ctx, service, path)
	if schema.IsKind(err, schema.KindNotFound) {
		if head, herr := r.Head(ctx, service, path); herr == nil && head.Deleted {
			return Chosen{Marker: head}, err
		}
		return Chosen{}, err
	}
	if err != nil {
		return Chosen{}, err
	}
	if !v.Live(sel.Now) {
		return Chosen{}, schema.Errorf(schema.KindNotFound, "file not found")
	}
	return Chosen{Version: v}, nil
}

func byID(ctx context.Context, r VersionReader, service, path string, sel Selector) (Chosen, error) {
	noSuchVersion := schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchVersion, "version not found")
	var v *schema.Version
	if sel.VersionID == NullVersion {
		vs, err := r.Versions(ctx, service, path, 0)
		if err != nil {
			return Chosen{}, err
		}
		for _, x := range vs {
			if x.Null {
				v = x
				break
			}
		}
		if v == nil {
			return Chosen{}, noSuchVersion
		}
	} else {
		var err error
		if v, err = r.Version(ctx, service, path, sel.VersionID); schema.IsKind(err, schema.KindNotFound) {
			return Chosen{}, noSuchVersion
		} else if err != nil {
			return Chosen{}, err
		}
	}
	if v.Deleted {
		return Chosen{Marker: v}, schema.Errorf(schema.KindMethodNotAllowed, "the version is a delete marker")
	}
	if v.ExpiredAt(sel.Now) {
		return Chosen{}, noSuchVersion
	}
	return Chosen{Version: v}, nil
}
