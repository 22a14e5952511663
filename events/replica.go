package events

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"regexp"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// Replication is the core's family of writes that make a service a
// replica of another instance's: the sources it follows and the changes
// it applies, as the primary made them.
type Replication interface {
	CreateSource(ctx context.Context, o Origin, name, rawURL, key string) (*schema.Source, error)
	DeleteSource(ctx context.Context, o Origin, name string) error
	SourceKey(src *schema.Source) (string, error)
	ApplyChange(ctx context.Context, id string, c Change, fetch Fetch) error
	Resync(ctx context.Context, id string, primarySyncID uint64, files []Change, fetch func(Change) Fetch) error
}

var _ Replication = (*Core)(nil)

// Replication, OwnCDN's way: a replica service follows a service of
// another instance (a source: its API URL and a key there) through its
// syncnext feed, and appends each change to its own log as the same kind
// of event with the primary's version id, time and actor, so its sync ids,
// version lists and point-in-time reads are the primary's. The events
// package owns the writes; cmd/server runs the loops that pull.

var sourceNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// CreateSource defines a replication source; the key value is sealed.
func (s *Core) CreateSource(ctx context.Context, o Origin, name, rawURL, key string) (*schema.Source, error) {
	if !sourceNameRe.MatchString(name) {
		return nil, schema.Errorf(schema.KindInvalidArgument, "a source name is 1-64 lower-case letters, digits, '-' or '_'")
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, schema.Errorf(schema.KindInvalidArgument, "url must be an absolute http(s) URL")
	}
	if key == "" {
		return nil, schema.Errorf(schema.KindInvalidArgument, "key is required: a key value on the source")
	}
	subject := schema.SourceSubject(name, "*")
	_, err = s.commitOn(ctx, subject, func() (*schema.Event, error) {
		if _, err := s.state.Source(ctx, name); err == nil {
			return nil, schema.Errorf(schema.KindAlreadyExists, "source %q already exists", name)
		}
		return s.newEvent(o, schema.TypeSourceCreated, schema.DefaultAccount, "", "",
			schema.SourceCreated{Name: name, URL: u.String(), Sealed: s.sealer.Seal(key)})
	})
	if err != nil {
		return nil, err
	}
	return s.state.Source(ctx, name)
}

// DeleteSource removes a source no replica follows (KindConflict else).
func (s *Core) DeleteSource(ctx context.Context, o Origin, name string) error {
	_, err := s.commitOnAll(ctx, func() (*schema.Event, error) {
		if _, err := s.state.Source(ctx, name); err != nil {
			return nil, err
		}
		svcs, err := s.state.Services(ctx)
		if err != nil {
			return nil, err
		}
		for _, svc := range svcs {
			if r := svc.Settings.Replica; r != nil && r.Source == name {
				return nil, schema.Errorf(schema.KindConflict, "service %q is a replica through source %q", svc.ID, name)
			}
		}
		return s.newEvent(o, schema.TypeSourceDeleted, schema.DefaultAccount, "", "", schema.SourceDeleted{Name: name})
	})
	return err
}

// SourceKey returns a source's clear key value (for requests to it). It
// never leaves the process.
func (s *Core) SourceKey(src *schema.Source) (string, error) {
	v, err := s.sealer.Open(src.Sealed)
	if err != nil {
		return "", schema.Wrap(schema.KindInternal, err, "source key cannot be opened")
	}
	return v, nil
}

// Change is one change of a primary's service, as the replication
// follower reads it from syncnext (schema.Update on the wire).
type Change struct {
	SyncID      uint64
	Time        time.Time
	Op          string
	Path        string
	Version     string
	Size        int64
	ETag        string
	ContentType string
	Meta        map[string]string
	Headers     map[string]string
	DeleteAt    int64
	CopiedFrom  *schema.ObjectRef
	PartSizes   []int64
	Segments    []SegmentRef

	local  []schema.Segment // Segments as the replica holds them
	depth  int              // the large object's nesting depth on the replica
	Null   bool
	SHA256 string
	Purged string
	Actor  string
}

// SegmentRef is one segment of a primary's static large object
// (schema.UpdateSegment on the wire).
type SegmentRef struct {
	Service     string
	Path        string
	Version     string
	Size        int64
	ETag        string
	ContentType string
	SHA256      string
}

// localSegments finds a large object's segments among what the replica
// holds (the segment versions it replicated, or blobs with their digests,
// or the large objects it replicated that a segment without a digest
// references) and returns them with the object's nesting depth; ok is
// false when one is missing: the object is then stored whole.
func (s *Core) localSegments(ctx context.Context, refs []SegmentRef) (segs []schema.Segment, depth int, ok bool) {
	depth = 1
	for _, r := range refs {
		sg := schema.Segment{Service: r.Service, Path: r.Path, Version: r.Version, Size: r.Size, ETag: r.ETag, ContentType: r.ContentType}
		if v, err := s.state.Version(ctx, r.Service, r.Path, r.Version); err == nil && !v.Deleted && len(v.Segments) == 0 && v.Size == r.Size {
			sg.Blob = v.Blob
		} else if _, err := s.blobs.Stat(ctx, r.SHA256); r.SHA256 != "" && err == nil {
			sg.Blob = schema.BlobRef{SHA256: r.SHA256}
		} else if v, err := s.state.Referenced(ctx, r.Service, r.Path, r.Version); r.SHA256 == "" && err == nil &&
			!v.Deleted && len(v.Segments) > 0 && v.Size == r.Size && v.Depth() < MaxManifestDepth {
			// a reference to a large object (syncnext shows it as a
			// segment without a digest): the replica references its copy
			sg.Manifest = true
			depth = max(depth, v.Depth()+1)
		} else {
			return nil, 0, false
		}
		segs = append(segs, sg)
	}
	return segs, depth, len(segs) > 0
}

// Fetch returns the bytes of the change's version from the primary.
type Fetch func(ctx context.Context) (io.ReadCloser, error)

// ApplyChange appends change c of the primary to replica service id, as
// the primary wrote it. Changes must come in order: one already applied
// (sync id at or below the replica's) is skipped, a gap is KindConflict.
// Content is fetched only when the replica does not hold a blob with the
// change's digest. The append expects the replica's history as read, so
// two appliers never apply a change twice.
func (s *Core) ApplyChange(ctx context.Context, id string, c Change, fetch Fetch) error {
	svc, err := s.storage(ctx, id)
	if err != nil {
		return err
	}
	if svc.Settings.Replica == nil {
		return schema.Errorf(schema.KindConflict, "service %q is not a replica", id)
	}
	if c.SyncID <= svc.LastSyncID {
		return nil
	}
	if err := schema.CheckPath(c.Path); err != nil {
		return err
	}
	if err := s.refuseReadOnly(); err != nil {
		return err
	}
	var blob *schema.BlobRef
	if c.Op == schema.OpPut || c.Op == schema.OpCopy {
		if segs, depth, ok := s.localSegments(ctx, c.Segments); ok {
			c.local, c.depth = segs, depth // a large object of segments the replica holds
			blob = &schema.BlobRef{}
		} else if blob, err = s.replicaBlob(ctx, c, fetch); err != nil {
			return err
		}
	}
	return s.applyChange(ctx, id, c, blob, c.Version)
}

// applyChange appends change c to replica id as event eventID, its bytes
// (for a put or a copy) already stored as blob.
func (s *Core) applyChange(ctx context.Context, id string, c Change, blob *schema.BlobRef, eventID string) error {
	// The expectation is on the change's own object, not the whole
	// service: a filter over every path of a service costs the log a walk
	// of all its subjects, which made catching up quadratic. One follower
	// applies a service's changes in order, each after the previous one is
	// applied, and the sync id check plus the event id (the version id,
	// deduplicated by the log) keep a retried change from landing twice.
	filter := schema.ObjectFilter(id, c.Path)
	for {
		skipped, err := s.applyOnce(ctx, id, c, blob, eventID, filter)
		if !skipped {
			return err
		}
	}
}

// applyOnce appends change c, or (reporting skipped) the skip to just
// before it when the primary holds no changes between.
func (s *Core) applyOnce(ctx context.Context, id string, c Change, blob *schema.BlobRef, eventID, filter string) (skipped bool, err error) {
	_, err = s.commitOn(ctx, filter, func() (*schema.Event, error) {
		skipped = false
		cur, err := s.state.Service(ctx, id)
		if err != nil {
			return nil, err
		}
		switch {
		case c.SyncID <= cur.LastSyncID:
			return nil, errApplied
		case c.SyncID != cur.LastSyncID+1:
			// syncnext lists every change the primary still holds, in
			// order: the ids before this one have none left (their
			// versions were purged since), so the replica skips them too
			skipped = true
			return s.newEvent(Origin{Actor: schema.Actor{KeyID: schema.ActorSystem, Dialect: "replication"}},
				schema.TypeServiceResynced, cur.Account, id, "",
				schema.ServiceResynced{ID: id, SyncID: c.SyncID - 1, ResyncedAt: cur.ResyncedAt, Skip: true})
		}
		ev, err := s.replicaEvent(ctx, cur, c, blob)
		if ev != nil {
			ev.ID = eventID
		}
		return ev, err
	})
	if err == errApplied {
		return false, nil
	}
	return skipped && err == nil, err
}

var errApplied = schema.Errorf(schema.KindConflict, "change already applied")

// replicaBlob stores (or finds) the bytes of a put or copy.
func (s *Core) replicaBlob(ctx context.Context, c Change, fetch Fetch) (*schema.BlobRef, error) {
	if c.SHA256 != "" && c.Size > s.opts.InlineMax {
		if _, err := s.blobs.Stat(ctx, c.SHA256); err == nil {
			return &schema.BlobRef{SHA256: c.SHA256}, nil // identical bytes are never fetched twice
		}
	}
	var rd io.ReadCloser = io.NopCloser(bytes.NewReader(nil))
	if c.Size > 0 { // nothing to fetch for an empty object (a DLO manifest, say)
		var err error
		if rd, err = fetch(ctx); err != nil {
			return nil, err
		}
	}
	defer rd.Close()
	p, err := s.storeBody(ctx, io.LimitReader(rd, c.Size+1))
	if err != nil {
		return nil, err
	}
	if p.Size != c.Size || (c.SHA256 != "" && p.Blob.SHA256 != c.SHA256) {
		return nil, schema.Errorf(schema.KindUnavailable, "the source sent %d bytes (%s) for %s version %s, want %d (%s)",
			p.Size, p.Blob.SHA256, c.Path, c.Version, c.Size, c.SHA256)
	}
	return &p.Blob, nil
}

// replicaEvent builds the event that records c on the replica: the
// primary's event type, version id (as the event id), time and actor.
func (s *Core) replicaEvent(ctx context.Context, svc *schema.Service, c Change, blob *schema.BlobRef) (*schema.Event, error) {
	var typ string
	var payload any
	switch c.Op {
	case schema.OpPut:
		typ = schema.TypeObjectPut
		payload = schema.ObjectPut{Version: c.Version, Size: c.Size, ETag: c.ETag, ContentType: c.ContentType, Meta: c.Meta,
			DeleteAt: c.DeleteAt, Headers: c.Headers, Blob: *blob, Null: c.Null, PartSizes: c.PartSizes, Segments: c.local,
			ManifestDepth: c.depth}
	case schema.OpCopy:
		from := schema.ObjectRef{}
		if c.CopiedFrom != nil {
			from = *c.CopiedFrom
		}
		typ = schema.TypeObjectCopy
		payload = schema.ObjectCopy{Version: c.Version, From: from, Size: c.Size, ETag: c.ETag, ContentType: c.ContentType,
			Meta: c.Meta, DeleteAt: c.DeleteAt, Headers: c.Headers, Blob: *blob, Null: c.Null, Segments: c.local,
			ManifestDepth: c.depth}
	case schema.OpMeta:
		typ = schema.TypeObjectMeta
		payload = schema.ObjectMeta{Version: c.Version, ContentType: c.ContentType, Meta: c.Meta, DeleteAt: c.DeleteAt,
			Headers: c.Headers, Null: c.Null}
	case schema.OpDelete:
		typ = schema.TypeObjectDelete
		payload = schema.ObjectDelete{Version: c.Version, Null: c.Null}
	case schema.OpExpire:
		head, err := s.state.Head(ctx, svc.ID, c.Path)
		if err != nil {
			return nil, err
		}
		typ = schema.TypeObjectExpired
		payload = schema.ObjectExpired{Version: c.Version, Expired: head.Version}
	case schema.OpPurge:
		typ = schema.TypeObjectPurged
		payload = schema.ObjectPurged{Version: c.Version, Purged: c.Purged}
	default:
		return nil, schema.Errorf(schema.KindInvalidArgument, "unknown change op %q", c.Op)
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	src := svc.Settings.Replica
	return &schema.Event{Type: typ, ID: c.Version, Time: c.Time.UTC(),
		Actor:   schema.Actor{KeyID: c.Actor, Dialect: "replication", Addr: src.Source + "/" + src.SID},
		Account: svc.Account, Service: svc.ID, Path: c.Path, Data: data}, nil
}

// checkReplica checks a replica setting: its source exists.
func (s *Core) checkReplica(ctx context.Context, r *schema.ReplicaOf) error {
	if r == nil {
		return nil
	}
	if r.SID == "" {
		return schema.Errorf(schema.KindInvalidArgument, "replica.sid names the service on the source")
	}
	if _, err := s.state.Source(ctx, r.Source); schema.IsKind(err, schema.KindNotFound) {
		return schema.Errorf(schema.KindInvalidArgument, "replica.source: no source %q (sourcecreate first)", r.Source)
	} else if err != nil {
		return err
	}
	return nil
}

// Resync starts replica id over at its primary's current files after its
// history could not be followed (the primary no longer holds it, or the
// two diverged): a service.resynced event makes the projections forget the
// replica's own objects and history (the log keeps them) and sets its sync
// id so that the primary's files, put back with their version ids, times
// and bytes, end exactly at the primary's sync id. From there it follows
// the primary change by change again.
func (s *Core) Resync(ctx context.Context, id string, primarySyncID uint64, files []Change, fetch func(Change) Fetch) error {
	svc, err := s.storage(ctx, id)
	if err != nil {
		return err
	}
	if svc.Settings.Replica == nil {
		return schema.Errorf(schema.KindConflict, "service %q is not a replica", id)
	}
	n := uint64(len(files))
	if n > primarySyncID {
		return schema.Errorf(schema.KindConflict, "the primary lists %d files but only %d changes", n, primarySyncID)
	}
	if err := s.refuseReadOnly(); err != nil {
		return err
	}
	// every blob first: the resync's events then follow each other
	blobs := make([]*schema.BlobRef, len(files))
	for i, f := range files {
		if blobs[i], err = s.replicaBlob(ctx, f, fetch(f)); err != nil {
			return err
		}
	}
	o := Origin{Actor: schema.Actor{KeyID: schema.ActorSystem, Dialect: "replication"}}
	filter := schema.ServiceObjectsFilter(id)
	if _, err = s.commitOn(ctx, filter, func() (*schema.Event, error) {
		return s.newEvent(o, schema.TypeServiceResynced, svc.Account, id, "",
			schema.ServiceResynced{ID: id, SyncID: primarySyncID - n, ResyncedAt: primarySyncID})
	}); err != nil {
		return err
	}
	for i, f := range files {
		f.Op, f.SyncID = schema.OpPut, primarySyncID-n+uint64(i)+1
		// a fresh event id: the version's own id may be in the log's
		// duplicate window already (the replica held it before)
		if err := s.applyChange(ctx, id, f, blobs[i], s.ids.New(s.now())); err != nil {
			return err
		}
	}
	return nil
}
