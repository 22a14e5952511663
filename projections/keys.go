package projections

import (
	"context"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// Keys is the query family of API keys and the Swift tokens issued to
// them.
type Keys interface {
	// Key returns a key by id (revoked keys included), or KindNotFound.
	Key(ctx context.Context, id string) (*schema.Key, error)
	// KeyByLookup returns the unrevoked key whose value hashes to lookup.
	KeyByLookup(ctx context.Context, lookup string) (*schema.Key, error)
	// Keys returns every key (revoked ones included), ordered by id.
	Keys(ctx context.Context) ([]*schema.Key, error)
	// Token returns a key's current auth token record.
	Token(ctx context.Context, keyID string) (*schema.Token, error)
	// TokenByLookup finds the token record whose token hashes to lookup.
	TokenByLookup(ctx context.Context, lookup string) (*schema.Token, error)
}

var _ Keys = (*Store)(nil)

// Key returns a key by id (revoked keys included), or KindNotFound.
func (s *Store) Key(_ context.Context, id string) (*schema.Key, error) {
	var k schema.Key
	if err := s.get(schema.KeyKey(id), &k, "key"); err != nil {
		return nil, err
	}
	return &k, nil
}

// KeyByLookup returns the unrevoked key whose value hashes to lookup.
func (s *Store) KeyByLookup(ctx context.Context, lookup string) (*schema.Key, error) {
	var id string
	err := s.db.View(func(tx *buntdb.Tx) error {
		var err error
		id, err = tx.Get(schema.KeyLookupKey(lookup))
		return err
	})
	if err == buntdb.ErrNotFound {
		return nil, notFound("key")
	}
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "read projection")
	}
	return s.Key(ctx, id)
}

// Keys returns every key (revoked ones included), ordered by id.
func (s *Store) Keys(_ context.Context) ([]*schema.Key, error) { return scanAll[schema.Key](s, "key:") }

// Token returns a key's current auth token record.
func (s *Store) Token(_ context.Context, keyID string) (*schema.Token, error) {
	var t schema.Token
	if err := s.get(schema.TokenKey(keyID), &t, "token"); err != nil {
		return nil, err
	}
	return &t, nil
}

// TokenByLookup finds the token record whose token hashes to lookup.
func (s *Store) TokenByLookup(ctx context.Context, lookup string) (*schema.Token, error) {
	var id string
	err := s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(schema.TokenLookupKey(lookup))
		id = v
		return err
	})
	if err == buntdb.ErrNotFound {
		return nil, notFound("token")
	}
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "token lookup")
	}
	t, err := s.Token(ctx, id)
	if err != nil || t.Lookup != lookup {
		return nil, notFound("token")
	}
	return t, nil
}
