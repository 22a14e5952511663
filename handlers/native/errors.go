package native

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// statusOf is the dialect's one table from error kind to HTTP status and
// wire code (schema/native.openapi.json: 409 for preconditions and
// conflicts).
var statusOf = map[schema.Kind]struct {
	Status int
	Code   string
}{
	schema.KindInternal:            {http.StatusInternalServerError, schema.CodeInternal},
	schema.KindNotFound:            {http.StatusNotFound, schema.CodeNotFound},
	schema.KindAlreadyExists:       {http.StatusConflict, schema.CodeAlreadyExists},
	schema.KindConflict:            {http.StatusConflict, schema.CodeConflict},
	schema.KindPreconditionFailed:  {http.StatusConflict, schema.CodePreconditionFailed},
	schema.KindInvalidArgument:     {http.StatusBadRequest, schema.CodeInvalidArgument},
	schema.KindQuotaExceeded:       {http.StatusRequestEntityTooLarge, schema.CodeQuotaExceeded},
	schema.KindTooLarge:            {http.StatusRequestEntityTooLarge, schema.CodeTooLarge},
	schema.KindUnauthorized:        {http.StatusUnauthorized, schema.CodeUnauthorized},
	schema.KindForbidden:           {http.StatusForbidden, schema.CodeForbidden},
	schema.KindNotImplemented:      {http.StatusNotImplemented, schema.CodeNotImplemented},
	schema.KindUnavailable:         {http.StatusServiceUnavailable, schema.CodeUnavailable},
	schema.KindMethodNotAllowed:    {http.StatusMethodNotAllowed, schema.CodeMethodNotAllowed},
	schema.KindHistoryTruncated:    {http.StatusGone, schema.CodeHistoryTruncated},
	schema.KindRangeNotSatisfiable: {http.StatusRequestedRangeNotSatisfiable, schema.CodeRangeNotSatisfiable},
	schema.KindInsufficientStorage: {http.StatusInsufficientStorage, schema.CodeInsufficientStorage},
}

// errorBody is the native error body (the wire type is defined in schema).
type errorBody = schema.ErrorBody

// writeError answers err in the native shape. Internal causes go to the
// log with the request id, never to the client.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	kind := schema.KindOf(err)
	m, ok := statusOf[kind]
	if !ok {
		m = statusOf[schema.KindInternal]
	}
	info := httpx.InfoOf(r.Context())
	if kind == schema.KindInternal || kind == schema.KindUnavailable {
		log.Error("request failed", "id", info.ID, "op", info.Operation, "err", err)
	}
	var body errorBody
	body.Error.Code, body.Error.Message, body.RequestID = m.Code, schema.MessageOf(err), info.ID
	if r.Method == http.MethodHead {
		w.WriteHeader(m.Status)
		return
	}
	writeJSON(w, m.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
