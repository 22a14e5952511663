package native

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// In-memory fakes of the interfaces the handler takes (deps.go), so the
// handler's own rules can be tested without a log or a projection store.
// fakeState holds services, versions and keys; fakeCore writes into it as
// the core would: one version per change, each with the service's next
// sync id, preconditions checked with schema.Conditions.

func fakeNotFound(what string) error { return schema.Errorf(schema.KindNotFound, "%s not found", what) }

// fakeState implements State (and access.Keys, for the authenticator).
type fakeState struct {
	mu       sync.Mutex
	services map[string]*schema.Service
	versions map[string][]*schema.Version // by service and path, newest first
	keys     map[string]*schema.Key
	accounts map[string]*schema.Account
	changed  chan struct{}
}

func newFakeState() *fakeState {
	return &fakeState{services: map[string]*schema.Service{}, versions: map[string][]*schema.Version{},
		keys: map[string]*schema.Key{}, accounts: map[string]*schema.Account{}, changed: make(chan struct{})}
}

func objectID(service, path string) string { return service + "\x00" + path }

// addService adds a service (a copy of svc).
func (s *fakeState) addService(svc schema.Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[svc.ID] = &svc
}

// addKey adds a key whose value is value.
func (s *fakeState) addKey(k schema.Key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.Lookup = events.LookupHash(value)
	s.keys[k.ID] = &k
}

// apply records v as the newest version of its object, with the
// service's next sync id, and returns it.
func (s *fakeState) apply(v *schema.Version) (*schema.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.services[v.Service]
	if !ok {
		return nil, fakeNotFound("service")
	}
	svc.LastSyncID++
	v.SyncID = svc.LastSyncID
	id := objectID(v.Service, v.Path)
	s.versions[id] = append([]*schema.Version{v}, s.versions[id]...)
	close(s.changed)
	s.changed = make(chan struct{})
	return v, nil
}

func (s *fakeState) history(service, path string) []*schema.Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.versions[objectID(service, path)])
}

func (s *fakeState) Service(_ context.Context, id string) (*schema.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.services[id]
	if !ok {
		return nil, fakeNotFound("service")
	}
	c := *svc
	return &c, nil
}

func (s *fakeState) Services(_ context.Context) ([]*schema.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*schema.Service
	for _, svc := range s.services {
		c := *svc
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Object is the newest version unless it is a deletion (the store keeps
// no live entry for a deleted object).
func (s *fakeState) Object(_ context.Context, service, path string) (*schema.Version, error) {
	h := s.history(service, path)
	if len(h) == 0 || h[0].Deleted {
		return nil, fakeNotFound("file")
	}
	return h[0], nil
}

func (s *fakeState) Head(_ context.Context, service, path string) (*schema.Version, error) {
	h := s.history(service, path)
	if len(h) == 0 {
		return nil, fakeNotFound("file")
	}
	return h[0], nil
}

func (s *fakeState) Version(_ context.Context, service, path, id string) (*schema.Version, error) {
	for _, v := range s.history(service, path) {
		if v.Version == id {
			return v, nil
		}
	}
	return nil, fakeNotFound("version")
}

func (s *fakeState) Versions(_ context.Context, service, path string, limit int) ([]*schema.Version, error) {
	h := s.history(service, path)
	if limit > 0 && len(h) > limit {
		h = h[:limit]
	}
	return h, nil
}

func (s *fakeState) VersionAt(_ context.Context, service, path string, asof uint64) (*schema.Version, error) {
	for _, v := range s.history(service, path) {
		if v.SyncID <= asof {
			return v, nil
		}
	}
	return nil, fakeNotFound("file")
}

// List lists the live files under a prefix in path order (no delimiter,
// no paging: what these tests ask of it).
func (s *fakeState) List(_ context.Context, service string, o projections.ListOptions) (*projections.ListResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &projections.ListResult{}
	for id, h := range s.versions {
		svc, path, _ := strings.Cut(id, "\x00")
		if svc != service || !strings.HasPrefix(path, o.Prefix) {
			continue
		}
		now := o.Now
		if o.AsOf > 0 {
			now = o.AsOfTime
		}
		for _, v := range h {
			if o.AsOf == 0 || v.SyncID <= o.AsOf {
				if v.Live(now) {
					res.Files = append(res.Files, v)
				}
				break
			}
		}
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	return res, nil
}

// MomentOf resolves sync:N (at most the service's last sync id) and RFC
// 3339 times (the newest change at or before it).
func (s *fakeState) MomentOf(_ context.Context, svc *schema.Service, raw string) (projections.Moment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m projections.Moment
	changeTime := func(id uint64) (t time.Time) {
		for k, h := range s.versions {
			if strings.HasPrefix(k, svc.ID+"\x00") {
				for _, v := range h {
					if v.SyncID == id {
						t = v.Time
					}
				}
			}
		}
		return t
	}
	if n, ok := strings.CutPrefix(raw, "sync:"); ok {
		id, err := strconv.ParseUint(n, 10, 64)
		if err != nil || id > s.services[svc.ID].LastSyncID {
			return m, schema.Errorf(schema.KindInvalidArgument, "asof: bad sync id")
		}
		return projections.Moment{SyncID: id, Time: changeTime(id)}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return m, schema.Errorf(schema.KindInvalidArgument, "asof must be an RFC 3339 time or sync:N")
	}
	m.Time = t
	for id := uint64(1); id <= s.services[svc.ID].LastSyncID; id++ {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*schema.Version
	for id, h := range s.versions {
		if strings.HasPrefix(id, service+"\x00") {
			for _, v := range h {
				if v.SyncID > after {
					out = append(out, v)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SyncID < out[j].SyncID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *fakeState) FirstSyncID(_ context.Context, service string) (uint64, error) { return 1, nil }

func (s *fakeState) Key(_ context.Context, id string) (*schema.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[id]; ok {
		return k, nil
	}
	return nil, fakeNotFound("key")
}

func (s *fakeState) KeyByLookup(_ context.Context, lookup string) (*schema.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Lookup == lookup {
			return k, nil
		}
	}
	return nil, fakeNotFound("key")
}

func (s *fakeState) Keys(_ context.Context) ([]*schema.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*schema.Key
	for _, k := range s.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *fakeState) Account(_ context.Context, id string) (*schema.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[id]; ok {
		return a, nil
	}
	return nil, fakeNotFound("account")
}

func (s *fakeState) Accounts(_ context.Context) ([]*schema.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*schema.Account
	for _, a := range s.accounts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *fakeState) Sources(context.Context) ([]*schema.Source, error) { return nil, nil }

// fakeCore implements Core over a fakeState. The file functions are
// implemented; the admin interfaces are embedded and left nil, because
// these tests call no admin function that reaches the core (a call
// would panic and fail the test).
type fakeCore struct {
	ServiceAdmin
	AccountAdmin
	SourceAdmin

	state *fakeState
	mu    sync.Mutex
	now   time.Time         // the clock; tests move it
	blobs map[string][]byte // bytes by version id
	next  int               // version ids: v1, v2, ...
}

func newFakeCore(state *fakeState, now time.Time) *fakeCore {
	return &fakeCore{state: state, now: now, blobs: map[string][]byte{}}
}

func (c *fakeCore) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves the clock on by d.
func (c *fakeCore) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeCore) newVersion(o events.Origin, service, path, op string) *schema.Version {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return &schema.Version{Service: service, Path: path, Version: "v" + strconv.Itoa(c.next), Time: c.now,
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
		return nil, fakeNotFound("file")
	}
	if err := cond.Check(cur); err != nil {
		return nil, err
	}
	v := c.newVersion(o, service, path, "delete")
	v.Deleted = true
	return c.state.apply(v)
}

// blobReader is a version's bytes as a blobstore.Reader.
type blobReader struct{ *bytes.Reader }

func (blobReader) Close() error { return nil }

func (c *fakeCore) Open(_ context.Context, v *schema.Version) (blobstore.Reader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blobs[v.Version]
	if !ok {
		return nil, schema.Errorf(schema.KindInternal, "no bytes for version %s", v.Version)
	}
	return blobReader{bytes.NewReader(b)}, nil
}

// Resolve returns v: these tests hold no large objects.
func (c *fakeCore) Resolve(_ context.Context, v *schema.Version, _ func(*schema.Service) bool) (*schema.Version, error) {
	if len(v.Segments) > 0 {
		return nil, schema.Errorf(schema.KindNotImplemented, "the fake core holds no large objects")
	}
	return v, nil
}

// fakeRequests is a RequestLog keeping what it is given.
type fakeRequests struct {
	mu   sync.Mutex
	reqs map[string][]schema.Request
}

func (l *fakeRequests) RecordRequest(service string, r schema.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reqs == nil {
		l.reqs = map[string][]schema.Request{}
	}
	l.reqs[service] = append(l.reqs[service], r)
}

func (l *fakeRequests) Requests(_ context.Context, service string, limit int) ([]schema.Request, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.reqs[service])
	slices.Reverse(out) // newest first
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
