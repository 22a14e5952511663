package native

import (
	"context"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/blobstore/cache"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// The native dialect's needs, declared here where they are used, each
// listing only the methods this package calls. Deps.Core and Deps.State
// compose them, so the server passes its *events.Core and
// *projections.Store while a test passes fakes.

// Core is what the native dialect asks of the write side: Objects for
// the file functions, the rest for the admin functions.
type Core interface {
	Objects
	ServiceAdmin
	AccountAdmin
	SourceAdmin
	FeedCredAdmin
}

// Objects writes and reads files.
type Objects interface {
	// Now is the core's clock: what a read is live at and what
	// x-owncdn-delete-after counts from.
	Now() time.Time
	PutObject(ctx context.Context, o events.Origin, in events.PutInput) (*schema.Version, error)
	// MaxObjectSize is the largest object an upload may declare.
	MaxObjectSize() int64
	DeleteObject(ctx context.Context, o events.Origin, service, path string, cond schema.Conditions) (*schema.Version, error)
	// Open opens a version's bytes.
	Open(ctx context.Context, v *schema.Version) (blobstore.Reader, error)
	// Resolve turns a large object's manifest into the version of its
	// whole content, reading segments only in services canRead allows.
	Resolve(ctx context.Context, v *schema.Version, canRead func(*schema.Service) bool) (*schema.Version, error)
}

// ServiceAdmin creates, changes, deletes and restores services.
type ServiceAdmin interface {
	CreateService(ctx context.Context, o events.Origin, in events.ServiceInput) (*schema.Service, error)
	UpdateService(ctx context.Context, o events.Origin, id string, update func(*schema.Service) error) (*schema.Service, error)
	DeleteService(ctx context.Context, o events.Origin, id string) error
	SetServiceQuota(ctx context.Context, o events.Origin, id string, bytes, count int64) (*schema.Service, error)
	Restore(ctx context.Context, o events.Origin, in events.RestoreInput) ([]events.RestoreAction, error)
}

// AccountAdmin manages accounts and their keys.
type AccountAdmin interface {
	CreateAccount(ctx context.Context, o events.Origin, id, name string) (*schema.Account, error)
	UpdateAccount(ctx context.Context, o events.Origin, id string, update func(*schema.Account) error) (*schema.Account, error)
	SetAccountQuota(ctx context.Context, o events.Origin, id string, bytes int64) (*schema.Account, error)
	DeleteAccount(ctx context.Context, o events.Origin, id string) error
	CreateKey(ctx context.Context, o events.Origin, in events.KeyInput) (*schema.Key, string, error)
	RevokeKey(ctx context.Context, o events.Origin, id string) error
}

// SourceAdmin manages replication sources.
type SourceAdmin interface {
	CreateSource(ctx context.Context, o events.Origin, name, rawURL, key string) (*schema.Source, error)
	DeleteSource(ctx context.Context, o events.Origin, name string) error
}

// State is what the native dialect reads from the projections.
type State interface {
	Services
	Versions
	SyncLog
	Directory
	FeedCredReader
}

// Services finds services; it is what access.Lookup reads.
type Services interface {
	Service(ctx context.Context, id string) (*schema.Service, error)
	// Services returns every service (servicelist filters them by key).
	Services(ctx context.Context) ([]*schema.Service, error)
}

// Versions reads files and their versions: what projections.Choose
// needs, the listing, and the moments asof names.
type Versions interface {
	projections.VersionReader
	List(ctx context.Context, service string, o projections.ListOptions) (*projections.ListResult, error)
	// MomentOf resolves an asof value (an RFC 3339 time or sync:N).
	MomentOf(ctx context.Context, svc *schema.Service, raw string) (projections.Moment, error)
}

// SyncLog is a service's changes by sync id (syncnext).
type SyncLog interface {
	// Changed returns a channel closed at the next applied change.
	Changed() <-chan struct{}
	Changes(ctx context.Context, service string, after uint64, limit int) ([]*schema.Version, error)
	FirstSyncID(ctx context.Context, service string) (uint64, error)
}

// Directory lists what the admin functions show: keys, accounts and
// replication sources.
type Directory interface {
	Keys(ctx context.Context) ([]*schema.Key, error)
	Account(ctx context.Context, id string) (*schema.Account, error)
	Accounts(ctx context.Context) ([]*schema.Account, error)
	Sources(ctx context.Context) ([]*schema.Source, error)
}

// Caches serves cache services' copies.
type Caches interface {
	Get(ctx context.Context, svc *schema.Service, path string) (*cache.Result, error)
	List(ctx context.Context, svc *schema.Service, prefix, delimiter, after string, limit int) (cache.Page, error)
	Put(ctx context.Context, svc *schema.Service, in events.CachePut) (cache.Entry, error)
	Delete(ctx context.Context, svc *schema.Service, path string, cond schema.Conditions) (cache.Entry, error)
	// Flush empties a cache, recording who asked in the log.
	Flush(ctx context.Context, o events.Origin, svc *schema.Service) (int64, error)
	// Stats (a cache's counters and size) and Remove (a deleted cache's
	// copies) take no context, as events.Caches declares them: they touch
	// only this server's copies, never the source.
	Stats(svc *schema.Service) (cache.Stats, error)
	Remove(sid string) error
}

// The server's concrete types are what it passes in Deps.
var (
	_ Core   = (*events.Core)(nil)
	_ State  = (*projections.Store)(nil)
	_ Caches = (*events.Caches)(nil)
)

// BlobHealth reports what the scrubber found (events.Scrubber).
type BlobHealth interface {
	Health(ctx context.Context) schema.BlobHealth
}

var _ BlobHealth = (*events.Scrubber)(nil)
