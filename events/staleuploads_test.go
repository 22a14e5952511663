package events_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

func TestCore_AbortStaleUploads(t *testing.T) {
	t.Parallel()
	clk := schematest.NewClock(time.Now())
	c := newCore(t, events.Options{Clock: clk.Now})
	c.service(t, "mpold")
	ctx := context.Background()
	open := func(path, body string) (*schema.Upload, *schema.Part) {
		t.Helper()
		u, err := c.svc.CreateUpload(ctx, c.o, events.UploadInput{Service: "mpold", Path: path})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.svc.PutPart(ctx, c.o, "mpold", u.ID, 1, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return u, p
	}
	const week = 7 * 24 * time.Hour
	old, oldPart := open("interrupted", "bytes of a part nobody completes")
	clk.Advance(6 * 24 * time.Hour)
	young, youngPart := open("in-progress", "bytes of a part still wanted")

	if n, err := c.svc.AbortStaleUploads(ctx, week); err != nil || n != 0 {
		t.Fatalf("6 days old: aborted %d, %v; want none", n, err)
	}
	clk.Advance(2 * 24 * time.Hour) // old is 8 days old, young 2
	if n, err := c.svc.AbortStaleUploads(ctx, 0); err != nil || n != 0 {
		t.Fatalf("max age 0 means never: aborted %d, %v", n, err)
	}
	if n, err := c.svc.AbortStaleUploads(ctx, week); err != nil || n != 1 {
		t.Fatalf("8 days old: aborted %d, %v; want 1", n, err)
	}
	if _, err := c.svc.Upload(ctx, "mpold", old.ID); schema.ReasonOf(err) != schema.ReasonNoSuchUpload {
		t.Fatalf("the stale upload is still open: %v", err)
	}
	if _, err := c.svc.Upload(ctx, "mpold", young.ID); err != nil {
		t.Fatalf("the young upload was aborted: %v", err)
	}
	if n, err := c.svc.AbortStaleUploads(ctx, week); err != nil || n != 0 {
		t.Fatalf("second pass: aborted %d, %v; want none", n, err)
	}

	// the aborted upload's part is garbage now; the open one's is not
	if n, err := c.svc.CollectGarbage(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("CollectGarbage: removed %d, %v; want the aborted upload's part", n, err)
	}
	if _, err := c.blobs.Stat(ctx, oldPart.SHA256); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("aborted part's blob still there: %v", err)
	}
	if _, err := c.blobs.Stat(ctx, youngPart.SHA256); err != nil {
		t.Fatalf("an open upload's part was collected: %v", err)
	}
	// the young upload still completes
	if _, err := c.svc.CompleteUpload(ctx, c.o, "mpold", young.ID, []events.CompletePart{{Number: 1, ETag: youngPart.ETag}}, events.Conditions{}); err != nil {
		t.Fatal(err)
	}
}
