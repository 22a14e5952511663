package events

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// Token lifetimes (Swift, as the Selectel seed states them): a token is
// valid for TokenTTL after it was issued; asking again within TokenReuse of
// the issue returns the same token, later a new one replaces it.
const (
	TokenTTL   = 24 * time.Hour
	TokenReuse = 12 * time.Hour
)

// tokenPrefix marks Cairn's tokens, in the "AUTH_tk" shape Swift's own
// tempauth uses.
const tokenPrefix = "AUTH_tk"

// token derives the token of a key issued at t. Tokens are never stored:
// the log records only who was issued one and when (and the token's hash,
// to find the key by it), and the server's secret derives it again.
func (s *Core) token(keyID string, issued time.Time) string {
	return tokenPrefix + s.sealer.Derive("token", keyID, strconv.FormatInt(issued.UnixMicro(), 10))
}

// IssueToken returns an auth token for key keyID of account (the caller has
// authenticated it) and when it expires: the key's current token while it
// is younger than TokenReuse, else a new one, recorded by a token.issued
// event that ends the previous token.
func (s *Core) IssueToken(ctx context.Context, o Origin, keyID, account string) (string, time.Time, error) {
	if s.opts.ReadOnly {
		return s.issueReadOnly(ctx, keyID)
	}
	var token string
	var issued time.Time
	subject := schema.KeySubject(keyID, "issued") // SubjectFor of token.issued.v1
	_, err := s.commitOn(ctx, subject, func() (*schema.Event, error) {
		cur, err := s.state.Token(ctx, keyID)
		if err != nil && !schema.IsKind(err, schema.KindNotFound) {
			return nil, err
		}
		if cur != nil && s.Now().Sub(cur.Issued) < TokenReuse {
			token, issued = s.token(keyID, cur.Issued), cur.Issued
			return nil, errReuse
		}
		ev, err := s.newEvent(o, schema.TypeTokenIssued, account, "", "", nil)
		if err != nil {
			return nil, err
		}
		token, issued = s.token(keyID, ev.Time), ev.Time
		ev.Data, err = json.Marshal(schema.TokenIssued{ID: keyID, Lookup: LookupHash(token)})
		return ev, err
	})
	if err != nil && err != errReuse {
		return "", time.Time{}, err
	}
	return token, issued.Add(TokenTTL), nil
}

// errReuse stops a commit that has nothing to append.
var errReuse = schema.Errorf(schema.KindConflict, "token reused")

// TokenKey returns the key id a token was issued to and when it expires;
// KindUnauthorized when it is unknown, replaced or expired. The caller
// still checks the key itself (revoked keys do not authenticate).
func (s *Core) TokenKey(ctx context.Context, token string) (string, time.Time, error) {
	bad := schema.Errorf(schema.KindUnauthorized, "invalid or expired token")
	if len(token) != len(tokenPrefix)+32 {
		return "", time.Time{}, bad
	}
	t, err := s.state.TokenByLookup(ctx, LookupHash(token))
	if schema.IsKind(err, schema.KindNotFound) {
		if id, expires, ok := s.memTokenKey(token); ok {
			return id, expires, nil
		}
		return "", time.Time{}, bad
	}
	if err != nil {
		return "", time.Time{}, err
	}
	expires := t.Issued.Add(TokenTTL)
	if !s.Now().Before(expires) {
		return "", time.Time{}, bad
	}
	return t.KeyID, expires, nil
}
