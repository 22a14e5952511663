package schema_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// TestConditions_Evaluate is the evaluator's table: RFC 9110 section 13
// (strong If-Match, weak If-None-Match, the order of evaluation, dates
// ignored when the tag header is present or invalid) for reads and writes.
func TestConditions_Evaluate(t *testing.T) {
	mod := time.Date(2026, 3, 4, 10, 20, 30, 500e6, time.UTC) // sub-second: compared at seconds
	cur := schema.Target{Exists: true, ETag: `"abc"`, Modified: mod}
	none := schema.Target{}
	at := func(d time.Duration) string { return mod.Truncate(time.Second).Add(d).Format(http.TimeFormat) }
	const P, N, F = schema.Proceed, schema.NotModified, schema.PreconditionFailed
	cases := []struct {
		name   string
		c      schema.Conditions
		t      schema.Target
		read   bool
		want   schema.Verdict
		header string
	}{
		{"no conditions", schema.Conditions{}, cur, true, P, ""},
		{"no conditions, no object", schema.Conditions{}, none, false, P, ""},

		{"If-Match equal", schema.Conditions{IfMatch: `"abc"`}, cur, true, P, ""},
		{"If-Match unquoted", schema.Conditions{IfMatch: `abc`}, cur, true, P, ""},
		{"If-Match in a list", schema.Conditions{IfMatch: `"x", "abc"`}, cur, false, P, ""},
		{"If-Match other", schema.Conditions{IfMatch: `"x"`}, cur, true, F, "If-Match"},
		{"If-Match weak never matches", schema.Conditions{IfMatch: `W/"abc"`}, cur, true, F, "If-Match"},
		{"If-Match weak never matches on a write", schema.Conditions{IfMatch: `W/"abc"`}, cur, false, F, "If-Match"},
		{"If-Match star", schema.Conditions{IfMatch: `*`}, cur, false, P, ""},
		{"If-Match star, no object", schema.Conditions{IfMatch: `*`}, none, false, F, "If-Match"},
		{"If-Match tag, no object", schema.Conditions{IfMatch: `"abc"`}, none, false, F, "If-Match"},

		{"If-None-Match equal, read", schema.Conditions{IfNoneMatch: `"abc"`}, cur, true, N, "If-None-Match"},
		{"If-None-Match equal, write", schema.Conditions{IfNoneMatch: `"abc"`}, cur, false, F, "If-None-Match"},
		{"If-None-Match weak matches", schema.Conditions{IfNoneMatch: `W/"abc"`}, cur, true, N, "If-None-Match"},
		{"If-None-Match other", schema.Conditions{IfNoneMatch: `"x"`}, cur, true, P, ""},
		{"If-None-Match star", schema.Conditions{IfNoneMatch: `*`}, cur, false, F, "If-None-Match"},
		{"If-None-Match star, no object", schema.Conditions{IfNoneMatch: `*`}, none, false, P, ""},

		{"If-Modified-Since before", schema.Conditions{IfModifiedSince: at(-time.Second)}, cur, true, P, ""},
		{"If-Modified-Since same second", schema.Conditions{IfModifiedSince: at(0)}, cur, true, N, "If-Modified-Since"},
		{"If-Modified-Since after", schema.Conditions{IfModifiedSince: at(time.Hour)}, cur, true, N, "If-Modified-Since"},
		{"If-Modified-Since ignored on a write", schema.Conditions{IfModifiedSince: at(time.Hour)}, cur, false, P, ""},
		{"If-Modified-Since invalid date ignored", schema.Conditions{IfModifiedSince: "yesterday"}, cur, true, P, ""},
		{"If-Modified-Since ignored under If-None-Match", schema.Conditions{IfNoneMatch: `"x"`, IfModifiedSince: at(time.Hour)}, cur, true, P, ""},

		{"If-Unmodified-Since after", schema.Conditions{IfUnmodifiedSince: at(time.Hour)}, cur, true, P, ""},
		{"If-Unmodified-Since same second", schema.Conditions{IfUnmodifiedSince: at(0)}, cur, true, P, ""},
		{"If-Unmodified-Since before", schema.Conditions{IfUnmodifiedSince: at(-time.Second)}, cur, true, F, "If-Unmodified-Since"},
		{"If-Unmodified-Since before, write", schema.Conditions{IfUnmodifiedSince: at(-time.Second)}, cur, false, F, "If-Unmodified-Since"},
		{"If-Unmodified-Since invalid date ignored", schema.Conditions{IfUnmodifiedSince: "soon"}, cur, true, P, ""},
		{"If-Unmodified-Since, no object", schema.Conditions{IfUnmodifiedSince: at(-time.Hour)}, none, false, P, ""},
		{"If-Unmodified-Since ignored under a matching If-Match", schema.Conditions{IfMatch: `"abc"`, IfUnmodifiedSince: at(-time.Hour)}, cur, true, P, ""},

		{"If-Match fails before If-None-Match", schema.Conditions{IfMatch: `"x"`, IfNoneMatch: `"abc"`}, cur, true, F, "If-Match"},
		{"If-Match holds, If-None-Match matches", schema.Conditions{IfMatch: `"abc"`, IfNoneMatch: `"abc"`}, cur, true, N, "If-None-Match"},
		{"If-Unmodified-Since fails before If-Modified-Since", schema.Conditions{IfUnmodifiedSince: at(-time.Hour), IfModifiedSince: at(time.Hour)}, cur, true, F, "If-Unmodified-Since"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, header := tc.c.Evaluate(tc.t, tc.read)
			if got != tc.want || header != tc.header {
				t.Fatalf("Evaluate = %v %q, want %v %q", got, header, tc.want, tc.header)
			}
		})
	}
}

func TestConditions_Check(t *testing.T) {
	cur := &schema.Version{ETag: "abc", Time: time.Unix(1e9, 0)}
	if err := (schema.Conditions{IfMatch: `"abc"`}).Check(cur); err != nil {
		t.Fatalf("matching If-Match: %v", err)
	}
	for name, tc := range map[string]struct {
		c   schema.Conditions
		cur *schema.Version
	}{
		"If-Match, no object":     {schema.Conditions{IfMatch: "*"}, nil},
		"If-Match other":          {schema.Conditions{IfMatch: `"x"`}, cur},
		"If-None-Match star":      {schema.Conditions{IfNoneMatch: "*"}, cur},
		"If-Unmodified-Since old": {schema.Conditions{IfUnmodifiedSince: time.Unix(1e9-60, 0).UTC().Format(http.TimeFormat)}, cur},
	} {
		err := tc.c.Check(tc.cur)
		if !schema.IsKind(err, schema.KindPreconditionFailed) {
			t.Errorf("%s: Check = %v, want KindPreconditionFailed", name, err)
		}
	}
	if err := (schema.Conditions{IfNoneMatch: "*"}).Check(nil); err != nil {
		t.Fatalf("If-None-Match * on a new object: %v", err)
	}
}

func TestConditionsFrom(t *testing.T) {
	h := http.Header{}
	h.Set("x-amz-copy-source-if-match", `"a"`)
	h.Set("x-amz-copy-source-if-unmodified-since", "d")
	c := schema.ConditionsFrom(func(name string) string { return h.Get("x-amz-copy-source-" + name) })
	if c != (schema.Conditions{IfMatch: `"a"`, IfUnmodifiedSince: "d"}) {
		t.Fatalf("ConditionsFrom = %+v", c)
	}
	if !c.Any() || (schema.Conditions{}).Any() {
		t.Fatal("Any")
	}
}
