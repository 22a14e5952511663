package events

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// Read-only mode (Options.ReadOnly) serves a data directory for inspection,
// typically a point-in-time copy made by `cairn rebuild --until`: the core
// appends nothing at all. Every mutation is refused before it reads a body,
// writes a blob or looks at the log (whose newest events may lie past the
// projections, which a read-only server never advances), with a
// KindForbidden error that wraps ErrReadOnly, so every dialect answers its
// own 403 and no dialect can slip past.
//
// Swift auth still works: a key asking for a token gets the token the log
// last issued it while that is valid, else a token kept in this process's
// memory only (no token.issued event), valid for TokenTTL and gone when the
// process ends.

// ErrReadOnly is wrapped by every refusal of a read-only core:
// errors.Is(err, ErrReadOnly) tells it from other 403s.
var ErrReadOnly = errors.New("events: read-only")

// ReadOnly reports whether the core refuses every change.
func (s *Core) ReadOnly() bool { return s.opts.ReadOnly }

// refuseReadOnly returns the refusal of a read-only core, nil otherwise.
func (s *Core) refuseReadOnly() error {
	if !s.opts.ReadOnly {
		return nil
	}
	msg := "this server is read-only"
	if s.opts.ReadOnlyReason != "" {
		msg += " (" + s.opts.ReadOnlyReason + ")"
	}
	return schema.Wrap(schema.KindForbidden, ErrReadOnly, msg+": it accepts no changes")
}

// memTokens are the Swift tokens a read-only core issued: in memory only.
type memTokens struct {
	mu     sync.Mutex
	byHash map[string]memToken // LookupHash(token) → token
	byKey  map[string]string   // key id → LookupHash of its newest token
}

type memToken struct {
	keyID  string
	issued time.Time
}

func newMemTokens() *memTokens {
	return &memTokens{byHash: map[string]memToken{}, byKey: map[string]string{}}
}

// memToken derives an in-memory token; its own label keeps it apart from
// every token the log records.
func (s *Core) memToken(keyID string, issued time.Time) string {
	return tokenPrefix + s.sealer.Derive("read-only token", keyID, strconv.FormatInt(issued.UnixMicro(), 10))
}

// issueReadOnly is IssueToken on a read-only core: the key's logged token
// while it is valid, else its in-memory token while younger than
// TokenReuse, else a new in-memory one that replaces it.
func (s *Core) issueReadOnly(ctx context.Context, keyID string) (string, time.Time, error) {
	now := s.Now()
	cur, err := s.state.Token(ctx, keyID)
	if err != nil && !schema.IsKind(err, schema.KindNotFound) {
		return "", time.Time{}, err
	}
	if cur != nil && now.Before(cur.Issued.Add(TokenTTL)) && now.Sub(cur.Issued) < TokenReuse {
		return s.token(keyID, cur.Issued), cur.Issued.Add(TokenTTL), nil
	}
	m := s.tokens
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.byKey[keyID]; ok {
		if t := m.byHash[h]; now.Sub(t.issued) < TokenReuse {
			return s.memToken(keyID, t.issued), t.issued.Add(TokenTTL), nil
		}
		delete(m.byHash, h) // replaced: the old token stops working
	}
	for h, t := range m.byHash { // forget expired tokens
		if !now.Before(t.issued.Add(TokenTTL)) {
			delete(m.byHash, h)
			delete(m.byKey, t.keyID)
		}
	}
	issued := now.UTC().Truncate(time.Microsecond)
	token := s.memToken(keyID, issued)
	h := LookupHash(token)
	m.byHash[h], m.byKey[keyID] = memToken{keyID: keyID, issued: issued}, h
	return token, issued.Add(TokenTTL), nil
}

// memTokenKey finds an in-memory token (ok false when it is not one).
func (s *Core) memTokenKey(token string) (keyID string, expires time.Time, ok bool) {
	if s.tokens == nil {
		return "", time.Time{}, false
	}
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	t, ok := s.tokens.byHash[LookupHash(token)]
	if !ok || !s.Now().Before(t.issued.Add(TokenTTL)) {
		return "", time.Time{}, false
	}
	return t.keyID, t.issued.Add(TokenTTL), true
}
