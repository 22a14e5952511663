package projections

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

// batchLog is a Source over events in memory: it hands them out in
// batches of size from the asked sequence on, then, like the real log,
// waits for more until ctx ends (or, with ends, returns nil at once).
type batchLog struct {
	evs  []*schema.Event
	size int
	ends bool
	from []uint64 // the from of each Follow
}

func (l *batchLog) Follow(ctx context.Context, from uint64, fn func([]*schema.Event) error) error {
	l.from = append(l.from, from)
	for i := int(from) - 1; i < len(l.evs); i += l.size {
		if err := fn(l.evs[i:min(i+l.size, len(l.evs))]); err != nil {
			return err
		}
	}
	if l.ends {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestStore_CatchUp(t *testing.T) {
	evs := loadFixture(t, filepath.Join("testdata", "object-versions", "events.jsonl"))
	if len(evs) < 4 {
		t.Fatalf("the fixture has %d events, want at least 4", len(evs))
	}
	ctx := context.Background()
	for until := 1; until <= len(evs); until++ {
		want := openMemory(t)
		apply(t, want, evs[:until])

		got := openMemory(t)
		src := &batchLog{evs: evs, size: 3}
		var calls [][2]uint64
		err := got.CatchUp(ctx, src, uint64(until), func(applied, total uint64) { calls = append(calls, [2]uint64{applied, total}) })
		if err != nil {
			t.Fatalf("CatchUp to %d: %v", until, err)
		}
		if got.Applied() != uint64(until) {
			t.Errorf("CatchUp to %d: applied %d", until, got.Applied())
		}
		if d, w := digest(t, got), digest(t, want); d != w {
			t.Errorf("CatchUp to %d: digest %s, want that of the first %d events %s", until, d, until, w)
		}
		if n := len(calls); n == 0 || calls[n-1] != [2]uint64{uint64(until), uint64(until)} {
			t.Errorf("CatchUp to %d: progress %v, want it to end with %d of %d", until, calls, until, until)
		}

		// Again, and further: it starts after the checkpoint.
		if err := got.CatchUp(ctx, src, uint64(until), nil); err != nil || len(src.from) != 1 {
			t.Errorf("CatchUp to where the store stands: %v, %d follows (want none)", err, len(src.from)-1)
		}
		if until < len(evs) {
			if err := got.CatchUp(ctx, src, uint64(len(evs)), nil); err != nil {
				t.Fatal(err)
			}
			if last := src.from[len(src.from)-1]; last != uint64(until)+1 {
				t.Errorf("the second CatchUp followed from %d, want %d", last, until+1)
			}
		}
	}
}

func TestStore_CatchUp_LogEndsEarly(t *testing.T) {
	evs := loadFixture(t, filepath.Join("testdata", "object-versions", "events.jsonl"))
	s := openMemory(t)
	src := &batchLog{evs: evs, size: 2, ends: true}
	err := s.CatchUp(context.Background(), src, uint64(len(evs))+5, nil)
	if err == nil || !strings.Contains(err.Error(), "ended") {
		t.Fatalf("CatchUp past the log's end: %v, want an error", err)
	}
	if s.Applied() != uint64(len(evs)) {
		t.Errorf("applied %d, want every event of the log %d", s.Applied(), len(evs))
	}
}

func TestStore_CatchUp_Cancelled(t *testing.T) {
	evs := loadFixture(t, filepath.Join("testdata", "object-versions", "events.jsonl"))
	s := openMemory(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := &batchLog{evs: nil, size: 1}
	if err := s.CatchUp(ctx, src, uint64(len(evs)), nil); err == nil {
		t.Fatal("CatchUp with an ended context and an empty log returned nil")
	}
}
