package schema_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/cairnhq/cairn/"

// layers is ARCHITECTURE.md's table of allowed imports, enforced: for each
// top-level package (and everything below it), the module's packages its
// non-test code may import, and the third-party modules it may use.
// Standard-library imports are always allowed. A new edge is a design
// change: make it in ARCHITECTURE.md first, with the reason, then here.
var layers = map[string]struct {
	internal   []string // top-level packages (this one's own subpackages are always allowed)
	thirdParty []string // module path prefixes
}{
	"schema":      {nil, []string{"github.com/go-playground/validator/v10", "github.com/oklog/ulid/v2"}},
	"blobstore":   {[]string{"schema"}, nil},
	"projections": {[]string{"schema"}, []string{"github.com/tidwall/buntdb"}},
	"events":      {[]string{"schema", "blobstore", "projections"}, []string{"github.com/nats-io/", "github.com/oklog/ulid/v2"}},
	"handlers":    {[]string{"schema", "events", "projections", "blobstore"}, nil},
	"cmd":         {[]string{"schema", "events", "projections", "blobstore", "handlers"}, []string{""}},
}

// TestLayers fails when a package imports across the boundaries
// ARCHITECTURE.md allows: the read side never imports the write side, the
// core never imports a dialect, nothing but the commands (and the black-box
// tests) imports cmd, and third-party modules stay where they were chosen.
func TestLayers(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "e2e") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		rule, ok := layers[top]
		if !ok {
			t.Errorf("%s: top-level package %q is not in the layer table (the top level is fixed)", rel, top)
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !allowed(top, p, rule.internal, rule.thirdParty) {
				t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow %s to import", rel, p, top)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: is the walk rooted at the module?", checked)
	}
}

func allowed(top, imp string, internal, thirdParty []string) bool {
	if rest, ok := strings.CutPrefix(imp, module); ok {
		target, _, _ := strings.Cut(rest, "/")
		if target == top {
			return true
		}
		for _, a := range internal {
			if target == a {
				return true
			}
		}
		return false
	}
	first, _, _ := strings.Cut(imp, "/")
	if !strings.Contains(first, ".") { // the standard library
		return true
	}
	for _, prefix := range thirdParty {
		if strings.HasPrefix(imp, prefix) {
			return true
		}
	}
	return false
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// TestLayers_Rules checks the checker: a forbidden edge is caught.
func TestLayers_Rules(t *testing.T) {
	for _, tc := range []struct {
		top, imp string
		want     bool
	}{
		{"projections", module + "events", false},
		{"events", module + "handlers/native", false},
		{"handlers", module + "cmd/server", false},
		{"schema", module + "blobstore", false},
		{"events", module + "projections", true},
		{"handlers", module + "handlers/httpx", true},
		{"projections", "github.com/nats-io/nats.go", false},
		{"events", "github.com/nats-io/nats.go/jetstream", true},
		{"schema", "net/http", true},
		{"cmd", "github.com/aws/aws-sdk-go-v2/aws", true},
	} {
		r := layers[tc.top]
		if got := allowed(tc.top, tc.imp, r.internal, r.thirdParty); got != tc.want {
			t.Errorf("allowed(%s imports %s) = %v, want %v", tc.top, tc.imp, got, tc.want)
		}
	}
}
