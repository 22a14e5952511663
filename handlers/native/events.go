package native

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// Feed is the change feed the events function reads: the event log.
type Feed interface {
	// Read returns the events after sequence after on subjects matching
	// any of filters (nil: all but key and token events), in order, at
	// most limit, waiting up to wait for the first.
	Read(ctx context.Context, after uint64, filters []string, limit int, wait time.Duration) ([]*schema.Event, error)
	// SeqAt returns the sequence of the first event at or after t.
	SeqAt(ctx context.Context, t time.Time) (uint64, error)
}

var _ Feed = (*events.JetStream)(nil)

// defaultKeepAlive is how long an event stream may stay silent before it
// sends a comment line, so proxies and clients see the connection alive.
const defaultKeepAlive = 15 * time.Second

// feedQuery is one events request, parsed.
type feedQuery struct {
	after   uint64
	limit   int
	wait    time.Duration
	typ     string
	sid     string // "" with the server admin key: every service
	path    string
	filters []string
}

// events serves GET /events: the service's events as they are in the log
// (each with its sequence), as a JSON long poll or, for Accept:
// text/event-stream, as Server-Sent Events that go on until the client
// leaves.
func (h *Handler) events(c *call) error {
	if h.d.Feed == nil {
		return schema.Errorf(schema.KindNotImplemented, "this server has no event feed")
	}
	q, err := h.feedQuery(c)
	if err != nil {
		return err
	}
	ctx, cancel := h.feedContext(c.r.Context())
	defer cancel()
	if wantsEventStream(c.r) {
		return h.streamEvents(ctx, c, q)
	}
	evs, last, err := h.nextEvents(ctx, q, q.after, q.wait)
	if err != nil {
		if c.r.Context().Err() != nil {
			return nil // the client left
		}
		if ctx.Err() == nil {
			return err
		}
		evs, last = nil, q.after // the server is stopping: nothing yet
	}
	if q.wait > 0 {
		if err := h.recheck(c); err != nil {
			return err
		}
	}
	// schema.FeedPage, written by hand: each event is already JSON
	body := make([]byte, 0, 64)
	body = append(body, `{"events":[`...)
	for i, ev := range evs {
		if i > 0 {
			body = append(body, ',')
		}
		if body, err = appendFeedEvent(body, ev); err != nil {
			return err
		}
	}
	body = append(body, `],"last":`...)
	body = strconv.AppendUint(body, last, 10)
	body = append(body, "}\n"...)
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
	return nil
}

// feedQuery reads the events function's parameters and builds the
// subject filters of the feed they ask for.
func (h *Handler) feedQuery(c *call) (*feedQuery, error) {
	q := &feedQuery{typ: c.query("type"), path: c.query("path")}
	if c.svc != nil {
		q.sid = c.svc.ID
	}
	var err error
	if raw := c.query("after"); raw != "" {
		if q.after, err = strconv.ParseUint(raw, 10, 64); err != nil {
			return nil, schema.Errorf(schema.KindInvalidArgument, "after must be an event sequence")
		}
	}
	if q.limit, err = intParam(c, "limit", 100, 1, 1000); err != nil {
		return nil, err
	}
	wait, err := intParam(c, "wait", 0, 0, 60)
	if err != nil {
		return nil, err
	}
	q.wait = time.Duration(wait) * time.Second
	if raw := c.query("since"); raw != "" {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return nil, schema.Errorf(schema.KindInvalidArgument, "since must be an RFC 3339 time")
		}
		at, err := h.d.Feed.SeqAt(c.r.Context(), t)
		if err != nil {
			return nil, err
		}
		q.after = max(q.after, at-1)
	}
	if q.typ != "" {
		if _, known := schema.EventTypes[q.typ]; !known || !feedType(q.typ) {
			return nil, schema.Errorf(schema.KindInvalidArgument, "type %q is not an event type of the feed", q.typ)
		}
	}
	if q.path != "" {
		if q.sid == "" {
			return nil, schema.Errorf(schema.KindInvalidArgument, "path needs sid")
		}
		if err := schema.CheckPath(q.path); err != nil {
			return nil, err
		}
	}
	q.filters = feedFilters(q.sid, q.path, q.typ)
	if id := c.r.Header.Get("Last-Event-ID"); id != "" && wantsEventStream(c.r) {
		if q.after, err = strconv.ParseUint(strings.TrimSpace(id), 10, 64); err != nil {
			return nil, schema.Errorf(schema.KindInvalidArgument, "Last-Event-ID must be an event sequence")
		}
	}
	return q, nil
}

// feedType reports whether events of type typ may be in the feed: those
// of objects, services, quotas, uploads and accounts, and the scrubber's
// repairs. Key and token events, replication sources and the log's
// checkpoints never are.
func feedType(typ string) bool {
	for _, family := range []string{"object.", "service.", "quota.", "upload.", "account.", "cache.", "blob."} {
		if strings.HasPrefix(typ, family) {
			return true
		}
	}
	return false
}

// feedFilters returns the subjects of a feed: a service's object, service
// and upload events, one object's events, or (sid "") every event but
// the keys'; an object event type narrows them to that operation.
func feedFilters(sid, path, typ string) []string {
	op := schema.OpOf(typ)
	switch {
	case sid == "" && op != "":
		return []string{schema.SubjectRoot + ".obj.*.*." + op}
	case sid == "":
		return nil
	case path != "" && op != "":
		return []string{schema.ObjectSubject(sid, path, op)}
	case path != "":
		return []string{schema.ObjectFilter(sid, path)}
	case op != "":
		return []string{strings.TrimSuffix(schema.ServiceObjectsFilter(sid), ">") + "*." + op}
	case strings.HasPrefix(typ, "service.") || strings.HasPrefix(typ, "cache.") || strings.HasPrefix(typ, "blob.") || typ == schema.TypeQuotaSet:
		return []string{schema.ServiceSubject(sid, "*")}
	case strings.HasPrefix(typ, "upload."):
		return []string{schema.UploadFilter(sid, "*")}
	}
	return []string{schema.ServiceObjectsFilter(sid), schema.ServiceSubject(sid, "*"), schema.UploadFilter(sid, "*")}
}

// matches reports whether ev belongs in the feed q asks for. The subjects
// already chose it; this checks what they cannot say (the type's version)
// and keeps private events out whatever the filters.
func (q *feedQuery) matches(ev *schema.Event) bool {
	switch {
	case !feedType(ev.Type):
		return false
	case q.typ != "" && ev.Type != q.typ:
		return false
	case q.sid != "" && ev.Service != q.sid:
		return false
	case q.path != "" && ev.Path != q.path:
		return false
	}
	return true
}

// nextEvents returns the feed's next events after a sequence, waiting up
// to wait for the first, and the sequence to continue after: the last one
// read, which passes events the query does not want.
func (h *Handler) nextEvents(ctx context.Context, q *feedQuery, after uint64, wait time.Duration) ([]*schema.Event, uint64, error) {
	deadline := time.Now().Add(wait)
	for {
		evs, err := h.d.Feed.Read(ctx, after, q.filters, q.limit, wait)
		if err != nil || len(evs) == 0 {
			return nil, after, err
		}
		after = evs[len(evs)-1].Seq
		kept := evs[:0]
		for _, ev := range evs {
			if q.matches(ev) {
				kept = append(kept, ev)
			}
		}
		if wait = time.Until(deadline); len(kept) > 0 || wait <= 0 {
			return kept, after, nil
		}
	}
}

// feedContext is the request's context, also ended when the server begins
// to shut down (Deps.Stop), so long polls and streams let HTTP drain.
func (h *Handler) feedContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	if h.d.Stop != nil {
		go func() {
			select {
			case <-h.d.Stop:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// appendFeedEvent appends an event's JSON as the feed shows it: the event
// as stored with its sequence first, {"seq":N,"type":...,"data":{...}}.
func appendFeedEvent(dst []byte, ev *schema.Event) ([]byte, error) {
	b, err := ev.Encode()
	if err != nil {
		return dst, schema.Wrap(schema.KindInternal, err, "encode event")
	}
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, ev.Seq, 10)
	dst = append(dst, ',')
	return append(dst, b[1:]...), nil
}

func wantsEventStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// streamEvents serves the feed as Server-Sent Events: each event as
// "id: SEQ", "event: TYPE" and "data: JSON", flushed at once, and a
// comment line after keepAlive without one, until the client leaves, the
// server stops or the key loses its access to the service.
func (h *Handler) streamEvents(ctx context.Context, c *call, q *feedQuery) error {
	rc := http.NewResponseController(c.w)
	hd := c.w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	keepAlive := h.keepAlive
	if keepAlive <= 0 {
		keepAlive = defaultKeepAlive
	}
	after := q.after
	var buf []byte
	for {
		evs, last, err := h.nextEvents(ctx, q, after, keepAlive)
		if err != nil {
			if ctx.Err() == nil {
				h.d.Log.Error("events: stream ended", "id", httpx.InfoOf(c.r.Context()).ID, "err", err)
			}
			return nil
		}
		if h.recheck(c) != nil { // the stream has begun: it ends, with nothing more
			return nil
		}
		buf = buf[:0]
		if len(evs) == 0 {
			buf = append(buf, ": keep-alive\n\n"...)
		}
		for _, ev := range evs {
			buf = fmt.Appendf(buf, "id: %d\nevent: %s\ndata: ", ev.Seq, ev.Type)
			if buf, err = appendFeedEvent(buf, ev); err != nil {
				return nil
			}
			buf = append(buf, "\n\n"...)
		}
		if _, err := c.w.Write(buf); err != nil {
			return nil
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		after = last
	}
}

// recheck decides again, after a wait, whether the request's key may
// still read what it asked for: the key is authenticated again (a revoked
// key is KindUnauthorized) and access.Lookup asked again for the service
// (a withdrawn grant, a deleted service: its refusal), or, without a
// service, the key must still be the server's admin key. The long polls
// (events and syncnext with wait) call it before they answer with what
// arrived while they waited, and a stream before each write, so a key
// revoked mid-wait gets the refusal and never what was written after it.
// It reads with the request's own context: a server that is stopping ends
// the wait, not the check.
func (h *Handler) recheck(c *call) error {
	ctx := c.r.Context()
	p, err := h.d.Auth.ByValue(ctx, c.r.Header.Get(schema.KeyHeader))
	if err != nil {
		return err
	}
	if c.svc == nil {
		if !p.Server {
			return schema.Errorf(schema.KindForbidden, "%s without sid needs the admin key", c.fn)
		}
		return nil
	}
	_, err = access.Lookup(ctx, h.d.State, p, c.svc.ID, access.Want{Level: access.Read})
	return err
}
