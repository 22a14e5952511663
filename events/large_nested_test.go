package events_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// nestedFixture is a service with plain segments and large objects made of
// them, built through the core.
type nestedFixture struct {
	c   *core
	svc string
}

// seg stores a plain object and returns it as a segment input.
func (f nestedFixture) seg(t *testing.T, path string, body []byte) events.SegmentInput {
	t.Helper()
	if _, err := f.c.put(context.Background(), f.svc, path, body, events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	return events.SegmentInput{Service: f.svc, Path: path, ETag: md5hex(body), Size: int64(len(body))}
}

// large stores an SLO of segs at path.
func (f nestedFixture) large(t *testing.T, path string, segs ...events.SegmentInput) *schema.Version {
	t.Helper()
	v, err := f.c.svc.PutLarge(context.Background(), f.c.o, events.LargeInput{Service: f.svc, Path: path, Segments: segs})
	if err != nil {
		t.Fatalf("PutLarge %s: %v", path, err)
	}
	return v
}

// ref names large object v as a segment of another.
func ref(v *schema.Version) events.SegmentInput {
	return events.SegmentInput{Service: v.Service, Path: v.Path, ETag: v.ETag, Size: v.Size}
}

// wantContent fails unless v reads as want whole and at every range given
// as {offset, length}.
func wantContent(t *testing.T, c *core, v *schema.Version, want []byte, ranges ...[2]int) {
	t.Helper()
	rd, err := c.svc.Open(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	got, err := io.ReadAll(rd)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("whole read of %s: %q, %v; want %q", v.Path, got, err, want)
	}
	for _, r := range ranges {
		buf := make([]byte, r[1])
		n, err := rd.ReadAt(buf, int64(r[0]))
		if err != nil && !(errors.Is(err, io.EOF) && n == r[1]) {
			t.Fatalf("ReadAt(%d, %d) of %s: %d, %v", r[0], r[1], v.Path, n, err)
		}
		if !bytes.Equal(buf[:n], want[r[0]:r[0]+r[1]]) {
			t.Fatalf("ReadAt(%d, %d) of %s: %q, want %q", r[0], r[1], v.Path, buf[:n], want[r[0]:r[0]+r[1]])
		}
	}
}

// A manifest naming an SLO stores one reference to its version (its size
// and ETag, no blob), not the SLO's segments; its ETag is Swift's over
// the sub-SLO's ETag; it reads right whole and at ranges inside, across
// and past referenced manifests, two levels deep.
func TestService_PutLargeReferences(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{InlineMax: 4})
	c.service(t, "big")
	f := nestedFixture{c, "big"}
	a := f.seg(t, "a", []byte("AAAAA"))
	b := f.seg(t, "b", []byte("bb"))
	x := f.seg(t, "x", []byte("xxx"))
	inner := f.large(t, "inner", a, b, a) // "AAAAAbbAAAAA", 12 bytes
	if inner.Depth() != 1 || inner.ManifestDepth != 1 {
		t.Fatalf("a manifest of plain segments: depth %d (recorded %d), want 1", inner.Depth(), inner.ManifestDepth)
	}
	outer := f.large(t, "outer", x, ref(inner), x, ref(inner)) // "xxx" inner "xxx" inner
	if len(outer.Segments) != 4 || outer.ManifestDepth != 2 {
		t.Fatalf("outer: %d segments, depth %d; want 4 segments (one per entry), depth 2", len(outer.Segments), outer.ManifestDepth)
	}
	sg := outer.Segments[1]
	if !sg.Manifest || sg.Version != inner.Version || sg.Size != inner.Size || sg.ETag != inner.ETag || sg.Blob.SHA256 != "" {
		t.Fatalf("the nested SLO's entry: %+v, want a reference to version %s", sg, inner.Version)
	}
	if outer.Segments[0].Manifest {
		t.Fatal("a plain segment marked as a manifest")
	}
	if want := largeETag(x.ETag, inner.ETag, x.ETag, inner.ETag); outer.ETag != want {
		t.Fatalf("outer ETag %s, want Swift's %s (over the nested SLO's ETag)", outer.ETag, want)
	}
	innerBytes := []byte("AAAAAbbAAAAA")
	want := bytes.Join([][]byte{[]byte("xxx"), innerBytes, []byte("xxx"), innerBytes}, nil)
	if outer.Size != int64(len(want)) {
		t.Fatalf("outer size %d, want %d", outer.Size, len(want))
	}
	wantContent(t, c, outer, want,
		[2]int{4, 3},  // inside the first reference, inside one segment
		[2]int{7, 4},  // inside the reference, across its segments
		[2]int{1, 5},  // from a plain segment into the reference
		[2]int{13, 5}, // out of the reference into the next plain segment
		[2]int{15, 4}, // skipping the first reference, into the second
		[2]int{29, 1}, // the last byte
		[2]int{0, len(want)},
	)
	// the stored version (from the projections) reads the same
	cur, err := c.state.Object(ctx, "big", "outer")
	if err != nil {
		t.Fatal(err)
	}
	wantContent(t, c, cur, want, [2]int{20, 6})

	// three levels: a reference to a manifest holding references
	top := f.large(t, "top", ref(outer), b, ref(inner))
	if top.ManifestDepth != 3 || len(top.Segments) != 3 {
		t.Fatalf("top: depth %d, %d segments; want 3, 3", top.ManifestDepth, len(top.Segments))
	}
	all := bytes.Join([][]byte{want, []byte("bb"), innerBytes}, nil)
	wantContent(t, c, top, all, [2]int{28, 6}, [2]int{31, 3}, [2]int{33, 2}, [2]int{5, 25})

	// a copy keeps the references (and its depth)
	cp, err := c.svc.CopyObject(ctx, c.o, events.CopyInput{From: schema.ObjectRef{Service: "big", Path: "top"}, Service: "big", Path: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Segments) != 3 || !cp.Segments[0].Manifest || cp.ManifestDepth != 3 {
		t.Fatalf("copy: %d segments, depth %d", len(cp.Segments), cp.ManifestDepth)
	}
	wantContent(t, c, cp, all, [2]int{30, 2})
}

// A chain of manifests each naming the previous one is accepted up to 10
// deep and refused at 11 (Swift's max_slo_recursion_depth), as an
// InvalidArgument in Swift's words, storing nothing; the 10-deep one reads.
func TestService_PutLargeDepthLimit(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	c.service(t, "big")
	f := nestedFixture{c, "big"}
	prev := f.large(t, "m1", f.seg(t, "seg", []byte("x")))
	for d := 2; d <= events.MaxManifestDepth; d++ {
		prev = f.large(t, fmt.Sprintf("m%d", d), ref(prev))
		if prev.ManifestDepth != d {
			t.Fatalf("m%d: depth %d", d, prev.ManifestDepth)
		}
	}
	wantContent(t, c, prev, []byte("x"), [2]int{0, 1})
	_, err := c.svc.PutLarge(ctx, c.o, events.LargeInput{Service: "big", Path: "m11",
		Segments: []events.SegmentInput{{Service: "big", Path: "seg", Size: -1}, ref(prev)}})
	if !schema.IsKind(err, schema.KindInvalidArgument) || !strings.Contains(err.Error(), "Max recursion depth exceeded") {
		t.Fatalf("an 11-deep manifest: %v, want InvalidArgument \"Max recursion depth exceeded\"", err)
	}
	if _, err := c.state.Object(ctx, "big", "m11"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("the refused manifest was stored: %v", err)
	}
}

// A referenced SLO version stays readable through the manifests that
// reference it whatever removes it from its history: a purge, retention,
// its service's deletion. Its record is then hidden (not a version of its
// object any more) and keeps its blobs; once the last manifest
// referencing it is purged, the hidden record goes and its blobs are
// garbage.
func TestService_PutLargeReferencedVersionPinned(t *testing.T) {
	for _, how := range []string{"purge", "retention", "service-deleted"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			clk := schematest.NewClock(time.Now())
			c := newCore(t, events.Options{InlineMax: 4, Clock: clk.Now})
			if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "subs",
				Settings: schema.ServiceSettings{KeepVersions: "1h"}}); err != nil {
				t.Fatal(err)
			}
			c.service(t, "big")
			subs := nestedFixture{c, "subs"}
			seg := subs.seg(t, "seg", []byte("segment bytes"))
			inner := subs.large(t, "inner", seg, seg)
			segV, err := c.state.Object(ctx, "subs", "seg")
			if err != nil {
				t.Fatal(err)
			}
			digest := segV.Blob.SHA256
			outer := nestedFixture{c, "big"}.large(t, "outer", ref(inner))
			want := []byte("segment bytessegment bytes")

			switch how {
			case "purge":
				if _, err := c.svc.PurgeVersion(ctx, c.o, "subs", "inner", inner.Version); err != nil {
					t.Fatal(err)
				}
			case "retention":
				if _, err := c.svc.PutLarge(ctx, c.o, events.LargeInput{Service: "subs", Path: "inner",
					Segments: []events.SegmentInput{seg}}); err != nil {
					t.Fatal(err)
				}
				clk.Advance(2 * time.Hour)
				if n, err := c.svc.RetainOnce(ctx); err != nil || n != 1 {
					t.Fatalf("RetainOnce: %d, %v; want the superseded inner version purged", n, err)
				}
			case "service-deleted":
				for _, p := range []string{"inner", "seg"} {
					if _, err := c.svc.DeleteObject(ctx, c.o, "subs", p, events.Conditions{}); err != nil {
						t.Fatal(err)
					}
				}
				if err := c.svc.DeleteService(ctx, c.o, "subs"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.state.Version(ctx, "subs", "inner", inner.Version); !schema.IsKind(err, schema.KindNotFound) {
				t.Fatalf("the removed version is still in its history: %v", err)
			}
			if _, err := c.state.Referenced(ctx, "subs", "inner", inner.Version); err != nil {
				t.Fatalf("the referenced version is not pinned: %v", err)
			}
			wantContent(t, c, outer, want, [2]int{10, 8})
			if ok, err := c.state.BlobReferenced(ctx, digest); err != nil || !ok {
				t.Fatalf("the pinned version's segment blob is not referenced: %v %v", ok, err)
			}

			// the outer goes: nothing pins the hidden record any more
			if _, err := c.svc.PurgeVersion(ctx, c.o, "big", "outer", outer.Version); err != nil {
				t.Fatal(err)
			}
			if _, err := c.state.Referenced(ctx, "subs", "inner", inner.Version); !schema.IsKind(err, schema.KindNotFound) {
				t.Fatalf("the hidden record outlived its last reference: %v", err)
			}
			if how == "purge" { // the segment object itself still holds its blob
				return
			}
			if how == "retention" { // and here the new inner version too: drop both
				for _, p := range []string{"inner", "seg"} {
					vs, err := c.state.Versions(ctx, "subs", p, 0)
					if err != nil {
						t.Fatal(err)
					}
					for _, v := range vs {
						if _, err := c.svc.PurgeVersion(ctx, c.o, "subs", p, v.Version); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if ok, err := c.state.BlobReferenced(ctx, digest); err != nil || ok {
				t.Fatalf("the released segment blob is still referenced: %v %v", ok, err)
			}
			clk.Advance(2 * time.Hour)
			if _, err := c.svc.CollectGarbage(ctx, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := c.blobs.Stat(ctx, digest); !schema.IsKind(err, schema.KindNotFound) {
				t.Fatalf("the released segment blob was not collected: %v", err)
			}
		})
	}
}

// A reference whose version is nowhere (not in its history, not pinned:
// a projection that lost it) is the error a missing segment blob gives.
func TestService_PutLargeMissingReference(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	v := &schema.Version{Service: "big", Path: "outer", Size: 3, Segments: []schema.Segment{
		{Service: "big", Path: "gone", Version: "01J0000000000000000000000", Size: 3, Manifest: true}}}
	rd, err := c.svc.Open(ctx, v)
	if err == nil {
		_, err = io.ReadAll(rd)
		rd.Close()
	}
	var se *schema.Error
	if !errors.As(err, &se) || se.Reason != schema.ReasonDataMissing {
		t.Fatalf("read through a missing reference: %v, want data missing", err)
	}
}
