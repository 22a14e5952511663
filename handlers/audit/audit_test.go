package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/audit"
	"github.com/cairnhq/cairn/schema"
)

// eventLog is a fake log: events by sequence, with gaps where one is
// missing.
type eventLog struct {
	last   uint64
	events map[uint64]*events.RawEvent
}

func (l *eventLog) LastSeq(context.Context) (uint64, error) { return l.last, nil }

func (l *eventLog) Raw(_ context.Context, seq uint64) (*events.RawEvent, error) {
	if ev, ok := l.events[seq]; ok {
		return ev, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "no event %d", seq)
}

// keys is a fake key projection holding one account key.
type keys struct{}

func (keys) Key(context.Context, string) (*schema.Key, error) {
	return nil, schema.Errorf(schema.KindNotFound, "key not found")
}

func (keys) KeyByLookup(_ context.Context, lookup string) (*schema.Key, error) {
	if lookup == events.LookupHash("account-key") {
		return &schema.Key{ID: "KACCOUNTACCOUNTACC01", Account: "a", Admin: true}, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "key not found")
}

func newAudit(t *testing.T) (*audit.Handler, string) {
	t.Helper()
	blobs, err := blobstore.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	info, err := blobs.Put(context.Background(), strings.NewReader("blob bytes"), -1)
	if err != nil {
		t.Fatal(err)
	}
	log := &eventLog{last: 4, events: map[uint64]*events.RawEvent{
		1: {Seq: 1, Subject: "cairn.a", Data: []byte(`{"n":1}`), Chain: "c1"},
		2: {Seq: 2, Subject: "cairn.b", Data: []byte(`{"n":2}`), Chain: "c2"},
		4: {Seq: 4, Subject: "cairn.d", Data: []byte(`{"n":4}`), Chain: "c4"},
	}}
	auth := access.New(keys{}, "ADMINID", "admin-key")
	return audit.New(log, blobs, auth, "PUBKEY", slog.New(slog.DiscardHandler)), info.SHA256
}

func get(h http.Handler, path, key string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if key != "" {
		r.Header.Set(schema.KeyHeader, key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestAudit_Access: the public key to anyone; the log and the blobs to
// the server's admin key only (an account's admin key is not enough);
// GET only.
func TestAudit_Access(t *testing.T) {
	h, digest := newAudit(t)
	if w := get(h, "/audit/key", ""); w.Code != 200 || w.Body.String() != "PUBKEY\n" {
		t.Fatalf("key: %d %q", w.Code, w.Body)
	}
	for _, path := range []string{"/audit/log", "/audit/blob?digest=" + digest} {
		for _, key := range []string{"", "wrong", "account-key"} {
			if w := get(h, path, key); w.Code != http.StatusUnauthorized {
				t.Errorf("%s with key %q: %d, want 401", path, key, w.Code)
			}
		}
		if w := get(h, path, "admin-key"); w.Code != 200 {
			t.Errorf("%s with the admin key: %d %s", path, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/audit/log", nil)
	r.Header.Set(schema.KeyHeader, "admin-key")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodGet {
		t.Fatalf("POST: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	if w := get(h, "/audit/other", "admin-key"); w.Code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", w.Code)
	}
}

type line struct {
	Seq     uint64 `json:"seq"`
	Subject string `json:"subject"`
	Chain   string `json:"chain"`
	Data    []byte `json:"data"`
	Missing bool   `json:"missing"`
}

func lines(t *testing.T, body io.Reader) []line {
	t.Helper()
	var out []line
	dec := json.NewDecoder(body)
	for dec.More() {
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// TestAudit_Log: the log as stored, in pages, with gaps marked missing and
// the last sequence in a header.
func TestAudit_Log(t *testing.T) {
	h, _ := newAudit(t)
	w := get(h, "/audit/log", "admin-key")
	got := lines(t, w.Body)
	if w.Header().Get("X-Cairn-Last-Seq") != "4" || len(got) != 4 {
		t.Fatalf("last seq %q, %d lines", w.Header().Get("X-Cairn-Last-Seq"), len(got))
	}
	if got[0].Seq != 1 || got[0].Subject != "cairn.a" || got[0].Chain != "c1" || !bytes.Equal(got[0].Data, []byte(`{"n":1}`)) {
		t.Errorf("first line %+v", got[0])
	}
	if !got[2].Missing || got[2].Seq != 3 || got[2].Data != nil {
		t.Errorf("the gap: %+v", got[2])
	}
	page := lines(t, get(h, "/audit/log?after=1&limit=2", "admin-key").Body)
	if len(page) != 2 || page[0].Seq != 2 || page[1].Seq != 3 {
		t.Fatalf("page after 1, limit 2: %+v", page)
	}
	for _, q := range []string{"after=x", "limit=0", "limit=5001", "limit=y"} {
		if w := get(h, "/audit/log?"+q, "admin-key"); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, w.Code)
		}
	}
}

// TestAudit_Blob: a blob by digest, 404 for one the store does not hold,
// 400 for what is not a digest (never a path).
func TestAudit_Blob(t *testing.T) {
	h, digest := newAudit(t)
	w := get(h, "/audit/blob?digest="+digest, "admin-key")
	if w.Code != 200 || w.Body.String() != "blob bytes" || w.Header().Get("Content-Length") != "10" {
		t.Fatalf("blob: %d %q %q", w.Code, w.Body, w.Header().Get("Content-Length"))
	}
	if w := get(h, "/audit/blob?digest="+strings.Repeat("0", 64), "admin-key"); w.Code != http.StatusNotFound {
		t.Fatalf("missing blob: %d", w.Code)
	}
	for _, d := range []string{"", "../../etc/passwd", strings.Repeat("g", 64), digest[:10]} {
		if w := get(h, "/audit/blob?digest="+d, "admin-key"); w.Code != http.StatusBadRequest {
			t.Errorf("digest %q: %d, want 400", d, w.Code)
		}
	}
}
