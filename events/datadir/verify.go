package datadir

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
)

// VerifyDir verifies the log and blobs of a stopped server's data
// directory (events.Verify), and compares its projections with a fresh
// fold of the log (CheckProjections). pub, when nil, is the data
// directory's own checkpoint key. When the log misses events (a damaged
// block), it returns the report with a *DamageError.
func VerifyDir(ctx context.Context, dir string, pub ed25519.PublicKey) (*events.VerifyReport, error) {
	lock, err := lockStopped(dir)
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
	blobs, err := blobstore.OpenFSReadOnly(filepath.Join(dir, BlobsDir)) // verify reports; it never moves a damaged blob
	if err != nil {
		return nil, err
	}
	rep, err := events.Verify(ctx, jl, events.StoreBlobs{Store: blobs}, pub)
	if err != nil {
		return nil, err
	}
	if err := CheckLogFull(ctx, dir, jl); err != nil {
		// the report lists each missing event; the error says what to do.
		// No fold crosses the hole, so the projections are not compared.
		rep.Projections = &events.ProjectionsReport{Note: "not compared with a fold: the log misses events"}
		return rep, err
	}
	if rep.Projections, err = CheckProjections(ctx, dir, jl); err != nil {
		return nil, err
	}
	return rep, nil
}
