package sigv4

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// stubS3 is a test stand-in for the S3 dialect: it verifies every request
// with Verify, reads the body through the verifying reader, and keeps
// objects in memory. It records the payload mode and checksum of each
// write so tests can see what the clients really sent.
type stubS3 struct {
	v       Verifier
	mu      sync.Mutex
	objects map[string][]byte
	parts   map[string]map[int][]byte
	seen    []seen
	fails   []string
}

type seen struct {
	method, path string
	presigned    bool
	payload      string
	checksum     string // trailer or header checksum name, when verified
}

func newStub() *stubS3 {
	return &stubS3{objects: map[string][]byte{}, parts: map[string]map[int][]byte{}}
}

func (s *stubS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := s.v.Verify(r, time.Now(), testSecrets)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, _ := res.Checksum()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, seen{r.Method, r.URL.Path, res.Presigned, res.Payload, name})
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("uploadId"):
		n, _ := strconv.Atoi(q.Get("partNumber"))
		s.parts[q.Get("uploadId")][n] = body
		etag(w, body)
	case r.Method == http.MethodPut:
		s.objects[r.URL.Path] = body
		etag(w, body)
	case r.Method == http.MethodPost && q.Has("uploads"):
		id := fmt.Sprintf("upload-%d", len(s.parts)+1)
		s.parts[id] = map[int][]byte{}
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		writeXML(w, struct {
			XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
			Bucket   string
			Key      string
			UploadId string
		}{Bucket: bucket, Key: key, UploadId: id})
	case r.Method == http.MethodPost && q.Has("uploadId"):
		parts := s.parts[q.Get("uploadId")]
		nums := make([]int, 0, len(parts))
		for n := range parts {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		var all []byte
		for _, n := range nums {
			all = append(all, parts[n]...)
		}
		s.objects[r.URL.Path] = all
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		sum := md5.Sum(all)
		writeXML(w, struct {
			XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
			Location string
			Bucket   string
			Key      string
			ETag     string
		}{Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key, ETag: `"` + hex.EncodeToString(sum[:]) + `-1"`})
	case r.Method == http.MethodGet:
		obj, ok := s.objects[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(obj)))
		etag(w, obj)
		w.Write(obj)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *stubS3) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: "InternalError", Status: http.StatusInternalServerError, Message: err.Error()}
	}
	s.mu.Lock()
	s.fails = append(s.fails, r.Method+" "+r.URL.String()+": "+e.Error())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: e.Code, Message: e.Message})
}

func etag(w http.ResponseWriter, body []byte) {
	sum := md5.Sum(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(v)
}

// check fails the test on any verification failure and returns the
// payload modes seen on writes.
func (s *stubS3) check(t *testing.T) map[string]int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) > 0 {
		t.Fatalf("verification failures:\n%s", strings.Join(s.fails, "\n"))
	}
	modes := map[string]int{}
	for _, x := range s.seen {
		if x.method == http.MethodPut {
			mode := x.payload
			if isSHA256(mode) {
				mode = "sha256"
			}
			modes[mode]++
		}
	}
	return modes
}

func (s *stubS3) object(path string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objects[path]
}

func (s *stubS3) checksums() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, x := range s.seen {
		if x.checksum != "" {
			out = append(out, x.checksum)
		}
	}
	return out
}

func sdkClient(endpoint string, hc *http.Client) *s3.Client {
	cfg := aws.Config{
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
		// What config.LoadDefaultConfig resolves by default.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}

var e2eKeys = []string{"small.bin", "dir/with space/ü+!*'()=&~;$@,.txt", "double//slash"}

func TestVerify_EndToEndSDK(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			stub := newStub()
			srv := httptest.NewUnstartedServer(stub)
			if tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			client := sdkClient(srv.URL, srv.Client())
			ctx := context.Background()
			for i, key := range e2eKeys {
				data := pattern(4096 + i*(3<<20)/2)
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key), Body: bytes.NewReader(data)})
				if err != nil {
					stub.check(t)
					t.Fatalf("PutObject %q: %v", key, err)
				}
				if !bytes.Equal(stub.object("/bucket/"+key), data) {
					t.Fatalf("object %q differs", key)
				}
				out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)})
				if err != nil {
					t.Fatalf("GetObject %q: %v", key, err)
				}
				got, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if !bytes.Equal(got, data) {
					t.Fatalf("GetObject %q differs", key)
				}
				presignedGet(t, srv.Client(), client, key, data)
			}
			modes := stub.check(t)
			want := map[bool]string{false: "sha256", true: StreamingUnsignedTrailer}[tls]
			if modes[want] != len(e2eKeys) {
				t.Fatalf("payload modes %v, want %d x %s", modes, len(e2eKeys), want)
			}
			if sums := stub.checksums(); len(sums) != len(e2eKeys) {
				t.Fatalf("verified checksums %v", sums)
			}
			t.Logf("SDK payload modes: %v, checksums %v", modes, stub.checksums())
		})
	}
}

func presignedGet(t *testing.T, hc *http.Client, client *s3.Client, key string, data []byte) {
	t.Helper()
	req, err := s3.NewPresignClient(client).PresignGetObject(context.Background(),
		&s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("presigned GET %q: %d %s", key, resp.StatusCode, got[:min(len(got), 300)])
	}
}

func TestVerify_EndToEndMinio(t *testing.T) {
	// minio-go streams signed chunks over plain HTTP, and sends a checksum
	// trailer when a checksum is asked for (and the body is not empty);
	// parts of a multipart upload carry the checksum as a header instead.
	cases := []struct {
		name     string
		tls      bool
		checksum minio.ChecksumType
		want     string
		wantN    int
		sums     int // checksums verified: 2 trailers, 2 part headers
	}{
		{"http", false, minio.ChecksumNone, StreamingSigned, 5, 0},
		{"http checksum trailer", false, minio.ChecksumCRC32C, StreamingSignedTrailer, 2, 4},
		{"https checksum trailer", true, minio.ChecksumCRC32, StreamingUnsignedTrailer, 2, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := newStub()
			srv := httptest.NewUnstartedServer(stub)
			if tc.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			u, _ := url.Parse(srv.URL)
			mc, err := minio.New(u.Host, &minio.Options{
				Creds:           miniocreds.NewStaticV4(testKeyID, testSecret, ""),
				Secure:          tc.tls,
				Region:          testRegion,
				Transport:       srv.Client().Transport,
				TrailingHeaders: tc.checksum.IsSet(),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for _, size := range []int{0, 4096, 3 << 20} {
				data := pattern(size)
				key := fmt.Sprintf("known/%d size.bin", size)
				if _, err := mc.PutObject(ctx, "bucket", key, bytes.NewReader(data), int64(size), minio.PutObjectOptions{Checksum: tc.checksum}); err != nil {
					stub.check(t)
					t.Fatalf("PutObject %d: %v", size, err)
				}
				if !bytes.Equal(stub.object("/bucket/"+key), data) {
					t.Fatalf("object of %d bytes differs", size)
				}
			}
			data := pattern(6 << 20)
			_, err = mc.PutObject(ctx, "bucket", "unknown size", bytes.NewReader(data), -1, minio.PutObjectOptions{PartSize: 5 << 20, Checksum: tc.checksum})
			if err != nil {
				stub.check(t)
				t.Fatalf("PutObject size -1: %v", err)
			}
			if !bytes.Equal(stub.object("/bucket/unknown size"), data) {
				t.Fatal("multipart object differs")
			}
			modes := stub.check(t)
			if modes[tc.want] != tc.wantN {
				t.Fatalf("payload modes %v, want %d x %s", modes, tc.wantN, tc.want)
			}
			if sums := stub.checksums(); len(sums) != tc.sums {
				t.Fatalf("verified checksums %v, want %d", sums, tc.sums)
			}
			t.Logf("minio payload modes: %v, checksums %v", modes, stub.checksums())
		})
	}
}
