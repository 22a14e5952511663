package events

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/cairnhq/cairn/schema"
)

// FeedCreds is the core's family of NATS feed credentials: logins of one
// account's change-feed consumers (natsauth.go confines them to that
// account's events).
type FeedCreds interface {
	CreateFeedCredential(ctx context.Context, o Origin, account, name string) (*schema.FeedCredential, string, error)
	RevokeFeedCredential(ctx context.Context, o Origin, user string) error
}

var _ FeedCreds = (*Core)(nil)

// feedRevoker is the part of the log that ends what a revoked credential
// still holds (JetStream.RevokeFeedUser): a log without a NATS listener
// has nothing to end.
type feedRevoker interface {
	RevokeFeedUser(ctx context.Context, user string) error
}

// feedServiceDropper is the part of the log that deletes the feed
// credentials' consumers of a deleted service (JetStream.DropFeedService).
type feedServiceDropper interface {
	DropFeedService(ctx context.Context, sid string) error
}

// dropFeedService deletes the feed credentials' consumers that filter on
// service id, just deleted: its id may name another account's service
// next, and a consumer must never read another account's events. A
// failure (JetStream unavailable) does not fail the deletion, which is
// done; the consumer is then left until its credential is revoked.
func (s *Core) dropFeedService(ctx context.Context, id string) {
	if d, ok := s.log.(feedServiceDropper); ok {
		_ = d.DropFeedService(context.WithoutCancel(ctx), id)
	}
}

// maxFeedCredName bounds a credential's label.
const maxFeedCredName = 256

// NewFeedUser returns a fresh feed credential user ("CF" and 18 base32
// characters: schema.ValidFeedUser).
func NewFeedUser() string { return "CF" + randomString(idAlphabet, 18) }

// NewFeedPassword returns a fresh feed credential password: 32 random
// bytes in unpadded URL-safe base64, so its SHA-256 (the verifier the log
// keeps) cannot be searched back to it.
func NewFeedPassword() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateFeedCredential creates a feed credential of account ("" is the
// default account) and returns it with its password, which is never shown
// again: the log keeps only its SHA-256.
func (s *Core) CreateFeedCredential(ctx context.Context, o Origin, account, name string) (*schema.FeedCredential, string, error) {
	if account == "" {
		account = schema.DefaultAccount
	}
	if len(name) > maxFeedCredName {
		return nil, "", schema.Errorf(schema.KindInvalidArgument, "name: at most %d bytes", maxFeedCredName)
	}
	if _, err := s.state.Account(ctx, account); err != nil {
		return nil, "", err
	}
	user, password := NewFeedUser(), NewFeedPassword()
	p := schema.FeedCredCreated{User: user, Name: name, Verifier: LookupHash(password)}
	_, err := s.commit(ctx, func() (*schema.Event, Expect, error) {
		ev, err := s.newEvent(o, schema.TypeFeedCredCreated, account, "", "", p)
		return ev, Expect{Filter: schema.KeySubject(user, "*")}, err
	})
	if err != nil {
		return nil, "", err
	}
	c, err := s.state.FeedCredential(ctx, user)
	return c, password, err
}

// RevokeFeedCredential revokes a feed credential (KindNotFound for an
// unknown or revoked one). Once the revocation is applied, its
// connections are closed and its consumers deleted; a failure there is
// not the revocation's: the listener refuses the credential's logins and
// pulls from then on anyway.
func (s *Core) RevokeFeedCredential(ctx context.Context, o Origin, user string) error {
	c, err := s.state.FeedCredential(ctx, user)
	if err != nil {
		return err
	}
	if c.Revoked {
		return schema.Errorf(schema.KindNotFound, "feed credential not found")
	}
	_, err = s.commit(ctx, func() (*schema.Event, Expect, error) {
		ev, err := s.newEvent(o, schema.TypeFeedCredRevoked, c.Account, "", "", schema.FeedCredRevoked{User: user})
		return ev, Expect{}, err
	})
	if err != nil {
		return err
	}
	if r, ok := s.log.(feedRevoker); ok {
		_ = r.RevokeFeedUser(context.WithoutCancel(ctx), user)
	}
	return nil
}
