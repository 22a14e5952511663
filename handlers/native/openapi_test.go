package native

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// The OpenAPI document (schema.NativeOpenAPI) and the handler are kept in
// step by these tests: paths and methods, query parameters, error codes,
// response and request body shapes, and the real answers of a running
// handler validated against the document.

func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(schema.NativeOpenAPI, &doc); err != nil {
		t.Fatalf("native.openapi.json is not JSON: %v", err)
	}
	return doc
}

var httpMethods = []string{"get", "head", "put", "post", "delete", "patch", "options", "trace"}

// operations returns a path item's operations by upper-case method.
func operations(t *testing.T, doc map[string]any, fn string) map[string]map[string]any {
	t.Helper()
	item, ok := doc["paths"].(map[string]any)["/"+fn].(map[string]any)
	if !ok {
		return nil
	}
	ops := map[string]map[string]any{}
	for _, m := range httpMethods {
		if op, ok := item[m].(map[string]any); ok {
			ops[strings.ToUpper(m)] = op
		}
	}
	return ops
}

// The document is well formed: every $ref resolves, component names and
// status keys have the shapes OpenAPI 3.1 allows, operationIds are unique,
// and every component schema compiles as JSON Schema 2020-12.
func TestOpenAPI_WellFormed(t *testing.T) {
	doc := openAPIDoc(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if _, ok := lookup(doc, r); !ok {
					t.Errorf("%s: $ref %s does not resolve (only local refs are used)", path, r)
				}
			}
			for k, sub := range v {
				walk(path+"/"+k, sub)
			}
		case []any:
			for i, sub := range v {
				walk(path+"/"+strconv.Itoa(i), sub)
			}
		}
	}
	walk("", doc)
	components := doc["components"].(map[string]any)
	for kind, group := range components {
		for name := range group.(map[string]any) {
			if strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
				t.Errorf("components/%s/%s: the name must match ^[a-zA-Z0-9._-]+$", kind, name)
			}
		}
	}
	ids := map[string]string{}
	for p, item := range doc["paths"].(map[string]any) {
		for _, m := range httpMethods {
			op, ok := item.(map[string]any)[m].(map[string]any)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			if prev, dup := ids[id]; dup || id == "" {
				t.Errorf("%s %s: operationId %q is empty or also used by %s", m, p, id, prev)
			}
			ids[id] = m + " " + p
			for st, r := range op["responses"].(map[string]any) {
				if n, err := strconv.Atoi(st); err != nil || n < 100 || n > 599 {
					t.Errorf("%s %s: response key %q is not a status", m, p, st)
				}
				if ref(t, doc, r)["description"] == nil {
					t.Errorf("%s %s %s: a response needs a description", m, p, st)
				}
			}
		}
	}
	v := newDocValidator(t)
	for name := range components["schemas"].(map[string]any) {
		if _, err := v.compiler.Compile(docURL + "#/components/schemas/" + name); err != nil {
			t.Errorf("schema %s does not compile: %v", name, err)
		}
	}
}

// (a) The document's paths are the functions the handler serves, with the
// same methods.
func TestOpenAPI_PathsAndMethods(t *testing.T) {
	doc, h := openAPIDoc(t), New(Deps{})
	var paths []string
	for p := range doc["paths"].(map[string]any) {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var want []string
	for name := range h.funcs {
		want = append(want, "/"+name)
	}
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Errorf("document paths %v,\nhandler functions %v", paths, want)
	}
	for name, fn := range h.funcs {
		ops := operations(t, doc, name)
		if ops == nil {
			continue
		}
		got, wantM := slices.Sorted(maps.Keys(ops)), slices.Sorted(slices.Values(fn.methods))
		if !slices.Equal(got, wantM) {
			t.Errorf("%s: document methods %v, handler accepts %v", name, got, wantM)
		}
		for m, op := range ops {
			sec, has := op["security"]
			public := has && len(sec.([]any)) == 0
			if public != fn.public {
				t.Errorf("%s %s: public in the document = %v, in the handler = %v", m, name, public, fn.public)
			}
			if tags := op["tags"].([]any); fn.admin != slices.Contains(tags, any("admin")) {
				t.Errorf("%s %s: admin tag %v, admin function %v", m, name, tags, fn.admin)
			}
		}
	}
}

// lookup returns the node a local $ref ("#/components/...") points at.
func lookup(doc map[string]any, r string) (any, bool) {
	rest, ok := strings.CutPrefix(r, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, _ := cur.(map[string]any)
		if m[tok] == nil {
			return nil, false
		}
		cur = m[tok]
	}
	return cur, true
}

// ref follows $refs from node to an object.
func ref(t *testing.T, doc map[string]any, node any) map[string]any {
	t.Helper()
	for {
		n, ok := node.(map[string]any)
		if !ok {
			t.Fatalf("%v is not an object", node)
		}
		r, ok := n["$ref"].(string)
		if !ok {
			return n
		}
		if node, ok = lookup(doc, r); !ok {
			t.Fatalf("$ref %s does not resolve", r)
		}
	}
}

// opParams returns an operation's parameters "in" a place, by name.
func opParams(t *testing.T, doc, op map[string]any, in string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, p := range asSlice(op["parameters"]) {
		p := ref(t, doc, p)
		if p["in"] == in {
			out[p["name"].(string)] = p
		}
	}
	return out
}

// (b) Each operation's query parameters are the function's declared
// params (call.query refuses others; TestOpenAPI_Responses checks that
// every declared one is read).
func TestOpenAPI_QueryParameters(t *testing.T) {
	doc, h := openAPIDoc(t), New(Deps{})
	for name, fn := range h.funcs {
		if !fn.noSID && !fn.admin && !slices.Contains(fn.params, "sid") {
			t.Errorf("%s takes sid but does not declare it", name)
		}
		for m, op := range operations(t, doc, name) {
			q := opParams(t, doc, op, "query")
			got, want := slices.Sorted(maps.Keys(q)), slices.Sorted(slices.Values(fn.params))
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: document query parameters %v, the function declares %v", m, name, got, want)
			}
			for _, required := range []string{"sid", "path"} {
				// events takes path as a filter, and sid from every key
				// but the server admin key's.
				optional := name == "events" && required == "path" || fn.anySID && required == "sid"
				if p, ok := q[required]; ok && (p["required"] == true) == optional {
					t.Errorf("%s %s: %s must be required: %v", m, name, required, !optional)
				}
			}
		}
	}
}

func TestCallQuery_Undeclared(t *testing.T) {
	h := New(Deps{})
	r := httptest.NewRequest(http.MethodGet, "/filelist?sid=a&secret=1", nil)
	c := &call{r: r, fn: "filelist", params: h.funcs["filelist"].params, h: h}
	if got := c.query("sid"); got != "a" {
		t.Fatalf("query(sid) = %q", got)
	}
	if got := c.query("secret"); got != "" {
		t.Fatalf("an undeclared parameter must read as absent, got %q", got)
	}
}

// errorJSONCodes returns the wire codes the package writes with errorJSON,
// outside statusOf (read from the source, so a new one cannot be missed).
func errorJSONCodes(t *testing.T) []string {
	t.Helper()
	var codes []string
	for _, f := range packageFiles(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "errorJSON" && len(call.Args) >= 2 {
				lit, ok := call.Args[1].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("errorJSON called with a non-literal code at %v", call.Pos())
					return true
				}
				code, _ := strconv.Unquote(lit.Value)
				codes = append(codes, code)
			}
			return true
		})
	}
	return codes
}

// statusOfAll returns the wire code to status table of the dialect: statusOf
// and the codes written directly (invalid_range is 416).
func statusOfAll(t *testing.T) map[string]int {
	out := map[string]int{}
	for _, m := range statusOf {
		out[m.Code] = m.Status
	}
	for _, code := range errorJSONCodes(t) {
		if _, dup := out[code]; !dup {
			out[code] = directCodeStatus[code]
		}
	}
	return out
}

// directCodeStatus are the statuses of codes written with errorJSON.
var directCodeStatus = map[string]int{"invalid_range": http.StatusRequestedRangeNotSatisfiable}

// (c) The document's error codes are the dialect's, with the same statuses,
// and every error kind has a mapping.
func TestOpenAPI_ErrorCodes(t *testing.T) {
	for _, k := range schema.Kinds {
		if _, ok := statusOf[k]; !ok {
			t.Errorf("kind %v has no mapping in statusOf", k)
		}
	}
	for _, code := range errorJSONCodes(t) {
		if directCodeStatus[code] == 0 {
			t.Errorf("errorJSON writes code %q: add its status to directCodeStatus and the document", code)
		}
	}
	doc := openAPIDoc(t)
	ec := ref(t, doc, doc["components"].(map[string]any)["schemas"].(map[string]any)["ErrorCode"])
	want := statusOfAll(t)
	var enum []string
	for _, c := range ec["enum"].([]any) {
		enum = append(enum, c.(string))
	}
	if got, w := slices.Sorted(slices.Values(enum)), slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
		t.Errorf("ErrorCode enum %v,\nthe handler's codes %v", got, w)
	}
	xs := map[string]int{}
	for code, st := range ec["x-status"].(map[string]any) {
		xs[code] = int(st.(float64))
	}
	if !maps.Equal(xs, want) {
		t.Errorf("ErrorCode x-status %v,\nthe handler's table %v", xs, want)
	}
	// Every status an error is sent with is documented on some operation.
	documented := map[int]bool{}
	for _, item := range doc["paths"].(map[string]any) {
		for _, m := range httpMethods {
			if op, ok := item.(map[string]any)[m].(map[string]any); ok {
				for st := range op["responses"].(map[string]any) {
					n, _ := strconv.Atoi(st)
					documented[n] = true
				}
			}
		}
	}
	for code, st := range want {
		if !documented[st] {
			t.Errorf("code %s is sent with %d, which no operation documents", code, st)
		}
	}
}

// (d) Response component schemas have the JSON fields of the handler's
// response structs (and require exactly those always written).
func TestOpenAPI_ResponseSchemas(t *testing.T) {
	doc := openAPIDoc(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name, typ := range map[string]reflect.Type{
		"Service":        reflect.TypeFor[serviceJSON](),
		"File":           reflect.TypeFor[fileJSON](),
		"Version":        reflect.TypeFor[versionJSON](),
		"Update":         reflect.TypeFor[updateJSON](),
		"ObjectRef":      reflect.TypeFor[schema.ObjectRef](),
		"Request":        reflect.TypeFor[schema.Request](),
		"Key":            reflect.TypeFor[keyJSON](),
		"FeedCredential": reflect.TypeFor[feedCredJSON](),
		"Account":        reflect.TypeFor[accountJSON](),
		"AdminService":   reflect.TypeFor[adminService](),
		"BlobHealth":     reflect.TypeFor[schema.BlobHealth](),
		"DamagedBlob":    reflect.TypeFor[schema.DamagedBlob](),
		"Error":          reflect.TypeFor[errorBody](),
	} {
		node, ok := schemas[name]
		if !ok {
			t.Errorf("no component schema %s for %s", name, typ)
			continue
		}
		schematest.CheckStruct(t, doc, node, typ, name)
	}
}

// packageFiles parses the package's non-test Go files.
func packageFiles(t *testing.T) []*ast.File {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// bodyFields returns the JSON fields of the body a Handler method decodes
// with decodeBody, itself or through a package function it calls (byID),
// read from the source (bodies are often anonymous structs); ok is false
// when the method reads no JSON body.
func bodyFields(t *testing.T, files []*ast.File, method string) (fields []string, ok bool) {
	t.Helper()
	types := map[string]*ast.StructType{}
	helpers := map[string]*ast.FuncDecl{} // package functions by name
	var fn *ast.FuncDecl
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						if st, ok := ts.Type.(*ast.StructType); ok {
							types[ts.Name.Name] = st
						}
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil {
					helpers[d.Name.Name] = d
				} else if d.Name.Name == method {
					fn = d
				}
			}
		}
	}
	if fn == nil {
		t.Fatalf("no method %s", method)
	}
	vars := map[string]ast.Expr{} // local var name -> declared type
	var target ast.Expr
	var called []*ast.FuncDecl // the package functions fn calls
	find := func(body *ast.BlockStmt) {
		ast.Inspect(body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for _, id := range n.Names {
					vars[id.Name] = n.Type
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "decodeBody" && len(n.Args) == 2 {
					target = n.Args[1]
				} else if ok && helpers[id.Name] != nil {
					called = append(called, helpers[id.Name])
				}
			}
			return true
		})
	}
	find(fn.Body)
	for _, h := range called {
		if target == nil {
			find(h.Body)
		}
	}
	if target == nil {
		return nil, false
	}
	var st *ast.StructType
	switch x := target.(*ast.UnaryExpr).X.(type) {
	case *ast.Ident: // &b
		switch typ := vars[x.Name].(type) {
		case *ast.StructType:
			st = typ
		case *ast.Ident:
			st = types[typ.Name]
		}
	case *ast.CompositeLit: // &struct{}{}
		st, _ = x.Type.(*ast.StructType)
	}
	if st == nil {
		t.Fatalf("%s: cannot find the type of the decoded body", method)
	}
	return structFields(t, types, st), true
}

// structFields returns the JSON field names of st, those of its embedded
// structs included (encoding/json promotes them).
func structFields(t *testing.T, types map[string]*ast.StructType, st *ast.StructType) []string {
	t.Helper()
	fields := []string{}
	for _, f := range st.Fields.List {
		tag := ""
		if f.Tag != nil {
			raw, _ := strconv.Unquote(f.Tag.Value)
			tag, _, _ = strings.Cut(reflect.StructTag(raw).Get("json"), ",")
		}
		if len(f.Names) == 0 && tag == "" { // embedded
			id, ok := f.Type.(*ast.Ident)
			if !ok || types[id.Name] == nil {
				t.Fatalf("embedded field %v: not a struct of the package", f.Type)
			}
			fields = append(fields, structFields(t, types, types[id.Name])...)
			continue
		}
		for _, id := range f.Names {
			name := tag
			if name == "" {
				name = id.Name
			}
			fields = append(fields, name)
		}
	}
	return fields
}

// methodName returns the name of the Handler method a function serves with.
func methodName(fn function) string {
	full := runtime.FuncForPC(reflect.ValueOf(fn.serve).Pointer()).Name()
	return strings.TrimSuffix(full[strings.LastIndexByte(full, '.')+1:], "-fm")
}

// The admin functions' request body schemas have the fields their code
// decodes (decodeBody rejects unknown fields, so the sets must be equal).
func TestOpenAPI_RequestBodies(t *testing.T) {
	doc, h, files := openAPIDoc(t), New(Deps{}), packageFiles(t)
	for name, fn := range h.funcs {
		fields, reads := bodyFields(t, files, methodName(fn))
		for m, op := range operations(t, doc, name) {
			rb, has := op["requestBody"]
			if !fn.admin {
				continue // raw bodies (uploadfile) or none
			}
			if has != reads {
				t.Errorf("%s %s: documents a JSON body: %v, the code decodes one: %v", m, name, has, reads)
				continue
			}
			if !has {
				continue
			}
			sch := ref(t, doc, ref(t, doc, rb)["content"].(map[string]any)["application/json"].(map[string]any)["schema"])
			props, _ := sch["properties"].(map[string]any)
			got, want := slices.Sorted(maps.Keys(props)), slices.Sorted(slices.Values(fields))
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: body schema properties %v, the code decodes %v", m, name, got, want)
			}
			if sch["additionalProperties"] != false {
				t.Errorf("%s %s: body schema must set additionalProperties false (unknown fields are rejected)", m, name)
			}
			for _, r := range asSlice(sch["required"]) {
				if !slices.Contains(fields, r.(string)) {
					t.Errorf("%s %s: required %v is not a body field", m, name, r)
				}
			}
		}
	}
}

// --- a running handler, its answers validated against the document.

const (
	testAdminID    = "CKADMIN00000000000000"
	testAdminValue = "admin-value-for-tests-only-0123456789ab"
)

type testServer struct {
	h   *Handler
	srv *httptest.Server
	log *events.JetStream
}

func startHandler(t *testing.T) *testServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	log, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: dir, Name: "native-openapi-test"})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.OpenFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	state, err := projections.Open(":memory:", projections.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := events.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	core := events.NewCore(log, blobs, state, sealer, events.Options{})
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = state.Run(runCtx, log) }()
	if err := core.EnsureAccount(ctx, schema.DefaultAccount, "Default account"); err != nil {
		t.Fatal(err)
	}
	caches := events.NewCaches(core, events.CachesOptions{Dir: filepath.Join(dir, "caches")})
	h := New(Deps{Core: core, State: state, Auth: access.New(state, testAdminID, testAdminValue), Requests: log, Feed: log,
		Caches: caches, Blobs: events.NewScrubber(core, events.ScrubOptions{Interval: time.Hour})})
	srv := httptest.NewServer(httpx.Middleware(slog.New(slog.DiscardHandler), h))
	t.Cleanup(func() {
		srv.Close()
		_ = caches.Close()
		stop()
		wg.Wait()
		_ = state.Close()
		_ = log.Close()
	})
	return &testServer{h: h, srv: srv, log: log}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (s *testServer) do(t *testing.T, method, fn, key string, q url.Values, body io.Reader, hdr map[string]string) *answer {
	t.Helper()
	u := s.srv.URL + "/" + fn
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-owncdn-key", key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s /%s: %v", method, fn, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// docValidator validates answers against the document.
type docValidator struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

const docURL = "https://github.com/cairnhq/cairn/schema/native.openapi.json"

func newDocValidator(t *testing.T) *docValidator {
	t.Helper()
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.NativeOpenAPI))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(docURL, raw); err != nil {
		t.Fatal(err)
	}
	return &docValidator{doc: openAPIDoc(t), compiler: c, schemas: map[string]*jsonschema.Schema{}}
}

// check validates one answer of fn to method against the document: the
// status must be documented for the operation, the required headers be
// present, and a JSON body match the schema.
func (v *docValidator) check(t *testing.T, method, fn string, a *answer) {
	t.Helper()
	fn = strings.ToLower(fn)
	op := operations(t, v.doc, fn)[method]
	where := fmt.Sprintf("%s /%s %d", method, fn, a.status)
	if op == nil && a.status == http.StatusMethodNotAllowed {
		// a method the function does not accept: the document lists the
		// accepted ones; the answer is the usual error body.
		op = map[string]any{"responses": map[string]any{"405": map[string]any{"$ref": "#/components/responses/MethodNotAllowed"}}}
	}
	if op == nil {
		t.Errorf("%s: operation not documented", where)
		return
	}
	resp, ok := op["responses"].(map[string]any)[strconv.Itoa(a.status)]
	if !ok {
		t.Errorf("%s: status not documented (body %s)", where, a.body)
		return
	}
	r := ref(t, v.doc, resp)
	// the JSON pointer of the response object, for compiling its schema
	base := "/paths/" + esc("/"+fn) + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(a.status)
	if p, ok := mapOf(resp)["$ref"].(string); ok {
		base = strings.TrimPrefix(p, "#")
	}
	for name, h := range mapOf(r["headers"]) {
		if ref(t, v.doc, h)["required"] == true && a.header.Get(name) == "" {
			t.Errorf("%s: required header %s is missing", where, name)
		}
	}
	ct, _, _ := strings.Cut(a.header.Get("Content-Type"), ";")
	if method == http.MethodHead || len(a.body) == 0 {
		return
	}
	content := mapOf(r["content"])
	if _, ok := content[ct]; !ok && content["*/*"] == nil {
		t.Errorf("%s: content type %q not documented", where, ct)
		return
	}
	if ct != "application/json" {
		return
	}
	ptr := base + "/content/" + esc(ct) + "/schema"
	sch, ok := v.schemas[ptr]
	if !ok {
		var err error
		if sch, err = v.compiler.Compile(docURL + "#" + ptr); err != nil {
			t.Fatalf("compile %s: %v", ptr, err)
		}
		v.schemas[ptr] = sch
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(a.body))
	if err != nil {
		t.Errorf("%s: body is not JSON: %s", where, a.body)
		return
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s: body %s does not match the document: %v", where, a.body, err)
	}
}

// esc escapes a JSON pointer token.
func esc(tok string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(tok) }

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func TestOpenAPI_ServedWithoutKey(t *testing.T) {
	s := startHandler(t)
	a := s.do(t, http.MethodGet, "openapi.json", "", nil, nil, nil)
	if a.status != http.StatusOK || !bytes.Equal(a.body, schema.NativeOpenAPI) {
		t.Fatalf("GET /openapi.json: %d, %d bytes", a.status, len(a.body))
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(a.body, &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Errorf("not an OpenAPI 3.1 document: %v", err)
	}
	if a := s.do(t, http.MethodHead, "OpenAPI.json/", "", nil, nil, nil); a.status != http.StatusOK || len(a.body) != 0 {
		t.Errorf("HEAD: %d, %d bytes", a.status, len(a.body))
	}
	if a := s.do(t, http.MethodGet, "openapi.json", "wrong key", nil, nil, nil); a.status != http.StatusOK {
		t.Errorf("with an unknown key: %d, want 200 (the key is not looked at)", a.status)
	}
	if a := s.do(t, http.MethodPost, "openapi.json", "", nil, nil, nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", a.status)
	}
	// The other functions still need a key.
	if a := s.do(t, http.MethodGet, "servicelist", "", nil, nil, nil); a.status != http.StatusUnauthorized {
		t.Errorf("servicelist without a key: %d, want 401", a.status)
	}
}

// Every function is called (with every parameter it declares) and every
// answer must be documented and match its schema. Every event the calls
// appended must match the events JSON Schema.
func TestOpenAPI_Responses(t *testing.T) {
	s := startHandler(t)
	v := newDocValidator(t)
	var mu sync.Mutex
	read := map[string]map[string]bool{}
	s.h.queried = func(fn, param string) {
		mu.Lock()
		defer mu.Unlock()
		if read[fn] == nil {
			read[fn] = map[string]bool{}
		}
		read[fn][param] = true
	}
	called := map[string]bool{}
	// call sends a request, checks it against the document and its status.
	call := func(method, fn, key string, q url.Values, body any, hdr map[string]string, want int) *answer {
		t.Helper()
		var rd io.Reader
		switch b := body.(type) {
		case nil:
		case []byte:
			rd = bytes.NewReader(b)
		default:
			j, _ := json.Marshal(b)
			rd = bytes.NewReader(j)
		}
		a := s.do(t, method, fn, key, q, rd, hdr)
		if a.status != want {
			t.Errorf("%s /%s: status %d, want %d: %s", method, fn, a.status, want, a.body)
		}
		v.check(t, method, fn, a)
		called[strings.ToLower(fn)+" "+method] = true
		return a
	}
	Q := func(kv ...string) url.Values {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	admin := testAdminValue
	get, head, post := http.MethodGet, http.MethodHead, http.MethodPost

	// Admin functions.
	call(post, "servicecreate", admin, nil, map[string]any{"id": "photos", "name": "Photos"}, nil, http.StatusCreated)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "photos"}, nil, http.StatusConflict)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "Bad_Id"}, nil, http.StatusBadRequest)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "cachesvc", "type": "cache"}, nil, http.StatusBadRequest)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "other", "account": "nobody"}, nil, http.StatusNotFound)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "photos", "bogus": 1}, nil, http.StatusBadRequest)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "photos", "keep_versions": "720h", "quota_bytes": 1 << 20}, nil, http.StatusOK)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "photos", "type": "cache"}, nil, http.StatusBadRequest)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "nope"}, nil, http.StatusNotFound)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "empty"}, nil, http.StatusCreated)
	call(post, "servicedelete", admin, nil, map[string]any{"id": "empty"}, nil, http.StatusOK)
	call(post, "servicedelete", admin, nil, map[string]any{"id": "empty"}, nil, http.StatusNotFound)
	var ro, rw struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	a := call(post, "keycreate", admin, nil, map[string]any{"name": "reader", "access": map[string]string{"photos": "read"}}, nil, http.StatusCreated)
	_ = json.Unmarshal(a.body, &ro)
	a = call(post, "keycreate", admin, nil, map[string]any{"name": "writer", "access": map[string]string{"*": "write"}}, nil, http.StatusCreated)
	_ = json.Unmarshal(a.body, &rw)
	call(post, "keycreate", admin, nil, map[string]any{"name": "acl only", "login": "ci"}, nil, http.StatusCreated)
	call(post, "keycreate", admin, nil, map[string]any{"name": "same login", "login": "ci"}, nil, http.StatusConflict)
	call(post, "keycreate", admin, nil, map[string]any{"name": "bad login", "login": "a:b"}, nil, http.StatusBadRequest)
	call(post, "keylist", admin, nil, nil, nil, http.StatusOK)
	call(post, "keylist", admin, nil, map[string]any{}, nil, http.StatusOK)
	call(post, "accountcreate", admin, nil, map[string]any{"id": "acme", "name": "ACME"}, nil, http.StatusCreated)
	call(post, "accountcreate", admin, nil, map[string]any{"id": "acme"}, nil, http.StatusConflict)
	if r := call(post, "accountupdate", admin, nil, map[string]any{"id": "acme", "name": "Acme Inc", "quota_bytes": 1000}, nil, http.StatusOK); !strings.Contains(string(r.body), `"quota_bytes":1000`) || !strings.Contains(string(r.body), `"Acme Inc"`) {
		t.Errorf("accountupdate: %s", r.body)
	}
	call(post, "accountupdate", admin, nil, map[string]any{"id": "nobody", "quota_bytes": 1}, nil, http.StatusNotFound)
	call(post, "accountupdate", admin, nil, map[string]any{"id": "acme", "quota_bytes": -1}, nil, http.StatusBadRequest)
	call(post, "accountupdate", admin, nil, map[string]any{"id": "acme", "quota_bytes": 0}, nil, http.StatusOK)
	call(post, "accountlist", admin, nil, nil, nil, http.StatusOK)
	call(post, "accountdelete", admin, nil, map[string]any{"id": "acme"}, nil, http.StatusOK)
	call(post, "accountdelete", admin, nil, map[string]any{"id": schema.DefaultAccount}, nil, http.StatusConflict)
	call(post, "restore", admin, nil, map[string]any{"sid": "nope", "to": "sync:0"}, nil, http.StatusNotFound)
	call(post, "restore", admin, nil, map[string]any{"sid": "photos"}, nil, http.StatusBadRequest)
	call(post, "sourcecreate", admin, nil, map[string]any{"name": "eu", "url": "http://127.0.0.1:1", "key": "k"}, nil, http.StatusCreated)
	call(post, "sourcecreate", admin, nil, map[string]any{"name": "eu", "url": "http://127.0.0.1:1", "key": "k"}, nil, http.StatusConflict)
	call(post, "sourcecreate", admin, nil, map[string]any{"name": "bad", "url": "ftp://x", "key": "k"}, nil, http.StatusBadRequest)
	if r := call(post, "sourcelist", admin, nil, nil, nil, http.StatusOK); !strings.Contains(string(r.body), `"name":"eu"`) || strings.Contains(string(r.body), `"key"`) {
		t.Errorf("sourcelist: %s", r.body)
	}
	call(post, "servicecreate", admin, nil, map[string]any{"id": "eu-copy", "replica": map[string]string{"source": "eu", "sid": "photos"}}, nil, http.StatusCreated)
	call(post, "servicecreate", admin, nil, map[string]any{"id": "eu-bad", "replica": map[string]string{"source": "nope", "sid": "photos"}}, nil, http.StatusBadRequest)
	call(post, "sourcedelete", admin, nil, map[string]any{"name": "eu"}, nil, http.StatusConflict)
	if r := call(post, "blobhealth", admin, nil, nil, nil, http.StatusOK); !strings.Contains(string(r.body), `"enabled":true`) || !strings.Contains(string(r.body), `"blobs":[]`) {
		t.Errorf("blobhealth: %s", r.body)
	}
	call(post, "blobhealth", admin, nil, map[string]any{"bogus": 1}, nil, http.StatusBadRequest)
	call(post, "blobhealth", rw.Value, nil, nil, nil, http.StatusForbidden)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "eu-copy", "promote": true}, nil, http.StatusOK)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "eu-copy", "promote": true}, nil, http.StatusConflict)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "eu-copy", "follow": map[string]string{"source": "eu", "sid": "photos"}}, nil, http.StatusOK)
	call(post, "serviceupdate", admin, nil, map[string]any{"id": "eu-copy", "promote": true}, nil, http.StatusOK)
	call(post, "servicedelete", admin, nil, map[string]any{"id": "eu-copy"}, nil, http.StatusOK)
	call(post, "sourcedelete", admin, nil, map[string]any{"name": "eu"}, nil, http.StatusOK)
	call(post, "sourcedelete", admin, nil, map[string]any{"name": "eu"}, nil, http.StatusNotFound)
	call(post, "servicecreate", rw.Value, nil, map[string]any{"id": "mine"}, nil, http.StatusForbidden)
	call(get, "keylist", admin, nil, nil, nil, http.StatusMethodNotAllowed)

	// Files.
	sid := "photos"
	up := call(http.MethodPut, "uploadfile", rw.Value, Q("sid", sid, "path", "a/b.txt"), []byte("hello"),
		map[string]string{"Content-Type": "text/plain", "x-owncdn-meta-color": "blue", "x-owncdn-delete-after": "3600"}, http.StatusCreated)
	var u struct {
		Version string `json:"version"`
		ETag    string `json:"etag"`
	}
	_ = json.Unmarshal(up.body, &u)
	call(post, "uploadfile", rw.Value, Q("sid", sid, "path", "a/c.txt"), []byte("second"), nil, http.StatusCreated)
	call(http.MethodPut, "uploadfile", rw.Value, Q("sid", sid, "path", "big.bin"), bytes.Repeat([]byte("x"), 100<<10), nil, http.StatusCreated)
	call(http.MethodPut, "uploadfile", rw.Value, Q("sid", sid, "path", "a/b.txt"), []byte("again"), map[string]string{"If-None-Match": "*"}, http.StatusConflict)
	call(http.MethodPut, "uploadfile", rw.Value, Q("sid", sid, "path", "huge.bin"), bytes.Repeat([]byte("x"), 2<<20), nil, http.StatusRequestEntityTooLarge)
	call(http.MethodPut, "uploadfile", rw.Value, Q("sid", sid), []byte("x"), nil, http.StatusBadRequest)
	call(http.MethodPut, "uploadfile", ro.Value, Q("sid", sid, "path", "x"), []byte("x"), nil, http.StatusForbidden)
	call(http.MethodPut, "uploadfile", "", Q("sid", sid, "path", "x"), []byte("x"), nil, http.StatusUnauthorized)
	call(http.MethodPut, "uploadfile", rw.Value, Q("sid", "nope", "path", "x"), []byte("x"), nil, http.StatusNotFound)

	call(get, "servicelist", ro.Value, nil, nil, nil, http.StatusOK)
	call(head, "servicelist", ro.Value, nil, nil, nil, http.StatusOK)
	call(get, "filelist", ro.Value, Q("sid", sid, "prefix", "a/", "delimiter", "/", "limit", "1"), nil, nil, http.StatusOK)
	call(get, "filelist", ro.Value, Q("sid", sid, "after", "a/b.txt", "asof", "sync:2"), nil, nil, http.StatusOK)
	call(get, "filelist", ro.Value, Q("sid", sid, "asof", time.Now().UTC().Format(time.RFC3339)), nil, nil, http.StatusOK)
	call(get, "filelist", ro.Value, Q("sid", sid, "limit", "10001"), nil, nil, http.StatusBadRequest)
	call(get, "filelist", ro.Value, Q("sid", sid, "asof", "sync:999"), nil, nil, http.StatusBadRequest)
	call(head, "filelist", ro.Value, Q("sid", sid), nil, nil, http.StatusOK)
	call(get, "filelist", ro.Value, nil, nil, nil, http.StatusBadRequest)

	call(get, "getfile", ro.Value, Q("sid", sid, "path", "a/b.txt"), nil, nil, http.StatusOK)
	call(head, "getfile", ro.Value, Q("sid", sid, "path", "a/b.txt"), nil, nil, http.StatusOK)
	call(get, "getfile", ro.Value, Q("sid", sid, "path", "a/b.txt", "version", u.Version), nil, nil, http.StatusOK)
	call(get, "getfile", ro.Value, Q("sid", sid, "path", "a/b.txt", "asof", "sync:1"), nil, nil, http.StatusOK)
	call(get, "getfile", ro.Value, Q("sid", sid, "path", "big.bin"), nil, map[string]string{"Range": "bytes=0-9"}, http.StatusPartialContent)
	call(get, "getfile", ro.Value, Q("sid", sid, "path", "a/b.txt"), nil, map[string]string{"Range": "bytes=100-"}, http.StatusRequestedRangeNotSatisfiable)
	call(get, "getfile", ro.Value, Q("sid", sid, "path", "a/b.txt"), nil, map[string]string{"If-None-Match": `"` + u.ETag + `"`}, http.StatusNotModified)
	call(get, "getfile", ro.Value, Q("sid", sid, "path", "a/b.txt"), nil, map[string]string{"If-Match": `"nope"`}, http.StatusConflict)
	call(get, "getfile", ro.Value, Q("sid", sid, "path", "missing"), nil, nil, http.StatusNotFound)
	call(head, "getfile", ro.Value, Q("sid", sid, "path", "missing"), nil, nil, http.StatusNotFound)
	call(get, "getfile", ro.Value, Q("sid", sid, "path", "a/b.txt", "asof", "yesterday"), nil, nil, http.StatusBadRequest)

	call(get, "versionlist", ro.Value, Q("sid", sid, "path", "a/b.txt"), nil, nil, http.StatusOK)
	call(head, "versionlist", ro.Value, Q("sid", sid, "path", "a/b.txt"), nil, nil, http.StatusOK)
	call(get, "versionlist", ro.Value, Q("sid", sid, "path", "missing"), nil, nil, http.StatusNotFound)
	if r := call(post, "restore", admin, nil, map[string]any{"sid": sid, "to": "sync:1", "dry_run": true}, nil, http.StatusOK); !strings.Contains(string(r.body), `"dry_run":true`) {
		t.Errorf("restore dry run: %s", r.body)
	}
	call(post, "restore", admin, nil, map[string]any{"sid": sid, "to": "yesterday"}, nil, http.StatusBadRequest)
	call(get, "syncnext", ro.Value, Q("sid", sid, "after", "0", "limit", "10", "wait", "0"), nil, nil, http.StatusOK)
	call(head, "syncnext", ro.Value, Q("sid", sid), nil, nil, http.StatusOK)
	call(get, "syncnext", ro.Value, Q("sid", sid, "wait", "61"), nil, nil, http.StatusBadRequest)

	call(http.MethodDelete, "deletefile", rw.Value, Q("sid", sid, "path", "a/b.txt"), nil, map[string]string{"If-Match": `"nope"`}, http.StatusConflict)
	call(http.MethodDelete, "deletefile", rw.Value, Q("sid", sid, "path", "a/b.txt"), nil, nil, http.StatusOK)
	call(post, "deletefile", rw.Value, Q("sid", sid, "path", "a/c.txt"), nil, nil, http.StatusOK)
	call(http.MethodDelete, "deletefile", rw.Value, Q("sid", sid, "path", "a/c.txt"), nil, nil, http.StatusNotFound)
	call(get, "syncnext", ro.Value, Q("sid", sid, "after", "0"), nil, nil, http.StatusOK) // with tombstones
	call(get, "versionlist", ro.Value, Q("sid", sid, "path", "a/b.txt"), nil, nil, http.StatusOK)
	call(post, "flush", rw.Value, Q("sid", sid), nil, nil, http.StatusMethodNotAllowed)
	call(post, "flush", ro.Value, Q("sid", sid), nil, nil, http.StatusForbidden)
	call(get, "flush", rw.Value, Q("sid", sid), nil, nil, http.StatusMethodNotAllowed)
	cacheCalls(t, call, admin, rw.Value)
	call(get, "reqlist", ro.Value, Q("sid", sid, "limit", "5"), nil, nil, http.StatusOK)
	call(head, "reqlist", ro.Value, Q("sid", sid), nil, nil, http.StatusOK)
	call(get, "reqlist", ro.Value, Q("sid", sid, "limit", "0"), nil, nil, http.StatusBadRequest)
	call(get, "events", ro.Value, Q("sid", sid, "after", "0", "limit", "5", "wait", "0"), nil, nil, http.StatusOK)
	call(get, "events", ro.Value, Q("sid", sid, "since", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"type", schema.TypeObjectPut, "path", "a/b.txt"), nil, nil, http.StatusOK)
	call(get, "events", admin, Q("type", schema.TypeServiceCreated), nil, nil, http.StatusOK)
	call(get, "events", ro.Value, nil, nil, nil, http.StatusBadRequest)
	call(get, "events", ro.Value, Q("sid", sid, "type", schema.TypeKeyCreated), nil, nil, http.StatusBadRequest)
	call(get, "events", ro.Value, Q("sid", sid, "limit", "1001"), nil, nil, http.StatusBadRequest)
	call(get, "events", admin, Q("path", "a/b.txt"), nil, nil, http.StatusBadRequest)
	call(get, "events", ro.Value, Q("sid", "nope"), nil, nil, http.StatusForbidden)
	call(get, "events", "", Q("sid", sid), nil, nil, http.StatusUnauthorized)
	call(head, "events", ro.Value, Q("sid", sid), nil, nil, http.StatusMethodNotAllowed)
	v.check(t, get, "events", firstStreamed(t, s, ro.Value, Q("sid", sid, "limit", "2"), nil))
	call(post, "servicedelete", admin, nil, map[string]any{"id": sid}, nil, http.StatusConflict)
	call(post, "keyrevoke", admin, nil, map[string]any{"id": ro.ID}, nil, http.StatusOK)
	call(post, "keyrevoke", admin, nil, map[string]any{"id": ro.ID}, nil, http.StatusNotFound)
	var fc struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	a = call(post, "feedcredcreate", admin, nil, map[string]any{"name": "indexer"}, nil, http.StatusCreated)
	if _ = json.Unmarshal(a.body, &fc); fc.User == "" || fc.Password == "" {
		t.Errorf("feedcredcreate: %s", a.body)
	}
	call(post, "feedcredcreate", rw.Value, nil, map[string]any{"name": "not an admin"}, nil, http.StatusForbidden)
	call(post, "feedcredcreate", admin, nil, map[string]any{"account": "nobody"}, nil, http.StatusNotFound)
	if a = call(post, "feedcredlist", admin, nil, map[string]any{"account": schema.DefaultAccount}, nil, http.StatusOK); fc.Password == "" || strings.Contains(string(a.body), fc.Password) {
		t.Errorf("feedcredlist shows the password: %s", a.body)
	}
	call(post, "feedcredlist", rw.Value, nil, nil, nil, http.StatusForbidden)
	call(post, "feedcredrevoke", admin, nil, map[string]any{"user": fc.User}, nil, http.StatusOK)
	call(post, "feedcredrevoke", admin, nil, map[string]any{"user": fc.User}, nil, http.StatusNotFound)
	call(post, "feedcredrevoke", admin, nil, map[string]any{}, nil, http.StatusBadRequest)
	call(get, "servicelist", ro.Value, nil, nil, nil, http.StatusUnauthorized)
	call(get, "openapi.json", "", nil, nil, nil, http.StatusOK)
	call(head, "openapi.json", "", nil, nil, nil, http.StatusOK)

	// Every operation of the document was exercised, and every declared
	// parameter was read by its function.
	for name, fn := range s.h.funcs {
		for _, m := range fn.methods {
			if !called[name+" "+m] {
				t.Errorf("%s %s was not exercised", m, name)
			}
		}
		for _, p := range fn.params {
			if !read[name][p] {
				t.Errorf("%s declares parameter %s but never read it", name, p)
			}
		}
		for p := range read[name] {
			if !slices.Contains(fn.params, p) {
				t.Errorf("%s reads parameter %s without declaring it", name, p)
			}
		}
	}

	// Every event those calls appended matches the events JSON Schema.
	checkEvents(t, s.log)
}

func checkEvents(t *testing.T, log *events.JetStream) {
	t.Helper()
	ctx := context.Background()
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.EventsJSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.AssertContent()
	if err := c.AddResource("events.schema.json", raw); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("events.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	last, err := log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for seq := uint64(1); seq <= last; seq++ {
		ev, err := log.Get(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		types[ev.Type]++
		b, _ := json.Marshal(ev)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err := sch.Validate(inst); err != nil {
			t.Errorf("event %d (%s) does not match events.schema.json: %v\n%s", seq, ev.Type, err, b)
		}
	}
	if len(types) < 8 {
		t.Errorf("only %v event types were checked", types)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
