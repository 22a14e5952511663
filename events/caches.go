package events

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairnhq/cairn/blobstore/cache"
	"github.com/cairnhq/cairn/schema"
)

// Cache services keep copies of their source's files (blobstore/cache),
// each in a directory of its own under CachesOptions.Dir. The copies are
// not history: fills, refreshes, evictions, expiries and uploadfile or
// deletefile on a cache change only them and append nothing. The log
// holds a cache's settings (service.created and service.updated) and
// every flush (cache.flushed.v1 with the number of files dropped), which
// Flush appends.

// CachesOptions configure the cache services of a server.
type CachesOptions struct {
	// Dir holds a directory per cache service (DATA/caches). Empty: a
	// temporary directory that Close removes (a read-only server writes
	// nothing into its data directory).
	Dir string
	// Clock replaces time.Now (tests); default: the core's clock.
	Clock func() time.Time
	// Client fetches from HTTP origins; nil: cache.DefaultClient().
	Client *http.Client
	// FetchTimeout bounds one fetch from a source (default 10 minutes).
	FetchTimeout time.Duration
}

// Caches serves the cache services of the instance: it opens a service's
// cache on first use, follows its settings as the projections show them,
// and drops its copies when the service goes. Safe for concurrent use.
type Caches struct {
	core *Core
	opts CachesOptions

	mu     sync.Mutex
	open   map[string]*openCache
	tmp    string // the temporary root when Dir is empty, made on first use
	closed bool
}

// openCache is a cache service's cache and the settings it runs with.
type openCache struct {
	c        *cache.Cache
	created  time.Time // the service's identity: an id deleted and created again is another service
	settings schema.CacheSettings
	seq      uint64 // the service's LastSeq those settings were read at
}

// NewCaches returns the cache services of core's instance.
func NewCaches(core *Core, o CachesOptions) *Caches {
	if o.Clock == nil {
		o.Clock = core.Now
	}
	if o.Client == nil {
		o.Client = cache.DefaultClient()
	}
	return &Caches{core: core, opts: o, open: map[string]*openCache{}}
}

// dirLocked returns the directory of a cache service's copies.
func (cs *Caches) dirLocked(sid string) (string, error) {
	if !schema.ValidServiceID(sid) { // checkCache makes sure; names never leave the directory
		return "", schema.Errorf(schema.KindInvalidArgument, "not a cache service id")
	}
	root := cs.opts.Dir
	if root == "" {
		if cs.tmp == "" {
			tmp, err := os.MkdirTemp("", "cairn-caches-*")
			if err != nil {
				return "", schema.Wrap(schema.KindInternal, err, "cache directory")
			}
			cs.tmp = tmp
		}
		root = cs.tmp
	}
	return filepath.Join(root, sid), nil
}

// cacheOf returns the cache of service svc, opened on first use and
// reconfigured when svc shows newer settings than it runs with.
func (cs *Caches) cacheOf(svc *schema.Service) (*cache.Cache, error) {
	if svc.Type != schema.ServiceCache || svc.Settings.Cache == nil {
		return nil, schema.Errorf(schema.KindMethodNotAllowed, "service %q is not a cache", svc.ID)
	}
	st := *svc.Settings.Cache
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return nil, schema.Errorf(schema.KindUnavailable, "the server is shutting down")
	}
	oc := cs.open[svc.ID]
	if oc != nil && !oc.created.Equal(svc.Created) { // deleted and created again
		if svc.Created.Before(oc.created) {
			return nil, schema.Errorf(schema.KindNotFound, "service not found") // read before it was replaced
		}
		_ = oc.c.Destroy()
		delete(cs.open, svc.ID)
		oc = nil
	}
	if oc == nil {
		set, src, err := cs.partsOf(svc, st)
		if err != nil {
			return nil, err
		}
		dir, err := cs.dirLocked(svc.ID)
		if err != nil {
			return nil, err
		}
		store, err := cache.OpenStore(dir, cache.StoreOptions{MaxBytes: st.MaxBytes, Owner: svc.Created.UTC().Format(time.RFC3339Nano)})
		if err != nil {
			return nil, err
		}
		c := cache.New(store, src, set, cache.Options{Clock: cs.opts.Clock, FetchTimeout: cs.opts.FetchTimeout,
			MaxObjectSize: cs.core.MaxObjectSize()})
		cs.open[svc.ID] = &openCache{c: c, created: svc.Created, settings: st, seq: svc.LastSeq}
		return c, nil
	}
	if svc.LastSeq > oc.seq { // never back to older settings a slow request read
		if st != oc.settings {
			set, src, err := cs.partsOf(svc, st)
			if err != nil {
				return nil, err
			}
			reset := st.Source != oc.settings.Source || st.SourcePath != oc.settings.SourcePath
			oc.c.Configure(src, set, reset)
			oc.settings = st
		}
		oc.seq = svc.LastSeq
	}
	return oc.c, nil
}

// partsOf turns a cache's settings into the cache's settings and source.
func (cs *Caches) partsOf(svc *schema.Service, st schema.CacheSettings) (cache.Settings, cache.Source, error) {
	t, err := st.Times()
	if err != nil {
		return cache.Settings{}, nil, err
	}
	set := cache.Settings{Refresh: t.Refresh, ExpireUnused: t.ExpireUnused, MaxBytes: st.MaxBytes, NegativeTTL: t.NegativeTTL}
	if st.Source.URL != "" {
		o, err := cache.NewOrigin(cs.opts.Client, st.Source.URL, st.SourcePath)
		return set, o, err
	}
	return set, &serviceSource{core: cs.core, account: svc.Account, sid: st.Source.Service, st: st}, nil
}

// Get serves path from cache service svc: its copy, or the source's file
// through one shared fetch (cache.Cache.Get). The caller closes the body.
func (cs *Caches) Get(ctx context.Context, svc *schema.Service, path string) (*cache.Result, error) {
	if err := schema.CheckPath(path); err != nil {
		return nil, err
	}
	c, err := cs.cacheOf(svc)
	if err != nil {
		return nil, err
	}
	return c.Get(ctx, path)
}

// CachePut is a file written into a cache service (uploadfile).
type CachePut struct {
	Path        string
	Body        io.Reader
	ContentType string
	Meta        map[string]string
	// Cond is checked against the cached copy, atomically with the write.
	Cond Conditions
}

// Put writes a file into cache service svc as the copy of its path, until
// the next refresh re-checks it with the source or it is evicted. Nothing
// goes to the log (the request log records the request).
func (cs *Caches) Put(_ context.Context, svc *schema.Service, in CachePut) (cache.Entry, error) {
	if err := cs.core.refuseReadOnly(); err != nil {
		return cache.Entry{}, err
	}
	if err := schema.CheckPath(in.Path); err != nil {
		return cache.Entry{}, err
	}
	c, err := cs.cacheOf(svc)
	if err != nil {
		return cache.Entry{}, err
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	return c.Put(cache.PutInput{Path: in.Path, Body: in.Body, ContentType: in.ContentType, Meta: in.Meta,
		Check: func(cur *cache.Entry) error { return in.Cond.Check(versionOf(cur)) }})
}

// versionOf is a cached copy as the checks of Conditions see it.
func versionOf(e *cache.Entry) *schema.Version {
	if e == nil {
		return nil
	}
	return &schema.Version{ETag: e.ETag}
}

// Delete evicts path's copy from cache service svc (If-Match checked
// against it); KindNotFound when there is none. Nothing goes to the log.
func (cs *Caches) Delete(_ context.Context, svc *schema.Service, path string, cond Conditions) (cache.Entry, error) {
	if err := cs.core.refuseReadOnly(); err != nil {
		return cache.Entry{}, err
	}
	if err := schema.CheckPath(path); err != nil {
		return cache.Entry{}, err
	}
	c, err := cs.cacheOf(svc)
	if err != nil {
		return cache.Entry{}, err
	}
	return c.Delete(path, func(e cache.Entry) error { return cond.Check(versionOf(&e)) })
}

// Flush empties cache service svc and appends cache.flushed.v1 with the
// number of files dropped, who asked and the request id; it returns that
// number.
func (cs *Caches) Flush(ctx context.Context, o Origin, svc *schema.Service) (int64, error) {
	if err := cs.core.refuseReadOnly(); err != nil {
		return 0, err
	}
	c, err := cs.cacheOf(svc)
	if err != nil {
		return 0, err
	}
	n := int64(c.Flush())
	_, err = cs.core.commitOn(ctx, schema.ServiceSubject(svc.ID, "*"), func() (*schema.Event, error) {
		cur, err := cs.core.state.Service(ctx, svc.ID)
		if err != nil {
			return nil, err
		}
		if cur.Type != schema.ServiceCache {
			return nil, schema.Errorf(schema.KindMethodNotAllowed, "service %q is not a cache", svc.ID)
		}
		return cs.core.newEvent(o, schema.TypeCacheFlushed, cur.Account, svc.ID, "", schema.CacheFlushed{ID: svc.ID, Flushed: n})
	})
	return n, err
}

// List returns a page of cache service svc's copies (cache.Store.List).
func (cs *Caches) List(_ context.Context, svc *schema.Service, prefix, delimiter, after string, limit int) (cache.Page, error) {
	c, err := cs.cacheOf(svc)
	if err != nil {
		return cache.Page{}, err
	}
	return c.List(prefix, delimiter, after, limit), nil
}

// Stats returns cache service svc's counters (since this server started)
// and what it holds.
func (cs *Caches) Stats(svc *schema.Service) (cache.Stats, error) {
	c, err := cs.cacheOf(svc)
	if err != nil {
		return cache.Stats{}, err
	}
	return c.Stats(), nil
}

// Remove drops the copies of a deleted cache service (any other id: a
// no-op).
func (cs *Caches) Remove(sid string) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if oc := cs.open[sid]; oc != nil {
		delete(cs.open, sid)
		return oc.c.Destroy()
	}
	if cs.opts.Dir == "" || !schema.ValidServiceID(sid) { // a temporary root holds only open caches
		return nil
	}
	if err := os.RemoveAll(filepath.Join(cs.opts.Dir, sid)); err != nil {
		return schema.Wrap(schema.KindInternal, err, "remove cache directory")
	}
	return nil
}

// Sweep removes the directories of services that are no longer caches
// (deleted while the server was down, or before a rebuild). Run it before
// serving.
func (cs *Caches) Sweep(ctx context.Context) error {
	if cs.opts.Dir == "" {
		return nil
	}
	des, err := os.ReadDir(cs.opts.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "read cache directory")
	}
	for _, de := range des {
		svc, err := cs.core.state.Service(ctx, de.Name())
		if err != nil && !schema.IsKind(err, schema.KindNotFound) {
			return err
		}
		if err == nil && svc.Type == schema.ServiceCache {
			continue
		}
		if err := cs.Remove(de.Name()); err != nil {
			return err
		}
	}
	return nil
}

// Close keeps every open cache's copies for the next start (a snapshot
// each) and refuses further use.
func (cs *Caches) Close() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return nil
	}
	cs.closed = true
	var errs []error
	for _, oc := range cs.open {
		errs = append(errs, oc.c.Close())
	}
	if cs.tmp != "" {
		errs = append(errs, os.RemoveAll(cs.tmp))
	}
	return errors.Join(errs...)
}
