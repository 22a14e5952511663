package swift

import (
	"testing"

	"github.com/cairnhq/cairn/events"
)

// A refused manifest is worded as Swift words it, one line per bad
// segment, and every problem the core reports has Swift's wording.
func TestLarge_SegmentsText(t *testing.T) {
	se := &events.SegmentsError{Bad: []events.BadSegment{
		{Index: 0, Service: "segs", Path: "a", Problem: events.SegmentMissing},
		{Index: 1, Service: "other", Path: "b", Problem: events.SegmentForeign},
		{Index: 2, Service: "segs", Path: "dlo", Problem: events.SegmentDynamic},
		{Index: 3, Service: "segs", Path: "c", Problem: events.SegmentETagMismatch},
		{Index: 4, Service: "segs", Path: "d d", Problem: events.SegmentSizeMismatch},
	}}
	want := "/segs/a, 404 Not Found\n" +
		"/other/b, 403 Forbidden\n" +
		"/segs/dlo, Dynamic large objects cannot be segments\n" +
		"/segs/c, Etag Mismatch\n" +
		"/segs/d d, Size Mismatch"
	if got := segmentsText(se); got != want {
		t.Fatalf("segmentsText:\n%s\nwant:\n%s", got, want)
	}
}
