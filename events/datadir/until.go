package datadir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/blobstore"
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
// (AdminFile, SecretFile, SigningKeyFile), the projections folded from
// events 1..Seq, and PointInTimeFile. Only a read-only server opens the
// result, so the later events are never folded.
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
	src, out, done, err := lockPair(o.Source, o.Out, "stop it first (rebuild --until copies its log, which is consistent only while no server writes it)")
	if err != nil {
		return st, err
	}
	defer func() { done(err != nil) }()

	logf("copying the log %s to %s", filepath.Join(src, LogDir), filepath.Join(out, LogDir))
	if err := copyTree(filepath.Join(src, LogDir), filepath.Join(out, LogDir), func(size int64) {
		st.LogFiles++
		st.LogBytes += size
	}); err != nil {
		return st, fmt.Errorf("copy the log: %w", err)
	}
	if err := copyKeyFiles(src, out, logf); err != nil {
		return st, err
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
	var damage *DamageError
	if err := CheckLogFull(ctx, src, jl); errors.As(err, &damage) && st.Seq >= damage.First() {
		return st, fmt.Errorf("%w (or rebuild --until %d, the last event before the damage)", err, damage.First()-1)
	} else if err != nil && damage == nil {
		return st, err
	}
	st.Source, st.Made = src, time.Now().UTC()
	logf("the moment: event %d of %d, %s", st.Seq, st.LogLast, st.Time.Format(time.RFC3339Nano))
	// the description goes first: from here on no server but a read-only
	// one opens out, even when this rebuild does not finish
	if err := writePointInTime(out, &st.PointInTime); err != nil {
		return st, err
	}

	logf("linking the blobs of %s", filepath.Join(src, BlobsDir))
	if err := linkBlobs(ctx, filepath.Join(src, BlobsDir), filepath.Join(out, BlobsDir), &st); err != nil {
		return st, fmt.Errorf("blobs: %w", err)
	}

	logf("folding events 1..%d into the projections", st.Seq)
	final := filepath.Join(out, ProjectionsFile)
	tmp := final + ".rebuild"
	store, err := projections.Open(tmp, projections.Options{NoSync: true})
	if err != nil {
		return st, err
	}
	defer os.Remove(tmp)
	folded, err := Fold(ctx, jl, store, st.Seq, o.Progress)
	if err != nil {
		store.Close()
		return st, damageOf(o.Source, err)
	}
	st.Digest = folded.Digest
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

// linkBlobs puts every blob of the store at src into a new store at dst
// (blobstore.FS.LinkInto). A source without a store has no blobs.
func linkBlobs(ctx context.Context, src, dst string, st *UntilStats) error {
	from, err := blobstore.OpenFSReadOnly(src)
	if schema.IsKind(err, schema.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	to, err := blobstore.OpenFS(dst)
	if err != nil {
		return err
	}
	ls, err := from.LinkInto(ctx, to)
	st.Blobs, st.Linked, st.BlobBytes = ls.Blobs, ls.Linked, ls.Bytes
	return err
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
	if err := checkDataDir(src); err != nil {
		return "", "", false, err
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

// lockPair checks source (a stopped server's directory) and out (a new
// directory, or an empty one) for an operation that builds out from
// source, and locks both. done releases the locks and, when the operation
// failed, removes what it made of out. why is added to the error when the
// source is in use.
func lockPair(source, outDir, why string) (src, out string, done func(failed bool), err error) {
	src, out, exists, err := untilDirs(source, outDir)
	if err != nil {
		return "", "", nil, err
	}
	srcLock, err := Lock(src)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %s", err, why)
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		srcLock.Close()
		return "", "", nil, err
	}
	outLock, err := Lock(out)
	if err != nil {
		undo(out, exists)
		srcLock.Close()
		return "", "", nil, err
	}
	return src, out, func(failed bool) {
		outLock.Close()
		if failed {
			undo(out, exists)
		}
		srcLock.Close()
	}, nil
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

// copyKeyFiles copies what a server needs besides its log, blobs and
// projections (AdminFile, SecretFile, SigningKeyFile) from src to out; a
// file src does not have is not copied, and logf says so.
func copyKeyFiles(src, out string, logf func(string, ...any)) error {
	for _, name := range []string{AdminFile, SecretFile, SigningKeyFile} {
		switch err := copyFile(filepath.Join(src, name), filepath.Join(out, name)); {
		case errors.Is(err, fs.ErrNotExist):
			logf("%s has no %s: not copied", src, name)
		case err != nil:
			return err
		}
	}
	return nil
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
