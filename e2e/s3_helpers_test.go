package e2e

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// startS3 is the target of an S3 test (Start), an aws-sdk-go-v2 client
// signing with the admin key, and a fresh bucket.
func startS3(t testing.TB) (*Env, *s3.Client, string) {
	t.Helper()
	e := Start(t)
	return e, e.S3(t, e.AdminKeyID, e.AdminKey), e.Bucket(t)
}

// s3Status is the HTTP status of an SDK error (0 if it has none).
func s3Status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// s3Code is the S3 error code of an SDK error ("" if it has none).
func s3Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// s3WantErr fails unless err is an S3 error with this status and code.
func s3WantErr(t testing.TB, what string, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %d %s", what, status, code)
	}
	if got, gotCode := s3Status(err), s3Code(err); got != status || gotCode != code {
		t.Fatalf("%s: %d %s, want %d %s (%v)", what, got, gotCode, status, code, err)
	}
}

// s3Do sends one request signed (SigV4 header form, s3, us-east-1, now)
// with keyID/secret and reads the whole answer. target is the path with
// an optional "?query"; hash is the x-amz-content-sha256 sent and signed
// ("" for body's own SHA-256), so a test can sign one body and send
// another. hdr is set before signing.
func s3Do(t testing.TB, env *Env, keyID, secret, method, target string, body []byte, hdr map[string]string, hash string) *Resp {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if hash == "" {
		hash = sha256hex(body)
	}
	req.Header.Set("x-amz-content-sha256", hash)
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	// S3 signs the path as sent, escaped once (the SDK's S3 client does
	// the same)
	noDoubleEscape := func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", "us-east-1", time.Now(), noDoubleEscape); err != nil {
		t.Fatal(err)
	}
	return env.DoRequest(t, req)
}

// s3XMLError is S3's error document.
type s3XMLError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

// s3WantXMLError fails unless r is an S3 XML error with this status and
// code, a message, and the request id of its x-amz-request-id header.
func s3WantXMLError(t testing.TB, what string, r *Resp, status int, code string) s3XMLError {
	t.Helper()
	var e s3XMLError
	if err := xml.Unmarshal(r.Body, &e); err != nil || r.Status != status || e.Code != code {
		t.Fatalf("%s: %d %q, want %d %s", what, r.Status, r.Body, status, code)
	}
	if e.Message == "" || e.RequestID == "" || e.RequestID != r.Header.Get("x-amz-request-id") {
		t.Fatalf("%s: error document %+v, request id header %q", what, e, r.Header.Get("x-amz-request-id"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/xml" {
		t.Fatalf("%s: Content-Type %q, want application/xml", what, ct)
	}
	return e
}

// s3Seen is one HTTP response an SDK client received.
type s3Seen struct {
	Op        string
	Status    int
	RequestID string
}

// s3Recorder keeps every HTTP response a client made with
// s3RecordingClient received, errors included.
type s3Recorder struct {
	mu   sync.Mutex
	seen []s3Seen
}

func (r *s3Recorder) all() []s3Seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]s3Seen(nil), r.seen...)
}

// s3RecordingClient is s3Client with a middleware that records the status
// and x-amz-request-id of every raw response, before the SDK turns it into
// a result or an error.
func s3RecordingClient(t testing.TB, env *Env, keyID, secret string) (*s3.Client, *s3Recorder) {
	t.Helper()
	rec := &s3Recorder{}
	c := env.S3(t, keyID, secret, func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("record", func(ctx context.Context, in middleware.DeserializeInput,
				next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
					rec.mu.Lock()
					rec.seen = append(rec.seen, s3Seen{Op: middleware.GetOperationName(ctx), Status: resp.StatusCode,
						RequestID: resp.Header.Get("x-amz-request-id")})
					rec.mu.Unlock()
				}
				return out, md, err
			}), middleware.After)
		})
	})

	return c, rec
}

// s3Keys is every key ListObjectsV2 lists in a bucket, page by page.
func s3Keys(t testing.TB, c *s3.Client, bucket string) []string {
	t.Helper()
	var keys []string
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("ListObjectsV2 %s: paging does not end", bucket)
		}
		out, err := c.ListObjectsV2(context.Background(), in)
		if err != nil {
			t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if !aws.ToBool(out.IsTruncated) {
			return keys
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// s3WantCode fails unless err is an S3 error with this code (any status).
func s3WantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := s3Code(err); got != code {
		t.Fatalf("%s: error %v (code %q), want %s", what, err, got, code)
	}
}
