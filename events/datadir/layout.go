package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// The entries of a data directory.
const (
	// LogDir is the embedded JetStream's store: the event log.
	LogDir = "jetstream"
	// BlobsDir is the filesystem blobstore's root.
	BlobsDir = "blobs"
	// ProjectionsFile is the buntdb file of the projections.
	ProjectionsFile = "projections.db"
	// AdminFile holds the admin key made on first start (mode 0600).
	AdminFile = "admin.json"
	// SecretFile holds the secret that seals keys in the log.
	SecretFile = "secret.key"
	// SigningKeyFile is the checkpoint signing key (an ed25519 seed, mode
	// 0600).
	SigningKeyFile = "checkpoint.key"
	// LockFile is what Lock locks.
	LockFile = "LOCK"
)

// Lock takes an exclusive lock on dir/LOCK so two processes (a server and
// an offline rebuild, say) never open the same data directory. The kernel
// releases it when the process dies, even by kill -9; closing the file
// releases it too.
func Lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s is in use by another cairn process", dir)
	}
	return f, nil
}

// checkDataDir refuses a directory without a log.
func checkDataDir(dir string) error {
	if fi, err := os.Stat(filepath.Join(dir, LogDir)); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a cairn data directory (it has no %s/ log)", dir, LogDir)
	}
	return nil
}

// syncDir fsyncs a directory, so a rename in it survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
