package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/handlers/s3/sigv4"
	"github.com/cairnhq/cairn/schema"
)

// Error is an S3 error decided by the dialect itself (a code the core has
// no kind for, such as NoSuchBucket or MalformedXML).
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func s3Errorf(code string, status int, format string, args ...any) error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

type wire struct {
	Status int
	Code   string
}

// statusOf is the dialect's one table from error kind to S3 status and
// code; a test fails when a kind has no entry.
var statusOf = map[schema.Kind]wire{
	schema.KindInternal:            {http.StatusInternalServerError, "InternalError"},
	schema.KindNotFound:            {http.StatusNotFound, "NoSuchKey"},
	schema.KindAlreadyExists:       {http.StatusConflict, "BucketAlreadyExists"},
	schema.KindConflict:            {http.StatusConflict, "OperationAborted"},
	schema.KindPreconditionFailed:  {http.StatusPreconditionFailed, "PreconditionFailed"},
	schema.KindInvalidArgument:     {http.StatusBadRequest, "InvalidArgument"},
	schema.KindQuotaExceeded:       {http.StatusForbidden, "QuotaExceeded"},
	schema.KindTooLarge:            {http.StatusBadRequest, "EntityTooLarge"},
	schema.KindUnauthorized:        {http.StatusForbidden, "AccessDenied"},
	schema.KindForbidden:           {http.StatusForbidden, "AccessDenied"},
	schema.KindNotImplemented:      {http.StatusNotImplemented, "NotImplemented"},
	schema.KindUnavailable:         {http.StatusServiceUnavailable, "ServiceUnavailable"},
	schema.KindMethodNotAllowed:    {http.StatusMethodNotAllowed, "MethodNotAllowed"},
	schema.KindHistoryTruncated:    {http.StatusBadRequest, "InvalidArgument"},
	schema.KindRangeNotSatisfiable: {http.StatusRequestedRangeNotSatisfiable, "InvalidRange"},
	// AWS defines no code for a full disk; 507 with this code is what
	// S3-compatible stores answer (SDKs retry it as a 5xx, then report it)
	schema.KindInsufficientStorage: {http.StatusInsufficientStorage, "InsufficientStorage"},
}

// reasonOf refines a kind's code where S3 has a finer one.
var reasonOf = map[string]wire{
	schema.ReasonNoSuchUpload:     {http.StatusNotFound, "NoSuchUpload"},
	schema.ReasonInvalidPart:      {http.StatusBadRequest, "InvalidPart"},
	schema.ReasonInvalidPartOrder: {http.StatusBadRequest, "InvalidPartOrder"},
	schema.ReasonEntityTooSmall:   {http.StatusBadRequest, "EntityTooSmall"},
	schema.ReasonNoSuchVersion:    {http.StatusNotFound, "NoSuchVersion"},
	schema.ReasonNoSuchService:    {http.StatusNotFound, "NoSuchBucket"},
	schema.ReasonNotEmpty:         {http.StatusConflict, "BucketNotEmpty"},
}

// errorBody is S3's XML error document.
type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// classify returns the status, code and client-safe message of err.
func classify(err error) (status int, code, msg string) {
	var se *Error
	var ve *sigv4.Error
	switch {
	case errors.As(err, &ve):
		return ve.Status, ve.Code, ve.Message
	case errors.As(err, &se):
		return se.Status, se.Code, se.Message
	case errors.Is(err, httpx.ErrBodyTimeout):
		return http.StatusBadRequest, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period."
	case errors.Is(err, httpx.ErrIncompleteBody):
		return http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header."
	}
	wi, ok := reasonOf[schema.ReasonOf(err)]
	if !ok {
		wi = statusOf[schema.KindOf(err)]
	}
	if wi.Code == "" {
		wi = statusOf[schema.KindInternal]
	}
	return wi.Status, wi.Code, schema.MessageOf(err)
}

// writeError answers err as S3 does: the XML error document (no body for
// HEAD). Internal causes go to the log, never to the client.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, code, msg := classify(err)
	info := httpx.InfoOf(r.Context())
	if status >= 500 {
		log.Error("s3 request failed", "request_id", info.ID, "op", info.Operation, "err", err)
	}
	h := w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Content-Length", "Content-Range", "x-amz-version-id", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(errorBody{Code: code, Message: msg, Resource: r.URL.Path, RequestID: info.ID})
}
