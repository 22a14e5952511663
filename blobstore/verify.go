package blobstore

import (
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
	// range of it. Larger blobs are verified while they are read from the
	// start to the end; a range of one is not (see README, "Integrity").
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
func (s *FS) Verify(ctx context.Context, digest string, size int64) error {
	p, err := s.path(digest)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(digest)
	}
	if err != nil {
		return ioError(err, "open blob")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ioError(err, "stat blob")
	}
	if !fi.Mode().IsRegular() {
		return notFound(digest)
	}
	if size >= 0 && fi.Size() != size {
		return s.quarantine(p, fi, digest, fmt.Sprintf("%d bytes, want %d", fi.Size(), size))
	}
	return s.checkFile(ctx, p, f, fi, digest)
}

// checkFile hashes the whole of f (blob digest at path p, described by fi)
// and quarantines it when the digest differs.
func (s *FS) checkFile(ctx context.Context, p string, f *os.File, fi fs.FileInfo, digest string) error {
	h := sha256.New()
	n, err := s.copyLimited(ctx, h, io.NewSectionReader(f, 0, fi.Size()), -1)
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
// one found damaged (a Put healed it meanwhile). It never deletes. It
// returns the Damaged error, or an I/O error if the move failed. A store
// opened read-only counts the blob but moves nothing.
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
	if err := os.Rename(p, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(damaged, ioError(err, "quarantine blob"))
	}
	_ = syncDir(qdir)
	_ = syncDir(filepath.Dir(p))
	return damaged
}

// fileReader is the Reader of FS. It wraps *os.File without embedding it, so
// callers cannot reach Write or Truncate through a type assertion.
//
// A blob Open did not verify whole (larger than the store's wholeVerify)
// is hashed as it is read from its start: the read that would reach the
// end returns none of its bytes and an error wrapping ErrDamaged when the
// digest differs (and quarantines the blob), so a reader that consumes
// the blob in order never gets all of it wrong. Reads elsewhere are not
// verified; reading from offset 0 again starts the hash over.
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
	h        hash.Hash // nil when verified
	hashed   int64     // bytes from 0 the hash has seen
	bad      error     // the Damaged error, once found
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

func (r *fileReader) Close() error { return r.f.Close() }
func (r *fileReader) Size() int64  { return r.size }
