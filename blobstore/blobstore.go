package blobstore

import (
	"context"
	"io"
	"time"
)

// Info describes one stored blob.
type Info struct {
	SHA256  string    // lower-case hex digest: the blob's name
	MD5     string    // lower-case hex MD5 of the bytes (S3-style ETag)
	Size    int64     // bytes
	ModTime time.Time // when it was stored (used for the orphan grace period)
}

// Store is content-addressed byte storage.
//
// Every method takes the digest as lower-case hex SHA-256 and MUST reject any
// other string with a schema.KindInvalidArgument error before touching
// storage, so no caller-supplied string can name a location outside the
// store.
type Store interface {
	// Put streams r into the store and returns its digest, MD5 and size.
	// It MUST NOT return before the bytes are durable (fsynced file and
	// directory). Storing bytes that are already present succeeds and
	// leaves one copy. If maxSize >= 0 and r holds more than maxSize
	// bytes, Put MUST fail with schema.KindTooLarge and store nothing.
	// A failed or cancelled Put MUST leave nothing visible.
	Put(ctx context.Context, r io.Reader, maxSize int64) (Info, error)

	// Open returns a reader over the whole blob. A missing blob MUST give
	// schema.KindNotFound.
	Open(ctx context.Context, digest string) (Reader, error)

	// Stat returns the blob's Info (MD5 is empty unless the backend keeps
	// it). A missing blob MUST give schema.KindNotFound.
	Stat(ctx context.Context, digest string) (Info, error)

	// Delete removes the blob. Deleting a missing blob MUST succeed.
	Delete(ctx context.Context, digest string) error

	// Walk calls fn for every blob, in no particular order, stopping at
	// the first error fn returns (which Walk returns).
	Walk(ctx context.Context, fn func(Info) error) error
}

// Reader reads a blob with random access.
type Reader interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	Size() int64
}
