package datadir_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// verifyProjections runs VerifyDir on dir and returns its projections
// report, checking that VerifyDir left projections.db as it was and that
// the report's OK follows the projections' (the fixture's log references
// blobs it does not hold, so its breaks are set aside).
func verifyProjections(t *testing.T, dir string) *events.ProjectionsReport {
	t.Helper()
	path := filepath.Join(dir, datadir.ProjectionsFile)
	before, _ := os.ReadFile(path)
	rep, err := datadir.VerifyDir(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("VerifyDir: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatalf("VerifyDir changed %s", datadir.ProjectionsFile)
	}
	if rep.Projections == nil {
		t.Fatal("VerifyDir of a data directory reported nothing on its projections")
	}
	noBreaks := *rep
	noBreaks.Breaks = nil
	if noBreaks.OK() != rep.Projections.OK() {
		t.Errorf("report OK %v, its projections OK %v", noBreaks.OK(), rep.Projections.OK())
	}
	return rep.Projections
}

// editProjections changes the data directory's projections file with
// buntdb itself, as a hand (or a bug) outside the fold would.
func editProjections(t *testing.T, dir string, edit func(tx *buntdb.Tx) error) {
	t.Helper()
	db, err := buntdb.Open(filepath.Join(dir, datadir.ProjectionsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(edit); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// rebuild refolds the data directory's projections, undoing an edit.
func rebuild(t *testing.T, dir string) {
	t.Helper()
	if _, err := datadir.Rebuild(context.Background(), dir, nil); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyDir_Projections(t *testing.T) {
	f := writeDir(t)
	last := uint64(len(f.evs))

	// before a server ever ran: nothing to compare, and nothing wrong
	if p := verifyProjections(t, f.dir); p.Compared || !p.OK() || !strings.Contains(p.Note, "no projections.db") {
		t.Fatalf("no projections file: %+v", p)
	}

	rebuild(t, f.dir)
	clean := verifyProjections(t, f.dir)
	if !clean.Compared || !clean.OK() || clean.Applied != last || clean.Keys < 10 || clean.Note != "" {
		t.Fatalf("freshly rebuilt projections: %+v", clean)
	}

	// a changed value: an object's size
	objKey := schema.ObjectKey("photos", "a.txt")
	size := regexp.MustCompile(`"size":(\d+)`)
	var was, now string
	editProjections(t, f.dir, func(tx *buntdb.Tx) error {
		v, err := tx.Get(objKey)
		if err != nil {
			return err
		}
		was, now = v, size.ReplaceAllString(v, `"size":${1}1`)
		_, _, err = tx.Set(objKey, now, nil)
		return err
	})
	if was == now {
		t.Fatalf("%q has no size: %s", objKey, was)
	}
	p := verifyProjections(t, f.dir)
	if p.OK() || p.Changed != 1 || p.Missing+p.Stray != 0 || len(p.Diffs) != 1 ||
		p.Diffs[0] != (events.ProjectionDiff{Key: objKey, What: "changed", File: now, Fold: was}) {
		t.Errorf("a changed size: %+v", p)
	}

	// a deleted key
	rebuild(t, f.dir)
	editProjections(t, f.dir, func(tx *buntdb.Tx) error {
		_, err := tx.Delete(objKey)
		return err
	})
	if p := verifyProjections(t, f.dir); p.OK() || p.Missing != 1 || p.Changed+p.Stray != 0 || len(p.Diffs) != 1 ||
		p.Diffs[0].Key != objKey || p.Diffs[0].What != "missing" || p.Diffs[0].Fold != was || p.Keys != clean.Keys {
		t.Errorf("a deleted key: %+v", p)
	}

	// a stray key
	rebuild(t, f.dir)
	stray := schema.ObjectKey("photos", "never-written")
	editProjections(t, f.dir, func(tx *buntdb.Tx) error {
		_, _, err := tx.Set(stray, was, nil)
		return err
	})
	if p := verifyProjections(t, f.dir); p.OK() || p.Stray != 1 || p.Changed+p.Missing != 0 || len(p.Diffs) != 1 ||
		p.Diffs[0].Key != stray || p.Diffs[0].What != "stray" || p.Diffs[0].File != was || p.Keys != clean.Keys+1 {
		t.Errorf("a stray key: %+v", p)
	}

	// every key but the checkpoint and the layout gone: all counted, the
	// first few listed
	rebuild(t, f.dir)
	editProjections(t, f.dir, func(tx *buntdb.Tx) error {
		var keys []string
		_ = tx.Ascend("", func(k, _ string) bool {
			if k != schema.KeyApplied && k != schema.KeyLayout {
				keys = append(keys, k)
			}
			return true
		})
		for _, k := range keys {
			if _, err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if p := verifyProjections(t, f.dir); p.OK() || p.Missing != clean.Keys-2 ||
		len(p.Diffs) != min(clean.Keys-2, datadir.MaxProjectionDiffs) {
		t.Errorf("every key deleted (%d keys): missing %d, %d listed", clean.Keys, p.Missing, len(p.Diffs))
	}

	// ahead of the log: said so, not compared key by key
	rebuild(t, f.dir)
	editProjections(t, f.dir, func(tx *buntdb.Tx) error {
		_, _, err := tx.Set(schema.KeyApplied, "1000", nil)
		return err
	})
	if p := verifyProjections(t, f.dir); p.OK() || p.Compared || !strings.Contains(p.Problem, "ahead of the log") || len(p.Diffs) != 0 {
		t.Errorf("projections ahead of the log: %+v", p)
	}

	// behind the log: said so, compared where they are
	mid := last / 2
	foldUntil(t, f.dir, mid)
	if p := verifyProjections(t, f.dir); !p.OK() || !p.Compared || p.Applied != mid || !strings.Contains(p.Note, "behind the log") {
		t.Errorf("projections behind the log: %+v", p)
	}

	// a file buntdb cannot read
	if err := os.WriteFile(filepath.Join(f.dir, datadir.ProjectionsFile), []byte("this is not a buntdb file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p := verifyProjections(t, f.dir); p.OK() || p.Compared || !strings.Contains(p.Problem, "cannot be read") {
		t.Errorf("an unreadable file: %+v", p)
	}
}

// foldUntil replaces dir's projections with the log folded up to seq.
func foldUntil(t *testing.T, dir string, seq uint64) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, datadir.ProjectionsFile)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: dir, SyncAlways: true, Name: "datadir-fold-until"})
	if err != nil {
		t.Fatal(err)
	}
	defer jl.Close()
	st, err := projections.Open(path, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CatchUp(ctx, jl, seq, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
