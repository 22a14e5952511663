package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnhq/cairn/cmd/server"
)

// fullDiskReserve is the disk_reserve of the full-disk tests: the smallest
// allowed, so a small tmpfs fills quickly. Its quarter (4 MiB) is the floor
// below which every write is refused.
const fullDiskReserve = 16 << 20

// tmpfsDir mounts a tmpfs of size bytes on a fresh directory and returns
// it (unmounted when the test ends). It skips the test, saying why, when it
// cannot: mounting needs root, which .ci/run has.
func tmpfsDir(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("this test fills a disk of its own: it mounts a tmpfs, which needs root (.ci/run runs as root)")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("mounting a tmpfs failed (%v: %s): this test needs a disk it can fill", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// freeOn is the space left for unprivileged writers on dir's filesystem.
func freeOn(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fillTo writes the file name into dir until less than left bytes are
// free (or, with left < 0, -left bytes), as another program sharing the
// disk would, and returns a func removing it.
func fillTo(t *testing.T, dir, name string, left int64) func() {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 256<<10)
	for written := int64(0); (left >= 0 && freeOn(t, dir) >= left) || (left < 0 && written < -left); written += int64(len(chunk)) {
		if _, err := f.Write(chunk); err != nil {
			t.Fatalf("filling the disk: %v", err)
		}
	}
	return func() {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// A full disk through all three dialects: uploads are refused with 507
// before the reserve is touched (a declared size before any byte is read),
// deletes still work on the reserve, every write is refused quickly once
// another program takes even that, and everything works again the moment
// space returns, without a restart.
func TestFullDisk_RefuseDeleteRecover(t *testing.T) {
	mnt := tmpfsDir(t, 72<<20)
	e := StartLocal(t, "fills the data directory's disk", func(c *server.Config) {
		c.Data = filepath.Join(mnt, "data")
		c.DiskReserve = fullDiskReserve
		c.ScrubInterval = 0
	})
	ctx := context.Background()
	sid := e.WithService(t)
	s3c := e.S3(t, e.AdminKeyID, e.AdminKey)
	sw := e.Swift(t, e.AdminKeyID, e.AdminKey, 1)

	// another program's 8 MiB, freed at the end: the room writes find
	// again when space returns
	const mib = 1 << 20
	unballast := fillTo(t, mnt, "ballast", -8*mib)

	// fill through the native API until the reserve stops it
	stored := 0
	for ; ; stored++ {
		if stored > 80 {
			t.Fatalf("%d MiB stored on a 72 MiB disk with a 16 MiB reserve: nothing refused them", stored)
		}
		r := e.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey,
			Query: Q("sid", sid, "path", fmt.Sprintf("fill/%03d", stored)), Body: bytes.NewReader(randomBytes(uint64(stored), mib))})
		if r.Status == http.StatusInsufficientStorage {
			natWantErr(t, "the upload past the reserve", r, http.StatusInsufficientStorage, "insufficient_storage")
			break
		}
		natWant(t, fmt.Sprintf("upload %d", stored), r, http.StatusCreated)
	}
	if stored < 25 {
		t.Fatalf("only %d MiB stored before the first 507 on a 72 MiB disk with 8 MiB taken and a 16 MiB reserve", stored)
	}
	if free := freeOn(t, mnt); free < fullDiskReserve-mib {
		t.Errorf("%d bytes free after the uploads: they ate into the %d reserved", free, fullDiskReserve)
	}
	body := randomBytes(99, mib)
	_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(sid), Key: aws.String("s3-refused"), Body: bytes.NewReader(body)})
	s3WantErr(t, "S3 PutObject on a full disk", err, http.StatusInsufficientStorage, "InsufficientStorage")
	err = sw.ObjectPutBytes(ctx, sid, "swift-refused", body, "application/octet-stream")
	if swStatus(err) != http.StatusInsufficientStorage {
		t.Fatalf("Swift PUT on a full disk: %v, want 507", err)
	}

	// the Python clients read the same answers (boto3 sends Expect:
	// 100-continue, python-swiftclient sends the body at once)
	fullDiskPython(t, e, sw.AuthToken, sw.StorageUrl, sid)

	// a declared size that does not fit is refused before the body is sent
	c := rawDial(t, e)
	br := bufio.NewReader(c)
	rawHead(t, c, http.MethodPut, "/uploadfile?"+Q("sid", sid, "path", "declared").Encode(),
		nativeHeader(e.AdminKey, "Content-Length", fmt.Sprint(64*mib), "Expect", "100-continue"))
	resp, msg := rawResponse(t, c, br, http.MethodPut)
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(string(msg), "insufficient_storage") {
		t.Fatalf("a 64 MiB upload declared with Expect: 100-continue: %d %s, want 507 before the body", resp.StatusCode, msg)
	}

	// deletes work on the reserve, in every dialect
	natWant(t, "native deletefile on a full disk",
		e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "fill/000")}), http.StatusOK)
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(sid), Key: aws.String("fill/001")}); err != nil {
		t.Fatalf("S3 DeleteObject on a full disk: %v", err)
	}
	if err := sw.ObjectDelete(ctx, sid, "fill/002"); err != nil {
		t.Fatalf("Swift DELETE on a full disk: %v", err)
	}

	// another program takes the reserve too: every write is refused, at once
	unfill := fillTo(t, mnt, "filler", fullDiskReserve/4-mib)
	natWantErr(t, "deletefile below the floor",
		e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "fill/003")}),
		http.StatusInsufficientStorage, "insufficient_storage")
	natWantErr(t, "a 3-byte upload below the floor",
		e.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "tiny"), Body: strings.NewReader("abc")}),
		http.StatusInsufficientStorage, "insufficient_storage")
	_, err = s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(sid), Key: aws.String("fill/003")})
	s3WantErr(t, "S3 DeleteObject below the floor", err, http.StatusInsufficientStorage, "InsufficientStorage")
	// reads go on
	r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "fill/010")})
	natWant(t, "getfile on a full disk", r, http.StatusOK)
	if !bytes.Equal(r.Body, randomBytes(10, mib)) {
		t.Fatal("getfile on a full disk: wrong bytes")
	}

	// space returns: everything works again, without a restart
	unfill()
	unballast()
	natWant(t, "deletefile once space returned",
		e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "fill/003")}), http.StatusOK)
	natWant(t, "an upload once space returned",
		e.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "tiny"), Body: strings.NewReader("abc")}),
		http.StatusCreated)
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(sid), Key: aws.String("s3-after"), Body: bytes.NewReader(body[:100<<10])}); err != nil {
		t.Fatalf("S3 PutObject once space returned: %v", err)
	}
	if err := sw.ObjectPutBytes(ctx, sid, "swift-after", body[:100<<10], "application/octet-stream"); err != nil {
		t.Fatalf("Swift PUT once space returned: %v", err)
	}
	got, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(sid), Key: aws.String("swift-after")})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	if b, err := io.ReadAll(got.Body); err != nil || !bytes.Equal(b, body[:100<<10]) {
		t.Fatalf("reading back through S3 what Swift stored after the disk was full: %d bytes, %v", len(b), err)
	}
}

// fullDiskPythonScript uploads 1 MiB with boto3 and with python-swiftclient
// and prints what each reported: "status code" lines.
const fullDiskPythonScript = `
import sys, boto3, botocore.config, swiftclient.client as sc
url, key_id, key, token, storage, bucket = sys.argv[1:7]
body = b"x" * (1 << 20)
s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=key_id, aws_secret_access_key=key,
                  region_name="us-east-1", config=botocore.config.Config(retries={"total_max_attempts": 1}))
try:
    s3.put_object(Bucket=bucket, Key="boto3-refused", Body=body)
    print("boto3 200 stored")
except s3.exceptions.ClientError as e:
    print("boto3", e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])
try:
    sc.put_object(storage, token, bucket, "swiftclient-refused", contents=body)
    print("swiftclient 201 stored")
except sc.ClientException as e:
    print("swiftclient", e.http_status, e.http_reason.replace(" ", "-"))
`

// fullDiskPython runs fullDiskPythonScript against e (the disk full) and
// fails the test unless both clients got 507 with the dialect's code.
func fullDiskPython(t *testing.T, e *Env, token, storage, sid string) {
	t.Helper()
	py := cliTool(t, "python3", "python3")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	probe := exec.CommandContext(ctx, py, "-c", "import boto3, swiftclient")
	if out, err := probe.CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-boto3 or python3-swiftclient is not usable (.ci/run installs both): %v\n%s", err, out)
		}
		t.Logf("python3-boto3 or python3-swiftclient is not installed, so the Python clients are not tried: %s", out)
		return
	}
	cmd := exec.CommandContext(ctx, py, "-c", fullDiskPythonScript, e.URL, e.AdminKeyID, e.AdminKey, token, storage, sid)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + t.TempDir(), "PYTHONWARNINGS=ignore"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Python clients: %v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	if want := "boto3 507 InsufficientStorage\nswiftclient 507 Insufficient-Storage"; got != want {
		t.Fatalf("the Python clients on a full disk:\n%s\nwant\n%s", got, want)
	}
}
