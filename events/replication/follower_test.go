package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// fakeState is the projections as the follower reads them: services by
// id, one source, and the replica's own changes.
type fakeState struct {
	mu      sync.Mutex
	svcs    map[string]*schema.Service
	changed chan struct{}
}

func newState(svcs ...*schema.Service) *fakeState {
	st := &fakeState{svcs: map[string]*schema.Service{}, changed: make(chan struct{})}
	for _, s := range svcs {
		st.svcs[s.ID] = s
	}
	return st
}

// set replaces a service (nil id: removes it) and wakes the follower.
func (s *fakeState) set(id string, svc *schema.Service) {
	s.mu.Lock()
	if svc == nil {
		delete(s.svcs, id)
	} else {
		s.svcs[id] = svc
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *fakeState) Services(context.Context) ([]*schema.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*schema.Service
	for _, svc := range s.svcs {
		c := *svc
		out = append(out, &c)
	}
	return out, nil
}

func (s *fakeState) Service(_ context.Context, id string) (*schema.Service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.svcs[id]
	if !ok {
		return nil, schema.Errorf(schema.KindNotFound, "no service %s", id)
	}
	c := *svc
	return &c, nil
}

func (s *fakeState) Source(_ context.Context, name string) (*schema.Source, error) {
	return &schema.Source{Name: name, URL: "http://primary.invalid"}, nil
}

func (s *fakeState) Changes(context.Context, string, uint64, int) ([]*schema.Version, error) {
	return nil, nil
}

func (s *fakeState) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// fakeCore records what the follower applies, and moves the replica's
// sync id as the real core would.
type fakeCore struct {
	state   *fakeState
	mu      sync.Mutex
	applied []events.Change
	bodies  []string
	resyncs []resyncCall
	done    chan struct{} // closed at the first resync or when want changes are applied
	want    int
}

type resyncCall struct {
	head  uint64
	files []events.Change
	body  string // the first file's bytes
}

func (c *fakeCore) SourceKey(src *schema.Source) (string, error) { return "key-of-" + src.Name, nil }

func (c *fakeCore) ApplyChange(ctx context.Context, id string, ch events.Change, fetch events.Fetch) error {
	body := ""
	if ch.Op == schema.OpPut {
		rc, err := fetch(ctx)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		body = string(b)
	}
	svc, _ := c.state.Service(ctx, id)
	svc.LastSyncID = ch.SyncID
	c.state.set(id, svc)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied = append(c.applied, ch)
	c.bodies = append(c.bodies, body)
	if len(c.applied) == c.want {
		close(c.done)
	}
	return nil
}

func (c *fakeCore) Resync(ctx context.Context, id string, head uint64, files []events.Change, fetch func(events.Change) events.Fetch) error {
	rc, err := fetch(files[0])(ctx)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	svc, _ := c.state.Service(ctx, id)
	svc.LastSyncID, svc.ResyncedAt = head, head
	c.state.set(id, svc)
	c.mu.Lock()
	c.resyncs = append(c.resyncs, resyncCall{head: head, files: files, body: string(b)})
	n := len(c.resyncs)
	c.mu.Unlock()
	if n == 1 {
		close(c.done)
	}
	return nil
}

// fakePrimary answers from a list of updates and files.
type fakePrimary struct {
	mu        sync.Mutex
	updates   []schema.Update
	files     []schema.FileEntry
	truncated uint64 // history before this sync id is gone (0: all kept)
	keys      []string
	pages     []schema.FileListQuery
}

func (p *fakePrimary) SyncNext(ctx context.Context, sid string, after uint64, limit int, wait time.Duration) (*schema.SyncPage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sid != "primary-sid" {
		return nil, schema.Errorf(schema.KindNotFound, "no service %s", sid)
	}
	if p.truncated > 0 && after+1 < p.truncated {
		return nil, fmt.Errorf("primary: %w", schema.Errorf(schema.KindHistoryTruncated, "history before %d is gone", p.truncated))
	}
	last := uint64(len(p.updates))
	page := &schema.SyncPage{LastSyncID: last}
	for _, u := range p.updates {
		if u.SyncID > after && len(page.Updates) < limit {
			page.Updates = append(page.Updates, u)
		}
	}
	if len(page.Updates) == 0 && wait > 0 {
		select { // a long poll with nothing new: wait for the end
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	return page, nil
}

func (p *fakePrimary) FileList(_ context.Context, sid string, o schema.FileListQuery) (*schema.FileList, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages = append(p.pages, o)
	var page schema.FileList
	for _, f := range p.files {
		if f.Path > o.After && len(page.Files) < 1 { // one file a page: paging is exercised
			page.Files = append(page.Files, f)
		}
	}
	if len(page.Files) > 0 && page.Files[0].Path != p.files[len(p.files)-1].Path {
		next := page.Files[0].Path
		page.Next = &next
	}
	return &page, nil
}

func (p *fakePrimary) GetFile(_ context.Context, sid, path, version string) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("bytes of " + path + "@" + version))}, nil
}

func replicaService(id string, last uint64) *schema.Service {
	return &schema.Service{ID: id, Type: schema.ServiceStorage, LastSyncID: last,
		Settings: schema.ServiceSettings{Replica: &schema.ReplicaOf{Source: "prim", SID: "primary-sid"}}}
}

// start runs a follower over state, core and primary until the test ends.
func start(t *testing.T, state *fakeState, core *fakeCore, p *fakePrimary) *Follower {
	t.Helper()
	f := New(core, state, Options{Wait: time.Second, Connect: func(src *schema.Source, key string) Primary {
		p.mu.Lock()
		p.keys = append(p.keys, key)
		p.mu.Unlock()
		return p
	}})
	f.Start()
	t.Cleanup(func() { f.Close() })
	return f
}

func waitDone(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("the follower did not get there in 10s")
	}
}

func TestFollower_AppliesChanges(t *testing.T) {
	state := newState(replicaService("rep", 0), &schema.Service{ID: "plain", Type: schema.ServiceStorage})
	core := &fakeCore{state: state, done: make(chan struct{}), want: 2}
	p := &fakePrimary{updates: []schema.Update{
		{SyncID: 1, Time: "2026-01-02T03:04:05.123456789Z", Op: schema.OpPut, Path: "a.txt", Version: "v1", Size: 10,
			Segments: []schema.UpdateSegment{{Service: "s", Path: "seg", Size: 10, SHA256: "ab"}}},
		{SyncID: 2, Time: "2026-01-02T03:04:06Z", Op: schema.OpDelete, Path: "a.txt", Version: "v2"},
	}}
	f := start(t, state, core, p)
	waitDone(t, core.done)

	core.mu.Lock()
	applied, bodies := core.applied, core.bodies
	core.mu.Unlock()
	if len(applied) != 2 || applied[0].Path != "a.txt" || applied[0].Version != "v1" || applied[1].Op != schema.OpDelete {
		t.Fatalf("applied %+v", applied)
	}
	if want := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC); !applied[0].Time.Equal(want) {
		t.Errorf("change time %s, want %s", applied[0].Time, want)
	}
	if len(applied[0].Segments) != 1 || applied[0].Segments[0].SHA256 != "ab" {
		t.Errorf("segments %+v", applied[0].Segments)
	}
	if bodies[0] != "bytes of a.txt@v1" {
		t.Errorf("fetched %q", bodies[0])
	}
	p.mu.Lock()
	key := p.keys[0]
	p.mu.Unlock()
	if key != "key-of-prim" {
		t.Errorf("connected with key %q", key)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, ok := f.ReplicaStatus("rep")
		if ok && st.LastResult == "ok" && st.PrimarySyncID == 2 && st.Behind == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v (%v), want ok and caught up", st, ok)
		}
		select { // the follower's steps move the replica; its status may be set after the last of them
		case <-state.Changed():
		case <-time.After(reconcileEvery):
		}
	}
	if _, ok := f.ReplicaStatus("plain"); ok {
		t.Errorf("a service that is not a replica has a status")
	}

	// No longer a replica (promoted): its loop stops and its status goes.
	promoted := replicaService("rep", 2)
	promoted.Settings.Replica = nil
	state.set("rep", promoted)
	for {
		if _, ok := f.ReplicaStatus("rep"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the promoted service still has a replica status")
		}
		select {
		case <-state.Changed():
		case <-time.After(reconcileEvery):
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFollower_ResyncsWhenHistoryTruncated(t *testing.T) {
	state := newState(replicaService("rep", 3))
	core := &fakeCore{state: state, done: make(chan struct{})}
	p := &fakePrimary{truncated: 9,
		files: []schema.FileEntry{
			{Path: "a", Version: "va", Size: 1, ETag: "ea", ContentType: "text/plain", Modified: "2026-01-01T00:00:00Z"},
			{Path: "b", Version: "vb", Size: 2, Modified: "2026-01-01T00:00:01Z"},
			{Path: "c", Version: "vc", Size: 3, Modified: "2026-01-01T00:00:02Z"},
		}}
	for i := range 12 {
		p.updates = append(p.updates, schema.Update{SyncID: uint64(i + 1), Time: "2026-01-01T00:00:00Z", Op: schema.OpPut, Path: "x"})
	}
	f := start(t, state, core, p)
	waitDone(t, core.done)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	core.mu.Lock()
	r := core.resyncs[0]
	core.mu.Unlock()
	if r.head != 12 || len(r.files) != 3 || r.files[1].Path != "b" || r.files[0].ContentType != "text/plain" ||
		r.files[2].Op != schema.OpPut || r.files[2].Actor != schema.ActorSystem || !r.files[1].Time.Equal(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)) {
		t.Errorf("resync to %d with %+v", r.head, r.files)
	}
	if r.body != "bytes of a@va" {
		t.Errorf("the resync fetched %q", r.body)
	}
	p.mu.Lock()
	pages := p.pages
	p.mu.Unlock()
	if len(pages) != 3 || pages[0].AsOf != "sync:12" || pages[1].After != "a" || pages[2].After != "b" {
		t.Errorf("filelist pages %+v: want three, as of sync:12, each after the last", pages)
	}
	st, ok := f.ReplicaStatus("rep")
	if !ok || st.Resyncs != 1 {
		t.Errorf("status %+v: want one resync", st)
	}
}

func TestChangesOf_BadTime(t *testing.T) {
	_, err := changesOf([]schema.Update{{SyncID: 4, Time: "yesterday"}})
	if err == nil || !strings.Contains(err.Error(), "change 4") {
		t.Errorf("a change with a bad time: %v", err)
	}
	var pe *time.ParseError
	if !errors.As(err, &pe) {
		t.Errorf("the cause is not kept: %v", err)
	}
}
