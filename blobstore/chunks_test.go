package blobstore

// Chunk digests (chunks.go): range reads of a blob larger than the
// whole-verify size are verified chunk by chunk. These tests are internal
// to the package to lower FS.wholeVerify, so that blobs of a few chunks
// are "large" and the tests stay fast.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chunkedWholeVerify is the whole-verify size of the tests' stores.
const chunkedWholeVerify = 1 << 20

// chunkedSize is the size of the tests' large blobs: three full chunks
// and a short last one.
const chunkedSize = 3*defaultChunkSize + 12_345

// openChunked opens a store in a fresh directory whose blobs larger than
// chunkedWholeVerify get chunk digests.
func openChunked(t *testing.T) *FS {
	t.Helper()
	s, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.wholeVerify = chunkedWholeVerify
	return s
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// putLarge stores a chunkedSize blob made from seed and returns its bytes
// and its file name.
func putLarge(t *testing.T, s *FS, seed uint64) ([]byte, string) {
	t.Helper()
	data := randomBytes(chunkedSize, seed)
	info, err := s.Put(context.Background(), bytes.NewReader(data), -1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.path(info.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return data, p
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// flipByte inverts the byte at off of file p.
func flipByte(t *testing.T, p string, off int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// readRange opens blob digest and reads n bytes at off with ReadAt.
func readRange(t *testing.T, s *FS, digest string, off int64, n int) ([]byte, error) {
	t.Helper()
	r, err := s.Open(context.Background(), digest)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, n)
	m, err := r.ReadAt(b, off)
	return b[:m], err
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantNoFile(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s: %v, want it gone", p, err)
	}
}

// TestFS_ReadAt_Chunks: a range read of a large blob checks each chunk it
// touches; one flipped byte in the middle chunk fails a read of that chunk
// (even of bytes beside the flip) with none of its bytes, quarantines the
// blob with its sidecar, and leaves the other chunks readable by readers
// that do not touch it.
func TestFS_ReadAt_Chunks(t *testing.T) {
	s := openChunked(t)
	data, p := putLarge(t, s, 1)
	digest := digestOf(data)
	want := readFile(t, chunksPath(p))
	sums, err := decodeChunks(want, digest)
	if err != nil || sums.count() != 4 || sums.size != chunkedSize || sums.chunk != defaultChunkSize {
		t.Fatalf("sidecar written by Put: %+v, %v; want 4 chunks of %d bytes", sums, err, chunkedSize)
	}

	// Sound: every range reads back right, across chunk boundaries too,
	// and a reader used in order gives the whole blob.
	mid := int64(defaultChunkSize + defaultChunkSize/2)
	for _, rg := range [][2]int64{{0, 100}, {mid - 50, 100}, {defaultChunkSize - 10, 20}, {chunkedSize - 7, 7}, {10, 3 * defaultChunkSize}} {
		got, err := readRange(t, s, digest, rg[0], int(rg[1]))
		if err != nil || !bytes.Equal(got, data[rg[0]:rg[0]+rg[1]]) {
			t.Fatalf("ReadAt(%d, %d) of a sound blob: %d bytes, %v", rg[0], rg[1], len(got), err)
		}
	}
	r, err := s.Open(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read in order: %d bytes, %v", len(got), err)
	}
	r.Close()

	// A reader opened before the damage, having read the first chunk.
	early, err := s.Open(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	if _, err := early.ReadAt(make([]byte, 10), 0); err != nil {
		t.Fatal(err)
	}

	flipByte(t, p, mid)
	if got, err := readRange(t, s, digest, 0, 100); err != nil || !bytes.Equal(got, data[:100]) {
		t.Fatalf("ReadAt of a sound chunk of a damaged blob: %d bytes, %v; want the right bytes", len(got), err)
	}
	if s.Quarantined() != 0 {
		t.Fatal("a read of a sound chunk quarantined the blob")
	}
	// 100 bytes of the damaged chunk that do not include the flipped one.
	got, err := readRange(t, s, digest, defaultChunkSize+10, 100)
	if !errors.Is(err, ErrDamaged) || len(got) != 0 {
		t.Fatalf("ReadAt of the damaged chunk: %d bytes, %v; want none and ErrDamaged", len(got), err)
	}
	if n := s.Quarantined(); n != 1 {
		t.Fatalf("Quarantined: %d, want 1", n)
	}
	wantNoFile(t, p)
	wantNoFile(t, chunksPath(p))
	q, _ := filepath.Glob(filepath.Join(s.dir, quarantineDirName, digest+".*"))
	if len(q) != 2 || !strings.HasSuffix(q[0]+q[1], chunksExt) {
		t.Fatalf("quarantine holds %v, want the blob and its sidecar", q)
	}
	// The early reader holds the file open: its read of the damaged chunk
	// fails too.
	if n, err := early.ReadAt(make([]byte, 10), mid); !errors.Is(err, ErrDamaged) || n != 0 {
		t.Fatalf("earlier reader, damaged chunk: %d bytes, %v; want ErrDamaged", n, err)
	}

	// Heal on write: the blob and its sidecar come back.
	if _, err := s.Put(context.Background(), bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, chunksPath(p)), want) {
		t.Fatal("the healing Put did not write the sidecar")
	}
	if got, err := readRange(t, s, digest, mid, 10); err != nil || !bytes.Equal(got, data[mid:mid+10]) {
		t.Fatalf("ReadAt after heal: %d bytes, %v", len(got), err)
	}
}

// TestFS_Open_ChunksSize: a trusted sidecar gives the blob's size, so a
// file cut short fails Open before any byte, whatever range is asked.
func TestFS_Open_ChunksSize(t *testing.T) {
	s := openChunked(t)
	data, p := putLarge(t, s, 2)
	if err := os.Truncate(p, chunkedSize-1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background(), digestOf(data)); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open of a blob shorter than its sidecar says: %v, want ErrDamaged", err)
	}
	if s.Quarantined() != 1 {
		t.Fatalf("Quarantined: %d, want 1", s.Quarantined())
	}
}

// TestFS_Chunks_DamagedSidecar: a damaged sidecar is detected and never
// trusted (a sound blob is not taken for damaged because of it); Verify
// and a Put of the same bytes each write a good one again.
func TestFS_Chunks_DamagedSidecar(t *testing.T) {
	for _, heal := range []string{"Verify", "Put"} {
		t.Run(heal, func(t *testing.T) {
			s := openChunked(t)
			data, p := putLarge(t, s, 3)
			digest := digestOf(data)
			good := readFile(t, chunksPath(p))
			// Flip a byte of the second chunk's digest: without the self
			// digest the sidecar would condemn a sound chunk.
			flipByte(t, chunksPath(p), chunksHeader+sha256.Size+5)
			if _, err := loadChunks(p, digest); !errors.Is(err, errBadChunks) {
				t.Fatalf("loadChunks of a damaged sidecar: %v, want errBadChunks", err)
			}
			off := int64(defaultChunkSize + 100)
			if got, err := readRange(t, s, digest, off, 1000); err != nil || !bytes.Equal(got, data[off:off+1000]) {
				t.Fatalf("ReadAt with a damaged sidecar: %d bytes, %v; want the right bytes", len(got), err)
			}
			if s.Quarantined() != 0 {
				t.Fatal("a damaged sidecar quarantined a sound blob")
			}
			switch heal {
			case "Verify":
				if err := s.Verify(context.Background(), digest, chunkedSize); err != nil {
					t.Fatal(err)
				}
			case "Put":
				if _, err := s.Put(context.Background(), bytes.NewReader(data), -1); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(readFile(t, chunksPath(p)), good) {
				t.Fatalf("%s did not rewrite the damaged sidecar", heal)
			}
		})
	}
}

// TestFS_Chunks_Missing: a blob without a sidecar (stored before they
// existed) still reads, ranges included, and Verify gives it one; Put
// of its bytes does too. A read-only store never writes one.
func TestFS_Chunks_Missing(t *testing.T) {
	s := openChunked(t)
	data, p := putLarge(t, s, 4)
	digest := digestOf(data)
	good := readFile(t, chunksPath(p))
	if err := os.Remove(chunksPath(p)); err != nil {
		t.Fatal(err)
	}
	off := int64(2*defaultChunkSize + 3)
	if got, err := readRange(t, s, digest, off, 500); err != nil || !bytes.Equal(got, data[off:off+500]) {
		t.Fatalf("ReadAt without a sidecar: %d bytes, %v", len(got), err)
	}

	ro, err := OpenFSReadOnly(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	ro.wholeVerify = chunkedWholeVerify
	if err := ro.Verify(context.Background(), digest, -1); err != nil {
		t.Fatal(err)
	}
	wantNoFile(t, chunksPath(p))

	if err := s.Verify(context.Background(), digest, -1); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, chunksPath(p)), good) {
		t.Fatal("Verify did not write the missing sidecar")
	}
	// From now on ranges are checked.
	flipByte(t, p, off)
	if _, err := readRange(t, s, digest, off+1000, 10); !errors.Is(err, ErrDamaged) {
		t.Fatalf("ReadAt of a damaged chunk after Verify wrote the sidecar: %v, want ErrDamaged", err)
	}

	// Put of the bytes of a blob without a sidecar writes it too.
	data2, p2 := putLarge(t, s, 5)
	if err := os.Remove(chunksPath(p2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), bytes.NewReader(data2), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := loadChunks(p2, digestOf(data2)); err != nil {
		t.Fatalf("sidecar after a Put of a blob without one: %v", err)
	}
}

// TestFS_Chunks_Lifecycle: sidecars are written for large blobs only, are
// never walked as blobs, go with their blob on Delete, on CollectOrphans
// and into LinkInto's copy.
func TestFS_Chunks_Lifecycle(t *testing.T) {
	ctx := context.Background()
	s := openChunked(t)
	large, p := putLarge(t, s, 6)
	small := randomBytes(chunkedWholeVerify, 7) // not larger than wholeVerify
	info, err := s.Put(ctx, bytes.NewReader(small), -1)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := s.path(info.SHA256)
	wantNoFile(t, chunksPath(sp))
	if _, err := os.Stat(chunksPath(p)); err != nil {
		t.Fatalf("large blob's sidecar: %v", err)
	}

	var walked []string
	if err := s.Walk(ctx, func(i Info) error { walked = append(walked, i.SHA256); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(walked) != 2 {
		t.Fatalf("Walk: %v, want the two blobs and no sidecar", walked)
	}

	dst := openChunked(t)
	if _, err := s.LinkInto(ctx, dst); err != nil {
		t.Fatal(err)
	}
	dp, _ := dst.path(digestOf(large))
	a, errA := os.Stat(chunksPath(p))
	b, errB := os.Stat(chunksPath(dp))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Fatalf("LinkInto: the sidecar is not linked (%v, %v)", errA, errB)
	}

	if err := s.Delete(ctx, digestOf(large)); err != nil {
		t.Fatal(err)
	}
	wantNoFile(t, p)
	wantNoFile(t, chunksPath(p))

	// The orphan collector deletes through Delete: sidecar and all.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(dp, old, old); err != nil {
		t.Fatal(err)
	}
	n, err := CollectOrphans(ctx, dst, func(string) (bool, error) { return false, nil }, time.Minute, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("CollectOrphans: %d, %v; want the large blob", n, err)
	}
	wantNoFile(t, dp)
	wantNoFile(t, chunksPath(dp))
}

// TestDecodeChunks: every field of a sidecar is checked; each case breaks
// one and seals the file again, so only that check can catch it.
func TestDecodeChunks(t *testing.T) {
	data := randomBytes(2*defaultChunkSize+1, 8)
	digest := digestOf(data)
	w := newChunkSummer(defaultChunkSize)
	_, _ = w.Write(data)
	good := w.result().encode(digest)
	if c, err := decodeChunks(good, digest); err != nil || c.count() != 3 || c.size != int64(len(data)) {
		t.Fatalf("decode of a good sidecar: %+v, %v", c, err)
	}
	reseal := func(b []byte) []byte {
		b = bytes.Clone(b[:len(b)-sha256.Size])
		self := sha256.Sum256(b)
		return append(b, self[:]...)
	}
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return reseal(b)
	}
	for name, b := range map[string][]byte{
		"Truncated": good[:len(good)-1],
		"SelfDigest": func() []byte {
			b := bytes.Clone(good)
			b[chunksHeader] ^= 1
			return b
		}(),
		"Magic":       edit(func(b []byte) { b[0] = 'X' }),
		"Version":     edit(func(b []byte) { binary.BigEndian.PutUint32(b[8:], 2) }),
		"ChunkSize":   edit(func(b []byte) { binary.BigEndian.PutUint32(b[12:], 1) }),
		"BlobSize":    edit(func(b []byte) { binary.BigEndian.PutUint64(b[16:], 5*defaultChunkSize) }),
		"OtherDigest": edit(func(b []byte) { b[24] ^= 1 }),
		"Short":       []byte(chunksMagic),
	} {
		if _, err := decodeChunks(b, digest); !errors.Is(err, errBadChunks) {
			t.Errorf("%s: %v, want errBadChunks", name, err)
		}
	}
}
