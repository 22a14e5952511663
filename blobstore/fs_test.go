package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/blobstore/blobstoretest"
	"github.com/cairnhq/cairn/schema"
)

func TestFS_Conformance(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) blobstore.Store {
		s, _ := openFS(t)
		return s
	})
}

// openFS opens an FS in a fresh directory and returns it with the directory.
func openFS(t *testing.T) (*blobstore.FS, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := blobstore.OpenFS(dir)
	if err != nil {
		t.Fatalf("OpenFS: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, dir
}

func blobPath(dir, digest string) string {
	return filepath.Join(dir, "sha256", digest[:2], digest[2:4], digest)
}

func wantNoTemps(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatalf("ReadDir(tmp): %v", err)
	}
	for _, e := range entries {
		t.Errorf("temp file left behind: %s", e.Name())
	}
}

func setModTime(t *testing.T, dir, digest string, mt time.Time) {
	t.Helper()
	if err := os.Chtimes(blobPath(dir, digest), mt, mt); err != nil {
		t.Fatalf("Chtimes: %v", err)
	}
}

func TestFS_Put(t *testing.T) {
	t.Run("Layout", func(t *testing.T) {
		s, dir := openFS(t)
		if _, err := s.Put(context.Background(), strings.NewReader("hello"), -1); err != nil {
			t.Fatalf("Put: %v", err)
		}
		p := filepath.Join(dir, "sha256", "2c", "f2", blobstoretest.HelloSHA256)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("blob not at %s: %v", p, err)
		}
		if string(b) != "hello" {
			t.Fatalf("blob file holds %q", b)
		}
		wantNoTemps(t, dir)
	})
	t.Run("NoTempAfterSuccess", func(t *testing.T) {
		s, dir := openFS(t)
		for i := range 3 {
			if _, err := s.Put(context.Background(), bytes.NewReader(blobstoretest.Random(1<<20, uint64(i%2))), -1); err != nil {
				t.Fatalf("Put #%d: %v", i, err)
			}
		}
		wantNoTemps(t, dir)
	})
	t.Run("NoTempAfterTooLarge", func(t *testing.T) {
		s, dir := openFS(t)
		_, err := s.Put(context.Background(), bytes.NewReader(blobstoretest.Random(1<<20, 1)), 1000)
		if !schema.IsKind(err, schema.KindTooLarge) {
			t.Fatalf("Put: err %v, want kind %v", err, schema.KindTooLarge)
		}
		wantNoTemps(t, dir)
	})
	t.Run("NoTempAfterSourceError", func(t *testing.T) {
		s, dir := openFS(t)
		boom := errors.New("boom")
		r := io.MultiReader(strings.NewReader("partial"), iotestErr{boom})
		_, err := s.Put(context.Background(), r, -1)
		if !errors.Is(err, boom) {
			t.Fatalf("Put: err %v, want it to wrap the source's error", err)
		}
		wantNoTemps(t, dir)
	})
	t.Run("SourceErrorKeepsKind", func(t *testing.T) {
		s, _ := openFS(t)
		srcErr := schema.Errorf(schema.KindTooLarge, "request body too large")
		_, err := s.Put(context.Background(), io.MultiReader(strings.NewReader("x"), iotestErr{srcErr}), -1)
		if !schema.IsKind(err, schema.KindTooLarge) {
			t.Fatalf("Put: err %v, want the source's kind %v", err, schema.KindTooLarge)
		}
	})
	t.Run("NoTempAfterCancel", func(t *testing.T) {
		s, dir := openFS(t)
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancelAfterRead{r: bytes.NewReader(blobstoretest.Random(2<<20, 2)), cancel: cancel}
		_, err := s.Put(ctx, r, -1)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put: err %v, want context.Canceled", err)
		}
		wantNoTemps(t, dir)
	})
	t.Run("DuplicateRefreshesModTime", func(t *testing.T) {
		s, dir := openFS(t)
		if _, err := s.Put(context.Background(), strings.NewReader("hello"), -1); err != nil {
			t.Fatalf("Put: %v", err)
		}
		old := time.Now().Add(-48 * time.Hour)
		setModTime(t, dir, blobstoretest.HelloSHA256, old)
		info, err := s.Put(context.Background(), strings.NewReader("hello"), -1)
		if err != nil {
			t.Fatalf("second Put: %v", err)
		}
		st, err := s.Stat(context.Background(), blobstoretest.HelloSHA256)
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if !st.ModTime.After(old.Add(time.Hour)) {
			t.Fatalf("ModTime %v not refreshed by a duplicate Put (was %v)", st.ModTime, old)
		}
		if !info.ModTime.Equal(st.ModTime) {
			t.Fatalf("Put's ModTime %v differs from Stat's %v", info.ModTime, st.ModTime)
		}
		wantNoTemps(t, dir)
	})
}

func TestFS_OpenFS(t *testing.T) {
	t.Run("CreatesLayout", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b")
		s, err := blobstore.OpenFS(dir)
		if err != nil {
			t.Fatalf("OpenFS: %v", err)
		}
		defer s.Close()
		for _, sub := range []string{"sha256", "tmp"} {
			if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
				t.Fatalf("%s: %v", sub, err)
			}
		}
	})
	t.Run("RemovesStaleTemps", func(t *testing.T) {
		dir := t.TempDir()
		tmp := filepath.Join(dir, "tmp")
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		stale, fresh := filepath.Join(tmp, "put-stale"), filepath.Join(tmp, "put-fresh")
		for _, p := range []string{stale, fresh} {
			if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(stale, old, old); err != nil {
			t.Fatal(err)
		}
		s, err := blobstore.OpenFS(dir)
		if err != nil {
			t.Fatalf("OpenFS: %v", err)
		}
		defer s.Close()
		if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("stale temp file: Stat err %v, want not exist", err)
		}
		if _, err := os.Stat(fresh); err != nil {
			t.Fatalf("fresh temp file (maybe another process's Put) removed: %v", err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		_, err := blobstore.OpenFS("")
		if !schema.IsKind(err, schema.KindInvalidArgument) {
			t.Fatalf("OpenFS(\"\"): err %v, want kind %v", err, schema.KindInvalidArgument)
		}
	})
	t.Run("NotADirectory", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := blobstore.OpenFS(f); err == nil {
			t.Fatal("OpenFS on a regular file: no error")
		}
	})
	t.Run("Reopen", func(t *testing.T) {
		s, dir := openFS(t)
		if _, err := s.Put(context.Background(), strings.NewReader("hello"), -1); err != nil {
			t.Fatalf("Put: %v", err)
		}
		s2, err := blobstore.OpenFS(dir)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer s2.Close()
		if got := blobstoretest.ReadAll(t, s2, blobstoretest.HelloSHA256); string(got) != "hello" {
			t.Fatalf("after reopen: got %q", got)
		}
	})
}

func TestFS_Walk(t *testing.T) {
	t.Run("SkipsForeignFiles", func(t *testing.T) {
		s, dir := openFS(t)
		if _, err := s.Put(context.Background(), strings.NewReader("hello"), -1); err != nil {
			t.Fatalf("Put: %v", err)
		}
		root := filepath.Join(dir, "sha256")
		other := strings.Repeat("ab", 32)
		junk := map[string]bool{ // path → is a directory
			filepath.Join(root, "README"):                             false,
			filepath.Join(root, "zz", "yy", other):                    false, // bad level names
			filepath.Join(root, "2C", "f2", other):                    false, // upper-case level
			filepath.Join(root, "2c", "f2", "notadigest"):             false,
			filepath.Join(root, "2c", "f2", other):                    false, // wrong prefix dirs
			filepath.Join(root, "2c", "f2", strings.ToUpper(other)):   false,
			filepath.Join(root, "ab", "ab", strings.Repeat("ab", 32)): true, // a directory, not a file
			filepath.Join(root, "2c", "f2", "x"+other[:63]):           false,
		}
		for p, isDir := range junk {
			if isDir {
				if err := os.MkdirAll(p, 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		got := blobstoretest.Walk(t, s)
		if len(got) != 1 || got[0].SHA256 != blobstoretest.HelloSHA256 || got[0].Size != 5 {
			t.Fatalf("Walk: %+v, want only %s", got, blobstoretest.HelloSHA256)
		}
		// A directory bearing a digest's name is not a blob.
		if _, err := s.Stat(context.Background(), other); !schema.IsKind(err, schema.KindNotFound) {
			t.Fatalf("Stat of a directory: err %v, want kind %v", err, schema.KindNotFound)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		s, _ := openFS(t)
		if _, err := s.Put(context.Background(), strings.NewReader("hello"), -1); err != nil {
			t.Fatalf("Put: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.Walk(ctx, func(blobstore.Info) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Walk: err %v, want context.Canceled", err)
		}
	})
}

func TestCollectOrphans(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const grace = time.Hour

	// setup stores four blobs with the given ages and returns their digests
	// by name.
	setup := func(t *testing.T) (*blobstore.FS, string, map[string]string) {
		s, dir := openFS(t)
		ages := map[string]time.Duration{
			"oldOrphan":     2 * time.Hour,
			"oldReferenced": 3 * time.Hour,
			"youngOrphan":   10 * time.Minute,
			"atCutoff":      grace, // exactly now-grace: not older, kept
		}
		digests := map[string]string{}
		for name, age := range ages {
			info, err := s.Put(context.Background(), strings.NewReader(name), -1)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			setModTime(t, dir, info.SHA256, now.Add(-age))
			digests[name] = info.SHA256
		}
		return s, dir, digests
	}

	t.Run("RemovesOnlyOldUnreferenced", func(t *testing.T) {
		s, _, d := setup(t)
		var asked []string
		referenced := func(digest string) (bool, error) {
			asked = append(asked, digest)
			return digest == d["oldReferenced"], nil
		}
		removed, err := blobstore.CollectOrphans(context.Background(), s, referenced, grace, now)
		if err != nil {
			t.Fatalf("CollectOrphans: %v", err)
		}
		if removed != 1 {
			t.Fatalf("removed %d, want 1", removed)
		}
		var left []string
		for _, info := range blobstoretest.Walk(t, s) {
			left = append(left, info.SHA256)
		}
		want := []string{d["oldReferenced"], d["youngOrphan"], d["atCutoff"]}
		slices.Sort(left)
		slices.Sort(want)
		if !slices.Equal(left, want) {
			t.Fatalf("left %v, want %v", left, want)
		}
		for _, name := range []string{"youngOrphan", "atCutoff"} {
			if slices.Contains(asked, d[name]) {
				t.Errorf("referenced asked about %s, younger than the grace period", name)
			}
		}
	})
	t.Run("ZeroGrace", func(t *testing.T) {
		s, _, _ := setup(t)
		removed, err := blobstore.CollectOrphans(context.Background(), s,
			func(string) (bool, error) { return false, nil }, 0, now)
		if err != nil || removed != 4 {
			t.Fatalf("CollectOrphans: removed %d, err %v; want 4, nil", removed, err)
		}
	})
	t.Run("ReferencedError", func(t *testing.T) {
		s, _, _ := setup(t)
		boom := errors.New("boom")
		removed, err := blobstore.CollectOrphans(context.Background(), s,
			func(string) (bool, error) { return false, boom }, grace, now)
		if !errors.Is(err, boom) || removed != 0 {
			t.Fatalf("CollectOrphans: removed %d, err %v; want 0 and the referenced error", removed, err)
		}
		if got := blobstoretest.Walk(t, s); len(got) != 4 {
			t.Fatalf("Walk: %d blobs, want 4 (nothing deleted)", len(got))
		}
	})
	t.Run("ReusedDuringCollection", func(t *testing.T) {
		// A Put of an orphan's bytes between the walk and the delete
		// refreshes its ModTime, so the re-check keeps it.
		s, _, d := setup(t)
		referenced := func(digest string) (bool, error) {
			if digest == d["oldOrphan"] {
				if _, err := s.Put(context.Background(), strings.NewReader("oldOrphan"), -1); err != nil {
					return false, err
				}
			}
			return false, nil
		}
		// The real clock is far past the fixed now, so use it here.
		realNow := time.Now()
		removed, err := blobstore.CollectOrphans(context.Background(), s, referenced, grace, realNow)
		if err != nil {
			t.Fatalf("CollectOrphans: %v", err)
		}
		if _, err := s.Stat(context.Background(), d["oldOrphan"]); err != nil {
			t.Fatalf("re-used blob deleted: Stat err %v", err)
		}
		if removed != 3 {
			t.Fatalf("removed %d, want 3", removed)
		}
	})
	t.Run("NegativeGrace", func(t *testing.T) {
		s, _, _ := setup(t)
		_, err := blobstore.CollectOrphans(context.Background(), s,
			func(string) (bool, error) { return false, nil }, -time.Second, now)
		if !schema.IsKind(err, schema.KindInvalidArgument) {
			t.Fatalf("CollectOrphans: err %v, want kind %v", err, schema.KindInvalidArgument)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		s, _, _ := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		removed, err := blobstore.CollectOrphans(ctx, s,
			func(string) (bool, error) { return false, nil }, grace, now)
		if !errors.Is(err, context.Canceled) || removed != 0 {
			t.Fatalf("CollectOrphans: removed %d, err %v; want 0, context.Canceled", removed, err)
		}
		if got := blobstoretest.Walk(t, s); len(got) != 4 {
			t.Fatalf("Walk: %d blobs, want 4", len(got))
		}
	})
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }

// cancelAfterRead cancels its context after the first Read.
type cancelAfterRead struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelAfterRead) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

func TestFS_Damage(t *testing.T) {
	blobstoretest.RunDamage(t, func(t *testing.T) blobstore.Store {
		s, _ := openFS(t)
		return s
	}, func(t *testing.T, s blobstore.Store, digest string, d blobstoretest.Damage) {
		t.Helper()
		damageFile(t, blobPath(s.(*blobstore.FS).Root(), digest), d)
	})
}

// damageFile damages a blob file as d says.
func damageFile(t *testing.T, p string, d blobstoretest.Damage) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	switch d {
	case blobstoretest.Flip:
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 1)
		off := fi.Size() - 10
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0xff
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	case blobstoretest.Truncate:
		if err := os.Truncate(p, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	case blobstoretest.Remove:
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFS_Quarantine: a damaged blob is moved into quarantine/, never
// deleted, and the sound copy a Put writes is a new file.
func TestFS_Quarantine(t *testing.T) {
	s, dir := openFS(t)
	data := bytes.Repeat([]byte("cairn "), 20_000)
	info, err := s.Put(context.Background(), bytes.NewReader(data), -1)
	if err != nil {
		t.Fatal(err)
	}
	damageFile(t, blobPath(dir, info.SHA256), blobstoretest.Flip)
	if _, err := s.Open(context.Background(), info.SHA256); !errors.Is(err, blobstore.ErrDamaged) {
		t.Fatalf("Open of a flipped blob: %v, want ErrDamaged", err)
	}
	q, err := os.ReadDir(filepath.Join(dir, "quarantine"))
	if err != nil || len(q) != 1 || !strings.HasPrefix(q[0].Name(), info.SHA256+".") {
		t.Fatalf("quarantine/: %v, %v; want one file named after %s", q, err, info.SHA256)
	}
	kept, err := os.ReadFile(filepath.Join(dir, "quarantine", q[0].Name()))
	if err != nil || len(kept) != len(data) || bytes.Equal(kept, data) {
		t.Fatalf("quarantined file: %d bytes, err %v; want the damaged %d bytes", len(kept), err, len(data))
	}
	if got := blobstoretest.Walk(t, s); len(got) != 0 {
		t.Fatalf("Walk: %d blobs, want none (quarantine is not the store)", len(got))
	}
}
