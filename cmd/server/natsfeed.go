package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairnhq/cairn/events"
)

// NATSFile holds, in the data directory, the password of the NATS user
// change-feed consumers log in as (made on first use, mode 0600).
const NATSFile = "nats.json"

type natsFile struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// natsFeed adds the client listener to o when Config.NATSListen is set:
// the feed user's password comes from DATA/nats.json, made on first use.
func (s *Server) natsFeed(o events.NATSOptions) (events.NATSOptions, error) {
	if s.Config.NATSListen == "" {
		return o, nil
	}
	path := filepath.Join(s.Config.Data, NATSFile)
	var f natsFile
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &f); err != nil || f.User != events.FeedUser || len(f.Password) < 16 {
			return o, fmt.Errorf("%s: not a valid NATS credentials file (want user %q and a password of 16 characters or more)",
				path, events.FeedUser)
		}
	case errors.Is(err, os.ErrNotExist):
		f = natsFile{User: events.FeedUser, Password: events.NewKeyValue()}
		b, _ := json.MarshalIndent(f, "", "  ")
		if err := events.WriteFileSync(path, b, 0o600); err != nil {
			return o, err
		}
	default:
		return o, err
	}
	s.NATSUser, s.NATSPassword = f.User, f.Password
	o.Listen, o.FeedPassword = s.Config.NATSListen, f.Password
	return o, nil
}

// NATSURL is the address change-feed consumers connect to,
// nats://HOST:PORT, or "" when the server has no NATS listener.
func (s *Server) NATSURL() string {
	if s.Config.NATSListen == "" || s.Log == nil {
		return ""
	}
	addr := s.Log.Server().Addr()
	if addr == nil {
		return ""
	}
	return "nats://" + addr.String()
}
