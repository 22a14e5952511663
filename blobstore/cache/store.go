package cache

import (
	"container/list"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// Entry is one cached copy of a file. The store keeps it in memory; Meta
// is shared with the store and must not be modified.
type Entry struct {
	Path string `json:"path"`
	// ID is the copy's version id: the source's version for a service
	// source, else an id given when the copy was made.
	ID string `json:"id"`
	// SyncID is the sync id of the source's version (service sources).
	SyncID      uint64            `json:"sync_id,omitempty"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"`
	ContentType string            `json:"content_type"`
	Modified    time.Time         `json:"modified"`
	Meta        map[string]string `json:"meta,omitempty"`
	// Validators are what the source said about its copy, for the next
	// conditional re-check.
	Validators Validators `json:"validators,omitzero"`
	// Uploaded: written by uploadfile, not fetched from the source.
	Uploaded bool `json:"uploaded,omitempty"`
	// Fetched is when the source last confirmed the copy (refresh counts
	// from here); Used when it was last served (sliding expiry, LRU).
	Fetched time.Time `json:"fetched"`
	Used    time.Time `json:"used"`
	// File names the content file (32 hex digits).
	File string `json:"file"`
}

// StoreOptions configure a Store.
type StoreOptions struct {
	// MaxBytes bounds the bytes of all copies (0: no bound).
	MaxBytes int64
	// Owner says whose copies the directory holds (the cache service's
	// identity, which changes when the id is deleted and created again);
	// a snapshot written for another owner is not loaded.
	Owner string
}

// Store is one cache's copies: an index in memory, ordered by last use,
// and a content file per copy in dir/files/. Every method is safe for
// concurrent use.
type Store struct {
	dir   string
	files string
	tmp   string
	owner string

	mu      sync.Mutex
	max     int64
	index   map[string]*list.Element // path → element holding *Entry
	lru     *list.List               // front: most recently used
	bytes   int64
	gen     uint64 // bumped by Remove and Flush (see CommitOptions.Fill)
	evicted int64
	closed  bool
}

const (
	filesDir     = "files"
	tmpDir       = "tmp"
	snapshotName = "index.json"
	dirPerm      = 0o700
)

// OpenStore opens the store in dir (created if needed). When a clean Close
// left a snapshot for the same owner, its copies are back (each checked
// against its file's size); otherwise, after a crash or for a new owner,
// the store starts empty. Files no copy names are removed either way.
func OpenStore(dir string, o StoreOptions) (*Store, error) {
	s := &Store{dir: dir, files: filepath.Join(dir, filesDir), tmp: filepath.Join(dir, tmpDir), owner: o.Owner,
		max: max(o.MaxBytes, 0), index: map[string]*list.Element{}, lru: list.New()}
	for _, d := range []string{s.files, s.tmp} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, schema.Wrap(schema.KindInternal, err, "cache: create directory")
		}
	}
	if err := removeContents(s.tmp); err != nil {
		return nil, err
	}
	entries, err := s.takeSnapshot()
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, e := range entries {
		if _, dup := s.index[e.Path]; dup || !validFileID(e.File) || e.Size < 0 {
			continue
		}
		if fi, err := os.Stat(s.filePath(e.File)); err != nil || !fi.Mode().IsRegular() || fi.Size() != e.Size {
			continue
		}
		e := e
		s.index[e.Path] = s.lru.PushBack(&e)
		s.bytes += e.Size
		keep[e.File] = true
	}
	if err := s.removeUnnamed(keep); err != nil {
		return nil, err
	}
	s.evictLocked() // the bound may be lower than when the snapshot was taken
	return s, nil
}

// Get returns the copy of path with its content file opened, and marks it
// used at now (most recently used). The file stays readable after the copy
// is evicted; the caller closes it.
func (s *Store) Get(path string, now time.Time) (Entry, *os.File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.index[path]
	if !ok {
		return Entry{}, nil, false
	}
	e := el.Value.(*Entry)
	f, err := os.Open(s.filePath(e.File))
	if err != nil { // the file was lost under us: forget the copy
		s.dropLocked(el)
		return Entry{}, nil, false
	}
	if now.After(e.Used) {
		e.Used = now
	}
	s.lru.MoveToFront(el)
	return *e, f, true
}

// Peek returns the copy of path without marking it used.
func (s *Store) Peek(path string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.index[path]; ok {
		return *el.Value.(*Entry), true
	}
	return Entry{}, false
}

// Update changes the copy of path in place (its times, validators), when
// it is still the copy held in file; it reports whether it was.
func (s *Store) Update(path, file string, fn func(*Entry)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.index[path]
	if !ok || el.Value.(*Entry).File != file {
		return false
	}
	e := el.Value.(*Entry)
	fn(e)
	e.Path, e.File = path, file
	return true
}

// Remove drops the copy of path when check (if any) accepts it; it
// reports whether there was one. A fill begun before does not keep its
// copy.
func (s *Store) Remove(path string, check func(Entry) error) (Entry, bool, error) {
	s.mu.Lock()
	el, ok := s.index[path]
	if !ok {
		s.mu.Unlock()
		return Entry{}, false, nil
	}
	e := *el.Value.(*Entry)
	if check != nil {
		if err := check(e); err != nil {
			s.mu.Unlock()
			return e, true, err
		}
	}
	s.dropLocked(el)
	s.gen++
	s.mu.Unlock()
	s.unlink(e.File)
	return e, true, nil
}

// Flush drops every copy and returns how many there were. Fills begun
// before do not keep their copies.
func (s *Store) Flush() int {
	s.mu.Lock()
	var gone []string
	for el := s.lru.Front(); el != nil; el = el.Next() {
		gone = append(gone, el.Value.(*Entry).File)
	}
	s.index, s.bytes = map[string]*list.Element{}, 0
	s.lru.Init()
	s.gen++
	s.mu.Unlock()
	s.unlink(gone...)
	return len(gone)
}

// ExpireUnused drops the copies last used before cutoff and returns how
// many. Copies are in order of use, so only those are looked at.
func (s *Store) ExpireUnused(cutoff time.Time) int {
	s.mu.Lock()
	var gone []string
	for el := s.lru.Back(); el != nil && el.Value.(*Entry).Used.Before(cutoff); el = s.lru.Back() {
		gone = append(gone, el.Value.(*Entry).File)
		s.dropLocked(el)
	}
	s.mu.Unlock()
	s.unlink(gone...)
	return len(gone)
}

// SetMaxBytes changes the bound (0: none), evicting the least recently
// used copies until the rest fit.
func (s *Store) SetMaxBytes(n int64) {
	s.mu.Lock()
	s.max = max(n, 0)
	gone := s.evictLocked()
	s.mu.Unlock()
	s.unlink(gone...)
}

// Usage returns the number of copies and their bytes.
func (s *Store) Usage() (files, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.index)), s.bytes
}

// Evicted returns how many copies the bound has evicted since Open.
func (s *Store) Evicted() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}

// Close writes the snapshot the next OpenStore reads back. The store
// keeps nothing new afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	entries := make([]Entry, 0, len(s.index))
	for el := s.lru.Front(); el != nil; el = el.Next() {
		entries = append(entries, *el.Value.(*Entry))
	}
	s.mu.Unlock()
	return s.writeSnapshot(entries)
}

// Destroy drops every copy and removes the directory (the cache service
// was deleted).
func (s *Store) Destroy() error {
	s.mu.Lock()
	s.closed = true
	s.index, s.bytes = map[string]*list.Element{}, 0
	s.lru.Init()
	s.mu.Unlock()
	if err := os.RemoveAll(s.dir); err != nil {
		return schema.Wrap(schema.KindInternal, err, "cache: remove directory")
	}
	return nil
}

// dropLocked removes el from the index (not its file).
func (s *Store) dropLocked(el *list.Element) {
	e := el.Value.(*Entry)
	delete(s.index, e.Path)
	s.lru.Remove(el)
	s.bytes -= e.Size
}

// evictLocked drops least recently used copies until the bound holds and
// returns their files.
func (s *Store) evictLocked() []string {
	var gone []string
	for s.max > 0 && s.bytes > s.max {
		el := s.lru.Back()
		gone = append(gone, el.Value.(*Entry).File)
		s.dropLocked(el)
		s.evicted++
	}
	return gone
}

func (s *Store) filePath(id string) string { return filepath.Join(s.files, id[:2], id) }

// unlink removes content files; a reader that has one open keeps it.
func (s *Store) unlink(ids ...string) {
	for _, id := range ids {
		_ = os.Remove(s.filePath(id))
	}
}

// removeUnnamed removes every content file not in keep.
func (s *Store) removeUnnamed(keep map[string]bool) error {
	err := filepath.WalkDir(s.files, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !keep[d.Name()] {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "cache: clean files")
	}
	return nil
}

func removeContents(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "cache: read directory")
	}
	for _, de := range des {
		if err := os.RemoveAll(filepath.Join(dir, de.Name())); err != nil {
			return schema.Wrap(schema.KindInternal, err, "cache: clean directory")
		}
	}
	return nil
}

func newFileID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func validFileID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// Writer receives the bytes of a new copy (Store.Create). Commit or Abort
// it.
type Writer struct {
	s    *Store
	f    *os.File
	sum  hash.Hash
	n    int64
	done bool
}

// Create starts a new copy in a temporary file.
func (s *Store) Create() (*Writer, error) {
	f, err := os.CreateTemp(s.tmp, "fill-*")
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "cache: create file")
	}
	return &Writer{s: s, f: f, sum: md5.New()}, nil
}

// Generation returns a number that changes with every Remove and Flush:
// a fill reads it before it asks the source (CommitOptions.Gen).
func (s *Store) Generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.sum.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		return n, schema.Wrap(schema.KindInternal, err, "cache: write file")
	}
	return n, nil
}

// Size returns the bytes written so far.
func (w *Writer) Size() int64 { return w.n }

// MD5 returns the hex MD5 of the bytes written.
func (w *Writer) MD5() string { return hex.EncodeToString(w.sum.Sum(nil)) }

// Abort drops the copy.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

// CommitOptions say when a new copy is kept.
type CommitOptions struct {
	// Fill: the copy was fetched from the source, so it is not kept when
	// a Remove or Flush came after Generation returned Gen, before the
	// fetch began (the copy may predate what they meant to drop). An
	// upload is newer than either and is kept.
	Fill bool
	Gen  uint64
	// Check, if set, decides under the store's lock whether the copy may
	// replace the current one (nil when there is none).
	Check func(cur *Entry) error
}

// ErrClosed is returned by Commit once the store is closed.
var ErrClosed = errors.New("cache: store closed")

// Commit makes the bytes written the copy e describes (Size and File are
// set here; the caller sets the rest, Used included) and returns it with
// its content file open for reading from the start. The copy is kept
// unless it is larger than the bound or o says otherwise (kept reports
// it); either way the returned file holds the bytes until closed, so the
// requests waiting for a fill are served even when the copy is not kept.
func (w *Writer) Commit(e Entry, o CommitOptions) (out Entry, f *os.File, kept bool, err error) {
	if w.done {
		return Entry{}, nil, false, ErrClosed
	}
	defer w.Abort() // removes the temp file when it was not renamed
	if err := w.f.Sync(); err != nil {
		return Entry{}, nil, false, schema.Wrap(schema.KindInternal, err, "cache: sync file")
	}
	// A reader's own descriptor, opened before the file may be renamed:
	// it follows the file wherever it goes and stays valid after an
	// unlink, so an eviction right after the commit cannot take it away.
	if f, err = os.Open(w.f.Name()); err != nil {
		return Entry{}, nil, false, schema.Wrap(schema.KindInternal, err, "cache: open file")
	}
	e.Size, e.File = w.n, newFileID()
	s := w.s
	s.mu.Lock()
	var cur *Entry
	el, exists := s.index[e.Path]
	if exists {
		cur = el.Value.(*Entry)
	}
	if o.Check != nil {
		if err := o.Check(cur); err != nil {
			s.mu.Unlock()
			_ = f.Close()
			return Entry{}, nil, false, err
		}
	}
	kept = !s.closed && (s.max == 0 || e.Size <= s.max) && !(o.Fill && s.gen != o.Gen)
	var gone []string
	if kept {
		kept, err = w.place(e.File)
	}
	if kept {
		if exists {
			gone = append(gone, cur.File)
			s.dropLocked(el)
		}
		ne := e
		s.index[e.Path] = s.lru.PushFront(&ne)
		s.bytes += e.Size
		gone = append(gone, s.evictLocked()...)
	}
	s.mu.Unlock()
	s.unlink(gone...)
	if err != nil {
		_ = f.Close()
		return Entry{}, nil, false, err
	}
	if kept {
		w.done = true
		_ = w.f.Close()
	}
	return e, f, kept, nil
}

// place moves the temp file to the content file id (under the store's
// lock, so Flush and eviction see the file whenever the index names it).
func (w *Writer) place(id string) (bool, error) {
	p := w.s.filePath(id)
	if err := os.MkdirAll(filepath.Dir(p), dirPerm); err != nil {
		return false, schema.Wrap(schema.KindInternal, err, "cache: create directory")
	}
	if err := os.Rename(w.f.Name(), p); err != nil {
		return false, schema.Wrap(schema.KindInternal, err, "cache: place file")
	}
	return true, nil
}
