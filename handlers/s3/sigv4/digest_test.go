package sigv4

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"testing"

	"github.com/minio/crc64nvme"
)

// CRC-64/NVME against its catalogue check value and MinIO's
// implementation, across the slicing-by-8 boundaries and split writes.
func TestVerify_CRC64NVME(t *testing.T) {
	h := newCRC64NVME()
	h.Write([]byte("123456789"))
	if got := binary.BigEndian.Uint64(h.Sum(nil)); got != 0xae8b14860a799888 {
		t.Fatalf("check value %#x", got)
	}
	data := pattern(5000)
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 4096, 5000} {
		for _, split := range []int{0, 3, n / 2} {
			if split > n {
				continue
			}
			h := newCRC64NVME()
			h.Write(data[:split])
			h.Write(data[split:n])
			ref := crc64nvme.New()
			ref.Write(data[:n])
			if !bytes.Equal(h.Sum(nil), ref.Sum(nil)) {
				t.Fatalf("n=%d split=%d: %x, MinIO %x", n, split, h.Sum(nil), ref.Sum(nil))
			}
		}
	}
}

func md5Of(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func TestVerify_ContentMD5(t *testing.T) {
	body := []byte("digest me")
	cases := []struct {
		name, md5, payload string
		code               string
		atVerify           bool
	}{
		{name: "right", md5: md5Of(body)},
		{name: "right unsigned payload", md5: md5Of(body), payload: UnsignedPayload},
		{name: "wrong", md5: md5Of([]byte("other")), code: CodeBadDigest},
		{name: "wrong unsigned payload", md5: md5Of([]byte("other")), payload: UnsignedPayload, code: CodeBadDigest},
		{name: "not base64", md5: "not-base64-at-all-!!!!!!", code: CodeInvalidDigest, atVerify: true},
		{name: "too short", md5: base64.StdEncoding.EncodeToString([]byte("short")), code: CodeInvalidDigest, atVerify: true},
		{name: "too long", md5: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 32)), code: CodeInvalidDigest, atVerify: true},
		{name: "empty", md5: "", code: CodeInvalidDigest, atVerify: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := signed(t, http.MethodPut, testURL("bucket", "k", ""), body, tc.payload, nil)
			r.Header["Content-Md5"] = []string{tc.md5}
			_, err := verifyAt(r, testTime)
			if tc.atVerify {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := readBody(r)
			if tc.code == "" {
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("err %v", err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
}

func TestVerify_ChecksumHeader(t *testing.T) {
	body := pattern(3000)
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			h := "X-Amz-Checksum-" + alg
			r := signed(t, http.MethodPut, testURL("bucket", "k", ""), body, UnsignedPayload, map[string]string{h: checksumOf(alg, body)})
			res, got := mustVerify(t, r)
			if !bytes.Equal(got, body) {
				t.Fatal("body differs")
			}
			if n, v := res.Checksum(); n != "x-amz-checksum-"+alg || v != checksumOf(alg, body) {
				t.Fatalf("Checksum() = %s %s", n, v)
			}
			r = signed(t, http.MethodPut, testURL("bucket", "k", ""), body, UnsignedPayload, map[string]string{h: checksumOf(alg, body[1:])})
			wantCode(t, verifyRead(r), CodeBadDigest)
		})
	}
}

func TestVerify_ChecksumHeaderInvalid(t *testing.T) {
	body := []byte("x")
	cases := map[string]map[string]string{
		"not base64":   {"X-Amz-Checksum-Crc32": "%%%%%%%%"},
		"wrong length": {"X-Amz-Checksum-Crc32": checksumOf("sha256", body)},
		"two":          {"X-Amz-Checksum-Crc32": checksumOf("crc32", body), "X-Amz-Checksum-Sha1": checksumOf("sha1", body)},
	}
	for name, headers := range cases {
		t.Run(name, func(t *testing.T) {
			r := signed(t, http.MethodPut, testURL("bucket", "k", ""), body, "", headers)
			_, err := verifyAt(r, testTime)
			wantCode(t, err, CodeInvalidRequest)
		})
	}
}

// Headers named x-amz-checksum-* that are no digest of the body pass:
// the algorithm choice, and CompleteMultipartUpload's object checksum.
func TestVerify_ChecksumHeaderNotOfBody(t *testing.T) {
	body := []byte("<CompleteMultipartUpload></CompleteMultipartUpload>")
	r := signed(t, http.MethodPost, testURL("bucket", "k", "uploadId=abc"), body, "", map[string]string{
		"X-Amz-Checksum-Crc32":     "AAAAAA==",
		"X-Amz-Checksum-Type":      "FULL_OBJECT",
		"X-Amz-Checksum-Algorithm": "CRC32",
	})
	mustVerify(t, r)
	r = signed(t, http.MethodPut, testURL("bucket", "k", "uploadId=abc&partNumber=1"), body, "", map[string]string{
		"X-Amz-Checksum-Crc32": "AAAAAA==",
	})
	wantCode(t, verifyRead(r), CodeBadDigest)
}

// Digests apply to the decoded payload of a streaming upload too, and a
// header checksum cannot be combined with a trailer.
func TestVerify_ChunkedWithDigests(t *testing.T) {
	data := pattern(2000)
	chunks := splitChunks(data, 700)
	enc := encodeSigned(chunks, nil, "", "")
	s := newStreamingWith(t, len(enc), len(data), map[string]string{"Content-Md5": md5Of(data), "X-Amz-Checksum-Crc32c": checksumOf("crc32c", data)})
	s.r.Body = readerOf(encodeSigned(chunks, s.signer, "", ""))
	mustVerify(t, s.r)

	s = newStreamingWith(t, len(enc), len(data), map[string]string{"Content-Md5": md5Of(data[1:])})
	s.r.Body = readerOf(encodeSigned(chunks, s.signer, "", ""))
	wantCode(t, verifyRead(s.r), CodeBadDigest)

	body := encodeUnsigned(chunks, "x-amz-checksum-crc32", checksumOf("crc32", data))
	u := newStreamingHeaders(t, StreamingUnsignedTrailer, len(body), int64(len(data)), "x-amz-checksum-crc32",
		map[string]string{"X-Amz-Checksum-Sha1": checksumOf("sha1", data)})
	u.r.Body = readerOf(body)
	_, err := verifyAt(u.r, testTime)
	wantCode(t, err, CodeInvalidRequest)
}

func newStreamingWith(t *testing.T, encodedLen, decoded int, headers map[string]string) *streaming {
	t.Helper()
	return newStreamingHeaders(t, StreamingSigned, encodedLen, int64(decoded), "", headers)
}
