package sigv4

import (
	"fmt"
	"net/http"
)

// Error is a verification failure carrying S3's error code and HTTP status.
// Err, when set, is the cause (for example the secret lookup's error).
type Error struct {
	Code    string
	Status  int
	Message string
	Err     error
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// S3 error codes this package answers with.
const (
	CodeAccessDenied               = "AccessDenied"
	CodeAuthorizationHeaderMalform = "AuthorizationHeaderMalformed"
	CodeAuthorizationQueryParams   = "AuthorizationQueryParametersError"
	CodeBadDigest                  = "BadDigest"
	CodeIncompleteBody             = "IncompleteBody"
	CodeInvalidAccessKeyID         = "InvalidAccessKeyId"
	CodeInvalidArgument            = "InvalidArgument"
	CodeInvalidDigest              = "InvalidDigest"
	CodeInvalidRequest             = "InvalidRequest"
	CodeMalformedTrailer           = "MalformedTrailerError"
	CodeMissingContentLength       = "MissingContentLength"
	CodeRequestTimeTooSkewed       = "RequestTimeTooSkewed"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeXAmzContentSHA256Mismatch  = "XAmzContentSHA256Mismatch"
)

// statusOf is the HTTP status of each code.
var statusOf = map[string]int{
	CodeAccessDenied:               http.StatusForbidden,
	CodeAuthorizationHeaderMalform: http.StatusBadRequest,
	CodeAuthorizationQueryParams:   http.StatusBadRequest,
	CodeBadDigest:                  http.StatusBadRequest,
	CodeIncompleteBody:             http.StatusBadRequest,
	CodeInvalidAccessKeyID:         http.StatusForbidden,
	CodeInvalidArgument:            http.StatusBadRequest,
	CodeInvalidDigest:              http.StatusBadRequest,
	CodeInvalidRequest:             http.StatusBadRequest,
	CodeMalformedTrailer:           http.StatusBadRequest,
	CodeMissingContentLength:       http.StatusLengthRequired,
	CodeRequestTimeTooSkewed:       http.StatusForbidden,
	CodeSignatureDoesNotMatch:      http.StatusForbidden,
	CodeXAmzContentSHA256Mismatch:  http.StatusBadRequest,
}

// fail returns the *Error for code with a formatted message.
func fail(code, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Status: statusOf[code], Message: msg}
}

const msgSignature = "The request signature we calculated does not match the signature you provided. Check your key and signing method."

func errSignature() *Error { return fail(CodeSignatureDoesNotMatch, msgSignature) }

func errIncomplete() *Error {
	return fail(CodeIncompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
}

func errChunked(format string, args ...any) *Error {
	return fail(CodeInvalidRequest, "malformed aws-chunked encoding: "+format, args...)
}
