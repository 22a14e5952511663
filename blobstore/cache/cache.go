package cache

import (
	"context"
	"io"
	"mime"
	"os"
	pathpkg "path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// Settings are how a Cache keeps copies (schema.CacheSettings, parsed).
type Settings struct {
	// Refresh: a copy older than this is re-checked with the source before
	// it is served; 0: on every request; < 0: never.
	Refresh time.Duration
	// ExpireUnused drops copies not served for this long; 0: never.
	ExpireUnused time.Duration
	// MaxBytes bounds the copies' bytes (LRU eviction); 0: no bound.
	MaxBytes int64
	// NegativeTTL: how long not-found and failed answers of the source
	// are remembered; 0: not at all.
	NegativeTTL time.Duration
}

// Options are the parts of a Cache that do not change with its settings.
type Options struct {
	Clock func() time.Time // default time.Now
	// FetchTimeout bounds one fetch from the source, body included
	// (default 10 minutes). A fetch does not end when the request that
	// started it goes away: others may be waiting for it.
	FetchTimeout time.Duration
	// MaxObjectSize bounds one copy (default 5 GiB).
	MaxObjectSize int64
}

// How a request was served (Result.Status, the X-Cache header).
const (
	StatusHit         = "hit"         // a fresh copy
	StatusRevalidated = "revalidated" // a copy the source confirmed unchanged
	StatusStale       = "stale"       // a copy due for a re-check that failed lately
	StatusMiss        = "miss"        // fetched: there was no copy
	StatusRefreshed   = "refreshed"   // fetched: the source's copy had changed
)

// Result is a file served by a Cache. The caller closes Body.
type Result struct {
	Entry  Entry
	Status string
	Body   *Body
}

// Stats are a cache's counters since it was opened, and what it holds.
type Stats struct {
	Files, Bytes int64
	// Hits are requests served from a copy without fetching it (fresh,
	// revalidated or stale); Misses the requests that waited for a fetch
	// (however many shared it); NegativeHits those answered from a
	// remembered not-found or failure.
	Hits, Misses, NegativeHits int64
	// Fetches are the requests made to the source (conditional ones
	// included); Revalidated those it answered "not modified".
	Fetches, Revalidated int64
	// Evicted by the size bound; Expired unused.
	Evicted, Expired int64
	// BytesServed from copies to hits; BytesFetched from the source.
	BytesServed, BytesFetched int64
	// Waiting is how many requests wait for a fetch from the source now.
	Waiting int64
}

// Cache fills a Store from a Source: a miss fetches the file once however
// many requests wait for it, a copy older than the refresh interval is
// re-checked with a conditional request, not-found and failures are
// remembered for the negative TTL, copies unused for too long expire.
type Cache struct {
	store *Store
	opts  Options
	ids   *schema.IDs

	mu       sync.Mutex
	src      Source
	set      Settings
	flights  map[string]*flight
	negative map[string]negative

	hits, misses, negHits, fetches, revalidated, expired, served, fetched, waiting atomic.Int64
}

// negative is a remembered not-found or failure of the source.
type negative struct {
	until time.Time
	err   error
}

// maxNegative bounds the remembered answers; past it expired ones are
// dropped, and all when that is not enough.
const maxNegative = 1 << 16

// New returns a cache over store, filled from src.
func New(store *Store, src Source, set Settings, o Options) *Cache {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 10 * time.Minute
	}
	if o.MaxObjectSize <= 0 {
		o.MaxObjectSize = 5 << 30
	}
	c := &Cache{store: store, opts: o, ids: schema.NewIDs(), src: src, set: set,
		flights: map[string]*flight{}, negative: map[string]negative{}}
	store.SetMaxBytes(set.MaxBytes)
	return c
}

// Configure changes the settings; with a new source (reset) every copy
// and remembered answer is dropped, as they came from the old one.
func (c *Cache) Configure(src Source, set Settings, reset bool) {
	c.mu.Lock()
	c.src, c.set = src, set
	if reset {
		clear(c.negative)
	}
	c.mu.Unlock()
	if reset {
		c.store.Flush()
	}
	c.store.SetMaxBytes(set.MaxBytes)
}

func (c *Cache) state() (Source, Settings) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.src, c.set
}

// Get serves path: a fresh copy, else the source's answer through one
// shared fetch. A remembered not-found is schema.KindNotFound, a
// remembered or new failure of the source schema.KindUnavailable (or
// KindTooLarge past MaxObjectSize) unless a copy can be served instead.
func (c *Cache) Get(ctx context.Context, path string) (*Result, error) {
	now := c.opts.Clock()
	_, set := c.state()
	c.expire(now, set)
	if e, f, ok := c.store.Get(path, now); ok {
		switch {
		case set.Refresh < 0 || now.Sub(e.Fetched) < set.Refresh:
			c.hits.Add(1)
			return c.result(e, newShared(f, 1), StatusHit), nil
		case c.failedLately(path, now) != nil:
			c.hits.Add(1)
			return c.result(e, newShared(f, 1), StatusStale), nil
		}
		_ = f.Close()
	} else if err := c.failedLately(path, now); err != nil {
		c.negHits.Add(1)
		return nil, err
	}
	return c.join(ctx, path)
}

// flight is one fetch of a path that every request missing it waits for.
type flight struct {
	done    chan struct{}
	waiters int // requests besides the leader (under Cache.mu, until done)
	entry   Entry
	sh      *shared
	status  string
	err     error
}

// join makes the request wait for the path's fetch, starting it when none
// is in flight.
func (c *Cache) join(ctx context.Context, path string) (*Result, error) {
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	c.mu.Lock()
	f, inFlight := c.flights[path]
	if inFlight {
		f.waiters++
	} else {
		f = &flight{done: make(chan struct{})}
		c.flights[path] = f
	}
	c.mu.Unlock()
	if !inFlight {
		c.lead(ctx, path, f)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		// It found no copy and gave up waiting for one. The file is
		// shared: give up this request's share once it exists.
		c.misses.Add(1)
		go func() {
			<-f.done
			if f.sh != nil {
				f.sh.release()
			}
		}()
		return nil, ctx.Err()
	}
	if f.status == StatusRevalidated || f.status == StatusStale {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	if f.err != nil {
		return nil, f.err
	}
	return c.result(f.entry, f.sh, f.status), nil
}

// lead runs the fetch of a flight and hands its result to every waiter.
func (c *Cache) lead(ctx context.Context, path string, f *flight) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.FetchTimeout)
	defer cancel()
	finished := false
	defer func() {
		if !finished { // a panic: the waiters must not wait forever
			f.sh, f.err = nil, schema.Errorf(schema.KindInternal, "cache fill of %q failed", path)
		}
		c.mu.Lock()
		delete(c.flights, path)
		if f.sh != nil {
			f.sh.refs.Store(int64(f.waiters) + 1)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.entry, f.sh, f.status, f.err = c.fill(fctx, path, false)
	finished = true
}

// fill asks the source for path, conditionally when a copy with
// validators is held (unless full), and returns what to serve: the copy
// (new, confirmed or stale) with its file open, or the error.
func (c *Cache) fill(ctx context.Context, path string, full bool) (Entry, *shared, string, error) {
	have, cached := c.store.Peek(path)
	var v *Validators
	if cached && !full && !have.Validators.IsZero() {
		v = &have.Validators
	}
	src, _ := c.state()
	gen := c.store.Generation()
	c.fetches.Add(1)
	resp, err := src.Fetch(ctx, path, v)
	now := c.opts.Clock()
	switch {
	case err != nil:
		return c.failed(path, now, have, cached, err)
	case resp.NotModified && v == nil:
		return c.failed(path, now, have, cached, schema.Errorf(schema.KindUnavailable,
			"the cache's source answered not modified to an unconditional request"))
	case resp.NotModified:
		c.revalidated.Add(1)
		c.forget(path)
		if c.store.Update(path, have.File, func(e *Entry) { e.Fetched = now }) {
			if e, f, ok := c.store.Get(path, now); ok {
				return e, newShared(f, 0), StatusRevalidated, nil
			}
		}
		return c.fill(ctx, path, true) // the copy went away meanwhile: fetch it whole
	}
	defer resp.Body.Close()
	w, err := c.store.Create()
	if err != nil {
		return Entry{}, nil, "", err
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, c.opts.MaxObjectSize+1))
	c.fetched.Add(n)
	if err != nil || n > c.opts.MaxObjectSize {
		w.Abort()
		if err == nil {
			err = schema.Errorf(schema.KindTooLarge, "the source's file is larger than %d bytes", c.opts.MaxObjectSize)
		}
		return c.failed(path, now, have, cached, err)
	}
	e := Entry{Path: path, ID: resp.ID, SyncID: resp.SyncID, ETag: resp.ETag, ContentType: resp.ContentType,
		Modified: resp.Modified, Meta: resp.Meta, Validators: resp.Validators, Fetched: now, Used: now}
	c.defaults(&e, w, now)
	e, file, _, err := w.Commit(e, CommitOptions{Fill: true, Gen: gen})
	if err != nil {
		return Entry{}, nil, "", err
	}
	c.forget(path)
	status := StatusMiss
	if cached {
		status = StatusRefreshed
	}
	return e, newShared(file, 0), status, nil
}

// defaults completes a new copy's description: an id, the MD5 as ETag,
// the time as Last-Modified (seconds, as HTTP dates carry), a content
// type guessed from the name.
func (c *Cache) defaults(e *Entry, w *Writer, now time.Time) {
	if e.ID == "" {
		e.ID = c.ids.New(now)
	}
	if e.ETag == "" {
		e.ETag = w.MD5()
	}
	if e.Modified.IsZero() {
		e.Modified = now.UTC().Truncate(time.Second)
	}
	if e.ContentType == "" {
		e.ContentType = mime.TypeByExtension(pathpkg.Ext(e.Path))
	}
	if e.ContentType == "" {
		e.ContentType = "application/octet-stream"
	}
}

// failed handles a source's not-found or failure: a not-found drops the
// copy (when it is still the one asked about); both are remembered; a
// failure serves the copy as it is when there is one.
func (c *Cache) failed(path string, now time.Time, have Entry, cached bool, err error) (Entry, *shared, string, error) {
	if schema.IsKind(err, schema.KindNotFound) {
		if cached {
			_, _, _ = c.store.Remove(path, func(cur Entry) error {
				if cur.File != have.File {
					return errKeep
				}
				return nil
			})
		}
		c.remember(path, now, err)
		return Entry{}, nil, "", err
	}
	if !schema.IsKind(err, schema.KindTooLarge) && !schema.IsKind(err, schema.KindUnavailable) {
		err = schema.Wrap(schema.KindUnavailable, err, "the cache's source failed")
	}
	c.remember(path, now, err)
	if cached {
		if e, f, ok := c.store.Get(path, now); ok {
			return e, newShared(f, 0), StatusStale, nil
		}
	}
	return Entry{}, nil, "", err
}

var errKeep = schema.Errorf(schema.KindConflict, "the copy changed")

// remember keeps a not-found or failure of path for the negative TTL.
func (c *Cache) remember(path string, now time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set.NegativeTTL <= 0 {
		return
	}
	if len(c.negative) >= maxNegative {
		for p, n := range c.negative {
			if !now.Before(n.until) {
				delete(c.negative, p)
			}
		}
		if len(c.negative) >= maxNegative {
			clear(c.negative)
		}
	}
	c.negative[path] = negative{until: now.Add(c.set.NegativeTTL), err: err}
}

// forget drops a remembered answer for path.
func (c *Cache) forget(path string) {
	c.mu.Lock()
	delete(c.negative, path)
	c.mu.Unlock()
}

// failedLately returns the remembered answer for path, if still valid.
func (c *Cache) failedLately(path string, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.negative[path]
	if !ok {
		return nil
	}
	if !now.Before(n.until) {
		delete(c.negative, path)
		return nil
	}
	return n.err
}

// expire drops the copies unused for longer than the setting.
func (c *Cache) expire(now time.Time, set Settings) {
	if set.ExpireUnused > 0 {
		c.expired.Add(int64(c.store.ExpireUnused(now.Add(-set.ExpireUnused))))
	}
}

// PutInput is a file written into a cache (uploadfile).
type PutInput struct {
	Path        string
	Body        io.Reader
	ContentType string
	Meta        map[string]string
	// Check decides, atomically with the write, whether it may replace
	// the current copy (nil when none): the request's preconditions.
	Check func(cur *Entry) error
}

// Put stores a file as the copy of its path until the next refresh
// re-checks it with the source (it has no validators, so that is a full
// fetch) or it is evicted. It is refused (KindTooLarge) past the size
// bound or MaxObjectSize.
func (c *Cache) Put(in PutInput) (Entry, error) {
	_, set := c.state()
	limit := c.opts.MaxObjectSize
	if set.MaxBytes > 0 && set.MaxBytes < limit {
		limit = set.MaxBytes
	}
	w, err := c.store.Create()
	if err != nil {
		return Entry{}, err
	}
	n, err := io.Copy(w, io.LimitReader(in.Body, limit+1))
	if err != nil {
		w.Abort()
		return Entry{}, schema.Wrap(schema.KindInvalidArgument, err, "could not read the request body")
	}
	if n > limit {
		w.Abort()
		return Entry{}, schema.Errorf(schema.KindTooLarge, "the file is larger than the cache's limit of %d bytes", limit)
	}
	now := c.opts.Clock()
	e := Entry{Path: in.Path, ContentType: in.ContentType, Meta: in.Meta, Uploaded: true, Fetched: now, Used: now}
	c.defaults(&e, w, now)
	e, f, kept, err := w.Commit(e, CommitOptions{Check: in.Check})
	if err != nil {
		return Entry{}, err
	}
	_ = f.Close()
	if !kept {
		return Entry{}, schema.Errorf(schema.KindUnavailable, "the cache is closed")
	}
	c.forget(in.Path)
	return e, nil
}

// Delete evicts the copy of path (when check, if any, accepts it) and
// forgets a remembered answer; KindNotFound when there was no copy.
func (c *Cache) Delete(path string, check func(Entry) error) (Entry, error) {
	e, ok, err := c.store.Remove(path, check)
	if err != nil {
		return e, err
	}
	c.forget(path)
	if !ok {
		return Entry{}, schema.Errorf(schema.KindNotFound, "file not in the cache")
	}
	return e, nil
}

// Flush drops every copy and remembered answer and returns how many
// copies there were.
func (c *Cache) Flush() int {
	n := c.store.Flush()
	c.mu.Lock()
	clear(c.negative)
	c.mu.Unlock()
	return n
}

// List returns a page of the copies (see Store.List), after dropping
// those unused for too long.
func (c *Cache) List(prefix, delimiter, after string, limit int) Page {
	_, set := c.state()
	c.expire(c.opts.Clock(), set)
	return c.store.List(prefix, delimiter, after, limit)
}

// Stats returns the counters and what the cache holds.
func (c *Cache) Stats() Stats {
	files, bytes := c.store.Usage()
	return Stats{Files: files, Bytes: bytes, Hits: c.hits.Load(), Misses: c.misses.Load(), NegativeHits: c.negHits.Load(),
		Fetches: c.fetches.Load(), Revalidated: c.revalidated.Load(), Evicted: c.store.Evicted(), Expired: c.expired.Load(),
		BytesServed: c.served.Load(), BytesFetched: c.fetched.Load(), Waiting: c.waiting.Load()}
}

// Close keeps the copies for the next start (Store.Close).
func (c *Cache) Close() error { return c.store.Close() }

// Destroy drops the copies and the cache's directory.
func (c *Cache) Destroy() error { return c.store.Destroy() }

// result makes a request's Result; hits count the bytes they read.
func (c *Cache) result(e Entry, sh *shared, status string) *Result {
	b := &Body{SectionReader: io.NewSectionReader(sh.f, 0, e.Size), sh: sh}
	if status == StatusHit || status == StatusRevalidated || status == StatusStale {
		b.served = &c.served
	}
	return &Result{Entry: e, Status: status, Body: b}
}

// shared is a content file open for every request a fill served; the last
// to close it closes the file.
type shared struct {
	f    *os.File
	refs atomic.Int64
}

func newShared(f *os.File, refs int64) *shared {
	sh := &shared{f: f}
	sh.refs.Store(refs)
	return sh
}

func (sh *shared) release() {
	if sh.refs.Add(-1) == 0 {
		_ = sh.f.Close()
	}
}

// Body reads a served copy: Read, ReadAt, Seek and Size over its bytes.
type Body struct {
	*io.SectionReader
	sh     *shared
	served *atomic.Int64 // counts bytes read, for hits
	closed atomic.Bool
}

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	n, err := b.SectionReader.Read(p)
	if b.served != nil {
		b.served.Add(int64(n))
	}
	return n, err
}

// Close gives up this request's share of the file.
func (b *Body) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.sh.release()
	}
	return nil
}
