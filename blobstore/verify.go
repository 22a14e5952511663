package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cairnhq/cairn/schema"
)

const (
	quarantineDirName = "quarantine" // <dir>/quarantine/<64 hex>.<unix nanoseconds>

	// DefaultWholeVerify is the size up to which FS.Open verifies a whole
	// blob before it returns a reader, so a damaged blob of that size fails
	// before a byte is served, whether the caller reads it whole or a
	// range of it. A larger blob is verified chunk by chunk as it is read,
	// at any offset, against the chunk digests stored beside it (see
	// chunks.go and fileReader).
	DefaultWholeVerify = 16 << 20
)

// ErrDamaged is wrapped by every error that reports a blob whose bytes do
// not match its digest or its recorded size. Such errors are
// schema.KindInternal refined by schema.ReasonDataDamaged.
var ErrDamaged = errors.New("blob damaged")

// Damaged returns the error that reports blob digest as damaged (why says
// how, for the log).
func Damaged(digest, why string) error {
	return &schema.Error{Kind: schema.KindInternal, Reason: schema.ReasonDataDamaged,
		Msg: "data damaged: the stored content does not match its digest",
		Err: fmt.Errorf("%w: %s: %s", ErrDamaged, digest, why)}
}

// Quarantined reports how many blobs this store has found damaged (and
// moved into its quarantine folder) since it was opened.
func (s *FS) Quarantined() int64 { return s.quarantined.Load() }

// Verify implements Store: it reads the whole blob and checks its size
// (when size >= 0) and its SHA-256 against digest. A damaged blob is
// quarantined and reported with an error wrapping ErrDamaged; a missing
// one is schema.KindNotFound.
//
// For a blob larger than the whole-verify size it also computes the chunk
// digests from the bytes it hashed and, once the whole blob proved good,
// writes them as the blob's sidecar when the one on disk is missing,
// damaged or different (unless the store is read-only). This is how a blob
// stored before sidecars existed, or whose sidecar was damaged, becomes
// range-checkable again: after one pass of the scrubber.
func (s *FS) Verify(ctx context.Context, digest string, size int64) error {
	p, sums, err := s.verify(ctx, digest, size, !s.readOnly)
	if err != nil || sums == nil {
		return err
	}
	if _, err := s.placeChunks(p, sums.encode(digest), ""); err != nil {
		return err
	}
	// A Delete that ran meanwhile removed the sidecar before the blob: a
	// sidecar written after it would outlive its blob, which no Walk sees.
	// (A blob replaced by a healing Put meanwhile has the same bytes, so
	// the sidecar holds for it too.)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		_ = removeChunks(p)
	}
	return nil
}

// verify is Verify without writing the sidecar: when sums is true and the
// blob is larger than the whole-verify size, it returns the chunk digests
// of the blob it found good, with the blob's file name.
func (s *FS) verify(ctx context.Context, digest string, size int64, sums bool) (string, *chunkSums, error) {
	p, err := s.path(digest)
	if err != nil {
		return "", nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, notFound(digest)
	}
	if err != nil {
		return "", nil, ioError(err, "open blob")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", nil, ioError(err, "stat blob")
	}
	if !fi.Mode().IsRegular() {
		return "", nil, notFound(digest)
	}
	if size >= 0 && fi.Size() != size {
		return "", nil, s.quarantine(p, fi, digest, fmt.Sprintf("%d bytes, want %d", fi.Size(), size))
	}
	var cs *chunkSummer
	if sums && fi.Size() > s.wholeVerify {
		cs = newChunkSummer(defaultChunkSize)
	}
	if err := s.checkFile(ctx, p, f, fi, digest, cs); err != nil {
		return "", nil, err
	}
	if cs == nil {
		return p, nil, nil
	}
	return p, cs.result(), nil
}

// checkFile hashes the whole of f (blob digest at path p, described by fi)
// and quarantines it when the digest differs. A non-nil cs is fed the
// bytes too.
func (s *FS) checkFile(ctx context.Context, p string, f *os.File, fi fs.FileInfo, digest string, cs *chunkSummer) error {
	h := sha256.New()
	var w io.Writer = h
	if cs != nil {
		w = io.MultiWriter(h, cs)
	}
	n, err := s.copyLimited(ctx, w, io.NewSectionReader(f, 0, fi.Size()), -1)
	if err != nil {
		return fmt.Errorf("blobstore: verify %s: %w", digest, err)
	}
	if n != fi.Size() {
		return s.quarantine(p, fi, digest, fmt.Sprintf("read %d bytes of %d", n, fi.Size()))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return s.quarantine(p, fi, digest, "content hashes to "+got)
	}
	return nil
}

// quarantine moves the damaged blob file p (fi, as it was opened) into
// <dir>/quarantine/ and counts it, unless the file at p is no longer the
// one found damaged (a Put healed it meanwhile). Its sidecar, if any, goes
// with it (<digest>.<time>.chunks), so the pair can be examined together
// and a healing Put starts from neither. It never deletes. It returns the
// Damaged error, or an I/O error if the move failed. A store opened
// read-only counts the blob but moves nothing.
func (s *FS) quarantine(p string, fi fs.FileInfo, digest, why string) error {
	damaged := Damaged(digest, why)
	s.quarantined.Add(1)
	if s.readOnly {
		return damaged
	}
	cur, err := os.Stat(p)
	if err != nil || !os.SameFile(cur, fi) {
		return damaged // already moved, or replaced by a healing Put
	}
	qdir := filepath.Join(s.dir, quarantineDirName)
	if err := os.MkdirAll(qdir, dirPerm); err != nil {
		return errors.Join(damaged, ioError(err, "create quarantine directory"))
	}
	dst := filepath.Join(qdir, digest+"."+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.Rename(p, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return damaged // moved by a concurrent quarantine, sidecar and all
		}
		return errors.Join(damaged, ioError(err, "quarantine blob"))
	}
	// Best effort: a sidecar left behind is rewritten by the Put that
	// heals the blob, and never trusted for other bytes (it is checked
	// chunk by chunk against what is read).
	_ = os.Rename(chunksPath(p), chunksPath(dst))
	_ = syncDir(qdir)
	_ = syncDir(filepath.Dir(p))
	return damaged
}

// fileReader is the Reader of FS. It wraps *os.File without embedding it, so
// callers cannot reach Write or Truncate through a type assertion.
//
// A blob Open verified whole (not larger than the store's wholeVerify) is
// read as it is. A larger one is read in one of two ways:
//
//   - With a trusted sidecar (chunks), every read, at any offset, first
//     reads each whole chunk it touches, hashes it and compares it with
//     the sidecar's digest of that chunk; only then are the bytes copied
//     out, from the buffer that was hashed. A mismatch quarantines the blob
//     (sidecar included) and the read returns none of its bytes and an
//     error wrapping ErrDamaged. Verified chunks are remembered and the
//     last one is kept in memory, so sequential reads hash each chunk once.
//     No whole-blob hash is kept on this path: the sidecar's sums were
//     computed from the very bytes that hashed to the digest and the
//     sidecar checks its own integrity, so a blob whose every chunk
//     matches is the blob the digest names; a second, whole hash would
//     only double the cost of a read.
//   - Without one (a blob stored before sidecars existed, or whose sidecar
//     is damaged or unreadable), the blob is hashed as it is read from its
//     start: the read that would reach the end returns none of its bytes
//     and an error wrapping ErrDamaged when the digest differs (and
//     quarantines the blob), so a reader that consumes the blob in order
//     never gets all of it wrong. Reads elsewhere are checked for size
//     only; reading from offset 0 again starts the hash over. Verify (the
//     scrubber) writes the missing sidecar once the whole blob proved good.
type fileReader struct {
	s      *FS
	f      *os.File
	fi     fs.FileInfo
	path   string
	digest string
	size   int64

	mu       sync.Mutex
	pos      int64     // Read and Seek's offset
	verified bool      // the whole blob is known good
	bad      error     // the Damaged error, once found
	h        hash.Hash // whole-blob hash without a sidecar; nil otherwise
	hashed   int64     // bytes from 0 the hash has seen

	chunks  *chunkSums // the trusted sidecar, or nil
	checked []bool     // chunks found good
	buf     []byte     // a chunk's bytes: chunk cur, when cur >= 0
	cur     int64
}

func (r *fileReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.readAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (r *fileReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readAt(p, off)
}

func (r *fileReader) readAt(p []byte, off int64) (int, error) {
	if r.bad != nil {
		return 0, r.bad
	}
	if r.verified {
		return r.f.ReadAt(p, off)
	}
	if r.chunks != nil {
		return r.readChunks(p, off)
	}
	if off == 0 {
		r.h.Reset()
		r.hashed = 0
	}
	n, err := r.f.ReadAt(p, off)
	if off != r.hashed {
		return n, err // a range: not verified (see the type's doc)
	}
	r.h.Write(p[:n])
	r.hashed += int64(n)
	switch {
	case r.hashed == r.size:
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.digest {
			r.bad = r.s.quarantine(r.path, r.fi, r.digest, "content hashes to "+got)
			return 0, r.bad
		}
		r.verified, r.h = true, nil
	case err == io.EOF && n < len(p):
		// The file ends before the size it had when opened.
		r.bad = r.s.quarantine(r.path, r.fi, r.digest, fmt.Sprintf("ends at %d bytes, want %d", r.hashed, r.size))
		return 0, r.bad
	}
	return n, err
}

// readChunks is readAt with a sidecar: it copies out of verified chunks only.
func (r *fileReader) readChunks(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, schema.Errorf(schema.KindInvalidArgument, "read at negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), r.size)
	n := 0
	for pos := off; pos < end; {
		i := pos / r.chunks.chunk
		b, err := r.chunk(i)
		if err != nil {
			if errors.Is(err, ErrDamaged) {
				return 0, err
			}
			return n, err
		}
		k := copy(p[n:end-off], b[pos-i*r.chunks.chunk:])
		n += k
		pos += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// chunk returns the bytes of chunk i, verified against the sidecar unless
// an earlier read already found chunk i good. The slice is valid until the
// next call.
func (r *fileReader) chunk(i int64) ([]byte, error) {
	off, n := r.chunks.bounds(i)
	if r.cur == i {
		return r.buf[:n], nil
	}
	if r.buf == nil {
		r.buf = r.s.chunkBuf(r.chunks.chunk)
	}
	r.cur = -1
	m, err := r.f.ReadAt(r.buf[:n], off)
	if int64(m) < n {
		if err == io.EOF {
			// The file ends before the size it had when opened.
			r.bad = r.s.quarantine(r.path, r.fi, r.digest, fmt.Sprintf("ends at %d bytes, want %d", off+int64(m), r.size))
			return nil, r.bad
		}
		return nil, err
	}
	if !r.checked[i] {
		if sum := sha256.Sum256(r.buf[:n]); !bytes.Equal(sum[:], r.chunks.sum(i)) {
			r.bad = r.s.quarantine(r.path, r.fi, r.digest,
				fmt.Sprintf("chunk %d (bytes %d-%d) hashes to %x", i, off, off+n-1, sum))
			return nil, r.bad
		}
		r.checked[i] = true
	}
	r.cur = i
	return r.buf[:n], nil
}

func (r *fileReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, schema.Errorf(schema.KindInvalidArgument, "seek: invalid whence %d", whence)
	}
	if offset < 0 {
		return 0, schema.Errorf(schema.KindInvalidArgument, "seek before the start")
	}
	r.pos = offset
	return offset, nil
}

func (r *fileReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf != nil {
		r.s.putChunkBuf(r.buf)
		r.buf, r.cur = nil, -1
	}
	return r.f.Close()
}

func (r *fileReader) Size() int64 { return r.size }

// chunkBuf returns a buffer of n bytes for a chunk; putChunkBuf takes it
// back. Buffers of the default chunk size are pooled, as every sidecar
// this version writes uses it.
func (s *FS) chunkBuf(n int64) []byte {
	if n == defaultChunkSize {
		if bp, ok := s.chunkBufs.Get().(*[]byte); ok {
			return *bp
		}
	}
	return make([]byte, n)
}

func (s *FS) putChunkBuf(b []byte) {
	if len(b) == defaultChunkSize {
		s.chunkBufs.Put(&b)
	}
}
