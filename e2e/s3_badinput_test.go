package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnhq/cairn/cmd/server"
)

// TestS3_BadInput sends what a broken or hostile client might, and checks
// each gets its S3 error and that nothing stored changed.
func TestS3_BadInput(t *testing.T) {
	t.Parallel()
	e := Start(t)
	c := s3tClient(e, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := s3tBucket(t, e, c)
	s3tPut(t, c, b, "obj", []byte("original"))
	cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("mp"), UploadId: cu.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("part one")})
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		if _, got := s3tGet(t, c, b, "obj"); string(got) != "original" {
			t.Fatalf("obj changed: %q", got)
		}
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: aws.String("mp"), UploadId: cu.UploadId})
		if err != nil || len(lp.Parts) != 1 || aws.ToString(lp.Parts[0].ETag) != aws.ToString(up.ETag) {
			t.Fatalf("the upload changed: %+v %v", lp, err)
		}
		ver, _ := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &b})
		if ver.Status != "Enabled" {
			t.Fatalf("versioning changed: %q", ver.Status)
		}
	}
	bigMeta := map[string]string{"x-amz-meta-big": strings.Repeat("m", 2100)}
	hugeHeaders := map[string]string{}
	for i := 0; i < 10; i++ {
		hugeHeaders["X-Filler-"+string(rune('a'+i))] = strings.Repeat("h", 1000)
	}
	cases := []struct {
		name   string
		req    s3Raw
		status int
		code   string
	}{
		{"complete: malformed XML", s3Raw{method: "POST", path: "/" + b + "/mp", query: "uploadId=" + *cu.UploadId, body: []byte("<CompleteMultipartUpload><Part>")}, 400, "MalformedXML"},
		{"complete: no parts", s3Raw{method: "POST", path: "/" + b + "/mp", query: "uploadId=" + *cu.UploadId, body: []byte("<CompleteMultipartUpload></CompleteMultipartUpload>")}, 400, "MalformedXML"},
		{"complete: unknown upload", s3Raw{method: "POST", path: "/" + b + "/mp", query: "uploadId=01JD0000000000000000000000", body: []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>")}, 404, "NoSuchUpload"},
		{"complete: upload of another key", s3Raw{method: "POST", path: "/" + b + "/obj", query: "uploadId=" + *cu.UploadId, body: []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + *up.ETag + "</ETag></Part></CompleteMultipartUpload>")}, 404, "NoSuchUpload"},
		{"part number out of range", s3Raw{method: "PUT", path: "/" + b + "/mp", query: "partNumber=10001&uploadId=" + *cu.UploadId, body: []byte("x")}, 400, "InvalidArgument"},
		{"delete objects: malformed XML", s3Raw{method: "POST", path: "/" + b, query: "delete=", body: []byte("<Delete><Object><Key>obj</Key>")}, 400, "MalformedXML"},
		{"delete objects: 1001 keys", s3Raw{method: "POST", path: "/" + b, query: "delete=", body: []byte("<Delete>" + strings.Repeat("<Object><Key>obj</Key></Object>", 1001) + "</Delete>")}, 400, "MalformedXML"},
		{"versioning: malformed XML", s3Raw{method: "PUT", path: "/" + b, query: "versioning=", body: []byte("<VersioningConfiguration><Status>")}, 400, "MalformedXML"},
		{"versioning: bad status", s3Raw{method: "PUT", path: "/" + b, query: "versioning=", body: []byte("<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>")}, 400, "MalformedXML"},
		{"metadata over 2 KiB", s3Raw{method: "PUT", path: "/" + b + "/obj", body: []byte("new"), hdr: bigMeta}, 400, "MetadataTooLarge"},
		{"headers over 8 KiB", s3Raw{method: "PUT", path: "/" + b + "/obj", body: []byte("new"), hdr: hugeHeaders}, 400, "RequestHeaderSectionTooLarge"},
		{"Content-MD5 of other bytes", s3Raw{method: "PUT", path: "/" + b + "/obj", body: []byte("new"), hdr: map[string]string{"Content-MD5": md5b64("other")}}, 400, "BadDigest"},
		{"Content-MD5 not a digest", s3Raw{method: "PUT", path: "/" + b + "/obj", body: []byte("new"), hdr: map[string]string{"Content-MD5": "bm90IGEgZGlnZXN0"}}, 400, "InvalidDigest"},
		{"bad copy source", s3Raw{method: "PUT", path: "/" + b + "/obj", hdr: map[string]string{"x-amz-copy-source": "nobucketnokey"}}, 400, "InvalidArgument"},
		{"bad metadata directive", s3Raw{method: "PUT", path: "/" + b + "/obj", hdr: map[string]string{"x-amz-copy-source": b + "/obj", "x-amz-metadata-directive": "MERGE"}}, 400, "InvalidArgument"},
		{"bad max-keys", s3Raw{method: "GET", path: "/" + b, query: "list-type=2&max-keys=-1"}, 400, "InvalidArgument"},
		{"bad continuation token", s3Raw{method: "GET", path: "/" + b, query: "list-type=2&continuation-token=%25%25"}, 400, "InvalidArgument"},
		{"bad encoding type", s3Raw{method: "GET", path: "/" + b, query: "encoding-type=base64"}, 400, "InvalidArgument"},
		{"If-None-Match with an etag on a write", s3Raw{method: "PUT", path: "/" + b + "/obj", body: []byte("new"), hdr: map[string]string{"If-None-Match": `"abc"`}}, 501, "NotImplemented"},
		{"customer encryption keys", s3Raw{method: "PUT", path: "/" + b + "/obj", body: []byte("new"), hdr: map[string]string{"x-amz-server-side-encryption-customer-algorithm": "AES256"}}, 501, "NotImplemented"},
		{"bucket policy", s3Raw{method: "PUT", path: "/" + b, query: "policy=", body: []byte("{}")}, 501, "NotImplemented"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s3tSend(t, e, e.AdminKeyID, e.AdminKey, tc.req)
			if r.Status != tc.status || s3tErrCode(r) != tc.code {
				t.Fatalf("%d %s, want %d %s: %s", r.Status, s3tErrCode(r), tc.status, tc.code, r.Body)
			}
			if !bytes.Contains(r.Body, []byte("<RequestId>")) || r.Header.Get("Content-Type") != "application/xml" {
				t.Fatalf("not an S3 XML error: %s", r.Body)
			}
			unchanged(t)
		})
	}

	// a signature over one body, sent with another; a request signed 20 minutes ago
	for _, tc := range []struct {
		name   string
		req    s3Raw
		status int
		code   string
	}{
		{"payload hash of another body", s3Raw{method: "PUT", path: "/" + b + "/obj", body: []byte("tampered body"), signedBody: []byte("the signed body")}, 400, "XAmzContentSHA256Mismatch"},
		{"clock skew", s3Raw{method: "GET", path: "/" + b + "/obj", at: time.Now().Add(-20 * time.Minute)}, 403, "RequestTimeTooSkewed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s3tSend(t, e, e.AdminKeyID, e.AdminKey, tc.req)
			if r.Status != tc.status || s3tErrCode(r) != tc.code {
				t.Fatalf("%d %s, want %d %s: %s", r.Status, s3tErrCode(r), tc.status, tc.code, r.Body)
			}
			unchanged(t)
		})
	}
}

func md5b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestS3_KeysStayInside stores keys that look like paths out of the data
// directory: they are plain keys, listed as sent, and no file appears
// outside the data directory.
func TestS3_KeysStayInside(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	data := filepath.Join(parent, "data")
	e := Start(t, func(c *server.Config) { c.Data = data })
	c := s3tClient(e, e.AdminKeyID, e.AdminKey)
	b := s3tBucket(t, e, c)
	keys := []string{"../../etc/passwd", "a/../../b", "..", "./x", "/leading", "%2e%2e/y"}
	for _, k := range keys {
		s3tPut(t, c, b, k, bytes.Repeat([]byte(k), 20000)) // past the inline bound: into the blobstore
	}
	for _, k := range keys {
		if _, got := s3tGet(t, c, b, k); !bytes.Equal(got, bytes.Repeat([]byte(k), 20000)) {
			t.Fatalf("%q read back wrong", k)
		}
	}
	listed := s3tKeys(t, c, b)
	for _, k := range keys {
		found := false
		for _, l := range listed {
			found = found || l == k
		}
		if !found {
			t.Errorf("%q not listed exactly (listing %q)", k, listed)
		}
	}
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != parent && p != data && !strings.HasPrefix(p, data+string(os.PathSeparator)) {
			t.Errorf("a file outside the data directory: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
