package events

import (
	"context"
	"io"

	"github.com/cairnhq/cairn/blobstore"
)

// spaceCheckEvery is how many bytes of an upload pass between two checks
// of the free space while the upload is written.
const spaceCheckEvery = 4 << 20

// spaceBlobs is the core's blobstore under a blobstore.Space: every Put
// (uploads, parts, replicated and restored bytes alike) is refused before
// its first byte is read when the disk already holds less than the
// reserve, and stopped with the same KindInsufficientStorage error as soon
// as the bytes written so far bring it below the reserve; the blobstore
// then removes the partial file. Reads and deletes pass untouched.
type spaceBlobs struct {
	blobstore.Store
	space *blobstore.Space
}

func (b spaceBlobs) Put(ctx context.Context, r io.Reader, maxSize int64) (blobstore.Info, error) {
	if err := b.space.CheckStore(0); err != nil {
		return blobstore.Info{}, err
	}
	return b.Store.Put(ctx, &spaceReader{r: r, space: b.space}, maxSize)
}

// spaceReader checks the free space every spaceCheckEvery bytes it reads.
type spaceReader struct {
	r     io.Reader
	space *blobstore.Space
	since int64
}

func (s *spaceReader) Read(p []byte) (int, error) {
	if s.since >= spaceCheckEvery {
		s.since = 0
		if err := s.space.CheckStore(0); err != nil {
			return 0, err
		}
	}
	n, err := s.r.Read(p)
	s.since += int64(n)
	return n, err
}
