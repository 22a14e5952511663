package s3

import (
	"context"
	"io"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// The interfaces below are what the S3 dialect calls, declared here where
// they are used and split by concern. *events.Core satisfies Core and
// *projections.Store satisfies State (asserted in deps_test.go); the unit
// tests pass in-memory fakes.

// Objects are the core's object commands.
type Objects interface {
	PutObject(ctx context.Context, o events.Origin, in events.PutInput) (*schema.Version, error)
	// MaxObjectSize is the largest object the core stores (a PUT or part
	// declaring more is refused before its body is read).
	MaxObjectSize() int64
	CopyObject(ctx context.Context, o events.Origin, in events.CopyInput) (*schema.Version, error)
	// DeleteObject adds a delete marker; KindNotFound when there is no
	// live version.
	DeleteObject(ctx context.Context, o events.Origin, service, path string, cond schema.Conditions) (*schema.Version, error)
	// PurgeVersion removes one version for good; KindNotFound (reason
	// no_such_version) when it is not there.
	PurgeVersion(ctx context.Context, o events.Origin, service, path, version string) (*schema.Version, error)
}

// Content reads a version's bytes.
type Content interface {
	Open(ctx context.Context, v *schema.Version) (blobstore.Reader, error)
	// Resolve returns what a read of v serves: v itself, or for a large
	// object (a manifest) its whole content, reading only segments in
	// services canRead allows.
	Resolve(ctx context.Context, v *schema.Version, canRead func(*schema.Service) bool) (*schema.Version, error)
}

// Uploads are the core's multipart uploads.
type Uploads interface {
	CreateUpload(ctx context.Context, o events.Origin, in events.UploadInput) (*schema.Upload, error)
	// Upload is an open upload; KindNotFound (reason no_such_upload) when
	// there is none.
	Upload(ctx context.Context, service, id string) (*schema.Upload, error)
	PutPart(ctx context.Context, o events.Origin, service, upload string, n int, body io.Reader) (*schema.Part, error)
	Parts(ctx context.Context, service, upload string) ([]*schema.Part, error)
	CompleteUpload(ctx context.Context, o events.Origin, service, upload string, list []events.CompletePart, cond schema.Conditions) (*schema.Version, error)
	AbortUpload(ctx context.Context, o events.Origin, service, upload string) error
}

// BucketCommands are the core's commands on services.
type BucketCommands interface {
	CreateContainer(ctx context.Context, o events.Origin, name string, in events.ServiceInput) (*schema.Service, error)
	UpdateService(ctx context.Context, o events.Origin, id string, update func(*schema.Service) error) (*schema.Service, error)
	DeleteService(ctx context.Context, o events.Origin, id string) error
}

// Signing is what verifying a signature needs from the core: its clock
// (also the clock of expiry) and a key's secret value.
type Signing interface {
	Now() time.Time
	KeySecret(k *schema.Key) (string, error)
}

// Core is every command the dialect sends to the core.
type Core interface {
	Objects
	Content
	Uploads
	BucketCommands
	Signing
}

// Buckets reads services: one by id, one by its account's name for it
// (what access.LookupName needs) and all of them (ListBuckets).
type Buckets interface {
	access.Services
	access.Names
	Services(ctx context.Context) ([]*schema.Service, error)
}

// Listings are the bucket listings and the point-in-time moments they
// and reads take.
type Listings interface {
	List(ctx context.Context, service string, o projections.ListOptions) (*projections.ListResult, error)
	ListVersions(ctx context.Context, service string, o projections.VersionListOptions) (*projections.VersionListResult, error)
	Uploads(ctx context.Context, service string) ([]*schema.Upload, error)
	// MomentOf resolves an as-of value (RFC 3339 time or sync:N) for svc.
	MomentOf(ctx context.Context, svc *schema.Service, raw string) (projections.Moment, error)
}

// State is every query the dialect asks the projections: buckets, the
// versions a read chooses from (projections.Choose), and listings.
type State interface {
	Buckets
	projections.VersionReader
	Listings
}
