package cache

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairnhq/cairn/schema"
)

// snapshot is the index as a clean Close leaves it: the copies from most
// to least recently used.
type snapshot struct {
	Version int     `json:"version"`
	Owner   string  `json:"owner"`
	Entries []Entry `json:"entries"`
}

const snapshotVersion = 1

// takeSnapshot reads and removes the snapshot (so a crash after this Open
// can never bring a stale index back) and returns its copies; none when
// there is no snapshot, it cannot be read, or it belongs to another owner.
func (s *Store) takeSnapshot() ([]Entry, error) {
	p := filepath.Join(s.dir, snapshotName)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "cache: read snapshot")
	}
	if err := os.Remove(p); err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "cache: remove snapshot")
	}
	if err := syncDir(s.dir); err != nil {
		return nil, err
	}
	var snap snapshot
	if json.Unmarshal(b, &snap) != nil || snap.Version != snapshotVersion || snap.Owner != s.owner {
		return nil, nil
	}
	return snap.Entries, nil
}

// writeSnapshot writes the index durably: temp file, fsync, rename, fsync
// of the directory. The content files it names were synced when made.
func (s *Store) writeSnapshot(entries []Entry) error {
	b, err := json.Marshal(snapshot{Version: snapshotVersion, Owner: s.owner, Entries: entries})
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "cache: encode snapshot")
	}
	f, err := os.CreateTemp(s.tmp, "snapshot-*")
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "cache: write snapshot")
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(s.dir, snapshotName))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return schema.Wrap(schema.KindInternal, err, "cache: write snapshot")
	}
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "cache: open directory")
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return schema.Wrap(schema.KindInternal, err, "cache: sync directory")
	}
	return nil
}
