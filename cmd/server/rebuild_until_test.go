package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/schema"
)

// ruClock is real time plus an offset the test moves forward.
type ruClock struct{ off atomic.Int64 }

func (c *ruClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *ruClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// ruHistory is a small history written through the core: the moment in
// its middle, and what the live projections were then.
type ruHistory struct {
	dir      string
	mid      uint64    // the last event before the moment
	at       time.Time // the moment: between event mid and mid+1
	last     uint64    // the newest event
	digest   string    // the live projections' digest at mid
	big      string    // digest of the blob object written before the moment
	late     string    // digest of one written after it
	svc, key string
}

// ruWrite opens a server, writes half the history, notes the moment, writes
// the rest and closes the server.
func ruWrite(t *testing.T, name string) *ruHistory {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clock := &ruClock{}
	cfg := testConfig(t, name)
	cfg.Clock = clock.Now
	cfg.CheckpointInterval = Duration(time.Hour)
	cfg.CheckpointOnStop = false // the history ends at its last write: the tests count its events
	s, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &ruHistory{dir: cfg.Data, svc: "ru-svc", key: "RUKEY0000000000000001"}
	o := events.Origin{Actor: schema.Actor{KeyID: "test"}}
	put := func(path string, body []byte, deleteAt int64) *schema.Version {
		t.Helper()
		v, err := s.Core.PutObject(ctx, o, events.PutInput{Service: h.svc, Path: path, Body: bytes.NewReader(body), DeleteAt: deleteAt})
		if err != nil {
			t.Fatalf("put %s: %v", path, err)
		}
		return v
	}
	if _, err := s.Core.CreateService(ctx, o, events.ServiceInput{ID: h.svc}); err != nil {
		t.Fatal(err)
	}
	put("a.txt", []byte("first"), 0)
	big := bytes.Repeat([]byte("0123456789abcdef"), 10<<10) // 160 KiB: a blob file
	h.big = put("big.bin", big, 0).Blob.SHA256
	// due a day after the moment: a reaper running on a read-only copy
	// (with a clock two days on) would expire it
	put("exp.txt", []byte("expires"), clock.Now().Add(24*time.Hour).Unix())
	if _, _, err := s.Core.IssueToken(ctx, o, h.key, schema.DefaultAccount); err != nil {
		t.Fatal(err)
	}
	if h.mid, err = s.Log.LastSeq(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.State.Wait(ctx, h.mid); err != nil {
		t.Fatal(err)
	}
	if h.digest, err = s.State.Digest(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	h.at = clock.Now()
	clock.Advance(time.Second)
	put("a.txt", []byte("second"), 0)
	h.late = put("late.bin", bytes.Repeat([]byte("late"), 40<<10), 0).Blob.SHA256
	if _, err := s.Core.DeleteObject(ctx, o, h.svc, "big.bin", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if h.last, err = s.Log.LastSeq(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

// ruTree describes every file and directory under dir: path, mode, size,
// modification time and content hash.
func ruTree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := strings.TrimPrefix(path, dir) + " " + fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += " " + fi.ModTime().String() + " " + hex.EncodeToString(sum[:])
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestRebuildUntil_ReadOnlyServer(t *testing.T) {
	h := ruWrite(t, "ru-1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before := ruTree(t, h.dir)

	bySeq := filepath.Join(t.TempDir(), "by-seq")
	st, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: h.dir, Out: bySeq, Seq: h.mid})
	if err != nil {
		t.Fatalf("RebuildUntil(seq %d): %v", h.mid, err)
	}
	if st.Seq != h.mid || st.LogLast != h.last || st.Digest != h.digest {
		t.Errorf("by sequence: seq %d of %d, digest %s; want %d of %d and the live digest %s", st.Seq, st.LogLast, st.Digest, h.mid, h.last, h.digest)
	}
	if st.Blobs < 2 || st.Linked != st.Blobs {
		t.Errorf("blobs: %d files, %d linked; want every one (at least 2) linked", st.Blobs, st.Linked)
	}
	p := filepath.Join("blobs", "sha256", h.big[:2], h.big[2:4], h.big)
	a, errA := os.Stat(filepath.Join(h.dir, p))
	b, errB := os.Stat(filepath.Join(bySeq, p))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("blob %s is not a hard link of the source's (%v, %v)", h.big, errA, errB)
	}

	// The moment as a time: the last event at or before it.
	var progress []uint64
	byTime := filepath.Join(t.TempDir(), "by-time")
	st2, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: h.dir, Out: byTime, Time: h.at,
		Progress: func(applied, total uint64) { progress = append(progress, applied, total) }})
	if err != nil {
		t.Fatalf("RebuildUntil(time): %v", err)
	}
	if st2.Seq != h.mid || st2.Digest != h.digest {
		t.Errorf("by time: seq %d, digest %s; want %d and %s", st2.Seq, st2.Digest, h.mid, h.digest)
	}
	if n := len(progress); n < 2 || progress[n-2] != h.mid || progress[n-1] != h.mid {
		t.Errorf("progress %v: want it to end with %d of %d", progress, h.mid, h.mid)
	}
	if after := ruTree(t, h.dir); after != before {
		t.Errorf("the source directory changed:\nbefore\n%s\nafter\n%s", before, after)
	}

	// A plain server refuses the copy; a full rebuild of it stops at its moment.
	plain := testConfig(t, "ru-1-plain")
	plain.Data = bySeq
	if s, err := Open(ctx, plain, nil); err == nil {
		s.Close(ctx)
		t.Fatalf("a server that is not read-only opened a point-in-time copy")
	} else if !strings.Contains(err.Error(), "--read-only") {
		t.Errorf("plain Open of a copy: %v, want a hint at --read-only", err)
	}
	if rs, err := datadir.Rebuild(ctx, bySeq, nil); err != nil || rs.Events != h.mid || rs.Digest != h.digest {
		t.Errorf("Rebuild of a copy: %d events, digest %s (%v); want %d and %s", rs.Events, rs.Digest, err, h.mid, h.digest)
	}

	// The read-only server, with reaper and checkpoints on a short fuse and
	// a clock two days on: nothing is ever appended or folded.
	cfg := testConfig(t, "ru-1-ro")
	cfg.Data, cfg.ReadOnly = byTime, true
	cfg.CheckpointInterval, cfg.ReapInterval, cfg.GCInterval = Duration(time.Millisecond), Duration(time.Millisecond), Duration(time.Millisecond)
	cfg.GCGrace = Duration(time.Nanosecond)
	cfg.Clock = func() time.Time { return time.Now().Add(48 * time.Hour) }
	s, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("read-only Open: %v", err)
	}
	defer s.Close(ctx)
	if m := s.ReadOnlyAt; m == nil || m.Seq != h.mid || m.LogLast != h.last || m.PointInTime == nil || !m.Time.Equal(st2.Time) {
		t.Fatalf("ReadOnlyAt %+v: want sequence %d of %d at %s", m, h.mid, h.last, st2.Time)
	}
	o := events.Origin{Actor: schema.Actor{KeyID: "test"}}
	_, err = s.Core.PutObject(ctx, o, events.PutInput{Service: h.svc, Path: "new.txt", Body: strings.NewReader("no")})
	if !errors.Is(err, events.ErrReadOnly) || !schema.IsKind(err, schema.KindForbidden) || !strings.Contains(schema.MessageOf(err), "read-only") {
		t.Errorf("put on a read-only server: %v, want KindForbidden wrapping ErrReadOnly", err)
	}
	if _, err := s.Core.CreateService(ctx, o, events.ServiceInput{ID: "ru-new"}); !errors.Is(err, events.ErrReadOnly) {
		t.Errorf("servicecreate on a read-only server: %v", err)
	}
	if _, err := s.Core.DeleteObject(ctx, o, h.svc, "a.txt", events.Conditions{}); !errors.Is(err, events.ErrReadOnly) {
		t.Errorf("delete on a read-only server: %v", err)
	}
	// Swift tokens: the logged one (its reuse window long past on this
	// clock) gives way to one kept in memory, which authenticates.
	tok, _, err := s.Core.IssueToken(ctx, o, h.key, schema.DefaultAccount)
	if err != nil {
		t.Fatalf("IssueToken on a read-only server: %v", err)
	}
	if id, _, err := s.Core.TokenKey(ctx, tok); err != nil || id != h.key {
		t.Errorf("TokenKey of the in-memory token: %q, %v", id, err)
	}
	if again, _, _ := s.Core.IssueToken(ctx, o, h.key, schema.DefaultAccount); again != tok {
		t.Errorf("a second IssueToken gave another token")
	}
	if v, err := s.State.Object(ctx, h.svc, "big.bin"); err != nil || v.Deleted {
		t.Errorf("big.bin, deleted after the moment: %+v, %v", v, err)
	}
	if _, err := s.State.Object(ctx, h.svc, "late.bin"); !schema.IsKind(err, schema.KindNotFound) {
		t.Errorf("late.bin, written after the moment: %v, want not found", err)
	}
	// Watch for a while: a reaper, checkpoint writer or runner would act
	// within a few milliseconds.
	window := time.NewTimer(300 * time.Millisecond)
	defer window.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for watching := true; watching; {
		select {
		case <-window.C:
			watching = false
		case <-tick.C:
		}
		last, err := s.Log.LastSeq(ctx)
		if err != nil || last != h.last || s.State.Applied() != h.mid {
			t.Fatalf("read-only server: log at %d (%v), projections at %d; want %d and %d", last, err, s.State.Applied(), h.last, h.mid)
		}
	}
	if err := s.State.Apply([]*schema.Event{{Seq: h.mid + 1}}); err == nil {
		t.Errorf("read-only projections applied an event")
	}
	// late.bin's blob is referenced by nothing the copy folded: a
	// collector would remove it
	if _, err := os.Stat(filepath.Join(byTime, "blobs", "sha256", h.late[:2], h.late[2:4], h.late)); err != nil {
		t.Errorf("the collector ran on a read-only server: %v", err)
	}
}

func TestRebuildUntil_Refusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := testConfig(t, "ru-2")
	s, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	if _, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: cfg.Data, Out: out, Seq: 1}); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("RebuildUntil of a running server: %v, want 'stop it first'", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused rebuild left %s behind (%v)", out, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// datadir's TestRebuildUntil_Refusals covers the refusals of a stopped
	// directory: what is left here needs the server.

	// read-only mode creates nothing: a directory without projections is refused
	ro := testConfig(t, "ru-2-ro")
	ro.ReadOnly = true
	if s, err := Open(ctx, ro, nil); err == nil {
		s.Close(ctx)
		t.Errorf("read-only Open of an empty directory succeeded")
	} else if !strings.Contains(err.Error(), "read-only mode serves an existing data directory") {
		t.Errorf("read-only Open of an empty directory: %v", err)
	}
	if entries, _ := os.ReadDir(ro.Data); len(entries) != 0 {
		t.Errorf("read-only Open made %d entries in an empty directory", len(entries))
	}
	ro.NATSListen = "127.0.0.1:0"
	if err := ro.Validate(); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("read_only with nats_listen: %v, want refused", err)
	}
	env := Default()
	if err := env.LoadEnv(func(k string) string { return map[string]string{"CAIRN_READ_ONLY": "true"}[k] }); err != nil || !env.ReadOnly {
		t.Errorf("CAIRN_READ_ONLY=true: read-only %v (%v)", env.ReadOnly, err)
	}
	if err := env.LoadEnv(func(k string) string { return map[string]string{"CAIRN_READ_ONLY": "maybe"}[k] }); err == nil {
		t.Errorf("CAIRN_READ_ONLY=maybe was accepted")
	}
}
