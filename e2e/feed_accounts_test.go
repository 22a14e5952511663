package e2e

// Feed isolation between accounts (issue 17, item 3): an account's NATS
// feed credential reads only that account's events; the server-wide feed
// user, the server admin's, reads all; the HTTP feed with an account's
// admin key has none of another account's events.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/schema"
)

// faCred is feedcredcreate's answer.
type faCred struct {
	User     string `json:"user"`
	Password string `json:"password"`
	Account  string `json:"account"`
}

// faCall calls a feedcred function with key and fails unless it answers
// want.
func faCall(t *testing.T, e *Env, fn, key string, body any, want int) *Resp {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, Req{Method: http.MethodPost, Fn: fn, Key: key, Body: bytes.NewReader(b)})
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d: %s", fn, r.Status, want, r.Body)
	}
	return r
}

// faAccount makes an account with an admin key and a service holding a
// few small files (inline in their events).
func faAccount(t *testing.T, e *Env) (acct string, admin Key, sid string) {
	t.Helper()
	acct, admin = e.Account(t)
	sid = uniqueName(t, "f", 63)
	e.Admin(t, "servicecreate", map[string]any{"id": sid, "account": acct}, http.StatusCreated)
	for i := range 3 {
		e.Upload(t, admin.Value, sid, fmt.Sprintf("f%d", i), []byte(acct+" private"), nil)
	}
	return acct, admin, sid
}

func TestFeedAccounts_NATS(t *testing.T) {
	e := nfStart(t)
	ctx := context.Background()
	acctA, adminA, sa := faAccount(t, e)
	_, adminB, sb := faAccount(t, e)

	var cred faCred
	faCall(t, e, "feedcredcreate", adminA.Value, map[string]any{"name": "indexer"}, http.StatusCreated).JSON(t, &cred)
	if cred.Account != acctA || !schema.ValidFeedUser(cred.User) || cred.Password == "" {
		t.Fatalf("feedcredcreate with A's admin key: %+v", cred)
	}
	faCall(t, e, "feedcredcreate", adminA.Value, map[string]any{"account": schema.DefaultAccount}, http.StatusForbidden)
	faCall(t, e, "feedcredrevoke", adminB.Value, map[string]any{"user": cred.User}, http.StatusNotFound)

	nc, err := nats.Connect(e.Srv.NATSURL(), nats.UserInfo(cred.User, cred.Password), nats.NoReconnect())
	if err != nil {
		t.Fatalf("connect with A's credential: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	// refused at once by the proxy: B's service, every service, a
	// wildcard service, every account
	for name, filters := range map[string][]string{
		"B's service":        nfFilters(sb),
		"every object":       {"cairn.obj.>"},
		"a wildcard service": {"cairn.obj.*.>"},
		"every account":      {"cairn.acct.>"},
		"A's and B's":        {schema.ServiceObjectsFilter(sa), schema.ServiceObjectsFilter(sb)},
	} {
		_, err := js.CreateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "refused", FilterSubjects: filters})
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != http.StatusForbidden {
			t.Errorf("%s: %v, want a 403 API error", name, err)
		}
	}

	// A's service through a durable consumer: exactly its events, with
	// A's bytes and none of B's
	e.Upload(t, adminB.Value, sb, "late", []byte("B after the credential"), nil)
	e.Upload(t, adminA.Value, sa, "late", []byte("A after the credential"), nil)
	want := nfServiceSeqs(t, e, sa)
	r := newRecorder()
	fctx, stop := context.WithCancel(ctx)
	done := nfFollow(fctx, js, "a-indexer", sa, r)
	r.waitFor(t, want[len(want)-1], done)
	stop()
	<-done
	nfWantSeqs(t, r, want)
	for _, ev := range r.events {
		if ev.Service != sa || ev.Account != acctA {
			t.Errorf("A's consumer got an event of %s/%s", ev.Account, ev.Service)
		}
	}

	// the server-wide user, the server admin's, still reads both
	_, adminJS, _ := nfConn(t, e)
	oc, err := adminJS.OrderedConsumer(ctx, schema.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"cairn.obj.>"}})
	if err != nil {
		t.Fatalf("the server-wide user's ordered consumer: %v", err)
	}
	seen := map[string]bool{}
	for !seen[sa] || !seen[sb] {
		m, err := oc.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("the server-wide user read %v: %v", seen, err)
		}
		var ev schema.Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		seen[ev.Service] = true
	}

	// revoked by A's admin key: disconnected, no longer logs in, its
	// consumer gone
	faCall(t, e, "feedcredrevoke", adminA.Value, map[string]any{"user": cred.User}, http.StatusOK)
	eventually(t, 10*time.Second, func() error {
		if !nc.IsClosed() {
			return errors.New("the revoked credential's connection is still open")
		}
		return nil
	})
	if c, err := nats.Connect(e.Srv.NATSURL(), nats.UserInfo(cred.User, cred.Password), nats.NoReconnect()); err == nil {
		c.Close()
		t.Error("a revoked credential connected")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("a revoked credential: %v, want an authorization error", err)
	}
	if _, err := adminJS.Consumer(ctx, schema.StreamName, "a-indexer"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the revoked credential's consumer: %v, want gone", err)
	}
}

// The HTTP feed (/events) and syncnext with an account's admin key: its
// own services' events only, never another account's nor key events.
func TestFeedAccounts_Events(t *testing.T) {
	e := Start(t)
	acctA, adminA, sa := faAccount(t, e)
	acctB, adminB, sb := faAccount(t, e)
	e.CreateKey(t, KeySpec{Account: acctB, Access: map[string]string{sb: "read"}})

	var page schema.FeedPage
	r := e.Do(t, Req{Fn: "events", Key: adminA.Value, Query: Q("sid", sa, "after", "0", "limit", "1000")})
	if r.Status != http.StatusOK {
		t.Fatalf("events of A's service with A's admin key: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &page)
	if len(page.Events) < 4 {
		t.Errorf("A's feed has %d events, want at least its service's creation and 3 uploads", len(page.Events))
	}
	for _, raw := range page.Events {
		var ev schema.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		family, _, _ := strings.Cut(ev.Type, ".")
		if ev.Service != sa || ev.Account != acctA || !slices.Contains([]string{"object", "service", "quota", "upload"}, family) {
			t.Errorf("A's feed holds a %s event of %s/%s", ev.Type, ev.Account, ev.Service)
		}
	}
	for name, q := range map[string]Req{
		"events of B's service": {Fn: "events", Key: adminA.Value, Query: Q("sid", sb)},
		"every event":           {Fn: "events", Key: adminA.Value, Query: Q("after", "0")},
		"syncnext of B's":       {Fn: "syncnext", Key: adminA.Value, Query: Q("sid", sb)},
		"events of A's by B":    {Fn: "events", Key: adminB.Value, Query: Q("sid", sa)},
	} {
		if r := e.Do(t, q); r.Status == http.StatusOK {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		} else if bytes.Contains(r.Body, []byte(" private")) {
			t.Errorf("%s shows another account's bytes: %s", name, r.Body)
		}
	}
	if r := e.Do(t, Req{Fn: "syncnext", Key: adminA.Value, Query: Q("sid", sa)}); r.Status != http.StatusOK || bytes.Contains(r.Body, []byte(acctB)) {
		t.Errorf("syncnext of A's service with A's admin key: %d %s", r.Status, r.Body)
	}
}
