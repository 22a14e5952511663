package events_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// One scrub pass finds a blob damaged on disk, quarantines it and reports
// it with the versions that reference it; an upload of the same bytes
// heals it and it leaves the report.
func TestScrubber_ScrubOnce(t *testing.T) {
	t.Parallel()
	clk := schematest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	c := newCore(t, events.Options{Clock: clk.Now})
	c.service(t, "scrub")
	ctx := context.Background()
	good := bytes.Repeat([]byte("intact "), 20000) // past the inline threshold: blobs
	bad := bytes.Repeat([]byte("to be damaged "), 10000)
	for path, body := range map[string][]byte{"good": good, "bad": bad, "bad-copy": bad} {
		if _, err := c.svc.PutObject(ctx, c.o, events.PutInput{Service: "scrub", Path: path, Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(bad)
	digest := hex.EncodeToString(sum[:])
	p := filepath.Join(c.blobs.Root(), "sha256", digest[:2], digest[2:4], digest)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	sc := events.NewScrubber(c.svc, events.ScrubOptions{Interval: time.Hour})
	clk.Advance(time.Minute)
	n, err := sc.ScrubOnce(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ScrubOnce: %d damaged, %v; want 1", n, err)
	}
	h := sc.Health(ctx)
	if !h.Enabled || h.Passes != 1 || h.Checked != 2 || h.Damaged != 1 || h.Quarantined != 1 ||
		h.CheckedBytes != int64(len(good)+len(bad)) || h.LastFinished != "2026-05-01T10:01:00Z" {
		t.Fatalf("health after one pass: %+v", h)
	}
	if len(h.Blobs) != 1 {
		t.Fatalf("damaged blobs: %+v, want the one", h.Blobs)
	}
	d := h.Blobs[0]
	if d.Digest != digest || !d.Quarantined || d.Reason == "" || d.Found != "2026-05-01T10:01:00Z" || len(d.Objects) != 2 {
		t.Fatalf("damaged blob: %+v", d)
	}
	for _, o := range d.Objects {
		if o.Service != "scrub" || (o.Path != "bad" && o.Path != "bad-copy") || o.Version == "" {
			t.Fatalf("referencing objects: %+v", d.Objects)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("the damaged file is still in the store: %v", err)
	}
	if _, err := c.blobs.Stat(ctx, digest); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("Stat of a quarantined blob: %v", err)
	}

	// a second pass finds nothing new (the damaged blob is out of the store)
	if n, err := sc.ScrubOnce(ctx); err != nil || n != 0 {
		t.Fatalf("second pass: %d damaged, %v", n, err)
	}
	if h := sc.Health(ctx); h.Passes != 2 || h.Checked != 1 || h.Damaged != 0 || len(h.Blobs) != 1 {
		t.Fatalf("health after the second pass: %+v", h)
	}

	// uploading the bytes again heals the blob: the report lets it go
	if _, err := c.svc.PutObject(ctx, c.o, events.PutInput{Service: "scrub", Path: "bad", Body: bytes.NewReader(bad)}); err != nil {
		t.Fatal(err)
	}
	if h := sc.Health(ctx); len(h.Blobs) != 0 {
		t.Fatalf("a healed blob is still reported: %+v", h.Blobs)
	}
	if n, err := sc.ScrubOnce(ctx); err != nil || n != 0 {
		t.Fatalf("pass after healing: %d damaged, %v", n, err)
	}
}

// A scrubber with no interval, or on a read-only core, is off: Run returns
// at once and the report says so.
func TestScrubber_Off(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	sc := events.NewScrubber(c.svc, events.ScrubOptions{})
	sc.Run(context.Background(), nil) // returns: no interval
	if h := sc.Health(context.Background()); h.Enabled || h.Interval != "0s" || h.Blobs == nil {
		t.Fatalf("health of a scrubber that is off: %+v", h)
	}
}
