package schema_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Invariant 10 (two servers in one process) forbids package-level mutable
// state. TestNoPackageState reads every non-test Go file of the module and
// fails when:
//
//   - a package-level var is neither the blank identifier (compile-time
//     interface checks), nor an error sentinel (a name starting with err or
//     Err, set by an error constructor), nor listed in immutableGlobals
//     with the reason it is never written;
//   - a function assigns to a package-level var (of its own package or,
//     through a selector, of an imported one), increments it, or deletes
//     from or clears it;
//   - a function calls one of processWide, which change state every server
//     in the process shares.
//
// A cache, pool, counter, lazily built value or test hook belongs to a
// value each server owns (for example sigv4.Verifier), not to a package.

// immutableGlobals lists the package-level vars that are written once, at
// initialisation, and only read afterwards, by "dir.name" (dir relative to
// the module root). An entry whose var no longer exists fails the test, so
// the list stays exact.
var immutableGlobals = map[string]string{
	"blobstore/blobstoretest.InvalidDigests": "table of malformed digests the conformance suite feeds every backend",
	"cmd/bench.allOps":                       "list of the operation names, read by flag parsing",
	"events.zeroLink":                        "chain value before the first event (zero bytes), only hashed",
	"events.dataKey":                         "byte pattern searched for in stored events, never written",
	"events.sourceNameRe":                    "compiled regexp: immutable and safe for concurrent use",
	"handlers/native.adminFunctions":         "table of admin function names, read only",
	"handlers/native.statusOf":               "table from error kind to HTTP status, read only",
	"handlers/s3.statusOf":                   "table from error kind to HTTP status, read only",
	"handlers/s3.reasonOf":                   "table from error kind to S3 error code, read only",
	"handlers/s3.copyRange":                  "compiled regexp: immutable and safe for concurrent use",
	"handlers/s3.storedHeaders":              "list of the request headers stored with an object, read only",
	"handlers/s3.checksumHeaders":            "list of the x-amz-checksum-* headers, read only",
	"handlers/s3.responseOverrides":          "table of response-* query parameters to headers, read only",
	"handlers/s3/sigv4.checksums":            "table of checksum algorithms, read only",
	"handlers/s3/sigv4.castagnoli":           "CRC-32C table built at initialisation, read only",
	"handlers/s3/sigv4.crc64NVME":            "CRC-64/NVME table built at initialisation, read only",
	"handlers/s3/sigv4.statusOf":             "table from S3 error code to HTTP status, read only",
	"handlers/swift.policies":                "list of the storage policy names, read only",
	"handlers/swift.statusOf":                "table from error kind to HTTP status, read only",
	"handlers/swift.storedHeaders":           "list of the request headers stored with an object, read only",
	"handlers/swift.containerOnlyHeaders":    "list of the headers only a container takes, read only",
	"projections.blobKey":                    "byte pattern searched for in object.put payloads, never written",
	"projections.inlineKey":                  "byte pattern searched for in object.put payloads, never written",
	"projections.emptyValue":                 "bytes copied into a new payload, never written",
	"schema.EventsJSONSchema":                "embedded file (go:embed), documented read only",
	"schema.NativeOpenAPI":                   "embedded file (go:embed), documented read only",
	"schema.Kinds":                           "the closed list of error kinds, read only",
	"schema.EventTypes":                      "table of event types and payloads, read only",
	"schema.serviceIDRe":                     "compiled regexp: immutable and safe for concurrent use",
	"schema.ipLikeRe":                        "compiled regexp: immutable and safe for concurrent use",
	"schema.accountRe":                       "compiled regexp: immutable and safe for concurrent use",
	"schema.keyIDRe":                         "compiled regexp: immutable and safe for concurrent use",
	"schema.loginRe":                         "compiled regexp: immutable and safe for concurrent use",
}

// errorConstructors are the calls an error sentinel may be set with, by
// the name of the function (a package's own constructor counts when its
// name contains "err" or "Err").
var errorConstructors = map[string]bool{"errors.New": true, "fmt.Errorf": true, "schema.Errorf": true, "schema.Wrap": true}

// processWide are functions that change state shared by the whole process.
var processWide = map[string]bool{
	"slog.SetDefault": true, "log.SetOutput": true, "log.SetFlags": true, "log.SetPrefix": true,
	"http.Handle": true, "http.HandleFunc": true, "expvar.Publish": true, "rand.Seed": true,
	"os.Setenv": true, "os.Unsetenv": true, "os.Chdir": true,
	"prometheus.MustRegister": true, "prometheus.Register": true,
}

func TestNoPackageState(t *testing.T) {
	pkgs := parseModule(t, "..")
	if len(pkgs) < 10 {
		t.Fatalf("found %d packages under the module root, want the whole tree", len(pkgs))
	}
	for _, b := range findPackageState(pkgs, immutableGlobals) {
		t.Error(b)
	}
}

// The check finds each kind of package state in a small tree made for it
// (testdata/globals), and nothing else.
func TestNoPackageState_Finds(t *testing.T) {
	got := findPackageState(parseModule(t, filepath.Join("testdata", "globals")), map[string]string{
		"bad.table": "read only (but bad.go writes it)",
		"bad.gone":  "no longer declared",
	})
	want := []string{
		"bad/bad.go:12: package-level var bad.hits ",
		"bad/bad.go:13: package-level var bad.cache ",
		"bad/bad.go:14: package-level var bad.pool ",
		"bad/bad.go:15: package-level var bad.errLazy ",
		"bad/bad.go:18: changes hits:",
		"bad/bad.go:19: assigns to cache:",
		"bad/bad.go:20: delete on cache:",
		"bad/bad.go:21: assigns to table:",
		"bad/bad.go:22: assigns to http.DefaultClient:",
		"bad/bad.go:23: calls slog.SetDefault:",
		"bad/other.go:4: assigns to table:",
		"bad/other.go:5: clear on cache:",
		"immutableGlobals lists bad.gone,",
	}
	if len(got) != len(want) {
		t.Errorf("found %d faults, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range min(len(got), len(want)) {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("fault %d = %q, want it to start %q", i, got[i], want[i])
		}
	}
}

// findPackageState returns the faults TestNoPackageState reports, sorted,
// for the packages pkgs and the allow list allow.
func findPackageState(pkgs map[string][]goFile, allow map[string]string) []string {
	seen := map[string]bool{}
	var bad []string
	for dir, files := range pkgs {
		globals := globalVars{names: map[string]bool{}, specs: map[*ast.ValueSpec]bool{}}
		for _, f := range files {
			for _, spec := range topLevelVars(f.file) {
				globals.specs[spec] = true
				for i, name := range spec.Names {
					if name.Name == "_" {
						continue
					}
					globals.names[name.Name] = true
					id := dir + "." + name.Name
					if _, ok := allow[id]; ok {
						seen[id] = true
						continue
					}
					if isSentinel(name.Name, spec, i) {
						continue
					}
					bad = append(bad, f.pos(name)+": package-level var "+id+
						" is not an error sentinel nor listed in immutableGlobals: make it a field of a value each server owns")
				}
			}
		}
		for _, f := range files {
			bad = append(bad, writesToGlobals(f, globals)...)
		}
	}
	for id := range allow {
		if !seen[id] {
			bad = append(bad, "immutableGlobals lists "+id+", which no longer exists: remove the entry")
		}
	}
	sort.Strings(bad)
	return bad
}

// goFile is one parsed non-test file.
type goFile struct {
	fset *token.FileSet
	path string
	file *ast.File
}

func (f goFile) pos(n ast.Node) string {
	return f.path + ":" + strconv.Itoa(f.fset.Position(n.Pos()).Line)
}

// globalVars are a package's package-level vars: their names and specs.
type globalVars struct {
	names map[string]bool
	specs map[*ast.ValueSpec]bool
}

// parseModule parses every non-test Go file under root, by package
// directory relative to root ("." for the root itself).
func parseModule(t *testing.T, root string) map[string][]goFile {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string][]goFile{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		pkgs[dir] = append(pkgs[dir], goFile{fset: fset, path: filepath.ToSlash(rel), file: f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// topLevelVars returns the file's package-level var specs.
func topLevelVars(f *ast.File) []*ast.ValueSpec {
	var out []*ast.ValueSpec
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			out = append(out, s.(*ast.ValueSpec))
		}
	}
	return out
}

// isSentinel reports whether the i-th name of spec is an error sentinel:
// named err... or Err... and set by an error constructor.
func isSentinel(name string, spec *ast.ValueSpec, i int) bool {
	if !strings.HasPrefix(name, "err") && !strings.HasPrefix(name, "Err") {
		return false
	}
	if len(spec.Values) != len(spec.Names) {
		return false
	}
	call, ok := spec.Values[i].(*ast.CallExpr)
	if !ok {
		return false
	}
	fn := callName(call)
	if errorConstructors[fn] {
		return true
	}
	_, local := call.Fun.(*ast.Ident)
	return local && (strings.Contains(fn, "err") || strings.Contains(fn, "Err"))
}

// callName is "pkg.Func" or "Func" for a call of a named function, else "".
func callName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok {
			return x.Name + "." + fn.Sel.Name
		}
	}
	return ""
}

// writesToGlobals finds the statements of f that write a package-level
// var: one of globals (its package's), or an imported package's through a
// selector; and the calls of processWide functions.
func writesToGlobals(f goFile, globals globalVars) []string {
	imports := map[string]bool{}
	for _, im := range f.file.Imports {
		p := strings.Trim(im.Path.Value, `"`)
		name := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = true
	}
	// root returns the variable an assignable expression writes into, when
	// it is a package-level one: x, x[k], x.f, *x, (x) of a global x, or
	// pkg.X of an import.
	var root func(e ast.Expr) (string, bool)
	root = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.Ident:
			return e.Name, isGlobal(e, globals)
		case *ast.IndexExpr:
			return root(e.X)
		case *ast.StarExpr:
			return root(e.X)
		case *ast.ParenExpr:
			return root(e.X)
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok && x.Obj == nil && imports[x.Name] && !globals.names[x.Name] {
				return x.Name + "." + e.Sel.Name, true
			}
			return root(e.X)
		}
		return "", false
	}
	var bad []string
	report := func(n ast.Node, what string) {
		bad = append(bad, f.pos(n)+": "+what+": package-level state; make it a field of a value each server owns")
	}
	for _, d := range f.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					return true
				}
				for _, lhs := range n.Lhs {
					if name, ok := root(lhs); ok {
						report(n, "assigns to "+name)
					}
				}
			case *ast.IncDecStmt:
				if name, ok := root(n.X); ok {
					report(n, "changes "+name)
				}
			case *ast.CallExpr:
				fn := callName(n)
				if (fn == "delete" || fn == "clear") && len(n.Args) > 0 {
					if name, ok := root(n.Args[0]); ok {
						report(n, fn+" on "+name)
					}
				}
				if processWide[fn] {
					report(n, "calls "+fn)
				}
			}
			return true
		})
	}
	return bad
}

// isGlobal reports whether id names a package-level var of its package.
// The parser resolves an identifier declared in the same file (to the
// package-level spec, or to a local that shadows it) and leaves one
// declared in another file of the package unresolved.
func isGlobal(id *ast.Ident, g globalVars) bool {
	if !g.names[id.Name] {
		return false
	}
	if id.Obj == nil {
		return true
	}
	spec, ok := id.Obj.Decl.(*ast.ValueSpec)
	return ok && id.Obj.Kind == ast.Var && g.specs[spec]
}
