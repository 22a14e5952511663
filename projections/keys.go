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
	return record[schema.Key](s, schema.KeyKey(id), "key")
}

// KeyByLookup returns the unrevoked key whose value hashes to lookup.
func (s *Store) KeyByLookup(ctx context.Context, lookup string) (*schema.Key, error) {
	id, err := s.lookupID(schema.KeyLookupKey(lookup), "key", "read projection")
	if err != nil {
		return nil, err
	}
	return s.Key(ctx, id)
}

// lookupID returns the id a lookup index holds at key, or KindNotFound
// naming what; a failed read is an internal error saying op.
func (s *Store) lookupID(key, what, op string) (string, error) {
	var id string
	err := s.db.View(func(tx *buntdb.Tx) error {
		var err error
		id, err = tx.Get(key)
		return err
	})
	if err == buntdb.ErrNotFound {
		return "", notFound(what)
	}
	if err != nil {
		return "", schema.Wrap(schema.KindInternal, err, op)
	}
	return id, nil
}

// Keys returns every key (revoked ones included), ordered by id.
func (s *Store) Keys(_ context.Context) ([]*schema.Key, error) { return scanAll[schema.Key](s, "key:") }

// Token returns a key's current auth token record.
func (s *Store) Token(_ context.Context, keyID string) (*schema.Token, error) {
	return record[schema.Token](s, schema.TokenKey(keyID), "token")
}

// TokenByLookup finds the token record whose token hashes to lookup.
func (s *Store) TokenByLookup(ctx context.Context, lookup string) (*schema.Token, error) {
	id, err := s.lookupID(schema.TokenLookupKey(lookup), "token", "token lookup")
	if err != nil {
		return nil, err
	}
	t, err := s.Token(ctx, id)
	if err != nil || t.Lookup != lookup {
		return nil, notFound("token")
	}
	return t, nil
}
