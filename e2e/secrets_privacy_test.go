package e2e

// Issue 17, items 4 to 6: temp URL keys are sealed in the log and shown
// only to those who administer the account or container; a long poll
// whose key is revoked while it waits answers the refusal, not what came
// after; an SLO manifest cannot probe another account; reqlist shows a
// plain key its own requests only.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// spTempURL is a temp URL of method on path (a /v1/... path), valid for a
// minute, signed with key as Swift's clients sign one (HMAC-SHA1 of
// "METHOD\nEXPIRES\nPATH").
func spTempURL(e *Env, method, path, key string) string {
	expires := time.Now().Add(time.Minute).Unix()
	m := hmac.New(sha1.New, []byte(key))
	fmt.Fprintf(m, "%s\n%d\n%s", method, expires, path)
	return e.URL + path + "?" + url.Values{"temp_url_sig": {hex.EncodeToString(m.Sum(nil))},
		"temp_url_expires": {strconv.FormatInt(expires, 10)}}.Encode()
}

// The temp URL keys set on an account and a container through Swift never
// appear in clear in the log (whose bytes the NATS feed carries as they
// are) or in the admin's /events feed; URLs signed with them work; account
// and container HEAD show them to the account's admin key and not to a
// plain read/write key of the account, which still gets the rest of the
// metadata.
func TestSecrets_TempURLKeys(t *testing.T) {
	e := StartLocal(t, "reads the raw log")
	acct, admin := e.Account(t)
	tok := swToken(t, e, admin)
	cont := swName(t)
	swWant(t, "PUT container", swDo(t, e, http.MethodPut, swPath(acct, cont), tok, nil, nil), http.StatusCreated)
	swWant(t, "PUT object", swDo(t, e, http.MethodPut, swPath(acct, cont, "doc.txt"), tok, nil, strings.NewReader("temp url body")), http.StatusCreated)

	acctSecret := "acct-" + uniqueName(t, "k", 40)
	contSecret := "cont-" + uniqueName(t, "k", 40)
	swWant(t, "POST account temp URL key", swDo(t, e, http.MethodPost, swPath(acct), tok,
		map[string]string{"X-Account-Meta-Temp-Url-Key": acctSecret, "X-Account-Meta-Color": "blue"}, nil), http.StatusNoContent)
	swWant(t, "POST container temp URL key", swDo(t, e, http.MethodPost, swPath(acct, cont), tok,
		map[string]string{"X-Container-Meta-Temp-Url-Key-2": contSecret, "X-Container-Meta-Shape": "round"}, nil), http.StatusNoContent)

	// the log, event by event
	sealed := 0
	for _, ev := range nfLog(t, e) {
		b, err := ev.Encode()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{acctSecret, contSecret} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("event %d (%s) holds a temp URL key in clear: %s", ev.Seq, ev.Type, b)
			}
		}
		sealed += bytes.Count(b, []byte(events.SealedMetaPrefix))
	}
	if sealed < 2 {
		t.Errorf("the log holds %d sealed metadata values, want the two keys sealed", sealed)
	}
	// the admin's feed
	r := e.Do(t, Req{Fn: "events", Key: e.AdminKey, Query: Q("after", "0", "limit", "1000")})
	natWant(t, "events as the admin", r, http.StatusOK)
	if bytes.Contains(r.Body, []byte(acctSecret)) || bytes.Contains(r.Body, []byte(contSecret)) {
		t.Errorf("/events shows a temp URL key in clear")
	}
	if !bytes.Contains(r.Body, []byte(events.SealedMetaPrefix)) {
		t.Errorf("/events does not show the account's update (the search is broken): %.500s", r.Body)
	}

	// URLs signed with either key open the object; a wrong key does not
	obj := swPath(acct, cont, "doc.txt")
	for _, key := range []string{acctSecret, contSecret} {
		r := e.Fetch(t, http.MethodGet, spTempURL(e, http.MethodGet, obj, key), nil)
		if r.Status != http.StatusOK || string(r.Body) != "temp url body" {
			t.Errorf("GET with a temp URL: %d %q", r.Status, r.Body)
		}
	}
	r = e.Fetch(t, http.MethodGet, spTempURL(e, http.MethodGet, obj, "not-the-key"), nil)
	swWantErr(t, "GET with a temp URL signed with a wrong key", r, http.StatusUnauthorized)
	if bytes.Contains(r.Body, []byte(acctSecret)) || bytes.Contains(r.Body, []byte(contSecret)) {
		t.Errorf("the refusal shows a temp URL key: %s", r.Body)
	}

	// who sees the keys
	plain := e.CreateKey(t, KeySpec{Account: acct, Access: map[string]string{cont: "write"}})
	ptok := swToken(t, e, plain)
	for _, c := range []struct {
		who, token, path, header, secret, other string
		shown                                   bool
	}{
		{"the account admin", tok, swPath(acct), "X-Account-Meta-Temp-Url-Key", acctSecret, "X-Account-Meta-Color", true},
		{"a read/write key", ptok, swPath(acct), "X-Account-Meta-Temp-Url-Key", acctSecret, "X-Account-Meta-Color", false},
		{"the account admin", tok, swPath(acct, cont), "X-Container-Meta-Temp-Url-Key-2", contSecret, "X-Container-Meta-Shape", true},
		{"a read/write key", ptok, swPath(acct, cont), "X-Container-Meta-Temp-Url-Key-2", contSecret, "X-Container-Meta-Shape", false},
	} {
		for _, method := range []string{http.MethodHead, http.MethodGet} {
			r := swDo(t, e, method, c.path, c.token, nil, nil)
			swWant(t, method+" "+c.path+" as "+c.who, r, http.StatusOK, http.StatusNoContent)
			if got := r.Header.Get(c.header); c.shown && got != c.secret {
				t.Errorf("%s %s as %s: %s = %q, want the key", method, c.path, c.who, c.header, got)
			} else if !c.shown && got != "" {
				t.Errorf("%s %s as %s: %s = %q, want none", method, c.path, c.who, c.header, got)
			}
			if r.Header.Get(c.other) == "" {
				t.Errorf("%s %s as %s: no %s (the other metadata is for every key)", method, c.path, c.who, c.other)
			}
		}
	}
}

// spWaiting counts the server goroutines whose stack holds fn: how a test
// in this process knows a long poll is waiting (it was admitted) without
// sleeping.
func spWaiting(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), fn)
		}
		buf = make([]byte, 2*len(buf))
	}
}

// A syncnext or /events long poll (wait=5) whose key is revoked while it
// waits answers 401, never the upload made after the revocation.
func TestLongPoll_RevokedWhileWaiting(t *testing.T) {
	e := StartLocal(t, "watches the server's goroutines to know a long poll waits")
	for _, c := range []struct{ fn, waitsIn string }{
		{"syncnext", "native.(*Handler).changes("},
		{"events", "native.(*Handler).nextEvents("},
	} {
		t.Run(c.fn, func(t *testing.T) {
			sid := e.WithService(t)
			k := e.NewKey(t, map[string]string{sid: "read"})
			after := "0"
			if c.fn == "events" {
				last, err := e.Srv.Log.LastSeq(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				after = strconv.FormatUint(last, 10)
			}
			before := spWaiting(c.waitsIn)
			done := make(chan *Resp, 1)
			errs := make(chan error, 1)
			go func() {
				r, err := e.Send(Req{Fn: c.fn, Key: k.Value, Query: Q("sid", sid, "after", after, "wait", "5")})
				if err != nil {
					errs <- err
					return
				}
				done <- r
			}()
			eventually(t, 5*time.Second, func() error {
				if n := spWaiting(c.waitsIn); n <= before {
					return fmt.Errorf("%d goroutines in %s, want more than %d", n, c.waitsIn, before)
				}
				return nil
			})
			e.Admin(t, "keyrevoke", map[string]any{"id": k.ID}, http.StatusOK)
			e.Upload(t, e.AdminKey, sid, "after-revocation.txt", []byte("written after the revocation"), nil)
			var r *Resp
			select {
			case r = <-done:
			case err := <-errs:
				t.Fatal(err)
			}
			natWantErr(t, c.fn+"?wait=5 with its key revoked while it waited", r, http.StatusUnauthorized, schema.CodeUnauthorized)
			if bytes.Contains(r.Body, []byte("after-revocation")) {
				t.Errorf("%s answered the upload made after the revocation: %s", c.fn, r.Body)
			}
		})
	}
}

// An SLO manifest naming another account's object is answered alike
// whether that object exists, its container exists without it, or there
// is no such container: nothing tells the caller what another account
// holds.
func TestSLO_AnotherAccountLearnsNothing(t *testing.T) {
	e := Start(t)
	acctA, adminA := e.Account(t)
	tokA := swToken(t, e, adminA)
	contA := swName(t)
	swWant(t, "PUT container", swDo(t, e, http.MethodPut, swPath(acctA, contA), tokA, nil, nil), http.StatusCreated)
	acctB, adminB := e.Account(t)
	tokB := swToken(t, e, adminB)
	contB := swName(t)
	swWant(t, "PUT B's container", swDo(t, e, http.MethodPut, swPath(acctB, contB), tokB, nil, nil), http.StatusCreated)
	swWant(t, "PUT B's object", swDo(t, e, http.MethodPut, swPath(acctB, contB, "exists"), tokB, nil, strings.NewReader("b's data")), http.StatusCreated)

	answer := func(path string) string {
		body := fmt.Sprintf(`[{"path": %q, "etag": null, "size_bytes": null}]`, path)
		r := swDo(t, e, http.MethodPut, swPath(acctA, contA, "probe")+"?multipart-manifest=put", tokA, nil, strings.NewReader(body))
		return fmt.Sprintf("%d %s", r.Status, strings.ReplaceAll(string(r.Body), path, "PATH"))
	}
	exists := answer("/" + contB + "/exists")
	for _, p := range []string{"/" + contB + "/absent", "/" + swName(t) + "-none/x"} {
		if got := answer(p); got != exists {
			t.Errorf("SLO manifest naming %s: %q; naming another account's existing object: %q", p, got, exists)
		}
	}
	if !strings.HasPrefix(exists, "400 ") {
		t.Errorf("SLO manifest naming another account's object: %q, want 400", exists)
	}
}

// reqlist shows the account's admin key every key's requests on the
// service, and a plain key only its own.
func TestReqList_Privacy(t *testing.T) {
	e := Start(t)
	acct, admin := e.Account(t)
	sid := uniqueName(t, "t", 63)
	e.Admin(t, "servicecreate", map[string]any{"id": sid, "account": acct}, http.StatusCreated)
	writer := e.CreateKey(t, KeySpec{Account: acct, Access: map[string]string{sid: "write"}})
	reader := e.CreateKey(t, KeySpec{Account: acct, Access: map[string]string{sid: "read"}})
	e.Upload(t, writer.Value, sid, "r.txt", []byte("reqlist"), nil)
	natWant(t, "getfile", natGet(t, e, reader.Value, sid, "r.txt"), http.StatusOK)

	seen := func(key string) (map[string]bool, error) {
		r := e.Do(t, Req{Fn: "reqlist", Key: key, Query: Q("sid", sid, "limit", "1000")})
		if r.Status != http.StatusOK {
			return nil, fmt.Errorf("reqlist: %d %s", r.Status, r.Body)
		}
		var list struct {
			Requests []schema.Request `json:"requests"`
		}
		r.JSON(t, &list)
		ids := map[string]bool{}
		for _, q := range list.Requests {
			ids[q.KeyID] = true
		}
		return ids, nil
	}
	// the request log is written in the background: wait for both
	eventually(t, 10*time.Second, func() error {
		ids, err := seen(admin.Value)
		if err == nil && (!ids[writer.ID] || !ids[reader.ID]) {
			err = fmt.Errorf("reqlist as the account admin shows the requests of %v, want the writer's and the reader's", ids)
		}
		return err
	})
	for _, k := range []Key{writer, reader} {
		ids, err := seen(k.Value)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || !ids[k.ID] {
			t.Errorf("reqlist as %s shows the requests of %v, want its own only", k.ID, ids)
		}
	}
}
