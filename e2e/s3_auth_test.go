package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Raw is one S3 request built by hand, signed with the AWS SDK's SigV4
// signer (or not at all), so each operation is exactly what the test says.
type s3Raw struct {
	method, path, query string
	body                []byte
	hdr                 map[string]string
	signedBody          []byte    // when set, the payload hash signed is this body's, not body's
	at                  time.Time // when set, the signing time (else now)
}

// s3tSend signs r with keyID/secret ("" keyID: unsigned) and sends it.
func s3tSend(t testing.TB, e *Env, keyID, secret string, r s3Raw) *Resp {
	t.Helper()
	u := e.URL + r.path
	if r.query != "" {
		u += "?" + r.query
	}
	req, err := http.NewRequest(r.method, u, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.hdr {
		req.Header.Set(k, v)
	}
	signed, at := r.body, r.at
	if r.signedBody != nil {
		signed = r.signedBody
	}
	if at.IsZero() {
		at = time.Now()
	}
	sum := sha256.Sum256(signed)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("x-amz-content-sha256", hash)
	if keyID != "" {
		creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// s3tErrCode returns the Code of an S3 XML error body.
func s3tErrCode(r *Resp) string {
	var e struct {
		Code string `xml:"Code"`
	}
	_ = xml.Unmarshal(r.Body, &e)
	return e.Code
}

// TestS3_AuthMatrix runs every S3 operation as: no credentials, a wrong
// secret, a read-only key, a key for another bucket, a key of another
// account, a write key, and the admin key. Denied writes change nothing.
func TestS3_AuthMatrix(t *testing.T) {
	t.Parallel()
	e := Start(t)
	admin := s3tClient(e, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := s3tBucket(t, e, admin)
	other := s3tBucket(t, e, admin)
	s3tPut(t, admin, b, "keep", []byte("read by the read operations"))
	// the writes target obj, reset before each of them
	resetObj := func() { s3tPut(t, admin, b, "obj", []byte("original")) }
	reader := e.NewKey(t, map[string]string{b: "read"})
	writer := e.NewKey(t, map[string]string{b: "write"})
	otherBucket := e.NewKey(t, map[string]string{other: "write"})
	e.Admin(t, "accountcreate", map[string]any{"id": "acme", "name": "Acme"}, http.StatusCreated)
	var foreign Key
	e.Admin(t, "keycreate", map[string]any{"name": "acme-admin", "account": "acme", "admin": true}, http.StatusCreated).JSON(t, &foreign)

	n := 0
	fresh := func() string { n++; return fmt.Sprintf("k%d", n) }
	upload := func(key string) string {
		cu, err := admin.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(cu.UploadId)
	}
	withPart := func(key string) (string, string) {
		id := upload(key)
		up, err := admin.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
		if err != nil {
			t.Fatal(err)
		}
		return id, aws.ToString(up.ETag)
	}
	type op struct {
		name  string
		kind  string // "read", "write", "admin" (bucket administration), "root"
		prep  func() s3Raw
		ok    int
		check func(t *testing.T, allowed bool) // state after the call
	}
	objUnchanged := func(t *testing.T, _ bool) {
		t.Helper()
		if _, got := s3tGet(t, admin, b, "obj"); string(got) != "original" {
			t.Fatalf("obj changed: %q", got)
		}
	}
	var created []string
	ops := []op{
		{"ListBuckets", "root", func() s3Raw { return s3Raw{method: "GET", path: "/"} }, 200, nil},
		{"CreateBucket", "admin", func() s3Raw {
			c := fmt.Sprintf("made-%d", len(created))
			created = append(created, c)
			return s3Raw{method: "PUT", path: "/" + c}
		}, 200, nil},
		{"DeleteBucket", "admin", func() s3Raw {
			c := s3tBucket(t, e, admin)
			return s3Raw{method: "DELETE", path: "/" + c}
		}, 204, nil},
		{"HeadBucket", "read", func() s3Raw { return s3Raw{method: "HEAD", path: "/" + b} }, 200, nil},
		{"GetBucketLocation", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b, query: "location="} }, 200, nil},
		{"GetBucketVersioning", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b, query: "versioning="} }, 200, nil},
		{"PutBucketVersioning", "admin", func() s3Raw {
			return s3Raw{method: "PUT", path: "/" + b, query: "versioning=",
				body: []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)}
		}, 200, nil},
		{"GetBucketAcl", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b, query: "acl="} }, 200, nil},
		{"ListObjects", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b} }, 200, nil},
		{"ListObjectsV2", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b, query: "list-type=2"} }, 200, nil},
		{"ListObjectVersions", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b, query: "versions="} }, 200, nil},
		{"ListMultipartUploads", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b, query: "uploads="} }, 200, nil},
		{"GetObject", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b + "/keep"} }, 200, nil},
		{"HeadObject", "read", func() s3Raw { return s3Raw{method: "HEAD", path: "/" + b + "/keep"} }, 200, nil},
		{"GetObjectAcl", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b + "/keep", query: "acl="} }, 200, nil},
		{"GetObjectTagging", "read", func() s3Raw { return s3Raw{method: "GET", path: "/" + b + "/keep", query: "tagging="} }, 200, nil},
		{"ListParts", "read", func() s3Raw {
			k := fresh()
			return s3Raw{method: "GET", path: "/" + b + "/" + k, query: "uploadId=" + upload(k)}
		}, 200, nil},
		{"PutObject", "write", func() s3Raw {
			resetObj()
			return s3Raw{method: "PUT", path: "/" + b + "/obj", body: []byte("overwritten")}
		}, 200, objUnchanged},
		{"CopyObject", "write", func() s3Raw {
			resetObj()
			return s3Raw{method: "PUT", path: "/" + b + "/obj", hdr: map[string]string{"x-amz-copy-source": b + "/keep"}}
		}, 200, objUnchanged},
		{"DeleteObject", "write", func() s3Raw { resetObj(); return s3Raw{method: "DELETE", path: "/" + b + "/obj"} }, 204, objUnchanged},
		{"DeleteObjects", "write", func() s3Raw {
			resetObj()
			return s3Raw{method: "POST", path: "/" + b, query: "delete=", body: []byte(`<Delete><Object><Key>obj</Key></Object></Delete>`)}
		}, 200, objUnchanged},
		{"CreateMultipartUpload", "write", func() s3Raw { return s3Raw{method: "POST", path: "/" + b + "/" + fresh(), query: "uploads="} }, 200, nil},
		{"UploadPart", "write", func() s3Raw {
			k := fresh()
			return s3Raw{method: "PUT", path: "/" + b + "/" + k, query: "partNumber=1&uploadId=" + upload(k), body: []byte("p")}
		}, 200, nil},
		{"UploadPartCopy", "write", func() s3Raw {
			k := fresh()
			return s3Raw{method: "PUT", path: "/" + b + "/" + k, query: "partNumber=1&uploadId=" + upload(k), hdr: map[string]string{"x-amz-copy-source": b + "/keep"}}
		}, 200, nil},
		{"CompleteMultipartUpload", "write", func() s3Raw {
			k := fresh()
			id, etag := withPart(k)
			return s3Raw{method: "POST", path: "/" + b + "/" + k, query: "uploadId=" + id,
				body: []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + etag + `</ETag></Part></CompleteMultipartUpload>`)}
		}, 200, nil},
		{"AbortMultipartUpload", "write", func() s3Raw {
			k := fresh()
			return s3Raw{method: "DELETE", path: "/" + b + "/" + k, query: "uploadId=" + upload(k)}
		}, 204, nil},
	}
	// every operation the router knows is in the matrix
	for _, name := range []string{"ListBuckets", "CreateBucket", "DeleteBucket", "HeadBucket", "GetBucketLocation", "GetBucketVersioning",
		"PutBucketVersioning", "GetBucketAcl", "ListObjects", "ListObjectsV2", "ListObjectVersions", "ListMultipartUploads", "PutObject",
		"GetObject", "HeadObject", "CopyObject", "DeleteObject", "DeleteObjects", "GetObjectAcl", "GetObjectTagging",
		"CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts"} {
		if !slices.ContainsFunc(ops, func(o op) bool { return o.name == name }) {
			t.Fatalf("operation %s is missing from the matrix", name)
		}
	}

	type who struct {
		name, id, secret string
		allowed          func(kind string) bool
		code             string // the denial code
	}
	whos := []who{
		{"anonymous", "", "", func(string) bool { return false }, "AccessDenied"},
		{"wrong-secret", writer.ID, writer.Value + "x", func(string) bool { return false }, "SignatureDoesNotMatch"},
		{"unknown-key", "CKUNKNOWNUNKNOWNUNKN", "whatever", func(string) bool { return false }, "InvalidAccessKeyId"},
		{"reader", reader.ID, reader.Value, func(k string) bool { return k == "read" || k == "root" }, "AccessDenied"},
		{"other-bucket", otherBucket.ID, otherBucket.Value, func(k string) bool { return k == "root" }, "AccessDenied"},
		{"other-account-admin", foreign.ID, foreign.Value, func(k string) bool { return k == "root" }, "AccessDenied"},
		{"writer", writer.ID, writer.Value, func(k string) bool { return k != "admin" }, "AccessDenied"},
		{"admin", e.AdminKeyID, e.AdminKey, func(string) bool { return true }, ""},
	}
	for _, w := range whos {
		for _, o := range ops {
			if w.name == "other-account-admin" && o.name == "CreateBucket" {
				continue // an account admin may create buckets in its own account
			}
			t.Run(w.name+"/"+o.name, func(t *testing.T) {
				r := s3tSend(t, e, w.id, w.secret, o.prep())
				if r.Header.Get("x-amz-request-id") == "" {
					t.Error("no x-amz-request-id")
				}
				allowed := w.allowed(o.kind)
				switch {
				case allowed && r.Status != o.ok:
					t.Fatalf("status %d, want %d: %s", r.Status, o.ok, r.Body)
				case !allowed && r.Status != http.StatusForbidden:
					t.Fatalf("status %d, want 403: %s", r.Status, r.Body)
				case !allowed && o.name != "HeadBucket" && o.name != "HeadObject" && s3tErrCode(r) != w.code:
					t.Fatalf("code %q, want %s: %s", s3tErrCode(r), w.code, r.Body)
				}
				if !allowed && o.check != nil {
					o.check(t, allowed)
				}
			})
		}
	}
	// ListBuckets shows each key the buckets it can read, and no others
	listed := func(k Key) []string {
		var res struct {
			Buckets []string `xml:"Buckets>Bucket>Name"`
		}
		r := s3tSend(t, e, k.ID, k.Value, s3Raw{method: "GET", path: "/"})
		if err := xml.Unmarshal(r.Body, &res); err != nil {
			t.Fatal(err)
		}
		return res.Buckets
	}
	if got := listed(reader); !slices.Equal(got, []string{b}) {
		t.Errorf("reader lists %q, want only %s", got, b)
	}
	if got := listed(foreign); len(got) != 0 {
		t.Errorf("a key of another account lists %q", got)
	}
	// a key of another account cannot tell a bucket that exists from one that does not
	for _, name := range []string{b, "no-such-bucket-anywhere"} {
		r := s3tSend(t, e, otherBucket.ID, otherBucket.Value, s3Raw{method: "GET", path: "/" + name})
		if r.Status != http.StatusForbidden || s3tErrCode(r) != "AccessDenied" {
			t.Errorf("GET /%s with a key for another bucket: %d %s", name, r.Status, r.Body)
		}
	}
}
