package swift

import (
	"context"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// The Swift dialect's view of the core and of the projections: only the
// methods it calls, grouped by concern. *events.Core satisfies Core and
// *projections.Store satisfies State (asserted in deps_test.go); the unit
// tests pass in-memory fakes.

// Objects are the object writes.
type Objects interface {
	PutObject(ctx context.Context, o events.Origin, in events.PutInput) (*schema.Version, error)
	PutLarge(ctx context.Context, o events.Origin, in events.LargeInput) (*schema.Version, error)
	CopyObject(ctx context.Context, o events.Origin, in events.CopyInput) (*schema.Version, error)
	UpdateMeta(ctx context.Context, o events.Origin, in events.MetaInput) (*schema.Version, error)
	DeleteObject(ctx context.Context, o events.Origin, service, path string, cond schema.Conditions) (*schema.Version, error)
}

// Content reads what a version holds: a dynamic large object's segments
// (Resolve, with canRead deciding which containers they may come from)
// and the bytes.
type Content interface {
	Resolve(ctx context.Context, v *schema.Version, canRead func(*schema.Service) bool) (*schema.Version, error)
	Open(ctx context.Context, v *schema.Version) (blobstore.Reader, error)
}

// Containers are the container (service) writes.
type Containers interface {
	CreateService(ctx context.Context, o events.Origin, in events.ServiceInput) (*schema.Service, error)
	// CreateContainer creates the account's container name (its id chosen
	// by the core); KindAlreadyExists when the account has one.
	CreateContainer(ctx context.Context, o events.Origin, name string, in events.ServiceInput) (*schema.Service, error)
	UpdateService(ctx context.Context, o events.Origin, id string, update func(*schema.Service) error) (*schema.Service, error)
	SetServiceQuota(ctx context.Context, o events.Origin, id string, bytes, count int64) (*schema.Service, error)
	DeleteService(ctx context.Context, o events.Origin, id string) error
}

// Accounts are the account writes.
type Accounts interface {
	UpdateAccount(ctx context.Context, o events.Origin, id string, update func(*schema.Account) error) (*schema.Account, error)
	SetAccountQuota(ctx context.Context, o events.Origin, id string, bytes int64) (*schema.Account, error)
}

// Tokens issues Swift tokens and finds the key behind one.
type Tokens interface {
	IssueToken(ctx context.Context, o events.Origin, keyID, account string) (string, time.Time, error)
	TokenKey(ctx context.Context, token string) (string, time.Time, error)
}

// Limits are the core's clock and object size limit. They do no I/O, so
// they take no context (the core's own signatures).
type Limits interface {
	Now() time.Time
	MaxObjectSize() int64
}

// Secrets opens the secret metadata the core keeps sealed (temp URL
// keys), for a temp URL's signature check and for those who may see them.
// It does no I/O, so it takes no context.
type Secrets interface {
	RevealMeta(meta map[string]string) map[string]string
}

// Core is the part of the core the dialect calls.
type Core interface {
	Objects
	Content
	Containers
	Accounts
	Tokens
	Limits
	Secrets
}

// Catalog reads accounts and containers.
type Catalog interface {
	access.Services // Service: one container by id
	access.Names    // ServiceByName: one container by the account's name for it
	Services(ctx context.Context) ([]*schema.Service, error)
	Account(ctx context.Context, id string) (*schema.Account, error)
}

// Listing reads a container's listing and resolves point-in-time moments.
type Listing interface {
	List(ctx context.Context, service string, o projections.ListOptions) (*projections.ListResult, error)
	MomentOf(ctx context.Context, svc *schema.Service, raw string) (projections.Moment, error)
}

// State is the part of the projections the dialect reads: versions are
// read only through projections.Choose.
type State interface {
	Catalog
	Listing
	projections.VersionReader
}
