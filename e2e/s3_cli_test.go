package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliTool returns Debian's /usr/bin/<name>, the client .ci/run installs
// (from package pkg), and never another one PATH may find first: a pyenv
// shim named aws may be a v1 CLI that rejects options this suite uses, and
// a swift on PATH may be Apple's compiler. Without it the test skips,
// naming what it found instead; in CI (CI set, as .ci/run sets it) it
// fails, since .ci/run promises the tool.
func cliTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p := "/usr/bin/" + name
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p
	}
	found := "and none on PATH"
	if other, err := exec.LookPath(name); err == nil {
		found = "found only " + other + " on PATH, which the test does not use"
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (.ci/run installs it from Debian's package %s); %s", p, pkg, found)
	}
	t.Skipf("%s is not installed (Debian package %s); %s", p, pkg, found)
	return ""
}

// cliRun runs a client with env added to a clean environment and fails
// the test with its output when it fails.
func cliRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cliTree writes a small directory tree (one file larger than the aws
// CLI's 8 MiB multipart threshold when big is set) and returns its root.
func cliTree(t *testing.T, big bool) string {
	t.Helper()
	files := map[string][]byte{"a.txt": []byte("alpha\n"), "sub/b.txt": []byte("bravo\n"), "sub/deep/c.bin": freshBytes(70 << 10),
		"with space.txt": []byte("space\n")}
	if big {
		files["big.bin"] = freshBytes(20 << 20)
	}
	return cliWriteTree(t, files)
}

// cliWriteTree writes files (by name relative to the root, with slashes)
// into a fresh directory and returns its root.
func cliWriteTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sameTree fails unless every file under want has the same bytes under got.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	err := filepath.WalkDir(want, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after the round trip (%v)", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestS3CLI_AWS(t *testing.T) {
	t.Parallel()
	awsBin := cliTool(t, "aws", "awscli")
	e := Start(t)
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	home := t.TempDir()
	env := []string{"HOME=" + home, "AWS_ACCESS_KEY_ID=" + e.AdminKeyID, "AWS_SECRET_ACCESS_KEY=" + e.AdminKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + filepath.Join(home, "none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none")}
	aws := func(args ...string) string {
		return cliRun(t, env, awsBin, append([]string{"--endpoint-url", e.URL, "--no-cli-pager"}, args...)...)
	}
	b := uniqueName(t, "aws-cli-", 63) // made by the CLI (s3 mb)
	aws("s3", "mb", "s3://"+b)
	src := cliTree(t, true)
	aws("s3", "cp", filepath.Join(src, "big.bin"), "s3://"+b+"/single/big.bin", "--only-show-errors") // multipart (20 MiB)
	aws("s3", "cp", filepath.Join(src, "a.txt"), "s3://"+b+"/single/a.txt", "--only-show-errors")
	down := t.TempDir()
	for _, name := range []string{"big.bin", "a.txt"} {
		aws("s3", "cp", "s3://"+b+"/single/"+name, filepath.Join(down, name), "--only-show-errors")
		if !bytes.Equal(mustRead(t, filepath.Join(src, name)), mustRead(t, filepath.Join(down, name))) {
			t.Fatalf("aws s3 cp: %s came back different", name)
		}
	}
	head := aws("s3api", "head-object", "--bucket", b, "--key", "single/big.bin")
	if !strings.Contains(head, `-3\"`) { // 8 MiB parts: 3 of them
		t.Errorf("head-object of a multipart upload: %s", head)
	}

	aws("s3", "sync", src, "s3://"+b+"/tree", "--only-show-errors")
	want := []string{"single/a.txt", "single/big.bin", "tree/a.txt", "tree/big.bin", "tree/sub/b.txt", "tree/sub/deep/c.bin", "tree/with space.txt"}
	if got := s3Keys(t, c, b); !slices.Equal(got, want) {
		t.Fatalf("after sync: %q, want %q", got, want)
	}
	ls := aws("s3", "ls", "--recursive", "s3://"+b+"/tree/")
	if !strings.Contains(ls, "tree/sub/deep/c.bin") || !strings.Contains(ls, "tree/with space.txt") {
		t.Fatalf("s3 ls: %s", ls)
	}
	// change one file, remove one, sync --delete, and download the tree
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha, changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "sub/b.txt")); err != nil {
		t.Fatal(err)
	}
	aws("s3", "sync", src, "s3://"+b+"/tree", "--delete", "--only-show-errors")
	if got := s3Keys(t, c, b); slices.Contains(got, "tree/sub/b.txt") {
		t.Fatalf("sync --delete left tree/sub/b.txt: %q", got)
	}
	back := t.TempDir()
	aws("s3", "sync", "s3://"+b+"/tree", back, "--only-show-errors")
	sameTree(t, src, back)

	// versions through s3api
	aws("s3api", "put-object", "--bucket", b, "--key", "v.txt", "--body", filepath.Join(src, "a.txt"))
	aws("s3", "rm", "s3://"+b+"/v.txt")
	var lv struct {
		Versions      []struct{ Key, VersionId string }
		DeleteMarkers []struct{ Key, VersionId string }
	}
	if err := json.Unmarshal([]byte(aws("s3api", "list-object-versions", "--bucket", b, "--prefix", "v.txt")), &lv); err != nil {
		t.Fatal(err)
	}
	if len(lv.Versions) != 1 || len(lv.DeleteMarkers) != 1 {
		t.Fatalf("list-object-versions: %+v", lv)
	}
	aws("s3api", "delete-object", "--bucket", b, "--key", "v.txt", "--version-id", lv.DeleteMarkers[0].VersionId)
	got := aws("s3api", "get-object", "--bucket", b, "--key", "v.txt", filepath.Join(down, "v.txt"))
	if !strings.Contains(got, lv.Versions[0].VersionId) || string(mustRead(t, filepath.Join(down, "v.txt"))) != "alpha, changed\n" {
		t.Fatalf("get-object after removing the delete marker: %s", got)
	}
	// two versions of one key: each readable by its id, the newer removed by its id
	old := filepath.Join(src, "sub/deep/c.bin")
	var put1, put2 struct{ VersionId string }
	if err := json.Unmarshal([]byte(aws("s3api", "put-object", "--bucket", b, "--key", "twice", "--body", old)), &put1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(aws("s3api", "put-object", "--bucket", b, "--key", "twice", "--body", filepath.Join(src, "a.txt"))), &put2); err != nil {
		t.Fatal(err)
	}
	if put1.VersionId == "" || put1.VersionId == put2.VersionId {
		t.Fatalf("put-object version ids %q, %q", put1.VersionId, put2.VersionId)
	}
	aws("s3api", "get-object", "--bucket", b, "--key", "twice", "--version-id", put1.VersionId, filepath.Join(down, "twice.1"))
	if !bytes.Equal(mustRead(t, old), mustRead(t, filepath.Join(down, "twice.1"))) {
		t.Fatal("get-object --version-id of the first version: other bytes")
	}
	var hv struct {
		VersionId     string
		ContentLength int64
	}
	if err := json.Unmarshal([]byte(aws("s3api", "head-object", "--bucket", b, "--key", "twice", "--version-id", put1.VersionId)), &hv); err != nil {
		t.Fatal(err)
	}
	if hv.VersionId != put1.VersionId || hv.ContentLength != 70<<10 {
		t.Fatalf("head-object --version-id: %+v", hv)
	}
	aws("s3api", "delete-object", "--bucket", b, "--key", "twice", "--version-id", put2.VersionId)
	aws("s3api", "get-object", "--bucket", b, "--key", "twice", filepath.Join(down, "twice.now"))
	if !bytes.Equal(mustRead(t, old), mustRead(t, filepath.Join(down, "twice.now"))) {
		t.Fatal("after deleting the newer version by id, get-object does not return the older one")
	}
	aws("s3api", "delete-object", "--bucket", b, "--key", "twice", "--version-id", put1.VersionId)

	aws("s3", "rm", "--recursive", "s3://"+b+"/tree", "--only-show-errors")
	if got := s3Keys(t, c, b); !slices.Equal(got, []string{"single/a.txt", "single/big.bin", "v.txt"}) {
		t.Fatalf("after rm --recursive: %q", got)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestS3CLI_Rclone(t *testing.T) {
	t.Parallel()
	rclone := cliTool(t, "rclone", "rclone")
	e := Start(t)
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	b := e.Bucket(t)
	home := t.TempDir()
	env := []string{"HOME=" + home, "RCLONE_CONFIG=" + filepath.Join(home, "rclone.conf"),
		"RCLONE_CONFIG_CAIRN_TYPE=s3", "RCLONE_CONFIG_CAIRN_PROVIDER=Other", "RCLONE_CONFIG_CAIRN_ENV_AUTH=false",
		"RCLONE_CONFIG_CAIRN_ACCESS_KEY_ID=" + e.AdminKeyID, "RCLONE_CONFIG_CAIRN_SECRET_ACCESS_KEY=" + e.AdminKey,
		"RCLONE_CONFIG_CAIRN_ENDPOINT=" + e.URL, "RCLONE_CONFIG_CAIRN_REGION=us-east-1", "RCLONE_CONFIG_CAIRN_FORCE_PATH_STYLE=true"}
	if err := os.WriteFile(filepath.Join(home, "rclone.conf"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rc := func(args ...string) string { return cliRun(t, env, rclone, args...) }
	src := cliTree(t, false)
	rc("copy", src, "cairn:"+b+"/copy")
	rc("check", src, "cairn:"+b+"/copy") // fails (non-zero) on any difference
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("changed by the test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "with space.txt")); err != nil {
		t.Fatal(err)
	}
	rc("sync", src, "cairn:"+b+"/copy")
	out := rc("check", src, "cairn:"+b+"/copy")
	if !strings.Contains(out, "0 differences found") {
		t.Fatalf("rclone check after sync: %s", out)
	}
	lsf := strings.Split(strings.TrimSpace(rc("lsf", "-R", "--files-only", "cairn:"+b+"/copy")), "\n")
	slices.Sort(lsf)
	if want := []string{"a.txt", "sub/b.txt", "sub/deep/c.bin"}; !slices.Equal(lsf, want) {
		t.Fatalf("rclone lsf = %q, want %q", lsf, want)
	}
	ls := rc("ls", "cairn:"+b+"/copy")
	if !strings.Contains(ls, strconv.Itoa(70<<10)+" sub/deep/c.bin") || strings.Contains(ls, "with space.txt") {
		t.Fatalf("rclone ls: %s", ls)
	}
	back := t.TempDir()
	rc("copy", "cairn:"+b+"/copy", back)
	sameTree(t, src, back)
	rc("delete", "cairn:"+b+"/copy")
	if got := s3Keys(t, c, b); len(got) != 0 {
		t.Fatalf("after rclone delete: %q", got)
	}
}

func TestS3CLI_S3cmd(t *testing.T) {
	t.Parallel()
	s3cmd := cliTool(t, "s3cmd", "s3cmd")
	e := Start(t)
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	host := strings.TrimPrefix(e.URL, "http://")
	home := t.TempDir()
	cfg := filepath.Join(home, ".s3cfg")
	conf := "[default]\naccess_key = " + e.AdminKeyID + "\nsecret_key = " + e.AdminKey + "\nhost_base = " + host +
		"\nhost_bucket = " + host + "\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	sc := func(args ...string) string {
		return cliRun(t, []string{"HOME=" + home}, s3cmd, append([]string{"-c", cfg, "--no-progress"}, args...)...)
	}
	b := uniqueName(t, "s3cmd-", 63) // made by the CLI (mb)
	sc("mb", "s3://"+b)
	src := cliTree(t, false)
	sc("put", filepath.Join(src, "a.txt"), "s3://"+b+"/one/a.txt")
	down := t.TempDir()
	sc("get", "s3://"+b+"/one/a.txt", filepath.Join(down, "a.txt"))
	if string(mustRead(t, filepath.Join(down, "a.txt"))) != "alpha\n" {
		t.Fatal("s3cmd get returned other bytes")
	}
	sc("sync", src+"/", "s3://"+b+"/tree/")
	if ls := sc("ls", "-r", "s3://"+b); !strings.Contains(ls, "s3://"+b+"/tree/sub/deep/c.bin") || !strings.Contains(ls, "s3://"+b+"/one/a.txt") {
		t.Fatalf("s3cmd ls -r: %s", ls)
	}
	sc("del", "s3://"+b+"/one/a.txt")
	want := []string{"tree/a.txt", "tree/sub/b.txt", "tree/sub/deep/c.bin", "tree/with space.txt"}
	if got := s3Keys(t, c, b); !slices.Equal(got, want) {
		t.Fatalf("after s3cmd sync and del: %q, want %q", got, want)
	}
	back := t.TempDir()
	sc("sync", "s3://"+b+"/tree/", back+"/")
	sameTree(t, src, back)
}
