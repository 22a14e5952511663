package events

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// ObjectReader is the core's family of reads of object content: the bytes
// of a version, wherever they are (inline in the log, in the blobstore,
// or in a large object's segments), and the large objects' resolution
// (large.go).
type ObjectReader interface {
	Open(ctx context.Context, v *schema.Version) (blobstore.Reader, error)
	Resolve(ctx context.Context, v *schema.Version, canRead func(*schema.Service) bool) (*schema.Version, error)
}

var _ ObjectReader = (*Core)(nil)

// inlineReader is a blobstore.Reader over bytes carried by an event.
type inlineReader struct{ *bytes.Reader }

func (inlineReader) Close() error { return nil }

// Open returns the bytes of a version: from the event that carries them
// inline, or from the blobstore, or a large object's segments in order
// (Resolve a DLO first).
func (s *Core) Open(ctx context.Context, v *schema.Version) (blobstore.Reader, error) {
	if v.Deleted {
		return nil, schema.Errorf(schema.KindNotFound, "file not found")
	}
	if len(v.Segments) > 0 {
		return s.openSegments(ctx, v.Segments), nil
	}
	if v.Blob.InSeq == 0 {
		return s.openBlob(ctx, v)
	}
	if data, ok := s.cache.get(v.Blob.InSeq); ok && int64(len(data)) == v.Size {
		return inlineReader{bytes.NewReader(data)}, nil
	}
	ev, err := s.log.Get(ctx, v.Blob.InSeq)
	if err != nil {
		return nil, err
	}
	var p schema.ObjectPut
	if err := ev.Decode(&p); err != nil {
		return nil, err
	}
	if int64(len(p.Blob.Inline)) != v.Size {
		return nil, schema.Errorf(schema.KindInternal, "inline content of event %d does not match its version", v.Blob.InSeq)
	}
	s.cache.put(v.Blob.InSeq, p.Blob.Inline)
	return inlineReader{bytes.NewReader(p.Blob.Inline)}, nil
}

// openBlob opens the blob of v and checks it against v before a byte is
// read: a blob that is not there is "data missing" (an internal error that
// says so, never a 404: the projections list the object), one whose size
// is not v's is damaged and quarantined. The blobstore verifies the digest
// (whole at open for small blobs, while streaming for large ones).
func (s *Core) openBlob(ctx context.Context, v *schema.Version) (blobstore.Reader, error) {
	missing := func(err error) error {
		return &schema.Error{Kind: schema.KindInternal, Reason: schema.ReasonDataMissing,
			Msg: "data missing: the stored content of this object is not in the blobstore",
			Err: fmt.Errorf("blob %s of %s/%s: %w", v.Blob.SHA256, v.Service, v.Path, err)}
	}
	rd, err := s.blobs.Open(ctx, v.Blob.SHA256)
	if schema.IsKind(err, schema.KindNotFound) {
		return nil, missing(err)
	}
	if err != nil {
		return nil, err
	}
	if rd.Size() == v.Size {
		return rd, nil
	}
	_ = rd.Close()
	// Verify quarantines it (its size is not the recorded one); nil means a
	// Put healed it since it was opened.
	if err := s.blobs.Verify(ctx, v.Blob.SHA256, v.Size); schema.IsKind(err, schema.KindNotFound) {
		return nil, missing(err)
	} else if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", v.Service, v.Path, err)
	}
	return s.blobs.Open(ctx, v.Blob.SHA256)
}
