package native

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// statusOf is the dialect's one table from error kind to HTTP status and
// wire code (spec/native.md: 409 for preconditions and conflicts).
var statusOf = map[schema.Kind]struct {
	Status int
	Code   string
}{
	schema.KindInternal:            {http.StatusInternalServerError, "internal_error"},
	schema.KindNotFound:            {http.StatusNotFound, "not_found"},
	schema.KindAlreadyExists:       {http.StatusConflict, "already_exists"},
	schema.KindConflict:            {http.StatusConflict, "conflict"},
	schema.KindPreconditionFailed:  {http.StatusConflict, "precondition_failed"},
	schema.KindInvalidArgument:     {http.StatusBadRequest, "invalid_argument"},
	schema.KindQuotaExceeded:       {http.StatusRequestEntityTooLarge, "quota_exceeded"},
	schema.KindTooLarge:            {http.StatusRequestEntityTooLarge, "too_large"},
	schema.KindUnauthorized:        {http.StatusUnauthorized, "unauthorized"},
	schema.KindForbidden:           {http.StatusForbidden, "forbidden"},
	schema.KindNotImplemented:      {http.StatusNotImplemented, "not_implemented"},
	schema.KindUnavailable:         {http.StatusServiceUnavailable, "unavailable"},
	schema.KindMethodNotAllowed:    {http.StatusMethodNotAllowed, "method_not_allowed"},
	schema.KindHistoryTruncated:    {http.StatusGone, "history_truncated"},
	schema.KindRangeNotSatisfiable: {http.StatusRequestedRangeNotSatisfiable, "invalid_range"},
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

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
