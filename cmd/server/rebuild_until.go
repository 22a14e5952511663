package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// UntilOptions configures RebuildUntil.
type UntilOptions struct {
	// Source is the data directory of a stopped server; it is only read.
	Source string
	// Out is the new data directory: absent or empty.
	Out string
	// Seq, when not 0, is the last event to fold. Otherwise Time is the
	// moment: the last event at or before it (by the log's event times).
	Seq  uint64
	Time time.Time
	// Logf, if set, is told each step.
	Logf func(format string, args ...any)
	// Progress, if set, is called about once a second while folding, with
	// the applied and the last sequence to fold.
	Progress func(applied, total uint64)
}

// UntilStats reports RebuildUntil.
type UntilStats struct {
	PointInTime
	// Blobs is how many blob files Out holds, Linked how many of them are
	// hard links to Source's (the others are copies), BlobBytes their size.
	Blobs, Linked int
	BlobBytes     int64
	// LogFiles and LogBytes are what the copy of the log took.
	LogFiles int
	LogBytes int64
	Elapsed  time.Duration
}

// RebuildUntil builds in o.Out a complete data directory holding the
// server of o.Source as it was at a moment: a copy of its log (the whole
// log: events after the moment stay there for the audit trail), its blobs
// (hard links where Out is on the same filesystem, else copies: blobs are
// content-addressed and never change), what a server needs to open it
// (admin.json, secret.key, checkpoint.key), the projections folded from
// events 1..Seq, and PointInTimeFile. Only a read-only server
// (Config.ReadOnly) opens the result, so the later events are never folded.
//
// Source must be stopped: its lock is taken for the whole copy, because a
// running server's log files are consistent only to itself. Source is
// never written. When the rebuild fails, Out is left as it was found.
func RebuildUntil(ctx context.Context, o UntilOptions) (st UntilStats, err error) {
	start := time.Now()
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if o.Seq == 0 && o.Time.IsZero() {
		return st, errors.New("rebuild --until: give a sequence or a time")
	}
	src, out, exists, err := untilDirs(o.Source, o.Out)
	if err != nil {
		return st, err
	}
	srcLock, err := lockDir(src)
	if err != nil {
		return st, fmt.Errorf("%w: stop it first (rebuild --until copies its log, which is consistent only while no server writes it)", err)
	}
	defer srcLock.Close()
	if err := os.MkdirAll(out, 0o700); err != nil {
		return st, err
	}
	defer func() {
		if err != nil {
			undo(out, exists)
		}
	}()
	outLock, err := lockDir(out)
	if err != nil {
		return st, err
	}
	defer outLock.Close()

	logf("copying the log %s to %s", filepath.Join(src, "jetstream"), filepath.Join(out, "jetstream"))
	if err := copyTree(filepath.Join(src, "jetstream"), filepath.Join(out, "jetstream"), func(size int64) {
		st.LogFiles++
		st.LogBytes += size
	}); err != nil {
		return st, fmt.Errorf("copy the log: %w", err)
	}
	for _, name := range []string{"admin.json", "secret.key", SigningKeyFile} {
		switch err := copyFile(filepath.Join(src, name), filepath.Join(out, name)); {
		case errors.Is(err, fs.ErrNotExist):
			logf("%s has no %s: not copied", src, name)
		case err != nil:
			return st, err
		}
	}
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: out, SyncAlways: true, Name: "cairn-rebuild-until"})
	if err != nil {
		return st, err
	}
	defer jl.Close()
	st.PointInTime, err = resolveMoment(ctx, jl, o)
	if err != nil {
		return st, err
	}
	st.Source, st.Made = src, time.Now().UTC()
	logf("the moment: event %d of %d, %s", st.Seq, st.LogLast, st.Time.Format(time.RFC3339Nano))
	// the description goes first: from here on no server but a read-only
	// one opens out, even when this rebuild does not finish
	if err := writePointInTime(out, &st.PointInTime); err != nil {
		return st, err
	}

	logf("linking the blobs of %s", filepath.Join(src, "blobs"))
	if err := linkBlobs(filepath.Join(src, "blobs"), filepath.Join(out, "blobs"), &st); err != nil {
		return st, fmt.Errorf("blobs: %w", err)
	}

	logf("folding events 1..%d into the projections", st.Seq)
	final := filepath.Join(out, "projections.db")
	tmp := final + ".rebuild"
	store, err := projections.Open(tmp, projections.Options{NoSync: true})
	if err != nil {
		return st, err
	}
	defer os.Remove(tmp)
	if err := foldUntil(ctx, jl, store, st.Seq, o.Progress); err != nil {
		store.Close()
		return st, err
	}
	if st.Digest, err = store.Digest(); err != nil {
		store.Close()
		return st, schema.Wrap(schema.KindInternal, err, "digest")
	}
	if err := store.Close(); err != nil {
		return st, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return st, err
	}
	if err := writePointInTime(out, &st.PointInTime); err != nil {
		return st, err
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// untilDirs checks the two directories of RebuildUntil and returns their
// absolute paths and whether Out exists (it must be empty then).
func untilDirs(source, out string) (src, dst string, exists bool, err error) {
	if source == "" || out == "" {
		return "", "", false, errors.New("rebuild --until: give --out DIR (and --data SOURCE)")
	}
	if src, err = filepath.Abs(source); err != nil {
		return "", "", false, err
	}
	if dst, err = filepath.Abs(out); err != nil {
		return "", "", false, err
	}
	if fi, err := os.Stat(filepath.Join(src, "jetstream")); err != nil || !fi.IsDir() {
		return "", "", false, fmt.Errorf("%s is not a cairn data directory (it has no jetstream/ log)", src)
	}
	if within(dst, src) || within(src, dst) {
		return "", "", false, fmt.Errorf("--out %s and --data %s must not contain each other", dst, src)
	}
	entries, err := os.ReadDir(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return src, dst, false, nil
	case err != nil:
		return "", "", false, err
	case len(entries) > 0:
		return "", "", false, fmt.Errorf("--out %s is not empty: rebuild --until makes a new data directory", dst)
	}
	return src, dst, true, nil
}

// undo takes back what a failed rebuild made in out: out itself when it
// did not exist, else everything in it (it was empty).
func undo(out string, existed bool) {
	if !existed {
		_ = os.RemoveAll(out)
		return
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(out, e.Name()))
	}
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolveMoment turns the requested moment into the last event to fold.
func resolveMoment(ctx context.Context, jl *events.JetStream, o UntilOptions) (PointInTime, error) {
	var p PointInTime
	last, err := jl.LastSeq(ctx)
	if err != nil {
		return p, err
	}
	if last == 0 {
		return p, errors.New("the log is empty: there is no moment to rebuild")
	}
	p.LogLast = last
	if o.Seq != 0 {
		if o.Seq > last {
			return p, fmt.Errorf("sequence %d is past the log's last event %d", o.Seq, last)
		}
		p.Seq, p.Until = o.Seq, strconv.FormatUint(o.Seq, 10)
	} else {
		p.Until = o.Time.UTC().Format(time.RFC3339Nano)
		// the first event after the moment, less one: the last at or before it
		next, err := jl.SeqAt(ctx, o.Time.Add(time.Nanosecond))
		if err != nil {
			return p, err
		}
		if next <= 1 {
			first, err := jl.Get(ctx, 1)
			if err != nil {
				return p, fmt.Errorf("no event at or before %s", p.Until)
			}
			return p, fmt.Errorf("no event at or before %s: the log begins at %s", p.Until, first.Time.Format(time.RFC3339Nano))
		}
		p.Seq = next - 1
	}
	ev, err := jl.Get(ctx, p.Seq)
	if err != nil {
		return p, fmt.Errorf("event %d: %w", p.Seq, err)
	}
	p.Time = ev.Time
	return p, nil
}

// foldUntil applies the events after store's checkpoint up to until, in
// order, and nothing after it.
func foldUntil(ctx context.Context, log events.Log, store *projections.Store, until uint64, progress func(applied, total uint64)) error {
	if store.Applied() >= until {
		return nil
	}
	errDone := errors.New("folded")
	told := time.Now()
	err := log.Follow(ctx, store.Applied()+1, func(batch []*schema.Event) error {
		n := 0
		for n < len(batch) && batch[n].Seq <= until {
			n++
		}
		if err := store.Apply(batch[:n]); err != nil {
			return err
		}
		if progress != nil && time.Since(told) >= time.Second {
			progress(store.Applied(), until)
			told = time.Now()
		}
		if n < len(batch) || store.Applied() >= until {
			return errDone
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		return err
	}
	if progress != nil {
		progress(store.Applied(), until)
	}
	return nil
}

// writePointInTime writes dir's PointInTimeFile durably.
func writePointInTime(dir string, p *PointInTime) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return events.WriteFileSync(filepath.Join(dir, PointInTimeFile), append(b, '\n'), 0o600)
}

// linkBlobs puts every blob file of the store at src into the store at
// dst: a hard link when both are on one filesystem, else a copy. Puts in
// progress (tmp/) are not blobs and stay behind.
func linkBlobs(src, dst string, st *UntilStats) error {
	root := filepath.Join(src, "sha256")
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	to := filepath.Join(dst, "sha256")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st.Blobs++
		st.BlobBytes += fi.Size()
		if os.Link(path, target) == nil {
			st.Linked++
			return nil
		}
		return copyFile(path, target)
	})
	if err != nil {
		return err
	}
	return syncTree(dst)
}

// copyTree copies the directory src to dst (which must not exist): every
// file fsynced, then every directory. counted is told each file's size.
func copyTree(src, dst string, counted func(size int64)) error {
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return os.Mkdir(target, fi.Mode().Perm()|0o700)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			counted(fi.Size())
			return copyFile(path, target)
		}
		return fmt.Errorf("%s is neither a file nor a directory", path)
	})
	if err != nil {
		return err
	}
	return syncTree(dst)
}

// copyFile copies the regular file src to the new file dst, with its
// mode, and fsyncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncTree fsyncs dir and every directory under it, and dir's parent, so
// the entries just made survive a power loss.
func syncTree(dir string) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(path)
	})
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// foldTo folds the whole log into store, or in a point-in-time copy the
// events up to its moment.
func foldTo(ctx context.Context, log events.Log, store *projections.Store, pit *PointInTime, progress func(applied, total uint64)) (RebuildStats, error) {
	if pit == nil {
		return FoldAll(ctx, log, store, progress)
	}
	start := time.Now()
	if err := foldUntil(ctx, log, store, pit.Seq, progress); err != nil {
		return RebuildStats{}, err
	}
	d, err := store.Digest()
	if err != nil {
		return RebuildStats{}, schema.Wrap(schema.KindInternal, err, "digest")
	}
	return RebuildStats{Events: pit.Seq, Elapsed: time.Since(start), Digest: d}, nil
}
