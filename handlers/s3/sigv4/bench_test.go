package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// rewindBody is a request body the benchmark rewinds without allocating.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// BenchmarkVerifyPut4KiB is the hot path: a 4 KiB PutObject signed as the
// SDK signs it over HTTP (sha256 payload plus an x-amz-checksum-crc32
// header), verified and read to the end.
func BenchmarkVerifyPut4KiB(b *testing.B) {
	data := pattern(4096)
	r := signed(b, http.MethodPut, testURL("bucket", "dir/object.bin", "x-id=PutObject"), data, "", map[string]string{
		"Content-Type":                 "application/octet-stream",
		"X-Amz-Checksum-Crc32":         checksumOf("crc32", data),
		"X-Amz-Sdk-Checksum-Algorithm": "CRC32",
		"Amz-Sdk-Invocation-Id":        "2f9d1c4e-0000-4000-8000-000000000000",
		"Amz-Sdk-Request":              "attempt=1; max=3",
	})
	r.Header.Set("Content-Length", "4096")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.47.7 os/linux lang/go")
	benchVerify(b, r, data, len(data), false)
}

// BenchmarkVerifyPutStreaming64KiB is a 64 KiB aws-chunked upload as
// minio-go sends it over plain HTTP.
func BenchmarkVerifyPutStreaming64KiB(b *testing.B) {
	data := pattern(64 << 10)
	r := signedUpload(b, data, 64<<10)
	enc, _ := io.ReadAll(r.Body)
	benchVerify(b, r, enc, len(data), true)
}

// benchVerify verifies r with wire as its body and reads the body to the
// end, once a round; size is the payload's length. rewrites says that
// Verify rewrites the request's headers (aws-chunked), so each round
// takes a copy of them.
func benchVerify(b *testing.B, r *http.Request, wire []byte, size int, rewrites bool) {
	body := &rewindBody{}
	buf := make([]byte, 32<<10)
	v := NewVerifier()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		body.Reset(wire)
		req := *r
		if rewrites {
			req.Header = r.Header.Clone()
		}
		req.Body = body
		if _, err := v.Verify(&req, testTime, testSecrets); err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, onlyReader{req.Body}, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// onlyReader hides WriteTo so the copy goes through Read.
type onlyReader struct{ io.Reader }
