package cache

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// The Store's contract, one case per behaviour, each on a fresh store in
// its own directory (TestStore_<Method>/<Case>).

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T, dir string, o StoreOptions) *Store {
	t.Helper()
	s, err := OpenStore(dir, o)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	return s
}

func newStore(t *testing.T, maxBytes int64) *Store {
	return openStore(t, t.TempDir(), StoreOptions{MaxBytes: maxBytes, Owner: "svc@1"})
}

// put commits data as the copy of path, used at used; it returns the
// entry and whether it was kept.
func put(t *testing.T, s *Store, path, data string, used time.Time, o CommitOptions) (Entry, bool) {
	t.Helper()
	w, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	return commit(t, w, path, data, used, o)
}

func commit(t *testing.T, w *Writer, path, data string, used time.Time, o CommitOptions) (Entry, bool) {
	t.Helper()
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatal(err)
	}
	e, f, kept, err := w.Commit(Entry{Path: path, ID: "v-" + path, ETag: w.MD5(), Fetched: used, Used: used}, o)
	if err != nil {
		t.Fatalf("Commit %s: %v", path, err)
	}
	if got := readFile(t, f); got != data {
		t.Fatalf("Commit %s: the returned file holds %q, want %q", path, got, data)
	}
	return e, kept
}

func readFile(t *testing.T, f *os.File) string {
	t.Helper()
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// get reads the copy of path ("" and false when there is none).
func get(t *testing.T, s *Store, path string, now time.Time) (string, bool) {
	t.Helper()
	_, f, ok := s.Get(path, now)
	if !ok {
		return "", false
	}
	return readFile(t, f), true
}

func paths(s *Store) []string {
	var out []string
	for _, e := range s.List("", "", "", 1<<20).Files {
		out = append(out, e.Path)
	}
	return out
}

func TestStore_Commit(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t, 0)
		e, kept := put(t, s, "a/b.txt", "hello", t0, CommitOptions{})
		if !kept || e.Size != 5 || e.ETag != "5d41402abc4b2a76b9719d911017c592" || !validFileID(e.File) {
			t.Fatalf("entry %+v kept %v", e, kept)
		}
		if got, ok := get(t, s, "a/b.txt", t0); !ok || got != "hello" {
			t.Fatalf("Get = %q, %v", got, ok)
		}
		if files, bytes := s.Usage(); files != 1 || bytes != 5 {
			t.Fatalf("Usage = %d, %d", files, bytes)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		s := newStore(t, 0)
		first, _ := put(t, s, "p", "old bytes", t0, CommitOptions{})
		_, f, _ := s.Get("p", t0) // a reader of the old copy
		put(t, s, "p", "new", t0, CommitOptions{})
		if got, _ := get(t, s, "p", t0); got != "new" {
			t.Fatalf("after replace: %q", got)
		}
		if _, err := os.Stat(s.filePath(first.File)); !os.IsNotExist(err) {
			t.Errorf("the old content file is still there: %v", err)
		}
		if got := readFile(t, f); got != "old bytes" {
			t.Errorf("a reader of the replaced copy read %q", got)
		}
		if files, bytes := s.Usage(); files != 1 || bytes != 3 {
			t.Fatalf("Usage = %d, %d", files, bytes)
		}
	})
	t.Run("LargerThanTheBound", func(t *testing.T) {
		s := newStore(t, 4)
		if _, kept := put(t, s, "big", "12345", t0, CommitOptions{}); kept {
			t.Fatal("a copy larger than the bound was kept")
		}
		if _, ok := s.Peek("big"); ok {
			t.Fatal("indexed")
		}
		assertNoStrayFiles(t, s, 0)
	})
	t.Run("FillAfterFlushOrRemove", func(t *testing.T) {
		s := newStore(t, 0)
		for _, drop := range []func(){func() { s.Flush() }, func() { _, _, _ = s.Remove("x", nil) }} {
			put(t, s, "x", "x", t0, CommitOptions{})
			gen := s.Generation()
			w, _ := s.Create()
			drop()
			if _, kept := commit(t, w, "y", "fill", t0, CommitOptions{Fill: true, Gen: gen}); kept {
				t.Fatal("a fill begun before a flush or remove was kept")
			}
			put(t, s, "x", "x", t0, CommitOptions{})
			w, _ = s.Create()
			drop()
			if _, kept := commit(t, w, "z", "upload", t0, CommitOptions{}); !kept {
				t.Fatal("an upload begun before a flush or remove was not kept")
			}
			s.Flush()
		}
	})
	t.Run("Check", func(t *testing.T) {
		s := newStore(t, 0)
		refuse := schema.Errorf(schema.KindPreconditionFailed, "no")
		w, _ := s.Create()
		_, _ = io.WriteString(w, "data")
		var saw *Entry
		if _, _, _, err := w.Commit(Entry{Path: "p"}, CommitOptions{Check: func(cur *Entry) error { saw = cur; return refuse }}); err != refuse {
			t.Fatalf("Commit with a refusing check: %v", err)
		}
		if saw != nil {
			t.Fatalf("check saw a current copy %+v of an empty store", saw)
		}
		assertNoStrayFiles(t, s, 0)
		put(t, s, "p", "one", t0, CommitOptions{})
		w, _ = s.Create()
		_, _ = io.WriteString(w, "two")
		if _, _, _, err := w.Commit(Entry{Path: "p"}, CommitOptions{Check: func(cur *Entry) error { saw = cur; return nil }}); err != nil {
			t.Fatal(err)
		}
		if saw == nil || saw.Size != 3 {
			t.Fatalf("check saw %+v, want the copy of 3 bytes", saw)
		}
	})
	t.Run("Abort", func(t *testing.T) {
		s := newStore(t, 0)
		w, _ := s.Create()
		_, _ = io.WriteString(w, "partial")
		w.Abort()
		w.Abort()
		if _, _, _, err := w.Commit(Entry{Path: "p"}, CommitOptions{}); err == nil {
			t.Fatal("Commit after Abort succeeded")
		}
		if des, _ := os.ReadDir(s.tmp); len(des) != 0 {
			t.Fatalf("temp files left: %v", des)
		}
	})
}

// assertNoStrayFiles checks that the content files are exactly the
// indexed copies' (want of them).
func assertNoStrayFiles(t *testing.T, s *Store, want int) {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(s.files, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if files, _ := s.Usage(); n != want || int(files) != want {
		t.Fatalf("%d content files and %d copies, want %d", n, files, want)
	}
}

func TestStore_Evict(t *testing.T) {
	t.Run("LeastRecentlyUsedFirst", func(t *testing.T) {
		s := newStore(t, 12)
		put(t, s, "a", "aaaa", t0, CommitOptions{})
		put(t, s, "b", "bbbb", t0.Add(time.Second), CommitOptions{})
		put(t, s, "c", "cccc", t0.Add(2*time.Second), CommitOptions{})
		get(t, s, "a", t0.Add(3*time.Second)) // a is now the most recently used
		put(t, s, "d", "dddd", t0.Add(4*time.Second), CommitOptions{})
		if got := paths(s); !slices.Equal(got, []string{"a", "c", "d"}) {
			t.Fatalf("after eviction: %v, want [a c d] (b was least recently used)", got)
		}
		put(t, s, "e", "eeeeeeee", t0.Add(5*time.Second), CommitOptions{})
		if got := paths(s); !slices.Equal(got, []string{"d", "e"}) {
			t.Fatalf("after a larger fill: %v, want [d e]", got)
		}
		if s.Evicted() != 3 {
			t.Errorf("Evicted = %d, want 3", s.Evicted())
		}
		assertNoStrayFiles(t, s, 2)
	})
	t.Run("PeekDoesNotTouch", func(t *testing.T) {
		s := newStore(t, 8)
		put(t, s, "a", "aaaa", t0, CommitOptions{})
		put(t, s, "b", "bbbb", t0, CommitOptions{})
		s.Peek("a")
		s.List("", "", "", 10)
		put(t, s, "c", "cccc", t0, CommitOptions{})
		if got := paths(s); !slices.Equal(got, []string{"b", "c"}) {
			t.Fatalf("%v, want [b c]", got)
		}
	})
	t.Run("SetMaxBytes", func(t *testing.T) {
		s := newStore(t, 0)
		for i, p := range []string{"a", "b", "c", "d"} {
			put(t, s, p, "xx", t0.Add(time.Duration(i)*time.Second), CommitOptions{})
		}
		s.SetMaxBytes(5)
		if got := paths(s); !slices.Equal(got, []string{"c", "d"}) {
			t.Fatalf("%v, want [c d]", got)
		}
		s.SetMaxBytes(0)
		put(t, s, "e", strings.Repeat("e", 100), t0, CommitOptions{})
		if files, _ := s.Usage(); files != 3 {
			t.Fatalf("no bound: %d copies", files)
		}
	})
}

func TestStore_ExpireUnused(t *testing.T) {
	s := newStore(t, 0)
	put(t, s, "old", "1", t0, CommitOptions{})
	put(t, s, "used", "2", t0, CommitOptions{})
	put(t, s, "new", "3", t0.Add(time.Hour), CommitOptions{})
	get(t, s, "used", t0.Add(90*time.Minute))
	if n := s.ExpireUnused(t0.Add(30 * time.Minute)); n != 1 {
		t.Fatalf("expired %d, want 1", n)
	}
	if got := paths(s); !slices.Equal(got, []string{"new", "used"}) {
		t.Fatalf("%v", got)
	}
	if e, _ := s.Peek("used"); !e.Used.Equal(t0.Add(90 * time.Minute)) {
		t.Errorf("Used = %v", e.Used)
	}
	assertNoStrayFiles(t, s, 2)
}

func TestStore_Remove(t *testing.T) {
	s := newStore(t, 0)
	put(t, s, "p", "data", t0, CommitOptions{})
	no := schema.Errorf(schema.KindPreconditionFailed, "no")
	if _, ok, err := s.Remove("p", func(Entry) error { return no }); !ok || err != no {
		t.Fatalf("a refused remove: %v %v", ok, err)
	}
	if e, ok, err := s.Remove("p", nil); !ok || err != nil || e.Size != 4 {
		t.Fatalf("Remove: %+v %v %v", e, ok, err)
	}
	if _, ok, _ := s.Remove("p", nil); ok {
		t.Fatal("removed twice")
	}
	assertNoStrayFiles(t, s, 0)
}

func TestStore_Flush(t *testing.T) {
	s := newStore(t, 0)
	for i := range 5 {
		put(t, s, fmt.Sprint(i), "x", t0, CommitOptions{})
	}
	if n := s.Flush(); n != 5 {
		t.Fatalf("Flush = %d", n)
	}
	if n := s.Flush(); n != 0 {
		t.Fatalf("Flush again = %d", n)
	}
	assertNoStrayFiles(t, s, 0)
}

func TestStore_Update(t *testing.T) {
	s := newStore(t, 0)
	e, _ := put(t, s, "p", "data", t0, CommitOptions{})
	if !s.Update("p", e.File, func(e *Entry) { e.Fetched = t0.Add(time.Hour); e.File = "bogus" }) {
		t.Fatal("Update of the current copy failed")
	}
	if got, _ := s.Peek("p"); !got.Fetched.Equal(t0.Add(time.Hour)) || got.File != e.File {
		t.Fatalf("after Update: %+v", got)
	}
	put(t, s, "p", "newer", t0, CommitOptions{})
	if s.Update("p", e.File, func(*Entry) {}) {
		t.Fatal("Update of a replaced copy succeeded")
	}
}

func TestStore_GetLostFile(t *testing.T) {
	s := newStore(t, 0)
	e, _ := put(t, s, "p", "data", t0, CommitOptions{})
	if err := os.Remove(s.filePath(e.File)); err != nil {
		t.Fatal(err)
	}
	if _, ok := get(t, s, "p", t0); ok {
		t.Fatal("served a copy whose file is gone")
	}
	if files, bytes := s.Usage(); files != 0 || bytes != 0 {
		t.Fatalf("Usage = %d, %d", files, bytes)
	}
}

func TestStore_List(t *testing.T) {
	s := newStore(t, 0)
	for _, p := range []string{"a/1", "a/2", "a/b/3", "a-b", "b", "c/x/y", "z"} {
		put(t, s, p, p, t0, CommitOptions{})
	}
	type page struct {
		files, prefixes []string
		next            string
	}
	list := func(prefix, delim, after string, limit int) page {
		p := s.List(prefix, delim, after, limit)
		var out page
		for _, e := range p.Files {
			out.files = append(out.files, e.Path)
		}
		out.prefixes, out.next = p.Prefixes, p.Next
		if p.Truncated != (p.Next != "") {
			t.Errorf("Truncated %v with Next %q", p.Truncated, p.Next)
		}
		return out
	}
	for _, c := range []struct {
		prefix, delim, after string
		limit                int
		want                 page
	}{
		{"", "", "", 0, page{files: []string{"a-b", "a/1", "a/2", "a/b/3", "b", "c/x/y", "z"}}},
		{"", "/", "", 0, page{files: []string{"a-b", "b", "z"}, prefixes: []string{"a/", "c/"}}},
		{"a/", "/", "", 0, page{files: []string{"a/1", "a/2"}, prefixes: []string{"a/b/"}}},
		{"", "/", "", 2, page{files: []string{"a-b"}, prefixes: []string{"a/"}, next: "a/"}},
		{"", "/", "a/", 2, page{files: []string{"b"}, prefixes: []string{"c/"}, next: "c/"}},
		{"", "/", "c/", 2, page{files: []string{"z"}}},
		{"", "", "a/2", 2, page{files: []string{"a/b/3", "b"}, next: "b"}},
		{"nothing", "", "", 0, page{}},
	} {
		if got := list(c.prefix, c.delim, c.after, c.limit); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("List(%q, %q, %q, %d) = %+v, want %+v", c.prefix, c.delim, c.after, c.limit, got, c.want)
		}
	}
}

func TestStore_Reopen(t *testing.T) {
	t.Run("AfterClose", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, StoreOptions{Owner: "svc@1"})
		put(t, s, "a", "aaaa", t0, CommitOptions{})
		put(t, s, "b", "bbbb", t0, CommitOptions{})
		get(t, s, "a", t0.Add(time.Second)) // a most recently used
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, kept := put(t, s, "late", "x", t0, CommitOptions{}); kept {
			t.Fatal("a closed store kept a copy")
		}
		s = openStore(t, dir, StoreOptions{Owner: "svc@1", MaxBytes: 8})
		if got, ok := get(t, s, "b", t0); !ok || got != "bbbb" {
			t.Fatalf("b after reopening: %q %v", got, ok)
		}
		if e, _ := s.Peek("a"); !e.Used.Equal(t0.Add(time.Second)) || e.ETag != "74b87337454200d4d33f80c4663dc5e5" {
			t.Fatalf("a after reopening: %+v", e)
		}
		put(t, s, "c", "cccc", t0, CommitOptions{}) // evicts a: b was used since
		if got := paths(s); !slices.Equal(got, []string{"b", "c"}) {
			t.Fatalf("%v, want [b c]", got)
		}
		assertNoStrayFiles(t, s, 2)
		if _, err := os.Stat(filepath.Join(dir, snapshotName)); !os.IsNotExist(err) {
			t.Fatalf("the snapshot outlives the Open that read it: %v", err)
		}
	})
	t.Run("AfterCrash", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, StoreOptions{Owner: "svc@1"})
		put(t, s, "a", "aaaa", t0, CommitOptions{})
		_ = s.Close()
		s = openStore(t, dir, StoreOptions{Owner: "svc@1"})
		put(t, s, "b", "bbbb", t0, CommitOptions{})
		w, _ := s.Create()
		_, _ = io.WriteString(w, "half a fill")
		// no Close: the process died
		s = openStore(t, dir, StoreOptions{Owner: "svc@1"})
		if files, _ := s.Usage(); files != 0 {
			t.Fatalf("%d copies after a crash, want none", files)
		}
		assertNoStrayFiles(t, s, 0)
		if des, _ := os.ReadDir(s.tmp); len(des) != 0 {
			t.Fatalf("temp files left: %v", des)
		}
	})
	t.Run("OtherOwner", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, StoreOptions{Owner: "svc@1"})
		put(t, s, "a", "aaaa", t0, CommitOptions{})
		_ = s.Close()
		s = openStore(t, dir, StoreOptions{Owner: "svc@2"}) // deleted and created again
		if files, _ := s.Usage(); files != 0 {
			t.Fatalf("a new owner sees %d copies", files)
		}
		assertNoStrayFiles(t, s, 0)
	})
	t.Run("DamagedFiles", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, StoreOptions{Owner: "o"})
		a, _ := put(t, s, "a", "aaaa", t0, CommitOptions{})
		b, _ := put(t, s, "b", "bbbb", t0, CommitOptions{})
		put(t, s, "c", "cccc", t0, CommitOptions{})
		_ = s.Close()
		_ = os.Remove(s.filePath(a.File))
		_ = os.WriteFile(s.filePath(b.File), []byte("bb"), 0o600)
		s = openStore(t, dir, StoreOptions{Owner: "o"})
		if got := paths(s); !slices.Equal(got, []string{"c"}) {
			t.Fatalf("%v, want [c]", got)
		}
		assertNoStrayFiles(t, s, 1)
	})
	t.Run("Destroy", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "svc")
		s := openStore(t, dir, StoreOptions{})
		put(t, s, "a", "aaaa", t0, CommitOptions{})
		if err := s.Destroy(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("directory left: %v", err)
		}
	})
}

// Many writers, readers, removers and flushes at once: the bound holds,
// every read returns the bytes of some copy of its path, and in the end
// the files on disk are exactly the indexed copies.
func TestStore_Concurrent(t *testing.T) {
	s := newStore(t, 64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				p := fmt.Sprint(i % 13)
				switch i % 7 {
				case 0:
					_, _, _ = s.Remove(p, nil)
				case 1:
					if g == 0 && i%50 == 1 {
						s.Flush()
					}
				case 2, 3:
					if _, f, ok := s.Get(p, t0); ok {
						b, _ := io.ReadAll(f)
						f.Close()
						if !bytes.HasPrefix(b, []byte(p+":")) {
							t.Errorf("read %q for %s", b, p)
						}
					}
				default:
					w, err := s.Create()
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = fmt.Fprintf(w, "%s:%s", p, strings.Repeat("x", i%9))
					_, f, _, err := w.Commit(Entry{Path: p, Used: t0}, CommitOptions{Fill: i%2 == 0, Gen: s.Generation()})
					if err != nil {
						t.Error(err)
						return
					}
					f.Close()
				}
				if _, bytes := s.Usage(); bytes > 64 {
					t.Errorf("%d bytes held, bound 64", bytes)
				}
			}
		}()
	}
	wg.Wait()
	files, _ := s.Usage()
	assertNoStrayFiles(t, s, int(files))
}
