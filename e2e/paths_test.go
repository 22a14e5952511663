package e2e

// Object paths are opaque UTF-8 strings of up to 1024 bytes: whatever they
// hold, they are stored, listed and read back exactly and never touch the
// filesystem.

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// natOddPaths are paths that would hurt if they reached a filesystem,
// a NATS subject or a URL unescaped.
var natOddPaths = []string{
	"plain.txt",
	"a/b/c.txt",
	"with space.txt",
	" leading and trailing space ",
	"dots...",
	".",
	"..",
	"...",
	"../../etc/passwd",
	"../../../../../../tmp/cairn-escape",
	"./relative/./path",
	"/leading-slash",
	"//double//slash//",
	"trailing/",
	"*",
	">",
	"a.*.>",
	"subject.like.token",
	"ünïcödé/日本語/😀.txt",
	"Ωmega",
	"caf\u00e9",  // NFC
	"cafe\u0301", // NFD: another path
	"CAFÉ",
	"back\\slash\\..\\..\\win",
	"tab\tand\nnewline\r",
	"percent%2Fencoded%00",
	"?query=1&x=y#fragment",
	"+plus+",
	"quote\"'`",
	"semi;colon,comma",
	"NUL-like \\x00",
	"\u200bzero-width",
	"\U0010ffff",
	strings.Repeat("z", 1024),
	strings.Repeat("é", 512),         // 1024 bytes
	strings.Repeat("日", 341) + "a",   // 1024 bytes
	strings.Repeat("d/", 511) + "xx", // 1024 bytes, 511 levels
	strings.Repeat("../", 341) + "p", // 1024 bytes
}

func TestPaths_StoredExactly(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "restarts the server and reads its data directory")
	sid := e.WithService(t)
	k := e.NewKey(t, map[string]string{sid: "write"})
	escape, err := filepath.Abs("../../etc/passwd") // where that path would land from the test's directory
	if err != nil {
		t.Fatal(err)
	}
	_, escErr := os.Stat(escape)

	for _, p := range natOddPaths {
		if len(p) > 1024 {
			t.Fatalf("test path of %d bytes", len(p))
		}
		u := e.Upload(t, k.Value, sid, p, []byte("content:"+p), nil)
		if u.Path != p {
			t.Errorf("upload %q answered path %q", p, u.Path)
		}
	}
	for _, p := range natOddPaths {
		g := natGet(t, e, k.Value, sid, p)
		if g.Status != http.StatusOK || string(g.Body) != "content:"+p {
			t.Errorf("getfile %q: %d %q", p, g.Status, g.Body)
		}
		vs := natVersions(t, e, k.Value, sid, p)
		if len(vs) != 1 {
			t.Errorf("versionlist %q: %d versions", p, len(vs))
		}
		// the path as a prefix lists at least itself, first
		if l := natList(t, e, k.Value, sid, "prefix", p, "limit", "1"); len(l.Files) != 1 || l.Files[0].Path != p {
			t.Errorf("filelist prefix=%q: %+v", p, l.Files)
		}
	}

	want := append([]string(nil), natOddPaths...)
	sort.Strings(want)
	files, _, _ := natListAll(t, e, k.Value, sid, 7)
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	if natf("%q", got) != natf("%q", want) {
		t.Errorf("filelist paths:\n got %q\nwant %q", got, want)
	}
	// with the delimiter, the common prefixes are computed on the path text
	top := map[string]bool{}
	for _, p := range natOddPaths {
		if i := strings.Index(p, "/"); i >= 0 {
			top[p[:i+1]] = true
		} else {
			top[p] = true
		}
	}
	var wantTop []string
	for p := range top {
		wantTop = append(wantTop, p)
	}
	sort.Strings(wantTop)
	_, _, order := natListAll(t, e, k.Value, sid, 1000, "delimiter", "/")
	sort.Strings(order)
	if natf("%q", order) != natf("%q", wantTop) {
		t.Errorf("filelist delimiter=/:\n got %q\nwant %q", order, wantTop)
	}
	sync := natSync(t, e, k.Value, sid, "after", "0", "limit", "1000")
	var synced []string
	for _, u := range sync.Updates {
		synced = append(synced, u.Path)
	}
	if natf("%q", synced) != natf("%q", natOddPaths) {
		t.Errorf("syncnext paths:\n got %q\nwant %q", synced, natOddPaths)
	}

	// a path differing in one byte is another file
	natWantErr(t, "near miss", natGet(t, e, k.Value, sid, "../../etc/passw"), http.StatusNotFound, "not_found")
	natWantErr(t, "cleaned path is another file", natGet(t, e, k.Value, sid, "etc/passwd"), http.StatusNotFound, "not_found")
	natWantErr(t, "leading slash matters", natGet(t, e, k.Value, sid, "leading-slash"), http.StatusNotFound, "not_found")
	// 1025 bytes is one too many, however it is made up
	for _, p := range []string{strings.Repeat("z", 1025), strings.Repeat("é", 512) + "x", strings.Repeat("../", 341) + "ab"} {
		natWantErr(t, natf("%d-byte path", len(p)), natPut(t, e, k.Value, sid, p, []byte("x"), nil), http.StatusBadRequest, "invalid_argument")
	}

	// delete and read back the oddest ones
	for _, p := range []string{"..", "../../etc/passwd", "*", ">", "/leading-slash"} {
		r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.Value, Query: Q("sid", sid, "path", p)})
		natWant(t, "deletefile "+p, r, http.StatusOK)
		natWantErr(t, "deleted "+p, natGet(t, e, k.Value, sid, p), http.StatusNotFound, "not_found")
	}
	if s := natServices(t, e, k.Value)[sid]; s.Files != int64(len(natOddPaths)-5) {
		t.Errorf("files after deletes: %d, want %d", s.Files, len(natOddPaths)-5)
	}

	// Nothing outside the data directory, and no file named after a path.
	e.Restart(t) // closed and reopened: every file the server keeps exists now
	natWant(t, "after restart", natGet(t, e, k.Value, sid, "ünïcödé/日本語/😀.txt"), http.StatusOK)
	allowed := map[string]bool{"LOCK": true, "jetstream": true, "blobs": true, "projections.db": true,
		"secret.key": true, "admin.json": true, "checkpoint.key": true}
	entries, err := os.ReadDir(e.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if !allowed[en.Name()] {
			t.Errorf("unexpected entry %q at the top of the data directory", en.Name())
		}
	}
	parent, err := os.ReadDir(filepath.Dir(e.Dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range parent {
		if en.Name() != filepath.Base(e.Dir) {
			t.Errorf("unexpected entry %q beside the data directory", en.Name())
		}
	}
	markers := []string{"passwd", "cairn-escape", "leading-slash", "with space", "ünïcödé", "日本語", "😀", "Ωmega",
		"fragment", "zero-width", "subject.like", "relative", "zzzzzzzz"}
	err = filepath.WalkDir(e.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		for _, m := range markers {
			if strings.Contains(name, m) {
				t.Errorf("%s is named after an object path", p)
			}
		}
		if d.Type()&fs.ModeSymlink != 0 {
			t.Errorf("%s is a symlink", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/tmp/cairn-escape"); err == nil {
		t.Errorf("/tmp/cairn-escape exists")
	}
	if _, err := os.Stat(escape); err == nil && escErr != nil {
		t.Errorf("%s appeared during the test", escape)
	}
}
