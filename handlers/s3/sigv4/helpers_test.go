package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "AKIDCAIRNTEST"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	otherKeyID = "AKIDOTHER"
	otherSec   = "another-secret-entirely"
	testRegion = "us-east-1"
	testHost   = "cairn.test:9000"
)

// testTime is the signing time of the unit tests; the server clock is set
// relative to it.
var testTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var errNoKey = errors.New("no such key")

// testSecrets knows testKeyID and otherKeyID.
func testSecrets(_ context.Context, id string) (string, error) {
	switch id {
	case testKeyID:
		return testSecret, nil
	case otherKeyID:
		return otherSec, nil
	}
	return "", errNoKey
}

func testCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
}

// s3Signer is the SDK signer configured as the S3 client configures it.
func s3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// s3Escape encodes a key as S3 clients do: everything but unreserved
// characters and '/'.
func s3Escape(key string) string { return string(appendEncoded(nil, key, true)) }

// newRequest builds a request as a server would see it (RequestURI set),
// with body as its payload.
func newRequest(t testing.TB, method, rawURL string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	r.RequestURI = r.URL.RequestURI()
	return r
}

// signed returns a request signed by the SDK in the header form.
func signed(t testing.TB, method, rawURL string, body []byte, payload string, headers map[string]string) *http.Request {
	t.Helper()
	r := newRequest(t, method, rawURL, body)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	if payload == "" {
		payload = hashHex(body)
	}
	r.Header.Set("X-Amz-Content-Sha256", payload)
	if err := s3Signer().SignHTTP(context.Background(), testCreds(), r, payload, "s3", testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	return r
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// verifyAt runs Verify, on a new Verifier, with the server clock at now.
func verifyAt(r *http.Request, now time.Time) (*Result, error) {
	return NewVerifier().Verify(r, now, testSecrets)
}

// readBody reads r.Body to its end.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(r.Body)
}

// wantCode fails unless err is an *Error with code and its status.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *Error %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%s), want %s", e.Code, e.Message, code)
	}
	if e.Status != statusOf[code] || e.Status == 0 {
		t.Fatalf("status = %d, want %d", e.Status, statusOf[code])
	}
}

// mustVerify verifies r at testTime and reads its body.
func mustVerify(t testing.TB, r *http.Request) (*Result, []byte) {
	t.Helper()
	res, err := verifyAt(r, testTime)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	body, err := readBody(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return res, body
}

// verifyRead verifies r at testTime and returns the first error of Verify
// or of reading the body.
func verifyRead(r *http.Request) error {
	if _, err := verifyAt(r, testTime); err != nil {
		return err
	}
	_, err := readBody(r)
	return err
}

// refSign is an independent reference signer: it computes the header-form
// signature from an explicit canonical query and signed header list, for
// the cases the SDK cannot produce (Date header, unsorted values).
func refSign(r *http.Request, secret, amzDate, canonicalQuery string, signedHeaders []string, payload string) string {
	var hdrs strings.Builder
	for _, h := range signedHeaders {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		fmt.Fprintf(&hdrs, "%s:%s\n", h, strings.TrimSpace(v))
	}
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), canonicalQuery, hdrs.String(), strings.Join(signedHeaders, ";"), payload}, "\n")
	scope := amzDate[:8] + "/" + testRegion + "/s3/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hashHex([]byte(canonical))
	key := []byte("AWS4" + secret)
	for _, m := range []string{amzDate[:8], testRegion, "s3", "aws4_request", sts} {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(m))
		key = h.Sum(nil)
	}
	return fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%x",
		testKeyID, scope, strings.Join(signedHeaders, ";"), key)
}

// testURL is the URL of key in bucket b on the test host, escaped as S3
// clients escape it.
func testURL(bucket, key, query string) string {
	u := "http://" + testHost + "/" + bucket + "/" + s3Escape(key)
	if query != "" {
		u += "?" + query
	}
	return u
}

// presigned returns a request for a URL presigned by the SDK.
func presigned(t testing.TB, method, rawURL string, expires string, at time.Time, headers map[string]string) *http.Request {
	t.Helper()
	r := newRequest(t, method, rawURL, nil)
	q := r.URL.Query()
	q.Set("X-Amz-Expires", expires)
	r.URL.RawQuery = q.Encode()
	payload := UnsignedPayload
	if v := q.Get("X-Amz-Content-Sha256"); v != "" {
		payload = v
	}
	for k, v := range headers {
		r.Header.Set(k, v)
		if http.CanonicalHeaderKey(k) == "X-Amz-Content-Sha256" {
			payload = v
		}
	}
	signedURL, hdr, err := s3Signer().PresignHTTP(context.Background(), testCreds(), r, payload, "s3", testRegion, at)
	if err != nil {
		t.Fatal(err)
	}
	out := newRequest(t, method, signedURL, nil)
	for k, vs := range hdr {
		if !strings.EqualFold(k, "host") {
			for _, v := range vs {
				out.Header.Add(k, v)
			}
		}
	}
	return out
}

// withQuery replaces r's raw query (as sent).
func withQuery(r *http.Request, raw string) {
	r.URL.RawQuery = raw
	r.RequestURI = r.URL.RequestURI()
}
