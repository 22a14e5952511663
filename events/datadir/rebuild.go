package datadir

import (
	"context"
	"errors"
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

// Rebuild folds the whole log of the (stopped) server in dir into fresh
// projections and replaces its projections file with them; in a
// point-in-time copy (PointInTimeFile) it folds up to the copy's moment,
// never past it. progress, if set, is called about once a second with the
// applied and the last sequence to fold.
func Rebuild(ctx context.Context, dir string, progress func(applied, total uint64)) (RebuildStats, error) {
	var st RebuildStats
	lock, err := lockStopped(dir)
	if err != nil {
		return st, err
	}
	defer lock.Close()
	pit, err := ReadPointInTime(dir)
	if err != nil {
		return st, err
	}
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: dir, SyncAlways: true, Name: "cairn-rebuild"})
	if err != nil {
		return st, err
	}
	defer jl.Close()
	if err := CheckLogFull(ctx, dir, jl); err != nil {
		return st, err
	}
	final := filepath.Join(dir, ProjectionsFile)
	tmp := final + ".rebuild"
	_ = os.Remove(tmp)
	store, err := projections.Open(tmp, projections.Options{NoSync: true})
	if err != nil {
		return st, err
	}
	defer os.Remove(tmp)
	start := time.Now()
	until := uint64(0) // the whole log
	if pit != nil {
		until = pit.Seq
	}
	st, err = Fold(ctx, jl, store, until, progress)
	if err != nil {
		store.Close()
		return st, damageOf(dir, err)
	}
	if err := store.Close(); err != nil {
		return st, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return st, err
	}
	// make the rename itself durable (buntdb's Close synced the file)
	if err := syncDir(dir); err != nil {
		return st, err
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// Fold folds log into store up to sequence until (0: the log's last event
// as it is now) with projections.Store.CatchUp, and returns the sequence
// folded to, the time taken and the projections' digest.
// damageOf is err, or the DamageError naming the block and what to run
// when err is a fold meeting a hole in the log of dir (events.GapError).
func damageOf(dir string, err error) error {
	var ge *events.GapError
	if errors.As(err, &ge) {
		return GapDamage(dir, ge.Gap)
	}
	return err
}

func Fold(ctx context.Context, log events.Log, store *projections.Store, until uint64, progress func(applied, total uint64)) (RebuildStats, error) {
	var st RebuildStats
	if until == 0 {
		last, err := log.LastSeq(ctx)
		if err != nil {
			return st, err
		}
		until = last
	}
	start := time.Now()
	idle := store.Applied() >= until
	if err := store.CatchUp(ctx, log, until, progress); err != nil {
		return st, err
	}
	if progress != nil && idle { // CatchUp had nothing to do, and said nothing
		progress(store.Applied(), until)
	}
	st.Events, st.Elapsed = until, time.Since(start)
	d, err := store.Digest()
	if err != nil {
		return st, schema.Wrap(schema.KindInternal, err, "digest")
	}
	st.Digest = d
	return st, nil
}
