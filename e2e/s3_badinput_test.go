package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/cmd/server"
)

// TestS3_BadInput sends what a broken or hostile client might, and checks
// each gets its S3 error and that nothing stored changed.
func TestS3_BadInput(t *testing.T) {
	t.Parallel()
	e, c, b := startS3(t)
	ctx := context.Background()
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

// bisStayInside fails the test when parent holds anything but the data
// directory data and what is in it, or when a file or directory in it has
// one of the names.
func bisStayInside(t *testing.T, parent, data string, names ...string) {
	t.Helper()
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != parent && p != data && !strings.HasPrefix(p, data+string(os.PathSeparator)) {
			t.Errorf("a file outside the data directory: %s", p)
		}
		if slices.Contains(names, d.Name()) {
			t.Errorf("a file named after a key: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bisState is everything a bad request could have changed: the log's last
// sequence, the blobs stored, every version and delete marker, the open
// uploads and the parts of one, the bucket's versioning.
type bisState struct {
	seq        uint64
	blobs      int
	versions   []string
	uploads    []string
	parts      []string
	versioning string
}

func bisSnapshot(t testing.TB, e *Env, c *s3.Client, b, key, uploadID string) bisState {
	t.Helper()
	ctx := context.Background()
	var st bisState
	var err error
	if st.seq, err = e.Srv.Log.LastSeq(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Srv.Blobs.Walk(ctx, func(blobstore.Info) error { st.blobs++; return nil }); err != nil {
		t.Fatal(err)
	}
	st.versions = sdkVersions(t, c, b)
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range lu.Uploads {
		st.uploads = append(st.uploads, aws.ToString(u.Key)+"@"+aws.ToString(u.UploadId))
	}
	if uploadID != "" {
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &uploadID})
		if err != nil {
			t.Fatalf("ListParts: %v", err)
		}
		for _, p := range lp.Parts {
			st.parts = append(st.parts, fmt.Sprintf("%d:%s:%d", aws.ToInt32(p.PartNumber), aws.ToString(p.ETag), aws.ToInt64(p.Size)))
		}
	}
	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	st.versioning = string(v.Status)
	return st
}

func (s bisState) diff(o bisState) string {
	var d []string
	if s.seq != o.seq {
		d = append(d, fmt.Sprintf("log sequence %d → %d", s.seq, o.seq))
	}
	if s.blobs != o.blobs {
		d = append(d, fmt.Sprintf("blobs %d → %d", s.blobs, o.blobs))
	}
	for _, x := range []struct {
		name string
		a, b []string
	}{{"versions", s.versions, o.versions}, {"uploads", s.uploads, o.uploads}, {"parts", s.parts, o.parts}} {
		if !slices.Equal(x.a, x.b) {
			d = append(d, fmt.Sprintf("%s %q → %q", x.name, x.a, x.b))
		}
	}
	if s.versioning != o.versioning {
		d = append(d, "versioning "+s.versioning+" → "+o.versioning)
	}
	return strings.Join(d, "; ")
}

// TestS3BadInput_NothingChanges sends each bad write as a raw signed
// request and requires its S3 error and that nothing at all changed: not
// the log, not the blob store, not a version, an upload or a part. The
// bodies are past the inline bound, so a failure half way would leave a
// blob behind.
func TestS3BadInput_NothingChanges(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := e.Bucket(t)
	original := randomBytes(61, 100<<10)
	orig := s3tPut(t, c, b, "obj", original, func(in *s3.PutObjectInput) { in.Metadata = map[string]string{"keep": "me"} })
	s3tPut(t, c, b, "mp", []byte("the key's current object"))
	cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	uid := aws.ToString(cu.UploadId)
	p1, p2, p3 := randomBytes(62, 5<<20), []byte("part two, too small to be in the middle"), []byte("part three")
	etags := map[int]string{}
	for n, p := range map[int][]byte{1: p1, 2: p2, 3: p3} {
		r, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("mp"), UploadId: &uid, PartNumber: aws.Int32(int32(n)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		etags[n] = aws.ToString(r.ETag)
	}
	complete := func(parts ...any) []byte {
		var sb strings.Builder
		sb.WriteString("<CompleteMultipartUpload>")
		for i := 0; i+1 < len(parts); i += 2 {
			fmt.Fprintf(&sb, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", parts[i], parts[i+1])
		}
		sb.WriteString("</CompleteMultipartUpload>")
		return []byte(sb.String())
	}
	body := randomBytes(63, 100<<10)
	other := randomBytes(64, 100<<10)
	part := "/" + b + "/mp?partNumber=2&uploadId=" + uid
	done := "/" + b + "/mp?uploadId=" + uid
	meta := func(n int) map[string]string { return map[string]string{"x-amz-meta-k": strings.Repeat("v", n-1)} }

	before := bisSnapshot(t, e, c, b, "mp", uid)
	cases := []struct {
		name           string
		keyID          string // "" is the admin key
		method, target string
		body           []byte
		hdr            map[string]string
		hash           string
		status         int
		code           string
	}{
		{"PUT over a key, body not the one signed", "", "PUT", "/" + b + "/obj", body, nil, sha256hex(other), 400, "XAmzContentSHA256Mismatch"},
		{"PUT of a new key, body not the one signed", "", "PUT", "/" + b + "/fresh", body, nil, sha256hex(other), 400, "XAmzContentSHA256Mismatch"},
		{"PUT with the Content-MD5 of other bytes", "", "PUT", "/" + b + "/obj", body, map[string]string{"Content-MD5": md5b64(string(other))}, "", 400, "BadDigest"},
		{"PUT with a wrong x-amz-checksum-crc32", "", "PUT", "/" + b + "/fresh", body, map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, "", 400, "BadDigest"},
		{"PUT with metadata of 2 KiB + 1", "", "PUT", "/" + b + "/fresh", body, meta(2<<10 + 1), "", 400, "MetadataTooLarge"},
		{"PUT signed by an unknown key", "AKIAIOSFODNN7EXAMPLE", "PUT", "/" + b + "/obj", body, nil, "", 403, "InvalidAccessKeyId"},
		{"DELETE with a failing If-Match", "", "DELETE", "/" + b + "/obj", nil, map[string]string{"If-Match": `"` + md5hex(other) + `"`}, "", 412, "PreconditionFailed"},
		{"UploadPart, body not the one signed", "", "PUT", part, body, nil, sha256hex(other), 400, "XAmzContentSHA256Mismatch"},
		{"UploadPart with the Content-MD5 of other bytes", "", "PUT", part, body, map[string]string{"Content-MD5": md5b64(string(other))}, "", 400, "BadDigest"},
		{"UploadPart number 0", "", "PUT", "/" + b + "/mp?partNumber=0&uploadId=" + uid, body, nil, "", 400, "InvalidArgument"},
		{"UploadPart to an unknown upload", "", "PUT", "/" + b + "/mp?partNumber=1&uploadId=01ARZ3NDEKTSV4RRFFQ69G5FAV", body, nil, "", 404, "NoSuchUpload"},
		{"CreateMultipartUpload with metadata of 2 KiB + 1", "", "POST", "/" + b + "/fresh?uploads=", nil, meta(2<<10 + 1), "", 400, "MetadataTooLarge"},
		{"CopyObject REPLACE with metadata of 2 KiB + 1", "", "PUT", "/" + b + "/fresh", nil,
			map[string]string{"x-amz-copy-source": b + "/obj", "x-amz-metadata-directive": "REPLACE", "x-amz-meta-k": strings.Repeat("v", 2<<10)}, "", 400, "MetadataTooLarge"},
		{"DeleteObjects: malformed XML", "", "POST", "/" + b + "?delete=", []byte("<Delete><Object><Key>obj</Key></Object>"), nil, "", 400, "MalformedXML"},
		{"DeleteObjects: another document", "", "POST", "/" + b + "?delete=", complete(1, etags[1]), nil, "", 400, "MalformedXML"},
		{"DeleteObjects: no body", "", "POST", "/" + b + "?delete=", nil, nil, "", 400, "MalformedXML"},
		{"PutBucketVersioning: malformed XML", "", "PUT", "/" + b + "?versioning=", []byte("<VersioningConfiguration><Status>Suspended</Status>"), nil, "", 400, "MalformedXML"},
		{"PutBucketVersioning: lower case status", "", "PUT", "/" + b + "?versioning=", []byte("<VersioningConfiguration><Status>suspended</Status></VersioningConfiguration>"), nil, "", 400, "MalformedXML"},
		{"Complete: malformed XML", "", "POST", done, []byte("<CompleteMultipartUpload><Part><PartNumber>1"), nil, "", 400, "MalformedXML"},
		{"Complete: another document", "", "POST", done, []byte("<Delete><Object><Key>mp</Key></Object></Delete>"), nil, "", 400, "MalformedXML"},
		{"Complete: parts out of order", "", "POST", done, complete(3, etags[3], 1, etags[1]), nil, "", 400, "InvalidPartOrder"},
		{"Complete: a part twice", "", "POST", done, complete(1, etags[1], 1, etags[1], 3, etags[3]), nil, "", 400, "InvalidPartOrder"},
		{"Complete: a wrong ETag", "", "POST", done, complete(1, etags[1], 3, etags[2]), nil, "", 400, "InvalidPart"},
		{"Complete: a part never uploaded", "", "POST", done, complete(1, etags[1], 4, etags[3]), nil, "", 400, "InvalidPart"},
		{"Complete: a small part in the middle", "", "POST", done, complete(1, etags[1], 2, etags[2], 3, etags[3]), nil, "", 400, "EntityTooSmall"},
		{"Complete: If-None-Match * over an existing key", "", "POST", done, complete(1, etags[1], 3, etags[3]), map[string]string{"If-None-Match": "*"}, "", 412, "PreconditionFailed"},
	}
	for _, tc := range cases {
		keyID, secret := e.AdminKeyID, e.AdminKey
		if tc.keyID != "" {
			keyID = tc.keyID
		}
		r := s3Do(t, e, keyID, secret, tc.method, tc.target, tc.body, tc.hdr, tc.hash)
		s3WantXMLError(t, tc.name, r, tc.status, tc.code)
		if d := before.diff(bisSnapshot(t, e, c, b, "mp", uid)); d != "" {
			t.Fatalf("%s changed stored data: %s", tc.name, d)
		}
	}
	o, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj")})
	if !bytes.Equal(got, original) || aws.ToString(o.ETag) != aws.ToString(orig.ETag) || o.Metadata["keep"] != "me" {
		t.Fatalf("obj after the bad requests: %d bytes %+v", len(got), o)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("fresh")})
	if s3Status(err) != http.StatusNotFound {
		t.Fatalf("a refused write created fresh: %v", err)
	}

	// the same requests, well formed, succeed: the refusals were for the
	// reason given
	if r := s3Do(t, e, e.AdminKeyID, e.AdminKey, "PUT", "/"+b+"/fresh", body, meta(2<<10), ""); r.Status != http.StatusOK {
		t.Fatalf("PUT with metadata of exactly 2 KiB: %d %s", r.Status, r.Body)
	}
	if r := s3Do(t, e, e.AdminKeyID, e.AdminKey, "PUT", part, p2, map[string]string{"Content-MD5": md5b64(string(p2))}, ""); r.Status != http.StatusOK ||
		r.Header.Get("ETag") != etags[2] {
		t.Fatalf("UploadPart with its Content-MD5: %d %s", r.Status, r.Body)
	}
	r := s3Do(t, e, e.AdminKeyID, e.AdminKey, "POST", done, complete(1, etags[1], 3, etags[3]), nil, "")
	if want := sdkMultipartETag(p1, p3); r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte("<ETag>&#34;"+strings.Trim(want, `"`)+"&#34;</ETag>")) &&
		!bytes.Contains(r.Body, []byte("<ETag>"+want+"</ETag>")) {
		t.Fatalf("Complete with parts 1 and 3: %d %s (want ETag %s)", r.Status, r.Body, want)
	}
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("mp")}); !bytes.Equal(got, slices.Concat(p1, p3)) {
		t.Fatal("the completed upload's bytes differ")
	}
}

// TestS3BadInput_HostileKeys stores keys that look like ways out of the
// data directory, through the SDK and as raw paths with encoded dots:
// each is a plain key, read back through both dialects, listed as sent;
// no file appears outside the data directory, and nothing in it is named
// after any of them.
func TestS3BadInput_HostileKeys(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	data := filepath.Join(parent, "data")
	e := Start(t, func(c *server.Config) { c.Data = data })
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	b := e.Bucket(t)
	keys := []string{"../../etc/passwd", "a/../../b", "../../../../../../tmp/cairn-escape", `..\..\windows`, "./.", "a/./b/../c",
		"..", "./x", "/leading", "%2e%2e/y"}
	bodies := map[string][]byte{}
	for i, k := range keys {
		bodies[k] = randomBytes(uint64(70+i), 80<<10) // past the inline bound: into the blob store
		s3tPut(t, c, b, k, bodies[k])
	}
	// the same key as a raw path with percent-encoded dots
	r := s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodGet, "/"+b+"/%2E%2E/%2E%2E/etc/passwd", nil, nil, "")
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, bodies["../../etc/passwd"]) {
		t.Fatalf("GET with encoded dots: %d", r.Status)
	}
	for _, k := range keys {
		if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String(k)}); !bytes.Equal(got, bodies[k]) {
			t.Errorf("S3 GET %q: wrong bytes", k)
		}
		if r := natGet(t, e, e.AdminKey, b, k); r.Status != http.StatusOK || !bytes.Equal(r.Body, bodies[k]) {
			t.Errorf("native getfile %q: %d", k, r.Status)
		}
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if got := s3Keys(t, c, b); !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	bisStayInside(t, parent, data, "passwd", "etc", "cairn-escape", "windows", `..\..\windows`)
	if _, err := os.Stat("/tmp/cairn-escape"); err == nil {
		t.Error("/tmp/cairn-escape exists")
	}
}
