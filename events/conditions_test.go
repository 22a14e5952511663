package events_test

import (
	"context"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// TestCore_WriteConditionsStrongIfMatch: a conditional write compares
// If-Match strongly (RFC 9110 section 13.1.1), as reads do: a weak tag
// never matches, so W/"etag" cannot overwrite or delete the current
// version. Before the one evaluator, the core accepted the weak tag that
// a GET's If-Match refused.
func TestCore_WriteConditionsStrongIfMatch(t *testing.T) {
	c := newCore(t, events.Options{})
	ctx := context.Background()
	c.service(t, "cond")
	v, err := c.put(ctx, "cond", "a", []byte("one"), events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	weak := events.Conditions{IfMatch: `W/"` + v.ETag + `"`}
	if _, err := c.put(ctx, "cond", "a", []byte("two"), weak); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Fatalf("put with a weak If-Match: %v, want KindPreconditionFailed", err)
	}
	if _, err := c.svc.DeleteObject(ctx, c.o, "cond", "a", weak); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Fatalf("delete with a weak If-Match: %v, want KindPreconditionFailed", err)
	}
	strong := events.Conditions{IfMatch: `"` + v.ETag + `"`}
	if _, err := c.put(ctx, "cond", "a", []byte("two"), strong); err != nil {
		t.Fatalf("put with the strong tag: %v", err)
	}
	if _, err := c.put(ctx, "cond", "b", []byte("x"), events.Conditions{IfNoneMatch: "*"}); err != nil {
		t.Fatalf("If-None-Match * on a new file: %v", err)
	}
	if _, err := c.put(ctx, "cond", "b", []byte("y"), events.Conditions{IfNoneMatch: "*"}); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Fatalf("If-None-Match * on an existing file: %v", err)
	}
}
