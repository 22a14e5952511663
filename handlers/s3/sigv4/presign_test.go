package sigv4

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestVerify_PresignedValid(t *testing.T) {
	for _, key := range trickyKeys {
		t.Run(key, func(t *testing.T) {
			r := presigned(t, http.MethodGet, testURL("bucket", key, "response-content-type=text%2Fplain"), "900", testTime, nil)
			res, _ := mustVerify(t, r)
			if !res.Presigned || res.Payload != UnsignedPayload || res.KeyID != testKeyID {
				t.Fatalf("result = %+v", res)
			}
		})
	}
}

func TestVerify_PresignedWindow(t *testing.T) {
	cases := []struct {
		name string
		now  time.Time
		code string
	}{
		{"at signing", testTime, ""},
		{"just before expiry", testTime.Add(900 * time.Second), ""},
		{"expired", testTime.Add(901 * time.Second), CodeAccessDenied},
		{"slightly ahead", testTime.Add(-15 * time.Minute), ""},
		{"not yet valid", testTime.Add(-16 * time.Minute), CodeAccessDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := presigned(t, http.MethodGet, testURL("bucket", "k", ""), "900", testTime, nil)
			_, err := verifyAt(r, tc.now)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
			msg := err.(*Error).Message
			if tc.name == "expired" && msg != "Request has expired" {
				t.Fatalf("message = %q", msg)
			}
		})
	}
}

func TestVerify_PresignedExpiresRange(t *testing.T) {
	for _, exp := range []string{"0", "604801", "-1", "1e3", ""} {
		t.Run("expires="+exp, func(t *testing.T) {
			r := presigned(t, http.MethodGet, testURL("bucket", "k", ""), exp, testTime, nil)
			_, err := verifyAt(r, testTime)
			wantCode(t, err, CodeAuthorizationQueryParams)
		})
	}
	for _, exp := range []string{"1", "604800"} {
		r := presigned(t, http.MethodGet, testURL("bucket", "k", ""), exp, testTime, nil)
		if _, err := verifyAt(r, testTime); err != nil {
			t.Fatalf("expires=%s: %v", exp, err)
		}
	}
}

func TestVerify_PresignedTampered(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(r *http.Request)
		code   string
	}{
		{"method", func(r *http.Request) { r.Method = http.MethodPut }, CodeSignatureDoesNotMatch},
		{"path", func(r *http.Request) {
			r.URL.Path, r.URL.RawPath = "/bucket/other", ""
			r.RequestURI = r.URL.RequestURI()
		}, CodeSignatureDoesNotMatch},
		{"added parameter", func(r *http.Request) { withQuery(r, r.URL.RawQuery+"&versionId=2") }, CodeSignatureDoesNotMatch},
		{"expires", func(r *http.Request) {
			withQuery(r, strings.Replace(r.URL.RawQuery, "X-Amz-Expires=900", "X-Amz-Expires=901", 1))
		}, CodeSignatureDoesNotMatch},
		{"signature", func(r *http.Request) {
			q := r.URL.RawQuery
			i := strings.Index(q, "X-Amz-Signature=") + len("X-Amz-Signature=")
			withQuery(r, q[:i]+flipHex(q[i:i+1])+q[i+1:])
		}, CodeSignatureDoesNotMatch},
		{"host", func(r *http.Request) { r.Host = "other.test" }, CodeSignatureDoesNotMatch},
		{"algorithm", func(r *http.Request) {
			withQuery(r, strings.Replace(r.URL.RawQuery, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1", 1))
		}, CodeAuthorizationQueryParams},
		{"missing credential", func(r *http.Request) { withQuery(r, dropParam(r.URL.RawQuery, "X-Amz-Credential")) }, CodeAuthorizationQueryParams},
		{"missing signature", func(r *http.Request) { withQuery(r, dropParam(r.URL.RawQuery, "X-Amz-Signature")) }, CodeAuthorizationQueryParams},
		{"bad date", func(r *http.Request) { withQuery(r, replaceParam(r.URL.RawQuery, "X-Amz-Date", "2026-11-22")) }, CodeAuthorizationQueryParams},
		{"scope date", func(r *http.Request) {
			withQuery(r, strings.Replace(r.URL.RawQuery, "%2F20261122%2F", "%2F20261123%2F", 1))
		}, CodeAuthorizationQueryParams},
		{"unknown key", func(r *http.Request) { withQuery(r, strings.Replace(r.URL.RawQuery, testKeyID, "AKIDNOPE", 1)) }, CodeInvalidAccessKeyID},
		{"unsigned x-amz header", func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }, CodeAccessDenied},
		{"header auth too", func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x") }, CodeInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := presigned(t, http.MethodGet, testURL("bucket", "k", "x-id=GetObject"), "900", testTime, nil)
			tc.tamper(r)
			_, err := verifyAt(r, testTime)
			wantCode(t, err, tc.code)
		})
	}
}

// A presigned PUT carries an unsigned payload (passed through) and may
// sign headers such as x-amz-meta-*.
func TestVerify_PresignedPut(t *testing.T) {
	r := presigned(t, http.MethodPut, testURL("bucket", "up load", ""), "3600", testTime, map[string]string{
		"X-Amz-Meta-Owner": "cairn",
		"Content-Type":     "application/octet-stream",
	})
	body := []byte("presigned upload body")
	r.Body = readerOf(body)
	r.ContentLength = int64(len(body))
	res, got := mustVerify(t, r)
	if !bytes.Equal(got, body) || res.Payload != UnsignedPayload || !res.Presigned {
		t.Fatalf("result %+v body %q", res, got)
	}
	r.Header.Set("X-Amz-Meta-Owner", "mallory")
	r.Body = readerOf(body)
	_, err := verifyAt(r, testTime)
	wantCode(t, err, CodeSignatureDoesNotMatch)
}

// A presigned request may sign a payload hash in X-Amz-Content-Sha256;
// then the body must match it.
func TestVerify_PresignedSignedPayload(t *testing.T) {
	body := []byte("exact bytes")
	r := presigned(t, http.MethodPut, testURL("bucket", "k", "X-Amz-Content-Sha256="+hashHex(body)), "60", testTime, nil)
	r.Body = readerOf(body)
	r.ContentLength = int64(len(body))
	res, _ := mustVerify(t, r)
	if res.Payload != hashHex(body) {
		t.Fatalf("payload = %s", res.Payload)
	}
	r = presigned(t, http.MethodPut, testURL("bucket", "k", "X-Amz-Content-Sha256="+hashHex(body)), "60", testTime, nil)
	r.Body = readerOf([]byte("other bytes"))
	r.ContentLength = int64(len(body))
	wantCode(t, verifyRead(r), CodeXAmzContentSHA256Mismatch)
}

func dropParam(raw, name string) string {
	var keep []string
	for _, p := range strings.Split(raw, "&") {
		if !strings.HasPrefix(p, name+"=") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "&")
}

func replaceParam(raw, name, value string) string {
	return dropParam(raw, name) + "&" + name + "=" + value
}

// The payload hash may also come from a signed x-amz-content-sha256 header.
func TestVerify_PresignedSignedPayloadHeader(t *testing.T) {
	body := []byte("exact bytes")
	r := presigned(t, http.MethodPut, testURL("bucket", "k", ""), "60", testTime, map[string]string{"X-Amz-Content-Sha256": hashHex(body)})
	if !strings.Contains(r.URL.RawQuery, "x-amz-content-sha256") {
		t.Fatalf("SDK did not sign the header: %s", r.URL.RawQuery)
	}
	r.Body = readerOf([]byte("other bytes"))
	r.ContentLength = int64(len(body))
	wantCode(t, verifyRead(r), CodeXAmzContentSHA256Mismatch)
}
