package handlers_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/handlers"
	"github.com/cairnhq/cairn/handlers/httpx"
)

// dialect is a fake dialect: it claims the requests whose path starts
// with prefix and answers with its name.
type dialect struct{ name, prefix string }

func (d dialect) Handles(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, d.prefix) }

func (d dialect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := httpx.InfoOf(r.Context())
	info.Dialect, info.Operation, info.KeyID = d.name, "op-"+d.name, "KEY"
	w.WriteHeader(http.StatusTeapot)
	w.Write([]byte(d.name))
}

// TestRouter: the first dialect that claims a request serves it (the
// order decides between two that both would), the fallback answers the
// rest, every response carries its own request id, and one access-log
// line per request names the request id, dialect, status and bytes.
func TestRouter(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	fallback := dialect{name: "native"}
	h := handlers.New(log, fallback, dialect{"s3", "/s3/"}, dialect{"swift", "/s"}, dialect{"audit", "/audit/"})
	ids := map[string]bool{}
	for path, want := range map[string]string{
		"/s3/bucket":  "s3", // both s3 and swift claim it: the first in order wins
		"/swift/v1":   "swift",
		"/audit/log":  "audit",
		"/filelist":   "native",
		"/":           "native",
		"/no/dialect": "native",
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if got := w.Body.String(); got != want {
			t.Errorf("%s served by %q, want %q", path, got, want)
		}
		id := w.Header().Get("X-Request-Id")
		if id == "" || ids[id] {
			t.Errorf("%s: request id %q missing or reused", path, id)
		}
		ids[id] = true
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != len(ids) {
		t.Fatalf("%d access-log lines for %d requests:\n%s", len(lines), len(ids), logs.String())
	}
	for _, line := range lines {
		var rec struct {
			Msg, ID, Dialect, Op string
			Status               int
			Bytes                int64
			KeyID                string `json:"key_id"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Msg != "request" || !ids[rec.ID] || rec.Dialect == "" || rec.Op != "op-"+rec.Dialect ||
			rec.Status != http.StatusTeapot || rec.Bytes != int64(len(rec.Dialect)) || rec.KeyID != "KEY" {
			t.Errorf("access-log line %s", line)
		}
	}
}
