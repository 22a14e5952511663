package s3

import (
	"testing"

	"github.com/cairnhq/cairn/schema"
)

// Every kind has a wire code, and every reason the core uses has a finer one.
func TestErrors_EveryKindMapped(t *testing.T) {
	for _, k := range schema.Kinds {
		if w, ok := statusOf[k]; !ok || w.Code == "" || w.Status < 400 {
			t.Errorf("kind %v has no S3 status and code", k)
		}
	}
	for _, r := range []string{schema.ReasonNoSuchUpload, schema.ReasonInvalidPart, schema.ReasonInvalidPartOrder,
		schema.ReasonEntityTooSmall, schema.ReasonNoSuchVersion, schema.ReasonNoSuchService, schema.ReasonNotEmpty} {
		if _, ok := reasonOf[r]; !ok {
			t.Errorf("reason %q has no S3 code", r)
		}
	}
	status, code, _ := classify(schema.Reasonf(schema.KindInvalidArgument, schema.ReasonInvalidPartOrder, "x"))
	if status != 400 || code != "InvalidPartOrder" {
		t.Errorf("a reason does not refine its kind: %d %s", status, code)
	}
	if status, code, msg := classify(schema.Wrap(schema.KindInternal, errSecret, "boom")); status != 500 || code != "InternalError" || msg != "internal error" {
		t.Errorf("internal error leaks or is mis-mapped: %d %s %q", status, code, msg)
	}
}

type secretErr struct{}

func (secretErr) Error() string { return "db password is hunter2" }

var errSecret error = secretErr{}
