package e2e

// The OpenStack Swift command-line client (Debian's python3-swiftclient,
// /usr/bin/swift) against the Swift dialect, end to end: auth v1 (and v2/v3
// through python3-keystoneclient), upload, download, list, stat, post and
// delete. Every name starts with "swc" so it cannot collide with helpers of
// other e2e files.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// swcBin is Debian's swift client, the one .ci/run installs (cliTool).
const swcBin = "/usr/bin/swift"

func swcTool(t *testing.T) {
	t.Helper()
	cliTool(t, "swift", "python3-swiftclient")
}

// swcKeystone fails (in CI) or skips the test unless the swift client can
// do v2/v3 authentication, which it does through python3-keystoneclient.
func swcKeystone(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "-c", "import keystoneclient.v2_0.client, keystoneclient.v3.client").CombinedOutput()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-keystoneclient is not usable (.ci/run installs it): %v\n%s", err, out)
		}
		t.Skipf("python3-keystoneclient is not installed: the swift client cannot do v2/v3 auth")
	}
}

// swcCLI runs the swift client with fixed authentication options, in a
// clean environment (no proxy, no OS_* or ST_* variables) and its own home
// and working directory.
type swcCLI struct {
	t    *testing.T
	auth []string
	home string
}

func newSwcCLI(t *testing.T, auth ...string) *swcCLI {
	swcTool(t)
	return &swcCLI{t: t, auth: auth, home: t.TempDir()}
}

// run runs the client with stdin (nil: none) and returns its standard
// output and everything it wrote (both streams) for messages.
func (c *swcCLI) run(stdin []byte, args ...string) (stdout, all string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// --retries 0: a failed request fails the command instead of being retried
	cmd := exec.CommandContext(ctx, swcBin, append(append([]string{"--retries", "0"}, c.auth...), args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + c.home, "PYTHONWARNINGS=ignore"}
	cmd.Dir = c.home
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	both := &swcBoth{}
	cmd.Stdout = &swcTee{&out, both}
	cmd.Stderr = &swcTee{&errOut, both}
	err = cmd.Run()
	if err == nil && errOut.Len() > 0 {
		// the client reports some failures (a container it could not create)
		// as warnings and still exits 0
		err = fmt.Errorf("wrote to standard error")
	}
	return out.String(), both.buf.String(), err
}

// swcBoth collects both output streams in the order written (exec copies
// each stream in its own goroutine).
type swcBoth struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// swcTee writes one stream to its own buffer and to the shared one.
type swcTee struct {
	own  *bytes.Buffer
	both *swcBoth
}

func (w *swcTee) Write(p []byte) (int, error) {
	w.own.Write(p)
	w.both.mu.Lock()
	defer w.both.mu.Unlock()
	return w.both.buf.Write(p)
}

// must runs the client and fails the test with its output unless it
// succeeds quietly; it returns the standard output.
func (c *swcCLI) must(args ...string) string {
	c.t.Helper()
	return c.mustIn(nil, args...)
}

func (c *swcCLI) mustIn(stdin []byte, args ...string) string {
	c.t.Helper()
	out, all, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("swift %s: %v\n%s", strings.Join(args, " "), err, all)
	}
	return out
}

// fails runs the client and fails the test unless it fails with want in
// its output (ignoring case).
func (c *swcCLI) fails(want string, args ...string) {
	c.t.Helper()
	_, all, err := c.run(nil, args...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(strings.ToLower(all), strings.ToLower(want)) {
		c.t.Fatalf("swift %s: %v, want a failure saying %q:\n%s", strings.Join(args, " "), err, want, all)
	}
}

// lines is the command's output split into lines.
func (c *swcCLI) lines(args ...string) []string {
	c.t.Helper()
	out := strings.TrimRight(c.must(args...), "\n")
	if out == "" {
		return []string{}
	}
	return strings.Split(out, "\n")
}

// stat runs swift stat and returns its "Name: value" lines by name.
func (c *swcCLI) stat(args ...string) map[string]string {
	c.t.Helper()
	out := c.must(append([]string{"stat"}, args...)...)
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if len(m) == 0 {
		c.t.Fatalf("swift stat %s: no fields in %q", strings.Join(args, " "), out)
	}
	return m
}

// wantFields fails the test unless every field has the value ("*": any
// non-empty value, "-": absent).
func swcWantFields(t *testing.T, what string, got map[string]string, want map[string]string) {
	t.Helper()
	for k, w := range want {
		v, ok := got[k]
		switch {
		case w == "-" && ok:
			t.Errorf("%s: %s: %q, want none", what, k, v)
		case w == "*" && v == "":
			t.Errorf("%s: no %s in %v", what, k, got)
		case w != "-" && w != "*" && v != w:
			t.Errorf("%s: %s: %q, want %q (all: %v)", what, k, v, w, got)
		}
	}
}

// authEnv runs swift auth and returns the storage URL and token it printed.
func (c *swcCLI) authEnv() (storageURL, token string) {
	c.t.Helper()
	out := c.must("auth")
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, "'")
		switch k {
		case "OS_STORAGE_URL":
			storageURL = v
		case "OS_AUTH_TOKEN":
			token = v
		}
	}
	if storageURL == "" || token == "" {
		c.t.Fatalf("swift auth printed no storage URL or token:\n%s", out)
	}
	return storageURL, token
}

// swcTree writes a small directory tree whose names need quoting (a space,
// non-ASCII letters) and returns its root and files by relative name.
func swcTree(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	files := map[string][]byte{"a.txt": []byte("alpha\n"), "sub/b.txt": []byte("bravo\n"),
		"sub/deep/c.bin": freshBytes(70 << 10), "with space.txt": []byte("space\n"), "sub/ünï.txt": []byte("unicode\n")}
	return cliWriteTree(t, files), files
}

func TestSwiftCLI_V1(t *testing.T) {
	t.Parallel()
	swcTool(t)
	e := Start(t)
	acct := uniqueName(t, "cli-acct", 64)
	k := e.AccountNamed(t, acct, "")
	sw := newSwcCLI(t, "-A", e.URL+"/auth/v1.0", "-U", k.ID, "-K", k.Value)

	// the storage URL is this server's (127.0.0.1): the client talks to nothing else
	storage, token := sw.authEnv()
	if want := e.URL + "/v1/" + acct; storage != want || !strings.HasPrefix(e.URL, "http://127.0.0.1:") {
		t.Fatalf("swift auth: storage URL %q, want %q", storage, want)
	}
	// the tempauth user form <account>:<key id> is the same user: same token
	tsw := newSwcCLI(t, "-A", e.URL+"/auth/v1.0", "-U", acct+":"+k.ID, "-K", k.Value)
	if s2, t2 := tsw.authEnv(); s2 != storage || t2 != token {
		t.Errorf("swift auth as %s:<key id>: %q %q, want %q %q", acct, s2, t2, storage, token)
	}
	swcWantFields(t, "stat of the new account", sw.stat(), map[string]string{
		"Account": acct, "Containers": "0", "Objects": "0", "Bytes": "0"})

	// upload: one file under another name, a tree under a prefix, stdin
	const c = "files"
	single := filepath.Join(t.TempDir(), "hello.txt")
	hello := []byte("hello, swift\n")
	if err := os.WriteFile(single, hello, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := sw.must("upload", "--object-name", "single/hello.txt", c, single); !strings.Contains(out, "single/hello.txt") {
		t.Errorf("swift upload of one file printed %q", out)
	}
	uploaded := time.Now().UTC()
	src, files := swcTree(t)
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(src, "a.txt"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	sw.must("upload", "--object-name", "tree", c, src)
	piped := freshBytes(5000)
	// from stdin the client uses static large objects: it makes the container
	// <c>_segments, but data smaller than a segment goes up as one plain PUT
	// (with an ETag request header)
	sw.mustIn(piped, "upload", "--object-name", "piped.dat", c, "-")

	names := []string{"piped.dat", "single/hello.txt"}
	total := int64(len(hello) + len(piped))
	for name, b := range files {
		names = append(names, "tree/"+name)
		total += int64(len(b))
	}
	slices.Sort(names) // Swift lists in byte order
	if got := sw.lines("list", c); !slices.Equal(got, names) {
		t.Fatalf("swift list %s: %q, want %q", c, got, names)
	}
	if got, want := sw.lines("list"), []string{c, c + "_segments"}; !slices.Equal(got, want) {
		t.Errorf("swift list (account): %q, want %q", got, want)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--prefix", "tree/sub/"}, []string{"tree/sub/b.txt", "tree/sub/deep/c.bin", "tree/sub/ünï.txt"}},
		{[]string{"--prefix", "tree/", "--delimiter", "/"}, []string{"tree/a.txt", "tree/sub/", "tree/with space.txt"}},
		{[]string{"--delimiter", "/"}, []string{"piped.dat", "single/", "tree/"}},
		{[]string{"--prefix", "tree/sub/deep/", "--delimiter", "/"}, []string{"tree/sub/deep/c.bin"}},
		{[]string{"--prefix", "nothing/"}, []string{}},
	} {
		if got := sw.lines(append([]string{"list", c}, tc.args...)...); !slices.Equal(got, tc.want) {
			t.Errorf("swift list %s %q: %q, want %q", c, tc.args, got, tc.want)
		}
	}
	// the long listing splits last_modified at the T and shows size and
	// type, then the total
	long := sw.lines("list", "--long", c, "--prefix", "tree/sub/deep/")
	if len(long) != 2 || !strings.Contains(long[0], strconv.Itoa(70<<10)) || !strings.Contains(long[0], "application/octet-stream") ||
		!strings.HasSuffix(long[0], " tree/sub/deep/c.bin") ||
		!(strings.Contains(long[0], " "+uploaded.Format("2006-01-02")+" ") || strings.Contains(long[0], " "+time.Now().UTC().Format("2006-01-02")+" ")) ||
		strings.TrimSpace(long[1]) != strconv.Itoa(70<<10) {
		t.Errorf("swift list --long: %q", long)
	}
	// --json prints the listing's own entries
	var listed []swObjectEntry
	if err := json.Unmarshal([]byte(sw.must("list", "--json", c, "--prefix", "tree/")), &listed); err != nil {
		t.Fatalf("swift list --json: %v", err)
	}
	if len(listed) != len(files) {
		t.Errorf("swift list --json --prefix tree/: %d entries, want %d: %+v", len(listed), len(files), listed)
	}
	for _, o := range listed {
		b, ok := files[strings.TrimPrefix(o.Name, "tree/")]
		lm, err := time.Parse("2006-01-02T15:04:05.999999", o.LastModified)
		if !ok || o.Hash != md5hex(b) || o.Bytes != int64(len(b)) || o.ContentType == "" || o.Subdir != "" || err != nil ||
			lm.Before(uploaded.Add(-time.Minute)) || lm.After(time.Now().Add(time.Minute)) {
			t.Errorf("swift list --json entry %+v (%v)", o, err)
		}
	}

	// stat of account, container and object
	swcWantFields(t, "stat of the account", sw.stat(), map[string]string{
		"Account": acct, "Containers": "2", "Objects": strconv.Itoa(len(names)), "Bytes": strconv.FormatInt(total, 10)})
	swcWantFields(t, "stat of the container", sw.stat(c), map[string]string{
		"Account": acct, "Container": c, "Objects": strconv.Itoa(len(names)), "Bytes": strconv.FormatInt(total, 10),
		"X-Storage-Policy": "Policy-0", "X-Timestamp": "*"})
	swcWantFields(t, "stat of the empty segments container", sw.stat(c+"_segments"), map[string]string{
		"Container": c + "_segments", "Objects": "0", "Bytes": "0"})
	swcWantFields(t, "stat of an object", sw.stat(c, "tree/a.txt"), map[string]string{
		"Account": acct, "Container": c, "Object": "tree/a.txt", "Content Type": "text/plain; charset=utf-8",
		"Content Length": "6", "ETag": md5hex(files["a.txt"]), "Last Modified": "*", "X-Timestamp": "*",
		"Meta Mtime": fmt.Sprintf("%d.000000", mtime.Unix()), "Accept-Ranges": "bytes"})
	swcWantFields(t, "stat of the object from stdin", sw.stat(c, "piped.dat"), map[string]string{
		"Content Length": "5000", "ETag": md5hex(piped), "Content Type": "application/octet-stream"})
	swcWantFields(t, "stat of a name with a space", sw.stat(c, "tree/with space.txt"), map[string]string{
		"Object": "tree/with space.txt", "Content Length": "6", "ETag": md5hex(files["with space.txt"])})
	sw.fails("404 Not Found", "stat", c, "tree/missing.txt")
	// the client prints the X-Trans-Id of a failed request
	sw.fails("Failed Transaction ID: ", "stat", c, "tree/missing.txt")

	// download (the client checks each body against its ETag) and compare
	down := t.TempDir()
	for name, want := range map[string][]byte{"single/hello.txt": hello, "piped.dat": piped, "tree/sub/ünï.txt": files["sub/ünï.txt"]} {
		out := filepath.Join(down, strings.ReplaceAll(name, "/", "_"))
		sw.must("download", c, name, "-o", out)
		if got := mustRead(t, out); !bytes.Equal(got, want) {
			t.Errorf("swift download %s: %d bytes back, want %d", name, len(got), len(want))
		}
	}
	whole := t.TempDir()
	sw.must("download", c, "--prefix", "tree/", "--output-dir", whole)
	sameTree(t, src, filepath.Join(whole, "tree"))
	stripped := t.TempDir()
	sw.must("download", c, "--prefix", "tree/", "--remove-prefix", "--output-dir", stripped)
	sameTree(t, src, stripped)
	// the client sets the file's time from X-Object-Meta-Mtime
	if fi, err := os.Stat(filepath.Join(stripped, "a.txt")); err != nil {
		t.Error(err)
	} else if !fi.ModTime().Equal(mtime) {
		t.Errorf("downloaded a.txt: modified %v, want %v (X-Object-Meta-Mtime)", fi.ModTime(), mtime)
	}

	// post: object metadata (replaces all of it: Mtime goes), container and account metadata
	sw.must("post", "-m", "Color:blue", c, "tree/a.txt")
	swcWantFields(t, "stat after post -m Color:blue", sw.stat(c, "tree/a.txt"), map[string]string{
		"Meta Color": "blue", "Meta Mtime": "-", "Content Length": "6", "ETag": md5hex(files["a.txt"]),
		"Content Type": "text/plain; charset=utf-8"})
	sw.must("post", "-m", "Color:green", "-m", "Size:Large", c, "tree/a.txt")
	swcWantFields(t, "stat after a second post", sw.stat(c, "tree/a.txt"), map[string]string{
		"Meta Color": "green", "Meta Size": "Large"})
	sw.must("download", c, "tree/a.txt", "-o", filepath.Join(down, "a-after-post"))
	if got := mustRead(t, filepath.Join(down, "a-after-post")); !bytes.Equal(got, files["a.txt"]) {
		t.Errorf("after post the object reads %q", got)
	}
	sw.must("post", "-m", "Owner:team-a", c)
	swcWantFields(t, "stat of the container after post -m", sw.stat(c), map[string]string{
		"Meta Owner": "team-a", "Objects": strconv.Itoa(len(names))})
	// post to a missing container: the client's POST gets 404 and it PUTs the container
	sw.must("post", "-m", "Made:by-post", "made-by-post")
	swcWantFields(t, "stat of a container made by post", sw.stat("made-by-post"), map[string]string{
		"Container": "made-by-post", "Meta Made": "by-post", "Objects": "0"})
	sw.must("post", "-m", "Team:storage")
	swcWantFields(t, "stat of the account after post -m", sw.stat(), map[string]string{
		"Meta Team": "storage", "Containers": "3"})

	// delete one object, then whole containers
	if out := sw.must("delete", c, "tree/a.txt"); !strings.Contains(out, "tree/a.txt") {
		t.Errorf("swift delete of an object printed %q", out)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "tree/a.txt" })
	if got := sw.lines("list", c); !slices.Equal(got, names) {
		t.Fatalf("swift list after deleting tree/a.txt: %q, want %q", got, names)
	}
	sw.fails("404 Not Found", "stat", c, "tree/a.txt")
	sw.must("delete", c) // every object, then the container
	sw.fails("not found", "stat", c)
	if got, want := sw.lines("list"), []string{c + "_segments", "made-by-post"}; !slices.Equal(got, want) {
		t.Errorf("swift list after deleting %s: %q, want %q", c, got, want)
	}
	sw.must("delete", "--all")
	if got := sw.lines("list"); len(got) != 0 {
		t.Errorf("swift list after delete --all: %q", got)
	}
	swcWantFields(t, "stat of the emptied account", sw.stat(), map[string]string{
		"Account": acct, "Containers": "0", "Objects": "0", "Bytes": "0", "Meta Team": "storage"})
}

func TestSwiftCLI_Keystone(t *testing.T) {
	t.Parallel()
	swcTool(t)
	swcKeystone(t)
	e := Start(t)
	acct := uniqueName(t, "ks-acct", 64)
	k := e.AccountNamed(t, acct, "")
	v1 := newSwcCLI(t, "-A", e.URL+"/auth/v1.0", "-U", k.ID, "-K", k.Value)
	storage, token := v1.authEnv()

	for _, tc := range []struct {
		name string
		auth []string
	}{
		{"v2", []string{"--auth-version", "2.0", "--os-auth-url", e.URL + "/v2.0", "--os-username", k.ID,
			"--os-password", k.Value, "--os-tenant-name", acct}},
		{"v3", []string{"--auth-version", "3", "--os-auth-url", e.URL + "/v3", "--os-username", k.ID,
			"--os-user-domain-name", "Default", "--os-password", k.Value, "--os-project-name", acct,
			"--os-project-domain-name", "Default"}},
		{"v3 by ids", []string{"--auth-version", "3", "--os-auth-url", e.URL + "/v3", "--os-user-id", k.ID,
			"--os-password", k.Value, "--os-project-id", acct}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := newSwcCLI(t, tc.auth...)
			// the catalog's public object-store endpoint, and the key's one token
			if s, tok := sw.authEnv(); s != storage || tok != token {
				t.Fatalf("swift auth (%s): %q %q, auth v1 gave %q %q", tc.name, s, tok, storage, token)
			}
			c := strings.ReplaceAll("ks-"+tc.name, " ", "-")
			body := []byte("through " + tc.name + "\n")
			p := filepath.Join(t.TempDir(), "f.txt")
			if err := os.WriteFile(p, body, 0o644); err != nil {
				t.Fatal(err)
			}
			sw.must("upload", "--object-name", "dir/f.txt", c, p)
			if got := sw.lines("list", c); !slices.Equal(got, []string{"dir/f.txt"}) {
				t.Errorf("swift list %s: %q", c, got)
			}
			swcWantFields(t, "stat", sw.stat(c, "dir/f.txt"), map[string]string{
				"Account": acct, "Content Length": strconv.Itoa(len(body)), "ETag": md5hex(body)})
			out := filepath.Join(t.TempDir(), "back")
			sw.must("download", c, "dir/f.txt", "-o", out)
			if got := mustRead(t, out); !bytes.Equal(got, body) {
				t.Errorf("swift download: %q, want %q", got, body)
			}
			sw.must("delete", c)
			sw.fails("not found", "stat", c)
		})
	}
	// a wrong password fails every protocol
	for _, auth := range [][]string{
		{"-A", e.URL + "/auth/v1.0", "-U", k.ID, "-K", k.Value + "x"},
		{"--auth-version", "3", "--os-auth-url", e.URL + "/v3", "--os-user-id", k.ID, "--os-password", k.Value + "x",
			"--os-project-id", acct},
	} {
		newSwcCLI(t, auth...).fails("Unauthorized", "stat")
	}
}
