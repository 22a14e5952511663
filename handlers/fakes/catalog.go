package fakes

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/cairnhq/cairn/schema"
)

// NotFound is the KindNotFound error of a missing what ("file",
// "service", ...): "what not found".
func NotFound(what string) error { return schema.Errorf(schema.KindNotFound, "%s not found", what) }

// Catalog holds services, accounts and keys. It answers the projections'
// queries on them (access.Services, access.Keys and the dialects' own);
// its readers return copies, so a caller never changes what it holds
// except through the Put and Update methods.
type Catalog struct {
	mu       sync.Mutex
	services map[string]*schema.Service
	accounts map[string]*schema.Account
	keys     map[string]*schema.Key
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{services: map[string]*schema.Service{}, accounts: map[string]*schema.Account{},
		keys: map[string]*schema.Key{}}
}

// copyOf returns a copy of *v (nil when v is nil).
func copyOf[T any](v *T) *T {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

// get returns a copy of m[id], or NotFound(what).
func get[T any](c *Catalog, m map[string]*T, id, what string) (*T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := m[id]; ok {
		return copyOf(v), nil
	}
	return nil, NotFound(what)
}

// all returns copies of m's values, sorted by id.
func all[T any](c *Catalog, m map[string]*T, id func(*T) string) []*T {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, copyOf(v))
	}
	slices.SortFunc(out, func(a, b *T) int { return strings.Compare(id(a), id(b)) })
	return out
}

// put sets m[id] to a copy of v.
func put[T any](c *Catalog, m map[string]*T, id string, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m[id] = &v
}

// update runs f on m[id] and returns a copy of the result; NotFound(what)
// when there is none, f's error (and no change) when it fails.
func update[T any](c *Catalog, m map[string]*T, id, what string, f func(*T) error) (*T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := m[id]
	if !ok {
		return nil, NotFound(what)
	}
	next := copyOf(v)
	if err := f(next); err != nil {
		return nil, err
	}
	m[id] = next
	return copyOf(next), nil
}

// PutService adds svc, or replaces the service of its id.
func (c *Catalog) PutService(svc schema.Service) { put(c, c.services, svc.ID, svc) }

// CreateService adds svc unless a service of its id exists
// (KindAlreadyExists), and returns a copy.
func (c *Catalog) CreateService(svc schema.Service) (*schema.Service, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.services[svc.ID]; ok {
		return nil, schema.Errorf(schema.KindAlreadyExists, "service exists")
	}
	c.services[svc.ID] = &svc
	return copyOf(&svc), nil
}

// UpdateService changes a service with f.
func (c *Catalog) UpdateService(id string, f func(*schema.Service) error) (*schema.Service, error) {
	return update(c, c.services, id, "service", f)
}

// DeleteService removes a service.
func (c *Catalog) DeleteService(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.services[id]; !ok {
		return NotFound("service")
	}
	delete(c.services, id)
	return nil
}

// Service is one service by id.
func (c *Catalog) Service(_ context.Context, id string) (*schema.Service, error) {
	return get(c, c.services, id, "service")
}

// ServiceByName is the service of account whose container name is name.
func (c *Catalog) ServiceByName(_ context.Context, account, name string) (*schema.Service, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.services {
		if s.Account == account && s.ContainerName() == name {
			return copyOf(s), nil
		}
	}
	return nil, NotFound("service")
}

// CreateContainer is events.Core.CreateContainer's rule on the catalog:
// the account's container name, with the name as its id while no service
// has it, else "<account>/<name>"; KindAlreadyExists (with the service)
// when the account has one.
func (c *Catalog) CreateContainer(svc schema.Service, name string) (*schema.Service, error) {
	if s, err := c.ServiceByName(context.Background(), svc.Account, name); err == nil {
		return s, schema.Errorf(schema.KindAlreadyExists, "container exists")
	}
	svc.ID, svc.Container = name, name
	if _, err := c.Service(context.Background(), name); err == nil {
		svc.ID = svc.Account + "/" + name
	}
	return c.CreateService(svc)
}

// Services are all services, by id.
func (c *Catalog) Services(context.Context) ([]*schema.Service, error) {
	return all(c, c.services, func(s *schema.Service) string { return s.ID }), nil
}

// PutAccount adds a, or replaces the account of its id.
func (c *Catalog) PutAccount(a schema.Account) { put(c, c.accounts, a.ID, a) }

// UpdateAccount changes an account with f.
func (c *Catalog) UpdateAccount(id string, f func(*schema.Account) error) (*schema.Account, error) {
	return update(c, c.accounts, id, "account", f)
}

// Account is one account by id.
func (c *Catalog) Account(_ context.Context, id string) (*schema.Account, error) {
	return get(c, c.accounts, id, "account")
}

// Accounts are all accounts, by id.
func (c *Catalog) Accounts(context.Context) ([]*schema.Account, error) {
	return all(c, c.accounts, func(a *schema.Account) string { return a.ID }), nil
}

// PutKey adds k, or replaces the key of its id.
func (c *Catalog) PutKey(k schema.Key) { put(c, c.keys, k.ID, k) }

// Key is one key by id.
func (c *Catalog) Key(_ context.Context, id string) (*schema.Key, error) {
	return get(c, c.keys, id, "key")
}

// KeyByLookup is the key whose value hashes to lookup.
func (c *Catalog) KeyByLookup(_ context.Context, lookup string) (*schema.Key, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.keys {
		if k.Lookup == lookup {
			return copyOf(k), nil
		}
	}
	return nil, NotFound("key")
}

// Keys are all keys, by id.
func (c *Catalog) Keys(context.Context) ([]*schema.Key, error) {
	return all(c, c.keys, func(k *schema.Key) string { return k.ID }), nil
}
