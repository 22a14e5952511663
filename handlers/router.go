package handlers

import (
	"log/slog"
	"net/http"

	"github.com/cairnhq/cairn/handlers/httpx"
)

// Dialect is one wire format over the core.
type Dialect interface {
	http.Handler
	// Handles reports whether the request is in this dialect.
	Handles(r *http.Request) bool
}

// New returns the server's HTTP handler: the first dialect that claims a
// request serves it; fallback (the native dialect, with its JSON 404)
// answers everything else, so every response has a request id and a log
// line.
func New(log *slog.Logger, fallback http.Handler, dialects ...Dialect) http.Handler {
	return httpx.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", httpx.InfoOf(r.Context()).ID)
		for _, d := range dialects {
			if d.Handles(r) {
				d.ServeHTTP(w, r)
				return
			}
		}
		fallback.ServeHTTP(w, r)
	}))
}
