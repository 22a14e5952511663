package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
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
// releases it too, with one exception: a flock belongs to the open file,
// and a child this process is forking at that moment (any exec.Command)
// holds a copy of every descriptor until its exec closes them. So a lock
// just released by this process (a server closed and opened again) may
// stay taken for a moment: Lock tries again for up to lockWait before it
// says the directory is in use. Another process's lock is still refused,
// after that wait.
func Lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("data directory %s is in use by another cairn process", dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockWait is how long Lock waits for a lock held by a child between its
// fork and its exec.
const lockWait = time.Second

// lockStopped locks the data directory of a stopped server for an offline
// tool; it refuses a directory without a log, or one a process holds.
func lockStopped(dir string) (*os.File, error) {
	if err := checkDataDir(dir); err != nil {
		return nil, err
	}
	return Lock(dir)
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
