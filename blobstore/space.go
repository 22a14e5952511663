package blobstore

import (
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"
	"syscall"

	"github.com/cairnhq/cairn/schema"
)

// Space watches the free space of the filesystems that hold a data
// directory (its blobs, its log, its projections) and decides which writes
// still fit. Two thresholds keep a full disk from taking writes down:
//
//   - reserve: an upload is refused when storing it would leave less than
//     reserve bytes free. What is left over is for deletes and the small
//     events every write appends, so a full store can still be emptied.
//   - floor (a quarter of reserve): below it every write is refused, deletes
//     too, before the log or the projections meet ENOSPC themselves. A
//     JetStream file store that fails a write keeps failing every write
//     until it is reopened, and a projection that cannot be written stops
//     the fold, so neither may ever be the one to find the disk full.
//
// Refusals are immediate and answer schema.KindInsufficientStorage (507 in
// every dialect). Free space is read from the filesystem on every check
// (statfs costs about a microsecond), so writes resume by themselves the
// moment space returns: nothing is latched.
type Space struct {
	dirs    []string
	reserve int64
	statfs  func(dir string) (int64, error)
	refused atomic.Int64
}

// NewSpace returns the Space of dirs (each on the filesystem it names;
// the smallest free space among them decides) with reserve bytes kept for
// deletes. reserve must be positive.
func NewSpace(reserve int64, dirs ...string) *Space {
	return &Space{dirs: dirs, reserve: reserve, statfs: freeBytes}
}

// NewSpaceOf is NewSpace with free as the measure of free space instead
// of the filesystems' (a test's simulated disk, say).
func NewSpaceOf(reserve int64, free func() (int64, error)) *Space {
	return &Space{dirs: []string{""}, reserve: reserve, statfs: func(string) (int64, error) { return free() }}
}

// freeBytes is the space an unprivileged writer may still use on the
// filesystem holding dir (statfs's available blocks, not its free ones:
// the blocks reserved for root are not ours to count on).
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// Reserve is the space kept for deletes; Floor the space below which
// every write is refused.
func (s *Space) Reserve() int64 { return s.reserve }

// Floor is a quarter of the reserve.
func (s *Space) Floor() int64 { return s.reserve / 4 }

// Refused counts the writes refused for want of space since s was made.
func (s *Space) Refused() int64 { return s.refused.Load() }

// Free returns the free space of the fullest of s's filesystems.
func (s *Space) Free() (int64, error) {
	free := int64(-1)
	for _, d := range s.dirs {
		f, err := s.statfs(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue // not made yet (the blobstore opens after the log): its parent is measured too
		}
		if err != nil {
			return 0, ioError(err, "read free space")
		}
		if free < 0 || f < free {
			free = f
		}
	}
	if free < 0 {
		return 0, ioError(fs.ErrNotExist, "read free space: no directory")
	}
	return free, nil
}

// CheckStore refuses an upload of need more bytes (0 when not known yet,
// or for what has already been counted) when it would leave less than the
// reserve free.
func (s *Space) CheckStore(need int64) error {
	if s == nil {
		return nil
	}
	free, err := s.Free()
	if err != nil {
		return err
	}
	if free-max(need, 0) < s.reserve {
		s.refused.Add(1)
		return schema.Errorf(schema.KindInsufficientStorage,
			"not enough free space for the upload: %s free, %s kept free for deletes (disk_reserve)", human(free), human(s.reserve))
	}
	return nil
}

// CheckAppend refuses any write (an event of any kind) once less than
// the floor is free.
func (s *Space) CheckAppend() error {
	if s == nil {
		return nil
	}
	free, err := s.Free()
	if err != nil {
		return err
	}
	if free < s.Floor() {
		s.refused.Add(1)
		return schema.Errorf(schema.KindInsufficientStorage,
			"the disk is full: %s free, every write waits for more than %s", human(free), human(s.Floor()))
	}
	return nil
}

// IsNoSpace reports whether err is the filesystem's ENOSPC (or a quota's
// EDQUOT), however wrapped.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// human writes n bytes for a message.
func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
