package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// feedEvent is one event of GET /events: the event as stored, with its
// sequence.
type feedEvent struct {
	Seq uint64 `json:"seq"`
	schema.Event
}

// feedPage is the JSON long poll's answer.
type feedPage struct {
	Events []feedEvent `json:"events"`
	Last   uint64      `json:"last"`
}

// feedGet asks GET /events and requires status want; the page is decoded
// when it is 200.
func feedGet(t testing.TB, e *Env, key string, q url.Values, want int) feedPage {
	t.Helper()
	r := e.Do(t, Req{Fn: "events", Key: key, Query: q})
	if r.Status != want {
		t.Fatalf("events %v: status %d, want %d: %s", q, r.Status, want, r.Body)
	}
	var p feedPage
	if want == http.StatusOK {
		r.JSON(t, &p)
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("events: Content-Type %q", r.Header.Get("Content-Type"))
		}
	}
	return p
}

// feedAll pages through the feed from after 0 (limit per page) until an
// answer is empty, checking order and the last field on the way.
func feedAll(t testing.TB, e *Env, key string, limit int, kv ...string) []feedEvent {
	t.Helper()
	var all []feedEvent
	after := uint64(0)
	for {
		q := Q(kv...)
		q.Set("after", strconv.FormatUint(after, 10))
		q.Set("limit", strconv.Itoa(limit))
		p := feedGet(t, e, key, q, http.StatusOK)
		if len(p.Events) > limit {
			t.Fatalf("limit %d: %d events", limit, len(p.Events))
		}
		if len(p.Events) == 0 {
			if p.Last != after {
				t.Fatalf("an empty page after %d says last %d", after, p.Last)
			}
			return all
		}
		for _, ev := range p.Events {
			if ev.Seq <= after {
				t.Fatalf("after %d: event %d (sequences must increase)", after, ev.Seq)
			}
			after = ev.Seq
		}
		if p.Last < after {
			t.Fatalf("last %d is before the page's last event %d", p.Last, after)
		}
		after = p.Last
		all = append(all, p.Events...)
	}
}

func feedSeqs(evs []feedEvent) []uint64 {
	out := make([]uint64, 0, len(evs))
	for _, ev := range evs {
		out = append(out, ev.Seq)
	}
	return out
}

func TestFeedHTTP_LongPoll(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a, b := e.WithService(t), e.WithService(t)
	w := e.NewKey(t, map[string]string{a: "write", b: "write"})
	r := e.NewKey(t, map[string]string{a: "read"})
	for i := range 3 {
		e.Upload(t, w.Value, a, fmt.Sprintf("a%d.txt", i), []byte("alpha"), nil)
		e.Upload(t, w.Value, b, fmt.Sprintf("b%d.txt", i), []byte("beta"), nil)
	}

	// The service's events only, in order, with their sequences and what
	// the log says of them.
	all := feedAll(t, e, r.Value, 100, "sid", a)
	var got []string
	for _, ev := range all {
		if ev.Service != a {
			t.Errorf("event %d of service %q in %s's feed", ev.Seq, ev.Service, a)
		}
		if ev.ID == "" || ev.Time.IsZero() || ev.Account == "" || len(ev.Data) == 0 {
			t.Errorf("event %d lacks its envelope: %+v", ev.Seq, ev)
		}
		if ev.Type == "object.put.v1" && (ev.Actor.KeyID != w.ID || ev.Actor.Dialect != "native" || ev.Actor.Addr == "" || ev.RequestID == "") {
			t.Errorf("put %d: actor %+v request %q, want key %s over native", ev.Seq, ev.Actor, ev.RequestID, w.ID)
		}
		got = append(got, ev.Type+" "+ev.Path)
	}
	want := []string{"service.created.v1 ", "object.put.v1 a0.txt", "object.put.v1 a1.txt", "object.put.v1 a2.txt"}
	if !slices.Equal(got, want) {
		t.Fatalf("%s's feed: %v, want %v", a, got, want)
	}
	// Pages of one give the same events.
	if one := feedAll(t, e, r.Value, 1, "sid", a); !slices.Equal(feedSeqs(one), feedSeqs(all)) {
		t.Errorf("pages of 1: %v, want %v", feedSeqs(one), feedSeqs(all))
	}

	// Resume by after: nothing new yet; a long poll answers with the next
	// put of this service (another service's put does not wake it).
	last := all[len(all)-1].Seq
	if p := feedGet(t, e, r.Value, Q("sid", a, "after", strconv.FormatUint(last, 10)), http.StatusOK); len(p.Events) != 0 || p.Last != last {
		t.Fatalf("after the last event: %+v", p)
	}
	done := make(chan feedPage, 1)
	go func() {
		resp, err := e.Send(Req{Fn: "events", Key: r.Value, Query: Q("sid", a, "after", strconv.FormatUint(last, 10), "wait", "60")})
		if err != nil || resp.Status != http.StatusOK {
			t.Errorf("long poll: %v %v", err, resp)
			done <- feedPage{}
			return
		}
		var p feedPage
		if err := json.Unmarshal(resp.Body, &p); err != nil {
			t.Errorf("long poll: %v", err)
		}
		done <- p
	}()
	e.Upload(t, w.Value, b, "b-meanwhile.txt", []byte("beta"), nil)
	up := e.Upload(t, w.Value, a, "a-new.txt", []byte("new"), nil)
	p := <-done
	if len(p.Events) != 1 || p.Events[0].Path != "a-new.txt" || p.Events[0].Seq <= last || p.Last != p.Events[0].Seq {
		t.Fatalf("long poll: %+v, want a-new.txt (version %s)", p, up.Version)
	}
	var put struct {
		Version string `json:"version"`
		ETag    string `json:"etag"`
		Size    int64  `json:"size"`
	}
	if err := json.Unmarshal(p.Events[0].Data, &put); err != nil || put.Version != up.Version || put.ETag != up.ETag || put.Size != 3 {
		t.Errorf("the put's data %s, want version %s etag %s", p.Events[0].Data, up.Version, up.ETag)
	}
}

func TestFeedHTTP_Access(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a, b := e.WithService(t), e.WithService(t)
	r := e.NewKey(t, map[string]string{a: "read"})
	w := e.NewKey(t, map[string]string{b: "write"})
	feedGet(t, e, r.Value, Q("sid", a), http.StatusOK)
	feedGet(t, e, w.Value, Q("sid", b), http.StatusOK) // write implies read
	feedGet(t, e, r.Value, Q("sid", b), http.StatusForbidden)
	feedGet(t, e, r.Value, Q("sid", b, "wait", "30"), http.StatusForbidden)
	feedGet(t, e, r.Value, Q("sid", "no-such-service"), http.StatusForbidden)
	feedGet(t, e, "", Q("sid", a), http.StatusUnauthorized)
	feedGet(t, e, "not-a-key-at-all", Q("sid", a), http.StatusUnauthorized)
	feedGet(t, e, r.Value, nil, http.StatusBadRequest) // only the server admin key may omit sid
	st := feedStream(t, e, r.Value, Q("sid", b), nil)
	if st.resp.StatusCode != http.StatusForbidden {
		t.Errorf("event stream without access: %d", st.resp.StatusCode)
	}
	st.close()

	// The server admin key follows every service, and never sees a key,
	// a token or a secret.
	acct, ak := e.Account(t)
	swToken(t, e, ak)
	e.Upload(t, w.Value, b, "x", []byte("x"), nil)
	all := feedAll(t, e, e.AdminKey, 1000)
	seen := map[string]bool{}
	for _, ev := range all {
		seen[ev.Type] = true
		if strings.HasPrefix(ev.Type, "key.") || strings.HasPrefix(ev.Type, "token.") {
			t.Errorf("event %d is a %s", ev.Seq, ev.Type)
		}
		if raw := string(ev.Data); strings.Contains(raw, `"sealed"`) || strings.Contains(raw, `"lookup"`) ||
			strings.Contains(raw, r.Value) || strings.Contains(raw, ak.Value) {
			t.Errorf("event %d (%s) carries a secret: %s", ev.Seq, ev.Type, raw)
		}
	}
	for _, typ := range []string{"account.created.v1", "service.created.v1", "object.put.v1"} {
		if !seen[typ] {
			t.Errorf("the admin feed has no %s: %v", typ, seen)
		}
	}
	if !slices.ContainsFunc(all, func(ev feedEvent) bool { return ev.Type == "account.created.v1" && ev.Account == acct }) {
		t.Errorf("the admin feed misses account %s", acct)
	}
}

func TestFeedHTTP_Filters(t *testing.T) {
	t.Parallel()
	e := Start(t)
	sid := e.WithService(t)
	k := e.NewKey(t, map[string]string{sid: "write"})
	e.Upload(t, k.Value, sid, "dir/one", []byte("1"), nil)
	e.Upload(t, k.Value, sid, "two", []byte("2"), nil)
	e.Upload(t, k.Value, sid, "dir/one", []byte("1b"), nil)
	if r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.Value, Query: Q("sid", sid, "path", "dir/one")}); r.Status != http.StatusOK {
		t.Fatalf("deletefile: %d %s", r.Status, r.Body)
	}
	typesOf := func(evs []feedEvent) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Type+" "+ev.Path)
		}
		return out
	}
	one := feedAll(t, e, k.Value, 100, "sid", sid, "path", "dir/one")
	if got, want := typesOf(one), []string{"object.put.v1 dir/one", "object.put.v1 dir/one", "object.delete.v1 dir/one"}; !slices.Equal(got, want) {
		t.Errorf("path dir/one: %v, want %v", got, want)
	}
	puts := feedAll(t, e, k.Value, 2, "sid", sid, "type", "object.put.v1")
	if got, want := typesOf(puts), []string{"object.put.v1 dir/one", "object.put.v1 two", "object.put.v1 dir/one"}; !slices.Equal(got, want) {
		t.Errorf("type object.put.v1: %v, want %v", got, want)
	}
	svc := feedAll(t, e, k.Value, 100, "sid", sid, "type", "service.created.v1")
	if len(svc) != 1 || svc[0].Service != sid {
		t.Errorf("type service.created.v1: %v", typesOf(svc))
	}
	if dels := feedAll(t, e, k.Value, 100, "sid", sid, "path", "two", "type", "object.delete.v1"); len(dels) != 0 {
		t.Errorf("deletes of two: %v", typesOf(dels))
	}
	// since: the first event at or after a moment
	all := feedAll(t, e, k.Value, 100, "sid", sid)
	third := all[3]
	since := feedGet(t, e, k.Value, Q("sid", sid, "since", third.Time.Format(time.RFC3339Nano)), http.StatusOK)
	if !slices.Equal(feedSeqs(since.Events), feedSeqs(all[3:])) {
		t.Errorf("since %s: %v, want %v", third.Time, feedSeqs(since.Events), feedSeqs(all[3:]))
	}
	feedGet(t, e, k.Value, Q("sid", sid, "type", "key.created.v1"), http.StatusBadRequest)
	feedGet(t, e, k.Value, Q("sid", sid, "type", "object.nonsense.v1"), http.StatusBadRequest)
	feedGet(t, e, k.Value, Q("sid", sid, "since", "yesterday"), http.StatusBadRequest)
	feedGet(t, e, k.Value, Q("sid", sid, "limit", "1001"), http.StatusBadRequest)
	feedGet(t, e, k.Value, Q("sid", sid, "wait", "61"), http.StatusBadRequest)
}

// stream is an open event stream (Accept: text/event-stream).
type stream struct {
	resp   *http.Response
	rd     *bufio.Reader
	cancel context.CancelFunc
}

func feedStream(t testing.TB, e *Env, key string, q url.Values, hdr map[string]string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/events?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-owncdn-key", key)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{resp: resp, rd: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(s.close)
	return s
}

func (s *stream) close() { s.cancel(); s.resp.Body.Close() }

// next returns the next event of the stream, skipping comments.
func (s *stream) next(t testing.TB) feedEvent {
	t.Helper()
	var id, typ, data string
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && data != "":
			var ev feedEvent
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatalf("event data %q: %v", data, err)
			}
			if strconv.FormatUint(ev.Seq, 10) != id || ev.Type != typ {
				t.Fatalf("id %q and event %q do not match the data %s", id, typ, data)
			}
			return ev
		case line == "", strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "event: "):
			typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
}

// An event stream dropped mid-way and resumed with Last-Event-ID gives
// every event once, in order, while uploads go on.
func TestFeedHTTP_StreamResume(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "stops the server under an open stream")
	sid := e.WithService(t)
	k := e.NewKey(t, map[string]string{sid: "write"})
	const n = 40
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			resp, err := e.Send(Req{Method: http.MethodPut, Fn: "uploadfile", Key: k.Value,
				Query: Q("sid", sid, "path", fmt.Sprintf("f%03d", i)), Body: strings.NewReader("x")})
			if err != nil || resp.Status != http.StatusCreated {
				t.Errorf("upload %d: %v %v", i, err, resp)
				return
			}
		}
	}()
	st := feedStream(t, e, k.Value, Q("sid", sid, "limit", "3"), nil)
	if ct := st.resp.Header.Get("Content-Type"); st.resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("event stream: %d %q", st.resp.StatusCode, ct)
	}
	var got []feedEvent
	for len(got) < 10 {
		got = append(got, st.next(t))
	}
	st.close() // the client goes away mid-stream; uploads go on
	lastID := strconv.FormatUint(got[len(got)-1].Seq, 10)
	st = feedStream(t, e, k.Value, Q("sid", sid, "after", "0"), map[string]string{"Last-Event-ID": lastID})
	for len(got) < n+1 { // the service's creation and n puts
		got = append(got, st.next(t))
	}
	wg.Wait()
	all := feedAll(t, e, k.Value, 1000, "sid", sid)
	if !slices.Equal(feedSeqs(got), feedSeqs(all)) {
		t.Fatalf("streamed %v,\nthe feed holds %v", feedSeqs(got), feedSeqs(all))
	}
	for i, ev := range got[1:] {
		if want := fmt.Sprintf("f%03d", i); ev.Path != want || ev.Type != "object.put.v1" {
			t.Errorf("event %d: %s %s, want the put of %s", ev.Seq, ev.Type, ev.Path, want)
		}
	}

	// An open stream does not hold up the server's shutdown.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatalf("Close with an event stream open: %v", err)
	}
	for {
		if _, err := st.rd.ReadString('\n'); err != nil {
			break
		}
	}
}
