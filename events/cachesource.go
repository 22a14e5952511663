package events

import (
	"context"

	"github.com/cairnhq/cairn/blobstore/cache"
	"github.com/cairnhq/cairn/schema"
)

// checkCache validates a service's cache settings against its type: a
// cache has them (and none of a storage service's), an id S3 would accept
// (its copies live in a directory of that name), and a source that is
// either an HTTP origin or a storage service of its own account other
// than itself. A storage service has none.
func (s *Core) checkCache(ctx context.Context, id, account, typ string, st schema.ServiceSettings) error {
	if typ != schema.ServiceCache {
		if st.Cache != nil {
			return schema.Errorf(schema.KindInvalidArgument, "source, source_path, refresh, expire_unused, max_bytes and negative_ttl are settings of cache services")
		}
		return nil
	}
	if !schema.ValidServiceID(id) {
		return schema.Errorf(schema.KindInvalidArgument, "a cache service id must be 3-63 lower-case letters, digits, '-' or '.'")
	}
	if st.Cache == nil {
		return schema.Errorf(schema.KindInvalidArgument, `a cache service needs a source: {"service": "<sid>"} or {"url": "http://origin/base"}`)
	}
	if st.KeepVersions != "" || st.Versioning != "" || st.Replica != nil {
		return schema.Errorf(schema.KindInvalidArgument, "keep_versions, versioning and replica are settings of storage services")
	}
	if err := st.Cache.Check(); err != nil {
		return err
	}
	sid := st.Cache.Source.Service
	if sid == "" {
		return nil
	}
	if sid == id {
		return schema.Errorf(schema.KindInvalidArgument, "a cache cannot be its own source")
	}
	src, err := s.state.Service(ctx, sid)
	if schema.IsKind(err, schema.KindNotFound) || (err == nil && src.Account != account) {
		return schema.Errorf(schema.KindInvalidArgument, "source service %q is not a service of this account", sid)
	}
	if err != nil {
		return err
	}
	if src.Type != schema.ServiceStorage {
		return schema.Errorf(schema.KindInvalidArgument, "source service %q is not a storage service", sid)
	}
	return nil
}

// serviceSource is a cache's source when it is a storage service of this
// instance: the live version of the source path and the requested path,
// read through the projections and the core like a getfile of that
// service (large objects resolved, their segments from the account's own
// services). A copy is current while the version id is the same.
type serviceSource struct {
	core    *Core
	account string // the cache's: the source must still belong to it
	sid     string
	st      schema.CacheSettings
}

var _ cache.Source = (*serviceSource)(nil)

// Fetch implements cache.Source.
func (src *serviceSource) Fetch(ctx context.Context, path string, have *cache.Validators) (*cache.Response, error) {
	notFound := schema.Errorf(schema.KindNotFound, "file not found in the cache's source service")
	svc, err := src.core.state.Service(ctx, src.sid)
	if schema.IsKind(err, schema.KindNotFound) || (err == nil && (svc.Account != src.account || svc.Type != schema.ServiceStorage)) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	key := src.st.SourceKey(path)
	if schema.CheckPath(key) != nil {
		return nil, notFound
	}
	v, err := src.core.state.Object(ctx, src.sid, key)
	if schema.IsKind(err, schema.KindNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if !v.Live(src.core.Now()) {
		return nil, notFound
	}
	if have != nil && have.Version == v.Version {
		return &cache.Response{NotModified: true}, nil
	}
	v, err = src.core.Resolve(ctx, v, func(o *schema.Service) bool { return o.Account == src.account })
	if err != nil {
		return nil, err
	}
	rd, err := src.core.Open(ctx, v)
	if err != nil {
		return nil, err
	}
	return &cache.Response{Body: rd, ContentType: v.ContentType, ETag: v.ETag, Modified: v.Time, ID: v.Version,
		SyncID: v.SyncID, Meta: v.Meta, Validators: cache.Validators{Version: v.Version}}, nil
}
