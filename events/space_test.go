package events

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// spaceEvent is a small event of its own id, for appending.
func spaceEvent(ids *schema.IDs, i int) *schema.Event {
	return &schema.Event{ID: ids.New(time.Now()), Type: schema.TypeObjectDelete, Service: "s", Path: fmt.Sprint("p", i), Time: time.Now()}
}

// Below the floor every append is refused at once with
// KindInsufficientStorage, before JetStream sees it; above it appends work
// again with nothing to reset.
func TestAppender_SpaceFloor(t *testing.T) {
	ctx := context.Background()
	var free atomic.Int64
	free.Store(1 << 30)
	space := blobstore.NewSpaceOf(16<<20, func() (int64, error) { return free.Load(), nil })
	l, err := OpenJetStream(ctx, NATSOptions{Dir: t.TempDir(), SyncAlways: true, Name: "space-floor", Space: space})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ids := schema.NewIDs()
	if _, err := l.Append(ctx, spaceEvent(ids, 1), Expect{}); err != nil {
		t.Fatal(err)
	}
	free.Store(4<<20 - 1) // just under a quarter of the reserve
	if _, err := l.Append(ctx, spaceEvent(ids, 2), Expect{}); !schema.IsKind(err, schema.KindInsufficientStorage) {
		t.Fatalf("append below the floor: %v, want insufficient storage", err)
	}
	if last, _ := l.LastSeq(ctx); last != 1 {
		t.Fatalf("the log holds %d events after a refused append, want 1", last)
	}
	free.Store(4 << 20)
	if seq, err := l.Append(ctx, spaceEvent(ids, 3), Expect{}); err != nil || seq != 2 {
		t.Fatalf("append at the floor: %d, %v", seq, err)
	}
}

// The core's blobstore refuses an upload before its first byte once the
// reserve is reached, and stops one that crosses it, leaving nothing.
func TestSpaceBlobs_RefuseAndStop(t *testing.T) {
	ctx := context.Background()
	fs, err := blobstore.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var free atomic.Int64
	space := blobstore.NewSpaceOf(16<<20, func() (int64, error) { return free.Load(), nil })
	b := spaceBlobs{Store: fs, space: space}

	free.Store(16<<20 - 1)
	read := 0
	body := readFunc(func(p []byte) (int, error) { read++; return 0, fmt.Errorf("the body was read") })
	if _, err := b.Put(ctx, body, -1); !schema.IsKind(err, schema.KindInsufficientStorage) || read != 0 {
		t.Fatalf("Put under the reserve: %v after %d reads, want insufficient storage before any", err, read)
	}

	// the disk fills while the upload is written: it stops at the next check
	free.Store(1 << 30)
	data := bytes.Repeat([]byte("x"), 3*spaceCheckEvery)
	r := &shrinking{data: data, free: &free, at: spaceCheckEvery}
	if _, err := b.Put(ctx, r, -1); !schema.IsKind(err, schema.KindInsufficientStorage) {
		t.Fatalf("Put that crosses the reserve: %v, want insufficient storage", err)
	}
	n := 0
	if err := fs.Walk(ctx, func(blobstore.Info) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("%d blobs stored by refused Puts (%v), want none", n, err)
	}
	free.Store(1 << 30)
	if _, err := b.Put(ctx, bytes.NewReader(data), -1); err != nil {
		t.Fatalf("Put with room again: %v", err)
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// shrinking reads data and, once past byte at, reports the disk full.
type shrinking struct {
	data []byte
	pos  int
	at   int
	free *atomic.Int64
}

func (s *shrinking) Read(p []byte) (int, error) {
	if s.pos >= len(s.data) {
		return 0, fmt.Errorf("read past the end")
	}
	n := copy(p, s.data[s.pos:])
	s.pos += n
	if s.pos >= s.at {
		s.free.Store(1 << 20)
	}
	return n, nil
}

// A JetStream file store that failed a write for want of space refuses
// every later one, without even an answer, until it is opened anew. The
// appender reopens it: once space returns the log takes writes again, with
// no restart, and what it held before is intact. (This is the case the
// floor exists to prevent; it happens when another program fills the disk
// between a check and a write.) It mounts a tmpfs, so it needs root.
func TestAppender_ReopensStoreAfterENOSPC(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("fills a disk of its own: mounting a tmpfs needs root (.ci/run runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs failed: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	ctx := context.Background()
	var reopenedAt atomic.Int64
	reopenedAt.Store(-1)
	l, err := OpenJetStream(ctx, NATSOptions{Dir: dir, SyncAlways: true, Name: "enospc", // no Space: nothing stops the disk filling
		AfterReopen: func(last uint64) error { reopenedAt.Store(int64(last)); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.app.ackWait = 2 * time.Second
	ids := schema.NewIDs()
	if _, err := l.Append(ctx, spaceEvent(ids, 0), Expect{}); err != nil {
		t.Fatal(err)
	}
	// a follower of the log, as the projection runner is, restarted
	// after an error as the server restarts it
	var followed atomic.Uint64
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for fctx.Err() == nil {
			_ = l.Follow(fctx, followed.Load()+1, func(evs []*schema.Event) error {
				followed.Store(evs[len(evs)-1].Seq)
				return nil
			})
		}
	}()
	fill := filepath.Join(dir, "fill")
	f, err := os.Create(fill)
	if err != nil {
		t.Fatal(err)
	}
	for buf := make([]byte, 64<<10); ; {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	failed := 0
	for i := 1; i < 20000 && failed == 0; i++ {
		if _, err := l.Append(ctx, spaceEvent(ids, i), Expect{}); err != nil {
			failed = i
		}
	}
	if failed == 0 {
		t.Fatal("20,000 appends on a full disk all succeeded")
	}
	before, err := l.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	seq, err := l.Append(ctx, spaceEvent(ids, failed), Expect{})
	if err != nil {
		t.Fatalf("append once space returned: %v (the store stayed broken)", err)
	}
	if seq != before+1 {
		t.Fatalf("the append after the reopen is at %d, want %d", seq, before+1)
	}
	if got := reopenedAt.Load(); got != int64(before) {
		t.Fatalf("AfterReopen saw the log end at %d, want %d", got, before)
	}
	for s := uint64(1); s <= seq; s++ {
		if _, err := l.Get(ctx, s); err != nil {
			t.Fatalf("event %d after the reopen: %v", s, err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); followed.Load() < seq; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the follower stopped at %d after the reopen, the log is at %d", followed.Load(), seq)
		}
	}
}

// When the check after a reopen refuses (the store recovered less than
// the projections applied), every later append is refused with its error,
// not only the one that found it.
func TestAppender_HaltsWhenReopenCheckRefuses(t *testing.T) {
	ctx := context.Background()
	refusal := schema.Errorf(schema.KindUnavailable, "the log lost events")
	calls := 0
	l, err := OpenJetStream(ctx, NATSOptions{Dir: t.TempDir(), SyncAlways: true, Name: "halt",
		AfterReopen: func(uint64) error { calls++; return refusal }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ids := schema.NewIDs()
	if _, err := l.Append(ctx, spaceEvent(ids, 1), Expect{}); err != nil {
		t.Fatal(err)
	}
	l.app.broken = true // as after a batch no one acknowledged (the send below orders it before the appender reads it)
	for i := 2; i < 4; i++ {
		if _, err := l.Append(ctx, spaceEvent(ids, i), Expect{}); err != refusal {
			t.Fatalf("append %d after a refused reopen: %v, want the refusal", i, err)
		}
	}
	if calls != 1 {
		t.Fatalf("AfterReopen called %d times, want once (the refusal is kept)", calls)
	}
	if last, _ := l.LastSeq(ctx); last != 1 {
		t.Fatalf("the log holds %d events, want 1", last)
	}
}
