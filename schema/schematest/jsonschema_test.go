package schematest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps its failures instead of failing.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(r) // stop the check, as t.Fatalf would
}

// check runs CheckStruct of typ against the schema doc (its $defs.T).
func check(t *testing.T, doc string, typ reflect.Type) []string {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		CheckStruct(r, root, map[string]any{"$ref": "#/$defs/T"}, typ, "T")
	}()
	return r.failures
}

type inner struct {
	N int `json:"n"`
}

type sample struct {
	Name   string            `json:"name"`
	When   time.Time         `json:"when"`
	Tags   []string          `json:"tags,omitempty"`
	Meta   map[string]string `json:"meta,omitempty"`
	Ref    *inner            `json:"ref,omitempty"`
	Raw    json.RawMessage   `json:"raw"`
	hidden int
	Skip   int `json:"-"`
}

const good = `{"$defs": {
	"T": {"type": "object", "additionalProperties": false, "required": ["name", "when", "raw"],
		"properties": {
			"name": {"type": "string"}, "when": {"type": "string", "format": "date-time"},
			"tags": {"type": "array"}, "meta": {"type": "object"},
			"ref": {"oneOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}]},
			"raw": {}}},
	"Inner": {"type": "object", "additionalProperties": false, "required": ["n"], "properties": {"n": {"type": "integer"}}}}}`

func TestCheckStruct(t *testing.T) {
	if got := check(t, good, reflect.TypeFor[sample]()); len(got) != 0 {
		t.Fatalf("a schema that matches: %q", got)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"open object", `"additionalProperties": false, "required": ["name"`, `"required": ["name"`, "additionalProperties must be false"},
		{"missing property", `"name": {"type": "string"}, `, ``, "schema properties"},
		{"extra required", `"required": ["name", "when", "raw"]`, `"required": ["name", "when", "raw", "tags"]`, "required"},
		{"optional required", `"required": ["name", "when", "raw"]`, `"required": ["name", "raw"]`, "always writes"},
		{"wrong type", `"name": {"type": "string"}`, `"name": {"type": "integer"}`, "T.name: Go string encodes as string"},
		{"nested", `"properties": {"n": {"type": "integer"}}`, `"properties": {"n": {"type": "string"}}`, "T.ref.n"},
		{"enum", `"name": {"type": "string"}`, `"name": {"enum": ["a", "b"]}`, ""},
		{"bad ref", `{"$ref": "#/$defs/Inner"}`, `{"$ref": "#/$defs/Missing"}`, "does not resolve"},
	} {
		doc := strings.Replace(good, tc.from, tc.to, 1)
		if doc == good {
			t.Fatalf("%s: the edit changed nothing", tc.name)
		}
		got := check(t, doc, reflect.TypeFor[sample]())
		if tc.want == "" {
			if len(got) != 0 {
				t.Errorf("%s: %q, want no failure", tc.name, got)
			}
			continue
		}
		if !strings.Contains(strings.Join(got, "\n"), tc.want) {
			t.Errorf("%s: failures %q, want one saying %q", tc.name, got, tc.want)
		}
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("Now = %v, want %v", c.Now(), t0)
	}
	c.Advance(90 * time.Second)
	if want := t0.Add(90 * time.Second); !c.Now().Equal(want) {
		t.Fatalf("after Advance: %v, want %v", c.Now(), want)
	}
}
