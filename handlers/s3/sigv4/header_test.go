package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// trickyKeys are object keys whose canonical URI needs care.
var trickyKeys = []string{
	"plain.txt",
	"with space.txt",
	"ünïcødé/日本語.bin",
	"plus+sign",
	"bang!star*paren(s)",
	"it's",
	"100%",
	"percent%2Fslash",
	"k=v&x=y",
	"~tilde_under-dot.",
	"double//slash/",
	"semi;colon:at@comma,dollar$",
	"?question#hash",
}

func TestVerify_HeaderTrickyKeys(t *testing.T) {
	for _, key := range trickyKeys {
		t.Run(key, func(t *testing.T) {
			r := signed(t, http.MethodGet, testURL("bucket", key, ""), nil, emptySHA256, nil)
			res, _ := mustVerify(t, r)
			if res.KeyID != testKeyID || res.Region != testRegion || res.Presigned || res.Payload != emptySHA256 {
				t.Fatalf("result = %+v", res)
			}
			if got := strings.TrimPrefix(r.URL.Path, "/bucket/"); got != key {
				t.Fatalf("path decoded to %q", got)
			}
		})
	}
}

// Clients that sign the path exactly as they escaped it (Go's default
// escaping, which leaves + = & ! * ... alone) verify through the fallback.
func TestVerify_HeaderPathAsSent(t *testing.T) {
	for _, key := range trickyKeys {
		t.Run(key, func(t *testing.T) {
			r := newRequest(t, http.MethodGet, "http://"+testHost+"/", nil)
			r.URL.Path = "/bucket/" + key
			r.URL.RawPath = ""
			r.RequestURI = r.URL.RequestURI()
			r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
			if err := s3Signer().SignHTTP(context.Background(), testCreds(), r, emptySHA256, "s3", testRegion, testTime); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, r)
			// The fallback is no loophole: another path still fails.
			r.URL.Path += "x"
			r.RequestURI = r.URL.RequestURI()
			_, err := verifyAt(r, testTime)
			wantCode(t, err, CodeSignatureDoesNotMatch)
		})
	}
}

func TestVerify_HeaderQuery(t *testing.T) {
	queries := []string{
		"list-type=2&prefix=a%20b&delimiter=%2F",
		"multi=b&multi=a&empty=&flag",
		"uploads",
		"prefix=%E6%97%A5%2B%3D%26&marker=x~y&max-keys=10",
		"acl&versionId=3%2F4",
	}
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			r := signed(t, http.MethodGet, testURL("bucket", "", q), nil, emptySHA256, nil)
			mustVerify(t, r)
		})
	}
}

// The canonical query sorts a repeated parameter's values (the AWS rule),
// and also accepts Go's url.Values.Encode order, which keeps them in request
// order, as some clients sign it.
func TestVerify_HeaderQueryValueOrder(t *testing.T) {
	for _, canonical := range []string{"a=1&a=2&z=1", "a=2&a=1&z=1"} {
		t.Run(canonical, func(t *testing.T) {
			r := newRequest(t, http.MethodGet, "http://"+testHost+"/bucket/k?z=1&a=2&a=1", nil)
			r.Header.Set("X-Amz-Date", testTime.Format(iso8601))
			r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
			r.Header.Set("Authorization", refSign(r, testSecret, testTime.Format(iso8601), canonical,
				[]string{"host", "x-amz-content-sha256", "x-amz-date"}, emptySHA256))
			mustVerify(t, r)
		})
	}
	r := newRequest(t, http.MethodGet, "http://"+testHost+"/bucket/k?z=1&a=2&a=1", nil)
	r.Header.Set("X-Amz-Date", testTime.Format(iso8601))
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	r.Header.Set("Authorization", refSign(r, testSecret, testTime.Format(iso8601), "z=1&a=2&a=1",
		[]string{"host", "x-amz-content-sha256", "x-amz-date"}, emptySHA256))
	_, err := verifyAt(r, testTime)
	wantCode(t, err, CodeSignatureDoesNotMatch)
}

func TestVerify_HeaderPutSignedPayload(t *testing.T) {
	body := bytes.Repeat([]byte("cairn "), 1000)
	r := signed(t, http.MethodPut, testURL("bucket", "obj", ""), body, "", map[string]string{
		"Content-Type":    "text/plain",
		"X-Amz-Meta-Note": "  two   spaces  ",
	})
	res, got := mustVerify(t, r)
	if !bytes.Equal(got, body) {
		t.Fatal("body changed")
	}
	if res.Payload != hashHex(body) || res.DecodedLength != int64(len(body)) {
		t.Fatalf("result = %+v", res)
	}
	if res.BodyErr() != nil || BodyError(r) != nil {
		t.Fatal("BodyErr set on success")
	}
}

func TestVerify_HeaderUnsignedPayloadPassesThrough(t *testing.T) {
	body := []byte("anything at all")
	r := signed(t, http.MethodPut, testURL("bucket", "obj", ""), body, UnsignedPayload, nil)
	orig := r.Body
	res, got := mustVerify(t, r)
	if res.Payload != UnsignedPayload || !bytes.Equal(got, body) {
		t.Fatalf("result = %+v body %q", res, got)
	}
	if r.Body != orig {
		t.Fatal("body replaced though there was nothing to verify")
	}
}

func TestVerify_HeaderTampered(t *testing.T) {
	body := []byte("the payload")
	fresh := func(t *testing.T) *http.Request {
		return signed(t, http.MethodPut, testURL("bucket", "a b+c", "tagging"), body, "", map[string]string{
			"X-Amz-Meta-Color": "blue",
		})
	}
	cases := []struct {
		name   string
		tamper func(r *http.Request)
		now    time.Time
		secret func(context.Context, string) (string, error)
		code   string
	}{
		{name: "method", tamper: func(r *http.Request) { r.Method = http.MethodPost }, code: CodeSignatureDoesNotMatch},
		{name: "path", tamper: func(r *http.Request) {
			r.URL.Path, r.URL.RawPath = "/bucket/a b+d", ""
			r.RequestURI = r.URL.RequestURI()
		}, code: CodeSignatureDoesNotMatch},
		{name: "query", tamper: func(r *http.Request) { withQuery(r, "tagging&versionId=1") }, code: CodeSignatureDoesNotMatch},
		{name: "query value", tamper: func(r *http.Request) { withQuery(r, "tagging=x") }, code: CodeSignatureDoesNotMatch},
		{name: "signed header", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Meta-Color", "red") }, code: CodeSignatureDoesNotMatch},
		{name: "host", tamper: func(r *http.Request) { r.Host = "evil.test" }, code: CodeSignatureDoesNotMatch},
		{name: "content length", tamper: func(r *http.Request) { r.ContentLength++ }, code: CodeSignatureDoesNotMatch},
		{name: "body", tamper: func(r *http.Request) { r.Body = readerOf([]byte("the paylo4d")) }, code: CodeXAmzContentSHA256Mismatch},
		{name: "body short", tamper: func(r *http.Request) { r.Body = readerOf([]byte("the")) }, code: CodeIncompleteBody},
		{name: "clock behind", now: testTime.Add(16 * time.Minute), code: CodeRequestTimeTooSkewed},
		{name: "clock ahead", now: testTime.Add(-16 * time.Minute), code: CodeRequestTimeTooSkewed},
		{name: "secret", secret: func(context.Context, string) (string, error) { return "wrong", nil }, code: CodeSignatureDoesNotMatch},
		{name: "unknown key id", tamper: func(r *http.Request) { replaceAuth(r, testKeyID, "AKIDNOSUCHKEY") }, code: CodeInvalidAccessKeyID},
		{name: "other key id", tamper: func(r *http.Request) { replaceAuth(r, testKeyID, otherKeyID) }, code: CodeSignatureDoesNotMatch},
		{name: "region", tamper: func(r *http.Request) { replaceAuth(r, "/us-east-1/", "/eu-west-1/") }, code: CodeSignatureDoesNotMatch},
		{name: "signature", tamper: func(r *http.Request) {
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:len(h)-1]+flipHex(h[len(h)-1:]))
		}, code: CodeSignatureDoesNotMatch},
		{name: "unsigned x-amz header", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }, code: CodeAccessDenied},
		{name: "no content sha256", tamper: func(r *http.Request) { r.Header.Del("X-Amz-Content-Sha256") }, code: CodeInvalidRequest},
		{name: "bad content sha256", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "nope") }, code: CodeInvalidArgument},
		{name: "date", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Date", testTime.Add(time.Second).Format(iso8601)) }, code: CodeSignatureDoesNotMatch},
		{name: "bad date", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Date", "yesterday") }, code: CodeAccessDenied},
		{name: "no date", tamper: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, code: CodeAccessDenied},
		{name: "scope date", tamper: func(r *http.Request) { replaceAuth(r, "/20261122/", "/20261121/") }, code: CodeAuthorizationHeaderMalform},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := fresh(t)
			if tc.tamper != nil {
				tc.tamper(r)
			}
			now := testTime
			if !tc.now.IsZero() {
				now = tc.now
			}
			secret := testSecrets
			if tc.secret != nil {
				secret = tc.secret
			}
			_, err := NewVerifier().Verify(r, now, secret)
			if err == nil {
				_, err = readBody(r)
				if err != nil && BodyError(r) == nil {
					t.Fatal("BodyError is nil after a body failure")
				}
			}
			wantCode(t, err, tc.code)
		})
	}
}

// The untampered request of TestVerify_HeaderTampered verifies, within
// the allowed skew on either side.
func TestVerify_HeaderSkewWithinLimit(t *testing.T) {
	for _, d := range []time.Duration{-15 * time.Minute, 0, 15 * time.Minute} {
		r := signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil)
		if _, err := verifyAt(r, testTime.Add(d)); err != nil {
			t.Fatalf("skew %v: %v", d, err)
		}
	}
}

func TestVerify_HeaderLookupError(t *testing.T) {
	r := signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil)
	_, err := NewVerifier().Verify(r, testTime, func(context.Context, string) (string, error) { return "", errNoKey })
	wantCode(t, err, CodeInvalidAccessKeyID)
	if !errors.Is(err, errNoKey) {
		t.Fatal("cause not wrapped")
	}
	own := &Error{Code: CodeAccessDenied, Status: http.StatusForbidden, Message: "disabled"}
	r = signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil)
	_, err = NewVerifier().Verify(r, testTime, func(context.Context, string) (string, error) { return "", own })
	if err != own {
		t.Fatalf("error = %v, want the lookup's own *Error", err)
	}
}

func TestVerify_HeaderParsing(t *testing.T) {
	r := signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil)
	auth := r.Header.Get("Authorization")
	variants := map[string]string{
		"no spaces":    strings.ReplaceAll(auth, ", ", ","),
		"extra spaces": strings.ReplaceAll(strings.Replace(auth, " ", "   ", 1), ", ", " ,  "),
		"reordered":    reorderAuth(auth),
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			r := signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil)
			r.Header.Set("Authorization", v)
			mustVerify(t, r)
		})
	}
}

func TestVerify_HeaderMalformed(t *testing.T) {
	r := signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil)
	auth := r.Header.Get("Authorization")
	cred := "Credential=" + testKeyID + "/20261122/us-east-1/s3/aws4_request"
	sig := auth[strings.Index(auth, "Signature="):]
	cases := map[string]string{
		"no signature":     strings.Split(auth, ", Signature=")[0],
		"short signature":  auth[:len(auth)-2],
		"non-hex":          auth[:len(auth)-1] + "z",
		"no credential":    "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-content-sha256;x-amz-date, " + sig,
		"short credential": "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20261122/us-east-1/s3, SignedHeaders=host;x-amz-date, " + sig,
		"service":          strings.Replace(auth, "/s3/", "/ec2/", 1),
		"terminator":       strings.Replace(auth, "aws4_request", "aws5_request", 1),
		"credential date":  strings.Replace(auth, "/20261122/", "/2026-11-22/", 1),
		"host not signed":  "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-content-sha256;x-amz-date, " + sig,
		"empty header":     "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, " + sig,
		"unknown field":    auth + ", Extra=1",
		"repeated field":   auth + ", " + sig,
		"no components":    "AWS4-HMAC-SHA256",
		"no space":         "AWS4-HMAC-SHA256Credential=x",
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			r := signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil)
			r.Header.Set("Authorization", v)
			_, err := verifyAt(r, testTime)
			wantCode(t, err, CodeAuthorizationHeaderMalform)
		})
	}
}

func TestVerify_HeaderDateHeader(t *testing.T) {
	r := newRequest(t, http.MethodGet, "http://"+testHost+"/bucket/k", nil)
	r.Header.Set("Date", testTime.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	r.Header.Set("Authorization", refSign(r, testSecret, testTime.Format(iso8601), "",
		[]string{"date", "host", "x-amz-content-sha256"}, emptySHA256))
	mustVerify(t, r)
	_, err := verifyAt(r, testTime.Add(time.Hour))
	wantCode(t, err, CodeRequestTimeTooSkewed)
}

func TestVerify_OtherSchemes(t *testing.T) {
	cases := []struct {
		name, auth, query, code string
	}{
		{"none", "", "", CodeAccessDenied},
		{"v2 header", "AWS " + testKeyID + ":c2lnbmF0dXJl", "", CodeInvalidRequest},
		{"v2 query", "", "AWSAccessKeyId=" + testKeyID + "&Signature=x&Expires=1", CodeInvalidRequest},
		{"unknown scheme", "Bearer token", "", CodeInvalidArgument},
		{"both forms", "AWS4-HMAC-SHA256 Credential=x", "X-Amz-Algorithm=AWS4-HMAC-SHA256", CodeInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(t, http.MethodGet, testURL("bucket", "k", tc.query), nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			_, err := verifyAt(r, testTime)
			wantCode(t, err, tc.code)
		})
	}
}

func TestVerify_Signed(t *testing.T) {
	cases := map[string]struct {
		auth, query string
		want        bool
	}{
		"header":  {"AWS4-HMAC-SHA256 Credential=x", "", true},
		"query":   {"", "a=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&b", true},
		"v2":      {"AWS AK:sig", "", false},
		"v2query": {"", "AWSAccessKeyId=a&Signature=b", false},
		"none":    {"", "", false},
		"other":   {"", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256", false},
	}
	for name, tc := range cases {
		r := newRequest(t, http.MethodGet, testURL("b", "k", tc.query), nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := Signed(r); got != tc.want {
			t.Errorf("%s: Signed = %v", name, got)
		}
	}
}

// net/http moves Host, Content-Length and Transfer-Encoding out of
// r.Header; a request that signed them still verifies.
func TestVerify_HeaderReconstructed(t *testing.T) {
	body := []byte("0123456789")
	r := signed(t, http.MethodPut, testURL("bucket", "k", ""), body, "", nil)
	if !strings.Contains(r.Header.Get("Authorization"), "content-length;host") {
		t.Fatalf("SDK did not sign content-length and host: %s", r.Header.Get("Authorization"))
	}
	if r.Header.Get("Content-Length") != "" || r.Header.Get("Host") != "" {
		t.Fatal("test request carries the moved headers")
	}
	mustVerify(t, r)

	r = newRequest(t, http.MethodPut, "http://"+testHost+"/bucket/k", nil)
	r.TransferEncoding = []string{"chunked"}
	r.ContentLength = -1
	r.Header.Set("X-Amz-Date", testTime.Format(iso8601))
	r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
	r.Header.Set("Transfer-Encoding", "chunked")
	r.Header.Set("Authorization", refSign(r, testSecret, testTime.Format(iso8601), "",
		[]string{"host", "transfer-encoding", "x-amz-content-sha256", "x-amz-date"}, UnsignedPayload))
	r.Header.Del("Transfer-Encoding")
	mustVerify(t, r)
}

func replaceAuth(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

func flipHex(s string) string {
	if s == "0" {
		return "1"
	}
	return "0"
}

func reorderAuth(auth string) string {
	rest := strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 ")
	parts := strings.Split(rest, ", ")
	return "AWS4-HMAC-SHA256 " + parts[2] + ", " + parts[0] + ", " + parts[1]
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func readerOf(b []byte) nopCloser { return nopCloser{bytes.NewReader(b)} }

// Signing keys are derived as AWS derives them (the long-secret path
// included), and only keys that verified a signature are cached.
func TestVerify_SigningKey(t *testing.T) {
	ref := func(secret string) []byte {
		key := []byte("AWS4" + secret)
		for _, m := range []string{"20261122", "us-east-1", "s3", "aws4_request"} {
			key = hmacOf(key, m)
		}
		return key
	}
	for _, secret := range []string{"", "short", testSecret, strings.Repeat("s", 60), strings.Repeat("l", 61), strings.Repeat("x", 200)} {
		k, _ := new(keyCache).signingKey(secret, "20261122", "us-east-1")
		if !bytes.Equal(k[:], ref(secret)) {
			t.Fatalf("secret of %d bytes: key differs", len(secret))
		}
	}
	v := NewVerifier()
	r := signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil)
	replaceAuth(r, "/us-east-1/", "/never-cached-region/")
	_, err := v.Verify(r, testTime, testSecrets)
	wantCode(t, err, CodeSignatureDoesNotMatch)
	if _, cached := v.keys.signingKey(testSecret, "20261122", "never-cached-region"); cached {
		t.Fatal("a key that verified nothing was cached")
	}
	if _, err := v.Verify(signed(t, http.MethodGet, testURL("bucket", "k", ""), nil, emptySHA256, nil), testTime, testSecrets); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, cached := v.keys.signingKey(testSecret, "20261122", testRegion); !cached {
		t.Fatal("a key that verified was not cached")
	}
	// The cache is the Verifier's own: another server's Verifier has not
	// seen the key.
	if _, cached := NewVerifier().keys.signingKey(testSecret, "20261122", testRegion); cached {
		t.Fatal("a new Verifier found a key another Verifier cached")
	}
}
