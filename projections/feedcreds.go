package projections

import (
	"context"

	"github.com/cairnhq/cairn/schema"
)

// FeedCreds is the query family of NATS feed credentials: what the NATS
// listener checks a login against and the admin functions list.
type FeedCreds interface {
	// FeedCredential returns a credential by user (revoked ones
	// included), or KindNotFound.
	FeedCredential(ctx context.Context, user string) (*schema.FeedCredential, error)
	// FeedCredentials returns the credentials of account ("" for every
	// account), revoked ones included, ordered by user.
	FeedCredentials(ctx context.Context, account string) ([]*schema.FeedCredential, error)
}

var _ FeedCreds = (*Store)(nil)

// FeedCredential returns a credential by user (revoked ones included), or
// KindNotFound.
func (s *Store) FeedCredential(_ context.Context, user string) (*schema.FeedCredential, error) {
	return record[schema.FeedCredential](s, schema.FeedCredKey(user), "feed credential")
}

// FeedCredentials returns the credentials of account ("" for every
// account), revoked ones included, ordered by user.
func (s *Store) FeedCredentials(_ context.Context, account string) ([]*schema.FeedCredential, error) {
	all, err := scanAll[schema.FeedCredential](s, schema.FeedCredPrefix)
	if err != nil || account == "" {
		return all, err
	}
	out := all[:0]
	for _, c := range all {
		if c.Account == account {
			out = append(out, c)
		}
	}
	return out, nil
}
