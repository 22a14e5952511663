package s3

import (
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
	"github.com/cairnhq/cairn/handlers/fakes"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// world is the in-memory state behind the fakes: fakeState answers the
// queries (State, and access.Keys for the authenticator), fakeCore the
// commands (Core). A command changes the world before it returns, as the
// real core replies only once its projections have applied the change.
type world struct {
	*fakes.Catalog
	fakes.Histories
	mu      sync.Mutex
	now     time.Time
	secrets map[string]string // key id -> secret value
	blobs   map[string][]byte // version id -> bytes
	sync    uint64            // the last sync id handed out (one sequence for all services)
	calls   []string          // the commands the core received, in order
}

func newWorld(now time.Time) *world {
	return &world{Catalog: fakes.NewCatalog(), now: now, secrets: map[string]string{}, blobs: map[string][]byte{}}
}

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
	w.Add(v)
	_, _ = w.UpdateService(service, func(svc *schema.Service) error { // a version of no service is allowed
		svc.LastSyncID = w.sync
		return nil
	})
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
type fakeState struct{ *world }

// List lists the live objects of service under o.Prefix, in path order
// (no delimiter, no point in time).
func (s fakeState) List(_ context.Context, service string, o projections.ListOptions) (*projections.ListResult, error) {
	if o.Delimiter != "" || o.AsOf != 0 {
		return nil, notImplemented("listings with a delimiter or a moment")
	}
	res := &projections.ListResult{}
	for _, path := range s.Paths(service) {
		if vs := s.History(service, path); strings.HasPrefix(path, o.Prefix) && path > o.After && vs[0].Live(o.Now) {
			res.Files = append(res.Files, vs[0])
		}
	}
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
	m := projections.Moment{SyncID: id}
	for _, v := range s.Select("", func(v *schema.Version) bool { return v.SyncID == id }) {
		m.Time = v.Time
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
	if vs := w.History(service, path); len(vs) > 0 && vs[0].Live(w.now) {
		return vs[0]
	}
	return nil
}

// MaxObjectSize is S3's: 5 GiB.
func (c fakeCore) MaxObjectSize() int64 { return MaxObjectSize }

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
	for _, src := range c.w.History(in.From.Service, in.From.Path) {
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
		return nil, fakes.NotFound("file")
	}
	return c.w.addLocked(service, path, nil, nil), nil
}

func (c fakeCore) PurgeVersion(_ context.Context, o events.Origin, service, path, version string) (*schema.Version, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.w.record("PurgeVersion", o, service, path)
	if gone := c.w.Remove(service, path, version); gone != nil {
		return gone, nil
	}
	return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchVersion, "version not found")
}

func (c fakeCore) Open(_ context.Context, v *schema.Version) (blobstore.Reader, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	b, ok := c.w.blobs[v.Version]
	if !ok {
		return nil, schema.Errorf(schema.KindInternal, "no bytes for version %s", v.Version)
	}
	return fakes.NewReader(b), nil
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

func (c fakeCore) CreateContainer(_ context.Context, o events.Origin, name string, in events.ServiceInput) (*schema.Service, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.w.record("CreateService", o, name, "")
	return c.w.CreateContainer(schema.Service{Account: in.Account, Name: in.Name, Type: in.Type, Settings: in.Settings, Created: c.w.now}, name)
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
