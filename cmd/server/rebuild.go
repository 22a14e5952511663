package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// RebuildStats reports a rebuild.
type RebuildStats struct {
	Events  uint64
	Elapsed time.Duration
	Digest  string
}

// Rebuild folds the whole log of the (stopped) server in dataDir into fresh
// projections and replaces projections.db with them; in a point-in-time
// copy (PointInTimeFile) it folds up to the copy's moment, never past it.
// progress, if set, is called about once a second with applied and total
// events.
func Rebuild(ctx context.Context, dataDir string, progress func(applied, total uint64)) (RebuildStats, error) {
	var st RebuildStats
	if fi, err := os.Stat(filepath.Join(dataDir, "jetstream")); err != nil || !fi.IsDir() {
		return st, fmt.Errorf("%s is not a cairn data directory (it has no jetstream/ log)", dataDir)
	}
	lock, err := lockDir(dataDir)
	if err != nil {
		return st, err
	}
	defer lock.Close()
	pit, err := ReadPointInTime(dataDir)
	if err != nil {
		return st, err
	}
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: dataDir, SyncAlways: true, Name: "cairn-rebuild"})
	if err != nil {
		return st, err
	}
	defer jl.Close()
	final := filepath.Join(dataDir, "projections.db")
	tmp := final + ".rebuild"
	_ = os.Remove(tmp)
	store, err := projections.Open(tmp, projections.Options{NoSync: true})
	if err != nil {
		return st, err
	}
	defer os.Remove(tmp)
	start := time.Now()
	st, err = foldTo(ctx, jl, store, pit, progress)
	if err != nil {
		store.Close()
		return st, err
	}
	if err := store.Close(); err != nil {
		return st, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return st, err
	}
	// make the rename itself durable (buntdb's Close synced the file)
	if err := syncDir(dataDir); err != nil {
		return st, err
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// FoldAll applies every event of log to store and returns the count,
// time taken and resulting digest.
func FoldAll(ctx context.Context, log events.Log, store *projections.Store, progress func(applied, total uint64)) (RebuildStats, error) {
	var st RebuildStats
	last, err := log.LastSeq(ctx)
	if err != nil {
		return st, err
	}
	start := time.Now()
	if last > store.Applied() {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- store.Run(rctx, log) }()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		waitc := make(chan error, 1)
		go func() { waitc <- store.Wait(rctx, last) }()
	loop:
		for {
			select {
			case err := <-waitc:
				if err != nil {
					return st, err
				}
				break loop
			case err := <-errc:
				if err == nil {
					err = fmt.Errorf("log ended early")
				}
				return st, err
			case <-tick.C:
				if progress != nil {
					progress(store.Applied(), last)
				}
			}
		}
		cancel()
		<-errc
	}
	st.Events = last
	st.Elapsed = time.Since(start)
	if progress != nil {
		progress(store.Applied(), last)
	}
	st.Digest, err = store.Digest()
	if err != nil {
		return st, schema.Wrap(schema.KindInternal, err, "digest")
	}
	return st, nil
}

// syncDir fsyncs a directory, so a rename in it survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
