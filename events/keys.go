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
	Access  map[string]string
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
		if sid != schema.AllServices && !schema.ValidContainerName(sid) {
			return nil, "", schema.Errorf(schema.KindInvalidArgument, "access: invalid service id")
		}
		if level != schema.AccessRead && level != schema.AccessWrite {
			return nil, "", schema.Errorf(schema.KindInvalidArgument, `access levels are "read" or "write"`)
		}
	}
	if len(in.Access) == 0 && !in.Admin {
		return nil, "", schema.Errorf(schema.KindInvalidArgument, "a key needs access to at least one service (or \"*\")")
	}
	id, value := NewKeyID(), NewKeyValue()
	p := schema.KeyCreated{ID: id, Name: in.Name, Admin: in.Admin, Access: in.Access,
		Sealed: s.sealer.Seal(value), Lookup: LookupHash(value)}
	_, err := s.commit(ctx, func() (*schema.Event, Expect, error) {
		ev, err := s.newEvent(o, schema.TypeKeyCreated, in.Account, "", "", p)
		return ev, Expect{Filter: schema.KeySubject(id, "*")}, err
	})
	if err != nil {
		return nil, "", err
	}
	k, err := s.state.Key(ctx, id)
	return k, value, err
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
