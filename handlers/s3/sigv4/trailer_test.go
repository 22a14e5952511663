package sigv4

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"io"
	"strconv"
	"testing"
)

// checksumOf is the base64 x-amz-checksum-<alg> value of data, computed
// with the standard library (crc64nvme with the package's own table, which
// TestVerify_CRC64NVME checks against references).
func checksumOf(alg string, data []byte) string {
	var sum []byte
	switch alg {
	case "crc32":
		sum = binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	case "crc32c":
		sum = binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	case "sha1":
		s := sha1.Sum(data)
		sum = s[:]
	case "sha256":
		s := sha256.Sum256(data)
		sum = s[:]
	case "crc64nvme":
		h := newCRC64NVME()
		h.Write(data)
		sum = h.Sum(nil)
	}
	return base64.StdEncoding.EncodeToString(sum)
}

var algorithms = []string{"crc32", "crc32c", "crc64nvme", "sha1", "sha256"}

// unsignedTrailerUpload is a STREAMING-UNSIGNED-PAYLOAD-TRAILER PUT of
// body, declaring trailer.
func unsignedTrailerUpload(t *testing.T, body []byte, decoded int, trailer string) *streaming {
	s := newStreaming(t, StreamingUnsignedTrailer, len(body), int64(decoded), trailer)
	s.r.Body = readerOf(body)
	return s
}

func TestVerify_UnsignedTrailer(t *testing.T) {
	data := pattern(100000)
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			name := "x-amz-checksum-" + alg
			value := checksumOf(alg, data)
			s := unsignedTrailerUpload(t, encodeUnsigned(splitChunks(data, 65536), name, value), len(data), name)
			res, got := mustVerify(t, s.r)
			if !bytes.Equal(got, data) {
				t.Fatal("decoded body differs")
			}
			if n, v := res.Checksum(); n != name || v != value || res.Payload != StreamingUnsignedTrailer {
				t.Fatalf("result %+v checksum %s %s", res, n, v)
			}
		})
	}
}

func TestVerify_UnsignedTrailerEmptyBody(t *testing.T) {
	name, value := "x-amz-checksum-crc32", checksumOf("crc32", nil)
	s := unsignedTrailerUpload(t, encodeUnsigned(nil, name, value), 0, name)
	_, got := mustVerify(t, s.r)
	if len(got) != 0 {
		t.Fatal("body not empty")
	}
}

// MinIO's client ends trailer lines with LF and adds a CRLF pair; the AWS
// SDKs use CRLF. Both verify.
func TestVerify_UnsignedTrailerMinioLayout(t *testing.T) {
	data := pattern(70000)
	value := checksumOf("crc32c", data)
	var b bytes.Buffer
	for _, c := range splitChunks(data, 65536) {
		b.WriteString(itoa16(len(c)) + "\r\n")
		b.Write(c)
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\nx-amz-checksum-crc32c:" + value + "\n\r\n\r\n")
	s := unsignedTrailerUpload(t, b.Bytes(), len(data), "x-amz-checksum-crc32c")
	_, got := mustVerify(t, s.r)
	if !bytes.Equal(got, data) {
		t.Fatal("decoded body differs")
	}
}

func itoa16(n int) string { return strconv.FormatInt(int64(n), 16) }

func TestVerify_UnsignedTrailerFailures(t *testing.T) {
	data := pattern(5000)
	chunks := splitChunks(data, 4096)
	good := checksumOf("crc32", data)
	cases := []struct {
		name, declared, line string
		body                 []byte
		code                 string
	}{
		{name: "wrong checksum", declared: "x-amz-checksum-crc32", body: encodeUnsigned(chunks, "x-amz-checksum-crc32", checksumOf("crc32", data[1:])), code: CodeBadDigest},
		{name: "wrong algorithm value", declared: "x-amz-checksum-sha256", body: encodeUnsigned(chunks, "x-amz-checksum-sha256", checksumOf("sha256", nil)), code: CodeBadDigest},
		{name: "missing trailer", declared: "x-amz-checksum-crc32", body: encodeUnsigned(chunks, "", ""), code: CodeMalformedTrailer},
		{name: "undeclared trailer", declared: "", body: encodeUnsigned(chunks, "x-amz-checksum-crc32", good), code: CodeMalformedTrailer},
		{name: "other trailer", declared: "x-amz-checksum-crc32", body: encodeUnsigned(chunks, "x-amz-checksum-crc32c", good), code: CodeMalformedTrailer},
		{name: "no colon", declared: "x-amz-checksum-crc32", body: append(encodeUnsigned(chunks, "", "")[:len(encodeUnsigned(chunks, "", ""))-2], "x-amz-checksum-crc32\r\n\r\n"...), code: CodeMalformedTrailer},
		{name: "not base64", declared: "x-amz-checksum-crc32", body: encodeUnsigned(chunks, "x-amz-checksum-crc32", "!!!!!!!="), code: CodeInvalidRequest},
		{name: "wrong length", declared: "x-amz-checksum-crc32", body: encodeUnsigned(chunks, "x-amz-checksum-crc32", checksumOf("sha1", data)), code: CodeInvalidRequest},
		{name: "tampered data", declared: "x-amz-checksum-crc32", body: bytes.Replace(encodeUnsigned(chunks, "x-amz-checksum-crc32", good), data[:8], []byte("XXXXXXXX"), 1), code: CodeBadDigest},
		{name: "truncated trailer", declared: "x-amz-checksum-crc32", body: encodeUnsigned(chunks, "", "")[:len(encodeUnsigned(chunks, "", ""))-4], code: CodeIncompleteBody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := unsignedTrailerUpload(t, tc.body, len(data), tc.declared)
			wantCode(t, verifyRead(s.r), tc.code)
		})
	}
}

func TestVerify_TrailerDeclarations(t *testing.T) {
	for name, declared := range map[string]string{
		"unsupported":  "x-amz-checksum-md4",
		"not checksum": "x-amz-meta-foo",
		"two":          "x-amz-checksum-crc32,x-amz-checksum-sha1",
	} {
		t.Run(name, func(t *testing.T) {
			s := unsignedTrailerUpload(t, encodeUnsigned(nil, "", ""), 0, declared)
			_, err := verifyAt(s.r, testTime)
			wantCode(t, err, CodeInvalidRequest)
		})
	}
}

func TestVerify_SignedTrailer(t *testing.T) {
	data := pattern(150000)
	chunks := splitChunks(data, 65536)
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			name, value := "x-amz-checksum-"+alg, checksumOf(alg, data)
			s := newStreaming(t, StreamingSignedTrailer, len(encodeSigned(chunks, nil, name, value)), int64(len(data)), name)
			s.r.Body = readerOf(encodeSigned(chunks, s.signer, name, value))
			res, got := mustVerify(t, s.r)
			if !bytes.Equal(got, data) || res.Payload != StreamingSignedTrailer {
				t.Fatalf("result %+v, equal %v", res, bytes.Equal(got, data))
			}
			if n, v := res.Checksum(); n != name || v != value {
				t.Fatalf("Checksum() = %s %s", n, v)
			}
		})
	}
}

// MinIO's client writes "name:value\n" then CRLF before the signature line.
func TestVerify_SignedTrailerMinioLayout(t *testing.T) {
	data := pattern(1000)
	name, value := "x-amz-checksum-crc32c", checksumOf("crc32c", data)
	sized := len(encodeSigned([][]byte{data}, nil, name, value))
	s := newStreaming(t, StreamingSignedTrailer, sized, int64(len(data)), name)
	var b bytes.Buffer
	b.WriteString(itoa16(len(data)) + ";chunk-signature=" + s.signer.chunk(data) + "\r\n")
	b.Write(data)
	b.WriteString("\r\n0;chunk-signature=" + s.signer.chunk(nil) + "\r\n")
	b.WriteString(name + ":" + value + "\n\r\nx-amz-trailer-signature:" + s.signer.trailer(name+":"+value+"\n") + "\r\n\r\n")
	s.r.Body = readerOf(b.Bytes())
	_, got := mustVerify(t, s.r)
	if !bytes.Equal(got, data) {
		t.Fatal("decoded body differs")
	}
}

func TestVerify_SignedTrailerFailures(t *testing.T) {
	data := pattern(3000)
	chunks := splitChunks(data, 1024)
	name, good := "x-amz-checksum-sha256", checksumOf("sha256", data)
	bad := checksumOf("sha256", data[1:])
	cases := []struct {
		name  string
		build func(s *streaming) []byte
		code  string
	}{
		{"trailer value changed", func(s *streaming) []byte {
			return bytes.Replace(encodeSigned(chunks, s.signer, name, good), []byte(good), []byte(bad), 1)
		}, CodeSignatureDoesNotMatch},
		{"signed wrong checksum", func(s *streaming) []byte {
			return encodeSigned(chunks, s.signer, name, bad)
		}, CodeBadDigest},
		{"no trailer signature", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, name, good)
			i := bytes.Index(b, []byte("x-amz-trailer-signature"))
			return append(b[:i:i], "\r\n"...)
		}, CodeMalformedTrailer},
		{"signature not last", func(s *streaming) []byte {
			return append(encodeSigned(chunks, s.signer, name, good)[:], "x-amz-meta-late:1\r\n"...)
		}, CodeMalformedTrailer},
		{"bad trailer signature", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, name, good)
			i := bytes.Index(b, []byte("x-amz-trailer-signature:")) + len("x-amz-trailer-signature:")
			b[i] = flipHex(string(b[i]))[0]
			return b
		}, CodeSignatureDoesNotMatch},
		{"short trailer signature", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, name, good)
			i := bytes.Index(b, []byte("x-amz-trailer-signature:")) + len("x-amz-trailer-signature:")
			return append(b[:i+10:i+10], "\r\n\r\n"...)
		}, CodeMalformedTrailer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStreaming(t, StreamingSignedTrailer, len(encodeSigned(chunks, nil, name, good)), int64(len(data)), name)
			s.r.Body = readerOf(tc.build(s))
			wantCode(t, verifyRead(s.r), tc.code)
		})
	}
}

// The decoder never reads past what it needs; a reader that errors is
// reported as is (a client gone away is no S3 error).
func TestVerify_ChunkedSourceError(t *testing.T) {
	data := pattern(3000)
	r := signedUpload(t, data, 1000)
	r.Body = errAfter{readerOf(encodeSigned(splitChunks(data, 1000), nil, "", "")[:500]), io.ErrClosedPipe}
	if _, err := verifyAt(r, testTime); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r.Body); err != io.ErrClosedPipe {
		t.Fatalf("err = %v", err)
	}
	if BodyError(r) != nil {
		t.Fatal("BodyError set for a transport error")
	}
}

type errAfter struct {
	nopCloser
	err error
}

func (e errAfter) Read(p []byte) (int, error) {
	n, err := e.nopCloser.Read(p)
	if err == io.EOF {
		err = e.err
	}
	return n, err
}
