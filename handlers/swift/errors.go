package swift

import (
	"errors"
	"html"
	"log/slog"
	"net/http"

	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// Error is an answer in Swift's terms: a status and a short message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return http.StatusText(e.Status) + ": " + e.Message }

func swiftErr(status int, msg string) error { return &Error{Status: status, Message: msg} }

var (
	errNotFound     = swiftErr(http.StatusNotFound, "The resource could not be found.")
	errUnauthorized = swiftErr(http.StatusUnauthorized, "This server could not verify that you are authorized to access the document you requested.")
	errForbidden    = swiftErr(http.StatusForbidden, "Access was denied to this resource.")
	errMethod       = swiftErr(http.StatusMethodNotAllowed, "The method is not allowed for this resource.")
)

// statusOf is the dialect's one table from error kind to status; a test
// fails when a kind has none.
var statusOf = map[schema.Kind]int{
	schema.KindInternal:            http.StatusInternalServerError,
	schema.KindNotFound:            http.StatusNotFound,
	schema.KindAlreadyExists:       http.StatusConflict,
	schema.KindConflict:            http.StatusConflict,
	schema.KindPreconditionFailed:  http.StatusPreconditionFailed,
	schema.KindInvalidArgument:     http.StatusBadRequest,
	schema.KindQuotaExceeded:       http.StatusRequestEntityTooLarge,
	schema.KindTooLarge:            http.StatusRequestEntityTooLarge,
	schema.KindUnauthorized:        http.StatusUnauthorized,
	schema.KindForbidden:           http.StatusForbidden,
	schema.KindNotImplemented:      http.StatusNotImplemented,
	schema.KindUnavailable:         http.StatusServiceUnavailable,
	schema.KindMethodNotAllowed:    http.StatusMethodNotAllowed,
	schema.KindHistoryTruncated:    http.StatusGone,
	schema.KindRangeNotSatisfiable: http.StatusRequestedRangeNotSatisfiable,
	// what a Swift object server answers when its drive is full
	schema.KindInsufficientStorage: http.StatusInsufficientStorage,
}

// statusClientDisconnect is Swift's 499 Client Disconnect: a body that
// ended before its Content-Length or broke its chunked encoding.
const statusClientDisconnect = 499

// classify returns the status and client-safe message of err.
func classify(err error) (int, string) {
	var se *Error
	if errors.As(err, &se) {
		return se.Status, se.Message
	}
	switch { // as Swift's proxy answers a client's body that times out or falls short
	case errors.Is(err, httpx.ErrBodyTimeout):
		return http.StatusRequestTimeout, "The client did not send the request body in time."
	case errors.Is(err, httpx.ErrIncompleteBody):
		return statusClientDisconnect, "The client disconnected or sent a malformed body before the declared length."
	}
	k := schema.KindOf(err)
	status, ok := statusOf[k]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusUnauthorized: // never which part of a credential was wrong
		return status, errUnauthorized.(*Error).Message
	case http.StatusInternalServerError:
		var de *schema.Error
		if errors.As(err, &de) && de.Reason != "" {
			return status, schema.MessageOf(err) // written for clients: damaged or missing data, say
		}
		return status, "An internal error occurred."
	}
	return status, schema.MessageOf(err)
}

// writeError answers err as Swift does: the status with a short HTML body
// (none for HEAD). Internal causes go to the log, never to the client.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, msg := classify(err)
	if status >= 500 {
		info := httpx.InfoOf(r.Context())
		log.Error("swift request failed", "request_id", info.ID, "op", info.Operation, "err", err)
	}
	h := w.Header()
	for _, k := range []string{"Etag", "Last-Modified", "Content-Length", "Content-Range", "Accept-Ranges", "Content-Disposition"} {
		h.Del(k)
	}
	text := http.StatusText(status)
	if status == statusClientDisconnect {
		text = "Client Disconnect"
	}
	body := "<html><h1>" + text + "</h1><p>" + html.EscapeString(msg) + "</p></html>"
	h.Set("Content-Type", "text/html; charset=UTF-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
