package blobstore_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// linkFixture puts three blobs in a store at src and leaves a Put in
// progress in its tmp/; it returns the store and the blobs' digests.
func linkFixture(t *testing.T, src string) (*blobstore.FS, map[string][]byte) {
	t.Helper()
	s, err := blobstore.OpenFS(src)
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string][]byte{}
	for _, b := range [][]byte{[]byte("one"), bytes.Repeat([]byte("two"), 50000), {}} {
		info, err := s.Put(context.Background(), bytes.NewReader(b), -1)
		if err != nil {
			t.Fatal(err)
		}
		blobs[info.SHA256] = b
	}
	if err := os.WriteFile(filepath.Join(src, "tmp", "put-inprogress"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, blobs
}

// checkLinked checks that dst holds exactly blobs, each readable.
func checkLinked(t *testing.T, dst *blobstore.FS, blobs map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	n := 0
	if err := dst.Walk(ctx, func(blobstore.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(blobs) {
		t.Errorf("dst holds %d blobs, want %d", n, len(blobs))
	}
	for d, want := range blobs {
		r, err := dst.Open(ctx, d)
		if err != nil {
			t.Fatalf("open %s in dst: %v", d, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("blob %s in dst: %d bytes (%v), want %d", d, len(got), err, len(want))
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dst.Root(), "tmp")); len(entries) != 0 {
		t.Errorf("dst's tmp/ holds %d entries, want none (puts in progress stay behind)", len(entries))
	}
}

func TestFS_LinkInto(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	src, blobs := linkFixture(t, filepath.Join(root, "src"))
	dst, err := blobstore.OpenFS(filepath.Join(root, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := src.LinkInto(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, b := range blobs {
		size += int64(len(b))
	}
	if st.Blobs != len(blobs) || st.Linked != len(blobs) || st.Bytes != size {
		t.Errorf("stats %+v, want %d blobs, all linked, %d bytes", st, len(blobs), size)
	}
	checkLinked(t, dst, blobs)
	for d := range blobs {
		a, errA := os.Stat(filepath.Join(src.Root(), "sha256", d[:2], d[2:4], d))
		b, errB := os.Stat(filepath.Join(dst.Root(), "sha256", d[:2], d[2:4], d))
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			t.Errorf("blob %s is not a hard link of the source's (%v, %v)", d, errA, errB)
		}
	}
	// Again: what dst holds already is left as it is.
	if st, err := src.LinkInto(ctx, dst); err != nil || st.Blobs != len(blobs) {
		t.Errorf("second LinkInto: %+v, %v", st, err)
	}
	checkLinked(t, dst, blobs)
}

// TestFS_LinkInto_AcrossFilesystems copies where a hard link cannot be
// made: it needs a directory on another filesystem than the test's
// temporary one (/dev/shm, a tmpfs, on most Linux machines).
func TestFS_LinkInto_AcrossFilesystems(t *testing.T) {
	other := os.Getenv("CAIRN_TEST_OTHER_FS")
	if other == "" {
		other = "/dev/shm"
	}
	root := t.TempDir()
	var a, b syscall.Stat_t
	if syscall.Stat(root, &a) != nil || syscall.Stat(other, &b) != nil || a.Dev == b.Dev {
		t.Skipf("no directory on another filesystem than %s (tried %s; set CAIRN_TEST_OTHER_FS)", root, other)
	}
	far, err := os.MkdirTemp(other, "cairn-link-test-")
	if err != nil {
		t.Skipf("cannot write in %s: %v", other, err)
	}
	t.Cleanup(func() { os.RemoveAll(far) })
	src, blobs := linkFixture(t, filepath.Join(root, "src"))
	dst, err := blobstore.OpenFS(filepath.Join(far, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := src.LinkInto(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Blobs != len(blobs) || st.Linked != 0 {
		t.Errorf("stats %+v, want %d blobs, every one copied", st, len(blobs))
	}
	checkLinked(t, dst, blobs)
}

func TestFS_OpenFSReadOnly(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	src := filepath.Join(root, "src")
	_, blobs := linkFixture(t, src)
	stale := filepath.Join(src, "tmp", "put-inprogress")
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	ro, err := blobstore.OpenFSReadOnly(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("a read-only open removed a stale temp file: %v", err)
	}
	if _, err := ro.Put(ctx, strings.NewReader("new"), -1); !schema.IsKind(err, schema.KindForbidden) {
		t.Errorf("Put on a read-only store: %v, want KindForbidden", err)
	}
	for d := range blobs {
		if err := ro.Delete(ctx, d); !schema.IsKind(err, schema.KindForbidden) {
			t.Errorf("Delete on a read-only store: %v, want KindForbidden", err)
		}
	}
	dst, err := blobstore.OpenFS(filepath.Join(root, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.LinkInto(ctx, dst); err != nil {
		t.Fatal(err)
	}
	checkLinked(t, dst, blobs)
	if _, err := blobstore.OpenFSReadOnly(filepath.Join(root, "none")); !schema.IsKind(err, schema.KindNotFound) {
		t.Errorf("read-only open of a directory without a store: %v, want KindNotFound", err)
	}
}
