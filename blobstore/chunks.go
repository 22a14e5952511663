package blobstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// A blob larger than the store's whole-verify size has a sidecar file
// beside it, <64 hex>.chunks, listing the SHA-256 of each fixed-size chunk
// of its bytes, so that a read of any range can be checked without reading
// the whole blob. Its layout (integers big-endian):
//
//	magic    8 bytes  "cairnchk"
//	version  4 bytes  1
//	chunk    4 bytes  chunk size in bytes (the last chunk may be shorter)
//	size     8 bytes  blob size in bytes
//	digest  32 bytes  the blob's SHA-256 (its name), binding the file to it
//	sums    32 bytes per chunk, in order
//	self    32 bytes  SHA-256 of everything above
//
// The sums are only ever computed from bytes that hashed to the blob's
// digest (the stream a Put stored, or a whole file Verify found good), so
// chunks that match a sidecar whose self digest holds are the blob's
// bytes. A sidecar that fails any check is never trusted: the blob is
// then read as one without a sidecar (hashed whole as it is read in
// order), and the next Verify or Put of its bytes writes a good one.
const (
	chunksExt     = ".chunks"
	chunksMagic   = "cairnchk"
	chunksVersion = 1
	chunksHeader  = 8 + 4 + 4 + 8 + sha256.Size

	// defaultChunkSize is the chunk size of the sidecars this version
	// writes: a range read reads and hashes at most one chunk more on
	// each side than it serves, and a sidecar costs 32 bytes per chunk.
	defaultChunkSize = 1 << 20

	// minChunkSize, maxChunkSize and maxChunksFile bound what a sidecar
	// may say, so a damaged one cannot make a reader allocate without
	// limit. maxChunksFile covers a 2 TiB blob at the default chunk size.
	minChunkSize  = 4 << 10
	maxChunkSize  = 64 << 20
	maxChunksFile = 64 << 20
)

// errBadChunks is wrapped by loadChunks's error for a sidecar that exists
// but fails a check.
var errBadChunks = errors.New("chunk digest file damaged")

// chunkSums is the content of a trusted sidecar.
type chunkSums struct {
	chunk int64  // chunk size
	size  int64  // blob size
	sums  []byte // sha256.Size bytes per chunk
}

// count returns how many chunks the blob has.
func (c *chunkSums) count() int64 { return int64(len(c.sums) / sha256.Size) }

// sum returns the SHA-256 of chunk i.
func (c *chunkSums) sum(i int64) []byte { return c.sums[i*sha256.Size : (i+1)*sha256.Size] }

// bounds returns the offset and the length of chunk i.
func (c *chunkSums) bounds(i int64) (off, n int64) {
	off = i * c.chunk
	return off, min(c.chunk, c.size-off)
}

// encode returns the sidecar file of the blob named digest (lower-case hex).
func (c *chunkSums) encode(digest string) []byte {
	b := make([]byte, 0, chunksHeader+len(c.sums)+sha256.Size)
	b = append(b, chunksMagic...)
	b = binary.BigEndian.AppendUint32(b, chunksVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(c.chunk))
	b = binary.BigEndian.AppendUint64(b, uint64(c.size))
	d, _ := hex.DecodeString(digest) // the callers' digests are validated
	b = append(b, d...)
	b = append(b, c.sums...)
	self := sha256.Sum256(b)
	return append(b, self[:]...)
}

// decodeChunks parses the sidecar b of the blob named digest, checking
// every field against every other and the self digest. Any failure wraps
// errBadChunks.
func decodeChunks(b []byte, digest string) (*chunkSums, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s", errBadChunks, why) }
	if len(b) < chunksHeader+sha256.Size {
		return nil, bad("too short")
	}
	body, self := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], self) {
		return nil, bad("its own digest does not match")
	}
	if string(b[:8]) != chunksMagic {
		return nil, bad("not a chunk digest file")
	}
	if v := binary.BigEndian.Uint32(b[8:12]); v != chunksVersion {
		return nil, bad(fmt.Sprintf("version %d", v))
	}
	chunk := int64(binary.BigEndian.Uint32(b[12:16]))
	if chunk < minChunkSize || chunk > maxChunkSize {
		return nil, bad(fmt.Sprintf("chunk size %d", chunk))
	}
	size64 := binary.BigEndian.Uint64(b[16:24])
	if size64 > maxChunksFile/sha256.Size*maxChunkSize {
		return nil, bad(fmt.Sprintf("blob size %d", size64))
	}
	size := int64(size64)
	if d, err := hex.DecodeString(digest); err != nil || !bytes.Equal(b[24:chunksHeader], d) {
		return nil, bad("it names another blob")
	}
	n := (size + chunk - 1) / chunk
	if int64(len(body)-chunksHeader) != n*sha256.Size {
		return nil, bad(fmt.Sprintf("%d bytes of digests for %d chunks", len(body)-chunksHeader, n))
	}
	return &chunkSums{chunk: chunk, size: size, sums: bytes.Clone(body[chunksHeader:])}, nil
}

// chunkSummer is an io.Writer that computes the SHA-256 of each chunk of
// what is written to it.
type chunkSummer struct {
	chunk int64
	h     hash.Hash
	in    int64 // bytes of the current chunk hashed so far
	size  int64
	sums  []byte
}

func newChunkSummer(chunk int64) *chunkSummer {
	return &chunkSummer{chunk: chunk, h: sha256.New()}
}

// Write implements io.Writer; it never fails.
func (w *chunkSummer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(int64(len(p)), w.chunk-w.in)
		w.h.Write(p[:k])
		w.in += k
		w.size += k
		p = p[k:]
		if w.in == w.chunk {
			w.sums = w.h.Sum(w.sums)
			w.h.Reset()
			w.in = 0
		}
	}
	return n, nil
}

// result returns the sums of everything written (the last, shorter chunk
// included). The summer must not be written to afterwards.
func (w *chunkSummer) result() *chunkSums {
	sums := w.sums
	if w.in > 0 {
		sums = w.h.Sum(sums)
	}
	return &chunkSums{chunk: w.chunk, size: w.size, sums: sums}
}

// chunksPath returns the sidecar's name for the blob file p.
func chunksPath(p string) string { return p + chunksExt }

// loadChunks reads and checks the sidecar of the blob digest at p. The
// error wraps fs.ErrNotExist when there is none (a blob stored before
// sidecars existed, or one not larger than the whole-verify size) and
// errBadChunks when it fails a check; either way the caller must not use
// chunk digests for the blob.
func loadChunks(p, digest string) (*chunkSums, error) {
	f, err := os.Open(chunksPath(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxChunksFile {
		return nil, fmt.Errorf("%w: %d bytes", errBadChunks, fi.Size())
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadChunks, err)
	}
	return decodeChunks(b, digest)
}

// writeTempFile writes b to a new temp file in tmp/, fsynced and closed,
// and returns its name; on failure it leaves nothing behind.
func (s *FS) writeTempFile(b []byte) (name string, err error) {
	f, err := os.CreateTemp(s.tmp, tempPattern)
	if err != nil {
		return "", ioError(err, "create temp file")
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(b); err != nil {
		return "", ioError(err, "write chunk digests")
	}
	if err := f.Sync(); err != nil {
		return "", ioError(err, "sync chunk digests")
	}
	if err := f.Close(); err != nil {
		return "", ioError(err, "close chunk digests")
	}
	return f.Name(), nil
}

// placeChunks makes the sidecar of the blob file p hold want. When it does
// already, the temp file tmp (if any) is removed; otherwise tmp (written
// with writeTempFile, or now when tmp is "") is renamed into place and p's
// directory synced. It reports whether it replaced the sidecar.
func (s *FS) placeChunks(p string, want []byte, tmp string) (replaced bool, err error) {
	cp := chunksPath(p)
	if fi, err := os.Stat(cp); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(want)) {
		if cur, err := os.ReadFile(cp); err == nil && bytes.Equal(cur, want) {
			if tmp != "" {
				_ = os.Remove(tmp)
			}
			return false, nil
		}
	}
	if tmp == "" {
		if tmp, err = s.writeTempFile(want); err != nil {
			return false, err
		}
	}
	if err := os.Rename(tmp, cp); err != nil {
		_ = os.Remove(tmp)
		return false, ioError(err, "rename chunk digests")
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return true, ioError(err, "sync directory")
	}
	return true, nil
}

// removeChunks removes the sidecar of the blob file p, if it has one.
func removeChunks(p string) error {
	if err := os.Remove(chunksPath(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ioError(err, "delete chunk digests")
	}
	return nil
}
