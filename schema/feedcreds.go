package schema

import "time"

// Feed credentials: NATS logins of one account's change-feed consumers
// (issue 17). Each is a user name and a password; the log and the
// projections hold only the SHA-256 of the password (Verifier), never the
// password, which the creating call shows once. A consumer that logs in
// with one may read its account's events only (events/natsauth.go).
//
// Their events are on cairn.key.<user>.<op>, beside the keys', so that no
// feed consumer ever reads them.
const (
	TypeFeedCredCreated = "feedcred.created.v1"
	TypeFeedCredRevoked = "feedcred.revoked.v1"
)

// FeedCredCreated creates a feed credential of the envelope's account.
// Verifier is the SHA-256 of the password in lower-case hex; the password
// is 32 random bytes, so the digest alone cannot be turned back into it.
type FeedCredCreated struct {
	User     string `json:"user"`
	Name     string `json:"name"`
	Verifier string `json:"verifier"`
}

// FeedCredRevoked revokes a feed credential.
type FeedCredRevoked struct {
	User string `json:"user"`
}

// FeedCredential is a feed credential as the projections hold it (revoked
// ones included).
type FeedCredential struct {
	User     string    `json:"user"`
	Account  string    `json:"account"`
	Name     string    `json:"name"`
	Verifier string    `json:"verifier"`
	Created  time.Time `json:"created"`
	Revoked  bool      `json:"revoked,omitempty"`
}

// FeedCredKey is the buntdb key of a feed credential.
func FeedCredKey(user string) string { return "fc:" + user }

// FeedCredPrefix is the prefix of every feed credential's key.
const FeedCredPrefix = "fc:"

// ValidFeedUser reports whether user has the shape of a generated feed
// credential user ("CF" and 18 base32 characters): never one of the NATS
// server's own users, and a literal subject token.
func ValidFeedUser(user string) bool {
	if len(user) != 20 || user[:2] != "CF" {
		return false
	}
	for _, c := range []byte(user[2:]) {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
