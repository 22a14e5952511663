package fakes

import (
	"context"
	"slices"
	"sync"

	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

var _ projections.VersionReader = (*Histories)(nil)

// Histories holds every version of every object, newest first, and reads
// them as the projections do (projections.VersionReader). The versions
// are shared, not copied: a test may look at what a handler was given.
type Histories struct {
	mu sync.Mutex
	m  map[objectID][]*schema.Version
}

type objectID struct{ service, path string }

// Add records v as the newest version of its object.
func (h *Histories) Add(v *schema.Version) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[objectID][]*schema.Version{}
	}
	id := objectID{v.Service, v.Path}
	h.m[id] = append([]*schema.Version{v}, h.m[id]...)
}

// Remove takes version id out of its object's history and returns it
// (nil when there is no such version).
func (h *Histories) Remove(service, path, id string) *schema.Version {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := objectID{service, path}
	i := slices.IndexFunc(h.m[o], func(v *schema.Version) bool { return v.Version == id })
	if i < 0 {
		return nil
	}
	gone := h.m[o][i]
	if h.m[o] = slices.Delete(slices.Clone(h.m[o]), i, i+1); len(h.m[o]) == 0 {
		delete(h.m, o) // a path with no versions left has no history
	}
	return gone
}

// History is the versions of service/path, newest first.
func (h *Histories) History(service, path string) []*schema.Version {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.m[objectID{service, path}])
}

// Paths are the paths of service that have a history, in order.
func (h *Histories) Paths(service string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for id := range h.m {
		if id.service == service {
			out = append(out, id.path)
		}
	}
	slices.Sort(out)
	return out
}

// Select returns the versions of service, or of every service when service
// is "", that match keep, in no particular order.
func (h *Histories) Select(service string, keep func(*schema.Version) bool) []*schema.Version {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*schema.Version
	for id, vs := range h.m {
		if service != "" && id.service != service {
			continue
		}
		for _, v := range vs {
			if keep(v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// Object is the newest version unless it is a delete marker.
func (h *Histories) Object(_ context.Context, service, path string) (*schema.Version, error) {
	if vs := h.History(service, path); len(vs) > 0 && !vs[0].Deleted {
		return vs[0], nil
	}
	return nil, NotFound("file")
}

// Head is the newest version, a delete marker included.
func (h *Histories) Head(_ context.Context, service, path string) (*schema.Version, error) {
	if vs := h.History(service, path); len(vs) > 0 {
		return vs[0], nil
	}
	return nil, NotFound("file")
}

// Version is one version by id.
func (h *Histories) Version(_ context.Context, service, path, id string) (*schema.Version, error) {
	for _, v := range h.History(service, path) {
		if v.Version == id {
			return v, nil
		}
	}
	return nil, NotFound("version")
}

// Versions are the newest limit versions (limit 0: all).
func (h *Histories) Versions(_ context.Context, service, path string, limit int) ([]*schema.Version, error) {
	vs := h.History(service, path)
	if limit > 0 && len(vs) > limit {
		vs = vs[:limit]
	}
	return vs, nil
}

// VersionAt is the newest version with a sync id at most asof.
func (h *Histories) VersionAt(_ context.Context, service, path string, asof uint64) (*schema.Version, error) {
	for _, v := range h.History(service, path) {
		if v.SyncID <= asof {
			return v, nil
		}
	}
	return nil, NotFound("file")
}
