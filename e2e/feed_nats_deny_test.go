package e2e

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// The feed user can read the log only through consumers of its own on the
// public subjects: it cannot write to the log or the request log, change
// or read the stream otherwise, nor consume key and token events.
func TestFeedNATS_Denied(t *testing.T) {
	e := nfStart(t)
	sid := e.WithService(t)
	e.Upload(t, e.AdminKey, sid, "a", []byte("a"), nil)
	k := e.NewKey(t, map[string]string{sid: "read"})
	e.Admin(t, "keyrevoke", map[string]any{"id": k.ID}, http.StatusOK)
	nc, js, denied := nfConn(t, e)
	// Cairn's own traffic never reaches the feed account's inboxes: after
	// uploads (their acks go to Cairn's inbox), the first message on
	// _INBOX.> is the answer to our own request (first: the connection has
	// nothing else in flight yet)
	sub, err := nc.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.Upload(t, e.AdminKey, sid, "b", []byte("b"), nil)
	}
	inbox := nc.NewInbox()
	if err := nc.PublishRequest("$JS.API.INFO", inbox, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(10 * time.Second); err != nil {
		t.Errorf("no answer on _INBOX.>: %v", err)
	} else if m.Subject != inbox {
		t.Errorf("first message on _INBOX.> is on %s (%s), want the answer on %s", m.Subject, m.Data, inbox)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	last, err := e.Srv.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reqs := nfStreamMsgs(t, e, schema.ReqStreamName)

	// publishing into the log or the request log
	for _, subj := range []string{schema.ObjectSubject(sid, "x", "put"), "cairn.obj.x.y.put", "cairn.key.K.created", schema.ReqSubject(sid)} {
		if err := nc.Publish(subj, []byte(`{"type":"object.put.v1"}`)); err != nil {
			t.Fatal(err)
		}
		nfWantDenied(t, denied, subj)
	}
	if _, err := nc.SubscribeSync("cairn.>"); err == nil {
		nfWantDenied(t, denied, "cairn.>")
	}

	// stream changes, message gets, consumers on keys or everything: the
	// permissions refuse them (no answer; each call times out)
	st, err := js.Stream(ctx, schema.StreamName)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	byPermission := map[string]func(context.Context) error{
		"$JS.API.STREAM.PURGE.CAIRN":  func(ctx context.Context) error { return st.Purge(ctx) },
		"$JS.API.STREAM.DELETE.CAIRN": func(ctx context.Context) error { return js.DeleteStream(ctx, schema.StreamName) },
		"$JS.API.STREAM.UPDATE.CAIRN": func(ctx context.Context) error {
			_, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: schema.StreamName, Subjects: []string{"cairn.>"}})
			return err
		},
		"$JS.API.DIRECT.GET.CAIRN": func(ctx context.Context) error { _, err := st.GetMsg(ctx, 1); return err },
		"$JS.API.DIRECT.GET.CAIRN.cairn.key.>": func(ctx context.Context) error {
			_, err := nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET.CAIRN.cairn.key.>", nil)
			return err
		},
		"$JS.API.STREAM.MSG.GET.CAIRN": func(ctx context.Context) error {
			_, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.CAIRN", []byte(`{"seq":1}`))
			return err
		},
		"$JS.API.STREAM.MSG.DELETE.CAIRN": func(ctx context.Context) error { return st.DeleteMsg(ctx, 1) },
		"$JS.API.CONSUMER.CREATE.CAIRN.keys.cairn.key.>": func(ctx context.Context) error {
			_, err := js.CreateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "keys", FilterSubject: "cairn.key.>"})
			return err
		},
		"$JS.API.CONSUMER.CREATE.CAIRN.all.cairn.>": func(ctx context.Context) error {
			_, err := js.CreateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "all", FilterSubject: "cairn.>"})
			return err
		},
		"$JS.API.CONSUMER.CREATE.CAIRN.wild.cairn.*.>": func(ctx context.Context) error {
			_, err := js.CreateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "wild", FilterSubject: "cairn.*.>"})
			return err
		},
		"$JS.API.CONSUMER.DURABLE.CREATE.CAIRN.legacy": func(ctx context.Context) error {
			_, err := nc.RequestWithContext(ctx, "$JS.API.CONSUMER.DURABLE.CREATE.CAIRN.legacy",
				[]byte(`{"stream_name":"CAIRN","config":{"durable_name":"legacy","ack_policy":"explicit"}}`))
			return err
		},
		"$JS.API.CONSUMER.LIST.CAIRN": func(ctx context.Context) error {
			l := st.ListConsumers(ctx)
			for range l.Info() {
			}
			return l.Err()
		},
	}
	var wg sync.WaitGroup
	for subj, call := range byPermission {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if err := call(ctx); err == nil {
				t.Errorf("%s: allowed", subj)
			}
		}()
	}
	wg.Wait()
	nfWantAllDenied(t, denied, slices.Collect(maps.Keys(byPermission)))

	// consumers the permissions let through but the proxy refuses, at once
	obj := schema.ServiceObjectsFilter(sid)
	for name, cfg := range map[string]jetstream.ConsumerConfig{
		"no filter":              {Durable: "nofilter"},
		"everything":             {Durable: "everything", FilterSubjects: []string{">"}},
		"a key filter among two": {Durable: "two", FilterSubjects: []string{obj, "cairn.key.>"}},
		"checkpoints":            {Durable: "cp", FilterSubjects: []string{obj, "cairn.log.>"}},
		"push into cairnreq":     {Durable: "push", FilterSubject: obj, DeliverSubject: schema.ReqSubject(sid)},
	} {
		_, err := js.CreateConsumer(ctx, schema.StreamName, cfg)
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != http.StatusForbidden {
			t.Errorf("%s consumer: %v, want a 403 API error", name, err)
		}
	}

	// nothing landed anywhere
	if now, err := e.Srv.Log.LastSeq(ctx); err != nil || now != last {
		t.Errorf("log's last sequence %d (%v), was %d", now, err, last)
	}
	if now := nfStreamMsgs(t, e, schema.ReqStreamName); now != reqs {
		t.Errorf("request log holds %d messages, had %d", now, reqs)
	}

	// all it may read, through an ordered consumer: the log without keys,
	// tokens, sources and checkpoints
	var roots []string
	for _, r := range []string{"obj", "svc", "acct", "upl"} {
		roots = append(roots, "cairn."+r+".>")
	}
	oc, err := js.OrderedConsumer(ctx, schema.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: roots})
	if err != nil {
		t.Fatalf("ordered consumer on %v: %v", roots, err)
	}
	var want, got []uint64
	for _, ev := range nfLog(t, e) {
		if events.FeedFilterAllowed(schema.SubjectFor(ev)) {
			want = append(want, ev.Seq)
		}
	}
	for len(got) < len(want) {
		m, err := oc.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(got), len(want), err)
		}
		md, _ := m.Metadata()
		got = append(got, md.Sequence.Stream)
	}
	if !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
}

// nfWantAllDenied waits until the server reported a permission violation
// for each of subjects.
func nfWantAllDenied(t testing.TB, denied <-chan string, subjects []string) {
	t.Helper()
	var seen []string
	deadline := time.After(10 * time.Second)
	for _, subj := range subjects {
		for !slices.ContainsFunc(seen, func(v string) bool { return strings.Contains(v, `"`+subj+`"`) }) {
			select {
			case v := <-denied:
				seen = append(seen, v)
			case <-deadline:
				t.Errorf("no permission violation for %s among %q", subj, seen)
				return
			}
		}
	}
}

// A wrong password, another user or none cannot connect; the right one can.
func TestFeedNATS_Login(t *testing.T) {
	e := nfStart(t)
	url := e.Srv.NATSURL()
	for name, opt := range map[string]nats.Option{
		"wrong password": nats.UserInfo(e.Srv.NATSUser, e.Srv.NATSPassword+"x"),
		"Cairn's user":   nats.UserInfo("cairn-core", e.Srv.NATSPassword),
		"no credentials": func(*nats.Options) error { return nil },
	} {
		nc, err := nats.Connect(url, opt, nats.NoReconnect())
		if err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: %v, want an authorization error", name, err)
		}
	}
	nfConn(t, e)

	// the password is kept in DATA/nats.json (0600) and outlives a restart
	fi, err := os.Stat(filepath.Join(e.Dir, "nats.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("nats.json: %v %v", err, fi)
	}
	user, password := e.Srv.NATSUser, e.Srv.NATSPassword
	e.Restart(t)
	if e.Srv.NATSUser != user || e.Srv.NATSPassword != password {
		t.Errorf("credentials changed across a restart")
	}
	nfConn(t, e)
}

// Without --nats-listen nothing listens and no credentials are made.
func TestFeedNATS_NoListener(t *testing.T) {
	e := StartLocal(t, "reads its log and data directory")
	if u := e.Srv.NATSURL(); u != "" {
		t.Errorf("NATSURL %q without a listener", u)
	}
	if a := e.Srv.Log.Server().Addr(); a != nil {
		t.Errorf("the embedded NATS server listens on %v", a)
	}
	if _, err := os.Stat(filepath.Join(e.Dir, "nats.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("nats.json: %v, want none", err)
	}
}
