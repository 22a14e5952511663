package s3

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/schema"
)

// The keys of the unit tests. Accounts "a" and "b" are tenants; the
// server's admin key sees every account.
const (
	serverAdmin = "SERVERADMINKEY00"
	adminA      = "AKADMINAAAAAAAAA" // account a's admin key
	readerA     = "AKREADERAAAAAAAA" // account a, read grant on photos
	writerA     = "AKWRITERAAAAAAAA" // account a, write grant on photos
	noneA       = "AKNONEAAAAAAAAAA" // account a, no grants
	revokedA    = "AKREVOKEDAAAAAAA" // account a, revoked
	adminB      = "BKADMINBBBBBBBBB" // account b's admin key
	grantB      = "BKGRANTBBBBBBBBB" // account b, a grant naming "photos" (account a's bucket)
	noneB       = "BKNONEBBBBBBBBBB" // account b, no grants
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is an S3 handler over a fake core and fake projections.
type fixture struct {
	w *world
	h *Handler
}

// newFixture returns a handler whose world holds two accounts' buckets:
// a's photos, logs and edge (a cache service), b's theirs, shared (its
// read ACL names a's reader key) and public (a public read ACL).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := newWorld(start)
	for _, s := range []*schema.Service{
		{ID: "photos", Account: "a", Type: schema.ServiceStorage},
		{ID: "logs", Account: "a", Type: schema.ServiceStorage},
		{ID: "edge", Account: "a", Type: schema.ServiceCache},
		{ID: "theirs", Account: "b", Type: schema.ServiceStorage},
		{ID: "shared", Account: "b", Type: schema.ServiceStorage, Settings: schema.ServiceSettings{ReadACL: []string{"a:" + readerA}}},
		{ID: "public", Account: "b", Type: schema.ServiceStorage, Settings: schema.ServiceSettings{ReadACL: []string{schema.ACLPublicRead}}},
	} {
		s.Created = start
		w.PutService(*s)
	}
	for _, k := range []*schema.Key{
		{ID: adminA, Account: "a", Admin: true},
		{ID: readerA, Account: "a", Access: map[string]string{"photos": schema.AccessRead}},
		{ID: writerA, Account: "a", Access: map[string]string{"photos": schema.AccessWrite}},
		{ID: noneA, Account: "a"},
		{ID: revokedA, Account: "a", Access: map[string]string{"photos": schema.AccessWrite}, Revoked: true},
		{ID: adminB, Account: "b", Admin: true},
		{ID: grantB, Account: "b", Access: map[string]string{"photos": schema.AccessRead}},
		{ID: noneB, Account: "b"},
	} {
		w.PutKey(*k)
		w.secrets[k.ID] = "secret-of-" + k.ID
	}
	w.secrets[serverAdmin] = "secret-of-server"
	for _, o := range []struct{ bucket, key, body string }{
		{"photos", "a.txt", "photo a"}, {"logs", "l.txt", "log"}, {"edge", "e.txt", "cached"},
		{"theirs", "t.txt", "theirs"}, {"shared", "s.txt", "shared"}, {"public", "p.txt", "public"},
	} {
		w.add(o.bucket, o.key, []byte(o.body), nil)
	}
	st := fakeState{w}
	h := New(Deps{Core: fakeCore{w}, State: st, Auth: access.New(st, serverAdmin, "secret-of-server")})
	return &fixture{w: w, h: h}
}

// request is one request of a test.
type request struct {
	key     string // the signing key id; "" sends the request unsigned
	secret  string // overrides the key's secret
	method  string
	target  string // path and query
	body    string
	headers map[string]string
}

// sign builds r as a server receives it, signed with the SDK's signer
// as an S3 client signs it.
func (f *fixture) sign(t *testing.T, r request) *http.Request {
	t.Helper()
	req := httptest.NewRequest(r.method, "http://cairn.test"+r.target, strings.NewReader(r.body))
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	if r.key == "" {
		return req
	}
	sum := sha256.Sum256([]byte(r.body))
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	secret := r.secret
	if secret == "" {
		if secret = f.w.secrets[r.key]; secret == "" {
			secret = "unknown"
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: r.key, SecretAccessKey: secret}
	if err := signer.SignHTTP(context.Background(), creds, req, payload, "s3", "us-east-1", f.w.now); err != nil {
		t.Fatal(err)
	}
	return req
}

// do signs r and serves it.
func (f *fixture) do(t *testing.T, r request) *httptest.ResponseRecorder {
	t.Helper()
	return f.serve(f.sign(t, r))
}

func (f *fixture) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// errorCode is the Code of an S3 XML error document ("" without one).
func errorCode(rec *httptest.ResponseRecorder) string {
	var e struct{ Code string }
	_ = xml.Unmarshal(rec.Body.Bytes(), &e)
	return e.Code
}

// answer is a response as the tests compare it: status and wire error
// code.
type answer struct {
	status int
	code   string
}

func (a answer) String() string { return http.StatusText(a.status) + " " + a.code }

func answerOf(rec *httptest.ResponseRecorder) answer { return answer{rec.Code, errorCode(rec)} }

var (
	ok             = answer{http.StatusOK, ""}
	noSuchBucketA  = answer{http.StatusNotFound, "NoSuchBucket"}
	accessDeniedA  = answer{http.StatusForbidden, "AccessDenied"}
	noSuchKeyA     = answer{http.StatusNotFound, "NoSuchKey"}
	noSuchVersionA = answer{http.StatusNotFound, "NoSuchVersion"}
	notModified    = answer{http.StatusNotModified, ""}
	failed         = answer{http.StatusPreconditionFailed, "PreconditionFailed"}
)

func TestHandler_Handles(t *testing.T) {
	f := newFixture(t)
	signed := httptest.NewRequest(http.MethodGet, "http://cairn.test/photos", nil)
	signed.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	presigned := httptest.NewRequest(http.MethodGet, "http://cairn.test/photos/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256", nil)
	amz := httptest.NewRequest(http.MethodGet, "http://cairn.test/photos", nil)
	amz.Header.Set("x-amz-date", "20260301T120000Z")
	native := httptest.NewRequest(http.MethodGet, "http://cairn.test/photos", nil)
	native.Header.Set("x-owncdn-key", "k")
	for name, c := range map[string]struct {
		r    *http.Request
		want bool
	}{"signed": {signed, true}, "presigned": {presigned, true}, "x-amz header": {amz, true}, "native": {native, false}} {
		if got := f.h.Handles(c.r); got != c.want {
			t.Errorf("%s: Handles = %v, want %v", name, got, c.want)
		}
	}
}

func TestHandler_Routing(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		r    request
		want answer
	}{
		{"ListBuckets", request{method: "GET", target: "/"}, ok},
		{"POST on the root", request{method: "POST", target: "/"}, answer{http.StatusNotImplemented, "NotImplemented"}},
		{"ListObjectsV2", request{method: "GET", target: "/photos?list-type=2"}, ok},
		{"ListObjects", request{method: "GET", target: "/photos"}, ok},
		{"HeadBucket", request{method: "HEAD", target: "/photos"}, ok},
		{"GetBucketLocation", request{method: "GET", target: "/photos?location"}, ok},
		{"GetBucketPolicy: never configured", request{method: "GET", target: "/photos?policy"}, answer{http.StatusNotFound, "NoSuchBucketPolicy"}},
		{"GetBucketLogging: not implemented", request{method: "GET", target: "/photos?logging"}, answer{http.StatusNotImplemented, "NotImplemented"}},
		{"PUT of a bucket sub-resource", request{method: "PUT", target: "/photos?cors"}, answer{http.StatusNotImplemented, "NotImplemented"}},
		{"PATCH", request{method: "PATCH", target: "/photos/a.txt"}, answer{http.StatusNotImplemented, "NotImplemented"}},
		{"GetObject", request{method: "GET", target: "/photos/a.txt"}, ok},
		{"GetObjectAcl", request{method: "GET", target: "/photos/a.txt?acl"}, ok},
		{"GetObjectTagging", request{method: "GET", target: "/photos/a.txt?tagging"}, ok},
		{"GetObjectTorrent", request{method: "GET", target: "/photos/a.txt?torrent"}, answer{http.StatusNotImplemented, "NotImplemented"}},
		{"an invalid key", request{method: "GET", target: "/photos/" + strings.Repeat("k", schema.MaxPathBytes+1)}, answer{http.StatusBadRequest, "InvalidArgument"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.r.key = adminA
			if got := answerOf(f.do(t, c.r)); got != c.want {
				t.Errorf("%s %s = %v, want %v", c.r.method, c.r.target, got, c.want)
			}
		})
	}
	t.Run("ListBuckets shows what the key may read", func(t *testing.T) {
		body := f.do(t, request{key: readerA, method: "GET", target: "/"}).Body.String()
		for name, want := range map[string]bool{"photos": true, "b:shared": true, "shared": false, "logs": false, "theirs": false, "b:theirs": false, "edge": false} {
			if got := strings.Contains(body, "<Name>"+name+"</Name>"); got != want {
				t.Errorf("ListBuckets lists %s: %v, want %v\n%s", name, got, want, body)
			}
		}
	})
}

func TestHandler_Authenticate(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		r    request
		want answer
	}{
		{"unsigned", request{method: "GET", target: "/photos/a.txt"}, accessDeniedA},
		{"unsigned, public bucket: S3 has no anonymous reads", request{method: "GET", target: "/public/p.txt"}, accessDeniedA},
		{"signature version 2", request{method: "GET", target: "/photos/a.txt", headers: map[string]string{"Authorization": "AWS " + adminA + ":c2lnbmF0dXJl"}},
			answer{http.StatusBadRequest, "InvalidRequest"}},
		{"unknown key", request{key: "AKUNKNOWNAAAAAAA", method: "GET", target: "/photos/a.txt"}, answer{http.StatusForbidden, "InvalidAccessKeyId"}},
		{"revoked key", request{key: revokedA, method: "GET", target: "/photos/a.txt"}, answer{http.StatusForbidden, "InvalidAccessKeyId"}},
		{"wrong secret", request{key: adminA, secret: "not-the-secret", method: "GET", target: "/photos/a.txt"}, answer{http.StatusForbidden, "SignatureDoesNotMatch"}},
		{"server admin", request{key: serverAdmin, method: "GET", target: "/b:theirs/t.txt"}, ok},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := f.do(t, c.r)
			if got := answerOf(rec); got != c.want {
				t.Errorf("%s %s = %v, want %v: %s", c.r.method, c.r.target, got, c.want, rec.Body)
			}
			if _, ok := rec.Header()["X-Amz-Request-Id"]; !ok {
				t.Errorf("an answer without x-amz-request-id")
			}
		})
	}
}

// TestHandler_Access is the access table as S3 answers it: a bucket a key
// cannot see answers exactly as a missing one (NoSuchBucket to a key that
// may know, AccessDenied to any other), read grants do not write, and a
// cache service is refused only to a key that may read it.
func TestHandler_Access(t *testing.T) {
	get := func(target string) request { return request{method: "GET", target: target} }
	put := func(target string) request { return request{method: "PUT", target: target, body: "new"} }
	cases := []struct {
		name string
		key  string
		r    request
		want answer
	}{
		{"reader reads its bucket", readerA, get("/photos/a.txt"), ok},
		{"reader may not write", readerA, put("/photos/b.txt"), accessDeniedA},
		{"reader may not delete", readerA, request{method: "DELETE", target: "/photos/a.txt"}, accessDeniedA},
		{"writer writes", writerA, put("/photos/b.txt"), ok},
		{"reader: a bucket of its account without a grant", readerA, get("/logs/l.txt"), accessDeniedA},
		{"key without grants: its account's bucket", noneA, get("/photos/a.txt"), accessDeniedA},
		{"key without grants: a missing bucket", noneA, get("/nope/x"), accessDeniedA},
		{"account admin: a missing bucket", adminA, get("/nope/x"), noSuchBucketA},
		{"account admin: another account's bucket is missing", adminA, get("/theirs/t.txt"), noSuchBucketA},
		{"other account's admin: a's bucket is missing", adminB, get("/photos/a.txt"), noSuchBucketA},
		{"other account's admin: a missing bucket", adminB, get("/nope/x"), noSuchBucketA},
		{"other account's key granted the name: missing", grantB, get("/photos/a.txt"), noSuchBucketA},
		{"other account's key without grants: a's bucket", noneB, get("/photos/a.txt"), accessDeniedA},
		{"other account's key without grants: a missing bucket", noneB, get("/nope/x"), accessDeniedA},
		{"a read ACL shares a bucket across accounts, named tenant:bucket", readerA, get("/b:shared/s.txt"), ok},
		{"another account's bucket is not named by its name alone", readerA, get("/shared/s.txt"), accessDeniedA},
		{"a read ACL does not open writes", readerA, put("/b:shared/n.txt"), accessDeniedA},
		{"a public ACL does not open a bucket in S3", readerA, get("/public/p.txt"), accessDeniedA},
		{"server admin reads every account, as tenant:bucket", serverAdmin, get("/b:theirs/t.txt"), ok},
		{"server admin learns a bucket is missing", serverAdmin, get("/nope/x"), noSuchBucketA},
		{"a cache service, to a key that may read it", adminA, get("/edge/e.txt"), answer{http.StatusMethodNotAllowed, "MethodNotAllowed"}},
		{"a cache service, to a key that may not", noneA, get("/edge/e.txt"), accessDeniedA},
		{"copy from a hidden bucket", adminB, request{method: "PUT", target: "/theirs/copy", headers: map[string]string{"x-amz-copy-source": "/photos/a.txt"}}, noSuchBucketA},
		{"copy from a bucket the key may not read", writerA, request{method: "PUT", target: "/photos/copy", headers: map[string]string{"x-amz-copy-source": "/logs/l.txt"}}, accessDeniedA},
		{"copy from a cache service", adminA, request{method: "PUT", target: "/photos/copy", headers: map[string]string{"x-amz-copy-source": "/edge/e.txt"}},
			answer{http.StatusBadRequest, "InvalidArgument"}},
		{"copy into a bucket read-only to the key", readerA, request{method: "PUT", target: "/photos/copy", headers: map[string]string{"x-amz-copy-source": "/shared/s.txt"}}, accessDeniedA},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.r.key = c.key
			rec := f.do(t, c.r)
			if got := answerOf(rec); got != c.want {
				t.Errorf("%s %s by %s = %v, want %v: %s", c.r.method, c.r.target, c.key, got, c.want, rec.Body)
			}
			if got := answerOf(rec); got.status >= 400 && len(f.w.called()) > 0 {
				t.Errorf("a refused request reached the core: %q", f.w.called())
			}
			head := c.r
			if head.method != "GET" {
				return
			}
			head.method = "HEAD"
			rec = f.do(t, head)
			if rec.Code != c.want.status || (rec.Code >= 400 && rec.Body.Len() > 0) {
				t.Errorf("HEAD %s by %s = %d with %d bytes, want %d and no body", c.r.target, c.key, rec.Code, rec.Body.Len(), c.want.status)
			}
		})
	}
}

// TestHandler_Versions covers which version a read serves: the newest,
// by id ("null" included), as of a moment (x-cairn-asof), and what a
// delete marker or an expired version answers.
func TestHandler_Versions(t *testing.T) {
	f := newFixture(t)
	one := f.w.add("photos", "doc", []byte("one"), nil)
	two := f.w.add("photos", "doc", []byte("two"), nil)
	f.w.add("photos", "gone", []byte("was here"), nil)
	marker := f.w.add("photos", "gone", nil, nil)
	f.w.add("photos", "n", []byte("null version"), func(v *schema.Version) { v.Null = true })
	f.w.add("photos", "n", []byte("newer"), nil)
	expired := f.w.add("photos", "exp", []byte("expired"), func(v *schema.Version) { v.DeleteAt = start.Unix() })
	afterTwo := "sync:" + itoa(two.SyncID)
	cases := []struct {
		name    string
		target  string
		headers map[string]string
		want    answer
		body    string // the body of a 200
		version string // x-amz-version-id of a 200
		marker  bool   // x-amz-delete-marker: true
	}{
		{"newest", "/photos/doc", nil, ok, "two", two.Version, false},
		{"by id", "/photos/doc?versionId=" + one.Version, nil, ok, "one", one.Version, false},
		{"by an unknown id", "/photos/doc?versionId=v999", nil, noSuchVersionA, "", "", false},
		{"by the null id", "/photos/n?versionId=null", nil, ok, "null version", "null", false},
		{"by null when there is none", "/photos/doc?versionId=null", nil, noSuchVersionA, "", "", false},
		{"a delete marker answers 404 NoSuchKey", "/photos/gone", nil, noSuchKeyA, "", "", true},
		{"a delete marker by id answers 405", "/photos/gone?versionId=" + marker.Version, nil,
			answer{http.StatusMethodNotAllowed, "MethodNotAllowed"}, "", "", true},
		{"a missing key", "/photos/none", nil, noSuchKeyA, "", "", false},
		{"as of a moment (header)", "/photos/doc", map[string]string{AsOfHeader: "sync:" + itoa(one.SyncID)}, ok, "one", one.Version, false},
		{"as of a moment (query)", "/photos/doc?" + AsOfHeader + "=" + afterTwo, nil, ok, "two", two.Version, false},
		{"as of a moment before the key", "/photos/doc", map[string]string{AsOfHeader: "sync:1"}, noSuchKeyA, "", "", false},
		{"as of a moment before any change", "/photos/doc", map[string]string{AsOfHeader: "sync:0"}, noSuchKeyA, "", "", false},
		{"as of a moment the key was deleted", "/photos/gone", map[string]string{AsOfHeader: "sync:" + itoa(marker.SyncID)}, noSuchKeyA, "", "", false},
		{"as of an invalid moment", "/photos/doc", map[string]string{AsOfHeader: "yesterday"}, answer{http.StatusBadRequest, "InvalidArgument"}, "", "", false},
		{"version id and moment together", "/photos/doc?versionId=" + one.Version, map[string]string{AsOfHeader: afterTwo},
			answer{http.StatusBadRequest, "InvalidArgument"}, "", "", false},
		{"an expired version", "/photos/exp", nil, noSuchKeyA, "", "", false},
		{"an expired version by id", "/photos/exp?versionId=" + expired.Version, nil, noSuchVersionA, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				rec := f.do(t, request{key: readerA, method: method, target: c.target, headers: c.headers})
				if got := answerOf(rec); got.status != c.want.status || (method == "GET" && got.code != c.want.code) {
					t.Fatalf("%s %s = %v, want %v: %s", method, c.target, got, c.want, rec.Body)
				}
				if got := rec.Header().Get("x-amz-delete-marker") == "true"; got != c.marker {
					t.Errorf("%s %s: x-amz-delete-marker %v, want %v", method, c.target, got, c.marker)
				}
				if c.want != ok {
					continue
				}
				if got := rec.Header().Get("x-amz-version-id"); got != c.version {
					t.Errorf("%s %s: x-amz-version-id %q, want %q", method, c.target, got, c.version)
				}
				if method == "GET" && rec.Body.String() != c.body {
					t.Errorf("GET %s = %q, want %q", c.target, rec.Body, c.body)
				}
			}
		})
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestHandler_Conditions covers the conditional headers of GET and HEAD
// (RFC 9110 through schema.Conditions: strong If-Match, weak
// If-None-Match, dates only without a tag condition) and of a copy's
// source (x-amz-copy-source-if-*, where "not modified" fails the copy).
func TestHandler_Conditions(t *testing.T) {
	f := newFixture(t)
	v := f.w.add("photos", "c.txt", []byte("conditional"), nil)
	etag := `"` + v.ETag + `"`
	before := v.Time.Add(-time.Hour).Format(http.TimeFormat)
	at := v.Time.Format(http.TimeFormat)
	cases := []struct {
		name    string
		headers map[string]string
		want    answer
	}{
		{"no condition", nil, ok},
		{"If-Match holds", map[string]string{"If-Match": etag}, ok},
		{"If-Match *", map[string]string{"If-Match": "*"}, ok},
		{"If-Match in a list", map[string]string{"If-Match": `"other", ` + etag}, ok},
		{"If-Match fails", map[string]string{"If-Match": `"other"`}, failed},
		{"If-Match compares strongly", map[string]string{"If-Match": "W/" + etag}, failed},
		{"If-None-Match matches", map[string]string{"If-None-Match": etag}, notModified},
		{"If-None-Match compares weakly", map[string]string{"If-None-Match": "W/" + etag}, notModified},
		{"If-None-Match *", map[string]string{"If-None-Match": "*"}, notModified},
		{"If-None-Match does not match", map[string]string{"If-None-Match": `"other"`}, ok},
		{"If-Modified-Since: not modified", map[string]string{"If-Modified-Since": at}, notModified},
		{"If-Modified-Since: modified", map[string]string{"If-Modified-Since": before}, ok},
		{"If-Unmodified-Since fails", map[string]string{"If-Unmodified-Since": before}, failed},
		{"If-Unmodified-Since holds", map[string]string{"If-Unmodified-Since": at}, ok},
		{"If-Match wins over If-Unmodified-Since", map[string]string{"If-Match": etag, "If-Unmodified-Since": before}, ok},
		{"If-None-Match wins over If-Modified-Since", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": at}, ok},
		{"an invalid date is ignored", map[string]string{"If-Unmodified-Since": "not a date"}, ok},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				rec := f.do(t, request{key: readerA, method: method, target: "/photos/c.txt", headers: c.headers})
				got := answerOf(rec)
				if method == "HEAD" {
					got.code = c.want.code // HEAD errors have no body
				}
				if got != c.want {
					t.Errorf("%s with %v = %v, want %v", method, c.headers, got, c.want)
				}
				if c.want.status != http.StatusOK && rec.Body.Len() > 0 && (method == "HEAD" || c.want == notModified) {
					t.Errorf("%s with %v has a body: %q", method, c.headers, rec.Body)
				}
			}
			// The same conditions on a copy's source: any verdict but
			// "proceed" fails the copy with 412.
			hd := map[string]string{"x-amz-copy-source": "/photos/c.txt"}
			for k, val := range c.headers {
				hd["x-amz-copy-source-"+k] = val
			}
			want := c.want
			if want == notModified {
				want = failed
			}
			rec := f.do(t, request{key: writerA, method: "PUT", target: "/photos/copy.txt", headers: hd})
			if got := answerOf(rec); got != want {
				t.Errorf("copy with source conditions %v = %v, want %v: %s", c.headers, got, want, rec.Body)
			}
		})
	}
}

// TestHandler_PutObject is the write path: what the core is asked, what
// the client is told, and that the next read sees it.
func TestHandler_PutObject(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, request{key: writerA, method: "PUT", target: "/photos/new.txt", body: "fresh bytes",
		headers: map[string]string{"Content-Type": "text/markdown", "x-amz-meta-colour": "blue", "Cache-Control": "no-cache"}})
	sum := md5.Sum([]byte("fresh bytes"))
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` || rec.Header().Get("x-amz-version-id") == "" {
		t.Fatalf("PutObject = %d ETag %q version %q: %s", rec.Code, rec.Header().Get("ETag"), rec.Header().Get("x-amz-version-id"), rec.Body)
	}
	if got, want := f.w.called(), []string{"PutObject photos/new.txt by " + writerA + " via s3"}; !equal(got, want) {
		t.Errorf("the core was asked %q, want %q", got, want)
	}
	get := f.do(t, request{key: readerA, method: "GET", target: "/photos/new.txt"})
	if get.Body.String() != "fresh bytes" || get.Header().Get("Content-Type") != "text/markdown" ||
		strings.Join(get.Header()["X-Amz-Meta-colour"], "") != "blue" || get.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("GET after PUT = %q type %q meta %q cache %q", get.Body, get.Header().Get("Content-Type"),
			get.Header()["X-Amz-Meta-colour"], get.Header().Get("Cache-Control"))
	}

	for _, c := range []struct {
		name    string
		headers map[string]string
		want    answer
	}{
		{"If-None-Match * on an existing key", map[string]string{"If-None-Match": "*"}, failed},
		{"If-None-Match with a tag", map[string]string{"If-None-Match": `"abc"`}, answer{http.StatusNotImplemented, "NotImplemented"}},
		{"If-Match of another version", map[string]string{"If-Match": `"abc"`}, failed},
		{"If-Match of the current version", map[string]string{"If-Match": `"` + hex.EncodeToString(sum[:]) + `"`}, ok},
		{"a storage class Cairn does not have", map[string]string{"x-amz-storage-class": "GLACIER"}, answer{http.StatusBadRequest, "InvalidStorageClass"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := f.do(t, request{key: writerA, method: "PUT", target: "/photos/new.txt", body: "other", headers: c.headers})
			if got := answerOf(rec); got != c.want {
				t.Errorf("PUT with %v = %v, want %v: %s", c.headers, got, c.want, rec.Body)
			}
		})
	}
	t.Run("a body that does not match its signed hash", func(t *testing.T) {
		req := request{key: writerA, method: "PUT", target: "/photos/tampered.txt", body: "signed"}
		// A man in the middle replaces the signed body with other bytes
		// of the same length.
		signed := f.sign(t, req)
		signed.Body = io.NopCloser(strings.NewReader("forged"))
		rec := f.serve(signed)
		if rec.Code != http.StatusBadRequest || errorCode(rec) != "XAmzContentSHA256Mismatch" {
			t.Errorf("tampered PUT = %v", answerOf(rec))
		}
		if got := f.do(t, request{key: readerA, method: "GET", target: "/photos/tampered.txt"}); got.Code != http.StatusNotFound {
			t.Errorf("a tampered PUT was stored: GET = %d", got.Code)
		}
	})
}

// TestHandler_DeleteObject: a delete adds a marker that the next read
// answers; deleting what is not there succeeds, as in S3.
func TestHandler_DeleteObject(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, request{key: writerA, method: "DELETE", target: "/photos/a.txt"})
	if rec.Code != http.StatusNoContent || rec.Header().Get("x-amz-delete-marker") != "true" || rec.Header().Get("x-amz-version-id") == "" {
		t.Fatalf("DeleteObject = %d marker %q version %q", rec.Code, rec.Header().Get("x-amz-delete-marker"), rec.Header().Get("x-amz-version-id"))
	}
	marker := rec.Header().Get("x-amz-version-id")
	get := f.do(t, request{key: readerA, method: "GET", target: "/photos/a.txt"})
	if answerOf(get) != noSuchKeyA || get.Header().Get("x-amz-delete-marker") != "true" {
		t.Errorf("GET after delete = %v marker %q", answerOf(get), get.Header().Get("x-amz-delete-marker"))
	}
	if rec := f.do(t, request{key: writerA, method: "DELETE", target: "/photos/a.txt"}); rec.Code != http.StatusNoContent {
		t.Errorf("deleting a deleted key = %d, want 204", rec.Code)
	}
	copyMarker := f.do(t, request{key: writerA, method: "PUT", target: "/photos/copy",
		headers: map[string]string{"x-amz-copy-source": "/photos/a.txt?versionId=" + marker}})
	if got := answerOf(copyMarker); got != (answer{http.StatusBadRequest, "InvalidRequest"}) {
		t.Errorf("copy of a delete marker by id = %v, want 400 InvalidRequest", got)
	}
	copyDeleted := f.do(t, request{key: writerA, method: "PUT", target: "/photos/copy",
		headers: map[string]string{"x-amz-copy-source": "/photos/a.txt"}})
	if got := answerOf(copyDeleted); got != noSuchKeyA || copyDeleted.Header().Get("x-amz-delete-marker") != "" {
		t.Errorf("copy of a deleted key = %v marker %q, want 404 NoSuchKey without marker headers", got, copyDeleted.Header().Get("x-amz-delete-marker"))
	}
	if rec := f.do(t, request{key: writerA, method: "DELETE", target: "/photos/a.txt?versionId=" + marker}); rec.Code != http.StatusNoContent ||
		rec.Header().Get("x-amz-delete-marker") != "true" {
		t.Errorf("removing the delete marker = %d marker %q", rec.Code, rec.Header().Get("x-amz-delete-marker"))
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }
