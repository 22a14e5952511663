package swift

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

// The fakes are what the dialect declares.
var (
	_ Core  = (*fakeCore)(nil)
	_ State = (*fakeState)(nil)
)

// fakeState is an in-memory State: accounts, containers, keys and every
// version of every object, each change with the next sync id.
type fakeState struct {
	*fakes.Catalog
	fakes.Histories
	mu     sync.Mutex
	base   time.Time // the time of sync id 0; change n happens n seconds later
	syncID uint64
}

func newFakeState(base time.Time) *fakeState {
	return &fakeState{Catalog: fakes.NewCatalog(), base: base}
}

// add records v as the next change of its object and returns it.
func (s *fakeState) add(v *schema.Version) *schema.Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncID++
	v.SyncID, v.Seq = s.syncID, s.syncID
	v.Version = "v" + strconv.FormatUint(s.syncID, 10)
	v.Time = s.base.Add(time.Duration(s.syncID) * time.Second)
	s.Add(v)
	return v
}

// put adds a version of service/path holding body.
func (s *fakeState) put(service, path, body string) *schema.Version {
	sum := md5.Sum([]byte(body))
	return s.add(&schema.Version{Service: service, Path: path, Op: "put", Size: int64(len(body)),
		ETag: hex.EncodeToString(sum[:]), ContentType: "text/plain", Blob: schema.BlobRef{Inline: []byte(body)}})
}

// remove adds a delete marker for service/path.
func (s *fakeState) remove(service, path string) *schema.Version {
	return s.add(&schema.Version{Service: service, Path: path, Op: "delete", Deleted: true})
}

// List lists the newest version of each path (as of o.AsOf when set)
// that is live, in path order; delimiters are not folded.
func (s *fakeState) List(ctx context.Context, service string, o projections.ListOptions) (*projections.ListResult, error) {
	res := &projections.ListResult{}
	for _, p := range s.Paths(service) {
		if !strings.HasPrefix(p, o.Prefix) || p <= o.After {
			continue
		}
		var v *schema.Version
		var err error
		now := o.Now
		if o.AsOf > 0 {
			v, err = s.VersionAt(ctx, service, p, o.AsOf)
			now = o.AsOfTime
		} else {
			v, err = s.Head(ctx, service, p)
		}
		if err != nil || !v.Live(now) {
			continue
		}
		res.Files = append(res.Files, v)
	}
	return res, nil
}

// MomentOf reads "sync:N" only: the moment of change N.
func (s *fakeState) MomentOf(_ context.Context, _ *schema.Service, raw string) (projections.Moment, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(raw, "sync:"), 10, 64)
	if err != nil || !strings.HasPrefix(raw, "sync:") {
		return projections.Moment{}, schema.Errorf(schema.KindInvalidArgument, "bad moment %q", raw)
	}
	return projections.Moment{SyncID: n, Time: s.base.Add(time.Duration(n) * time.Second)}, nil
}

// fakeCore is an in-memory Core over a fakeState: writes become versions
// at once, bytes live in the versions (inline), tokens in a map. It
// records the writes it was asked for.
type fakeCore struct {
	st  *fakeState
	now time.Time

	mu     sync.Mutex
	tokens map[string]string // token -> key id
	calls  []string          // "Method service/path" of every write
}

func (c *fakeCore) called(method, target string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, method+" "+target)
}

// writes returns the writes the core was asked for.
func (c *fakeCore) writes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// RevealMeta returns meta as it is: the fake keeps metadata in clear (the
// real core's sealing is tested in events and e2e).
func (c *fakeCore) RevealMeta(meta map[string]string) map[string]string { return meta }

func (c *fakeCore) Now() time.Time       { return c.now }
func (c *fakeCore) MaxObjectSize() int64 { return 1 << 20 }

func (c *fakeCore) IssueToken(_ context.Context, _ events.Origin, keyID, _ string) (string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	token := fmt.Sprintf("tk_issued_%d", len(c.tokens))
	c.tokens[token] = keyID
	return token, c.now.Add(events.TokenTTL), nil
}

func (c *fakeCore) TokenKey(_ context.Context, token string) (string, time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id, ok := c.tokens[token]; ok {
		return id, c.now.Add(time.Hour), nil
	}
	return "", time.Time{}, schema.Errorf(schema.KindUnauthorized, "invalid or expired token")
}

// storage returns service id when it is a storage service.
func (c *fakeCore) storage(ctx context.Context, id string) (*schema.Service, error) {
	svc, err := c.st.Service(ctx, id)
	if err == nil && svc.Type != schema.ServiceStorage {
		return nil, schema.Errorf(schema.KindMethodNotAllowed, "not a storage service")
	}
	return svc, err
}

// live is the current live version of service/path, nil when none.
func (c *fakeCore) live(ctx context.Context, service, path string) *schema.Version {
	v, err := c.st.Object(ctx, service, path)
	if err != nil || !v.Live(c.now) {
		return nil
	}
	return v
}

func (c *fakeCore) PutObject(ctx context.Context, _ events.Origin, in events.PutInput) (*schema.Version, error) {
	c.called("PutObject", in.Service+"/"+in.Path)
	if _, err := c.storage(ctx, in.Service); err != nil {
		return nil, err
	}
	if err := in.Cond.Check(c.live(ctx, in.Service, in.Path)); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	v := c.st.put(in.Service, in.Path, string(body))
	v.ContentType, v.Meta, v.Headers, v.DeleteAt = in.ContentType, in.Meta, in.Headers, in.DeleteAt
	return v, nil
}

func (c *fakeCore) PutLarge(ctx context.Context, _ events.Origin, in events.LargeInput) (*schema.Version, error) {
	c.called("PutLarge", in.Service+"/"+in.Path)
	var bad []events.BadSegment
	var segs []schema.Segment
	for i, sg := range in.Segments {
		v := c.live(ctx, sg.Service, sg.Path)
		if v == nil {
			bad = append(bad, events.BadSegment{Index: i, Service: sg.Service, Path: sg.Path, Problem: events.SegmentMissing})
			continue
		}
		segs = append(segs, schema.Segment{Service: v.Service, Path: v.Path, Version: v.Version, Size: v.Size, ETag: v.ETag})
	}
	if len(bad) > 0 {
		return nil, &events.SegmentsError{Bad: bad}
	}
	// Swift's large-object ETag: the MD5 of the segments' ETags
	h := md5.New()
	var size int64
	for _, sg := range segs {
		io.WriteString(h, sg.ETag)
		size += sg.Size
	}
	return c.st.add(&schema.Version{Service: in.Service, Path: in.Path, Op: "put", Segments: segs, Size: size,
		ETag: hex.EncodeToString(h.Sum(nil)), ContentType: in.ContentType}), nil
}

func (c *fakeCore) CopyObject(ctx context.Context, _ events.Origin, in events.CopyInput) (*schema.Version, error) {
	c.called("CopyObject", in.Service+"/"+in.Path)
	src := c.live(ctx, in.From.Service, in.From.Path)
	if src == nil {
		return nil, fakes.NotFound("file")
	}
	v := *src
	v.Path, v.Service, v.ContentType, v.Meta, v.Headers, v.DeleteAt = in.Path, in.Service, in.ContentType, in.Meta, in.Headers, in.DeleteAt
	return c.st.add(&v), nil
}

func (c *fakeCore) UpdateMeta(ctx context.Context, _ events.Origin, in events.MetaInput) (*schema.Version, error) {
	c.called("UpdateMeta", in.Service+"/"+in.Path)
	cur := c.live(ctx, in.Service, in.Path)
	if cur == nil {
		return nil, fakes.NotFound("file")
	}
	v := *cur
	v.ContentType, v.Meta, v.Headers, v.DeleteAt = in.ContentType, in.Meta, in.Headers, in.DeleteAt
	return c.st.add(&v), nil
}

func (c *fakeCore) DeleteObject(ctx context.Context, _ events.Origin, service, path string, cond schema.Conditions) (*schema.Version, error) {
	c.called("DeleteObject", service+"/"+path)
	if _, err := c.storage(ctx, service); err != nil {
		return nil, err
	}
	cur := c.live(ctx, service, path)
	if cur == nil {
		return nil, fakes.NotFound("file")
	}
	if err := cond.Check(cur); err != nil {
		return nil, err
	}
	return c.st.remove(service, path), nil
}

// Resolve serves versions as they are: the fake holds no dynamic large
// objects.
func (c *fakeCore) Resolve(_ context.Context, v *schema.Version, _ func(*schema.Service) bool) (*schema.Version, error) {
	if v.Headers[events.ManifestHeader] != "" {
		return nil, schema.Errorf(schema.KindNotImplemented, "the fake core holds no dynamic large objects")
	}
	return v, nil
}

func (c *fakeCore) Open(_ context.Context, v *schema.Version) (blobstore.Reader, error) {
	return fakes.NewReader(v.Blob.Inline), nil
}

func (c *fakeCore) CreateService(_ context.Context, _ events.Origin, in events.ServiceInput) (*schema.Service, error) {
	c.called("CreateService", in.ID)
	return c.st.CreateService(schema.Service{ID: in.ID, Account: in.Account, Type: schema.ServiceStorage, Settings: in.Settings, Created: c.now})
}

func (c *fakeCore) CreateContainer(_ context.Context, _ events.Origin, name string, in events.ServiceInput) (*schema.Service, error) {
	c.called("CreateService", name)
	return c.st.CreateContainer(schema.Service{Account: in.Account, Type: schema.ServiceStorage, Settings: in.Settings, Created: c.now}, name)
}

func (c *fakeCore) UpdateService(_ context.Context, _ events.Origin, id string, update func(*schema.Service) error) (*schema.Service, error) {
	c.called("UpdateService", id)
	return c.st.Catalog.UpdateService(id, update)
}

func (c *fakeCore) SetServiceQuota(ctx context.Context, o events.Origin, id string, bytes, count int64) (*schema.Service, error) {
	return c.UpdateService(ctx, o, id, func(s *schema.Service) error {
		s.QuotaBytes, s.QuotaCount = bytes, count
		return nil
	})
}

func (c *fakeCore) DeleteService(ctx context.Context, _ events.Origin, id string) error {
	c.called("DeleteService", id)
	objects, err := c.st.List(ctx, id, projections.ListOptions{Now: c.now})
	if err != nil {
		return err
	}
	if len(objects.Files) > 0 {
		return schema.Errorf(schema.KindConflict, "the service holds objects")
	}
	return c.st.Catalog.DeleteService(id)
}

func (c *fakeCore) UpdateAccount(_ context.Context, _ events.Origin, id string, update func(*schema.Account) error) (*schema.Account, error) {
	c.called("UpdateAccount", id)
	return c.st.Catalog.UpdateAccount(id, update)
}

func (c *fakeCore) SetAccountQuota(ctx context.Context, o events.Origin, id string, bytes int64) (*schema.Account, error) {
	return c.UpdateAccount(ctx, o, id, func(a *schema.Account) error {
		a.QuotaBytes = bytes
		return nil
	})
}

// statuses are the requests the log kept, as "service status".
func statuses(l *fakes.Requests) []string {
	var out []string
	l.Each(func(service string, r schema.Request) { out = append(out, service+" "+strconv.Itoa(r.Status)) })
	return out
}
