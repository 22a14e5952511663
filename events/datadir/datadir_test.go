package datadir_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// fixture is a stopped server's data directory whose log holds the events
// of a projections fixture, and one blob in its blobstore.
type fixture struct {
	dir  string
	evs  []*schema.Event
	blob string // the digest of the blob
}

// writeDir makes a data directory from projections/testdata/object-versions.
func writeDir(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dir: t.TempDir()}
	file, err := os.Open(filepath.Join("..", "..", "projections", "testdata", "object-versions", "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var line struct {
			Event *schema.Event `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		f.evs = append(f.evs, line.Event)
	}
	if len(f.evs) < 4 {
		t.Fatalf("the fixture has %d events, want at least 4", len(f.evs))
	}
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: f.dir, SyncAlways: true,
		Name: "datadir-" + strings.ReplaceAll(t.Name(), "/", "-")})
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range f.evs {
		seq, err := jl.Append(ctx, ev, events.Expect{})
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i+1) {
			t.Fatalf("event %d appended as %d", i+1, seq)
		}
		ev.Seq = seq
	}
	if err := jl.Close(); err != nil {
		t.Fatal(err)
	}
	bs, err := blobstore.OpenFS(filepath.Join(f.dir, datadir.BlobsDir))
	if err != nil {
		t.Fatal(err)
	}
	info, err := bs.Put(ctx, bytes.NewReader(bytes.Repeat([]byte("blob"), 1000)), -1)
	if err != nil {
		t.Fatal(err)
	}
	f.blob = info.SHA256
	for _, name := range []string{datadir.AdminFile, datadir.SecretFile, datadir.SigningKeyFile} {
		if err := os.WriteFile(filepath.Join(f.dir, name), []byte("file "+name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// digestOf is the digest of projections folded from evs.
func digestOf(t *testing.T, evs []*schema.Event) string {
	t.Helper()
	st, err := projections.Open(":memory:", projections.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Apply(evs); err != nil {
		t.Fatal(err)
	}
	d, err := st.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRebuildUntil(t *testing.T) {
	ctx := context.Background()
	f := writeDir(t)
	mid := uint64(len(f.evs) / 2)
	want := digestOf(t, f.evs[:mid])

	bySeq := filepath.Join(t.TempDir(), "by-seq")
	st, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: f.dir, Out: bySeq, Seq: mid})
	if err != nil {
		t.Fatalf("RebuildUntil(seq %d): %v", mid, err)
	}
	if st.Seq != mid || st.LogLast != uint64(len(f.evs)) || st.Digest != want || !st.Time.Equal(f.evs[mid-1].Time) {
		t.Errorf("by sequence: seq %d of %d at %s, digest %s; want %d of %d at %s, digest %s",
			st.Seq, st.LogLast, st.Time, st.Digest, mid, len(f.evs), f.evs[mid-1].Time, want)
	}
	if st.Blobs != 1 || st.Linked != 1 || st.BlobBytes != 4000 {
		t.Errorf("blobs %d, linked %d, %d bytes; want the one blob linked", st.Blobs, st.Linked, st.BlobBytes)
	}
	p := filepath.Join(datadir.BlobsDir, "sha256", f.blob[:2], f.blob[2:4], f.blob)
	a, errA := os.Stat(filepath.Join(f.dir, p))
	b, errB := os.Stat(filepath.Join(bySeq, p))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("blob %s is not a hard link of the source's (%v, %v)", f.blob, errA, errB)
	}
	for _, name := range []string{datadir.AdminFile, datadir.SecretFile, datadir.SigningKeyFile} {
		if got, err := os.ReadFile(filepath.Join(bySeq, name)); err != nil || string(got) != "file "+name {
			t.Errorf("%s in the copy: %q, %v", name, got, err)
		}
	}
	pit, err := datadir.ReadPointInTime(bySeq)
	if err != nil || pit == nil || pit.Seq != mid || pit.Digest != want || pit.Until != strconv.FormatUint(mid, 10) {
		t.Errorf("the copy's point in time: %+v, %v", pit, err)
	}

	// By time: the last event at or before the moment, with progress.
	at := f.evs[mid-1].Time.Add(time.Millisecond)
	if !f.evs[mid].Time.After(at) {
		t.Fatalf("the fixture's events %d and %d are too close in time", mid, mid+1)
	}
	var progress [][2]uint64
	byTime := filepath.Join(t.TempDir(), "by-time")
	st2, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: f.dir, Out: byTime, Time: at,
		Progress: func(applied, total uint64) { progress = append(progress, [2]uint64{applied, total}) }})
	if err != nil {
		t.Fatalf("RebuildUntil(time): %v", err)
	}
	if st2.Seq != mid || st2.Digest != want {
		t.Errorf("by time: seq %d, digest %s; want %d and %s", st2.Seq, st2.Digest, mid, want)
	}
	if n := len(progress); n == 0 || progress[n-1] != [2]uint64{mid, mid} {
		t.Errorf("progress %v: want it to end with %d of %d", progress, mid, mid)
	}

	// A plain serve check refuses the copy; a read-only one finds its
	// moment; a full rebuild of the copy stops at the moment.
	if _, err := datadir.CheckServable(bySeq, false, true); err == nil || !strings.Contains(err.Error(), "--read-only") {
		t.Errorf("CheckServable of a copy, not read-only: %v, want a hint at --read-only", err)
	}
	if got, err := datadir.CheckServable(bySeq, true, true); err != nil || got == nil || got.Seq != mid {
		t.Errorf("CheckServable of a copy, read-only: %+v, %v", got, err)
	}
	if rs, err := datadir.Rebuild(ctx, bySeq, nil); err != nil || rs.Events != mid || rs.Digest != want {
		t.Errorf("Rebuild of a copy: %d events, digest %s (%v); want %d and %s", rs.Events, rs.Digest, err, mid, want)
	}
	// The whole source rebuilds to the whole log.
	if rs, err := datadir.Rebuild(ctx, f.dir, nil); err != nil || rs.Events != uint64(len(f.evs)) || rs.Digest != digestOf(t, f.evs) {
		t.Errorf("Rebuild of the source: %d events, digest %s (%v)", rs.Events, rs.Digest, err)
	}
}

func TestFindMoment_CappedFeed(t *testing.T) {
	ctx := context.Background()
	f := writeDir(t)
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: f.dir, SyncAlways: true, Name: "datadir-moment"})
	if err != nil {
		t.Fatal(err)
	}
	defer jl.Close()
	last := uint64(len(f.evs))
	m, err := datadir.FindMoment(ctx, f.dir, jl, 2, nil)
	if err != nil || m.Seq != 2 || m.LogLast != last || !m.Time.Equal(f.evs[1].Time) {
		t.Fatalf("FindMoment at 2: %+v, %v", m, err)
	}
	if !strings.Contains(m.String(), "as of sequence 2") {
		t.Errorf("moment %q", m)
	}
	if _, err := datadir.FindMoment(ctx, f.dir, jl, 2, &datadir.PointInTime{Seq: 3}); err == nil || !strings.Contains(err.Error(), "rebuild it") {
		t.Errorf("projections at 2, copy made at 3: %v", err)
	}
	if _, err := datadir.FindMoment(ctx, f.dir, jl, last+1, nil); err == nil || !strings.Contains(err.Error(), "past the log") {
		t.Errorf("projections past the log: %v", err)
	}

	feed := datadir.CappedFeed{Log: jl, Until: 2}
	evs, err := feed.Read(ctx, 0, nil, 100, 0)
	if err != nil || len(evs) != 2 || evs[1].Seq != 2 {
		t.Errorf("capped read: %d events (%v), want 2", len(evs), err)
	}
	if evs, err := feed.Read(ctx, 2, nil, 100, 0); err != nil || len(evs) != 0 {
		t.Errorf("capped read past the cap: %d events (%v), want none", len(evs), err)
	}
	if seq, err := feed.SeqAt(ctx, f.evs[len(f.evs)-1].Time); err != nil || seq != 3 {
		t.Errorf("capped SeqAt of the last event's time: %d (%v), want 3", seq, err)
	}
}

func TestRebuildUntil_Refusals(t *testing.T) {
	ctx := context.Background()
	f := writeDir(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	lock, err := datadir.Lock(f.dir) // as a running server holds it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: f.dir, Out: out, Seq: 1}); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("RebuildUntil of a locked directory: %v, want 'stop it first'", err)
	}
	if _, err := datadir.Rebuild(ctx, f.dir, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Rebuild of a locked directory: %v, want 'in use'", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused rebuild left %s behind (%v)", out, err)
	}
	lock.Close()
	cases := []struct {
		name string
		o    datadir.UntilOptions
		want string
	}{
		{"no moment", datadir.UntilOptions{Source: f.dir, Out: out}, "sequence or a time"},
		{"no out", datadir.UntilOptions{Source: f.dir, Seq: 1}, "--out"},
		{"past the log", datadir.UntilOptions{Source: f.dir, Out: out, Seq: 1 << 40}, "past the log"},
		{"before the log", datadir.UntilOptions{Source: f.dir, Out: out, Time: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}, "no event at or before"},
		{"out inside the source", datadir.UntilOptions{Source: f.dir, Out: filepath.Join(f.dir, "pit"), Seq: 1}, "contain each other"},
		{"not a data directory", datadir.UntilOptions{Source: tmp, Out: out, Seq: 1}, "not a cairn data directory"},
	}
	for _, c := range cases {
		if _, err := datadir.RebuildUntil(ctx, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %s left behind (%v)", c.name, out, err)
			os.RemoveAll(out)
		}
	}
	// a non-empty --out is refused and kept as it was; an empty one is
	// used, and emptied again when the rebuild fails
	full := filepath.Join(tmp, "full")
	if err := os.MkdirAll(full, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "keep"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: f.dir, Out: full, Seq: 1}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty out: %v, want 'not empty'", err)
	}
	if b, err := os.ReadFile(filepath.Join(full, "keep")); err != nil || string(b) != "mine" {
		t.Errorf("the non-empty out changed: %q, %v", b, err)
	}
	empty := filepath.Join(tmp, "empty")
	if err := os.MkdirAll(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: f.dir, Out: empty, Seq: 1 << 40}); err == nil {
		t.Errorf("a rebuild past the log succeeded")
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("a failed rebuild into an empty directory left %v (%v)", entries, err)
	}
	// read-only serving creates nothing: a directory without projections is refused
	if _, err := datadir.CheckServable(t.TempDir(), true, true); err == nil || !strings.Contains(err.Error(), "read-only mode serves an existing data directory") {
		t.Errorf("CheckServable of an empty directory, read-only: %v", err)
	}
}

func TestRebuild_RefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := datadir.Rebuild(context.Background(), dir, nil); err == nil {
		t.Fatal("Rebuild of a directory without a log must fail")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Rebuild of a foreign directory created %d entries", len(entries))
	}
}
