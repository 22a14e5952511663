package events

import (
	"context"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// KeyAdmin is the core's family of API keys and the Swift auth tokens
// issued to them (tokens.go).
type KeyAdmin interface {
	CreateKey(ctx context.Context, o Origin, in KeyInput) (*schema.Key, string, error)
	RevokeKey(ctx context.Context, o Origin, id string) error
	KeySecret(k *schema.Key) (string, error)
	IssueToken(ctx context.Context, o Origin, keyID, account string) (string, time.Time, error)
	TokenKey(ctx context.Context, token string) (string, time.Time, error)
}

var _ KeyAdmin = (*Core)(nil)

// KeyInput creates an API key.
type KeyInput struct {
	Account string
	Name    string
	Admin   bool
	// Access maps service ids (or "*") to "read" or "write". It may be
	// empty, for an admin key or not: a non-admin key without access gets
	// its rights only from the container ACLs that name it (its id, its
	// login or its account), as a Swift user without roles does.
	Access map[string]string
	// Login is the key's login name ("" for none): unique among the
	// unrevoked keys of its account, so "<account>_<login>" and
	// "<account>:<login>" name one key.
	Login string
}

// CreateKey creates a key and returns it with its value, which is never
// shown again (the log holds it sealed).
func (s *Core) CreateKey(ctx context.Context, o Origin, in KeyInput) (*schema.Key, string, error) {
	if in.Account == "" {
		in.Account = schema.DefaultAccount
	}
	if _, err := s.state.Account(ctx, in.Account); err != nil {
		return nil, "", err
	}
	if in.Access == nil {
		in.Access = map[string]string{}
	}
	for sid, level := range in.Access {
		if sid != schema.AllServices && !schema.ValidSID(sid) {
			return nil, "", schema.Errorf(schema.KindInvalidArgument, "access: invalid service id")
		}
		if level != schema.AccessRead && level != schema.AccessWrite {
			return nil, "", schema.Errorf(schema.KindInvalidArgument, `access levels are "read" or "write"`)
		}
	}
	if in.Login != "" && !schema.ValidLogin(in.Login) {
		return nil, "", schema.Errorf(schema.KindInvalidArgument, "login: 1-64 letters, digits, '_', '-', '.' or '@'")
	}
	id, value := NewKeyID(), NewKeyValue()
	p := schema.KeyCreated{ID: id, Name: in.Name, Admin: in.Admin, Access: in.Access, Login: in.Login,
		Sealed: s.sealer.Seal(value), Lookup: LookupHash(value)}
	var err error
	if in.Login == "" {
		_, err = s.commit(ctx, func() (*schema.Event, Expect, error) {
			ev, err := s.newEvent(o, schema.TypeKeyCreated, in.Account, "", "", p)
			return ev, Expect{Filter: schema.KeySubject(id, "*")}, err
		})
	} else {
		// The login is checked free on the state as of the newest key
		// creation, and the append expects no key created since: of two
		// keys created at once with one login, the second decides again
		// and is refused.
		_, err = s.commitOn(ctx, schema.KeySubject("*", "created"), func() (*schema.Event, error) {
			if err := s.loginFree(ctx, in.Account, in.Login); err != nil {
				return nil, err
			}
			return s.newEvent(o, schema.TypeKeyCreated, in.Account, "", "", p)
		})
	}
	if err != nil {
		return nil, "", err
	}
	k, err := s.state.Key(ctx, id)
	return k, value, err
}

// loginFree returns KindAlreadyExists when an unrevoked key of account
// has login. A revoked key's login is free again, so a sub-user's password
// is changed by revoking its key and creating another with its login.
func (s *Core) loginFree(ctx context.Context, account, login string) error {
	keys, err := s.state.Keys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if !k.Revoked && k.Account == account && k.Login == login {
			return schema.Errorf(schema.KindAlreadyExists, "login %q is taken in account %q", login, account)
		}
	}
	return nil
}

// RevokeKey revokes a key; KindNotFound for an unknown or revoked key.
func (s *Core) RevokeKey(ctx context.Context, o Origin, id string) error {
	k, err := s.state.Key(ctx, id)
	if err != nil {
		return err
	}
	if k.Revoked {
		return schema.Errorf(schema.KindNotFound, "key not found")
	}
	_, err = s.commit(ctx, func() (*schema.Event, Expect, error) {
		ev, err := s.newEvent(o, schema.TypeKeyRevoked, k.Account, "", "", schema.KeyRevoked{ID: id})
		return ev, Expect{}, err
	})
	return err
}

// KeySecret returns a key's clear value (for SigV4 verification). It never
// leaves the process.
func (s *Core) KeySecret(k *schema.Key) (string, error) {
	v, err := s.sealer.Open(k.Sealed)
	if err != nil {
		return "", schema.Wrap(schema.KindInternal, err, "key cannot be opened")
	}
	return v, nil
}
