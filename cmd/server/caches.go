package server

import (
	"context"
	"path/filepath"

	"github.com/cairnhq/cairn/events"
)

// CachesDir is where the cache services keep their copies, a directory
// each, inside the data directory. It is not history: deleting it empties
// the caches and loses nothing else.
const CachesDir = "caches"

// openCaches makes the cache services, after removing the directories of
// services that are no longer caches. A read-only server keeps its caches'
// copies in a temporary directory: it writes nothing into its data
// directory.
func (s *Server) openCaches(ctx context.Context) error {
	dir := filepath.Join(s.Config.Data, CachesDir)
	if s.Config.ReadOnly {
		dir = ""
	}
	s.Caches = events.NewCaches(s.Core, events.CachesOptions{Dir: dir})
	return s.Caches.Sweep(ctx)
}
