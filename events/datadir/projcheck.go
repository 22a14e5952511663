package datadir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
)

// MaxProjectionDiffs bounds the differing keys a ProjectionsReport lists;
// it counts all of them.
const MaxProjectionDiffs = 20

// maxDiffValue is how much of a differing value a report shows: an
// object record whole, a pathological one cut short.
const maxDiffValue = 1024

// The projections are a fold of the log, and nothing else writes them
// (projections.Store.Apply is their only writer; invariant 3 makes the
// fold deterministic), so a file whose keys or values differ from a fresh
// fold of the same events was changed behind the server's back, or by a
// bug, and is served as it is: the server rebuilds only projections it
// cannot read or that are ahead of the log (OpenProjections). No key is
// excluded from the comparison, m:applied included (the fold's target is
// the file's own applied sequence): the data directories left by every
// e2e test (about 200 servers: objects through the three dialects,
// versions, multipart and large objects, copies, metadata changes, expiry,
// purges, restores, keys, tokens, accounts, quotas, caches, replicas,
// kills and restarts) each compared equal to a fresh fold, so there is no
// bookkeeping written outside the fold, or differing by when it was
// applied, to set aside.

// CheckProjections compares the projections file of the data directory
// dir, whose log is open as log, with a fresh fold of log up to the file's
// applied sequence, key by key. It never writes the file: it opens a copy
// in a temporary directory, removed afterwards, and folds in memory. A
// directory without the file, or whose file is behind the log, is noted;
// a file that cannot be read, or that is ahead of the log, is a problem
// and is not compared. An error is returned only when the check itself
// cannot run (no temporary space, a log that cannot be read).
func CheckProjections(ctx context.Context, dir string, log *events.JetStream) (*events.ProjectionsReport, error) {
	rep := &events.ProjectionsReport{}
	path := filepath.Join(dir, ProjectionsFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		rep.Note = "there is no " + ProjectionsFile + " yet: a server folds the log into new projections at start"
		return rep, nil
	}
	// A copy, never the file: buntdb may write a file it loads (it cuts a
	// torn last record), and a source directory is never written.
	tmp, err := os.MkdirTemp("", "cairn-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cp := filepath.Join(tmp, ProjectionsFile)
	if err := copyScratch(path, cp); err != nil {
		return nil, err
	}
	live, err := projections.Open(cp, projections.Options{ReadOnly: true})
	if err != nil {
		rep.Problem = fmt.Sprintf("%s cannot be read (%v): a server moves it aside and folds the log into new projections at start", ProjectionsFile, err)
		return rep, nil
	}
	defer live.Close()
	rep.Applied = live.Applied()
	last, err := log.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	if err := CheckBehind(rep.Applied, last); err != nil {
		rep.Problem = err.Error() + ": a server moves them aside and folds the log into new projections at start"
		return rep, nil
	}
	if rep.Applied < last {
		pit, err := ReadPointInTime(dir)
		if err != nil {
			return nil, err
		}
		if pit != nil && pit.Seq == rep.Applied {
			rep.Note = fmt.Sprintf("a point-in-time copy: the projections stop at its moment, event %d of %d, and were compared there",
				rep.Applied, last)
		} else {
			rep.Note = fmt.Sprintf("the projections are %d events behind the log (applied %d, the log ends at %d): "+
				"compared at %d; a server folds the rest at start", last-rep.Applied, rep.Applied, last, rep.Applied)
		}
	}
	fresh, err := projections.Open(":memory:", projections.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	defer fresh.Close()
	if err := fresh.CatchUp(ctx, log, rep.Applied, nil); err != nil {
		var fe *projections.FoldError
		if errors.As(err, &fe) {
			rep.Problem = fmt.Sprintf("a fresh fold stopped at event %d (%s), which this version cannot fold, "+
				"while the projections applied events up to %d: they were not compared", fe.Seq, fe.Type, rep.Applied)
			return rep, nil
		}
		return nil, err
	}
	if err := compareDumps(live, fresh, rep); err != nil {
		return nil, err
	}
	rep.Compared = true
	return rep, nil
}

// copyScratch copies a file for a look that throws the copy away: unlike
// copyFile it does not fsync, and the copy is writable (buntdb opens its
// file for writing) whatever the original's mode.
func copyScratch(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// compareDumps walks the dumps of the file and the fold side by side (both
// are in key order) and counts and lists what differs into rep.
func compareDumps(file, fold *projections.Store, rep *events.ProjectionsReport) error {
	a, b := dumpLines(file), dumpLines(fold)
	defer a.close()
	defer b.close()
	ka, va, err := a.next()
	if err != nil {
		return err
	}
	kb, vb, err := b.next()
	if err != nil {
		return err
	}
	note := func(d events.ProjectionDiff) {
		if len(rep.Diffs) < MaxProjectionDiffs {
			d.File, d.Fold = clip(d.File), clip(d.Fold)
			rep.Diffs = append(rep.Diffs, d)
		}
	}
	for ka != nil || kb != nil {
		rep.Keys++
		switch {
		case kb == nil || ka != nil && *ka < *kb:
			rep.Stray++
			note(events.ProjectionDiff{Key: *ka, What: "stray", File: va})
			if ka, va, err = a.next(); err != nil {
				return err
			}
			continue
		case ka == nil || *kb < *ka:
			rep.Missing++
			note(events.ProjectionDiff{Key: *kb, What: "missing", Fold: vb})
			if kb, vb, err = b.next(); err != nil {
				return err
			}
			continue
		case va != vb:
			rep.Changed++
			note(events.ProjectionDiff{Key: *ka, What: "changed", File: va, Fold: vb})
		}
		if ka, va, err = a.next(); err != nil {
			return err
		}
		if kb, vb, err = b.next(); err != nil {
			return err
		}
	}
	return nil
}

// clip cuts a value to maxDiffValue bytes for a report.
func clip(v string) string {
	if len(v) <= maxDiffValue {
		return v
	}
	n := maxDiffValue
	for n > 0 && !utf8.RuneStart(v[n]) { // never half a character
		n--
	}
	return v[:n] + "…"
}

// dump streams a store's Dump, one key and value at a time, so two large
// stores are compared without holding a second copy of either.
type dump struct {
	pr   *io.PipeReader
	rd   *bufio.Reader
	done chan error
}

func dumpLines(st *projections.Store) *dump {
	pr, pw := io.Pipe()
	d := &dump{pr: pr, rd: bufio.NewReaderSize(pr, 64<<10), done: make(chan error, 1)}
	go func() {
		err := st.Dump(pw)
		pw.CloseWithError(err)
		d.done <- err
	}()
	return d
}

// next returns the next key and value; a nil key at the end.
func (d *dump) next() (*string, string, error) {
	line, err := d.rd.ReadString('\n')
	if err == io.EOF && line == "" {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading the projections: %w", err)
	}
	// Dump quotes both, so the one raw tab separates them.
	qk, qv, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
	if !ok {
		return nil, "", fmt.Errorf("reading the projections: a malformed dump line %q", clip(line))
	}
	k, err := strconv.Unquote(qk)
	if err != nil {
		return nil, "", fmt.Errorf("reading the projections: key %s: %w", clip(qk), err)
	}
	v, err := strconv.Unquote(qv)
	if err != nil {
		return nil, "", fmt.Errorf("reading the projections: value of %q: %w", k, err)
	}
	return &k, v, nil
}

// close stops the Dump if it has not finished, and waits for it.
func (d *dump) close() {
	d.pr.CloseWithError(errors.New("comparison over"))
	<-d.done
}
