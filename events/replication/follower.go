package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// Primary is what a follower asks of a primary server, through one key
// there. The native client (handlers/native/client.Client) implements it.
type Primary interface {
	// SyncNext returns the service's changes after a sync id, waiting up
	// to wait for one; history the primary no longer keeps is an error of
	// kind schema.KindHistoryTruncated.
	SyncNext(ctx context.Context, sid string, after uint64, limit int, wait time.Duration) (*schema.SyncPage, error)
	// FileList returns one page of the service's files.
	FileList(ctx context.Context, sid string, q schema.FileListQuery) (*schema.FileList, error)
	// GetFile returns the bytes of one version of a file.
	GetFile(ctx context.Context, sid, path, version string) (*http.Response, error)
}

// Core is what a follower asks of the core: the key of a source, and the
// two ways a replica changes.
type Core interface {
	SourceKey(src *schema.Source) (string, error)
	ApplyChange(ctx context.Context, id string, c events.Change, fetch events.Fetch) error
	Resync(ctx context.Context, id string, primarySyncID uint64, files []events.Change, fetch func(events.Change) events.Fetch) error
}

var _ Core = (*events.Core)(nil)

// State is what a follower reads of the projections.
type State interface {
	Services(ctx context.Context) ([]*schema.Service, error)
	Service(ctx context.Context, id string) (*schema.Service, error)
	Source(ctx context.Context, name string) (*schema.Source, error)
	Changes(ctx context.Context, service string, after uint64, limit int) ([]*schema.Version, error)
	// Changed is closed at the next applied batch.
	Changed() <-chan struct{}
}

// Options configures a Follower.
type Options struct {
	// Wait is how long each syncnext long poll may wait (whole seconds,
	// at most a minute).
	Wait time.Duration
	// Connect returns the Primary of a source, reached with key (the
	// command wires the native client here). Required.
	Connect func(src *schema.Source, key string) Primary
	// Log receives the follower's warnings (nil: discarded).
	Log *slog.Logger
}

// The pace of the loops.
const (
	reconcileEvery = 250 * time.Millisecond // besides every applied batch
	pageSize       = 500                    // changes per syncnext
	filePageSize   = 10000                  // files per filelist, in a resync
	minBackoff     = 200 * time.Millisecond
	maxBackoff     = 10 * time.Second
)

// Follower runs one loop per replica service, from Start until Close.
type Follower struct {
	core    Core
	state   State
	log     *slog.Logger
	wait    time.Duration
	connect func(src *schema.Source, key string) Primary

	mu     sync.Mutex
	loops  map[string]context.CancelFunc
	status map[string]*schema.ReplicaLag
	cancel context.CancelFunc
	wg     sync.WaitGroup // the reconciler and every loop
}

// New returns a Follower of the replicas among state's services. It does
// nothing until Start.
func New(core Core, state State, o Options) *Follower {
	f := &Follower{core: core, state: state, log: o.Log, wait: o.Wait, connect: o.Connect,
		loops: map[string]context.CancelFunc{}, status: map[string]*schema.ReplicaLag{}}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.connect == nil {
		f.connect = func(*schema.Source, string) Primary { return noPrimary{} }
	}
	return f
}

// Start begins following: a goroutine that starts and stops a loop per
// replica as services become and stop being replicas, until Close. Call
// it once.
func (f *Follower) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.mu.Lock()
	f.cancel = cancel
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.monitor(ctx)
	}()
}

// Close stops every loop and waits for them. A change being applied is
// abandoned with its context; the core appends it whole or not at all.
func (f *Follower) Close() error {
	f.mu.Lock()
	cancel := f.cancel
	f.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	f.wg.Wait()
	return nil
}

// ReplicaStatus implements native.ReplicaStatus: what the follower knows
// of replica sid's lag.
func (f *Follower) ReplicaStatus(sid string) (schema.ReplicaLag, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.status[sid]
	if !ok {
		return schema.ReplicaLag{}, false
	}
	return *st, true
}

// update changes replica sid's status. A loop that reconcile has just
// stopped may still report its last step: that is dropped, so a service
// that stopped being a replica keeps no status.
func (f *Follower) update(sid string, fn func(*schema.ReplicaLag)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, running := f.loops[sid]; !running {
		return
	}
	st := f.status[sid]
	if st == nil {
		st = &schema.ReplicaLag{}
		f.status[sid] = st
	}
	fn(st)
}

// monitor reconciles the loops with the replicas at every applied batch
// and every reconcileEvery, until ctx ends.
func (f *Follower) monitor(ctx context.Context) {
	t := time.NewTicker(reconcileEvery)
	defer t.Stop()
	for {
		f.reconcile(ctx)
		select {
		case <-ctx.Done():
			f.mu.Lock()
			for _, cancel := range f.loops {
				cancel()
			}
			f.mu.Unlock()
			return
		case <-t.C:
		case <-f.state.Changed():
		}
	}
}

func (f *Follower) reconcile(ctx context.Context) {
	svcs, err := f.state.Services(ctx)
	if err != nil {
		return
	}
	want := map[string]bool{}
	for _, s := range svcs {
		if s.Settings.Replica != nil {
			want[s.ID] = true
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for sid, cancel := range f.loops {
		if !want[sid] {
			cancel()
			delete(f.loops, sid)
			delete(f.status, sid)
		}
	}
	if ctx.Err() != nil {
		return
	}
	for sid := range want {
		if _, ok := f.loops[sid]; !ok {
			lctx, cancel := context.WithCancel(ctx)
			f.loops[sid] = cancel
			f.wg.Add(1)
			go func() { defer f.wg.Done(); f.follow(lctx, sid) }()
		}
	}
}

// follow keeps one replica following its primary until ctx ends.
func (f *Follower) follow(ctx context.Context, sid string) {
	backoff := minBackoff
	var at position
	for ctx.Err() == nil {
		err := f.step(ctx, sid, &at)
		now := time.Now()
		f.update(sid, func(st *schema.ReplicaLag) {
			if err == nil {
				st.LastSync, st.LastResult = now, "ok"
			} else if ctx.Err() == nil {
				st.LastResult = err.Error()
			}
		})
		if err == nil {
			backoff = minBackoff
			continue
		}
		if ctx.Err() == nil {
			f.log.Warn("replication", "service", sid, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// position is what a loop knows of its replica between steps.
type position struct {
	checked bool   // its history was checked against the primary's
	syncID  uint64 // its sync id after the loop's last step
}

// replica is one step's view of a replica service and its primary.
type replica struct {
	svc     *schema.Service
	primary Primary
	sid     string // the service's id on the primary
}

// open returns the replica and a Primary for its source.
func (f *Follower) open(ctx context.Context, sid string) (*replica, error) {
	svc, err := f.state.Service(ctx, sid)
	if err != nil {
		return nil, err
	}
	if svc.Settings.Replica == nil {
		return nil, errors.New("no longer a replica")
	}
	src, err := f.state.Source(ctx, svc.Settings.Replica.Source)
	if err != nil {
		return nil, err
	}
	key, err := f.core.SourceKey(src)
	if err != nil {
		return nil, err
	}
	return &replica{svc: svc, primary: f.connect(src, key), sid: svc.Settings.Replica.SID}, nil
}

// fetch returns a Fetch of one version's bytes from the primary.
func (r *replica) fetch(c events.Change) events.Fetch {
	return func(ctx context.Context) (io.ReadCloser, error) {
		resp, err := r.primary.GetFile(ctx, r.sid, c.Path, c.Version)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	}
}

// step applies one page of the primary's changes.
func (f *Follower) step(ctx context.Context, sid string, at *position) error {
	r, err := f.open(ctx, sid)
	if err != nil {
		return err
	}
	svc := r.svc
	if at.checked && svc.LastSyncID != at.syncID {
		// something else changed the replica meanwhile (it was promoted,
		// written and re-attached between two steps): check again
		at.checked = false
	}
	if !at.checked {
		// a replica that already holds changes (restarted, or an old
		// primary re-attached) must hold the primary's: compare the
		// newest one with the primary's change of that sync id
		if diverged, err := f.diverged(ctx, r); err != nil {
			return err
		} else if diverged != "" {
			return f.resync(ctx, r, diverged)
		}
		at.checked = true
	}
	defer func() {
		if cur, err := f.state.Service(ctx, sid); err == nil {
			at.syncID = cur.LastSyncID
		}
	}()
	page, err := r.primary.SyncNext(ctx, r.sid, svc.LastSyncID, pageSize, f.wait)
	if schema.IsKind(err, schema.KindHistoryTruncated) {
		return f.resync(ctx, r, "the primary no longer holds the history after sync id "+strconv.FormatUint(svc.LastSyncID, 10))
	}
	if err != nil {
		return err
	}
	if page.LastSyncID < svc.LastSyncID {
		return f.resync(ctx, r, fmt.Sprintf("the replica has %d changes, the primary %d: the histories diverged",
			svc.LastSyncID, page.LastSyncID))
	}
	changes, err := changesOf(page.Updates)
	if err != nil {
		return err
	}
	f.update(sid, func(st *schema.ReplicaLag) {
		st.PrimarySyncID = page.LastSyncID
		st.Behind = page.LastSyncID - min(page.LastSyncID, svc.LastSyncID)
		st.OldestUnapplied = 0
		if len(changes) > 0 {
			st.OldestUnapplied = time.Since(changes[0].Time).Seconds()
		}
	})
	for i, c := range changes {
		if err := f.core.ApplyChange(ctx, sid, c, r.fetch(c)); err != nil {
			return fmt.Errorf("applying change %d (%s %s): %w", c.SyncID, c.Op, c.Path, err)
		}
		f.update(sid, func(st *schema.ReplicaLag) {
			st.Behind = page.LastSyncID - min(page.LastSyncID, c.SyncID)
			st.OldestUnapplied = 0
			if i+1 < len(changes) {
				st.OldestUnapplied = time.Since(changes[i+1].Time).Seconds()
			}
		})
	}
	return nil
}

// diverged compares the replica's newest change with the primary's change
// of the same sync id; it returns why they differ ("" when they agree).
func (f *Follower) diverged(ctx context.Context, r *replica) (string, error) {
	svc := r.svc
	if svc.LastSyncID == 0 || svc.LastSyncID == svc.ResyncedAt {
		return "", nil // nothing yet, or just resynchronised to the primary's current files
	}
	mine, err := f.state.Changes(ctx, svc.ID, svc.LastSyncID-1, 1)
	if err != nil || len(mine) == 0 {
		return "", err
	}
	page, err := r.primary.SyncNext(ctx, r.sid, svc.LastSyncID-1, 1, 0)
	if schema.IsKind(err, schema.KindHistoryTruncated) {
		return "the primary no longer holds the replica's newest change", nil
	}
	if err != nil {
		return "", err
	}
	if len(page.Updates) == 0 || page.Updates[0].Version != mine[0].Version {
		return fmt.Sprintf("the replica's change %d is not the primary's: the histories diverged", svc.LastSyncID), nil
	}
	return "", nil
}

// resync brings the replica to the primary's current files (Resync) and
// says so in the log and the replica's status.
func (f *Follower) resync(ctx context.Context, r *replica, why string) error {
	svc := r.svc
	f.log.Warn("replication: resynchronising the whole service", "service", svc.ID, "why", why)
	f.update(svc.ID, func(st *schema.ReplicaLag) { st.Resyncs++; st.LastResult = "resynchronising: " + why })
	// where the primary stands, then its files (a change meanwhile is
	// followed normally afterwards)
	head, err := r.primary.SyncNext(ctx, r.sid, 1<<62, 1, 0)
	if err != nil {
		return err
	}
	var files []events.Change
	o := schema.FileListQuery{Limit: filePageSize, AsOf: "sync:" + strconv.FormatUint(head.LastSyncID, 10)}
	for {
		page, err := r.primary.FileList(ctx, r.sid, o)
		if err != nil {
			return err
		}
		for _, e := range page.Files {
			files = append(files, fileChange(e))
		}
		if page.Next == nil || *page.Next == "" {
			break
		}
		o.After = *page.Next
	}
	return f.core.Resync(ctx, svc.ID, head.LastSyncID, files, r.fetch)
}

// noPrimary is the Primary of a follower given no Connect: every call
// fails, so its replicas report the mistake instead of following.
type noPrimary struct{}

var errNoConnect = errors.New("replication: the follower was given no way to reach a primary (Options.Connect)")

func (noPrimary) SyncNext(context.Context, string, uint64, int, time.Duration) (*schema.SyncPage, error) {
	return nil, errNoConnect
}

func (noPrimary) FileList(context.Context, string, schema.FileListQuery) (*schema.FileList, error) {
	return nil, errNoConnect
}

func (noPrimary) GetFile(context.Context, string, string, string) (*http.Response, error) {
	return nil, errNoConnect
}

// changesOf reads syncnext's rows as the core's changes.
func changesOf(us []schema.Update) ([]events.Change, error) {
	out := make([]events.Change, 0, len(us))
	for _, u := range us {
		t, err := time.Parse(time.RFC3339Nano, u.Time)
		if err != nil {
			return nil, fmt.Errorf("syncnext: change %d: time %q: %w", u.SyncID, u.Time, err)
		}
		c := events.Change{SyncID: u.SyncID, Time: t, Op: u.Op, Path: u.Path, Version: u.Version, Size: u.Size,
			ETag: u.ETag, ContentType: u.ContentType, Meta: u.Meta, Headers: u.Headers, DeleteAt: u.DeleteAt,
			CopiedFrom: u.CopiedFrom, PartSizes: u.PartSizes, Null: u.Null, SHA256: u.SHA256, Purged: u.Purged, Actor: u.Actor}
		for _, sg := range u.Segments {
			c.Segments = append(c.Segments, events.SegmentRef{Service: sg.Service, Path: sg.Path, Version: sg.Version,
				Size: sg.Size, ETag: sg.ETag, ContentType: sg.ContentType, SHA256: sg.SHA256})
		}
		out = append(out, c)
	}
	return out, nil
}

// fileChange reads a filelist row as the put of a resync. A modification
// time that does not parse is the zero time, as before.
func fileChange(e schema.FileEntry) events.Change {
	t, _ := time.Parse(time.RFC3339Nano, e.Modified)
	return events.Change{Op: schema.OpPut, Path: e.Path, Version: e.Version, Size: e.Size,
		ETag: e.ETag, ContentType: e.ContentType, Time: t, Actor: schema.ActorSystem}
}
