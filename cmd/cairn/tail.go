package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairnhq/cairn/handlers/native/client"
)

// The change-feed commands (tail, history, audit) read GET /events of a
// running server with --url and --key (or CAIRN_URL / CAIRN_KEY, or the
// data directory's admin.json, as cairn admin does).

// feedClient asks one server for pages of its change feed.
type feedClient struct{ c *client.Client }

// feedFlags returns the flag set of the change-feed command name, which
// prints usage to stderr, with --url, --key and --data; newClient builds
// the client once fs is parsed.
func feedFlags(name, usage string, stderr io.Writer, getenv func(string) string) (fs *flag.FlagSet, newClient func() (*feedClient, error)) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	target := targetFlags(fs, getenv, "key value: one that may read the service, or the admin key (default: the data directory's admin.json)")
	return fs, func() (*feedClient, error) {
		url, key := target.resolve()
		if key == "" {
			return nil, errors.New("no key: pass --key or set CAIRN_KEY")
		}
		// No overall timeout: a long poll holds its request up to a
		// minute; a context ends each call.
		return &feedClient{c: client.New(url, key, nil)}, nil
	}
}

// each calls fn with every event of the feed q asks for, from after to
// the end of the log as it is now, page by page.
func (c *feedClient) each(ctx context.Context, q client.FeedQuery, after uint64, fn func(raw json.RawMessage, ev *feedEvent) (more bool, err error)) error {
	q.Limit = 1000
	for {
		q.After = after
		p, err := c.c.Events(ctx, q)
		if err != nil {
			return err
		}
		if len(p.Events) == 0 {
			return nil
		}
		for _, raw := range p.Events {
			var ev feedEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return fmt.Errorf("events: bad event: %w", err)
			}
			more, err := fn(raw, &ev)
			if err != nil || !more {
				return err
			}
		}
		q.Since = time.Time{} // the first page placed after; later ones follow it
		after = p.Last
	}
}

// feedQuery builds the query of sid, type and path ("" left out).
func feedQuery(sid, typ, path string) client.FeedQuery {
	return client.FeedQuery{SID: sid, Type: typ, Path: path}
}

const tailUsage = `usage: cairn tail [--url URL --key KEY] [--sid S] [--type T] [--path P] [--from SEQ|RFC3339-TIME]

Follows the change feed (GET /events long polls) and prints each event as
one JSON line (the event as stored, with its seq) until interrupted.
Without --from it starts at the end of the log (only new events); --from 1
prints the whole history first; --from TIME starts at the first event at or
after that moment (the server finds it). Without --sid, the admin key
follows every service.
`

// tailWait is how long each long poll of tail waits (the server's most).
const tailWait = 60 * time.Second

func tailCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, newClient := feedFlags("tail", tailUsage, stderr, getenv)
	sid := fs.String("sid", "", "service id (the admin key may omit it: every service)")
	typ := fs.String("type", "", "only events of this type (object.put.v1, ...)")
	path := fs.String("path", "", "only the events of this file (needs --sid)")
	from := fs.String("from", "", "start at this event sequence or RFC 3339 time (default: new events only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	q := feedQuery(*sid, *typ, *path)
	after := uint64(0)
	switch {
	case *from == "":
		// A moment after every event: the server places us at the end.
		q.Since = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	case isDigits(*from):
		n, err := strconv.ParseUint(*from, 10, 64)
		if err != nil {
			return fmt.Errorf("--from %q: %w", *from, err)
		}
		after = max(n, 1) - 1
	default:
		t, err := time.Parse(time.RFC3339Nano, *from)
		if err != nil {
			return fmt.Errorf("--from must be an event sequence or an RFC 3339 time, not %q", *from)
		}
		q.Since = t
	}
	q.Limit = 1000
	backoff := time.Duration(0)
	for {
		q.After = after
		if after > 0 || q.Since.IsZero() {
			q.Wait = tailWait
		}
		p, err := c.c.Events(ctx, q)
		if ctx.Err() != nil {
			return nil // interrupted: a clean end
		}
		if err != nil {
			var ce *client.Error
			if errors.As(err, &ce) && ce.Status < 500 {
				return err
			}
			// The server is away or overloaded: say so and try again.
			backoff = min(max(2*backoff, time.Second), 10*time.Second)
			fmt.Fprintf(stderr, "cairn tail: %v; retrying in %s\n", err, backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		for _, raw := range p.Events {
			var line bytes.Buffer
			if err := json.Compact(&line, raw); err != nil {
				return fmt.Errorf("events: bad event: %w", err)
			}
			line.WriteByte('\n')
			if _, err := stdout.Write(line.Bytes()); err != nil {
				return err
			}
		}
		q.Since = time.Time{}
		after = p.Last
	}
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
