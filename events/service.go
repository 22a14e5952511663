package events

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// State is the read side the core needs: the projections' query API.
type State interface {
	Wait(ctx context.Context, seq uint64) error
	Service(ctx context.Context, id string) (*schema.Service, error)
	Account(ctx context.Context, id string) (*schema.Account, error)
	Key(ctx context.Context, id string) (*schema.Key, error)
	Token(ctx context.Context, keyID string) (*schema.Token, error)
	Source(ctx context.Context, name string) (*schema.Source, error)
	Services(ctx context.Context) ([]*schema.Service, error)
	TokenByLookup(ctx context.Context, lookup string) (*schema.Token, error)
	Object(ctx context.Context, service, path string) (*schema.Version, error)
	Head(ctx context.Context, service, path string) (*schema.Version, error)
	Version(ctx context.Context, service, path, id string) (*schema.Version, error)
	DueExpiries(ctx context.Context, now time.Time, limit int) ([]projections.Expiring, error)
	Superseded(ctx context.Context, service string, before time.Time, limit int) ([]*schema.Version, error)
	BlobReferenced(ctx context.Context, digest string) (bool, error)
	Upload(ctx context.Context, service, id string) (*schema.Upload, error)
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
		seq, err := s.log.Append(ctx, ev, exp)
		if errors.Is(err, ErrWrongLastSequence) {
			if _, err := s.caughtUp(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		ev.Seq = seq
		if err := s.state.Wait(ctx, seq); err != nil {
			return nil, err
		}
		return ev, nil
	}
	return nil, schema.Errorf(schema.KindConflict, "too many concurrent changes; retry")
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
	if err == nil && svc.Settings.Replica != nil {
		return nil, schema.Reasonf(schema.KindForbidden, schema.ReasonReadOnlyReplica,
			"service %q is a read-only replica of %q on source %q", id, svc.Settings.Replica.SID, svc.Settings.Replica.Source)
	}
	return svc, err
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

// live returns the current live version of an object at now (nil if none)
// and the sequence of the object's newest event, what a write that depends
// on that state expects.
func (s *Core) live(ctx context.Context, service, path string) (*schema.Version, uint64, error) {
	seq, err := s.subjectSeq(ctx, schema.ObjectFilter(service, path))
	if err != nil {
		return nil, 0, err
	}
	head, err := s.state.Head(ctx, service, path)
	if schema.IsKind(err, schema.KindNotFound) {
		return nil, seq, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if !head.Live(s.opts.Clock()) {
		return nil, seq, nil
	}
	return head, seq, nil
}

// PutInput is an object upload.
type PutInput struct {
	Service     string
	Path        string
	Body        io.Reader
	ContentType string
	Meta        map[string]string
	Headers     map[string]string // stored headers (lower-case names)
	DeleteAt    int64             // unix seconds, 0 = never
	Cond        Conditions
}

// PutObject stores a new version of an object. Small bodies travel inside
// the event; larger ones are written (and fsynced) to the blobstore first.
func (s *Core) PutObject(ctx context.Context, o Origin, in PutInput) (*schema.Version, error) {
	if err := schema.CheckPath(in.Path); err != nil {
		return nil, err
	}
	svc, err := s.writable(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	if in.Cond.Any() { // fail fast before reading the body; re-checked atomically below
		cur, _, err := s.live(ctx, in.Service, in.Path)
		if err != nil {
			return nil, err
		}
		if err := in.Cond.Check(cur); err != nil {
			return nil, err
		}
	}
	p, err := s.storeBody(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	p.Version = ""
	p.ContentType = in.ContentType
	p.Meta = in.Meta
	p.Headers = in.Headers
	p.DeleteAt = in.DeleteAt
	p.Null = svc.Suspended()
	return s.commitVersion(ctx, o, schema.TypeObjectPut, svc.Account, in.Service, in.Path, p.Size, in.Cond,
		func(version string) any { p.Version = version; return p })
}

// commitVersion appends the event that stores a new version of an object
// (a put or a copy of size bytes), after checking the quota and the
// write's conditions against the state its expectation names, and returns
// the version once applied. payload builds the event's payload for the
// version id it is given.
func (s *Core) commitVersion(ctx context.Context, o Origin, typ, account, service, path string, size int64,
	cond Conditions, payload func(version string) any) (*schema.Version, error) {
	ev, err := s.commit(ctx, func() (*schema.Event, Expect, error) {
		// Under a quota the check and the append are one atomic step: the
		// append expects the state the check read (every event of the
		// service, or of the whole log under an account quota), so
		// concurrent writers re-check after each other and usage never
		// passes the quota.
		exp, err := s.quotaExpect(ctx, service)
		if err != nil {
			return nil, exp, err
		}
		if err := s.checkQuota(ctx, service, path, size); err != nil {
			return nil, exp, err
		}
		if cond.Any() {
			cur, seq, err := s.live(ctx, service, path)
			if err != nil {
				return nil, exp, err
			}
			if err := cond.Check(cur); err != nil {
				return nil, exp, err
			}
			if exp.Filter == "" { // a service-wide expectation already covers the object
				exp.Filter, exp.FilterSeq = schema.ObjectFilter(service, path), seq
			}
		}
		ev, err := s.newEvent(o, typ, account, service, path, nil)
		if err != nil {
			return nil, exp, err
		}
		ev.Data, err = json.Marshal(payload(ev.ID))
		return ev, exp, err
	})
	if err != nil {
		return nil, err
	}
	return s.applied(ctx, ev)
}

// quotaExpect returns the expectation that makes a write's quota check
// atomic: none without a quota; the newest event on the service's objects
// under a service quota (writes to other services go on in parallel); the
// newest event of the whole log under an account quota (the account's
// services share it, and no one subject covers them). It waits until the
// projections have applied what it expects, so checks read that state.
func (s *Core) quotaExpect(ctx context.Context, service string) (Expect, error) {
	svc, err := s.state.Service(ctx, service)
	if err != nil {
		return Expect{}, err
	}
	if a, err := s.state.Account(ctx, svc.Account); err == nil && a.QuotaBytes > 0 {
		last, err := s.caughtUp(ctx)
		return Expect{Global: true, LastSeq: last}, err
	}
	if svc.QuotaBytes == 0 && svc.QuotaCount == 0 {
		return Expect{}, nil
	}
	filter := schema.ServiceObjectsFilter(service)
	seq, err := s.subjectSeq(ctx, filter)
	return Expect{Filter: filter, FilterSeq: seq}, err
}

// checkQuota fails with KindQuotaExceeded when storing size bytes at path
// would take the service or its account past a byte or file-count quota.
// It reads the projections as they are; commitVersion makes the check and
// the append atomic (quotaExpect).
func (s *Core) checkQuota(ctx context.Context, service, path string, size int64) error {
	svc, err := s.state.Service(ctx, service)
	if err != nil {
		return err
	}
	var acct *schema.Account
	if a, err := s.state.Account(ctx, svc.Account); err == nil && a.QuotaBytes > 0 {
		acct = a
	}
	if svc.QuotaBytes == 0 && svc.QuotaCount == 0 && acct == nil {
		return nil
	}
	files, bytes := int64(1), size
	if cur, err := s.state.Object(ctx, service, path); err == nil {
		files, bytes = 0, size-cur.Size // an overwrite replaces the current version's usage
	} else if !schema.IsKind(err, schema.KindNotFound) {
		return err
	}
	if svc.QuotaBytes > 0 && bytes > 0 && svc.Bytes+bytes > svc.QuotaBytes {
		return schema.Errorf(schema.KindQuotaExceeded, "service %q quota of %d bytes would be exceeded (%d used)", service, svc.QuotaBytes, svc.Bytes)
	}
	if svc.QuotaCount > 0 && files > 0 && svc.Files+files > svc.QuotaCount {
		return schema.Errorf(schema.KindQuotaExceeded, "service %q quota of %d files would be exceeded", service, svc.QuotaCount)
	}
	if acct != nil && bytes > 0 && acct.Bytes+bytes > acct.QuotaBytes {
		return schema.Errorf(schema.KindQuotaExceeded, "account quota of %d bytes would be exceeded (%d used)", acct.QuotaBytes, acct.Bytes)
	}
	return nil
}

// applied returns the version an applied object event created.
func (s *Core) applied(ctx context.Context, ev *schema.Event) (*schema.Version, error) {
	v, err := s.state.Version(ctx, ev.Service, ev.Path, ev.ID)
	if schema.IsKind(err, schema.KindNotFound) {
		// the service went away between the checks and the append
		return nil, schema.Errorf(schema.KindNotFound, "service not found")
	}
	return v, err
}

// storeBody reads a body: inline when small, else into the blobstore.
func (s *Core) storeBody(ctx context.Context, body io.Reader) (schema.ObjectPut, error) {
	var p schema.ObjectPut
	if err := s.refuseReadOnly(); err != nil {
		return p, err
	}
	if body == nil {
		body = bytes.NewReader(nil)
	}
	buf := make([]byte, s.opts.InlineMax+1)
	n, err := io.ReadFull(body, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return p, schema.Wrap(schema.KindInvalidArgument, err, "could not read the request body")
	}
	buf = buf[:n]
	if int64(n) <= s.opts.InlineMax {
		sum := sha256.Sum256(buf)
		m := md5.Sum(buf)
		p.Size, p.ETag = int64(n), hex.EncodeToString(m[:])
		p.Blob = schema.BlobRef{SHA256: hex.EncodeToString(sum[:]), Inline: buf}
		return p, nil
	}
	info, err := s.blobs.Put(ctx, io.MultiReader(bytes.NewReader(buf), body), s.opts.MaxObjectSize)
	if err != nil {
		return p, err
	}
	p.Size, p.ETag = info.Size, info.MD5
	p.Blob = schema.BlobRef{SHA256: info.SHA256}
	return p, nil
}

// DeleteObject adds a tombstone version; KindNotFound when the object is
// not live.
func (s *Core) DeleteObject(ctx context.Context, o Origin, service, path string, cond Conditions) (*schema.Version, error) {
	if err := schema.CheckPath(path); err != nil {
		return nil, err
	}
	svc, err := s.writable(ctx, service)
	if err != nil {
		return nil, err
	}
	ev, err := s.commit(ctx, func() (*schema.Event, Expect, error) {
		cur, seq, err := s.live(ctx, service, path)
		if err != nil {
			return nil, Expect{}, err
		}
		if cur == nil {
			return nil, Expect{}, schema.Errorf(schema.KindNotFound, "file not found")
		}
		if err := cond.Check(cur); err != nil {
			return nil, Expect{}, err
		}
		ev, err := s.newEvent(o, schema.TypeObjectDelete, svc.Account, service, path, nil)
		if err != nil {
			return nil, Expect{}, err
		}
		ev.Data, err = json.Marshal(schema.ObjectDelete{Version: ev.ID, Null: svc.Suspended()})
		return ev, Expect{Filter: schema.ObjectFilter(service, path), FilterSeq: seq}, err
	})
	if err != nil {
		return nil, err
	}
	return s.applied(ctx, ev)
}

// CopyInput copies a version to a new path (possibly in another service).
type CopyInput struct {
	From        schema.ObjectRef // Version "" = the current live version
	Service     string
	Path        string
	ReplaceMeta bool // use ContentType/Meta/Headers below instead of the source's
	ContentType string
	Meta        map[string]string
	Headers     map[string]string
	DeleteAt    int64
	Cond        Conditions // on the destination
}

// CopyObject stores a new version sharing the source's blob: no bytes move.
func (s *Core) CopyObject(ctx context.Context, o Origin, in CopyInput) (*schema.Version, error) {
	if err := schema.CheckPath(in.Path); err != nil {
		return nil, err
	}
	svc, err := s.writable(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	if _, err := s.storage(ctx, in.From.Service); err != nil {
		return nil, err
	}
	var src *schema.Version
	if in.From.Version != "" {
		src, err = s.state.Version(ctx, in.From.Service, in.From.Path, in.From.Version)
		if err == nil && !src.Live(s.opts.Clock()) {
			err = schema.Errorf(schema.KindNotFound, "source version is a deletion")
		}
	} else {
		src, _, err = s.live(ctx, in.From.Service, in.From.Path)
		if err == nil && src == nil {
			err = schema.Errorf(schema.KindNotFound, "source file not found")
		}
	}
	if err != nil {
		return nil, err
	}
	p := schema.ObjectCopy{
		From: schema.ObjectRef{Service: in.From.Service, Path: in.From.Path, Version: src.Version},
		Size: src.Size, ETag: src.ETag, ContentType: src.ContentType, Meta: src.Meta, Headers: src.Headers,
		DeleteAt: in.DeleteAt, Blob: schema.BlobRef{SHA256: src.Blob.SHA256, InSeq: src.Blob.InSeq}, Null: svc.Suspended(),
		Segments: src.Segments,
	}
	if in.ReplaceMeta {
		p.ContentType, p.Meta, p.Headers = in.ContentType, in.Meta, in.Headers
	}
	return s.commitVersion(ctx, o, schema.TypeObjectCopy, svc.Account, in.Service, in.Path, p.Size, in.Cond,
		func(version string) any { p.Version = version; return p })
}

// MetaInput replaces an object's metadata, keeping its bytes.
type MetaInput struct {
	Service     string
	Path        string
	ContentType string
	Meta        map[string]string
	Headers     map[string]string
	DeleteAt    int64
}

// UpdateMeta stores a new version of a live object with new metadata.
func (s *Core) UpdateMeta(ctx context.Context, o Origin, in MetaInput) (*schema.Version, error) {
	if err := schema.CheckPath(in.Path); err != nil {
		return nil, err
	}
	svc, err := s.writable(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	ev, err := s.commit(ctx, func() (*schema.Event, Expect, error) {
		cur, seq, err := s.live(ctx, in.Service, in.Path)
		if err != nil {
			return nil, Expect{}, err
		}
		if cur == nil {
			return nil, Expect{}, schema.Errorf(schema.KindNotFound, "file not found")
		}
		ev, err := s.newEvent(o, schema.TypeObjectMeta, svc.Account, in.Service, in.Path, nil)
		if err != nil {
			return nil, Expect{}, err
		}
		ev.Data, err = json.Marshal(schema.ObjectMeta{Version: ev.ID, ContentType: in.ContentType, Meta: in.Meta, DeleteAt: in.DeleteAt,
			Headers: in.Headers, Null: svc.Suspended()})
		return ev, Expect{Filter: schema.ObjectFilter(in.Service, in.Path), FilterSeq: seq}, err
	})
	if err != nil {
		return nil, err
	}
	return s.applied(ctx, ev)
}

// ExpireObject records that version's expiry passed, if it is still the
// live version (a newer put makes the expiry moot: nothing is appended).
func (s *Core) ExpireObject(ctx context.Context, service, path, version string) error {
	svc, err := s.state.Service(ctx, service)
	if err != nil {
		return err
	}
	if svc.Settings.Replica != nil { // its primary's reaper decides, and the change follows
		return nil
	}
	_, err = s.commit(ctx, func() (*schema.Event, Expect, error) {
		seq, err := s.subjectSeq(ctx, schema.ObjectFilter(service, path))
		if err != nil {
			return nil, Expect{}, err
		}
		head, err := s.state.Head(ctx, service, path)
		if err != nil {
			return nil, Expect{}, err
		}
		if head.Deleted || head.Version != version {
			return nil, Expect{}, errMoot
		}
		if !head.ExpiredAt(s.opts.Clock()) {
			return nil, Expect{}, errMoot
		}
		ev, err := s.newEvent(Origin{Actor: schema.Actor{KeyID: schema.ActorReaper}}, schema.TypeObjectExpired, svc.Account, service, path, nil)
		if err != nil {
			return nil, Expect{}, err
		}
		ev.Data, err = json.Marshal(schema.ObjectExpired{Version: ev.ID, Expired: version})
		return ev, Expect{Filter: schema.ObjectFilter(service, path), FilterSeq: seq}, err
	})
	if errors.Is(err, errMoot) || schema.IsKind(err, schema.KindNotFound) {
		return nil
	}
	return err
}

var errMoot = errors.New("events: nothing to do")

// PurgeVersion forgets one version of an object (S3's DeleteObject with a
// versionId): it leaves the projections' history, while the log keeps the
// events. When it was the newest version, the newest remaining one becomes
// the object's state (removing a delete marker brings the object back). It
// returns the purged version; KindNotFound with ReasonNoSuchVersion when
// the object has no such version.
func (s *Core) PurgeVersion(ctx context.Context, o Origin, service, path, version string) (*schema.Version, error) {
	return s.purge(ctx, o, service, path, version, nil)
}

// purge appends the purge of one version; horizon is set by retention.
func (s *Core) purge(ctx context.Context, o Origin, service, path, version string, horizon *time.Time) (*schema.Version, error) {
	if err := schema.CheckPath(path); err != nil {
		return nil, err
	}
	svc, err := s.writable(ctx, service)
	if err != nil {
		return nil, err
	}
	var gone *schema.Version
	_, err = s.commit(ctx, func() (*schema.Event, Expect, error) {
		seq, err := s.subjectSeq(ctx, schema.ObjectFilter(service, path))
		if err != nil {
			return nil, Expect{}, err
		}
		gone, err = s.state.Version(ctx, service, path, version)
		if schema.IsKind(err, schema.KindNotFound) {
			return nil, Expect{}, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchVersion, "version not found")
		} else if err != nil {
			return nil, Expect{}, err
		}
		ev, err := s.newEvent(o, schema.TypeObjectPurged, svc.Account, service, path, nil)
		if err != nil {
			return nil, Expect{}, err
		}
		ev.Data, err = json.Marshal(schema.ObjectPurged{Version: ev.ID, Purged: version, Horizon: horizon})
		return ev, Expect{Filter: schema.ObjectFilter(service, path), FilterSeq: seq}, err
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}
