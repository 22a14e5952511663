// Package access authenticates callers and decides what they may do. It is
// shared by every dialect: a key's access to a service is the same whether
// it speaks native, S3 or Swift.
package access

import (
	"context"
	"crypto/subtle"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// Principal is an authenticated caller.
type Principal struct {
	KeyID   string
	Account string
	Admin   bool // the server's admin key, or an account admin key
	Server  bool // the server's admin key: every account, admin functions
	Key     *schema.Key
}

// Keys is the projection query the authenticator needs.
type Keys interface {
	Key(ctx context.Context, id string) (*schema.Key, error)
	KeyByLookup(ctx context.Context, lookup string) (*schema.Key, error)
}

// Authenticator finds the principal behind a key value or key id.
type Authenticator struct {
	keys       Keys
	adminID    string
	adminValue string
}

// New returns an Authenticator; adminID/adminValue is the server admin key
// from the configuration (it is not in the log).
func New(keys Keys, adminID, adminValue string) *Authenticator {
	return &Authenticator{keys: keys, adminID: adminID, adminValue: adminValue}
}

func unauthorized() error { return schema.Errorf(schema.KindUnauthorized, "missing or unknown key") }

// ByValue authenticates a key value (x-owncdn-key). Every failure is the
// same KindUnauthorized error, with no hint of what was wrong.
func (a *Authenticator) ByValue(ctx context.Context, value string) (*Principal, error) {
	if value == "" {
		return nil, unauthorized()
	}
	if a.adminValue != "" && subtle.ConstantTimeCompare([]byte(value), []byte(a.adminValue)) == 1 {
		return a.admin(), nil
	}
	k, err := a.keys.KeyByLookup(ctx, events.LookupHash(value))
	if err != nil {
		if schema.IsKind(err, schema.KindNotFound) {
			return nil, unauthorized()
		}
		return nil, err
	}
	if k.Revoked {
		return nil, unauthorized()
	}
	return &Principal{KeyID: k.ID, Account: k.Account, Admin: k.Admin, Key: k}, nil
}

// ByID finds the principal with a public key id and returns it with the
// key's secret value (for signature checks).
func (a *Authenticator) ByID(ctx context.Context, id string, secret func(*schema.Key) (string, error)) (*Principal, string, error) {
	if id == "" {
		return nil, "", unauthorized()
	}
	if a.adminID != "" && subtle.ConstantTimeCompare([]byte(id), []byte(a.adminID)) == 1 {
		return a.admin(), a.adminValue, nil
	}
	if !schema.ValidKeyID(id) {
		return nil, "", unauthorized()
	}
	k, err := a.keys.Key(ctx, id)
	if err != nil || k.Revoked {
		if err == nil || schema.IsKind(err, schema.KindNotFound) {
			return nil, "", unauthorized()
		}
		return nil, "", err
	}
	v, err := secret(k)
	if err != nil {
		return nil, "", err
	}
	return &Principal{KeyID: k.ID, Account: k.Account, Admin: k.Admin, Key: k}, v, nil
}

func (a *Authenticator) admin() *Principal {
	return &Principal{KeyID: a.adminID, Account: schema.DefaultAccount, Admin: true, Server: true}
}

// CanRead reports whether p may read svc.
func (p *Principal) CanRead(svc *schema.Service) bool {
	if p.Server {
		return true
	}
	if svc.Account != p.Account {
		return false
	}
	return p.Admin || p.Key.CanRead(svc.ID)
}

// CanWrite reports whether p may write svc.
func (p *Principal) CanWrite(svc *schema.Service) bool {
	if p.Server {
		return true
	}
	if svc.Account != p.Account {
		return false
	}
	return p.Admin || p.Key.CanWrite(svc.ID)
}

// Level returns "write", "read" or "" for p on svc.
func (p *Principal) Level(svc *schema.Service) string {
	switch {
	case p.CanWrite(svc):
		return schema.AccessWrite
	case p.CanRead(svc):
		return schema.AccessRead
	}
	return ""
}

// Origin returns the events.Origin for a mutation by p.
func (p *Principal) Origin(dialect, addr, requestID string) events.Origin {
	return events.Origin{Actor: schema.Actor{KeyID: p.KeyID, Dialect: dialect, Addr: addr}, RequestID: requestID}
}
