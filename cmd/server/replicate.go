package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// replicator runs one follower per replica service: it long-polls the
// primary's syncnext, fetches content with getfile by version and hands
// each change to the core in order. What it knows of the lag is kept in
// memory (servicelist shows it); where it stands is the replica's own
// last_sync_id, so a restart resumes exactly there.
type replicator struct {
	core   *events.Core
	state  *projections.Store
	log    *slog.Logger
	client *http.Client
	wait   time.Duration // syncnext long poll

	mu     sync.Mutex
	loops  map[string]context.CancelFunc
	status map[string]*schema.ReplicaLag
	wg     sync.WaitGroup
}

func newReplicator(core *events.Core, state *projections.Store, log *slog.Logger, wait time.Duration) *replicator {
	return &replicator{core: core, state: state, log: log, wait: wait,
		client: &http.Client{Timeout: wait + 60*time.Second},
		loops:  map[string]context.CancelFunc{}, status: map[string]*schema.ReplicaLag{}}
}

// ReplicaStatus implements native.ReplicaStatus.
func (r *replicator) ReplicaStatus(sid string) (schema.ReplicaLag, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.status[sid]
	if !ok {
		return schema.ReplicaLag{}, false
	}
	return *st, true
}

func (r *replicator) update(sid string, fn func(*schema.ReplicaLag)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status[sid]
	if st == nil {
		st = &schema.ReplicaLag{}
		r.status[sid] = st
	}
	fn(st)
}

// run starts and stops followers as services become and stop being
// replicas, until ctx ends.
func (r *replicator) run(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		r.reconcile(ctx)
		select {
		case <-ctx.Done():
			r.mu.Lock()
			for _, cancel := range r.loops {
				cancel()
			}
			r.mu.Unlock()
			r.wg.Wait()
			return
		case <-t.C:
		case <-r.state.Changed():
		}
	}
}

func (r *replicator) reconcile(ctx context.Context) {
	svcs, err := r.state.Services(ctx)
	if err != nil {
		return
	}
	want := map[string]bool{}
	for _, s := range svcs {
		if s.Settings.Replica != nil {
			want[s.ID] = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for sid, cancel := range r.loops {
		if !want[sid] {
			cancel()
			delete(r.loops, sid)
			delete(r.status, sid)
		}
	}
	for sid := range want {
		if _, ok := r.loops[sid]; !ok {
			lctx, cancel := context.WithCancel(ctx)
			r.loops[sid] = cancel
			r.wg.Add(1)
			go func() { defer r.wg.Done(); r.follow(lctx, sid) }()
		}
	}
}

// follow keeps one replica following its primary until ctx ends.
func (r *replicator) follow(ctx context.Context, sid string) {
	backoff := 200 * time.Millisecond
	var at followState
	for ctx.Err() == nil {
		err := r.step(ctx, sid, &at)
		now := time.Now()
		r.update(sid, func(st *schema.ReplicaLag) {
			if err == nil {
				st.LastSync, st.LastResult = now, "ok"
			} else if ctx.Err() == nil {
				st.LastResult = err.Error()
			}
		})
		if err == nil {
			backoff = 200 * time.Millisecond
			continue
		}
		if ctx.Err() == nil {
			r.log.Warn("replication", "service", sid, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// source returns the replica, its source and the key to use there.
func (r *replicator) source(ctx context.Context, sid string) (*schema.Service, *schema.Source, string, error) {
	svc, err := r.state.Service(ctx, sid)
	if err != nil {
		return nil, nil, "", err
	}
	if svc.Settings.Replica == nil {
		return nil, nil, "", errors.New("no longer a replica")
	}
	src, err := r.state.Source(ctx, svc.Settings.Replica.Source)
	if err != nil {
		return nil, nil, "", err
	}
	key, err := r.core.SourceKey(src)
	return svc, src, key, err
}

// errStatus is a primary's error answer.
type errStatus struct {
	status int
	code   string
	msg    string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("primary answered %d %s: %s", e.status, e.code, e.msg)
}

// get calls a native function of the primary.
func (r *replicator) get(ctx context.Context, src *schema.Source, key, fn string, q url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL+"/"+fn+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-owncdn-key", key)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		return nil, &errStatus{status: resp.StatusCode, code: e.Error.Code, msg: e.Error.Message}
	}
	return resp, nil
}

type syncPage struct {
	Updates    []events.Change `json:"updates"`
	LastSyncID uint64          `json:"last_sync_id"`
}

func (r *replicator) syncnext(ctx context.Context, src *schema.Source, key, sid string, after uint64, limit int, wait time.Duration) (*syncPage, error) {
	q := url.Values{"sid": {sid}, "after": {strconv.FormatUint(after, 10)}, "limit": {strconv.Itoa(limit)},
		"wait": {strconv.Itoa(int(wait / time.Second))}}
	resp, err := r.get(ctx, src, key, "syncnext", q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var page syncPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("syncnext: %w", err)
	}
	return &page, nil
}

// fetch returns a Fetch of one version's bytes from the primary.
func (r *replicator) fetch(src *schema.Source, key, sid string, c events.Change) events.Fetch {
	return func(ctx context.Context) (io.ReadCloser, error) {
		resp, err := r.get(ctx, src, key, "getfile", url.Values{"sid": {sid}, "path": {c.Path}, "version": {c.Version}})
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	}
}

// followState is what a follower knows of its replica between steps.
type followState struct {
	checked bool   // its history was checked against the primary's
	syncID  uint64 // its sync id after the follower's last step
}

// step applies one page of the primary's changes.
func (r *replicator) step(ctx context.Context, sid string, at *followState) error {
	svc, src, key, err := r.source(ctx, sid)
	if err != nil {
		return err
	}
	rsid := svc.Settings.Replica.SID
	if at.checked && svc.LastSyncID != at.syncID {
		// something else changed the replica meanwhile (it was promoted,
		// written and re-attached between two steps): check again
		at.checked = false
	}
	if !at.checked {
		// a replica that already holds changes (restarted, or an old
		// primary re-attached) must hold the primary's: compare the
		// newest one with the primary's change of that sync id
		if diverged, err := r.diverged(ctx, svc, src, key); err != nil {
			return err
		} else if diverged != "" {
			return r.resync(ctx, svc, src, key, diverged)
		}
		at.checked = true
	}
	defer func() {
		if cur, err := r.state.Service(ctx, sid); err == nil {
			at.syncID = cur.LastSyncID
		}
	}()
	page, err := r.syncnext(ctx, src, key, rsid, svc.LastSyncID, 500, r.wait)
	var es *errStatus
	if errors.As(err, &es) && es.code == "history_truncated" {
		return r.resync(ctx, svc, src, key, "the primary no longer holds the history after sync id "+strconv.FormatUint(svc.LastSyncID, 10))
	}
	if err != nil {
		return err
	}
	if page.LastSyncID < svc.LastSyncID {
		return r.resync(ctx, svc, src, key, fmt.Sprintf("the replica has %d changes, the primary %d: the histories diverged",
			svc.LastSyncID, page.LastSyncID))
	}
	r.update(sid, func(st *schema.ReplicaLag) {
		st.PrimarySyncID = page.LastSyncID
		st.Behind = page.LastSyncID - min(page.LastSyncID, svc.LastSyncID)
		st.OldestUnapplied = 0
		if len(page.Updates) > 0 {
			st.OldestUnapplied = time.Since(page.Updates[0].Time).Seconds()
		}
	})
	for i, c := range page.Updates {
		if err := r.core.ApplyChange(ctx, sid, c, r.fetch(src, key, rsid, c)); err != nil {
			return fmt.Errorf("applying change %d (%s %s): %w", c.SyncID, c.Op, c.Path, err)
		}
		r.update(sid, func(st *schema.ReplicaLag) {
			st.Behind = page.LastSyncID - min(page.LastSyncID, c.SyncID)
			st.OldestUnapplied = 0
			if i+1 < len(page.Updates) {
				st.OldestUnapplied = time.Since(page.Updates[i+1].Time).Seconds()
			}
		})
	}
	return nil
}

// diverged compares the replica's newest change with the primary's change
// of the same sync id; it returns why they differ ("" when they agree).
func (r *replicator) diverged(ctx context.Context, svc *schema.Service, src *schema.Source, key string) (string, error) {
	if svc.LastSyncID == 0 || svc.LastSyncID == svc.ResyncedAt {
		return "", nil // nothing yet, or just resynchronised to the primary's current files
	}
	mine, err := r.state.Changes(ctx, svc.ID, svc.LastSyncID-1, 1)
	if err != nil || len(mine) == 0 {
		return "", err
	}
	page, err := r.syncnext(ctx, src, key, svc.Settings.Replica.SID, svc.LastSyncID-1, 1, 0)
	var es *errStatus
	if errors.As(err, &es) && es.code == "history_truncated" {
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
func (r *replicator) resync(ctx context.Context, svc *schema.Service, src *schema.Source, key, why string) error {
	rsid := svc.Settings.Replica.SID
	r.log.Warn("replication: resynchronising the whole service", "service", svc.ID, "why", why)
	r.update(svc.ID, func(st *schema.ReplicaLag) { st.Resyncs++; st.LastResult = "resynchronising: " + why })
	// where the primary stands, then its files (a change meanwhile is
	// followed normally afterwards)
	head, err := r.syncnext(ctx, src, key, rsid, 1<<62, 1, 0)
	if err != nil {
		return err
	}
	var files []events.Change
	after := ""
	for {
		q := url.Values{"sid": {rsid}, "limit": {"10000"}, "asof": {"sync:" + strconv.FormatUint(head.LastSyncID, 10)}}
		if after != "" {
			q.Set("after", after)
		}
		resp, err := r.get(ctx, src, key, "filelist", q)
		if err != nil {
			return err
		}
		var page struct {
			Files []struct {
				Path        string `json:"path"`
				Size        int64  `json:"size"`
				ETag        string `json:"etag"`
				ContentType string `json:"content_type"`
				Modified    string `json:"modified"`
				Version     string `json:"version"`
			} `json:"files"`
			Next *string `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return err
		}
		for _, f := range page.Files {
			t, _ := time.Parse(time.RFC3339Nano, f.Modified)
			files = append(files, events.Change{Op: schema.OpPut, Path: f.Path, Version: f.Version, Size: f.Size,
				ETag: f.ETag, ContentType: f.ContentType, Time: t, Actor: schema.ActorSystem})
		}
		if page.Next == nil || *page.Next == "" {
			break
		}
		after = *page.Next
	}
	return r.core.Resync(ctx, svc.ID, head.LastSyncID, files, func(c events.Change) events.Fetch {
		return r.fetch(src, key, rsid, c)
	})
}
