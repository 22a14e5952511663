package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// world is the in-memory state behind the fakes: fakeState answers the
// queries (State, and access.Keys for the authenticator), fakeCore the
// commands (Core). A command changes the world before it returns, as the
// real core replies only once its projections have applied the change.
type world struct {
	mu       sync.Mutex
	now      time.Time
	services map[string]*schema.Service
	keys     map[string]*schema.Key
	secrets  map[string]string            // key id -> secret value
	versions map[string][]*schema.Version // service+"\x00"+path -> newest first
	blobs    map[string][]byte            // version id -> bytes
	sync     uint64                       // the last sync id handed out (one sequence for all services)
	calls    []string                     // the commands the core received, in order
}

func newWorld(now time.Time) *world {
	return &world{now: now, services: map[string]*schema.Service{}, keys: map[string]*schema.Key{},
		secrets: map[string]string{}, versions: map[string][]*schema.Version{}, blobs: map[string][]byte{}}
}

func objectKey(service, path string) string { return service + "\x00" + path }

func notImplemented(what string) error {
	return schema.Errorf(schema.KindNotImplemented, "the fake does not do %s", what)
}

// add stores a new newest version of service/path (a delete marker when
// body is nil) one second after the previous change, and returns it.
// mod may adjust the version before it is stored.
func (w *world) add(service, path string, body []byte, mod func(*schema.Version)) *schema.Version {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addLocked(service, path, body, mod)
}

func (w *world) addLocked(service, path string, body []byte, mod func(*schema.Version)) *schema.Version {
	w.sync++
	w.now = w.now.Add(time.Second)
	v := &schema.Version{Service: service, Path: path, Version: "v" + strconv.FormatUint(w.sync, 10),
		SyncID: w.sync, Time: w.now, Op: "put"}
	if body == nil {
		v.Deleted, v.Op = true, "delete"
	} else {
		sum := md5.Sum(body)
		v.ETag, v.Size, v.ContentType = hex.EncodeToString(sum[:]), int64(len(body)), "text/plain"
		w.blobs[v.Version] = body
	}
	if mod != nil {
		mod(v)
	}
	k := objectKey(service, path)
	w.versions[k] = append([]*schema.Version{v}, w.versions[k]...)
	if svc := w.services[service]; svc != nil {
		svc.LastSyncID = w.sync
	}
	return v
}

// called reports the commands the core received.
func (w *world) called() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

func (w *world) record(op string, o events.Origin, service, path string) {
	w.calls = append(w.calls, fmt.Sprintf("%s %s/%s by %s via %s", op, service, path, o.Actor.KeyID, o.Actor.Dialect))
}

// fakeState is the projections' side of the world.
type fakeState struct{ w *world }

func (s fakeState) Service(_ context.Context, id string) (*schema.Service, error) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	svc, ok := s.w.services[id]
	if !ok {
		return nil, schema.Errorf(schema.KindNotFound, "service not found")
	}
	cp := *svc
	return &cp, nil
}

func (s fakeState) Services(_ context.Context) ([]*schema.Service, error) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	var out []*schema.Service
	for _, svc := range s.w.services {
		cp := *svc
		out = append(out, &cp)
	}
	slices.SortFunc(out, func(a, b *schema.Service) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s fakeState) Key(_ context.Context, id string) (*schema.Key, error) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	if k, ok := s.w.keys[id]; ok {
		return k, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "key not found")
}

func (s fakeState) KeyByLookup(context.Context, string) (*schema.Key, error) {
	return nil, notImplemented("key lookups by value")
}

// history is path's versions, newest first.
func (s fakeState) history(service, path string) []*schema.Version {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return slices.Clone(s.w.versions[objectKey(service, path)])
}

func notFound() error { return schema.Errorf(schema.KindNotFound, "file not found") }

func (s fakeState) Object(_ context.Context, service, path string) (*schema.Version, error) {
	if vs := s.history(service, path); len(vs) > 0 && !vs[0].Deleted {
		return vs[0], nil
	}
	return nil, notFound()
}

func (s fakeState) Head(_ context.Context, service, path string) (*schema.Version, error) {
	if vs := s.history(service, path); len(vs) > 0 {
		return vs[0], nil
	}
	return nil, notFound()
}

func (s fakeState) Version(_ context.Context, service, path, id string) (*schema.Version, error) {
	for _, v := range s.history(service, path) {
		if v.Version == id {
			return v, nil
		}
	}
	return nil, schema.Errorf(schema.KindNotFound, "version not found")
}

func (s fakeState) Versions(_ context.Context, service, path string, limit int) ([]*schema.Version, error) {
	vs := s.history(service, path)
	if limit > 0 && len(vs) > limit {
		vs = vs[:limit]
	}
	return vs, nil
}

func (s fakeState) VersionAt(_ context.Context, service, path string, asof uint64) (*schema.Version, error) {
	for _, v := range s.history(service, path) {
		if v.SyncID <= asof {
			return v, nil
		}
	}
	return nil, notFound()
}

// List lists the live objects of service under o.Prefix, in path order
// (no delimiter, no point in time).
func (s fakeState) List(_ context.Context, service string, o projections.ListOptions) (*projections.ListResult, error) {
	if o.Delimiter != "" || o.AsOf != 0 {
		return nil, notImplemented("listings with a delimiter or a moment")
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	res := &projections.ListResult{}
	for k, vs := range s.w.versions {
		svc, path, _ := strings.Cut(k, "\x00")
		if svc == service && strings.HasPrefix(path, o.Prefix) && path > o.After && vs[0].Live(o.Now) {
			res.Files = append(res.Files, vs[0])
		}
	}
	slices.SortFunc(res.Files, func(a, b *schema.Version) int { return strings.Compare(a.Path, b.Path) })
	if o.Limit > 0 && len(res.Files) > o.Limit {
		res.Files, res.Truncated = res.Files[:o.Limit], true
		res.Next = res.Files[o.Limit-1].Path
	}
	return res, nil
}

func (s fakeState) ListVersions(context.Context, string, projections.VersionListOptions) (*projections.VersionListResult, error) {
	return nil, notImplemented("version listings")
}

func (s fakeState) Uploads(context.Context, string) ([]*schema.Upload, error) {
	return nil, notImplemented("upload listings")
}

// MomentOf resolves sync:N (N up to the service's last sync id) to the
// state after change N.
func (s fakeState) MomentOf(_ context.Context, svc *schema.Service, raw string) (projections.Moment, error) {
	n, ok := strings.CutPrefix(raw, "sync:")
	id, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || id > svc.LastSyncID {
		return projections.Moment{}, schema.Errorf(schema.KindInvalidArgument, "asof: the fake reads sync:N only")
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	m := projections.Moment{SyncID: id}
	for _, vs := range s.w.versions {
		for _, v := range vs {
			if v.SyncID == id {
				m.Time = v.Time
			}
		}
	}
	return m, nil
}

// fakeCore is the core's side of the world: it runs the object commands
// the tests need and refuses the others with KindNotImplemented.
type fakeCore struct{ w *world }

func (c fakeCore) Now() time.Time {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.w.now
}

func (c fakeCore) KeySecret(k *schema.Key) (string, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.w.secrets[k.ID], nil
}

// live is path's live version (nil: none), with the lock held.
func (w *world) live(service, path string) *schema.Version {
	if vs := w.versions[objectKey(service, path)]; len(vs) > 0 && vs[0].Live(w.now) {
		return vs[0]
	}
	return nil
}

func (c fakeCore) PutObject(_ context.Context, o events.Origin, in events.PutInput) (*schema.Version, error) {
	body, err := io.ReadAll(in.Body) // the S3 body verifies its signature as it is read
	if err != nil {
		return nil, err
	}
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.w.record("PutObject", o, in.Service, in.Path)
	if err := in.Cond.Check(c.w.live(in.Service, in.Path)); err != nil {
		return nil, err
	}
	return c.w.addLocked(in.Service, in.Path, body, func(v *schema.Version) {
		v.ContentType, v.Meta, v.Headers, v.Actor = in.ContentType, in.Meta, in.Headers, o.Actor.KeyID
	}), nil
}

func (c fakeCore) CopyObject(_ context.Context, o events.Origin, in events.CopyInput) (*schema.Version, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.w.record("CopyObject", o, in.Service, in.Path)
	if err := in.Cond.Check(c.w.live(in.Service, in.Path)); err != nil {
		return nil, err
	}
	for _, src := range c.w.versions[objectKey(in.From.Service, in.From.Path)] {
		if src.Version == in.From.Version {
			return c.w.addLocked(in.Service, in.Path, c.w.blobs[src.Version], func(v *schema.Version) {
				v.ContentType, v.Meta, v.Headers = src.ContentType, src.Meta, src.Headers
			}), nil
		}
	}
	return nil, schema.Errorf(schema.KindNotFound, "copy source not found")
}

func (c fakeCore) DeleteObject(_ context.Context, o events.Origin, service, path string, cond schema.Conditions) (*schema.Version, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.w.record("DeleteObject", o, service, path)
	cur := c.w.live(service, path)
	if err := cond.Check(cur); err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, notFound()
	}
	return c.w.addLocked(service, path, nil, nil), nil
}

func (c fakeCore) PurgeVersion(_ context.Context, o events.Origin, service, path, version string) (*schema.Version, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.w.record("PurgeVersion", o, service, path)
	k := objectKey(service, path)
	vs := c.w.versions[k]
	i := slices.IndexFunc(vs, func(v *schema.Version) bool { return v.Version == version })
	if i < 0 {
		return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchVersion, "version not found")
	}
	gone := vs[i]
	c.w.versions[k] = slices.Delete(slices.Clone(vs), i, i+1)
	return gone, nil
}

type reader struct{ *bytes.Reader }

func (reader) Close() error { return nil }

func (c fakeCore) Open(_ context.Context, v *schema.Version) (blobstore.Reader, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	b, ok := c.w.blobs[v.Version]
	if !ok {
		return nil, schema.Errorf(schema.KindInternal, "no bytes for version %s", v.Version)
	}
	return reader{bytes.NewReader(b)}, nil
}

// Resolve serves every version as itself: the fake has no large objects.
func (c fakeCore) Resolve(_ context.Context, v *schema.Version, _ func(*schema.Service) bool) (*schema.Version, error) {
	return v, nil
}

func (c fakeCore) CreateUpload(context.Context, events.Origin, events.UploadInput) (*schema.Upload, error) {
	return nil, notImplemented("uploads")
}

func (c fakeCore) Upload(context.Context, string, string) (*schema.Upload, error) {
	return nil, notImplemented("uploads")
}

func (c fakeCore) PutPart(context.Context, events.Origin, string, string, int, io.Reader) (*schema.Part, error) {
	return nil, notImplemented("uploads")
}

func (c fakeCore) Parts(context.Context, string, string) ([]*schema.Part, error) {
	return nil, notImplemented("uploads")
}

func (c fakeCore) CompleteUpload(context.Context, events.Origin, string, string, []events.CompletePart, schema.Conditions) (*schema.Version, error) {
	return nil, notImplemented("uploads")
}

func (c fakeCore) AbortUpload(context.Context, events.Origin, string, string) error {
	return notImplemented("uploads")
}

func (c fakeCore) CreateService(_ context.Context, o events.Origin, in events.ServiceInput) (*schema.Service, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.w.record("CreateService", o, in.ID, "")
	if _, ok := c.w.services[in.ID]; ok {
		return nil, schema.Errorf(schema.KindAlreadyExists, "service exists")
	}
	svc := &schema.Service{ID: in.ID, Account: in.Account, Name: in.Name, Type: in.Type, Settings: in.Settings, Created: c.w.now}
	c.w.services[in.ID] = svc
	cp := *svc
	return &cp, nil
}

func (c fakeCore) UpdateService(context.Context, events.Origin, string, func(*schema.Service) error) (*schema.Service, error) {
	return nil, notImplemented("service updates")
}

func (c fakeCore) DeleteService(context.Context, events.Origin, string) error {
	return notImplemented("service deletes")
}

var (
	_ Core  = fakeCore{}
	_ State = fakeState{}
)
