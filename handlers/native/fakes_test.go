package native

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/fakes"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// In-memory fakes of the interfaces the handler takes (deps.go), so the
// handler's own rules can be tested without a log or a projection store.
// fakeState holds services, versions and keys; fakeCore writes into it as
// the core would: one version per change, each with the service's next
// sync id, preconditions checked with schema.Conditions.

// fakeState implements State (and access.Keys, for the authenticator).
type fakeState struct {
	*fakes.Catalog
	fakes.Histories
	FeedCredReader            // left nil: no test here calls a feedcred function (e2e and cmd/cairn do)
	mu             sync.Mutex // orders the changes
	changed        chan struct{}
}

func newFakeState() *fakeState {
	return &fakeState{Catalog: fakes.NewCatalog(), changed: make(chan struct{})}
}

// addService adds a service (a copy of svc).
func (s *fakeState) addService(svc schema.Service) { s.PutService(svc) }

// addKey adds a key whose value is value.
func (s *fakeState) addKey(k schema.Key, value string) {
	k.Lookup = events.LookupHash(value)
	s.PutKey(k)
}

// apply records v as the newest version of its object, with the
// service's next sync id, and returns it. The version is in place before
// the service's last sync id names it, as with the real projections.
func (s *fakeState) apply(v *schema.Version) (*schema.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, err := s.Service(context.Background(), v.Service)
	if err != nil {
		return nil, err
	}
	v.SyncID = svc.LastSyncID + 1
	s.Add(v)
	if _, err := s.UpdateService(v.Service, func(svc *schema.Service) error {
		svc.LastSyncID = v.SyncID
		return nil
	}); err != nil {
		return nil, err
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return v, nil
}

// List lists the live files under a prefix in path order (no delimiter,
// no paging: what these tests ask of it).
func (s *fakeState) List(_ context.Context, service string, o projections.ListOptions) (*projections.ListResult, error) {
	res := &projections.ListResult{}
	now := o.Now
	if o.AsOf > 0 {
		now = o.AsOfTime
	}
	for _, path := range s.Paths(service) {
		if !strings.HasPrefix(path, o.Prefix) {
			continue
		}
		for _, v := range s.History(service, path) {
			if o.AsOf == 0 || v.SyncID <= o.AsOf {
				if v.Live(now) {
					res.Files = append(res.Files, v)
				}
				break
			}
		}
	}
	return res, nil
}

// MomentOf resolves sync:N (at most the service's last sync id) and RFC
// 3339 times (the newest change at or before it).
func (s *fakeState) MomentOf(ctx context.Context, svc *schema.Service, raw string) (projections.Moment, error) {
	var m projections.Moment
	cur, err := s.Service(ctx, svc.ID)
	if err != nil {
		return m, err
	}
	changeTime := func(id uint64) (t time.Time) {
		for _, v := range s.Select(svc.ID, func(v *schema.Version) bool { return v.SyncID == id }) {
			t = v.Time
		}
		return t
	}
	if n, ok := strings.CutPrefix(raw, "sync:"); ok {
		id, err := strconv.ParseUint(n, 10, 64)
		if err != nil || id > cur.LastSyncID {
			return m, schema.Errorf(schema.KindInvalidArgument, "asof: bad sync id")
		}
		return projections.Moment{SyncID: id, Time: changeTime(id)}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return m, schema.Errorf(schema.KindInvalidArgument, "asof must be an RFC 3339 time or sync:N")
	}
	m.Time = t
	for id := uint64(1); id <= cur.LastSyncID; id++ {
		if ct := changeTime(id); !ct.After(t) {
			m.SyncID = id
		}
	}
	return m, nil
}

func (s *fakeState) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *fakeState) Changes(_ context.Context, service string, after uint64, limit int) ([]*schema.Version, error) {
	out := s.Select(service, func(v *schema.Version) bool { return v.SyncID > after })
	slices.SortFunc(out, func(a, b *schema.Version) int { return cmp.Compare(a.SyncID, b.SyncID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *fakeState) FirstSyncID(_ context.Context, service string) (uint64, error) { return 1, nil }

func (s *fakeState) Sources(context.Context) ([]*schema.Source, error) { return nil, nil }

// fakeCore implements Core over a fakeState. The file functions are
// implemented; the admin interfaces are embedded and left nil, because
// these tests call no admin function that reaches the core (a call
// would panic and fail the test).
type fakeCore struct {
	ServiceAdmin
	AccountAdmin
	SourceAdmin
	FeedCredAdmin

	state             *fakeState
	mu                sync.Mutex
	*schematest.Clock                   // tests move it
	blobs             map[string][]byte // bytes by version id
	next              int               // version ids: v1, v2, ...
}

func newFakeCore(state *fakeState, now time.Time) *fakeCore {
	return &fakeCore{state: state, Clock: schematest.NewClock(now), blobs: map[string][]byte{}}
}

func (c *fakeCore) newVersion(o events.Origin, service, path, op string) *schema.Version {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return &schema.Version{Service: service, Path: path, Version: "v" + strconv.Itoa(c.next), Time: c.Clock.Now(),
		Op: op, Actor: o.Actor.KeyID}
}

// live is path's current version, nil when it has none at the clock.
func (c *fakeCore) live(ctx context.Context, service, path string) *schema.Version {
	v, err := c.state.Object(ctx, service, path)
	if err != nil || !v.Live(c.Now()) {
		return nil
	}
	return v
}

// MaxObjectSize is the fake core's largest object: 1 MiB.
func (c *fakeCore) MaxObjectSize() int64 { return 1 << 20 }

func (c *fakeCore) PutObject(ctx context.Context, o events.Origin, in events.PutInput) (*schema.Version, error) {
	if _, err := c.state.Service(ctx, in.Service); err != nil {
		return nil, err
	}
	if err := in.Cond.Check(c.live(ctx, in.Service, in.Path)); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, schema.Wrap(schema.KindInvalidArgument, err, "read body")
	}
	sum := md5.Sum(body)
	v := c.newVersion(o, in.Service, in.Path, "put")
	v.Size, v.ETag, v.ContentType, v.Meta, v.DeleteAt = int64(len(body)), hex.EncodeToString(sum[:]), in.ContentType, in.Meta, in.DeleteAt
	c.mu.Lock()
	c.blobs[v.Version] = body
	c.mu.Unlock()
	return c.state.apply(v)
}

func (c *fakeCore) DeleteObject(ctx context.Context, o events.Origin, service, path string, cond schema.Conditions) (*schema.Version, error) {
	cur := c.live(ctx, service, path)
	if cur == nil {
		return nil, fakes.NotFound("file")
	}
	if err := cond.Check(cur); err != nil {
		return nil, err
	}
	v := c.newVersion(o, service, path, "delete")
	v.Deleted = true
	return c.state.apply(v)
}

func (c *fakeCore) Open(_ context.Context, v *schema.Version) (blobstore.Reader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blobs[v.Version]
	if !ok {
		return nil, schema.Errorf(schema.KindInternal, "no bytes for version %s", v.Version)
	}
	return fakes.NewReader(b), nil
}

// Resolve returns v: these tests hold no large objects.
func (c *fakeCore) Resolve(_ context.Context, v *schema.Version, _ func(*schema.Service) bool) (*schema.Version, error) {
	if len(v.Segments) > 0 {
		return nil, schema.Errorf(schema.KindNotImplemented, "the fake core holds no large objects")
	}
	return v, nil
}
