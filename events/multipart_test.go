package events_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

func TestService_Multipart(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	c.service(t, "mp")
	ctx := context.Background()
	u, err := c.svc.CreateUpload(ctx, c.o, events.UploadInput{Service: "mp", Path: "big/file.bin", ContentType: "video/mp4",
		Meta: map[string]string{"k": "v"}, Headers: map[string]string{"cache-control": "no-store"}})
	if err != nil {
		t.Fatal(err)
	}
	p1 := bytes.Repeat([]byte("a"), events.MinPartSize)
	p2 := []byte("the last part may be small")
	// part 2 first, then part 1 twice: the second part 1 replaces the first
	put := func(n int, b []byte) *schema.Part {
		t.Helper()
		p, err := c.svc.PutPart(ctx, c.o, "mp", u.ID, n, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	put(2, p2)
	put(1, []byte("replaced"))
	e1 := put(1, p1)
	parts, err := c.svc.Parts(ctx, "mp", u.ID)
	if err != nil || len(parts) != 2 || parts[0].Number != 1 || parts[0].Size != int64(len(p1)) || parts[1].Number != 2 {
		t.Fatalf("Parts = %+v, %v", parts, err)
	}
	if _, err := c.state.Object(ctx, "mp", "big/file.bin"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("an open upload is not an object: %v", err)
	}

	// bad completions leave the upload as it was
	for _, bad := range []struct {
		reason string
		list   []events.CompletePart
	}{
		{schema.ReasonInvalidPartOrder, []events.CompletePart{{2, parts[1].ETag}, {1, e1.ETag}}},
		{schema.ReasonInvalidPart, []events.CompletePart{{1, e1.ETag}, {2, "0123456789abcdef0123456789abcdef"}}},
		{schema.ReasonInvalidPart, []events.CompletePart{{1, e1.ETag}, {3, parts[1].ETag}}},
	} {
		if _, err := c.svc.CompleteUpload(ctx, c.o, "mp", u.ID, bad.list, events.Conditions{}); schema.ReasonOf(err) != bad.reason {
			t.Errorf("%v: CompleteUpload error = %v, want %s", bad.list, err, bad.reason)
		}
	}
	small, err := c.svc.CreateUpload(ctx, c.o, events.UploadInput{Service: "mp", Path: "small"})
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := c.svc.PutPart(ctx, c.o, "mp", small.ID, 1, strings.NewReader("tiny"))
	s2, _ := c.svc.PutPart(ctx, c.o, "mp", small.ID, 2, strings.NewReader("tiny"))
	if _, err := c.svc.CompleteUpload(ctx, c.o, "mp", small.ID, []events.CompletePart{{1, s1.ETag}, {2, s2.ETag}}, events.Conditions{}); schema.ReasonOf(err) != schema.ReasonEntityTooSmall {
		t.Errorf("small first part: %v", err)
	}

	v, err := c.svc.CompleteUpload(ctx, c.o, "mp", u.ID, []events.CompletePart{{1, `"` + e1.ETag + `"`}, {2, parts[1].ETag}}, events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := md5.Sum(p1), md5.Sum(p2)
	sum := md5.Sum(append(a[:], b[:]...))
	if want := hex.EncodeToString(sum[:]) + "-2"; v.ETag != want || v.Size != int64(len(p1)+len(p2)) || v.Parts != 2 {
		t.Fatalf("completed version = etag %s size %d parts %d, want %s", v.ETag, v.Size, v.Parts, want)
	}
	if v.ContentType != "video/mp4" || v.Meta["k"] != "v" || v.Headers["cache-control"] != "no-store" {
		t.Fatalf("metadata from the upload not kept: %+v", v)
	}
	if got := readAll(t, c, v); !bytes.Equal(got, append(append([]byte{}, p1...), p2...)) {
		t.Fatalf("content is not the parts concatenated (%d bytes)", len(got))
	}
	// the upload is closed: no more parts, no second completion, no abort
	if _, err := c.svc.PutPart(ctx, c.o, "mp", u.ID, 3, strings.NewReader("x")); schema.ReasonOf(err) != schema.ReasonNoSuchUpload {
		t.Errorf("PutPart after completion: %v", err)
	}
	if err := c.svc.AbortUpload(ctx, c.o, "mp", u.ID); schema.ReasonOf(err) != schema.ReasonNoSuchUpload {
		t.Errorf("Abort after completion: %v", err)
	}
	if err := c.svc.AbortUpload(ctx, c.o, "mp", small.ID); err != nil {
		t.Fatal(err)
	}
	if ups, err := c.state.Uploads(ctx, "mp"); err != nil || len(ups) != 0 {
		t.Fatalf("uploads left open: %+v %v", ups, err)
	}
	for _, id := range []string{"nonsense", "01JD0000000000000000000000", "../../etc"} {
		if _, err := c.svc.Parts(ctx, "mp", id); schema.ReasonOf(err) != schema.ReasonNoSuchUpload {
			t.Errorf("Parts(%q) = %v", id, err)
		}
	}
	if _, err := c.svc.PutPart(ctx, c.o, "mp", small.ID, 10001, strings.NewReader("x")); !schema.IsKind(err, schema.KindInvalidArgument) {
		t.Errorf("part 10001: %v", err)
	}

	// the parts' blobs are unreferenced once the upload is closed; the
	// object's blob stays
	for _, p := range append(parts, s1, s2) {
		ref, err := c.state.BlobReferenced(ctx, p.SHA256)
		if err != nil || ref {
			t.Errorf("part %d blob still referenced (%v)", p.Number, err)
		}
	}
	if ref, err := c.state.BlobReferenced(ctx, v.Blob.SHA256); err != nil || !ref {
		t.Errorf("object blob not referenced (%v)", err)
	}
}

func TestService_PurgeVersion(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{InlineMax: 4})
	c.service(t, "pv")
	ctx := context.Background()
	v1, err := c.put(ctx, "pv", "f", []byte("first version"), events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := c.put(ctx, "pv", "f", []byte("second version!"), events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	marker, err := c.svc.DeleteObject(ctx, c.o, "pv", "f", events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	live := func() *schema.Version {
		t.Helper()
		v, err := c.state.Object(ctx, "pv", "f")
		if schema.IsKind(err, schema.KindNotFound) {
			return nil
		} else if err != nil {
			t.Fatal(err)
		}
		return v
	}
	usage := func(files, bytes int64) {
		t.Helper()
		svc, err := c.state.Service(ctx, "pv")
		if err != nil || svc.Files != files || svc.Bytes != bytes {
			t.Fatalf("usage = %d files %d bytes (%v), want %d %d", svc.Files, svc.Bytes, err, files, bytes)
		}
	}
	usage(0, 0)
	// removing the delete marker brings the newest content back
	if gone, err := c.svc.PurgeVersion(ctx, c.o, "pv", "f", marker.Version); err != nil || !gone.Deleted {
		t.Fatalf("purge marker: %+v %v", gone, err)
	}
	if v := live(); v == nil || v.Version != v2.Version {
		t.Fatalf("live after removing the marker = %+v, want v2", v)
	}
	usage(1, v2.Size)
	// removing an older version leaves the live one alone and drops its blob reference
	if _, err := c.svc.PurgeVersion(ctx, c.o, "pv", "f", v1.Version); err != nil {
		t.Fatal(err)
	}
	if v := live(); v == nil || v.Version != v2.Version {
		t.Fatalf("live after purging v1 = %+v", v)
	}
	if ref, _ := c.state.BlobReferenced(ctx, v1.Blob.SHA256); ref {
		t.Error("purged version's blob still referenced")
	}
	if _, err := c.state.Version(ctx, "pv", "f", v1.Version); !schema.IsKind(err, schema.KindNotFound) {
		t.Errorf("purged version still listed: %v", err)
	}
	// removing the last version removes the object
	if _, err := c.svc.PurgeVersion(ctx, c.o, "pv", "f", v2.Version); err != nil {
		t.Fatal(err)
	}
	if v := live(); v != nil {
		t.Fatalf("object still live: %+v", v)
	}
	usage(0, 0)
	if _, err := c.svc.PurgeVersion(ctx, c.o, "pv", "f", v2.Version); schema.ReasonOf(err) != schema.ReasonNoSuchVersion {
		t.Fatalf("purging twice: %v", err)
	}
}
