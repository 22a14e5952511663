package events_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// largeETag is Swift's ETag of a large object: the MD5 of its segments'
// ETags concatenated.
func largeETag(etags ...string) string {
	h := md5.New()
	for _, e := range etags {
		io.WriteString(h, e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// An SLO reads as its segments in order, from any offset, across segment
// boundaries, inline and blobstore segments alike; it keeps its content
// when the segment objects change, and its blobs are not garbage.
func TestService_PutLarge(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{InlineMax: 1024})
	c.service(t, "big")
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{700, 0, 3000, 1, 1500} // inline, empty, blob, inline, blob
	var whole []byte
	var segs []events.SegmentInput
	var etags []string
	for i, n := range sizes {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		path := "seg/" + string(rune('a'+i))
		if _, err := c.put(ctx, "big", path, b, events.Conditions{}); err != nil {
			t.Fatal(err)
		}
		whole = append(whole, b...)
		segs = append(segs, events.SegmentInput{Service: "big", Path: path, ETag: md5hex(b), Size: int64(n)})
		etags = append(etags, md5hex(b))
	}
	v, err := c.svc.PutLarge(ctx, c.o, events.LargeInput{Service: "big", Path: "whole", Segments: segs, ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Size != int64(len(whole)) || v.ETag != largeETag(etags...) || len(v.Segments) != len(sizes) {
		t.Fatalf("large version: size %d etag %s segments %d", v.Size, v.ETag, len(v.Segments))
	}
	read := func(v *schema.Version) {
		t.Helper()
		rd, err := c.svc.Open(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		got, err := io.ReadAll(rd)
		if err != nil || !bytes.Equal(got, whole) {
			t.Fatalf("whole read: %d bytes, %v; want %d", len(got), err, len(whole))
		}
		for _, r := range [][2]int{{0, 1}, {699, 2}, {700, 3000}, {3699, 2}, {3700, 1}, {3701, 1499}, {650, 3100}, {0, len(whole)}} {
			buf := make([]byte, r[1])
			n, err := rd.ReadAt(buf, int64(r[0]))
			if err != nil && !(errors.Is(err, io.EOF) && n == r[1]) {
				t.Fatalf("ReadAt(%d, %d): %d, %v", r[0], r[1], n, err)
			}
			if !bytes.Equal(buf[:n], whole[r[0]:r[0]+r[1]]) {
				t.Fatalf("ReadAt(%d, %d): wrong bytes", r[0], r[1])
			}
		}
		if n, err := rd.ReadAt(make([]byte, 1), int64(len(whole))); n != 0 || err != io.EOF {
			t.Fatalf("ReadAt past the end: %d, %v", n, err)
		}
	}
	read(v)

	// the segment objects change and go; the large object does not
	if _, err := c.put(ctx, "big", "seg/c", []byte("replaced"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.DeleteObject(ctx, c.o, "big", "seg/e", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	cur, err := c.state.Object(ctx, "big", "whole")
	if err != nil {
		t.Fatal(err)
	}
	read(cur)
	for _, sg := range cur.Segments {
		if sg.Blob.InSeq == 0 {
			if ok, err := c.state.BlobReferenced(ctx, sg.Blob.SHA256); err != nil || !ok {
				t.Fatalf("segment blob %s not referenced: %v %v", sg.Blob.SHA256, ok, err)
			}
		}
	}

	// a large object of large objects references them
	v2, err := c.svc.PutLarge(ctx, c.o, events.LargeInput{Service: "big", Path: "twice",
		Segments: []events.SegmentInput{{Service: "big", Path: "whole", Size: -1}, {Service: "big", Path: "whole", Size: -1}}})
	if err != nil || v2.Size != 2*int64(len(whole)) || len(v2.Segments) != 2 || !v2.Segments[0].Manifest {
		t.Fatalf("nested large object: %+v, %v", v2, err)
	}
}

// Every bad segment is named, and nothing is stored.
func TestService_PutLargeBadSegments(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	c.service(t, "big")
	if _, err := c.put(ctx, "big", "ok", []byte("12345"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.svc.PutLarge(ctx, c.o, events.LargeInput{Service: "big", Path: "whole", Segments: []events.SegmentInput{
		{Service: "big", Path: "ok", ETag: md5hex([]byte("12345")), Size: 5},
		{Service: "big", Path: "missing", Size: -1},
		{Service: "big", Path: "ok", ETag: "0123456789abcdef0123456789abcdef", Size: -1},
		{Service: "big", Path: "ok", Size: 6},
	}})
	var se *events.SegmentsError
	if !errors.As(err, &se) || !schema.IsKind(err, schema.KindInvalidArgument) {
		t.Fatalf("err = %v, want a SegmentsError that is InvalidArgument", err)
	}
	want := []events.BadSegment{{1, "big", "missing", events.SegmentMissing}, {2, "big", "ok", events.SegmentETagMismatch},
		{3, "big", "ok", events.SegmentSizeMismatch}}
	if len(se.Bad) != len(want) {
		t.Fatalf("bad segments %+v, want %+v", se.Bad, want)
	}
	for i := range want {
		if se.Bad[i] != want[i] {
			t.Fatalf("bad segment %d: %+v, want %+v", i, se.Bad[i], want[i])
		}
	}
	if _, err := c.state.Object(ctx, "big", "whole"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("a refused manifest was stored: %v", err)
	}
}

// A DLO reads as the live objects under its prefix now, in name order.
func TestService_ResolveDynamic(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	c.service(t, "big")
	for _, p := range []string{"parts/2", "parts/1"} {
		if _, err := c.put(ctx, "big", p, []byte(p), events.Conditions{}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.svc.PutObject(ctx, c.o, events.PutInput{Service: "big", Path: "all", Body: bytes.NewReader(nil),
		Headers: map[string]string{events.ManifestHeader: "big/parts/"}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(want string, etags ...string) {
		t.Helper()
		v, err := c.svc.Resolve(ctx, m, func(*schema.Service) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		rd, err := c.svc.Open(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rd)
		rd.Close()
		if string(got) != want || v.Size != int64(len(want)) || v.ETag != largeETag(etags...) {
			t.Fatalf("DLO reads %q (size %d etag %s), want %q", got, v.Size, v.ETag, want)
		}
	}
	check("parts/1parts/2", md5hex([]byte("parts/1")), md5hex([]byte("parts/2")))
	if _, err := c.put(ctx, "big", "parts/3", []byte("parts/3"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	check("parts/1parts/2parts/3", md5hex([]byte("parts/1")), md5hex([]byte("parts/2")), md5hex([]byte("parts/3")))
	if _, err := c.svc.Resolve(ctx, m, func(*schema.Service) bool { return false }); !schema.IsKind(err, schema.KindForbidden) {
		t.Fatalf("a reader who may not read the segments: %v, want forbidden", err)
	}
}

// A segment in another account's service is refused as missing whether or
// not an object is there, and as a service that does not exist is, so a
// manifest can probe neither another account's objects (it was "missing"
// for an absent object and "foreign" for a present one) nor its services
// (it was "foreign" for another account's service and "missing" for none).
func TestService_PutLargeForeignSegmentsLearnNothing(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	c.service(t, "big")
	if _, err := c.svc.CreateAccount(ctx, c.o, "other", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "theirs", Account: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.put(ctx, "theirs", "present", []byte("secret"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.svc.PutLarge(ctx, c.o, events.LargeInput{Service: "big", Path: "probe", Segments: []events.SegmentInput{
		{Service: "theirs", Path: "present", Size: -1},
		{Service: "theirs", Path: "absent", Size: -1},
		{Service: "nosuch", Path: "x", Size: -1},
	}})
	var se *events.SegmentsError
	if !errors.As(err, &se) || len(se.Bad) != 3 {
		t.Fatalf("err = %v, want three bad segments", err)
	}
	for i, want := range []events.SegmentProblem{events.SegmentMissing, events.SegmentMissing, events.SegmentMissing} {
		if b := se.Bad[i]; b.Problem != want {
			t.Errorf("segment %d (%s/%s): %s, want %s", b.Index, b.Service, b.Path, b.Problem, want)
		}
	}
}
