// Package access authenticates callers and decides what they may do. It is
// shared by every dialect: a key's access to a service is the same whether
// it speaks native, S3 or Swift.
package access

import (
	"context"
	"crypto/subtle"
	"strings"

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

// ByKeyID returns the principal of a key id that was authenticated by
// other means (a Swift token): the server's admin key or an unrevoked key.
func (a *Authenticator) ByKeyID(ctx context.Context, id string) (*Principal, error) {
	if a.adminID != "" && subtle.ConstantTimeCompare([]byte(id), []byte(a.adminID)) == 1 {
		return a.admin(), nil
	}
	k, err := a.keys.Key(ctx, id)
	if err != nil || k.Revoked {
		if err == nil || schema.IsKind(err, schema.KindNotFound) {
			return nil, unauthorized()
		}
		return nil, err
	}
	return &Principal{KeyID: k.ID, Account: k.Account, Admin: k.Admin, Key: k}, nil
}

// CanRead reports whether p may read svc: the server's admin key, a key
// of svc's account that is its admin or was granted svc, or a key the
// service's read or write ACL names.
func (p *Principal) CanRead(svc *schema.Service) bool {
	if p.Server {
		return true
	}
	if svc.Account == p.Account && (p.Admin || p.Key.CanRead(svc.ID)) {
		return true
	}
	return p.named(svc.Settings.ReadACL) || p.named(svc.Settings.WriteACL)
}

// CanWrite reports whether p may write svc's objects: as CanRead, with
// write grants and the write ACL.
func (p *Principal) CanWrite(svc *schema.Service) bool {
	if p.Server {
		return true
	}
	if svc.Account == p.Account && (p.Admin || p.Key.CanWrite(svc.ID)) {
		return true
	}
	return p.named(svc.Settings.WriteACL)
}

// Owns reports whether p administers svc: the server's admin key or an
// admin key of svc's account (containers' settings, creating, deleting).
func (p *Principal) Owns(svc *schema.Service) bool {
	return p.Server || (p.Admin && svc.Account == p.Account)
}

// Login is the login name of p's key ("" for none, and for the server's
// admin key).
func (p *Principal) Login() string {
	if p.Key == nil {
		return ""
	}
	return p.Key.Login
}

// named reports whether an ACL names p: its account (as "acct" or
// "acct:*"), its key (as "acct:KEY", "acct:LOGIN" or "KEY"). A login
// alone names nobody: logins are unique only within their account, and
// "acct:LOGIN" is Swift's "account:user". ".r:*" and ".rlistings" name
// nobody in particular (they open reads to anonymous requests, which the
// dialects decide).
func (p *Principal) named(acl []string) bool {
	login := p.Login()
	for _, e := range acl {
		acct, key, pair := strings.Cut(e, ":")
		switch {
		case !pair && (e == p.Account || e == p.KeyID):
		case pair && acct == p.Account && (key == "*" || key == p.KeyID || (login != "" && key == login)):
		default:
			continue
		}
		return true
	}
	return false
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
