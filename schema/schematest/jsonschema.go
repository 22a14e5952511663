package schematest

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Resolve follows local $refs ("#/a/b", with ~1 and ~0 escapes) from node
// to the object schema they end at; root is the whole document.
func Resolve(t testing.TB, root map[string]any, node any) map[string]any {
	t.Helper()
	n, ok := node.(map[string]any)
	if !ok {
		t.Fatalf("schema node %v is not an object", node)
	}
	for {
		ref, ok := n["$ref"].(string)
		if !ok {
			return n
		}
		var cur any = root
		for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
			m, ok := cur.(map[string]any)
			if !ok || m[tok] == nil {
				t.Fatalf("$ref %s does not resolve", ref)
			}
			cur = m[tok]
		}
		if n, ok = cur.(map[string]any); !ok {
			t.Fatalf("$ref %s is not an object", ref)
		}
	}
}

// JSONName returns a struct field's JSON name ("" when encoding/json does
// not write it) and whether it has omitempty.
func JSONName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	if tag == "-" || !f.IsExported() {
		return "", false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(","+opts+",", ",omitempty,")
}

// CheckStruct fails t unless the object schema node describes the JSON
// encoding of struct type typ: additionalProperties is false, the
// properties are the struct's JSON names, the required ones are exactly
// the fields always written (no omitempty), every field's JSON type is one
// the schema allows, and nested structs match in turn. A node that is a
// oneOf/anyOf/allOf (such as [ObjectRef, null]) is checked through its
// branch that has properties. where names the node in failures.
func CheckStruct(t testing.TB, root map[string]any, node any, typ reflect.Type, where string) {
	t.Helper()
	n := objectNode(t, root, node)
	if ap, ok := n["additionalProperties"]; !ok || ap != false {
		t.Errorf("%s: additionalProperties must be false", where)
	}
	props, _ := n["properties"].(map[string]any)
	fields := map[string]reflect.StructField{}
	var always []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, omit := JSONName(f)
		if name == "" {
			continue
		}
		fields[name] = f
		if !omit {
			always = append(always, name)
		}
	}
	if got, want := slices.Sorted(maps.Keys(props)), slices.Sorted(maps.Keys(fields)); !slices.Equal(got, want) {
		t.Errorf("%s: schema properties %v, Go %s has JSON fields %v", where, got, typ, want)
	}
	var req []string
	for _, r := range asSlice(n["required"]) {
		s, ok := r.(string)
		if !ok {
			t.Fatalf("%s: required holds %v, not a name", where, r)
		}
		if _, ok := fields[s]; !ok {
			t.Errorf("%s: required %q is not a field of %s", where, s, typ)
		}
		req = append(req, s)
	}
	slices.Sort(req)
	slices.Sort(always)
	if !slices.Equal(req, always) {
		t.Errorf("%s: required %v, want the fields %s always writes (no omitempty) %v", where, req, typ, always)
	}
	for name, f := range fields {
		p, ok := props[name]
		if !ok {
			continue
		}
		gts, elem := goTypes(f.Type)
		sts := schemaTypes(t, root, p)
		_, omit := JSONName(f)
		for _, gt := range gts {
			if gt == "null" && omit {
				continue // a nil pointer with omitempty is never written
			}
			if !sts[gt] {
				t.Errorf("%s.%s: Go %s encodes as %s, the schema allows %v", where, name, f.Type, gt, slices.Sorted(maps.Keys(sts)))
			}
		}
		if elem != nil {
			CheckStruct(t, root, p, elem, where+"."+name)
		}
	}
}

// objectNode returns the object schema in node: node itself, or the branch
// of a oneOf/anyOf/allOf that has properties.
func objectNode(t testing.TB, root map[string]any, node any) map[string]any {
	t.Helper()
	n := Resolve(t, root, node)
	if _, ok := n["properties"]; ok {
		return n
	}
	for _, kw := range []string{"oneOf", "anyOf", "allOf"} {
		for _, sub := range asSlice(n[kw]) {
			if s := Resolve(t, root, sub); s["properties"] != nil {
				return s
			}
		}
	}
	return n
}

// schemaTypes returns the JSON types a schema node allows.
func schemaTypes(t testing.TB, root map[string]any, node any) map[string]bool {
	t.Helper()
	n := Resolve(t, root, node)
	out := map[string]bool{}
	switch typ := n["type"].(type) {
	case string:
		out[typ] = true
	case []any:
		for _, s := range typ {
			out[s.(string)] = true
		}
	}
	values := asSlice(n["enum"])
	if c, ok := n["const"]; ok {
		values = append(values, c)
	}
	for _, v := range values {
		switch v.(type) {
		case string:
			out["string"] = true
		case nil:
			out["null"] = true
		case bool:
			out["boolean"] = true
		}
	}
	for _, kw := range []string{"oneOf", "anyOf", "allOf"} {
		for _, sub := range asSlice(n[kw]) {
			maps.Copy(out, schemaTypes(t, root, sub))
		}
	}
	return out
}

// goTypes returns the JSON types encoding/json writes for t (null only for
// pointers, which the code leaves nil; nil maps and slices are never
// written where the schema says otherwise), and t itself when it is a
// struct whose fields are to be checked in turn.
func goTypes(t reflect.Type) (types []string, elem reflect.Type) {
	switch {
	case t == reflect.TypeFor[json.RawMessage]():
		return nil, nil // raw JSON: whatever it holds
	case t == reflect.TypeFor[time.Time]():
		return []string{"string"}, nil
	case t.Kind() == reflect.Pointer:
		ts, e := goTypes(t.Elem())
		return append(ts, "null"), e
	case t.Kind() == reflect.String:
		return []string{"string"}, nil
	case t.Kind() == reflect.Bool:
		return []string{"boolean"}, nil
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return []string{"integer"}, nil
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return []string{"number"}, nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return []string{"string"}, nil
	case t.Kind() == reflect.Slice:
		return []string{"array"}, nil
	case t.Kind() == reflect.Map:
		return []string{"object"}, nil
	case t.Kind() == reflect.Struct:
		return []string{"object"}, t
	}
	return nil, nil // interface: anything
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
