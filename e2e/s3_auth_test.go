package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
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

// s3tSend signs r with keyID/secret ("" keyID: unsigned, though it still
// carries x-amz-content-sha256, which makes it an S3 request) and sends it.
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
	return e.DoRequest(t, req)
}

// s3tErrCode returns the Code of an S3 XML error body.
func s3tErrCode(r *Resp) string {
	var e struct {
		Code string `xml:"Code"`
	}
	_ = xml.Unmarshal(r.Body, &e)
	return e.Code
}

// s3AuthOps is every operation handlers/s3/route.go serves; the matrix
// must hold each of them.
var s3AuthOps = []string{"ListBuckets", "CreateBucket", "DeleteBucket", "HeadBucket", "GetBucketLocation",
	"GetBucketVersioning", "PutBucketVersioning", "GetBucketAcl", "ListObjects", "ListObjectsV2", "ListObjectVersions",
	"ListMultipartUploads", "PutObject", "GetObject", "HeadObject", "CopyObject", "DeleteObject", "DeleteObjects",
	"GetObjectAcl", "GetObjectTagging", "CreateMultipartUpload", "UploadPart", "UploadPartCopy",
	"CompleteMultipartUpload", "AbortMultipartUpload", "ListParts"}

// authKind is what an operation needs.
type authKind int

const (
	kindRoot   authKind = iota // ListBuckets: any valid key
	kindRead                   // read access to the bucket
	kindWrite                  // write access to the bucket
	kindAdmin                  // an admin key of the bucket's account (DeleteBucket, PutBucketVersioning)
	kindCreate                 // an admin key (CreateBucket: the bucket does not exist yet)
)

// authOp is one row of the matrix. prep makes the request (setting up
// whatever it consumes, such as a fresh upload) and returns a check of the
// stored state afterwards, told whether the call was allowed.
type authOp struct {
	name string
	kind authKind
	ok   int
	prep func(t *testing.T) (s3Raw, func(t *testing.T, allowed bool))
}

// authWho is one caller: its credentials and what it should get for each
// kind of operation (status 0: allowed).
type authWho struct {
	name, id, secret string
	expect           func(k authKind) (status int, code string)
}

func denyAll(status int, code string) func(authKind) (int, string) {
	return func(authKind) (int, string) { return status, code }
}

// allow lets the kinds listed through and denies the others with 403
// AccessDenied.
func allow(kinds ...authKind) func(authKind) (int, string) {
	return func(k authKind) (int, string) {
		if slices.Contains(kinds, k) {
			return 0, ""
		}
		return http.StatusForbidden, "AccessDenied"
	}
}

// foreignExpect is what a key of another account gets: its own
// ListBuckets (and CreateBucket if it may create), and for the bucket of
// another account exactly what it gets for a bucket that does not exist.
func foreignExpect(canCreate bool, status int, code string) func(authKind) (int, string) {
	return func(k authKind) (int, string) {
		switch {
		case k == kindRoot, k == kindCreate && canCreate:
			return 0, ""
		case k == kindCreate:
			return http.StatusForbidden, "AccessDenied"
		}
		return status, code
	}
}

// TestS3Auth_Matrix runs every S3 operation as every kind of caller: no
// credentials, a wrong secret, an unknown key, a read-only key, a write
// key, a key for another bucket, an account admin key, keys of another
// account (for one of its buckets, for "*", and its admin) and the server
// admin key. Every answer carries x-amz-request-id; every denial is an S3
// XML error; a denied write leaves the stored state as it was.
func TestS3Auth_Matrix(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	ctx := context.Background()
	admin := e.S3(t, e.AdminKeyID, e.AdminKey)
	b := e.Bucket(t)
	vb := e.Bucket(t) // PutBucketVersioning's target
	other := e.Bucket(t)
	keep := []byte("read by the read operations")
	s3tPut(t, admin, b, "keep", keep)

	reader := e.NewKey(t, map[string]string{b: "read", vb: "read"})
	writer := e.NewKey(t, map[string]string{b: "write", vb: "write"})
	otherBucket := e.NewKey(t, map[string]string{other: "write"})
	var acctAdmin Key
	e.Admin(t, "keycreate", map[string]any{"name": "default-admin", "admin": true}, http.StatusCreated).JSON(t, &acctAdmin)
	e.Admin(t, "accountcreate", map[string]any{"id": "acme", "name": "Acme"}, http.StatusCreated)
	var foreignAdmin, foreignStar, foreignOwn Key
	e.Admin(t, "keycreate", map[string]any{"name": "acme-admin", "account": "acme", "admin": true}, http.StatusCreated).JSON(t, &foreignAdmin)
	acmeBucket := "acme-own-bucket"
	if _, err := e.S3(t, foreignAdmin.ID, foreignAdmin.Value).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &acmeBucket}); err != nil {
		t.Fatal(err)
	}
	e.Admin(t, "keycreate", map[string]any{"name": "acme-star", "account": "acme", "access": map[string]string{"*": "write"}},
		http.StatusCreated).JSON(t, &foreignStar)
	e.Admin(t, "keycreate", map[string]any{"name": "acme-own", "account": "acme", "access": map[string]string{acmeBucket: "write"}},
		http.StatusCreated).JSON(t, &foreignOwn)

	n := 0
	fresh := func() string { n++; return fmt.Sprintf("k%d", n) }
	upload := func(t *testing.T, key string) string {
		t.Helper()
		cu, err := admin.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(cu.UploadId)
	}
	parts := func(t *testing.T, key, id string) (int, error) {
		t.Helper()
		lp, err := admin.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
		if err != nil {
			return 0, err
		}
		return len(lp.Parts), nil
	}
	wantParts := func(t *testing.T, key, id string, want int) {
		t.Helper()
		if got, err := parts(t, key, id); err != nil || got != want {
			t.Fatalf("upload %s of %s: %d parts (%v), want %d", id, key, got, err, want)
		}
	}
	uploadsOf := func(t *testing.T, key string) int {
		t.Helper()
		lu, err := admin.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b, Prefix: &key})
		if err != nil {
			t.Fatal(err)
		}
		return len(lu.Uploads)
	}
	exists := func(t *testing.T, bucket, key string) bool {
		t.Helper()
		_, err := admin.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
		if err != nil && s3Status(err) != http.StatusNotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	bucketExists := func(t *testing.T, name string) bool { // in any account: buckets are named per account
		t.Helper()
		var list struct {
			Services []struct{ Container string } `json:"services"`
		}
		e.Do(t, Req{Fn: "servicelist", Key: e.AdminKey}).JSON(t, &list)
		return slices.ContainsFunc(list.Services, func(s struct{ Container string }) bool { return s.Container == name })
	}
	versioning := func(t *testing.T) string {
		t.Helper()
		v, err := admin.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &vb})
		if err != nil {
			t.Fatal(err)
		}
		return string(v.Status)
	}

	// The writes target obj; objState is its bytes and its number of
	// versions (delete markers included), which a denied write must not
	// change.
	type objState struct {
		body     string
		versions int
	}
	stateOf := func(t *testing.T) objState {
		t.Helper()
		var s objState
		if exists(t, b, "obj") {
			_, got := s3tGet(t, admin, b, "obj")
			s.body = string(got)
		}
		lv, err := admin.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b, Prefix: aws.String("obj")})
		if err != nil {
			t.Fatal(err)
		}
		s.versions = len(lv.Versions) + len(lv.DeleteMarkers)
		return s
	}
	// objWrite resets obj, and checks it afterwards: unchanged when the
	// write was denied, after(body) when it was allowed.
	objWrite := func(t *testing.T, r s3Raw, after string) (s3Raw, func(*testing.T, bool)) {
		t.Helper()
		s3tPut(t, admin, b, "obj", []byte("original"))
		before := stateOf(t)
		return r, func(t *testing.T, allowed bool) {
			t.Helper()
			got := stateOf(t)
			switch {
			case !allowed && got != before:
				t.Fatalf("a denied write changed obj: %+v, before %+v", got, before)
			case allowed && got.body != after:
				t.Fatalf("after the write obj is %q, want %q", got.body, after)
			}
		}
	}

	objPath := "/" + b + "/obj"
	ops := []authOp{
		{"ListBuckets", kindRoot, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/"}, nil
		}},
		{"CreateBucket", kindCreate, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			name := fmt.Sprintf("made-%s", fresh())
			return s3Raw{method: "PUT", path: "/" + name}, func(t *testing.T, allowed bool) {
				if got := bucketExists(t, name); got != allowed {
					t.Fatalf("bucket %s exists: %v, want %v", name, got, allowed)
				}
			}
		}},
		{"DeleteBucket", kindAdmin, 204, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			name := e.Bucket(t)
			return s3Raw{method: "DELETE", path: "/" + name}, func(t *testing.T, allowed bool) {
				if got := bucketExists(t, name); got == allowed {
					t.Fatalf("bucket %s exists: %v after DeleteBucket allowed=%v", name, got, allowed)
				}
			}
		}},
		{"HeadBucket", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "HEAD", path: "/" + b}, nil
		}},
		{"GetBucketLocation", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b, query: "location="}, nil
		}},
		{"GetBucketVersioning", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b, query: "versioning="}, nil
		}},
		{"PutBucketVersioning", kindAdmin, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			if v := versioning(t); v != "Enabled" {
				t.Fatalf("versioning of %s is %q before the call", vb, v)
			}
			return s3Raw{method: "PUT", path: "/" + vb, query: "versioning=",
					body: []byte(`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`)},
				func(t *testing.T, allowed bool) {
					want := map[bool]string{true: "Suspended", false: "Enabled"}[allowed]
					if v := versioning(t); v != want {
						t.Fatalf("versioning is %q, want %q", v, want)
					}
					if allowed { // back for the next caller
						if _, err := admin.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &vb,
							VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
							t.Fatal(err)
						}
					}
				}
		}},
		{"GetBucketAcl", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b, query: "acl="}, nil
		}},
		{"ListObjects", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b}, nil
		}},
		{"ListObjectsV2", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b, query: "list-type=2"}, nil
		}},
		{"ListObjectVersions", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b, query: "versions="}, nil
		}},
		{"ListMultipartUploads", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b, query: "uploads="}, nil
		}},
		{"GetObject", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b + "/keep"}, nil
		}},
		{"HeadObject", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "HEAD", path: "/" + b + "/keep"}, nil
		}},
		{"GetObjectAcl", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b + "/keep", query: "acl="}, nil
		}},
		{"GetObjectTagging", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return s3Raw{method: "GET", path: "/" + b + "/keep", query: "tagging="}, nil
		}},
		{"ListParts", kindRead, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			k := fresh()
			return s3Raw{method: "GET", path: "/" + b + "/" + k, query: "uploadId=" + upload(t, k)}, nil
		}},
		{"PutObject", kindWrite, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return objWrite(t, s3Raw{method: "PUT", path: objPath, body: []byte("overwritten")}, "overwritten")
		}},
		{"CopyObject", kindWrite, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return objWrite(t, s3Raw{method: "PUT", path: objPath, hdr: map[string]string{"x-amz-copy-source": b + "/keep"}}, string(keep))
		}},
		{"DeleteObject", kindWrite, 204, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return objWrite(t, s3Raw{method: "DELETE", path: objPath}, "")
		}},
		{"DeleteObjects", kindWrite, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			return objWrite(t, s3Raw{method: "POST", path: "/" + b, query: "delete=",
				body: []byte(`<Delete><Object><Key>obj</Key></Object></Delete>`)}, "")
		}},
		{"CreateMultipartUpload", kindWrite, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			k := fresh()
			return s3Raw{method: "POST", path: "/" + b + "/" + k, query: "uploads="}, func(t *testing.T, allowed bool) {
				if got, want := uploadsOf(t, k), map[bool]int{true: 1, false: 0}[allowed]; got != want {
					t.Fatalf("%d uploads of %s, want %d", got, k, want)
				}
			}
		}},
		{"UploadPart", kindWrite, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			k := fresh()
			id := upload(t, k)
			return s3Raw{method: "PUT", path: "/" + b + "/" + k, query: "partNumber=1&uploadId=" + id, body: []byte("p")},
				func(t *testing.T, allowed bool) { wantParts(t, k, id, map[bool]int{true: 1, false: 0}[allowed]) }
		}},
		{"UploadPartCopy", kindWrite, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			k := fresh()
			id := upload(t, k)
			return s3Raw{method: "PUT", path: "/" + b + "/" + k, query: "partNumber=1&uploadId=" + id,
					hdr: map[string]string{"x-amz-copy-source": b + "/keep"}},
				func(t *testing.T, allowed bool) { wantParts(t, k, id, map[bool]int{true: 1, false: 0}[allowed]) }
		}},
		{"CompleteMultipartUpload", kindWrite, 200, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			k := fresh()
			id := upload(t, k)
			up, err := admin.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &k, UploadId: &id, PartNumber: aws.Int32(1),
				Body: strings.NewReader("part")})
			if err != nil {
				t.Fatal(err)
			}
			return s3Raw{method: "POST", path: "/" + b + "/" + k, query: "uploadId=" + id,
					body: []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + aws.ToString(up.ETag) +
						`</ETag></Part></CompleteMultipartUpload>`)},
				func(t *testing.T, allowed bool) {
					if allowed {
						if _, got := s3tGet(t, admin, b, k); string(got) != "part" {
							t.Fatalf("completed object is %q", got)
						}
						return
					}
					if exists(t, b, k) {
						t.Fatalf("a denied CompleteMultipartUpload made %s", k)
					}
					wantParts(t, k, id, 1)
				}
		}},
		{"AbortMultipartUpload", kindWrite, 204, func(t *testing.T) (s3Raw, func(*testing.T, bool)) {
			k := fresh()
			id := upload(t, k)
			return s3Raw{method: "DELETE", path: "/" + b + "/" + k, query: "uploadId=" + id}, func(t *testing.T, allowed bool) {
				_, err := parts(t, k, id)
				switch {
				case allowed && s3Code(err) != "NoSuchUpload":
					t.Fatalf("ListParts after abort: %v", err)
				case !allowed && err != nil:
					t.Fatalf("a denied abort removed the upload: %v", err)
				}
			}
		}},
	}
	for _, name := range s3AuthOps {
		if !slices.ContainsFunc(ops, func(o authOp) bool { return o.name == name }) {
			t.Fatalf("operation %s is missing from the matrix", name)
		}
	}
	if len(ops) != len(s3AuthOps) {
		t.Fatalf("%d operations in the matrix, %d in the list", len(ops), len(s3AuthOps))
	}

	whos := []authWho{
		{"anonymous", "", "", denyAll(http.StatusForbidden, "AccessDenied")},
		{"wrong-secret", writer.ID, writer.Value + "x", denyAll(http.StatusForbidden, "SignatureDoesNotMatch")},
		{"unknown-key", "CKUNKNOWNUNKNOWNUNKN", "whatever", denyAll(http.StatusForbidden, "InvalidAccessKeyId")},
		{"reader", reader.ID, reader.Value, allow(kindRoot, kindRead)},
		{"writer", writer.ID, writer.Value, allow(kindRoot, kindRead, kindWrite)},
		{"other-bucket-writer", otherBucket.ID, otherBucket.Value, allow(kindRoot)},
		{"account-admin", acctAdmin.ID, acctAdmin.Value, allow(kindRoot, kindRead, kindWrite, kindAdmin, kindCreate)},
		// keys of another account: for one of its buckets, for "*", its admin
		{"other-account-key", foreignOwn.ID, foreignOwn.Value, foreignExpect(false, http.StatusForbidden, "AccessDenied")},
		{"other-account-star", foreignStar.ID, foreignStar.Value, foreignExpect(false, http.StatusNotFound, "NoSuchBucket")},
		{"other-account-admin", foreignAdmin.ID, foreignAdmin.Value, foreignExpect(true, http.StatusNotFound, "NoSuchBucket")},
		{"server-admin", e.AdminKeyID, e.AdminKey, allow(kindRoot, kindRead, kindWrite, kindAdmin, kindCreate)},
	}
	for _, w := range whos {
		for _, o := range ops {
			t.Run(w.name+"/"+o.name, func(t *testing.T) {
				req, check := o.prep(t)
				r := s3tSend(t, e, w.id, w.secret, req)
				status, code := w.expect(o.kind)
				allowed := status == 0
				switch {
				case r.Header.Get("x-amz-request-id") == "":
					t.Fatalf("no x-amz-request-id (status %d)", r.Status)
				case allowed && r.Status != o.ok:
					t.Fatalf("status %d, want %d: %s", r.Status, o.ok, r.Body)
				case !allowed && req.method == "HEAD" && r.Status != status:
					t.Fatalf("status %d, want %d", r.Status, status)
				case !allowed && req.method != "HEAD":
					s3WantXMLError(t, w.name+" "+o.name, r, status, code)
				}
				if check != nil {
					check(t, allowed)
				}
			})
		}
	}
}

// TestS3Auth_DeniedBeforeBody: a key that may not change a bucket's
// versioning gets AccessDenied whatever the body holds, not the body's
// validation error.
func TestS3Auth_DeniedBeforeBody(t *testing.T) {
	t.Parallel()
	e := Start(t)
	b := e.Bucket(t)
	writer := e.NewKey(t, map[string]string{b: "write"})
	for _, body := range []string{"<VersioningConfiguration><Status>", "<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>", ""} {
		r := s3tSend(t, e, writer.ID, writer.Value, s3Raw{method: "PUT", path: "/" + b, query: "versioning=", body: []byte(body)})
		s3WantXMLError(t, "PutBucketVersioning by a writer with body "+body, r, http.StatusForbidden, "AccessDenied")
	}
}

// TestS3Auth_NoExistenceLeak: a key that may not see a bucket gets the
// same answer for it as for a bucket that does not exist, whichever
// operation it tries: a bucket of its own account it has no access to, a
// bucket of another account (for any key of that account, admin keys
// included), and as the source of a copy.
func TestS3Auth_NoExistenceLeak(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	admin := e.S3(t, e.AdminKeyID, e.AdminKey)
	b := e.Bucket(t)
	s3tPut(t, admin, b, "obj", []byte("original"))
	mine := e.Bucket(t)
	sameAccount := e.NewKey(t, map[string]string{mine: "write"})
	e.Admin(t, "accountcreate", map[string]any{"id": "acme", "name": "Acme"}, http.StatusCreated)
	var foreignAdmin, foreignStar, foreignOwn, foreignNaming Key
	e.Admin(t, "keycreate", map[string]any{"name": "acme-admin", "account": "acme", "admin": true}, http.StatusCreated).JSON(t, &foreignAdmin)
	acmeBucket := "acme-own-bucket"
	if _, err := e.S3(t, foreignAdmin.ID, foreignAdmin.Value).CreateBucket(context.Background(),
		&s3.CreateBucketInput{Bucket: &acmeBucket}); err != nil {
		t.Fatal(err)
	}
	e.Admin(t, "keycreate", map[string]any{"name": "acme-star", "account": "acme", "access": map[string]string{"*": "write"}},
		http.StatusCreated).JSON(t, &foreignStar)
	e.Admin(t, "keycreate", map[string]any{"name": "acme-own", "account": "acme", "access": map[string]string{acmeBucket: "write"}},
		http.StatusCreated).JSON(t, &foreignOwn)
	// a key of acme whose access map names the other account's bucket
	e.Admin(t, "keycreate", map[string]any{"name": "acme-naming", "account": "acme", "access": map[string]string{b: "write", "no-such-bucket-anywhere": "write"}},
		http.StatusCreated).JSON(t, &foreignNaming)

	type probe struct {
		name string
		req  func(bucket string) s3Raw
	}
	probes := []probe{
		{"HeadBucket", func(x string) s3Raw { return s3Raw{method: "HEAD", path: "/" + x} }},
		{"GetBucketLocation", func(x string) s3Raw { return s3Raw{method: "GET", path: "/" + x, query: "location="} }},
		{"ListObjectsV2", func(x string) s3Raw { return s3Raw{method: "GET", path: "/" + x, query: "list-type=2"} }},
		{"ListObjectVersions", func(x string) s3Raw { return s3Raw{method: "GET", path: "/" + x, query: "versions="} }},
		{"GetObject", func(x string) s3Raw { return s3Raw{method: "GET", path: "/" + x + "/obj"} }},
		{"HeadObject", func(x string) s3Raw { return s3Raw{method: "HEAD", path: "/" + x + "/obj"} }},
		{"PutObject", func(x string) s3Raw { return s3Raw{method: "PUT", path: "/" + x + "/obj", body: []byte("changed")} }},
		{"DeleteObject", func(x string) s3Raw { return s3Raw{method: "DELETE", path: "/" + x + "/obj"} }},
		{"CreateMultipartUpload", func(x string) s3Raw { return s3Raw{method: "POST", path: "/" + x + "/obj", query: "uploads="} }},
		{"PutBucketVersioning", func(x string) s3Raw {
			return s3Raw{method: "PUT", path: "/" + x, query: "versioning=",
				body: []byte(`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`)}
		}},
		{"DeleteBucket", func(x string) s3Raw { return s3Raw{method: "DELETE", path: "/" + x} }},
	}
	type who struct {
		name      string
		k         Key
		code      string // what every probe answers ("" for "the same either way")
		mayCreate bool
	}
	whos := []who{
		{"same-account key for another bucket", sameAccount, "AccessDenied", false},
		{"other-account key for its bucket", foreignOwn, "AccessDenied", false},
		{"other-account key naming the bucket", foreignNaming, "NoSuchBucket", false},
		{"other-account star key", foreignStar, "NoSuchBucket", false},
		{"other-account admin", foreignAdmin, "NoSuchBucket", true},
	}
	for _, w := range whos {
		t.Run(w.name, func(t *testing.T) {
			for _, p := range probes {
				there := s3tSend(t, e, w.k.ID, w.k.Value, p.req(b))
				missing := s3tSend(t, e, w.k.ID, w.k.Value, p.req("no-such-bucket-anywhere"))
				if there.Status != missing.Status || s3tErrCode(there) != s3tErrCode(missing) {
					t.Errorf("%s: %d %s for %s, %d %s for a bucket that does not exist", p.name,
						there.Status, s3tErrCode(there), b, missing.Status, s3tErrCode(missing))
				}
				if w.code != "" && p.req("").method != "HEAD" && s3tErrCode(there) != w.code {
					t.Errorf("%s: %d %s, want %s", p.name, there.Status, there.Body, w.code)
				}
				if there.Status < 400 {
					t.Errorf("%s on %s succeeded: %d", p.name, b, there.Status)
				}
			}
			// as the source of a copy into a bucket it may write
			dst := mine
			if w.k != sameAccount {
				dst = acmeBucket
			}
			var copies []*Resp
			for _, src := range []string{b, "no-such-bucket-anywhere"} {
				r := s3tSend(t, e, w.k.ID, w.k.Value, s3Raw{method: "PUT", path: "/" + dst + "/copied",
					hdr: map[string]string{"x-amz-copy-source": src + "/obj"}})
				if r.Status < 400 {
					t.Errorf("copy from %s into %s succeeded", src, dst)
				}
				copies = append(copies, r)
			}
			if there, missing := copies[0], copies[1]; there.Status != missing.Status || s3tErrCode(there) != s3tErrCode(missing) {
				t.Errorf("copy source: %d %s from %s, %d %s from a bucket that does not exist",
					there.Status, s3tErrCode(there), b, missing.Status, s3tErrCode(missing))
			}
			// CreateBucket: a key that may not create buckets learns nothing
			if !w.mayCreate {
				there := s3tSend(t, e, w.k.ID, w.k.Value, s3Raw{method: "PUT", path: "/" + b})
				missing := s3tSend(t, e, w.k.ID, w.k.Value, s3Raw{method: "PUT", path: "/not-created-by-" + strings.ToLower(w.k.ID)})
				for _, r := range []*Resp{there, missing} {
					if r.Status != http.StatusForbidden || s3tErrCode(r) != "AccessDenied" {
						t.Errorf("CreateBucket by a key that may not create buckets: %d %s", r.Status, r.Body)
					}
				}
			}
		})
	}
	// nothing any of them did changed b
	if _, got := s3tGet(t, admin, b, "obj"); string(got) != "original" {
		t.Fatalf("obj is %q", got)
	}
	lv, err := admin.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	if len(lv.Versions) != 1 || len(lv.DeleteMarkers) != 0 {
		t.Fatalf("%s holds %d versions and %d delete markers, want the one put", b, len(lv.Versions), len(lv.DeleteMarkers))
	}
	if v, err := admin.GetBucketVersioning(context.Background(), &s3.GetBucketVersioningInput{Bucket: &b}); err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning of %s: %v %v", b, v, err)
	}
}

// TestS3Auth_ListBuckets: ListBuckets shows each key the buckets it can
// read, and no others.
func TestS3Auth_ListBuckets(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	b1, b2 := e.Bucket(t), e.Bucket(t)
	e.Admin(t, "accountcreate", map[string]any{"id": "acme", "name": "Acme"}, http.StatusCreated)
	var acctAdmin, foreignAdmin, foreignStar, foreignNaming Key
	e.Admin(t, "keycreate", map[string]any{"name": "default-admin", "admin": true}, http.StatusCreated).JSON(t, &acctAdmin)
	e.Admin(t, "keycreate", map[string]any{"name": "acme-admin", "account": "acme", "admin": true}, http.StatusCreated).JSON(t, &foreignAdmin)
	a1 := "acme-bucket"
	if _, err := e.S3(t, foreignAdmin.ID, foreignAdmin.Value).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &a1}); err != nil {
		t.Fatal(err)
	}
	e.Admin(t, "keycreate", map[string]any{"name": "acme-star", "account": "acme", "access": map[string]string{"*": "read"}},
		http.StatusCreated).JSON(t, &foreignStar)
	e.Admin(t, "keycreate", map[string]any{"name": "acme-naming", "account": "acme", "access": map[string]string{b1: "write"}},
		http.StatusCreated).JSON(t, &foreignNaming)

	for _, c := range []struct {
		name string
		k    Key
		want []string
	}{
		{"reader of one", e.NewKey(t, map[string]string{b1: "read"}), []string{b1}},
		{"writer of the other", e.NewKey(t, map[string]string{b2: "write"}), []string{b2}},
		{"star reader", e.NewKey(t, map[string]string{"*": "read"}), []string{b1, b2}},
		{"account admin", acctAdmin, []string{b1, b2}},
		{"server admin", Key{e.AdminKeyID, e.AdminKey}, []string{"acme:" + a1, b1, b2}}, // another account's as tenant:bucket
		{"other-account admin", foreignAdmin, []string{a1}},
		{"other-account star", foreignStar, []string{a1}},
		{"other-account key naming a bucket of this one", foreignNaming, nil},
	} {
		r := s3tSend(t, e, c.k.ID, c.k.Value, s3Raw{method: "GET", path: "/"})
		var res struct {
			Buckets []string `xml:"Buckets>Bucket>Name"`
		}
		if r.Status != http.StatusOK || r.Header.Get("x-amz-request-id") == "" {
			t.Fatalf("%s: ListBuckets %d: %s", c.name, r.Status, r.Body)
		}
		if err := xml.Unmarshal(r.Body, &res); err != nil {
			t.Fatal(err)
		}
		slices.Sort(c.want)
		if !slices.Equal(res.Buckets, c.want) {
			t.Errorf("%s lists %q, want %q", c.name, res.Buckets, c.want)
		}
	}
}
