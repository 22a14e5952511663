package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Payload modes (the x-amz-content-sha256 values that are not a sha256).
const (
	UnsignedPayload          = "UNSIGNED-PAYLOAD"
	StreamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// Result says who signed the request and how the payload is protected.
type Result struct {
	KeyID     string
	Region    string
	Presigned bool
	// Payload is UnsignedPayload, one of the Streaming modes, or the hex
	// sha256 the payload must have.
	Payload string
	// DecodedLength is x-amz-decoded-content-length for the streaming
	// modes, else r.ContentLength.
	DecodedLength int64

	body verifier // nil when the body needs no verifying
}

// BodyErr returns the *Error the body installed by Verify reported, or nil
// (also before the body has been read, and when it needed no verifying).
// It lets a handler whose core wrapped the read error answer with the
// right S3 code.
func (res *Result) BodyErr() *Error {
	if res == nil || res.body == nil {
		return nil
	}
	return res.body.failure()
}

// Checksum returns the x-amz-checksum-* header name (or trailer name) and
// its base64 value once the body has been read to io.EOF and the checksum
// verified; else empty strings.
func (res *Result) Checksum() (name, value string) {
	if res == nil || res.body == nil {
		return "", ""
	}
	return res.body.checksum()
}

// BodyError returns the *Error reported by r.Body when r.Body is still the
// verifying body Verify installed, else nil. Result.BodyErr works even when
// the handler has since wrapped r.Body.
func BodyError(r *http.Request) *Error {
	if v, ok := r.Body.(verifier); ok {
		return v.failure()
	}
	return nil
}

// Signed reports whether r carries SigV4 credentials: an Authorization
// header of scheme AWS4-HMAC-SHA256 or X-Amz-Algorithm=AWS4-HMAC-SHA256 in
// the query.
func Signed(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), algorithm) {
		return true
	}
	v, ok := rawParam(r.URL.RawQuery, "X-Amz-Algorithm")
	return ok && v == algorithm
}

// rawParam returns the raw value of the first query parameter named name.
func rawParam(raw, name string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if k, v, _ := strings.Cut(pair, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// Verifier verifies the SigV4 signatures of one server's requests. It keeps
// the signing keys that verified a signature (bounded) and recycles its
// buffers; a server owns its Verifier, so two servers in one process share
// neither keys nor buffers. The zero value is ready to use, and a Verifier
// is safe for concurrent use.
type Verifier struct {
	keys    keyCache
	bufs    sync.Pool // *[]byte: canonical-request buffers of matches
	readers sync.Pool // *bufio.Reader: the aws-chunked decoders' readers
}

// NewVerifier returns an empty Verifier.
func NewVerifier() *Verifier { return &Verifier{} }

// Verify checks r's SigV4 signature (header or presigned-query form) using
// secret(ctx, keyID) to find the signing secret; an error from secret that
// is not already an *Error becomes InvalidAccessKeyId (403), wrapping it.
// now is the server's clock.
//
// On success it replaces r.Body with a reader that verifies the payload as
// it is read (sha256, aws-chunked signatures and framing, trailer, length,
// Content-MD5, x-amz-checksum-*) and returns an *Error instead of io.EOF
// when the payload does not verify; for streaming forms it also sets
// r.ContentLength (and a Content-Length header, if any) to the decoded
// length and removes aws-chunked from Content-Encoding. When there is
// nothing to verify (UNSIGNED-PAYLOAD without digests, or a signed empty
// payload and no body) r.Body is left as is.
//
// The error is always an *Error when it is not nil.
func (v *Verifier) Verify(r *http.Request, now time.Time, secret func(ctx context.Context, keyID string) (string, error)) (*Result, error) {
	res, err := v.verify(r, now, secret)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (v *Verifier) verify(r *http.Request, now time.Time, secret func(ctx context.Context, keyID string) (string, error)) (*Result, *Error) {
	var a auth
	if err := a.parse(r); err != nil {
		return nil, err
	}
	if err := a.checkScopeDate(); err != nil {
		return nil, err
	}
	if err := a.checkTime(now); err != nil {
		return nil, err
	}
	payload, err := a.payload(r)
	if err != nil {
		return nil, err
	}
	if err := a.checkUnsigned(r); err != nil {
		return nil, err
	}
	s, lerr := secret(r.Context(), a.keyID)
	if lerr != nil {
		var e *Error
		if errors.As(lerr, &e) {
			return nil, e
		}
		return nil, &Error{Code: CodeInvalidAccessKeyID, Status: statusOf[CodeInvalidAccessKeyID],
			Message: "The AWS Access Key Id you provided does not exist in our records.", Err: lerr}
	}
	key, cached := v.keys.signingKey(s, a.date, a.region)
	if !a.matches(r, key, payload, &v.bufs) {
		return nil, errSignature()
	}
	if !cached {
		v.keys.remember(s, a.date, a.region, key)
	}
	res := &Result{KeyID: a.keyID, Region: a.region, Presigned: a.presigned, Payload: payload, DecodedLength: r.ContentLength}
	if err := install(r, &a, key, res, &v.readers); err != nil {
		return nil, err
	}
	return res, nil
}

// parse finds and parses the request's credentials into a.
func (a *auth) parse(r *http.Request) *Error {
	h := r.Header.Get("Authorization")
	_, query := rawParam(r.URL.RawQuery, "X-Amz-Algorithm")
	switch {
	case h != "" && query:
		return fail(CodeInvalidArgument, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
	case strings.HasPrefix(h, algorithm):
		if err := a.parseHeader(h); err != nil {
			return err
		}
		return a.setHeaderDate(r)
	case strings.HasPrefix(h, "AWS "):
		return errV2()
	case h != "":
		return fail(CodeInvalidArgument, "Unsupported Authorization Type")
	case query:
		return a.parseQueryAuth(r.URL.RawQuery)
	}
	if _, ok := rawParam(r.URL.RawQuery, "AWSAccessKeyId"); ok {
		return errV2()
	}
	return fail(CodeAccessDenied, "Access Denied")
}

func errV2() *Error {
	return fail(CodeInvalidRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
}

// payload returns the payload hash of the canonical request.
func (a *auth) payload(r *http.Request) (string, *Error) {
	if a.presigned {
		return a.presignedPayload(r)
	}
	v := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case v == "":
		return "", fail(CodeInvalidRequest, "Missing required header for this request: x-amz-content-sha256")
	case v == UnsignedPayload || v == StreamingSigned || v == StreamingSignedTrailer || v == StreamingUnsignedTrailer:
		return v, nil
	case isSHA256(v):
		return v, nil
	}
	return "", fail(CodeInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.")
}

// presignedPayload is UNSIGNED-PAYLOAD unless the query, or a signed
// header, gives X-Amz-Content-Sha256 (then it must be a sha256).
func (a *auth) presignedPayload(r *http.Request) (string, *Error) {
	v := ""
	for _, p := range a.params {
		if p.key == "X-Amz-Content-Sha256" {
			v = p.value
		}
	}
	if v == "" && signedHas(a.signed, "x-amz-content-sha256") {
		v = r.Header.Get("X-Amz-Content-Sha256")
	}
	switch {
	case v == "" || v == UnsignedPayload:
		return UnsignedPayload, nil
	case isSHA256(v):
		return v, nil
	}
	return "", fail(CodeInvalidRequest, "presigned requests support only UNSIGNED-PAYLOAD or a sha256 payload hash")
}

func isSHA256(v string) bool {
	if len(v) != 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// signedHas reports whether the signed header list names name (lower case).
func signedHas(signed, name string) bool {
	for rest := signed; rest != ""; {
		var h string
		h, rest, _ = strings.Cut(rest, ";")
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// checkUnsigned rejects x-amz-* request headers left out of the signature,
// as S3 does. x-amz-content-sha256 is exempt: its value is the canonical
// request's payload hash, so it is covered either way.
func (a *auth) checkUnsigned(r *http.Request) *Error {
	for k := range r.Header {
		if len(k) < 6 || !strings.EqualFold(k[:6], "x-amz-") || strings.EqualFold(k, "x-amz-content-sha256") {
			continue
		}
		if !signedHas(a.signed, k) {
			return fail(CodeAccessDenied, "There were headers present in the request which were not signed: %s", strings.ToLower(k))
		}
	}
	return nil
}

// matches reports whether the request's signature is the one computed with
// key. It tries S3's canonical form first and, only if that fails, the
// alternative path and query forms some clients sign. bufs recycles its
// buffer.
func (a *auth) matches(r *http.Request, key [32]byte, payload string, bufs *sync.Pool) bool {
	bp, _ := bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 2048)
		bp = &b
	}
	defer bufs.Put(bp)
	b := appendHeaders((*bp)[:0], r, a.signed)
	b = append(b, '\n')
	b = append(b, a.signed...)
	b = append(b, '\n')
	b = append(b, payload...)
	tail := len(b)
	skip := ""
	if a.presigned {
		skip = "X-Amz-Signature"
	}
	var arr [16]param
	ps := a.params
	if ps == nil && r.URL.RawQuery != "" {
		ps = parseQueryInto(arr[:0], r.URL.RawQuery)
	}
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendPath(b, r)
	b = append(b, '\n')
	b = appendQuery(b, ps, skip)
	ok := false
	if ok, b = a.check(b, tail, key); !ok {
		b, ok = a.retry(r, b[:tail], key, ps, skip)
	}
	*bp = b[:0]
	return ok
}

// retry tries the other canonical forms (see pathForms and queryForms)
// after the headers block b.
func (a *auth) retry(r *http.Request, b []byte, key [32]byte, ps []param, skip string) ([]byte, bool) {
	tail := len(b)
	queries := queryForms(ps, skip)
	for i, path := range pathForms(r) {
		for j, q := range queries {
			if i == 0 && j == 0 {
				continue // the form matches already tried
			}
			b = append(b[:tail], r.Method...)
			b = append(b, '\n')
			b = append(b, path...)
			b = append(b, '\n')
			b = append(b, q...)
			var ok bool
			if ok, b = a.check(b, tail, key); ok {
				return b, true
			}
		}
	}
	return b, false
}

// check completes the canonical request whose method, path and query
// follow the headers block b[:tail], and compares its signature with the
// request's.
func (a *auth) check(b []byte, tail int, key [32]byte) (bool, []byte) {
	b = append(b, '\n')
	b = append(b, b[:tail]...)
	sum := sha256.Sum256(b[tail:])
	var sts [320]byte
	msg := append(sts[:0], algorithm+"\n"...)
	msg = append(msg, a.amzDate...)
	msg = append(msg, '\n')
	msg = a.appendScope(msg)
	msg = append(msg, '\n')
	msg = hex.AppendEncode(msg, sum[:])
	var scratch [512]byte
	sig, _ := hmacSHA256(key[:], msg, scratch[:0])
	return subtle.ConstantTimeCompare(sig[:], a.signature[:]) == 1, b
}

func (a *auth) appendScope(b []byte) []byte {
	b = append(b, a.date...)
	b = append(b, '/')
	b = append(b, a.region...)
	return append(b, "/s3/aws4_request"...)
}

// install replaces r.Body with the verifying body the payload mode needs;
// an aws-chunked decoder takes its buffered reader from readers.
func install(r *http.Request, a *auth, key [32]byte, res *Result, readers *sync.Pool) *Error {
	trailer := ""
	streaming := strings.HasPrefix(res.Payload, "STREAMING-")
	if res.Payload == StreamingSignedTrailer || res.Payload == StreamingUnsignedTrailer {
		t := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Amz-Trailer")))
		if strings.Contains(t, ",") {
			return fail(CodeInvalidRequest, "Expecting a single x-amz-checksum- trailer. Multiple checksum Types are not allowed.")
		}
		trailer = t
	}
	var d digests
	if err := d.setup(r, trailer, !completesUpload(r)); err != nil {
		return err
	}
	if streaming {
		return installChunked(r, a, key, res, d, readers)
	}
	if res.Payload == UnsignedPayload && !d.active() {
		return nil
	}
	noBody := r.Body == nil || r.Body == http.NoBody
	if noBody && res.Payload != UnsignedPayload && !strings.EqualFold(res.Payload, emptySHA256) {
		return fail(CodeXAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	if noBody && !d.active() {
		return nil
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	b := &plainBody{src: r.Body, size: r.ContentLength}
	b.digest = d
	if res.Payload != UnsignedPayload {
		b.sha = sha256.New()
		hex.Decode(b.want[:], []byte(res.Payload))
	}
	r.Body, res.body = b, b
	return nil
}

// completesUpload reports whether r is CompleteMultipartUpload, whose
// x-amz-checksum-* header is the object's checksum, not the body's.
func completesUpload(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	_, ok := rawParam(r.URL.RawQuery, "uploadId")
	return ok
}

// installChunked replaces r.Body with the aws-chunked decoder.
func installChunked(r *http.Request, a *auth, key [32]byte, res *Result, d digests, readers *sync.Pool) *Error {
	if a.presigned {
		return fail(CodeInvalidRequest, "streaming payloads require the Authorization header")
	}
	v := r.Header.Get("X-Amz-Decoded-Content-Length")
	if v == "" {
		return fail(CodeMissingContentLength, "You must provide the Content-Length HTTP header.")
	}
	want, err := strconv.ParseInt(v, 10, 64)
	if err != nil || want < 0 {
		return fail(CodeInvalidArgument, "x-amz-decoded-content-length must be a non-negative integer")
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	c := &chunkedBody{
		src:     newBuffered(readers, r.Body),
		pool:    readers,
		closer:  r.Body,
		signed:  res.Payload != StreamingUnsignedTrailer,
		trailer: res.Payload != StreamingSigned,
		key:     key,
		prev:    a.signature,
		want:    want,
		name:    d.sumName,
	}
	if !d.inTrailer {
		c.name = ""
	}
	c.digest = d
	if c.signed {
		c.sha = sha256.New()
		c.prefix = a.appendScope(append(append([]byte(nil), a.amzDate...), '\n'))
		c.prefix = append(c.prefix, '\n')
	}
	r.Body, res.body = c, c
	r.ContentLength, res.DecodedLength = want, want
	if r.Header.Get("Content-Length") != "" {
		r.Header.Set("Content-Length", v)
	}
	stripAWSChunked(r.Header)
	return nil
}

// stripAWSChunked removes aws-chunked from Content-Encoding: it describes
// the transfer, not the object.
func stripAWSChunked(h http.Header) {
	vs := h.Values("Content-Encoding")
	if len(vs) == 0 {
		return
	}
	var keep []string
	for _, v := range vs {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				keep = append(keep, e)
			}
		}
	}
	if len(keep) == 0 {
		h.Del("Content-Encoding")
		return
	}
	h.Set("Content-Encoding", strings.Join(keep, ","))
}
