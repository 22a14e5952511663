// Package sigv4 verifies AWS Signature Version 4 on S3 requests, exactly as
// AWS specifies it for S3: the Authorization header form and the presigned
// query form, the canonical request (S3's single URI encoding, with the
// path as sent tried when the decoded form does not match), signing-key
// derivation (cached), clock skew and expiry, and the payload as it is read:
// a signed sha256, aws-chunked streaming bodies with chained chunk
// signatures, unsigned and signed trailers, and the Content-MD5 and
// x-amz-checksum-* digests.
//
// The package owns authentication of the request and integrity of its
// payload and nothing else: it knows no key store (the caller passes a
// secret lookup), no buckets or permissions, and writes no responses. Its
// failures are *Error values carrying S3's error code and HTTP status, for
// the S3 dialect to render.
//
// The package holds no state of its own: a server creates one Verifier,
// which caches that server's signing keys and recycles its buffers, so two
// servers in one process share nothing.
//
// Invariant: Verify returns success only when the request's signature
// verifies; from then on the body it installs yields the payload bytes and
// reports, instead of io.EOF, an *Error when any check on the payload fails.
// Every payload check runs before io.EOF is returned, so a caller that
// commits only after reading the body to io.EOF never stores unverified
// bytes. Decoded chunk data is passed through as it arrives (a chunk's
// signature is checked when the chunk ends), so a caller must not act on a
// prefix of the body before io.EOF. Result.BodyErr (or BodyError(r))
// returns the body's *Error for handlers whose core wrapped the read error.
// Streaming bodies come out decoded: r.ContentLength is the decoded length
// and aws-chunked is dropped from Content-Encoding.
//
// Content-MD5 and x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256} (as
// a header, or as the trailer x-amz-trailer names) are checked against the
// (decoded) payload in every mode; CompleteMultipartUpload's
// x-amz-checksum-* header is the object's checksum and is not checked, and
// x-amz-checksum-* headers of other algorithms are ignored. A Verifier
// caches (bounded) the signing keys that have verified a signature.
//
// Error codes (status):
//
//   - AccessDenied (403): no credentials; presigned URL expired ("Request has
//     expired") or dated more than 15 minutes ahead ("Request is not valid
//     yet"); no valid Date or X-Amz-Date; x-amz-* headers present but not
//     signed.
//   - AuthorizationHeaderMalformed (400): Authorization header that does not
//     parse, wrong service or terminator in the credential scope, scope date
//     not the X-Amz-Date day, host not signed.
//   - AuthorizationQueryParametersError (400): the same faults in a presigned
//     query, a missing parameter, an unsupported X-Amz-Algorithm, an
//     X-Amz-Expires outside 1..604800.
//   - InvalidAccessKeyId (403): the secret lookup failed (any error not
//     already an *Error; the cause is kept and unwrappable).
//   - RequestTimeTooSkewed (403): request time more than 15 minutes from the
//     server's clock.
//   - SignatureDoesNotMatch (403): request, chunk or trailer signature wrong.
//   - InvalidRequest (400): Signature Version 2 ("Please use
//     AWS4-HMAC-SHA256."), header form without x-amz-content-sha256
//     ("Missing required header for this request: x-amz-content-sha256"),
//     streaming payload (or an X-Amz-Content-Sha256 that is not a sha256) in
//     a presigned request, malformed aws-chunked framing, a chunk over 16
//     MiB or a header line over 4 KiB, more than one checksum, a trailer
//     naming no supported checksum, a malformed checksum value.
//   - InvalidArgument (400): both header and query credentials, an
//     unsupported Authorization scheme, an x-amz-content-sha256 that is no
//     known mode nor a sha256, an invalid x-amz-decoded-content-length.
//   - MissingContentLength (411): a streaming payload without
//     x-amz-decoded-content-length.
//   - XAmzContentSHA256Mismatch (400): the body's sha256 differs from the
//     signed x-amz-content-sha256.
//   - IncompleteBody (400): the body ended early, or the decoded length is
//     not x-amz-decoded-content-length (or Content-Length).
//   - MalformedTrailerError (400): a trailer that does not parse, is not
//     declared in x-amz-trailer, is missing, or lacks its signature.
//   - BadDigest (400): Content-MD5 or an x-amz-checksum-* (header or
//     trailer) does not match the payload.
//   - InvalidDigest (400): Content-MD5 not base64 of 16 bytes.
package sigv4
