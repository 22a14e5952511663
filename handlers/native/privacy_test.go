package native

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/schema"
)

// A long poll (syncnext and events with wait) whose key is revoked while
// it waits answers the refusal (401), never the upload made after the
// revocation.
func TestLongPoll_RevokedWhileWaiting(t *testing.T) {
	s := startHandler(t)
	ctx := context.Background()
	admin := access.Principal{KeyID: "admin", Server: true}
	o := admin.Origin("native", "", "")
	// The hook tells when a long poll has been admitted: it reads wait
	// after its key and access were checked.
	admitted := make(chan string, 8)
	s.h.queried = func(fn, param string) {
		if param == "wait" {
			admitted <- fn
		}
	}
	for _, fn := range []string{"syncnext", "events"} {
		t.Run(fn, func(t *testing.T) {
			sid := "poll-" + fn
			if _, err := s.h.d.Core.CreateService(ctx, o, events.ServiceInput{ID: sid}); err != nil {
				t.Fatal(err)
			}
			k, value, err := s.h.d.Core.CreateKey(ctx, o, events.KeyInput{Name: "poller", Access: map[string]string{sid: "read"}})
			if err != nil {
				t.Fatal(err)
			}
			after := "0"
			if fn == "events" {
				last, err := s.log.LastSeq(ctx)
				if err != nil {
					t.Fatal(err)
				}
				after = strconv.FormatUint(last, 10)
			}
			type result struct {
				status int
				body   []byte
				err    error
			}
			done := make(chan result, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/"+fn+"?"+url.Values{"sid": {sid}, "after": {after}, "wait": {"5"}}.Encode(), nil)
				req.Header.Set(schema.KeyHeader, value)
				resp, err := s.srv.Client().Do(req)
				if err != nil {
					done <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				done <- result{resp.StatusCode, b, err}
			}()
			if got := <-admitted; got != fn {
				t.Fatalf("admitted %s, want %s", got, fn)
			}
			if err := s.h.d.Core.RevokeKey(ctx, o, k.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.h.d.Core.PutObject(ctx, o, events.PutInput{Service: sid, Path: "after-revocation.txt",
				Body: bytes.NewReader([]byte("written after the revocation")), ContentType: "text/plain"}); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.status != http.StatusUnauthorized || bytes.Contains(r.body, []byte("after-revocation")) {
				t.Errorf("%s?wait=5 with its key revoked while it waited: %d %s; want 401 and nothing written after", fn, r.status, r.body)
			}
		})
	}
}

// reqlist shows every request of the service to its administrators (the
// server's admin key, an admin key of its account) and to any other key
// only its own.
func TestReqList_OwnRequestsOnly(t *testing.T) {
	f := newFixture(t)
	f.do(t, http.MethodGet, "getfile", readValue, q("sid", "photos", "path", "f.txt"), "", nil)
	f.do(t, http.MethodGet, "getfile", allValue, q("sid", "photos", "path", "f.txt"), "", nil)
	f.do(t, http.MethodPut, "uploadfile", writeValue, q("sid", "photos", "path", "w.txt"), "x", nil)
	keysSeen := func(value string) map[string]bool {
		t.Helper()
		w := f.do(t, http.MethodGet, "reqlist", value, q("sid", "photos", "limit", "1000"), "", nil)
		expect(t, w, http.StatusOK, "")
		var list struct {
			Requests []schema.Request `json:"requests"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range list.Requests {
			seen[r.KeyID] = true
		}
		return seen
	}
	for _, value := range []string{acctAdmValue, fakeAdminValue} {
		if seen := keysSeen(value); !seen["KREAD"] || !seen["KALL"] || !seen["KWRITE"] || !seen[fakeAdminID] {
			t.Errorf("reqlist to an administrator shows the requests of %v, want every key's", seen)
		}
	}
	for value, id := range map[string]string{readValue: "KREAD", writeValue: "KWRITE", allValue: "KALL"} {
		if seen := keysSeen(value); len(seen) != 1 || !seen[id] {
			t.Errorf("reqlist to %s shows the requests of %v, want its own only", id, seen)
		}
	}
}
