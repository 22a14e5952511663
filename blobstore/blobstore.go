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
	// leaves one copy; a present copy that is damaged or missing MUST be
	// replaced by the new bytes (heal on write), never trusted as it is. If maxSize >= 0 and r holds more than maxSize
	// bytes, Put MUST fail with schema.KindTooLarge and store nothing.
	// A failed or cancelled Put MUST leave nothing visible.
	Put(ctx context.Context, r io.Reader, maxSize int64) (Info, error)

	// Open returns a reader over the whole blob. A missing blob MUST give
	// schema.KindNotFound. The reader MUST NOT let a caller read the whole
	// blob in order and get bytes that do not hash to digest: a damaged
	// blob fails Open, or the read that would complete it, with an error
	// wrapping ErrDamaged (none of that read's bytes returned), and is
	// quarantined. A backend SHOULD verify reads at any offset too (Read
	// after Seek, ReadAt), failing the same way before it returns a byte
	// that does not match; each backend documents which reads it verifies.
	// FS verifies every read of a blob up to its whole-verify size (whole,
	// at Open) and of a larger blob that has its chunk digests (each chunk
	// a read touches); only a range of a large blob stored before chunk
	// digests existed, until Verify writes them, is checked for size alone.
	Open(ctx context.Context, digest string) (Reader, error)

	// Verify reads the whole blob and checks its size (when size >= 0)
	// and digest; a backend that keeps data derived from the bytes (FS's
	// chunk digests) rewrites it there when it is missing or damaged. A damaged blob MUST be quarantined (taken out of the
	// store, so Open and Stat give KindNotFound, but never deleted),
	// counted in Quarantined, and reported with an error wrapping
	// ErrDamaged; a missing one gives schema.KindNotFound. Put of the
	// blob's bytes stores it again.
	Verify(ctx context.Context, digest string, size int64) error

	// Quarantined reports how many damaged blobs the store has found since
	// it was opened.
	Quarantined() int64

	// Stat returns the blob's Info (MD5 is empty unless the backend keeps
	// it). A missing blob MUST give schema.KindNotFound.
	Stat(ctx context.Context, digest string) (Info, error)

	// Delete removes the blob, and whatever the backend keeps beside it.
	// Deleting a missing blob MUST succeed.
	Delete(ctx context.Context, digest string) error

	// Walk calls fn for every blob, in no particular order, stopping at
	// the first error fn returns (which Walk returns). A backend's own
	// files beside the blobs (FS's chunk digests) are never reported.
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
