package native

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// sseStream is an open event stream of GET /events.
type sseStream struct {
	resp   *http.Response
	rd     *bufio.Reader
	cancel context.CancelFunc
}

// openStream opens GET /events with Accept: text/event-stream.
func openStream(t *testing.T, base, key string, q url.Values, hdr map[string]string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-owncdn-key", key)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &sseStream{resp: resp, rd: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() { s.cancel(); s.resp.Body.Close() }

// next reads one block (an event, or a comment) up to its blank line.
func (s *sseStream) next(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v after %q", err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

// nextEvent skips comments and returns the next event's id, type and data.
func (s *sseStream) nextEvent(t *testing.T) (uint64, string, map[string]any) {
	t.Helper()
	for {
		block := s.next(t)
		if strings.HasPrefix(block, ":") {
			continue
		}
		lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "id: ") || !strings.HasPrefix(lines[1], "event: ") || !strings.HasPrefix(lines[2], "data: ") {
			t.Fatalf("not an event: %q", block)
		}
		id, err := strconv.ParseUint(lines[0][4:], 10, 64)
		if err != nil {
			t.Fatalf("event id %q", lines[0])
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(lines[2][6:]), &data); err != nil {
			t.Fatalf("event data is not JSON: %q", lines[2])
		}
		if data["seq"] != float64(id) || data["type"] != lines[1][7:] {
			t.Fatalf("the data's seq and type differ from the id and event lines: %q", block)
		}
		return id, lines[1][7:], data
	}
}

// firstStreamed opens an event stream and returns its answer with its
// first event as the body, for checking against the document.
func firstStreamed(t *testing.T, s *testServer, key string, q url.Values, hdr map[string]string) *answer {
	t.Helper()
	st := openStream(t, s.srv.URL, key, q, hdr)
	defer st.close()
	a := &answer{status: st.resp.StatusCode, header: st.resp.Header}
	if a.status == http.StatusOK {
		a.body = []byte(st.next(t))
	}
	return a
}

// The document's FeedEvent is schema.Event's JSON with seq.
func TestOpenAPI_FeedEvent(t *testing.T) {
	doc := openAPIDoc(t)
	fe := ref(t, doc, doc["components"].(map[string]any)["schemas"].(map[string]any)["FeedEvent"])
	props := fe["properties"].(map[string]any)
	want, always := []string{"seq"}, []string{"seq"}
	typ := reflect.TypeFor[schema.Event]()
	for i := range typ.NumField() {
		name, omit := schematest.JSONName(typ.Field(i))
		if name == "" {
			continue
		}
		want = append(want, name)
		if !omit {
			always = append(always, name)
		}
	}
	if got := slices.Sorted(maps.Keys(props)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("FeedEvent properties %v, schema.Event's JSON and seq %v", got, want)
	}
	var req []string
	for _, r := range asSlice(fe["required"]) {
		req = append(req, r.(string))
	}
	if !slices.Equal(slices.Sorted(slices.Values(req)), slices.Sorted(slices.Values(always))) {
		t.Errorf("FeedEvent required %v, want %v", req, always)
	}
	schematest.CheckStruct(t, doc, props["actor"], reflect.TypeFor[schema.Actor](), "FeedEvent.actor")
}

func TestFeedFilters(t *testing.T) {
	h := schema.Hash
	for _, tc := range []struct {
		sid, path, typ string
		want           []string
	}{
		{"", "", "", nil},
		{"", "", schema.TypeAccountCreated, nil},
		{"", "", schema.TypeObjectExpired, []string{"cairn.obj.*.*.expire"}},
		{"s", "", "", []string{"cairn.obj." + h("s") + ".>", "cairn.svc." + h("s") + ".*", "cairn.upl." + h("s") + ".*.*"}},
		{"s", "a/b", "", []string{"cairn.obj." + h("s") + "." + h("a/b") + ".*"}},
		{"s", "a/b", schema.TypeObjectCopy, []string{"cairn.obj." + h("s") + "." + h("a/b") + ".copy"}},
		{"s", "", schema.TypeObjectPut, []string{"cairn.obj." + h("s") + ".*.put"}},
		{"s", "", schema.TypeQuotaSet, []string{"cairn.svc." + h("s") + ".*"}},
		{"s", "", schema.TypeUploadPart, []string{"cairn.upl." + h("s") + ".*.*"}},
	} {
		if got := feedFilters(tc.sid, tc.path, tc.typ); !slices.Equal(got, tc.want) {
			t.Errorf("feedFilters(%q, %q, %q) = %v, want %v", tc.sid, tc.path, tc.typ, got, tc.want)
		}
	}
	// Each filter takes the events it names: the subject the log gives
	// them matches.
	for _, ev := range []*schema.Event{
		{Type: schema.TypeObjectPut, Service: "s", Path: "a/b"},
		{Type: schema.TypeObjectExpired, Service: "s", Path: "a/b"},
		{Type: schema.TypeServiceUpdated, Service: "s"},
		{Type: schema.TypeQuotaSet, Service: "s"},
		{Type: schema.TypeUploadCreated, Service: "s", Path: "a/b", Data: json.RawMessage(`{"upload":"01J0000000000000000000000"}`)},
	} {
		subj := schema.SubjectFor(ev)
		for _, fs := range [][]string{feedFilters("s", "", ""), feedFilters("s", "", ev.Type)} {
			if !slices.ContainsFunc(fs, func(f string) bool { return subjectMatches(f, subj) }) {
				t.Errorf("%s on %s: no filter of %v takes it", ev.Type, subj, fs)
			}
		}
	}
	q := &feedQuery{sid: "s", typ: schema.TypeObjectPut}
	for ev, want := range map[*schema.Event]bool{
		{Type: schema.TypeObjectPut, Service: "s"}:   true,
		{Type: "object.put.v2", Service: "s"}:        false,
		{Type: schema.TypeObjectPut, Service: "t"}:   false,
		{Type: schema.TypeKeyCreated, Service: "s"}:  false,
		{Type: schema.TypeTokenIssued, Service: "s"}: false,
		{Type: schema.TypeCheckpoint, Service: "s"}:  false,
	} {
		if q.typ = schema.TypeObjectPut; !feedType(ev.Type) {
			q.typ = ""
		}
		if got := q.matches(ev); got != want {
			t.Errorf("matches(%s of %s) = %v", ev.Type, ev.Service, got)
		}
	}
}

// subjectMatches reports whether a NATS subject filter takes subj.
func subjectMatches(filter, subj string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subj, ".")
	for i, tok := range f {
		switch {
		case tok == ">":
			return len(s) > i
		case i >= len(s):
			return false
		case tok != "*" && tok != s[i]:
			return false
		}
	}
	return len(f) == len(s)
}

// The event stream: keep-alive comments while nothing happens, events as
// they come, resumption by Last-Event-ID, and its end when the key is
// revoked or the server stops.
func TestEvents_Stream(t *testing.T) {
	s := startHandler(t)
	stop := make(chan struct{})
	d := s.h.d
	d.Stop = stop
	h := New(d)
	h.keepAlive = 20 * time.Millisecond
	srv := httptest.NewServer(httpx.Middleware(d.Log, h))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	o := access.Principal{KeyID: "tester"}
	if _, err := d.Core.CreateService(ctx, o.Origin("native", "", ""), events.ServiceInput{ID: "feed"}); err != nil {
		t.Fatal(err)
	}
	put := func(p string) uint64 {
		t.Helper()
		v, err := d.Core.PutObject(ctx, o.Origin("native", "", ""), events.PutInput{Service: "feed", Path: p, Body: strings.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		return v.Seq
	}
	first := put("one")
	st := openStream(t, srv.URL, testAdminValue, url.Values{"sid": {"feed"}}, nil)
	if ct := st.resp.Header.Get("Content-Type"); st.resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %q", st.resp.StatusCode, ct)
	}
	if id, typ, _ := st.nextEvent(t); typ != schema.TypeServiceCreated || id >= first {
		t.Fatalf("first event %d %s", id, typ)
	}
	if id, typ, data := st.nextEvent(t); id != first || typ != schema.TypeObjectPut || data["path"] != "one" {
		t.Fatalf("second event %d %s %v", id, typ, data)
	}
	if block := st.next(t); block != ": keep-alive\n" {
		t.Fatalf("nothing new: %q, want a keep-alive comment", block)
	}
	second := put("two")
	if id, _, data := st.nextEvent(t); id != second || data["path"] != "two" {
		t.Fatalf("a new event: %d %v", id, data)
	}
	st.close()

	// Last-Event-ID wins over after.
	st = openStream(t, srv.URL, testAdminValue, url.Values{"sid": {"feed"}, "after": {"0"}}, map[string]string{"Last-Event-ID": strconv.FormatUint(first, 10)})
	if id, _, _ := st.nextEvent(t); id != second {
		t.Fatalf("resumed after %d: %d", first, id)
	}
	if a := firstStreamed(t, &testServer{srv: srv}, testAdminValue, url.Values{"sid": {"feed"}}, map[string]string{"Last-Event-ID": "x"}); a.status != http.StatusBadRequest {
		t.Errorf("Last-Event-ID x: %d", a.status)
	}

	// The server stopping ends the stream.
	close(stop)
	for {
		if _, err := st.rd.ReadString('\n'); err != nil {
			break
		}
	}
}

// A key revoked while it streams loses the stream.
func TestEvents_StreamRevoked(t *testing.T) {
	s := startHandler(t)
	s.h.keepAlive = 20 * time.Millisecond
	ctx := context.Background()
	admin := access.Principal{KeyID: "admin", Server: true}
	if _, err := s.h.d.Core.CreateService(ctx, admin.Origin("native", "", ""), events.ServiceInput{ID: "feed"}); err != nil {
		t.Fatal(err)
	}
	k, value, err := s.h.d.Core.CreateKey(ctx, admin.Origin("native", "", ""), events.KeyInput{Name: "reader", Access: map[string]string{"feed": "read"}})
	if err != nil {
		t.Fatal(err)
	}
	st := openStream(t, s.srv.URL, value, url.Values{"sid": {"feed"}}, nil)
	if _, typ, _ := st.nextEvent(t); typ != schema.TypeServiceCreated {
		t.Fatalf("first event %s", typ)
	}
	if err := s.h.d.Core.RevokeKey(ctx, admin.Origin("native", "", ""), k.ID); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	if _, err := rest.ReadFrom(st.rd); err != nil && !strings.Contains(err.Error(), "closed") {
		t.Fatalf("after the revocation: %v", err)
	}
	if strings.Contains(rest.String(), "event: ") {
		t.Errorf("events after the revocation: %q", rest.String())
	}
}
