package blobstore

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnhq/cairn/schema"
)

const (
	blobDirName  = "sha256"  // <dir>/sha256/<2 hex>/<2 hex>/<64 hex>
	tmpDirName   = "tmp"     // <dir>/tmp/put-*: Puts in progress
	tempPattern  = "put-*"   // os.CreateTemp pattern inside tmpDirName
	copyBufSize  = 256 << 10 // bytes read from the source per call
	staleTempAge = time.Hour // OpenFS removes temp files older than this
	dirPerm      = os.FileMode(0o755)
)

var _ Store = (*FS)(nil)

// FS is the filesystem backend of Store. A blob lives at
// <dir>/sha256/<first 2 hex>/<next 2 hex>/<full hex>; a blob larger than the
// whole-verify size has its chunk digests beside it, in <full hex>.chunks
// (see chunks.go). Puts in progress live in <dir>/tmp/ and are renamed into
// place once fsynced, the sidecar before the blob, so a visible blob has its
// sidecar unless it was stored before sidecars existed. Directories of the
// sha256 tree are created on demand and never removed.
//
// FS is safe for concurrent use. It must not be copied.
type FS struct {
	dir   string
	blobs string // <dir>/sha256
	tmp   string // <dir>/tmp

	bufs      sync.Pool // *[]byte of copyBufSize
	chunkBufs sync.Pool // *[]byte of defaultChunkSize, for fileReader

	// durable records directories of the sha256 tree whose entry in their
	// parent is known to be fsynced, so each is synced once per process
	// rather than once per Put. A directory that merely exists (created by
	// a concurrent Put, or by an earlier process that may have crashed
	// before its sync) is not in the set until this process syncs it.
	durable sync.Map // string → struct{}

	readOnly bool // OpenFSReadOnly: Put and Delete refused

	wholeVerify int64        // Open verifies blobs up to this size whole (DefaultWholeVerify)
	quarantined atomic.Int64 // damaged blobs found since opened (Quarantined)
}

// OpenFS opens (creating it if needed) a filesystem store rooted at dir, and
// removes temp files older than an hour left by Puts interrupted by a crash.
func OpenFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, schema.Errorf(schema.KindInvalidArgument, "blobstore: empty directory")
	}
	dir = filepath.Clean(dir)
	s := &FS{
		dir:   dir,
		blobs: filepath.Join(dir, blobDirName),
		tmp:   filepath.Join(dir, tmpDirName),

		wholeVerify: DefaultWholeVerify,
	}
	s.bufs.New = func() any {
		b := make([]byte, copyBufSize)
		return &b
	}
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	for _, d := range []string{s.blobs, s.tmp} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, ioError(err, "create directory")
		}
	}
	// Make the sha256/ and tmp/ entries (and the root's own entry, if we
	// created it) durable before the first Put relies on them.
	syncs := []string{dir}
	if created {
		syncs = append(syncs, filepath.Dir(dir))
	}
	for _, d := range syncs {
		if err := syncDir(d); err != nil {
			return nil, ioError(err, "sync directory")
		}
	}
	s.durable.Store(s.blobs, struct{}{})
	if err := s.removeStaleTemps(time.Now()); err != nil {
		return nil, err
	}
	return s, nil
}

// OpenFSReadOnly opens the existing store at dir for reading only: it
// creates nothing, removes nothing (not even stale temp files), and its Put
// and Delete fail with schema.KindForbidden. It is for reading the store of
// a stopped server that must stay as it is (a point-in-time rebuild's
// source). A directory without a store is schema.KindNotFound.
func OpenFSReadOnly(dir string) (*FS, error) {
	dir = filepath.Clean(dir)
	s := &FS{dir: dir, blobs: filepath.Join(dir, blobDirName), tmp: filepath.Join(dir, tmpDirName), readOnly: true,
		wholeVerify: DefaultWholeVerify}
	s.bufs.New = func() any {
		b := make([]byte, copyBufSize)
		return &b
	}
	if fi, err := os.Stat(s.blobs); err != nil || !fi.IsDir() {
		return nil, schema.Errorf(schema.KindNotFound, "blobstore: %s holds no store", dir)
	}
	return s, nil
}

// errReadOnly refuses a change to a store opened with OpenFSReadOnly.
func errReadOnly(op string) error {
	return schema.Errorf(schema.KindForbidden, "blobstore: %s: the store is open read-only", op)
}

// Close releases the store. FS holds no open resources, so it does nothing;
// it exists so that FS has the Open/Close shape of every component.
func (s *FS) Close() error { return nil }

// Root returns the directory the store keeps its files in.
func (s *FS) Root() string { return s.dir }

// Put implements Store. The source is streamed into a temp file while its
// SHA-256, MD5 and chunk digests are computed; the file is fsynced, renamed
// into place and its directory fsynced. A blob larger than the whole-verify
// size gets its sidecar of chunk digests, written and fsynced the same way
// and renamed into place just before the blob. If the blob is already
// present it is verified (size and digest): when sound, the temp file is
// dropped, the existing blob's modification time is refreshed, so that a
// re-used orphan gets a new grace period before CollectOrphans may take it,
// and its sidecar is replaced if it is missing, damaged or different; when
// damaged, it is quarantined and the new bytes take its place (heal on
// write), sidecar first.
//
// Errors: schema.KindTooLarge when r holds more than maxSize bytes (maxSize
// >= 0); the context's error (wrapped) when ctx ends; the source's error
// (wrapped with %w, so its kind survives) when reading r fails;
// schema.KindInternal for storage I/O failures.
func (s *FS) Put(ctx context.Context, r io.Reader, maxSize int64) (info Info, err error) {
	if s.readOnly {
		return Info{}, errReadOnly("put")
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("blobstore: put: %w", err)
	}
	f, err := os.CreateTemp(s.tmp, tempPattern)
	if err != nil {
		return Info{}, ioError(err, "create temp file")
	}
	tmpName := f.Name()
	closed, placed := false, false
	defer func() {
		if !closed {
			_ = f.Close()
		}
		if !placed {
			_ = os.Remove(tmpName) // best effort: OpenFS removes leftovers
		}
	}()

	sum256, sumMD5 := sha256.New(), md5.New()
	// The chunk digests are computed from the stream itself, not from a
	// re-read of the temp file, so they describe the very bytes the digest
	// names. They are computed for every blob, as its size is known only
	// at the end; a small blob's are dropped.
	sumChunks := newChunkSummer(defaultChunkSize)
	size, err := s.copyLimited(ctx, io.MultiWriter(f, sum256, sumMD5, sumChunks), r, maxSize)
	if err != nil {
		return Info{}, err
	}
	if err := f.Sync(); err != nil {
		return Info{}, ioError(err, "sync blob")
	}
	fi, err := f.Stat()
	if err != nil {
		return Info{}, ioError(err, "stat blob")
	}
	closed = true
	if err := f.Close(); err != nil {
		return Info{}, ioError(err, "close blob")
	}
	// Last chance to honour cancellation: past the rename the blob is
	// visible, so Put then completes and reports success.
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("blobstore: put: %w", err)
	}

	info = Info{
		SHA256:  hex.EncodeToString(sum256.Sum(nil)),
		MD5:     hex.EncodeToString(sumMD5.Sum(nil)),
		Size:    size,
		ModTime: fi.ModTime(),
	}
	d1 := filepath.Join(s.blobs, info.SHA256[:2])
	d2 := filepath.Join(d1, info.SHA256[2:4])
	target := filepath.Join(d2, info.SHA256)
	if err := s.ensureDir(d1); err != nil {
		return Info{}, err
	}
	if err := s.ensureDir(d2); err != nil {
		return Info{}, err
	}

	// The sidecar of a large blob, durable before anything is renamed.
	var chunks []byte
	var chunksTmp string
	if size > s.wholeVerify {
		chunks = sumChunks.result().encode(info.SHA256)
		if chunksTmp, err = s.writeTempFile(chunks); err != nil {
			return Info{}, err
		}
		defer func() {
			if chunksTmp != "" {
				_ = os.Remove(chunksTmp)
			}
		}()
	}

	// Already present? It is trusted only once verified: a damaged copy
	// is quarantined and replaced by the bytes just received. Touching a
	// sound one restarts its grace period; if a concurrent Delete removes
	// it before the touch, the rename below stores it again. A sound
	// blob's sidecar is compared with the one just computed and replaced
	// when it differs (missing, damaged, or written in another format).
	now := time.Now()
	_, _, err = s.verify(ctx, info.SHA256, info.Size, false)
	if err == nil {
		err = os.Chtimes(target, now, now)
	}
	switch {
	case err == nil:
		info.ModTime = now
		placed = true
		_ = os.Remove(tmpName)
		if chunks != nil {
			tmp := chunksTmp
			chunksTmp = "" // placeChunks renames or removes it
			if _, err := s.placeChunks(target, chunks, tmp); err != nil {
				return Info{}, err
			}
		}
	case errors.Is(err, fs.ErrNotExist), schema.IsKind(err, schema.KindNotFound), errors.Is(err, ErrDamaged):
		if chunks != nil {
			if err := os.Rename(chunksTmp, chunksPath(target)); err != nil {
				return Info{}, ioError(err, "rename chunk digests")
			}
			chunksTmp = ""
		}
		if err := os.Rename(tmpName, target); err != nil {
			if chunks != nil {
				_ = removeChunks(target) // no sidecar without its blob
			}
			return Info{}, ioError(err, "rename blob")
		}
		placed = true
	default:
		return Info{}, ioError(err, "check existing blob")
	}
	// Sync the directory even for a duplicate: a concurrent Put may have
	// renamed the blob in and not yet synced.
	if err := syncDir(d2); err != nil {
		return Info{}, ioError(err, "sync directory")
	}
	return info, nil
}

// copyLimited copies r to w with a pooled buffer, checking ctx before every
// read and reading at most maxSize+1 bytes (maxSize >= 0) so that an
// oversized source is detected without draining it.
func (s *FS) copyLimited(ctx context.Context, w io.Writer, r io.Reader, maxSize int64) (int64, error) {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return size, fmt.Errorf("blobstore: put: %w", err)
		}
		p := buf
		if maxSize >= 0 {
			if remaining := maxSize - size; remaining < int64(len(p)) {
				p = p[:remaining+1]
			}
		}
		n, rerr := r.Read(p)
		if n > 0 {
			size += int64(n)
			if maxSize >= 0 && size > maxSize {
				return size, schema.Errorf(schema.KindTooLarge, "blob exceeds the maximum size of %d bytes", maxSize)
			}
			// Hash writes never fail, so an error here is the file's.
			if _, err := w.Write(p[:n]); err != nil {
				return size, ioError(err, "write blob")
			}
		}
		if rerr == io.EOF {
			return size, nil
		}
		if rerr != nil {
			return size, fmt.Errorf("blobstore: put: reading source: %w", rerr)
		}
	}
}

// Open implements Store. The returned Reader wraps the open file; closing it
// is the caller's job. A blob of up to DefaultWholeVerify bytes is verified
// whole before Open returns (a damaged one is quarantined and Open fails
// with an error wrapping ErrDamaged). A larger one is verified as it is
// read (see fileReader): chunk by chunk, at any offset, when its sidecar is
// sound, in which case Open also checks the file's size against the size
// the sidecar records (a mismatch is damage: quarantined, ErrDamaged);
// only by a whole hash of a read from its start to its end otherwise.
func (s *FS) Open(ctx context.Context, digest string) (Reader, error) {
	p, err := s.path(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notFound(digest)
		}
		return nil, ioError(err, "open blob")
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, ioError(err, "stat blob")
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, notFound(digest)
	}
	r := &fileReader{s: s, f: f, fi: fi, path: p, digest: digest, size: fi.Size(), cur: -1}
	if fi.Size() <= s.wholeVerify {
		if err := s.checkFile(ctx, p, f, fi, digest, nil); err != nil {
			_ = f.Close()
			return nil, err
		}
		r.verified = true
		return r, nil
	}
	// A missing or untrustworthy sidecar is not damage of the blob: the
	// reader falls back to the whole hash, and Verify rewrites it.
	chunks, err := loadChunks(p, digest)
	switch {
	case err != nil:
		r.h = sha256.New()
	case chunks.size != fi.Size():
		_ = f.Close()
		return nil, s.quarantine(p, fi, digest, fmt.Sprintf("%d bytes, its chunk digests say %d", fi.Size(), chunks.size))
	default:
		r.chunks, r.checked = chunks, make([]bool, chunks.count())
	}
	return r, nil
}

// Stat implements Store. FS does not keep MD5s, so Info.MD5 is empty.
func (s *FS) Stat(ctx context.Context, digest string) (Info, error) {
	p, err := s.path(digest)
	if err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Info{}, notFound(digest)
		}
		return Info{}, ioError(err, "stat blob")
	}
	if !fi.Mode().IsRegular() {
		return Info{}, notFound(digest)
	}
	return Info{SHA256: digest, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements Store. It removes the blob's sidecar first, so a crash
// between the two leaves a blob without one (read as one stored before
// sidecars existed, until Verify writes it) rather than a sidecar no Walk
// would ever find. The directory is not fsynced: a delete lost in a crash
// leaves an orphan, which the next CollectOrphans removes.
func (s *FS) Delete(ctx context.Context, digest string) error {
	if s.readOnly {
		return errReadOnly("delete")
	}
	p, err := s.path(digest)
	if err != nil {
		return err
	}
	if err := removeChunks(p); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ioError(err, "delete blob")
	}
	return nil
}

// Walk implements Store. It visits only regular files whose name is a valid
// digest stored under the directories that digest names; anything else in
// the tree (sidecars, <digest>.chunks, among them) is skipped. Blobs added or removed during the walk may or may not
// be visited. Each leaf directory is read whole before fn is called for its
// blobs, so fn may delete the blob it is given.
func (s *FS) Walk(ctx context.Context, fn func(Info) error) error {
	l1, err := readDir(s.blobs)
	if err != nil {
		return err
	}
	for _, e1 := range l1 {
		if !e1.IsDir() || !isHexPair(e1.Name()) {
			continue
		}
		d1 := filepath.Join(s.blobs, e1.Name())
		l2, err := readDir(d1)
		if err != nil {
			return err
		}
		for _, e2 := range l2 {
			if !e2.IsDir() || !isHexPair(e2.Name()) {
				continue
			}
			d2 := filepath.Join(d1, e2.Name())
			files, err := readDir(d2)
			if err != nil {
				return err
			}
			for _, e := range files {
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("blobstore: walk: %w", err)
				}
				name := e.Name()
				if !e.Type().IsRegular() || !schema.ValidDigest(name) ||
					name[:2] != e1.Name() || name[2:4] != e2.Name() {
					continue
				}
				fi, err := e.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted since the directory was read
				}
				if err != nil {
					return ioError(err, "stat blob")
				}
				if err := fn(Info{SHA256: name, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// path validates digest and returns the blob's file name.
func (s *FS) path(digest string) (string, error) {
	if !schema.ValidDigest(digest) {
		return "", schema.Errorf(schema.KindInvalidArgument, "invalid blob digest: want 64 lower-case hex characters")
	}
	return filepath.Join(s.blobs, digest[:2], digest[2:4], digest), nil
}

// ensureDir creates dir if needed and makes its entry in its parent durable,
// once per process.
func (s *FS) ensureDir(dir string) error {
	if _, ok := s.durable.Load(dir); ok {
		return nil
	}
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return ioError(err, "create directory")
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return ioError(err, "sync directory")
	}
	s.durable.Store(dir, struct{}{})
	return nil
}

// removeStaleTemps removes temp files last modified before now-staleTempAge.
// Younger ones may belong to a Put of another process sharing the directory.
// Removal is best effort: a file that cannot be removed is retried next open.
func (s *FS) removeStaleTemps(now time.Time) error {
	entries, err := readDir(s.tmp)
	if err != nil {
		return err
	}
	cutoff := now.Add(-staleTempAge)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		_ = os.Remove(filepath.Join(s.tmp, e.Name()))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// readDir lists dir, treating a directory removed behind our back as empty.
func readDir(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, ioError(err, "read directory")
	}
	return entries, nil
}

func isHexPair(name string) bool {
	return len(name) == 2 && isLowerHex(name[0]) && isLowerHex(name[1])
}

func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func notFound(digest string) error {
	return schema.Errorf(schema.KindNotFound, "blob %s not found", digest)
}

func ioError(err error, op string) error {
	if IsNoSpace(err) { // a full disk is the server's condition, not a fault: 507, and a retry later works
		return &schema.Error{Kind: schema.KindInsufficientStorage, Msg: "the disk is full: the content could not be stored",
			Err: fmt.Errorf("blobstore: %s: %w", op, err)}
	}
	return schema.Wrap(schema.KindInternal, err, "blobstore: "+op)
}

// LinkStats reports LinkInto.
type LinkStats struct {
	// Blobs is how many blobs dst received, Linked how many of them are
	// hard links to s's files (the others are copies), Bytes their size.
	Blobs, Linked int
	Bytes         int64
}

// LinkInto puts every blob of s into the store dst: a hard link where both
// are on one filesystem, else a copy (written to dst's tmp/, fsynced and
// renamed into place). A blob's sidecar goes the same way, before the blob.
// Blobs are content-addressed and never change (a sidecar is replaced by
// rename, never written in place), so a link shares nothing that could
// diverge. A blob dst already holds is left as it is (it gains s's sidecar
// if it has none). Puts in progress in s are not blobs and stay behind.
// When LinkInto returns, every entry it made is durable.
func (s *FS) LinkInto(ctx context.Context, dst *FS) (LinkStats, error) {
	var st LinkStats
	if dst.readOnly {
		return st, errReadOnly("link")
	}
	leaves := map[string]bool{}
	err := s.Walk(ctx, func(info Info) error {
		from, err := s.path(info.SHA256)
		if err != nil {
			return err
		}
		to, err := dst.path(info.SHA256)
		if err != nil {
			return err
		}
		d2 := filepath.Dir(to)
		if err := dst.ensureDir(filepath.Dir(d2)); err != nil {
			return err
		}
		if err := dst.ensureDir(d2); err != nil {
			return err
		}
		st.Blobs++
		st.Bytes += info.Size
		leaves[d2] = true
		switch err := os.Link(chunksPath(from), chunksPath(to)); {
		case err == nil, errors.Is(err, fs.ErrExist), errors.Is(err, fs.ErrNotExist): // linked, there, or none
		default:
			if err := dst.copyIn(ctx, chunksPath(from), chunksPath(to)); err != nil {
				return err
			}
		}
		switch err := os.Link(from, to); {
		case err == nil:
			st.Linked++
			return nil
		case errors.Is(err, fs.ErrExist):
			return nil
		}
		return dst.copyIn(ctx, from, to)
	})
	if err != nil {
		return st, err
	}
	for d := range leaves {
		if err := syncDir(d); err != nil {
			return st, ioError(err, "sync directory")
		}
	}
	return st, nil
}

// copyIn copies the file from into the blob file to: through a temp file
// in s's tmp/, fsynced, then renamed (the caller syncs to's directory).
func (s *FS) copyIn(ctx context.Context, from, to string) (err error) {
	in, err := os.Open(from)
	if err != nil {
		return ioError(err, "open blob")
	}
	defer in.Close()
	f, err := os.CreateTemp(s.tmp, tempPattern)
	if err != nil {
		return ioError(err, "create temp file")
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := s.copyLimited(ctx, f, in, -1); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return ioError(err, "sync blob")
	}
	if err := f.Close(); err != nil {
		return ioError(err, "close blob")
	}
	if err := os.Rename(f.Name(), to); err != nil {
		return ioError(err, "rename blob")
	}
	return nil
}
