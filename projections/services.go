package projections

import (
	"context"
	"maps"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// Services is the query family of services and accounts (the tenants
// that own them).
type Services interface {
	// Service returns a service, or KindNotFound.
	Service(ctx context.Context, id string) (*schema.Service, error)
	// ServiceByName returns the service of an account by its container
	// name (Swift container, S3 bucket), or KindNotFound.
	ServiceByName(ctx context.Context, account, name string) (*schema.Service, error)
	// Services returns every service, ordered by id.
	Services(ctx context.Context) ([]*schema.Service, error)
	// Account returns an account, or KindNotFound.
	Account(ctx context.Context, id string) (*schema.Account, error)
	// Accounts returns every account, ordered by id.
	Accounts(ctx context.Context) ([]*schema.Account, error)
}

var _ Services = (*Store)(nil)

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

// ServiceByName returns the service of account whose container name (its
// Swift container, its S3 bucket) is name, or KindNotFound.
func (s *Store) ServiceByName(ctx context.Context, account, name string) (*schema.Service, error) {
	var id string
	err := s.db.View(func(tx *buntdb.Tx) error {
		var err error
		id, err = tx.Get(schema.ServiceNameKey(account, name))
		return err
	})
	if err == buntdb.ErrNotFound {
		return nil, notFound("service")
	}
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "read projection")
	}
	return s.Service(ctx, id)
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
	return record[schema.Account](s, schema.AccountKey(id), "account")
}

// Accounts returns every account, ordered by id.
func (s *Store) Accounts(_ context.Context) ([]*schema.Account, error) {
	return scanAll[schema.Account](s, "acct:")
}
