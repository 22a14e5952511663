package events

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// PointInTime is the core's family of changes that bring a service back
// to a moment of its history (the projections resolve the moment:
// projections.PointInTime).
type PointInTime interface {
	Restore(ctx context.Context, o Origin, in RestoreInput) ([]RestoreAction, error)
}

var _ PointInTime = (*Core)(nil)

// restoreWorkers is how many paths a restore applies at once.
const restoreWorkers = 16

// RestoreInput brings a service (or a prefix of it) back to a moment.
type RestoreInput struct {
	Service string
	At      projections.Moment // resolved with projections.Store.MomentOf
	Prefix  string
	// OnlyDeletes restores only files deleted since the moment; files
	// changed or added since stay as they are.
	OnlyDeletes bool
	// Into, when set, forks: a new service of the same account holding the
	// moment, instead of changing Service.
	Into   string
	DryRun bool
}

// RestoreAction is one change a restore makes (or would make).
type RestoreAction struct {
	Path    string `json:"path"`
	Action  string `json:"action"`            // "put": the version comes back; "delete": the file goes
	Version string `json:"version,omitempty"` // the version put back (the moment's)
	Skipped string `json:"skipped,omitempty"` // why it could not be done
}

// Restore brings a service back to a moment by appending ordinary events:
// each file as it was then comes back as a copy of its version then
// (sharing its bytes), each file added since is deleted. Nothing is
// erased: the history keeps everything, and the restore itself is in it
// (with its actor and request id) and replicates like any change. A fork
// (Into) makes a new service of the same account holding the moment, in
// metadata-only time. DryRun reports the actions without appending.
func (s *Core) Restore(ctx context.Context, o Origin, in RestoreInput) ([]RestoreAction, error) {
	svc, err := s.storage(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	then, err := s.listAll(ctx, in.Service, in.Prefix, &in.At)
	if err != nil {
		return nil, err
	}
	target := in.Service
	now := map[string]*schema.Version{}
	if in.Into != "" {
		target = in.Into
		if !in.DryRun {
			if _, err := s.CreateService(ctx, o, ServiceInput{ID: in.Into, Account: svc.Account,
				Settings: schema.ServiceSettings{KeepVersions: svc.Settings.KeepVersions}}); err != nil {
				return nil, err
			}
		}
	} else {
		if err := s.refuseReadOnly(); err != nil {
			return nil, err
		}
		if err := refuseReplica(svc); err != nil {
			return nil, err
		}
		live, err := s.listAll(ctx, in.Service, in.Prefix, nil)
		if err != nil {
			return nil, err
		}
		for _, v := range live {
			now[v.Path] = v
		}
	}
	var acts []RestoreAction
	for _, path := range slices.Sorted(maps.Keys(then)) {
		v := then[path]
		cur, exists := now[v.Path]
		delete(now, v.Path)
		if exists && (cur.Version == v.Version || in.OnlyDeletes) {
			continue // as it was, or changed since and only deletions are undone
		}
		acts = append(acts, RestoreAction{Path: v.Path, Action: "put", Version: v.Version})
	}
	if !in.OnlyDeletes {
		for _, path := range slices.Sorted(maps.Keys(now)) { // added since
			acts = append(acts, RestoreAction{Path: path, Action: "delete"})
		}
	}
	if in.DryRun {
		return acts, nil
	}
	// each path is independent: apply them concurrently, so the log's
	// appender pipelines their fsyncs instead of waiting for each in turn
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	work := make(chan *RestoreAction)
	for w := 0; w < restoreWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				var err error
				switch a.Action {
				case "put":
					_, err = s.CopyObject(ctx, o, CopyInput{From: schema.ObjectRef{Service: in.Service, Path: a.Path, Version: a.Version},
						Service: target, Path: a.Path, DeleteAt: then[a.Path].DeleteAt})
				case "delete":
					_, err = s.DeleteObject(ctx, o, target, a.Path, Conditions{})
				}
				switch {
				case schema.IsKind(err, schema.KindNotFound):
					a.Skipped = "the version is no longer readable (expired or purged since)"
				case err != nil:
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range acts {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- &acts[i]
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return acts, firstErr
	}
	return acts, nil
}

// listAll returns every file of a service under prefix, live now (nil
// moment) or as of a moment, by path.
func (s *Core) listAll(ctx context.Context, service, prefix string, at *projections.Moment) (map[string]*schema.Version, error) {
	out := map[string]*schema.Version{}
	var asof uint64
	var asofTime time.Time
	if at != nil {
		if at.SyncID == 0 {
			return out, nil // before the service's first change: empty
		}
		asof, asofTime = at.SyncID, at.Time
	}
	after := ""
	for {
		page, err := s.state.List(ctx, service, projections.ListOptions{Prefix: prefix, After: after, Limit: 1000,
			AsOf: asof, AsOfTime: asofTime, Now: s.opts.Clock()})
		if err != nil {
			return nil, err
		}
		for _, v := range page.Files {
			out[v.Path] = v
		}
		if !page.Truncated {
			return out, nil
		}
		after = page.Next
	}
}
