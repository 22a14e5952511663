package events_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// fakeSources is a RepairSource over files held in memory, by
// "source/sid/path@version"; it notes every request and the key it came
// with.
type fakeSources struct {
	mu    sync.Mutex
	files map[string][]byte
	asked []string
	keys  []string
}

func (f *fakeSources) set(src, sid, path, version string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[src+"/"+sid+"/"+path+"@"+version] = body
}

func (f *fakeSources) GetFile(_ context.Context, src *schema.Source, key, sid, path, version string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := src.Name + "/" + sid + "/" + path + "@" + version
	f.asked, f.keys = append(f.asked, k), append(f.keys, key)
	b, ok := f.files[k]
	if !ok {
		return nil, schema.Errorf(schema.KindNotFound, "no file %q", k)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// scrubRig is a core with one service and a scrubber whose repairs come
// from fakeSources.
type scrubRig struct {
	*core
	clk *schematest.Clock
	src *fakeSources
	sc  *events.Scrubber
}

func newScrubRig(t *testing.T) *scrubRig {
	t.Helper()
	clk := schematest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	c := newCore(t, events.Options{Clock: clk.Now})
	c.service(t, "scrub")
	src := &fakeSources{files: map[string][]byte{}}
	return &scrubRig{core: c, clk: clk, src: src,
		sc: events.NewScrubber(c.svc, events.ScrubOptions{Interval: time.Hour, Repair: src})}
}

// putBlob stores body (past the inline threshold) at path and returns its
// version and digest.
func (r *scrubRig) putBlob(t *testing.T, path string, body []byte) (*schema.Version, string) {
	t.Helper()
	v, err := r.svc.PutObject(context.Background(), r.o, events.PutInput{Service: "scrub", Path: path, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	return v, hex.EncodeToString(sum[:])
}

// blobFile is where the store keeps digest.
func (r *scrubRig) blobFile(digest string) string {
	return filepath.Join(r.blobs.Root(), "sha256", digest[:2], digest[2:4], digest)
}

// flip damages digest's file: one byte in its middle.
func (r *scrubRig) flip(t *testing.T, digest string) {
	t.Helper()
	raw, err := os.ReadFile(r.blobFile(digest))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(r.blobFile(digest), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// source defines replication source name (its URL is never reached: the
// fake answers).
func (r *scrubRig) source(t *testing.T, name string) {
	t.Helper()
	if _, err := r.svc.CreateSource(context.Background(), r.o, name, "http://"+name+".invalid", "key-of-"+name); err != nil {
		t.Fatal(err)
	}
}

// repairEvents returns the blob.repaired.v1 events in the log.
func (r *scrubRig) repairEvents(t *testing.T) []*schema.Event {
	t.Helper()
	ctx := context.Background()
	last, err := r.log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*schema.Event
	for seq := uint64(1); seq <= last; seq++ {
		ev, err := r.log.Get(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == schema.TypeBlobRepaired {
			out = append(out, ev)
		}
	}
	return out
}

// wantWhole fails the test unless digest is in the store with exactly body.
func (r *scrubRig) wantWhole(t *testing.T, digest string, body []byte) {
	t.Helper()
	raw, err := os.ReadFile(r.blobFile(digest))
	if err != nil || !bytes.Equal(raw, body) {
		t.Fatalf("blob %s after the repair: %d bytes, %v; want the original %d", digest, len(raw), err, len(body))
	}
	if err := r.blobs.Verify(context.Background(), digest, int64(len(body))); err != nil {
		t.Fatalf("Verify after the repair: %v", err)
	}
}

// A damaged blob is repaired at once from a source whose server holds the
// version that uses it: the store holds the original bytes again, the
// blob leaves the report and is counted, and one blob.repaired.v1 event
// (system actor, dialect scrubber) names the digest, size, source and
// version fetched, and nothing secret.
func TestScrubber_RepairsFromSource(t *testing.T) {
	t.Parallel()
	r := newScrubRig(t)
	ctx := context.Background()
	body := bytes.Repeat([]byte("repair me "), 20000)
	v, digest := r.putBlob(t, "bad", body)
	r.source(t, "nowhere") // asked first or not, it holds nothing: the next is asked
	r.source(t, "peer")
	r.src.set("peer", "scrub", "bad", v.Version, body)
	r.flip(t, digest)

	r.clk.Advance(time.Minute)
	if n, err := r.sc.ScrubOnce(ctx); err != nil || n != 1 {
		t.Fatalf("ScrubOnce: %d damaged, %v; want 1", n, err)
	}
	r.wantWhole(t, digest, body)
	h := r.sc.Health(ctx)
	if len(h.Blobs) != 0 || h.Repaired != 1 || h.Damaged != 1 || h.Quarantined < 1 {
		t.Fatalf("health after the repair: %+v", h)
	}
	for _, k := range r.src.keys {
		if !strings.HasPrefix(k, "key-of-") {
			t.Fatalf("a source was asked with key %q, not its own (opened from the seal)", k)
		}
	}
	evs := r.repairEvents(t)
	if len(evs) != 1 {
		t.Fatalf("%d blob.repaired.v1 events, want 1", len(evs))
	}
	ev := evs[0]
	var p schema.BlobRepaired
	if err := ev.Decode(&p); err != nil {
		t.Fatal(err)
	}
	want := schema.BlobRepaired{SHA256: digest, Size: int64(len(body)), Source: "peer",
		From: schema.ObjectRef{Service: "scrub", Path: "bad", Version: v.Version}}
	if p != want || ev.Service != "scrub" || ev.Account != schema.DefaultAccount ||
		ev.Actor.KeyID != schema.ActorSystem || ev.Actor.Dialect != "scrubber" {
		t.Fatalf("repair event: %+v %+v; want payload %+v", ev, p, want)
	}
	if got := schema.SubjectFor(ev); got != schema.ServiceSubject("scrub", "repaired") {
		t.Fatalf("repair event subject %s", got)
	}
	if strings.Contains(string(ev.Data), "key-of-") || strings.Contains(string(ev.Data), ".invalid") {
		t.Fatalf("the repair event carries the source's key or URL: %s", ev.Data)
	}
	// a second pass finds the store whole: nothing new, no second event
	if n, err := r.sc.ScrubOnce(ctx); err != nil || n != 0 {
		t.Fatalf("pass after the repair: %d damaged, %v", n, err)
	}
	if evs := r.repairEvents(t); len(evs) != 1 {
		t.Fatalf("%d repair events after a clean pass", len(evs))
	}
}

// Bytes that do not hash to the blob's digest are refused: nothing of them
// is stored, the blob stays damaged with the refused attempt in its
// report, and no event is appended. The next pass asks again, and a good
// copy then repairs it.
func TestScrubber_RepairRefusesWrongBytes(t *testing.T) {
	t.Parallel()
	r := newScrubRig(t)
	ctx := context.Background()
	body := bytes.Repeat([]byte("the original "), 20000)
	v, digest := r.putBlob(t, "obj", body)
	r.source(t, "liar")
	wrong := bytes.Clone(body)
	wrong[7] ^= 0xff // same size, other digest
	r.src.set("liar", "scrub", "obj", v.Version, wrong)
	r.flip(t, digest)

	if n, err := r.sc.ScrubOnce(ctx); err != nil || n != 1 {
		t.Fatalf("ScrubOnce: %d damaged, %v; want 1", n, err)
	}
	h := r.sc.Health(ctx)
	if len(h.Blobs) != 1 || h.Repaired != 0 {
		t.Fatalf("health after a refused copy: %+v", h)
	}
	reps := h.Blobs[0].Repairs
	if len(reps) != 1 || reps[0].Result != schema.RepairRefused || reps[0].Source != "liar" || reps[0].Error == "" ||
		reps[0].From == nil || *reps[0].From != (schema.ObjectRef{Service: "scrub", Path: "obj", Version: v.Version}) {
		t.Fatalf("repair attempts: %+v", reps)
	}
	ws := sha256.Sum256(wrong)
	if _, err := r.blobs.Stat(ctx, hex.EncodeToString(ws[:])); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("the refused bytes were stored: %v", err)
	}
	if _, err := r.blobs.Stat(ctx, digest); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("the damaged blob is back in the store: %v", err)
	}
	if evs := r.repairEvents(t); len(evs) != 0 {
		t.Fatalf("a refused copy was recorded as a repair: %+v", evs)
	}
	// a copy cut short is refused too
	r.src.set("liar", "scrub", "obj", v.Version, body[:len(body)-1])
	if _, err := r.sc.ScrubOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if h := r.sc.Health(ctx); len(h.Blobs) != 1 || len(h.Blobs[0].Repairs) != 2 || h.Blobs[0].Repairs[1].Result != schema.RepairRefused {
		t.Fatalf("health after a short copy: %+v", h)
	}

	// the source now holds the right bytes: the next pass repairs it
	r.src.set("liar", "scrub", "obj", v.Version, body)
	if n, err := r.sc.ScrubOnce(ctx); err != nil || n != 0 {
		t.Fatalf("third pass: %d damaged, %v", n, err)
	}
	r.wantWhole(t, digest, body)
	if h := r.sc.Health(ctx); len(h.Blobs) != 0 || h.Repaired != 1 {
		t.Fatalf("health after the retry: %+v", h)
	}
	if evs := r.repairEvents(t); len(evs) != 1 {
		t.Fatalf("%d repair events, want 1", len(evs))
	}
}

// With no source to ask the blob stays damaged, its report saying why;
// nothing is fetched and no event appended.
func TestScrubber_RepairWithoutSource(t *testing.T) {
	t.Parallel()
	r := newScrubRig(t)
	ctx := context.Background()
	body := bytes.Repeat([]byte("alone "), 30000)
	_, digest := r.putBlob(t, "obj", body)
	r.flip(t, digest)
	if n, err := r.sc.ScrubOnce(ctx); err != nil || n != 1 {
		t.Fatalf("ScrubOnce: %d damaged, %v; want 1", n, err)
	}
	h := r.sc.Health(ctx)
	if len(h.Blobs) != 1 || h.Repaired != 0 {
		t.Fatalf("health: %+v", h)
	}
	reps := h.Blobs[0].Repairs
	if len(reps) != 1 || reps[0].Result != schema.RepairFailed || reps[0].Source != "" || !strings.Contains(reps[0].Error, "no replication source") {
		t.Fatalf("repair attempts: %+v", reps)
	}
	if len(r.src.asked) != 0 || len(r.repairEvents(t)) != 0 {
		t.Fatalf("asked %v, events %v", r.src.asked, r.repairEvents(t))
	}
}

// A blob file deleted behind the server's back is found missing (the walk
// cannot see it: the versions' references say it should be there) and
// repaired like a damaged one.
func TestScrubber_RepairsMissingBlob(t *testing.T) {
	t.Parallel()
	r := newScrubRig(t)
	ctx := context.Background()
	body := bytes.Repeat([]byte("deleted "), 30000)
	v, digest := r.putBlob(t, "gone", body)
	if err := os.Remove(r.blobFile(digest)); err != nil {
		t.Fatal(err)
	}
	// without a source it is reported missing
	if n, err := r.sc.ScrubOnce(ctx); err != nil || n != 1 {
		t.Fatalf("ScrubOnce: %d damaged, %v; want 1 (missing)", n, err)
	}
	h := r.sc.Health(ctx)
	if len(h.Blobs) != 1 || h.Blobs[0].Digest != digest || !strings.Contains(h.Blobs[0].Reason, "missing") ||
		len(h.Blobs[0].Objects) != 1 || h.Blobs[0].Objects[0].Path != "gone" {
		t.Fatalf("health of a missing blob: %+v", h)
	}
	r.source(t, "peer")
	r.src.set("peer", "scrub", "gone", v.Version, body)
	if _, err := r.sc.ScrubOnce(ctx); err != nil {
		t.Fatal(err)
	}
	r.wantWhole(t, digest, body)
	if h := r.sc.Health(ctx); len(h.Blobs) != 0 || h.Repaired != 1 {
		t.Fatalf("health after repairing the missing blob: %+v", h)
	}
	if evs := r.repairEvents(t); len(evs) != 1 {
		t.Fatalf("%d repair events, want 1", len(evs))
	}
}

// A replica's damaged blob is fetched from its primary only, under the
// primary's service id, with the version id the replica keeps.
func TestScrubber_RepairsReplicaFromPrimary(t *testing.T) {
	t.Parallel()
	r := newScrubRig(t)
	ctx := context.Background()
	r.source(t, "primary")
	r.source(t, "other")
	if _, err := r.svc.CreateService(ctx, r.o, events.ServiceInput{ID: "copy",
		Settings: schema.ServiceSettings{Replica: &schema.ReplicaOf{Source: "primary", SID: "orig"}}}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("replicated "), 20000)
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	version := "01JD0000000000000000000001"
	ch := events.Change{SyncID: 1, Time: r.clk.Now(), Op: schema.OpPut, Path: "r/1", Version: version,
		Size: int64(len(body)), ETag: "e", SHA256: digest, Actor: "PRIMARYKEY"}
	if err := r.svc.ApplyChange(ctx, "copy", ch, func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(body)), nil
	}); err != nil {
		t.Fatal(err)
	}
	r.src.set("primary", "orig", "r/1", version, body)
	r.src.set("other", "copy", "r/1", version, body) // never asked: a replica asks its primary
	r.flip(t, digest)
	if n, err := r.sc.ScrubOnce(ctx); err != nil || n != 1 {
		t.Fatalf("ScrubOnce: %d damaged, %v", n, err)
	}
	r.wantWhole(t, digest, body)
	if len(r.src.asked) != 1 || r.src.asked[0] != "primary/orig/r/1@"+version {
		t.Fatalf("asked %v, want the primary only", r.src.asked)
	}
	evs := r.repairEvents(t)
	var p schema.BlobRepaired
	if len(evs) != 1 || evs[0].Decode(&p) != nil || evs[0].Service != "copy" || p.Source != "primary" ||
		p.From != (schema.ObjectRef{Service: "orig", Path: "r/1", Version: version}) {
		t.Fatalf("repair events: %+v (%+v)", evs, p)
	}
}
