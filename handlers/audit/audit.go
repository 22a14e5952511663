// Package audit serves what `cairn verify --url` needs to check a running
// server from outside: the log as stored (each event's bytes and chain
// value) and blobs by digest, to the server's admin key only, and the
// public key checkpoints are signed with, to anyone.
//
//	GET /audit/log?after=SEQ&limit=N   JSON lines {"seq","subject","chain","data"} ({"seq","missing":true} for a gap)
//	GET /audit/blob?digest=SHA256      the blob's bytes
//	GET /audit/key                     the checkpoint public key (hex)
package audit

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// Log is the part of the event log this handler reads.
type Log interface {
	events.VerifySource
}

// Handler serves /audit/.
type Handler struct {
	log    Log
	blobs  blobstore.Store
	auth   *access.Authenticator
	pubKey string
	logger *slog.Logger
}

// New returns the audit handler.
func New(log Log, blobs blobstore.Store, auth *access.Authenticator, pubKey string, logger *slog.Logger) *Handler {
	return &Handler{log: log, blobs: blobs, auth: auth, pubKey: pubKey, logger: logger}
}

// Handles reports whether r is for /audit/.
func (h *Handler) Handles(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/audit/") }

// MaxPage bounds the events of one /audit/log answer.
const MaxPage = 5000

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := httpx.InfoOf(r.Context())
	info.Dialect, info.Operation = "audit", strings.TrimPrefix(r.URL.Path, "/audit/")
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/audit/key" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, h.pubKey+"\n")
		return
	}
	p, err := h.auth.ByValue(r.Context(), r.Header.Get(schema.KeyHeader))
	if err != nil || !p.Server {
		http.Error(w, "the server's admin key is required", http.StatusUnauthorized)
		return
	}
	info.KeyID = p.KeyID
	switch r.URL.Path {
	case "/audit/log":
		h.serveLog(w, r)
	case "/audit/blob":
		h.serveBlob(w, r)
	default:
		http.NotFound(w, r)
	}
}

type rawJSON struct {
	Seq     uint64 `json:"seq"`
	Subject string `json:"subject,omitempty"`
	Chain   string `json:"chain,omitempty"`
	Data    []byte `json:"data,omitempty"`
	Missing bool   `json:"missing,omitempty"`
}

func (h *Handler) serveLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := strconv.ParseUint(q.Get("after"), 10, 64)
	if q.Get("after") != "" && err != nil {
		http.Error(w, "after must be a sequence number", http.StatusBadRequest)
		return
	}
	limit := MaxPage
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxPage {
			http.Error(w, "limit must be 1-"+strconv.Itoa(MaxPage), http.StatusBadRequest)
			return
		}
	}
	ctx := r.Context()
	last, err := h.log.LastSeq(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Cairn-Last-Seq", strconv.FormatUint(last, 10))
	enc := json.NewEncoder(w)
	for seq := after + 1; seq <= last && seq <= after+uint64(limit); seq++ {
		raw, err := h.log.Raw(ctx, seq)
		out := rawJSON{Seq: seq}
		switch {
		case schema.IsKind(err, schema.KindNotFound):
			out.Missing = true
		case err != nil:
			h.logger.Error("audit log read", "seq", seq, "err", err)
			return // the client sees a short page and retries
		default:
			out.Subject, out.Chain, out.Data = raw.Subject, raw.Chain, raw.Data
		}
		if err := enc.Encode(out); err != nil {
			return
		}
	}
}

func (h *Handler) serveBlob(w http.ResponseWriter, r *http.Request) {
	d := r.URL.Query().Get("digest")
	if !schema.ValidDigest(d) {
		http.Error(w, "digest must be a SHA-256 in hex", http.StatusBadRequest)
		return
	}
	rd, err := h.blobs.Open(r.Context(), d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rd.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(rd.Size(), 10))
	_, _ = io.Copy(w, rd)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if schema.IsKind(err, schema.KindNotFound) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.logger.Error("audit", "request_id", httpx.InfoOf(r.Context()).ID, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}
