package events

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// ObjectWriter is the core's family of object mutations, each one event
// (mutation.go), and what a dialect needs to shape them.
type ObjectWriter interface {
	PutObject(ctx context.Context, o Origin, in PutInput) (*schema.Version, error)
	CopyObject(ctx context.Context, o Origin, in CopyInput) (*schema.Version, error)
	UpdateMeta(ctx context.Context, o Origin, in MetaInput) (*schema.Version, error)
	DeleteObject(ctx context.Context, o Origin, service, path string, cond Conditions) (*schema.Version, error)
	PurgeVersion(ctx context.Context, o Origin, service, path, version string) (*schema.Version, error)
	PutLarge(ctx context.Context, o Origin, in LargeInput) (*schema.Version, error)
	// MaxObjectSize is the largest object the core stores.
	MaxObjectSize() int64
	// Now is the core's clock (delete-at times are relative to it).
	Now() time.Time
	// ReadOnly reports whether every mutation is refused.
	ReadOnly() bool
}

var _ ObjectWriter = (*Core)(nil)

// PutInput is an object upload.
type PutInput struct {
	Service     string
	Path        string
	Body        io.Reader
	ContentType string
	Meta        map[string]string
	Headers     map[string]string // stored headers (lower-case names)
	DeleteAt    int64             // unix seconds, 0 = never
	Cond        Conditions
	// Declared is the body's length as the request declared it (0 when
	// it did not): an upload that would not fit is refused before a byte
	// of it is read.
	Declared int64
}

// PutObject stores a new version of an object. Small bodies travel inside
// the event; larger ones are written (and fsynced) to the blobstore first.
func (s *Core) PutObject(ctx context.Context, o Origin, in PutInput) (*schema.Version, error) {
	m, err := s.prepare(ctx, in.Service, in.Path, condScope(in.Cond), true)
	if err != nil {
		return nil, err
	}
	// fail fast before reading the body; checked again on the state the
	// append expects
	if err := in.Cond.Check(m.live(s.opts.Clock())); err != nil {
		return nil, err
	}
	if in.Declared > 0 { // storeBody checks any upload before its first byte; this one knows its size
		if err := s.opts.Space.CheckStore(in.Declared); err != nil {
			return nil, err
		}
	}
	p, err := s.storeBody(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	p.ContentType = in.ContentType
	p.Meta = in.Meta
	p.Headers = in.Headers
	p.DeleteAt = in.DeleteAt
	return s.commitVersion(ctx, o, m, schema.TypeObjectPut, p.Size, in.Cond,
		func(m *mutation, version string) any { p.Version, p.Null = version, m.svc.Suspended(); return p })
}

// condScope is the expectation a write with conditions cond needs: its
// object's, when the conditions decide on the object's state.
func condScope(cond Conditions) scope {
	if cond.Any() {
		return scopeObject
	}
	return scopeNone
}

// commitVersion appends the event that stores a new version of m's object
// (a put or a copy of size bytes) once the quota and the write's
// conditions hold on the state the append expects, and returns the
// version once applied. payload builds the event's payload for the state
// and the version id it is given.
func (s *Core) commitVersion(ctx context.Context, o Origin, m *mutation, typ string, size int64,
	cond Conditions, payload func(m *mutation, version string) any) (*schema.Version, error) {
	ev, err := s.commitObject(ctx, m, func(m *mutation) (*schema.Event, error) {
		if err := m.checkQuota(size); err != nil {
			return nil, err
		}
		if err := cond.Check(m.live(s.opts.Clock())); err != nil {
			return nil, err
		}
		ev, err := s.newEvent(o, typ, m.svc.Account, m.service, m.path, nil)
		if err != nil {
			return nil, err
		}
		ev.Data, err = json.Marshal(payload(m, ev.ID))
		return ev, err
	})
	if err != nil {
		return nil, err
	}
	return s.applied(ctx, ev)
}

// storeBody reads a body: inline when small, else into the blobstore.
// Callers have refused a read-only core before it reads a byte.
func (s *Core) storeBody(ctx context.Context, body io.Reader) (schema.ObjectPut, error) {
	var p schema.ObjectPut
	if body == nil {
		body = bytes.NewReader(nil)
	}
	// a small body travels in its event and never reaches the blobstore's
	// check: refuse it here, before a byte is read (no 100 Continue)
	if err := s.opts.Space.CheckStore(0); err != nil {
		return p, err
	}
	buf := make([]byte, s.opts.InlineMax+1)
	n, err := io.ReadFull(body, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return p, schema.Wrap(schema.KindInvalidArgument, err, "could not read the request body")
	}
	buf = buf[:n]
	if int64(n) <= s.opts.InlineMax {
		sum := sha256.Sum256(buf)
		m := md5.Sum(buf)
		p.Size, p.ETag = int64(n), hex.EncodeToString(m[:])
		p.Blob = schema.BlobRef{SHA256: hex.EncodeToString(sum[:]), Inline: buf}
		return p, nil
	}
	info, err := s.blobs.Put(ctx, io.MultiReader(bytes.NewReader(buf), body), s.opts.MaxObjectSize)
	if err != nil {
		return p, err
	}
	p.Size, p.ETag = info.Size, info.MD5
	p.Blob = schema.BlobRef{SHA256: info.SHA256}
	return p, nil
}

// DeleteObject adds a tombstone version; KindNotFound when the object is
// not live.
func (s *Core) DeleteObject(ctx context.Context, o Origin, service, path string, cond Conditions) (*schema.Version, error) {
	m, err := s.prepare(ctx, service, path, scopeObject, false)
	if err != nil {
		return nil, err
	}
	ev, err := s.commitObject(ctx, m, func(m *mutation) (*schema.Event, error) {
		cur := m.live(s.opts.Clock())
		if cur == nil {
			return nil, schema.Errorf(schema.KindNotFound, "file not found")
		}
		if err := cond.Check(cur); err != nil {
			return nil, err
		}
		ev, err := s.newEvent(o, schema.TypeObjectDelete, m.svc.Account, service, path, nil)
		if err != nil {
			return nil, err
		}
		ev.Data, err = json.Marshal(schema.ObjectDelete{Version: ev.ID, Null: m.svc.Suspended()})
		return ev, err
	})
	if err != nil {
		return nil, err
	}
	return s.applied(ctx, ev)
}

// CopyInput copies a version to a new path (possibly in another service).
type CopyInput struct {
	From        schema.ObjectRef // Version "" = the current live version
	Service     string
	Path        string
	ReplaceMeta bool // use ContentType/Meta/Headers below instead of the source's
	ContentType string
	Meta        map[string]string
	Headers     map[string]string
	DeleteAt    int64
	Cond        Conditions // on the destination
}

// CopyObject stores a new version sharing the source's blob: no bytes move.
func (s *Core) CopyObject(ctx context.Context, o Origin, in CopyInput) (*schema.Version, error) {
	m, err := s.prepare(ctx, in.Service, in.Path, condScope(in.Cond), true)
	if err != nil {
		return nil, err
	}
	src, err := s.copySource(ctx, m, in.From)
	if err != nil {
		return nil, err
	}
	p := schema.ObjectCopy{
		From: schema.ObjectRef{Service: in.From.Service, Path: in.From.Path, Version: src.Version},
		Size: src.Size, ETag: src.ETag, ContentType: src.ContentType, Meta: src.Meta, Headers: src.Headers,
		DeleteAt: in.DeleteAt, Blob: schema.BlobRef{SHA256: src.Blob.SHA256, InSeq: src.Blob.InSeq},
		Segments: src.Segments, ManifestDepth: src.ManifestDepth,
	}
	if in.ReplaceMeta {
		p.ContentType, p.Meta, p.Headers = in.ContentType, in.Meta, in.Headers
	}
	return s.commitVersion(ctx, o, m, schema.TypeObjectCopy, p.Size, in.Cond,
		func(m *mutation, version string) any { p.Version, p.Null = version, m.svc.Suspended(); return p })
}

// copySource returns the version a copy reads: the one named, or the live
// version of the source object once the projections have applied its
// newest event. Its service is the destination's when they are the same,
// else read and checked to be a storage service.
func (s *Core) copySource(ctx context.Context, m *mutation, from schema.ObjectRef) (*schema.Version, error) {
	if from.Service != m.service {
		if _, err := s.storage(ctx, from.Service); err != nil {
			return nil, err
		}
	}
	if from.Version != "" {
		src, err := s.state.Version(ctx, from.Service, from.Path, from.Version)
		if err == nil && !src.Live(s.opts.Clock()) {
			err = schema.Errorf(schema.KindNotFound, "source version is a deletion")
		}
		return src, err
	}
	if _, err := s.subjectSeq(ctx, schema.ObjectFilter(from.Service, from.Path)); err != nil {
		return nil, err
	}
	src, err := s.state.Head(ctx, from.Service, from.Path)
	if schema.IsKind(err, schema.KindNotFound) || (err == nil && !src.Live(s.opts.Clock())) {
		return nil, schema.Errorf(schema.KindNotFound, "source file not found")
	}
	return src, err
}

// MetaInput replaces an object's metadata, keeping its bytes.
type MetaInput struct {
	Service     string
	Path        string
	ContentType string
	Meta        map[string]string
	Headers     map[string]string
	DeleteAt    int64
}

// UpdateMeta stores a new version of a live object with new metadata.
func (s *Core) UpdateMeta(ctx context.Context, o Origin, in MetaInput) (*schema.Version, error) {
	m, err := s.prepare(ctx, in.Service, in.Path, scopeObject, false)
	if err != nil {
		return nil, err
	}
	ev, err := s.commitObject(ctx, m, func(m *mutation) (*schema.Event, error) {
		if m.live(s.opts.Clock()) == nil {
			return nil, schema.Errorf(schema.KindNotFound, "file not found")
		}
		ev, err := s.newEvent(o, schema.TypeObjectMeta, m.svc.Account, in.Service, in.Path, nil)
		if err != nil {
			return nil, err
		}
		ev.Data, err = json.Marshal(schema.ObjectMeta{Version: ev.ID, ContentType: in.ContentType, Meta: in.Meta, DeleteAt: in.DeleteAt,
			Headers: in.Headers, Null: m.svc.Suspended()})
		return ev, err
	})
	if err != nil {
		return nil, err
	}
	return s.applied(ctx, ev)
}

// PurgeVersion forgets one version of an object (S3's DeleteObject with a
// versionId): it leaves the projections' history, while the log keeps the
// events. When it was the newest version, the newest remaining one becomes
// the object's state (removing a delete marker brings the object back). It
// returns the purged version; KindNotFound with ReasonNoSuchVersion when
// the object has no such version.
func (s *Core) PurgeVersion(ctx context.Context, o Origin, service, path, version string) (*schema.Version, error) {
	return s.purge(ctx, o, service, path, version, nil)
}

// purge appends the purge of one version; horizon is set by retention.
func (s *Core) purge(ctx context.Context, o Origin, service, path, version string, horizon *time.Time) (*schema.Version, error) {
	m, err := s.prepare(ctx, service, path, scopeObject, false)
	if err != nil {
		return nil, err
	}
	var gone *schema.Version
	_, err = s.commitObject(ctx, m, func(m *mutation) (*schema.Event, error) {
		gone = m.head
		if gone == nil || gone.Version != version { // an older version
			v, err := s.state.Version(ctx, service, path, version)
			if schema.IsKind(err, schema.KindNotFound) {
				return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchVersion, "version not found")
			} else if err != nil {
				return nil, err
			}
			gone = v
		}
		ev, err := s.newEvent(o, schema.TypeObjectPurged, m.svc.Account, service, path, nil)
		if err != nil {
			return nil, err
		}
		ev.Data, err = json.Marshal(schema.ObjectPurged{Version: ev.ID, Purged: version, Horizon: horizon})
		return ev, err
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}
