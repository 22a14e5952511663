package events

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// State is the read side the core needs: the projections' query API.
type State interface {
	Wait(ctx context.Context, seq uint64) error
	// Applied is the sequence of the newest event applied: state read
	// after it reflects at least that event.
	Applied() uint64
	Service(ctx context.Context, id string) (*schema.Service, error)
	ServiceByName(ctx context.Context, account, name string) (*schema.Service, error)
	Account(ctx context.Context, id string) (*schema.Account, error)
	Key(ctx context.Context, id string) (*schema.Key, error)
	Keys(ctx context.Context) ([]*schema.Key, error)
	FeedCredential(ctx context.Context, user string) (*schema.FeedCredential, error)
	Token(ctx context.Context, keyID string) (*schema.Token, error)
	Source(ctx context.Context, name string) (*schema.Source, error)
	Sources(ctx context.Context) ([]*schema.Source, error)
	Services(ctx context.Context) ([]*schema.Service, error)
	TokenByLookup(ctx context.Context, lookup string) (*schema.Token, error)
	Object(ctx context.Context, service, path string) (*schema.Version, error)
	Head(ctx context.Context, service, path string) (*schema.Version, error)
	Version(ctx context.Context, service, path, id string) (*schema.Version, error)
	// Referenced is Version for a large object's reference: it also finds
	// the pinned record of a referenced version that left its history.
	Referenced(ctx context.Context, service, path, id string) (*schema.Version, error)
	DueExpiries(ctx context.Context, now time.Time, limit int) ([]projections.Expiring, error)
	Superseded(ctx context.Context, service string, before time.Time, limit int) ([]*schema.Version, error)
	BlobReferenced(ctx context.Context, digest string) (bool, error)
	BlobUsers(ctx context.Context, digest string, limit int) ([]schema.ObjectRef, error)
	ReferencedBlobs(ctx context.Context, after string, limit int) ([]string, error)
	Upload(ctx context.Context, service, id string) (*schema.Upload, error)
	Uploads(ctx context.Context, service string) ([]*schema.Upload, error)
	Parts(ctx context.Context, service, upload string) ([]*schema.Part, error)
	List(ctx context.Context, service string, o projections.ListOptions) (*projections.ListResult, error)
}

var _ State = (*projections.Store)(nil)

// Options configures the core.
type Options struct {
	// InlineMax: objects up to this size travel inside their event, so
	// one fsync of the log makes bytes and event durable together.
	InlineMax int64
	// MaxObjectSize bounds one object.
	MaxObjectSize int64
	// Clock returns the current time (injected in tests).
	Clock func() time.Time
	// ContentCache bounds the memory kept for the bytes of recently read
	// inline objects (0: DefaultContentCache; negative: no cache).
	ContentCache int64
	// ReadOnly makes the core refuse every change (readonly.go): a
	// KindForbidden error wrapping ErrReadOnly, before any body is read,
	// blob written or event appended. Swift tokens are then kept in memory.
	ReadOnly bool
	// ReadOnlyReason completes the refusal's message ("a point-in-time
	// copy at sequence 42, 2026-05-01T10:00:00Z"); optional.
	ReadOnlyReason string
	// Space, when set, refuses uploads that would leave less than its
	// reserve free on the data directory's disk (space.go); the log's
	// appender applies its floor to every event (NATSOptions.Space).
	Space *blobstore.Space
}

// DefaultContentCache is the default bound of the inline content cache.
const DefaultContentCache = 64 << 20

// DefaultInlineMax is the default inline threshold.
const DefaultInlineMax = 64 << 10

// Origin says who asked for a mutation.
type Origin struct {
	Actor     schema.Actor
	RequestID string
}

// Core is the single core every dialect calls for mutations.
type Core struct {
	log    Log
	blobs  blobstore.Store
	state  State
	sealer *Sealer
	opts   Options
	ids    *schema.IDs
	cache  *contentCache
	tokens *memTokens // Swift tokens of a read-only core (nil otherwise)

	mu       sync.Mutex
	lastTime time.Time
}

// NewCore returns the core.
func NewCore(log Log, blobs blobstore.Store, state State, sealer *Sealer, o Options) *Core {
	if o.InlineMax <= 0 {
		o.InlineMax = DefaultInlineMax
	}
	if o.MaxObjectSize <= 0 {
		o.MaxObjectSize = 5 << 30
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Space != nil {
		blobs = spaceBlobs{Store: blobs, space: o.Space}
	}
	s := &Core{log: log, blobs: blobs, state: state, sealer: sealer, opts: o, ids: schema.NewIDs()}
	if o.ContentCache == 0 {
		o.ContentCache = DefaultContentCache
	}
	if o.ContentCache > 0 {
		s.cache = newContentCache(o.ContentCache)
	}
	if o.ReadOnly {
		s.tokens = newMemTokens()
	}
	return s
}

// MaxObjectSize is the largest object the core stores.
func (s *Core) MaxObjectSize() int64 { return s.opts.MaxObjectSize }

// Now returns the core's clock.
func (s *Core) Now() time.Time { return s.opts.Clock() }

// now returns a time that never goes backwards within this process, so the
// log's event times are monotonic (point-in-time reads search them).
func (s *Core) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.opts.Clock().UTC().Truncate(time.Microsecond)
	if !t.After(s.lastTime) {
		t = s.lastTime.Add(time.Microsecond)
	}
	s.lastTime = t
	return t
}

// SeedTime makes event times continue after t (the newest in the log).
func (s *Core) SeedTime(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.After(s.lastTime) {
		s.lastTime = t
	}
}

// newEvent builds an envelope; payload is marshalled into Data.
func (s *Core) newEvent(o Origin, typ, account, service, path string, payload any) (*schema.Event, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "encode payload")
	}
	t := s.now()
	return &schema.Event{Type: typ, ID: s.ids.New(t), Time: t, Actor: o.Actor, RequestID: o.RequestID,
		Account: account, Service: service, Path: path, Data: data}, nil
}

// commit appends events built by build, retrying when the log says an
// expectation no longer holds (another writer won a race): it then waits
// until the projections have caught up with the log and lets build decide
// again on the new state. It returns after the event is applied locally.
func (s *Core) commit(ctx context.Context, build func() (*schema.Event, Expect, error)) (*schema.Event, error) {
	if err := s.refuseReadOnly(); err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 50; attempt++ {
		ev, exp, err := build()
		if err != nil {
			return nil, err
		}
		retry, err := s.publish(ctx, ev, exp)
		if err != nil {
			return nil, err
		}
		if !retry {
			return ev, nil
		}
		if _, err := s.caughtUp(ctx); err != nil {
			return nil, err
		}
	}
	return nil, schema.Errorf(schema.KindConflict, "too many concurrent changes; retry")
}

// commitOn is commit for an event that build makes from the state of the
// subjects matching filter: build runs on state at least as new as the
// newest event there, and the append expects that event still to be the
// newest, so a change in between makes build decide again.
func (s *Core) commitOn(ctx context.Context, filter string, build func() (*schema.Event, error)) (*schema.Event, error) {
	return s.commit(ctx, func() (*schema.Event, Expect, error) {
		seq, err := s.subjectSeq(ctx, filter)
		if err != nil {
			return nil, Expect{}, err
		}
		ev, err := build()
		return ev, Expect{Filter: filter, FilterSeq: seq}, err
	})
}

// commitOnAll is commit for an event that build makes from the state of
// the whole log: build runs once the local projections have applied all of
// it, and the append expects the log to be unchanged since.
func (s *Core) commitOnAll(ctx context.Context, build func() (*schema.Event, error)) (*schema.Event, error) {
	return s.commit(ctx, func() (*schema.Event, Expect, error) {
		last, err := s.caughtUp(ctx)
		if err != nil {
			return nil, Expect{}, err
		}
		ev, err := build()
		return ev, Expect{Global: true, LastSeq: last}, err
	})
}

// publish appends ev with expectation exp and returns once the local
// projections have applied it (ev.Seq set). retry reports instead that the
// expectation no longer held: nothing was appended, and the caller decides
// again on fresher state.
//
// Once the append succeeded the write has happened: an error then would
// make the client send it again, and store it twice (each request is a new
// event id). So publish waits for the projections through a runner's
// restart (Wait answers at once while the runner is failing), for up to
// appliedWait, instead of failing at once. It still fails when they cannot
// apply it: a runner stopped for good at an event this version cannot fold
// (the projections.FoldError, invariant 5), or none applying it within
// appliedWait or before ctx ends; answering success then would break
// read-your-writes.
func (s *Core) publish(ctx context.Context, ev *schema.Event, exp Expect) (retry bool, err error) {
	seq, err := s.log.Append(ctx, ev, exp)
	if errors.Is(err, ErrWrongLastSequence) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	ev.Seq = seq
	return false, s.awaitApplied(ctx, seq)
}

// appliedWait bounds how long an appended write waits for a failing
// projection runner (runProjections restarts one after a second).
const appliedWait = 10 * time.Second

// awaitApplied waits until the local projections applied seq, through
// Wait's failures while a runner restarts; it returns Wait's error when
// the runner stopped for good (a FoldError), or when ctx ends or
// appliedWait passes first.
func (s *Core) awaitApplied(ctx context.Context, seq uint64) error {
	wctx, cancel := context.WithTimeout(ctx, appliedWait)
	defer cancel()
	pause := 5 * time.Millisecond
	for {
		err := s.state.Wait(wctx, seq)
		if err == nil || wctx.Err() != nil || errors.As(err, new(*projections.FoldError)) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-wctx.Done():
		case <-t.C:
		}
		t.Stop()
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// caughtUp waits until the local projections have applied the whole log
// as it is now, and returns its last sequence.
func (s *Core) caughtUp(ctx context.Context) (uint64, error) {
	last, err := s.log.LastSeq(ctx)
	if err != nil {
		return 0, err
	}
	return last, s.state.Wait(ctx, last)
}

// writable returns a storage service clients may write: not a replica,
// which only its replicator changes, and not on a read-only core
// (KindForbidden).
func (s *Core) writable(ctx context.Context, id string) (*schema.Service, error) {
	if err := s.refuseReadOnly(); err != nil {
		return nil, err
	}
	svc, err := s.storage(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := refuseReplica(svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// refuseReplica refuses a client's write to a replica, which only its
// replicator changes (KindForbidden).
func refuseReplica(svc *schema.Service) error {
	if r := svc.Settings.Replica; r != nil {
		return schema.Reasonf(schema.KindForbidden, schema.ReasonReadOnlyReplica,
			"service %q is a read-only replica of %q on source %q", svc.ID, r.SID, r.Source)
	}
	return nil
}

// storage returns a storage service or the right error.
func (s *Core) storage(ctx context.Context, id string) (*schema.Service, error) {
	svc, err := s.state.Service(ctx, id)
	if err != nil {
		return nil, err
	}
	if svc.Type != schema.ServiceStorage {
		return nil, schema.Errorf(schema.KindMethodNotAllowed, "not a storage service")
	}
	return svc, nil
}

// Conditions are a write's preconditions on the object's current version,
// decided by schema.Conditions.Check (the evaluator every dialect uses).
type Conditions = schema.Conditions

// subjectSeq returns the sequence of the newest event on the subjects
// matching filter (0 if none), once the local projections have applied it:
// state read after it is the state an expectation of that sequence
// protects. The log, not the projections, says what the sequence is, so
// events the projections skip (or a deleted service's history under a
// re-used id) never make an expectation wrong.
func (s *Core) subjectSeq(ctx context.Context, filter string) (uint64, error) {
	seq, err := s.log.LastSubjectSeq(ctx, filter)
	if err != nil {
		return 0, err
	}
	return seq, s.state.Wait(ctx, seq)
}
