package events

import (
	"context"
	"maps"
	"strings"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// ServiceAdmin is the core's family of changes to services and accounts
// (the tenants owning them), each one event.
type ServiceAdmin interface {
	CreateService(ctx context.Context, o Origin, in ServiceInput) (*schema.Service, error)
	UpdateService(ctx context.Context, o Origin, id string, update func(*schema.Service) error) (*schema.Service, error)
	DeleteService(ctx context.Context, o Origin, id string) error
	SetServiceQuota(ctx context.Context, o Origin, id string, bytes, count int64) (*schema.Service, error)
	CreateAccount(ctx context.Context, o Origin, id, name string) (*schema.Account, error)
	EnsureAccount(ctx context.Context, id, name string) error
	UpdateAccount(ctx context.Context, o Origin, id string, update func(*schema.Account) error) (*schema.Account, error)
	DeleteAccount(ctx context.Context, o Origin, id string) error
	SetAccountQuota(ctx context.Context, o Origin, id string, bytes int64) (*schema.Account, error)
}

var _ ServiceAdmin = (*Core)(nil)

// ServiceInput creates or updates a service.
type ServiceInput struct {
	ID      string
	Account string
	Name    string
	// Container is the service's name among its account's containers
	// and buckets (unique in the account); "" means the id.
	Container string
	Type      string
	Settings  schema.ServiceSettings
}

func validSettings(st schema.ServiceSettings) error {
	if kv := st.KeepVersions; kv != "" && kv != "forever" {
		if d, err := time.ParseDuration(kv); err != nil || d <= 0 {
			return schema.Errorf(schema.KindInvalidArgument, `keep_versions must be "forever" or a positive duration like "720h"`)
		}
	}
	for _, acl := range [][]string{st.ReadACL, st.WriteACL} {
		for _, e := range acl {
			if err := validACLElement(e); err != nil {
				return err
			}
		}
	}
	switch st.Versioning {
	case "", "Enabled", "Suspended":
	default:
		return schema.Errorf(schema.KindInvalidArgument, "versioning must be Enabled or Suspended")
	}
	return nil
}

// validACLElement accepts the ACL elements access decisions understand:
// ".r:*", ".rlistings", "acct", "acct:*", "acct:KEY", "acct:LOGIN", "KEY".
// Referrer restrictions (".r:example.com") are refused rather than widened.
func validACLElement(e string) error {
	if e == schema.ACLPublicRead || e == schema.ACLListings {
		return nil
	}
	acct, key, pair := strings.Cut(e, ":")
	ok := schema.ValidAccountID(acct) || (!pair && schema.ValidKeyID(e))
	if pair {
		ok = schema.ValidAccountID(acct) && (key == "*" || schema.ValidKeyID(key) || schema.ValidLogin(key))
	}
	if !ok {
		return schema.Errorf(schema.KindInvalidArgument,
			`ACL element %q: use ".r:*", ".rlistings", an account id, "account:*", "account:KEYID", "account:LOGIN" or a key id`, e)
	}
	return nil
}

// CreateService creates a service; KindAlreadyExists when the id is taken.
func (s *Core) CreateService(ctx context.Context, o Origin, in ServiceInput) (*schema.Service, error) {
	if in.Account == "" {
		in.Account = schema.DefaultAccount
	}
	// an id is a container name, or <account>/<container> for a service
	// whose container name another account's service has as its id ('/'
	// is in no container name, so such ids collide with nothing)
	if !schema.ValidContainerName(in.ID) && (in.Container == "" || in.ID != in.Account+"/"+in.Container) {
		return nil, schema.Errorf(schema.KindInvalidArgument, "invalid service id")
	}
	switch in.Type {
	case "", schema.ServiceStorage:
		in.Type = schema.ServiceStorage
	case schema.ServiceCache:
		if c := in.Settings.Cache; c != nil { // the defaults go into the event: later defaults never change it
			d := c.WithDefaults()
			in.Settings.Cache = &d
		}
	default:
		return nil, schema.Errorf(schema.KindInvalidArgument, `type must be "storage" or "cache"`)
	}
	if err := validSettings(in.Settings); err != nil {
		return nil, err
	}
	if err := s.checkCache(ctx, in.ID, in.Account, in.Type, in.Settings); err != nil {
		return nil, err
	}
	if err := s.checkReplica(ctx, in.Settings.Replica); err != nil {
		return nil, err
	}
	if in.Name == "" {
		in.Name = in.ID
	}
	in.Settings.Meta = s.sealer.SealMeta(nil, in.Settings.Meta) // secrets never enter the log in clear
	if in.Container == "" {
		in.Container = in.ID
	}
	if !schema.ValidContainerName(in.Container) {
		return nil, schema.Errorf(schema.KindInvalidArgument, "invalid container name")
	}
	if _, err := s.state.Account(ctx, in.Account); err != nil {
		return nil, err
	}
	// the id is unique on the server, the container name in the account:
	// both decided on the same state of the log (creations are rare)
	_, err := s.commitOnAll(ctx, func() (*schema.Event, error) {
		if _, err := s.state.Service(ctx, in.ID); err == nil {
			return nil, schema.Errorf(schema.KindAlreadyExists, "service %q already exists", in.ID)
		} else if !schema.IsKind(err, schema.KindNotFound) {
			return nil, err
		}
		if _, err := s.state.ServiceByName(ctx, in.Account, in.Container); err == nil {
			return nil, schema.Errorf(schema.KindAlreadyExists, "account %q already has a container named %q", in.Account, in.Container)
		} else if !schema.IsKind(err, schema.KindNotFound) {
			return nil, err
		}
		if in.Container == in.ID { // the meaning v1 always had: its readers read it right
			return s.newEvent(o, schema.TypeServiceCreated, in.Account, in.ID, "",
				schema.ServiceCreated{ID: in.ID, Name: in.Name, Type: in.Type, Settings: in.Settings})
		}
		return s.newEvent(o, schema.TypeServiceCreatedV2, in.Account, in.ID, "",
			schema.ServiceCreatedV2{ID: in.ID, Name: in.Name, Container: in.Container, Type: in.Type, Settings: in.Settings})
	})
	if err != nil {
		return nil, err
	}
	return s.state.Service(ctx, in.ID)
}

// UpdateService replaces a service's name and settings.
func (s *Core) UpdateService(ctx context.Context, o Origin, id string, update func(*schema.Service) error) (*schema.Service, error) {
	_, err := s.commitOn(ctx, schema.ServiceSubject(id, "*"), func() (*schema.Event, error) {
		svc, err := s.state.Service(ctx, id)
		if err != nil {
			return nil, err
		}
		meta := maps.Clone(svc.Settings.Meta)
		if err := update(svc); err != nil {
			return nil, err
		}
		svc.Settings.Meta = s.sealer.SealMeta(meta, svc.Settings.Meta) // secrets never enter the log in clear
		if err := validSettings(svc.Settings); err != nil {
			return nil, err
		}
		if c := svc.Settings.Cache; c != nil {
			d := c.WithDefaults()
			svc.Settings.Cache = &d
		}
		if err := s.checkCache(ctx, id, svc.Account, svc.Type, svc.Settings); err != nil {
			return nil, err
		}
		if err := s.checkReplica(ctx, svc.Settings.Replica); err != nil {
			return nil, err
		}
		return s.newEvent(o, schema.TypeServiceUpdated, svc.Account, id, "",
			schema.ServiceUpdated{ID: id, Name: svc.Name, Settings: svc.Settings})
	})
	if err != nil {
		return nil, err
	}
	return s.state.Service(ctx, id)
}

// DeleteService removes a service that holds no files (KindConflict
// otherwise). The check is atomic: the delete expects the whole log to be
// exactly as seen, so a racing upload makes it re-check.
func (s *Core) DeleteService(ctx context.Context, o Origin, id string) error {
	_, err := s.commitOnAll(ctx, func() (*schema.Event, error) {
		svc, err := s.state.Service(ctx, id)
		if err != nil {
			return nil, err
		}
		if svc.Files > 0 {
			return nil, schema.Reasonf(schema.KindConflict, schema.ReasonNotEmpty, "service %q still holds %d files", id, svc.Files)
		}
		return s.newEvent(o, schema.TypeServiceDeleted, svc.Account, id, "", schema.ServiceDeleted{ID: id})
	})
	if err == nil {
		s.dropFeedService(ctx, id)
	}
	return err
}

// CreateAccount creates an account; KindAlreadyExists when taken.
func (s *Core) CreateAccount(ctx context.Context, o Origin, id, name string) (*schema.Account, error) {
	if !schema.ValidAccountID(id) {
		return nil, schema.Errorf(schema.KindInvalidArgument, "invalid account id")
	}
	if name == "" {
		name = id
	}
	_, err := s.commitOn(ctx, schema.AccountSubject(id, "*"), func() (*schema.Event, error) {
		if _, err := s.state.Account(ctx, id); err == nil {
			return nil, schema.Errorf(schema.KindAlreadyExists, "account %q already exists", id)
		} else if !schema.IsKind(err, schema.KindNotFound) {
			return nil, err
		}
		return s.newEvent(o, schema.TypeAccountCreated, id, "", "", schema.AccountCreated{ID: id, Name: name})
	})
	if err != nil {
		return nil, err
	}
	return s.state.Account(ctx, id)
}

// EnsureAccount creates an account unless it exists (used for the default
// account at start-up).
func (s *Core) EnsureAccount(ctx context.Context, id, name string) error {
	_, err := s.CreateAccount(ctx, Origin{Actor: schema.Actor{KeyID: schema.ActorSystem}}, id, name)
	if schema.IsKind(err, schema.KindAlreadyExists) {
		return nil
	}
	return err
}

// DeleteAccount removes an account that owns no services and no keys.
func (s *Core) DeleteAccount(ctx context.Context, o Origin, id string) error {
	if id == schema.DefaultAccount {
		return schema.Errorf(schema.KindConflict, "the default account cannot be deleted")
	}
	_, err := s.commitOnAll(ctx, func() (*schema.Event, error) {
		a, err := s.state.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		if a.Services > 0 || a.Keys > 0 {
			return nil, schema.Errorf(schema.KindConflict, "account %q still owns %d services and %d keys", id, a.Services, a.Keys)
		}
		return s.newEvent(o, schema.TypeAccountDeleted, id, "", "", schema.AccountDeleted{ID: id})
	})
	return err
}

// SetServiceQuota sets a service's quota (0 = none).
func (s *Core) SetServiceQuota(ctx context.Context, o Origin, id string, bytes, count int64) (*schema.Service, error) {
	if bytes < 0 || count < 0 {
		return nil, schema.Errorf(schema.KindInvalidArgument, "quotas are not negative")
	}
	_, err := s.commitOn(ctx, schema.ServiceSubject(id, "*"), func() (*schema.Event, error) {
		svc, err := s.state.Service(ctx, id)
		if err != nil {
			return nil, err
		}
		return s.newEvent(o, schema.TypeQuotaSet, svc.Account, id, "", schema.QuotaSet{Bytes: bytes, Count: count})
	})
	if err != nil {
		return nil, err
	}
	return s.state.Service(ctx, id)
}

// SetAccountQuota sets an account's byte quota (0 = none).
func (s *Core) SetAccountQuota(ctx context.Context, o Origin, id string, bytes int64) (*schema.Account, error) {
	if bytes < 0 {
		return nil, schema.Errorf(schema.KindInvalidArgument, "quotas are not negative")
	}
	_, err := s.commitOn(ctx, schema.AccountSubject(id, "*"), func() (*schema.Event, error) {
		if _, err := s.state.Account(ctx, id); err != nil {
			return nil, err
		}
		return s.newEvent(o, schema.TypeQuotaSet, id, "", "", schema.QuotaSet{Bytes: bytes})
	})
	if err != nil {
		return nil, err
	}
	return s.state.Account(ctx, id)
}

// UpdateAccount changes an account's name or metadata.
func (s *Core) UpdateAccount(ctx context.Context, o Origin, id string, update func(*schema.Account) error) (*schema.Account, error) {
	_, err := s.commitOn(ctx, schema.AccountSubject(id, "*"), func() (*schema.Event, error) {
		a, err := s.state.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		meta := maps.Clone(a.Meta)
		if err := update(a); err != nil {
			return nil, err
		}
		a.Meta = s.sealer.SealMeta(meta, a.Meta) // secrets never enter the log in clear
		return s.newEvent(o, schema.TypeAccountUpdated, id, "", "", schema.AccountUpdated{ID: id, Name: a.Name, Meta: a.Meta})
	})
	if err != nil {
		return nil, err
	}
	return s.state.Account(ctx, id)
}
