// Package blobstoretest is the conformance suite of blobstore.Store: every
// backend runs Run from its own tests and must pass it unchanged.
package blobstoretest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// Digests of well-known contents.
const (
	HelloSHA256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	HelloMD5    = "5d41402abc4b2a76b9719d911017c592"
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	EmptyMD5    = "d41d8cd98f00b204e9800998ecf8427e"
)

// InvalidDigests are strings every Store method MUST reject with
// schema.KindInvalidArgument.
var InvalidDigests = []string{
	"",
	"../../etc/passwd",
	"ABC",
	"sha256/../x",
	strings.ToUpper(HelloSHA256),
	HelloSHA256[:63],
	HelloSHA256 + "0",
	"2c/f2/" + HelloSHA256,
	HelloSHA256[:63] + "g",
	HelloSHA256[:62] + "/.",
}

// Run runs the conformance suite. newStore must return a new, empty store
// for each call and arrange its cleanup with t.Cleanup; subtests run in
// parallel, each with its own store.
func Run(t *testing.T, newStore func(t *testing.T) blobstore.Store) {
	t.Run("Put/Hello", func(t *testing.T) {
		t.Parallel()
		testRoundTrip(t, newStore(t), []byte("hello"), HelloSHA256, HelloMD5)
	})
	t.Run("Put/Empty", func(t *testing.T) {
		t.Parallel()
		testRoundTrip(t, newStore(t), nil, EmptySHA256, EmptyMD5)
	})
	t.Run("Put/LargeStreaming", func(t *testing.T) {
		t.Parallel()
		data := Random(3<<20+17, 1)
		s256, m5 := Sums(data)
		s := newStore(t)
		// Odd-sized reads exercise the copy loop's buffer boundaries.
		info, err := s.Put(context.Background(), &chunkReader{data: data, chunk: 100_003}, -1)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		checkInfo(t, info, s256, m5, int64(len(data)))
		if got := ReadAll(t, s, s256); !bytes.Equal(got, data) {
			t.Fatalf("Open: content differs (got %d bytes, want %d)", len(got), len(data))
		}
	})
	t.Run("Put/Duplicate", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := 0; i < 3; i++ {
			info, err := s.Put(context.Background(), strings.NewReader("hello"), -1)
			if err != nil {
				t.Fatalf("Put #%d: %v", i, err)
			}
			checkInfo(t, info, HelloSHA256, HelloMD5, 5)
		}
		if got := Walk(t, s); len(got) != 1 {
			t.Fatalf("Walk: %d blobs, want 1", len(got))
		}
		if got := ReadAll(t, s, HelloSHA256); string(got) != "hello" {
			t.Fatalf("Open: got %q", got)
		}
	})
	t.Run("Put/MaxSizeExact", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		info, err := s.Put(context.Background(), strings.NewReader("hello"), 5)
		if err != nil {
			t.Fatalf("Put of exactly maxSize bytes: %v", err)
		}
		checkInfo(t, info, HelloSHA256, HelloMD5, 5)
		if _, err := s.Put(context.Background(), bytes.NewReader(nil), 0); err != nil {
			t.Fatalf("Put of empty content with maxSize 0: %v", err)
		}
	})
	t.Run("Put/MaxSizeExceeded", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, tc := range []struct {
			data []byte
			max  int64
		}{
			{[]byte("hello"), 4},
			{[]byte("x"), 0},
			{Random(1<<20, 2), 1<<20 - 1},
			{Random(3<<20, 3), 1 << 20},
		} {
			_, err := s.Put(context.Background(), bytes.NewReader(tc.data), tc.max)
			if k := schema.KindOf(err); err == nil || k != schema.KindTooLarge {
				t.Fatalf("Put of %d bytes with maxSize %d: err %v (kind %v), want kind %v",
					len(tc.data), tc.max, err, k, schema.KindTooLarge)
			}
			sum, _ := Sums(tc.data)
			wantNotFound(t, s, sum)
		}
		wantNoBlobs(t, s)
	})
	t.Run("Put/CancelledBefore", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Put(ctx, strings.NewReader("hello"), -1); err == nil {
			t.Fatal("Put with a cancelled context: no error")
		}
		wantNoBlobs(t, s, HelloSHA256)
	})
	t.Run("Put/CancelledDuring", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := Random(4<<20, 4)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The source cancels the context once it has handed out its first
		// chunk; the rest is still readable, so only ctx can stop Put.
		r := &chunkReader{data: data, chunk: 64 << 10, afterFirst: cancel}
		if _, err := s.Put(ctx, r, -1); err == nil {
			t.Fatal("Put cancelled mid-stream: no error")
		}
		sum, _ := Sums(data)
		wantNoBlobs(t, s, sum)
	})
	t.Run("Put/SourceError", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		boom := errors.New("boom")
		r := io.MultiReader(bytes.NewReader(Random(1<<20, 5)), &errReader{err: boom})
		if _, err := s.Put(context.Background(), r, -1); err == nil {
			t.Fatal("Put from a failing source: no error")
		}
		wantNoBlobs(t, s)
	})
	t.Run("Put/ConcurrentSame", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := Random(1<<20+3, 6)
		s256, m5 := Sums(data)
		const n = 8
		infos := make([]blobstore.Info, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				infos[i], errs[i] = s.Put(context.Background(), bytes.NewReader(data), -1)
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Put #%d: %v", i, errs[i])
			}
			checkInfo(t, infos[i], s256, m5, int64(len(data)))
		}
		if got := Walk(t, s); len(got) != 1 {
			t.Fatalf("Walk: %d blobs, want 1", len(got))
		}
		if got := ReadAll(t, s, s256); !bytes.Equal(got, data) {
			t.Fatal("Open: content differs")
		}
	})
	t.Run("Put/ConcurrentDistinct", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.Put(context.Background(), bytes.NewReader(Random(64<<10, uint64(100+i))), -1)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Put #%d: %v", i, err)
			}
		}
		if got := Walk(t, s); len(got) != n {
			t.Fatalf("Walk: %d blobs, want %d", len(got), n)
		}
	})

	t.Run("Open/Missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r, err := s.Open(context.Background(), HelloSHA256)
		if k := schema.KindOf(err); err == nil || k != schema.KindNotFound {
			if r != nil {
				r.Close()
			}
			t.Fatalf("Open of a missing blob: err %v (kind %v), want kind %v", err, k, schema.KindNotFound)
		}
	})
	t.Run("Open/InvalidDigest", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, d := range InvalidDigests {
			r, err := s.Open(context.Background(), d)
			if r != nil {
				r.Close()
			}
			wantKind(t, "Open("+d+")", err, schema.KindInvalidArgument)
		}
	})
	t.Run("Stat/Found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustPut(t, s, []byte("hello"))
		info, err := s.Stat(context.Background(), HelloSHA256)
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if info.SHA256 != HelloSHA256 || info.Size != 5 {
			t.Fatalf("Stat: got %+v, want SHA256 %s size 5", info, HelloSHA256)
		}
		if info.MD5 != "" && info.MD5 != HelloMD5 {
			t.Fatalf("Stat: MD5 %q, want empty or %s", info.MD5, HelloMD5)
		}
		if info.ModTime.IsZero() {
			t.Fatal("Stat: zero ModTime")
		}
	})
	t.Run("Stat/Missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, err := s.Stat(context.Background(), HelloSHA256)
		wantKind(t, "Stat of a missing blob", err, schema.KindNotFound)
	})
	t.Run("Stat/InvalidDigest", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, d := range InvalidDigests {
			_, err := s.Stat(context.Background(), d)
			wantKind(t, "Stat("+d+")", err, schema.KindInvalidArgument)
		}
	})

	t.Run("Delete/ThenOpen", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustPut(t, s, []byte("hello"))
		mustPut(t, s, nil)
		if err := s.Delete(context.Background(), HelloSHA256); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantNotFound(t, s, HelloSHA256)
		got := Walk(t, s)
		if len(got) != 1 || got[0].SHA256 != EmptySHA256 {
			t.Fatalf("Walk after Delete: %+v, want only %s", got, EmptySHA256)
		}
		// Storing deleted bytes again brings them back.
		mustPut(t, s, []byte("hello"))
		if got := ReadAll(t, s, HelloSHA256); string(got) != "hello" {
			t.Fatalf("Open after re-Put: got %q", got)
		}
	})
	t.Run("Delete/Missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if err := s.Delete(context.Background(), HelloSHA256); err != nil {
			t.Fatalf("Delete of a missing blob: %v", err)
		}
		mustPut(t, s, []byte("hello"))
		for i := 0; i < 2; i++ {
			if err := s.Delete(context.Background(), HelloSHA256); err != nil {
				t.Fatalf("Delete #%d: %v", i, err)
			}
		}
	})
	t.Run("Delete/InvalidDigest", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, d := range InvalidDigests {
			err := s.Delete(context.Background(), d)
			wantKind(t, "Delete("+d+")", err, schema.KindInvalidArgument)
		}
	})

	t.Run("Reader/ReadAt", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := Random(100_000, 7)
		info := mustPut(t, s, data)
		r := mustOpen(t, s, info.SHA256)
		if r.Size() != int64(len(data)) {
			t.Fatalf("Size: %d, want %d", r.Size(), len(data))
		}
		p := make([]byte, 1000)
		for _, off := range []int{0, 1, 4095, 50_000, len(data) - 1000} {
			n, err := r.ReadAt(p, int64(off))
			if n != len(p) || (err != nil && err != io.EOF) {
				t.Fatalf("ReadAt(%d): n %d err %v", off, n, err)
			}
			if !bytes.Equal(p, data[off:off+len(p)]) {
				t.Fatalf("ReadAt(%d): content differs", off)
			}
		}
		n, err := r.ReadAt(p, int64(len(data)-10))
		if n != 10 || err != io.EOF || !bytes.Equal(p[:10], data[len(data)-10:]) {
			t.Fatalf("ReadAt across the end: n %d err %v, want 10, io.EOF", n, err)
		}
		if n, err := r.ReadAt(p, int64(len(data))); n != 0 || err != io.EOF {
			t.Fatalf("ReadAt at the end: n %d err %v, want 0, io.EOF", n, err)
		}
		// ReadAt does not move the offset of Read.
		head := make([]byte, 16)
		if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, data[:16]) {
			t.Fatalf("Read after ReadAt: err %v, content equal %v", err, bytes.Equal(head, data[:16]))
		}
	})
	t.Run("Reader/Seek", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := Random(10_000, 8)
		info := mustPut(t, s, data)
		r := mustOpen(t, s, info.SHA256)
		seek := func(off int64, whence int, want int64) {
			t.Helper()
			got, err := r.Seek(off, whence)
			if err != nil || got != want {
				t.Fatalf("Seek(%d, %d): %d, %v; want %d", off, whence, got, err, want)
			}
		}
		seek(100, io.SeekStart, 100)
		p := make([]byte, 50)
		if _, err := io.ReadFull(r, p); err != nil || !bytes.Equal(p, data[100:150]) {
			t.Fatalf("Read after Seek: err %v", err)
		}
		seek(0, io.SeekCurrent, 150)
		seek(25, io.SeekCurrent, 175)
		seek(-4, io.SeekEnd, int64(len(data)-4))
		rest, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(rest, data[len(data)-4:]) {
			t.Fatalf("ReadAll after SeekEnd: %q, %v", rest, err)
		}
		if n, err := r.Read(p); n != 0 || err != io.EOF {
			t.Fatalf("Read at the end: n %d err %v, want 0, io.EOF", n, err)
		}
		seek(0, io.SeekStart, 0)
		all, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(all, data) {
			t.Fatalf("ReadAll after rewind: %d bytes, %v", len(all), err)
		}
		if _, err := r.Seek(-1, io.SeekStart); err == nil {
			t.Fatal("Seek to a negative offset: no error")
		}
	})

	t.Run("Walk/All", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		wantNoBlobs(t, s)
		want := map[string]int64{}
		for i := range 20 {
			data := Random(i*37, uint64(200+i))
			info := mustPut(t, s, data)
			want[info.SHA256] = int64(len(data))
		}
		got := Walk(t, s)
		if len(got) != len(want) {
			t.Fatalf("Walk: %d blobs, want %d", len(got), len(want))
		}
		for _, info := range got {
			size, ok := want[info.SHA256]
			if !ok {
				t.Fatalf("Walk: unexpected blob %s", info.SHA256)
			}
			if info.Size != size {
				t.Fatalf("Walk: %s size %d, want %d", info.SHA256, info.Size, size)
			}
			if info.ModTime.IsZero() {
				t.Fatalf("Walk: %s has a zero ModTime", info.SHA256)
			}
			delete(want, info.SHA256)
		}
	})
	t.Run("Walk/StopsAtError", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range 5 {
			mustPut(t, s, Random(10, uint64(300+i)))
		}
		stop := errors.New("stop")
		calls := 0
		err := s.Walk(context.Background(), func(blobstore.Info) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) {
			t.Fatalf("Walk: err %v, want the error fn returned", err)
		}
		if calls != 1 {
			t.Fatalf("Walk: fn called %d times after returning an error, want 1", calls)
		}
	})
}

func testRoundTrip(t *testing.T, s blobstore.Store, data []byte, wantSHA, wantMD5 string) {
	t.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(data), -1)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	checkInfo(t, info, wantSHA, wantMD5, int64(len(data)))
	r := mustOpen(t, s, wantSHA)
	if r.Size() != int64(len(data)) {
		t.Fatalf("Size: %d, want %d", r.Size(), len(data))
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("Open: got %q, want %q", got, data)
	}
	st, err := s.Stat(context.Background(), wantSHA)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if st.SHA256 != wantSHA || st.Size != int64(len(data)) {
		t.Fatalf("Stat: got %+v", st)
	}
}

func checkInfo(t *testing.T, info blobstore.Info, wantSHA, wantMD5 string, wantSize int64) {
	t.Helper()
	if info.SHA256 != wantSHA || info.MD5 != wantMD5 || info.Size != wantSize {
		t.Fatalf("Put: got SHA256 %s MD5 %s size %d; want %s %s %d",
			info.SHA256, info.MD5, info.Size, wantSHA, wantMD5, wantSize)
	}
	if info.ModTime.IsZero() {
		t.Fatal("Put: zero ModTime")
	}
}

func wantKind(t *testing.T, what string, err error, want schema.Kind) {
	t.Helper()
	if err == nil || schema.KindOf(err) != want {
		t.Fatalf("%s: err %v (kind %v), want kind %v", what, err, schema.KindOf(err), want)
	}
}

// wantNoBlobs fails t unless s holds no blob at all, none of digests
// included.
func wantNoBlobs(t *testing.T, s blobstore.Store, digests ...string) {
	t.Helper()
	for _, d := range digests {
		wantNotFound(t, s, d)
	}
	if got := Walk(t, s); len(got) != 0 {
		t.Fatalf("Walk: %d blobs, want none", len(got))
	}
}

func wantNotFound(t *testing.T, s blobstore.Store, digest string) {
	t.Helper()
	_, err := s.Stat(context.Background(), digest)
	wantKind(t, "Stat("+digest+")", err, schema.KindNotFound)
	r, err := s.Open(context.Background(), digest)
	if r != nil {
		r.Close()
	}
	wantKind(t, "Open("+digest+")", err, schema.KindNotFound)
}

func mustPut(t *testing.T, s blobstore.Store, data []byte) blobstore.Info {
	t.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(data), -1)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return info
}

func mustOpen(t *testing.T, s blobstore.Store, digest string) blobstore.Reader {
	t.Helper()
	r, err := s.Open(context.Background(), digest)
	if err != nil {
		t.Fatalf("Open(%s): %v", digest, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// ReadAll returns the whole content of blob digest, failing t if it cannot.
func ReadAll(t *testing.T, s blobstore.Store, digest string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), digest)
	if err != nil {
		t.Fatalf("Open(%s): %v", digest, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll(%s): %v", digest, err)
	}
	return b
}

// Walk returns every blob of s, failing t if Walk fails.
func Walk(t *testing.T, s blobstore.Store) []blobstore.Info {
	t.Helper()
	var all []blobstore.Info
	if err := s.Walk(context.Background(), func(info blobstore.Info) error {
		all = append(all, info)
		return nil
	}); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return all
}

// Random returns n deterministic pseudo-random bytes for seed.
func Random(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// Sums returns the lower-case hex SHA-256 and MD5 of data.
func Sums(data []byte) (sha, md string) {
	s := sha256.Sum256(data)
	m := md5.Sum(data)
	return hex.EncodeToString(s[:]), hex.EncodeToString(m[:])
}

// chunkReader hands out data at most chunk bytes per Read and calls
// afterFirst (if set) once the first chunk is out.
type chunkReader struct {
	data       []byte
	chunk      int
	afterFirst func()
	done       bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.chunk, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	if !r.done && r.afterFirst != nil {
		r.done = true
		r.afterFirst()
	}
	return n, nil
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

// Damage is a way a stored blob can be damaged behind the store's back.
type Damage int

const (
	// Flip inverts one byte near the end of the blob.
	Flip Damage = iota
	// Truncate cuts the blob to half its size.
	Truncate
	// Remove deletes the blob's bytes.
	Remove
)

// Damager damages blob digest of s (a store newStore returned) as d says,
// outside the Store interface (as a disk or an operator would).
type Damager func(t *testing.T, s blobstore.Store, digest string, d Damage)

// RunDamage runs the integrity part of the conformance suite: verify on
// read, Verify, quarantine and heal on write. damage must reach the
// backend's storage directly.
func RunDamage(t *testing.T, newStore func(t *testing.T) blobstore.Store, damage Damager) {
	// size: one blob verified whole by Open, one larger than any
	// backend's whole-verify threshold (verified as it streams).
	for _, size := range []int{100_000, blobstore.DefaultWholeVerify + 3<<20} {
		for _, d := range []struct {
			name string
			how  Damage
		}{{"Flip", Flip}, {"Truncate", Truncate}} {
			t.Run(d.name+"/ReadFails/"+sizeName(size), func(t *testing.T) {
				t.Parallel()
				s := newStore(t)
				data := Random(size, uint64(size)+uint64(d.how))
				info := mustPut(t, s, data)
				damage(t, s, info.SHA256, d.how)
				got, err := readThrough(s, info.SHA256)
				if !errors.Is(err, blobstore.ErrDamaged) {
					t.Fatalf("read of a damaged blob: %d bytes, err %v; want an error wrapping ErrDamaged", len(got), err)
				}
				if len(got) >= len(data) {
					t.Fatalf("read of a damaged blob delivered %d bytes of %d before failing", len(got), len(data))
				}
				if n := s.Quarantined(); n != 1 {
					t.Fatalf("Quarantined: %d, want 1", n)
				}
				wantNotFound(t, s, info.SHA256) // out of the store
				// Heal on write: the same bytes again bring it back whole.
				mustPut(t, s, data)
				if got := ReadAll(t, s, info.SHA256); !bytes.Equal(got, data) {
					t.Fatal("after re-Put: content differs")
				}
			})
		}
	}
	for _, d := range []struct {
		name string
		how  Damage
	}{{"Flip", Flip}, {"Truncate", Truncate}, {"Remove", Remove}} {
		t.Run(d.name+"/PutHeals", func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			data := Random(200_000, 40+uint64(d.how))
			info := mustPut(t, s, data)
			damage(t, s, info.SHA256, d.how)
			again := mustPut(t, s, data)
			checkInfo(t, again, info.SHA256, info.MD5, info.Size)
			if err := s.Verify(context.Background(), info.SHA256, info.Size); err != nil {
				t.Fatalf("Verify after re-Put: %v", err)
			}
			if got := ReadAll(t, s, info.SHA256); !bytes.Equal(got, data) {
				t.Fatal("after re-Put: content differs")
			}
			want := int64(1)
			if d.how == Remove {
				want = 0 // nothing damaged was there to quarantine
			}
			if n := s.Quarantined(); n != want {
				t.Fatalf("Quarantined: %d, want %d", n, want)
			}
		})
		t.Run(d.name+"/Verify", func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			info := mustPut(t, s, Random(70_000, 50+uint64(d.how)))
			if err := s.Verify(context.Background(), info.SHA256, info.Size); err != nil {
				t.Fatalf("Verify of a sound blob: %v", err)
			}
			damage(t, s, info.SHA256, d.how)
			err := s.Verify(context.Background(), info.SHA256, info.Size)
			if d.how == Remove {
				wantKind(t, "Verify of a removed blob", err, schema.KindNotFound)
				return
			}
			if !errors.Is(err, blobstore.ErrDamaged) || schema.ReasonOf(err) != schema.ReasonDataDamaged {
				t.Fatalf("Verify of a damaged blob: %v, want ErrDamaged with reason %s", err, schema.ReasonDataDamaged)
			}
			wantNotFound(t, s, info.SHA256)
		})
	}
	t.Run("Verify/InvalidDigest", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, d := range InvalidDigests {
			wantKind(t, "Verify("+d+")", s.Verify(context.Background(), d, -1), schema.KindInvalidArgument)
		}
	})
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return "Streamed"
	}
	return "Small"
}

// readThrough reads blob digest from its start to its end as a server
// streaming it does, and returns what it got and the first error (nil
// when it read the whole blob).
func readThrough(s blobstore.Store, digest string) ([]byte, error) {
	r, err := s.Open(context.Background(), digest)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, io.NewSectionReader(r, 0, r.Size()))
	return buf.Bytes(), err
}
