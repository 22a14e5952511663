package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Python clients (Debian's python3-boto3 and python3-swiftclient, the
// libraries behind the aws tooling and the swift CLI) encode and read some
// things differently from the Go SDKs, so the integrity tests drive them
// too, through one small program: pyClientScript.

// pyClientScript does one put or get with boto3 or python-swiftclient and
// prints one line: "ok", "error STATUS CODE MESSAGE" (an error answer) or
// "broken KIND" (a transfer that failed). A put reads the body from the
// file named; a get writes what it read there.
const pyClientScript = `
import sys
client, op, name, rng, path = sys.argv[1:6]
conf = sys.argv[6:]
hdr = {"Range": rng} if rng else {}
try:
    if client == "boto3":
        import boto3, botocore.config, botocore.exceptions
        url, key_id, key, bucket = conf
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=key_id, aws_secret_access_key=key,
                          region_name="us-east-1", config=botocore.config.Config(retries={"total_max_attempts": 1}))
        try:
            if op == "put":
                with open(path, "rb") as f:
                    s3.put_object(Bucket=bucket, Key=name, Body=f.read())
            else:
                r = s3.get_object(Bucket=bucket, Key=name, **hdr)
                with open(path, "wb") as f:
                    f.write(r["Body"].read())
            print("ok")
        except botocore.exceptions.ClientError as e:
            err = e.response["Error"]
            print("error", e.response["ResponseMetadata"]["HTTPStatusCode"], err.get("Code"), err.get("Message", "").replace("\n", " "))
    else:
        import swiftclient.client as sc
        storage, token, container = conf
        try:
            if op == "put":
                with open(path, "rb") as f:
                    sc.put_object(storage, token, container, name, contents=f.read())
            else:
                _, body = sc.get_object(storage, token, container, name, headers=hdr)
                with open(path, "wb") as f:
                    f.write(body)
            print("ok")
        except sc.ClientException as e:
            content = e.http_response_content or b""
            if isinstance(content, bytes):
                content = content.decode("utf-8", "replace")
            print("error", e.http_status, "-", content.replace("\n", " "))
except Exception as e:
    print("broken", type(e).__name__)
`

var pyProbe struct {
	once sync.Once
	err  error
	out  []byte
}

// pyClientsReady reports whether /usr/bin/python3 can import boto3 and
// swiftclient. In CI (.ci/run installs both) their absence fails the test;
// elsewhere the Python clients are left out, saying so.
func pyClientsReady(t *testing.T) bool {
	t.Helper()
	pyProbe.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pyProbe.out, pyProbe.err = exec.CommandContext(ctx, "/usr/bin/python3", "-c", "import boto3, swiftclient").CombinedOutput()
	})
	if pyProbe.err == nil {
		return true
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("python3-boto3 or python3-swiftclient is not usable (.ci/run installs both): %v\n%s", pyProbe.err, pyProbe.out)
	}
	t.Logf("python3-boto3 or python3-swiftclient is not installed, so the Python clients are left out: %s", pyProbe.out)
	return false
}

// pyResult is what one run of pyClientScript printed.
type pyResult struct {
	Kind   string // "ok", "error" or "broken"
	Status int
	Code   string
	Msg    string
	Body   []byte // what a get read
}

// pyClient runs one operation of pyClientScript. conf is the client's
// connection: boto3's endpoint, key id, key and bucket; swiftclient's
// storage URL, token and container.
func pyClient(t *testing.T, client, op, name, rng string, body []byte, conf ...string) pyResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "body")
	if op == "put" {
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{"-c", pyClientScript, client, op, name, rng, path}, conf...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + t.TempDir(), "PYTHONWARNINGS=ignore"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s %s: %v\n%s", client, op, name, err, stderr.Bytes())
	}
	line := strings.TrimSpace(string(out))
	var r pyResult
	f := strings.SplitN(line, " ", 4)
	r.Kind = f[0]
	switch {
	case r.Kind == "ok":
		if op == "get" {
			if r.Body, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
	case r.Kind == "error" && len(f) >= 3:
		if _, err := fmt.Sscan(f[1], &r.Status); err != nil {
			t.Fatalf("%s %s %s: %q", client, op, name, line)
		}
		r.Code = f[2]
		if len(f) == 4 {
			r.Msg = f[3]
		}
	case r.Kind == "broken" && len(f) == 2:
		r.Msg = f[1]
	default:
		t.Fatalf("%s %s %s printed %q", client, op, name, line)
	}
	return r
}

// pyDialects are itDialects for boto3 and python-swiftclient (none when
// they are not installed outside CI).
func pyDialects(t *testing.T, e *Env) []itDialect {
	if !pyClientsReady(t) {
		return nil
	}
	bucket := e.Bucket(t)
	s3conf := []string{e.URL, e.AdminKeyID, e.AdminKey, bucket}
	_, sk := e.Account(t)
	conn := e.Swift(t, sk.ID, sk.Value, 1)
	swconf := []string{conn.StorageUrl, conn.AuthToken, swContainer(t, conn)}
	dialect := func(name, client string, conf []string, status int, code string) itDialect {
		return itDialect{name: name,
			put: func(t *testing.T, key string, body []byte) {
				if r := pyClient(t, client, "put", key, "", body, conf...); r.Kind != "ok" {
					t.Fatalf("%s put %s: %+v", client, key, r)
				}
			},
			get: func(t *testing.T, key, rng, want string) ([]byte, error) {
				r := pyClient(t, client, "get", key, rng, nil, conf...)
				switch r.Kind {
				case "ok":
					return r.Body, nil
				case "error":
					if r.Status != status || r.Code != code {
						t.Errorf("%s get %s: %d %s, want %d %s", client, key, r.Status, r.Code, status, code)
					}
					if !strings.Contains(r.Msg, want) {
						t.Errorf("%s get %s: the error %q does not say %q", client, key, r.Msg, want)
					}
					return nil, fmt.Errorf("%d %s %s", r.Status, r.Code, r.Msg)
				}
				return nil, fmt.Errorf("the transfer failed: %s", r.Msg)
			}}
	}
	return []itDialect{
		dialect("s3-boto3", "boto3", s3conf, http.StatusInternalServerError, "InternalError"),
		dialect("swift-python", "swift", swconf, http.StatusInternalServerError, "-"),
	}
}
