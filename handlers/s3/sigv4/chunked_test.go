package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// chunkSigner signs aws-chunked chunks and trailers as the AWS spec says
// (sigv4-streaming and sigv4-streaming-trailers), independently of the
// package's code.
type chunkSigner struct {
	key     []byte
	amzDate string
	scope   string
	prev    string
}

func newChunkSigner(secret, amzDate, region, seed string) *chunkSigner {
	key := []byte("AWS4" + secret)
	for _, m := range []string{amzDate[:8], region, "s3", "aws4_request"} {
		key = hmacOf(key, m)
	}
	return &chunkSigner{key: key, amzDate: amzDate, scope: amzDate[:8] + "/" + region + "/s3/aws4_request", prev: seed}
}

func hmacOf(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func (s *chunkSigner) chunk(data []byte) string {
	sts := strings.Join([]string{"AWS4-HMAC-SHA256-PAYLOAD", s.amzDate, s.scope, s.prev, emptySHA256, hashHex(data)}, "\n")
	s.prev = hex.EncodeToString(hmacOf(s.key, sts))
	return s.prev
}

func (s *chunkSigner) trailer(canonical string) string {
	sts := strings.Join([]string{"AWS4-HMAC-SHA256-TRAILER", s.amzDate, s.scope, s.prev, hashHex([]byte(canonical))}, "\n")
	s.prev = hex.EncodeToString(hmacOf(s.key, sts))
	return s.prev
}

// splitChunks cuts data into chunks of size n (none for empty data).
func splitChunks(data []byte, n int) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		k := min(n, len(data))
		out = append(out, data[:k])
		data = data[k:]
	}
	return out
}

// encodeSigned is the aws-chunked body of chunks, signed by s (nil: zero
// signatures, for sizing), with a trailer line when name is set.
func encodeSigned(chunks [][]byte, s *chunkSigner, name, value string) []byte {
	sign := func(c []byte) string {
		if s == nil {
			return strings.Repeat("0", 64)
		}
		return s.chunk(c)
	}
	var b bytes.Buffer
	for _, c := range chunks {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), sign(c))
		b.Write(c)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "0;chunk-signature=%s\r\n", sign(nil))
	if name == "" {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	tsig := strings.Repeat("0", 64)
	if s != nil {
		tsig = s.trailer(name + ":" + value + "\n")
	}
	fmt.Fprintf(&b, "%s:%s\r\nx-amz-trailer-signature:%s\r\n\r\n", name, value, tsig)
	return b.Bytes()
}

// encodeUnsigned is the aws-chunked body of chunks without signatures,
// with a trailer line when name is set.
func encodeUnsigned(chunks [][]byte, name, value string) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		fmt.Fprintf(&b, "%x\r\n", len(c))
		b.Write(c)
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\n")
	if name != "" {
		fmt.Fprintf(&b, "%s:%s\r\n", name, value)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// streaming is a streaming upload under construction.
type streaming struct {
	r      *http.Request
	signer *chunkSigner
	seed   string
}

// newStreaming signs (with the SDK) a streaming PUT of mode whose encoded
// body will be encodedLen bytes; decoded is x-amz-decoded-content-length.
func newStreaming(t testing.TB, mode string, encodedLen int, decoded int64, trailer string) *streaming {
	t.Helper()
	return newStreamingHeaders(t, mode, encodedLen, decoded, trailer, nil)
}

// newStreamingHeaders is newStreaming with extra (signed) headers.
func newStreamingHeaders(t testing.TB, mode string, encodedLen int, decoded int64, trailer string, extra map[string]string) *streaming {
	t.Helper()
	r := newRequest(t, http.MethodPut, testURL("bucket", "streamed object", ""), nil)
	r.ContentLength = int64(encodedLen)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("Content-Type", "application/octet-stream")
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(decoded, 10))
	r.Header.Set("X-Amz-Content-Sha256", mode)
	if trailer != "" {
		r.Header.Set("X-Amz-Trailer", trailer)
	}
	for k, v := range extra {
		r.Header.Set(k, v)
	}
	if err := s3Signer().SignHTTP(context.Background(), testCreds(), r, mode, "s3", testRegion, testTime); err != nil {
		t.Fatal(err)
	}
	auth := r.Header.Get("Authorization")
	seed := auth[strings.LastIndex(auth, "=")+1:]
	return &streaming{r: r, seed: seed, signer: newChunkSigner(testSecret, testTime.Format(iso8601), testRegion, seed)}
}

// signedUpload returns a verified-ready signed streaming PUT of data.
func signedUpload(t testing.TB, data []byte, chunk int) *http.Request {
	t.Helper()
	chunks := splitChunks(data, chunk)
	s := newStreaming(t, StreamingSigned, len(encodeSigned(chunks, nil, "", "")), int64(len(data)), "")
	s.r.Body = readerOf(encodeSigned(chunks, s.signer, "", ""))
	return s.r
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// The example of the AWS documentation (sigv4-streaming.html), byte for
// byte: seed and chunk signatures are the published ones.
func TestVerify_ChunkedAWSExample(t *testing.T) {
	body := "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
	r := awsExampleRequest(t, body, StreamingSigned,
		"content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
		"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
	r.Header.Set("Content-Length", "66824")
	res, got := verifyExample(t, r)
	if string(got) != strings.Repeat("a", 66560) {
		t.Fatal("decoded body differs")
	}
	if res.Payload != StreamingSigned || res.DecodedLength != 66560 || r.ContentLength != 66560 {
		t.Fatalf("result = %+v, ContentLength %d", res, r.ContentLength)
	}
	if r.Header.Get("Content-Encoding") != "" || r.Header.Get("Content-Length") != "66560" {
		t.Fatalf("headers not rewritten: %v", r.Header)
	}
}

// The trailer example of the AWS documentation (sigv4-streaming-trailers).
func TestVerify_ChunkedAWSTrailerExample(t *testing.T) {
	body := "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n" +
		"x-amz-checksum-crc32c:sOO8/Q==\r\n" +
		"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
	r := awsExampleRequest(t, body, StreamingSignedTrailer,
		"content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
		"106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
	r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
	res, got := verifyExample(t, r)
	if string(got) != strings.Repeat("a", 66560) {
		t.Fatal("decoded body differs")
	}
	if name, value := res.Checksum(); name != "x-amz-checksum-crc32c" || value != "sOO8/Q==" {
		t.Fatalf("Checksum() = %s %s", name, value)
	}
}

func awsExampleRequest(t *testing.T, body, mode, signedHeaders, seed string) *http.Request {
	r := newRequest(t, http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", nil)
	r.Body = readerOf([]byte(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("X-Amz-Content-Sha256", mode)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders="+signedHeaders+",Signature="+seed)
	return r
}

func verifyExample(t *testing.T, r *http.Request) (*Result, []byte) {
	t.Helper()
	res, err := NewVerifier().Verify(r, time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC), func(_ context.Context, id string) (string, error) {
		if id != "AKIAIOSFODNN7EXAMPLE" {
			return "", errNoKey
		}
		return "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", nil
	})
	if err != nil {
		t.Fatalf("Verify: %T %v", err, err)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, got
}

// The test's chunk signer agrees with the SDK's streaming signer, so the
// encoder the other tests use is the AWS one.
func TestVerify_ChunkedSignerMatchesSDK(t *testing.T) {
	chunks := splitChunks(pattern(10000), 4096)
	s := newStreaming(t, StreamingSigned, len(encodeSigned(chunks, nil, "", "")), 10000, "")
	seed, _ := hex.DecodeString(s.seed)
	sdk := v4.NewStreamSigner(aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, "s3", testRegion, seed)
	for _, c := range append(chunks, nil) {
		want, err := sdk.GetSignature(context.Background(), nil, c, testTime)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.signer.chunk(c); got != hex.EncodeToString(want) {
			t.Fatalf("chunk signature %s, SDK %x", got, want)
		}
	}
}

func TestVerify_ChunkedSizes(t *testing.T) {
	cases := []struct{ size, chunk int }{
		{0, 8192}, {1, 8192}, {8192, 8192}, {8193, 8192}, {65536, 65536}, {200000, 65536}, {100000, 1000}, {3 << 20, 1 << 20},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d/%d", tc.size, tc.chunk), func(t *testing.T) {
			data := pattern(tc.size)
			r := signedUpload(t, data, tc.chunk)
			res, got := mustVerify(t, r)
			if !bytes.Equal(got, data) {
				t.Fatal("decoded body differs")
			}
			if res.Payload != StreamingSigned || res.DecodedLength != int64(tc.size) || r.ContentLength != int64(tc.size) {
				t.Fatalf("result = %+v ContentLength %d", res, r.ContentLength)
			}
		})
	}
}

// Small reads (one byte at a time) see the same bytes and checks.
func TestVerify_ChunkedTinyReads(t *testing.T) {
	data := pattern(5000)
	r := signedUpload(t, data, 1024)
	if _, err := verifyAt(r, testTime); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(oneByteReader{r.Body}, 1<<20))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("err %v, equal %v", err, bytes.Equal(got, data))
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func TestVerify_ChunkedTampered(t *testing.T) {
	data := pattern(3000)
	chunks := splitChunks(data, 1000)
	sized := len(encodeSigned(chunks, nil, "", ""))
	cases := []struct {
		name  string
		build func(s *streaming) []byte
		code  string
	}{
		{"tampered chunk", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, "", "")
			b[bytes.Index(b, []byte("\r\n"))+2+500] ^= 1
			return b
		}, CodeSignatureDoesNotMatch},
		{"reordered chunks", func(s *streaming) []byte {
			enc := splitEncoded(encodeSigned(chunks, s.signer, "", ""))
			enc[0], enc[1] = enc[1], enc[0]
			return bytes.Join(enc, nil)
		}, CodeSignatureDoesNotMatch},
		{"chunk signed with wrong seed", func(s *streaming) []byte {
			s.signer.prev = strings.Repeat("ab", 32)
			return encodeSigned(chunks, s.signer, "", "")
		}, CodeSignatureDoesNotMatch},
		{"wrong final signature", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, "", "")
			i := bytes.LastIndex(b, []byte("0;chunk-signature=")) + len("0;chunk-signature=")
			b[i] = flipHex(string(b[i]))[0]
			return b
		}, CodeSignatureDoesNotMatch},
		{"final chunk missing", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, "", "")
			return b[:bytes.LastIndex(b, []byte("0;chunk-signature="))]
		}, CodeIncompleteBody},
		{"truncated in data", func(s *streaming) []byte {
			return encodeSigned(chunks, s.signer, "", "")[:1500]
		}, CodeIncompleteBody},
		{"truncated in header", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, "", "")
			i := bytes.Index(b[100:], []byte(";chunk-signature=")) + 100
			return b[:i+10]
		}, CodeIncompleteBody},
		{"no CRLF after data", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, "", "")
			b[bytes.Index(b, []byte("\r\n"))+2+1000] = 'X'
			return b
		}, CodeInvalidRequest},
		{"bad size", func(s *streaming) []byte {
			b := encodeSigned(chunks, s.signer, "", "")
			b[0] = 'g'
			return b
		}, CodeInvalidRequest},
		{"unsigned chunk", func(s *streaming) []byte {
			return encodeUnsigned(chunks, "", "")
		}, CodeInvalidRequest},
		{"data after final chunk", func(s *streaming) []byte {
			return append(encodeSigned(chunks, s.signer, "", ""), "junk\r\n"...)
		}, CodeInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStreaming(t, StreamingSigned, sized, int64(len(data)), "")
			s.r.Body = readerOf(tc.build(s))
			if _, err := verifyAt(s.r, testTime); err != nil {
				t.Fatal(err)
			}
			_, err := io.ReadAll(s.r.Body)
			wantCode(t, err, tc.code)
			if BodyError(s.r) == nil || BodyError(s.r).Code != tc.code {
				t.Fatalf("BodyError = %v", BodyError(s.r))
			}
			// The failure is sticky.
			if _, again := s.r.Body.Read(make([]byte, 10)); again != err {
				t.Fatalf("second read error %v", again)
			}
		})
	}
}

// x-amz-decoded-content-length is signed; when it disagrees with the
// chunks the body fails with IncompleteBody, before extra data is passed on.
func TestVerify_ChunkedDecodedLength(t *testing.T) {
	data := pattern(3000)
	chunks := splitChunks(data, 1000)
	for _, declared := range []int64{2999, 3001, 0} {
		t.Run(strconv.FormatInt(declared, 10), func(t *testing.T) {
			s := newStreaming(t, StreamingSigned, len(encodeSigned(chunks, nil, "", "")), declared, "")
			s.r.Body = readerOf(encodeSigned(chunks, s.signer, "", ""))
			res, err := verifyAt(s.r, testTime)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(s.r.Body)
			wantCode(t, err, CodeIncompleteBody)
			if int64(len(got)) > declared {
				t.Fatalf("passed on %d bytes of %d declared", len(got), declared)
			}
			if res.BodyErr() == nil || res.BodyErr().Code != CodeIncompleteBody {
				t.Fatalf("BodyErr = %v", res.BodyErr())
			}
		})
	}
}

func TestVerify_ChunkedHeaders(t *testing.T) {
	data := pattern(10)
	chunks := splitChunks(data, 10)
	size := len(encodeSigned(chunks, nil, "", ""))
	t.Run("missing decoded length", func(t *testing.T) {
		r := newRequest(t, http.MethodPut, testURL("bucket", "k", ""), nil)
		r.ContentLength = int64(size)
		r.Header.Set("X-Amz-Content-Sha256", StreamingSigned)
		if err := s3Signer().SignHTTP(context.Background(), testCreds(), r, StreamingSigned, "s3", testRegion, testTime); err != nil {
			t.Fatal(err)
		}
		_, err := verifyAt(r, testTime)
		wantCode(t, err, CodeMissingContentLength)
	})
	t.Run("presigned streaming", func(t *testing.T) {
		r := presigned(t, http.MethodPut, testURL("bucket", "k", "X-Amz-Content-Sha256="+StreamingSigned), "60", testTime, nil)
		_, err := verifyAt(r, testTime)
		wantCode(t, err, CodeInvalidRequest)
	})
}

// Framing limits: an oversized chunk or header line is refused before
// anything of it is buffered.
func TestVerify_ChunkedLimits(t *testing.T) {
	cases := map[string]string{
		"huge chunk":      "ffffffffff;chunk-signature=" + strings.Repeat("0", 64) + "\r\n",
		"over 16 MiB":     "1000001;chunk-signature=" + strings.Repeat("0", 64) + "\r\n",
		"long line":       "10;chunk-signature=" + strings.Repeat("0", 8000) + "\r\n",
		"short signature": "10;chunk-signature=abc\r\n",
		"no signature":    "10\r\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStreaming(t, StreamingSigned, len(body), 1<<30, "")
			s.r.Body = readerOf([]byte(body))
			if _, err := verifyAt(s.r, testTime); err != nil {
				t.Fatal(err)
			}
			_, err := io.ReadAll(s.r.Body)
			wantCode(t, err, CodeInvalidRequest)
		})
	}
}

// splitEncoded splits an aws-chunked body into its chunks (header, data
// and CRLF each), the final chunk and trailer included in the last piece.
func splitEncoded(b []byte) [][]byte {
	var out [][]byte
	for {
		line := b[:bytes.Index(b, []byte("\r\n"))+2]
		hexSize, _, _ := strings.Cut(string(line[:len(line)-2]), ";")
		n, _ := strconv.ParseInt(hexSize, 16, 64)
		if n == 0 {
			return append(out, b)
		}
		end := len(line) + int(n) + 2
		out = append(out, b[:end])
		b = b[end:]
	}
}
