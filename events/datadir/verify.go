package datadir

import (
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"path/filepath"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
)

// blobSource adapts a blobstore to events.BlobSource.
type blobSource struct{ s blobstore.Store }

func (b blobSource) OpenBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	return b.s.Open(ctx, digest)
}

// VerifyDir verifies the log and blobs of a stopped server's data
// directory (events.Verify). pub, when nil, is the data directory's own
// checkpoint key.
func VerifyDir(ctx context.Context, dir string, pub ed25519.PublicKey) (*events.VerifyReport, error) {
	if err := checkDataDir(dir); err != nil {
		return nil, err
	}
	lock, err := Lock(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if pub == nil {
		if b, err := os.ReadFile(filepath.Join(dir, SigningKeyFile)); err == nil && len(b) == ed25519.SeedSize {
			pub = ed25519.NewKeyFromSeed(b).Public().(ed25519.PublicKey)
		}
	}
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: dir, SyncAlways: true, Name: "cairn-verify"})
	if err != nil {
		return nil, err
	}
	defer jl.Close()
	blobs, err := blobstore.OpenFS(filepath.Join(dir, BlobsDir))
	if err != nil {
		return nil, err
	}
	return events.Verify(ctx, jl, blobSource{blobs}, pub)
}
