package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// Log is the append-only event log.
type Log interface {
	// Append stores ev (its JSON) on the subject schema.SubjectFor(ev) and
	// returns its stream sequence once it is durable. ev.ID is the
	// idempotency key: appending the same id again returns the first
	// sequence. When an expectation in exp does not hold, Append MUST return
	// an error for which errors.Is(err, ErrWrongLastSequence) is true and
	// append nothing.
	Append(ctx context.Context, ev *schema.Event, exp Expect) (uint64, error)
	// Get returns the event at seq (with Seq set), or KindNotFound.
	Get(ctx context.Context, seq uint64) (*schema.Event, error)
	// Follow calls fn with batches of consecutive events starting at
	// sequence from, in order, until ctx ends or fn fails.
	Follow(ctx context.Context, from uint64, fn func([]*schema.Event) error) error
	// LastSeq returns the sequence of the newest event (0 when empty).
	LastSeq(ctx context.Context) (uint64, error)
	// LastSubjectSeq returns the sequence of the newest event on subjects
	// matching filter (0 when none): what an Expect.FilterSeq must be.
	LastSubjectSeq(ctx context.Context, filter string) (uint64, error)
	// Raw returns the stored bytes and chain value of the event at seq.
	Raw(ctx context.Context, seq uint64) (*RawEvent, error)
}

// Expect holds optimistic-concurrency expectations for one append.
type Expect struct {
	// Filter and FilterSeq: the newest event on subjects matching Filter
	// must have sequence FilterSeq (0: no event matches).
	Filter    string
	FilterSeq uint64
	// LastSeq, when Global is set: the newest event in the whole log must
	// have this sequence.
	LastSeq uint64
	Global  bool
}

// ErrWrongLastSequence reports that an expectation did not hold.
var ErrWrongLastSequence = errors.New("events: wrong last sequence")

// NATSOptions configures the embedded NATS server and its streams.
type NATSOptions struct {
	Dir string // JetStream storage lives in Dir/jetstream
	// SyncAlways fsyncs every message before acknowledging it (the
	// default in Cairn's config). Off, JetStream syncs every SyncInterval.
	SyncAlways   bool
	SyncInterval time.Duration
	// RequestsPerService caps the request log per service (reqlist).
	RequestsPerService int64
	// Name distinguishes servers started in one process.
	Name string
	// Listen, when set, is the HOST:PORT of a NATS client listener (port
	// 0 picks a free one) where change-feed consumers log in as FeedUser
	// with FeedPassword (natsauth.go). Empty: no listener at all.
	Listen       string
	FeedPassword string
	// Space, when set, refuses appends once the disk is down to its floor
	// (blobstore.Space), so the file store never fails a write for want of
	// space (a failed write leaves it refusing every later one).
	Space *blobstore.Space
	// AfterReopen, when set, is called with the log's last sequence each
	// time the appender reopened the store after a failed write: what
	// the store recovered may end before events the projections already
	// applied. An error refuses every later append with it (until a
	// restart, which rebuilds projections that are ahead of the log).
	AfterReopen func(last uint64) error
}

// JetStream is the Log on an embedded NATS server with JetStream file
// storage. It also owns the capped request-log stream.
type JetStream struct {
	ns     *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	req    jetstream.Stream
	app    *appender // the one writer of the stream
	space  *blobstore.Space
	jscfg  server.JetStreamConfig // what reopenStore enables JetStream with again
	feed   *feedAuth
}

var _ Log = (*JetStream)(nil)

// OpenJetStream starts the embedded server and makes sure the streams exist.
func OpenJetStream(ctx context.Context, o NATSOptions) (*JetStream, error) {
	if o.RequestsPerService <= 0 {
		o.RequestsPerService = 1000
	}
	if o.Name == "" {
		o.Name = "cairn"
	}
	sopts := &server.Options{
		ServerName:         o.Name,
		JetStream:          true,
		StoreDir:           filepath.Join(o.Dir, "jetstream"),
		DontListen:         true,
		NoSigs:             true,
		NoLog:              true,
		SyncAlways:         o.SyncAlways,
		SyncInterval:       o.SyncInterval,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 64 << 20,
		// Left unset, JetStream limits its file storage to 75% of the disk
		// space free at start (plus what it already uses): a server started
		// on a nearly full disk would refuse writes for good once it passed
		// that mark, even after space was freed. Space (disk_reserve) is
		// what keeps the disk from filling, against the space free now.
		JetStreamMaxStore: 1 << 60,
	}
	feed, err := newFeedAuth(o, sopts) // nil without o.Listen
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("events: nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("events: nats server not ready")
	}
	if err := feed.enable(ns); err != nil {
		ns.Shutdown()
		return nil, err
	}
	nc, err := nats.Connect("", append(feed.coreOptions(),
		nats.InProcessServer(ns), nats.Name(o.Name+"-core"), nats.MaxReconnects(-1))...)
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("events: connect: %w", err)
	}
	l := &JetStream{ns: ns, nc: nc, feed: feed, jscfg: server.JetStreamConfig{StoreDir: sopts.StoreDir,
		MaxMemory: sopts.JetStreamMaxMemory, MaxStore: sopts.JetStreamMaxStore,
		SyncAlways: sopts.SyncAlways, SyncInterval: sopts.SyncInterval}}
	if l.js, err = jetstream.New(nc); err != nil {
		l.Close()
		return nil, err
	}
	if err := feed.serve(nc); err != nil {
		l.Close()
		return nil, err
	}
	l.stream, err = l.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        schema.StreamName,
		Description: "Cairn mutation log: every change, one event each",
		Subjects:    []string{schema.SubjectRoot + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		Duplicates:  10 * time.Minute,
		AllowDirect: true,
		DenyDelete:  true,
		DenyPurge:   true,
	})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("events: stream: %w", err)
	}
	l.req, err = l.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              schema.ReqStreamName,
		Description:       "Cairn request log (reqlist): capped per service, not part of the history",
		Subjects:          []string{schema.ReqSubjectPfx + ".>"},
		Storage:           jetstream.FileStorage,
		MaxMsgsPerSubject: o.RequestsPerService,
		Discard:           jetstream.DiscardOld,
		AllowDirect:       true,
		// The request log is best effort: it must survive restarts, but
		// it is not history, so it is flushed asynchronously instead of
		// costing every request a second fsync.
		PersistMode: jetstream.AsyncPersistMode,
	})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("events: request stream: %w", err)
	}
	l.space = o.Space
	if l.app, err = newAppender(ctx, l.js, l.stream, o.Space, l.reopenStore, o.AfterReopen); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// reopenStore shuts JetStream down and enables it again on the same
// directory: the only way to clear a file store that failed a write (its
// error is sticky: it refuses every later write, and the publisher gets no
// acknowledgement at all, until the store is opened anew). Streams and
// durable consumers are recovered from disk as at a start; ordered
// consumers (the projection runner's) recreate themselves. The NATS server
// and every connection stay up.
func (l *JetStream) reopenStore() error {
	if err := l.ns.ShutdownJetStream(); err != nil {
		return fmt.Errorf("events: shut JetStream down: %w", err)
	}
	cfg := l.jscfg // EnableJetStream changes what it is given
	if err := l.ns.EnableJetStream(&cfg); err != nil {
		return fmt.Errorf("events: enable JetStream again: %w", err)
	}
	if l.feed != nil && !l.ns.GlobalAccount().JetStreamEnabled() {
		if err := l.feed.enable(l.ns); err != nil {
			return err
		}
	}
	return nil
}

// Server returns the embedded NATS server.
func (l *JetStream) Server() *server.Server { return l.ns }

// Close disconnects and stops the embedded server.
func (l *JetStream) Close() error {
	if l.app != nil {
		l.app.close()
	}
	if l.nc != nil {
		_ = l.nc.Drain()
		l.nc.Close()
	}
	if l.ns != nil {
		l.ns.Shutdown()
		l.ns.WaitForShutdown()
	}
	return nil
}

// Append implements Log. Events go through the appender, which links
// each to its predecessor in the hash chain (chain.go).
func (l *JetStream) Append(ctx context.Context, ev *schema.Event, exp Expect) (uint64, error) {
	data, err := ev.Encode()
	if err != nil {
		return 0, schema.Wrap(schema.KindInternal, err, "encode event")
	}
	return l.app.append(ctx, &appendReq{subject: schema.SubjectFor(ev), id: ev.ID, data: data, exp: exp})
}

// CopyEvents appends the events from..until of src (a damaged log, say)
// to l, an empty or shorter log, as they are stored: the same bytes on the
// same subjects with the same ids, so each event is at the same sequence
// and, linked again by l's appender, gets the same chain value when src
// is intact up to it; it fails at the first event src does not have, or
// whose chain value comes out different. progress, if set, is called with
// each event's sequence.
func (l *JetStream) CopyEvents(ctx context.Context, src *JetStream, from, until uint64, progress func(seq uint64)) error {
	for seq := from; seq <= until; seq++ {
		raw, err := src.Raw(ctx, seq)
		if err != nil {
			return fmt.Errorf("event %d: %w", seq, err)
		}
		ev, err := decode(raw.Data, seq)
		if err != nil {
			return err
		}
		got, err := l.app.append(ctx, &appendReq{subject: raw.Subject, id: ev.ID, data: raw.Data,
			exp: Expect{Global: true, LastSeq: seq - 1}})
		if err != nil {
			return fmt.Errorf("copy event %d: %w", seq, err)
		}
		if got != seq {
			return fmt.Errorf("copy event %d: stored at %d", seq, got)
		}
		if raw.Chain != "" {
			if c, err := l.Raw(ctx, seq); err != nil || c.Chain != raw.Chain {
				return fmt.Errorf("copy event %d: its chain value differs from the stored one: the log is not intact up to it", seq)
			}
		}
		if progress != nil {
			progress(seq)
		}
	}
	return nil
}

// Get implements Log.
func (l *JetStream) Get(ctx context.Context, seq uint64) (*schema.Event, error) {
	m, err := l.stream.GetMsg(ctx, seq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, schema.Errorf(schema.KindNotFound, "no event %d", seq)
		}
		return nil, schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
	}
	return decode(m.Data, m.Sequence)
}

func decode(data []byte, seq uint64) (*schema.Event, error) {
	ev := &schema.Event{}
	if decodeFast(data, ev) {
		ev.Seq = seq
		return ev, nil
	}
	*ev = schema.Event{}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, fmt.Sprintf("undecodable event %d", seq))
	}
	ev.Seq = seq
	return ev, nil
}

// dataKey is where Event.Encode (and encoding/json, by field order) puts
// the payload: last. Inside a JSON string a quote is always escaped, so
// the first occurrence of these bytes is the key itself.
var dataKey = []byte(`,"data":`)

// decodeFast decodes an event whose payload is last by decoding only the
// envelope before it and taking the payload's bytes as they are, instead
// of scanning the payload (most of an event carrying an object inline)
// twice. It reports false when the event has another shape; the caller
// then decodes it in full.
func decodeFast(data []byte, ev *schema.Event) bool {
	i := bytes.Index(data, dataKey)
	if i < 0 || len(data) < i+len(dataKey)+2 || data[len(data)-1] != '}' {
		return false
	}
	head := make([]byte, 0, i+1)
	head = append(append(head, data[:i]...), '}')
	if err := json.Unmarshal(head, ev); err != nil || ev.Data != nil {
		return false
	}
	payload := bytes.TrimSpace(data[i+len(dataKey) : len(data)-1])
	if !bytes.Equal(payload, []byte("null")) && !oneObject(payload) {
		return false
	}
	ev.Data = payload
	return true
}

// oneObject reports whether b is exactly one JSON object as far as its
// braces and strings go (the payload's own decoder checks the rest): a
// payload that is not last in its event fails here.
func oneObject(b []byte) bool {
	if len(b) < 2 || b[0] != '{' {
		return false
	}
	depth, inString, escaped := 0, false, false
	for i, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString:
			if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i == len(b)-1
			}
		}
	}
	return false
}

// LastSeq implements Log.
func (l *JetStream) LastSeq(ctx context.Context) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
	}
	return info.State.LastSeq, nil
}

// LogState is the shape of the event log's stream. The log never loses
// an event by design (no limits, deletes and purges denied), so every
// sequence from 1 to Last is there unless its files were damaged: Missing
// counts those that are not, and Gaps lists where they are.
type LogState struct {
	First, Last, Msgs uint64
	Missing           uint64
	// Gaps are the runs of missing sequences, in order (at most 100).
	Gaps []Gap
}

// Gap is a run of missing sequences, From to To inclusive.
type Gap struct{ From, To uint64 }

// errGap stops Follow's batch at a hole in the log (GapError).
var errGap = errors.New("events: a hole in the log")

// GapError is Follow meeting events missing in the middle of the log: a
// record damaged in place, which JetStream only finds when it reads it
// back (its state still counts it). Nothing may be folded past it: every
// later event would be applied without the ones before.
type GapError struct{ Gap Gap }

func (e *GapError) Error() string {
	return fmt.Sprintf("events: the event log misses events %d to %d (a damaged block): nothing is folded past them", e.Gap.From, e.Gap.To)
}

// State returns the stream's shape as JetStream recovered it from its
// files (LogState).
func (l *JetStream) State(ctx context.Context) (LogState, error) {
	info, err := l.stream.Info(ctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		return LogState{}, schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
	}
	st := info.State
	ls := LogState{First: st.FirstSeq, Last: st.LastSeq, Msgs: st.Msgs}
	if st.LastSeq == 0 {
		return ls, nil
	}
	if st.FirstSeq > 1 {
		ls.Gaps = append(ls.Gaps, Gap{1, st.FirstSeq - 1})
	}
	del := append([]uint64(nil), st.Deleted...)
	if st.Lost != nil { // records JetStream found damaged and dropped as it recovered a block
		del = append(del, st.Lost.Msgs...)
	}
	slices.Sort(del)
	del = slices.Compact(del)
	for _, seq := range del {
		if n := len(ls.Gaps); n > 0 && ls.Gaps[n-1].To+1 == seq {
			ls.Gaps[n-1].To = seq
			continue
		}
		if len(ls.Gaps) < 100 {
			ls.Gaps = append(ls.Gaps, Gap{seq, seq})
		}
	}
	ls.Missing = st.LastSeq - st.Msgs
	if counted := gapTotal(ls.Gaps); counted < ls.Missing {
		// JetStream does not always say which records it dropped: find
		// them (only then: a sound log never pays for the walk)
		gaps, err := l.findGaps(ctx, st.FirstSeq, st.LastSeq)
		if err != nil {
			return LogState{}, err
		}
		ls.Gaps = gaps
	}
	return ls, nil
}

// ReadState is State, with the gaps found by reading every event back:
// a record damaged in place is counted by JetStream's state until a read
// fails its checksum, so only a read of the whole log finds it. It costs
// a read of the whole log, for the offline commands (verify, rebuild,
// recover) that read it all anyway.
func (l *JetStream) ReadState(ctx context.Context) (LogState, error) {
	ls, err := l.State(ctx)
	if err != nil || ls.Last == 0 {
		return ls, err
	}
	if ls.Gaps, err = l.findGaps(ctx, ls.First, ls.Last); err != nil {
		return LogState{}, err
	}
	ls.Missing = gapTotal(ls.Gaps)
	return ls, nil
}

// gapTotal is how many sequences gaps cover.
func gapTotal(gaps []Gap) uint64 {
	var n uint64
	for _, g := range gaps {
		n += g.To - g.From + 1
	}
	return n
}

// findGaps walks the log from first to last and returns the runs of
// sequences it does not hold (the first 100), starting with the ones
// before first.
func (l *JetStream) findGaps(ctx context.Context, first, last uint64) ([]Gap, error) {
	var gaps []Gap
	if first > 1 {
		gaps = append(gaps, Gap{1, first - 1})
	}
	for seq := first; seq <= last && len(gaps) < 100; seq++ {
		_, err := l.stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			if n := len(gaps); n > 0 && gaps[n-1].To+1 == seq {
				gaps[n-1].To = seq
			} else {
				gaps = append(gaps, Gap{seq, seq})
			}
			continue
		}
		if err != nil {
			return nil, schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
		}
	}
	return gaps, nil
}

// LastSubjectSeq implements Log.
func (l *JetStream) LastSubjectSeq(ctx context.Context, filter string) (uint64, error) {
	m, err := l.stream.GetLastMsgForSubject(ctx, filter)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
	}
	return m.Sequence, nil
}

// Follow implements Log. Events are read by an ordered consumer and handed
// to fn in batches of whatever has arrived (at most 1024), so a busy log is
// applied with few projection transactions.
func (l *JetStream) Follow(ctx context.Context, from uint64, fn func([]*schema.Event) error) error {
	if from == 0 {
		from = 1
	}
	cons, err := l.js.OrderedConsumer(ctx, schema.StreamName, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   from,
	})
	if err != nil {
		return schema.Wrap(schema.KindUnavailable, err, "follow log")
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2048))
	if err != nil {
		return schema.Wrap(schema.KindUnavailable, err, "follow log")
	}
	defer it.Stop()
	msgs := make(chan jetstream.Msg, 1024)
	errc := make(chan error, 1)
	go func() {
		defer close(msgs)
		for {
			m, err := it.Next()
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	next := from
	for {
		var first jetstream.Msg
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-msgs:
			if !ok {
				select {
				case err := <-errc:
					if ctx.Err() != nil {
						return ctx.Err()
					}
					return schema.Wrap(schema.KindUnavailable, err, "follow log")
				default:
					return ctx.Err()
				}
			}
			first = m
		}
		batch := make([]*schema.Event, 0, 64)
		var gap *GapError
		add := func(m jetstream.Msg) error {
			md, err := m.Metadata()
			if err != nil {
				return schema.Wrap(schema.KindInternal, err, "message metadata")
			}
			seq := md.Sequence.Stream
			if seq < next {
				return nil // redelivery after an ordered-consumer reset
			}
			if seq > next {
				// the log deletes nothing (no retention, DenyDelete): a
				// jump is a record JetStream could not read back. What
				// came before it is handed over first (a fold up to a
				// point before the hole completes); then Follow stops.
				gap = &GapError{Gap{next, seq - 1}}
				return errGap
			}
			ev, err := decode(m.Data(), seq)
			if err != nil {
				return err
			}
			next = seq + 1
			batch = append(batch, ev)
			return nil
		}
		if err := add(first); err != nil && err != errGap {
			return err
		}
	drain:
		for len(batch) < 1024 && gap == nil {
			select {
			case m, ok := <-msgs:
				if !ok {
					break drain
				}
				if err := add(m); err != nil && err != errGap {
					return err
				}
			default:
				break drain
			}
		}
		if len(batch) > 0 {
			if err := fn(batch); err != nil {
				return err
			}
		}
		if gap != nil {
			return gap
		}
	}
}
