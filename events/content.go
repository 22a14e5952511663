package events

import (
	"bytes"
	"context"

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
		return s.blobs.Open(ctx, v.Blob.SHA256)
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
