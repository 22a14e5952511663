package events

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/schema"
)

func TestFeedFilterAllowed(t *testing.T) {
	for f, want := range map[string]bool{
		"cairn.obj.>":             true,
		"cairn.obj.abc.>":         true,
		"cairn.obj.abc.def.put":   true,
		"cairn.svc.abc.*":         true,
		"cairn.acct.>":            true,
		"cairn.upl.abc.u.part":    true,
		"cairn.obj.*.*.put":       true,
		"cairn.>":                 false,
		"cairn.*.>":               false,
		"cairn.key.>":             false,
		"cairn.key.K.created":     false,
		"cairn.log.checkpoint":    false,
		"cairn.obj":               false,
		"cairnreq.>":              false,
		">":                       false,
		"cairn.obj..x":            false,
		"cairn.obj.>.x":           false,
		"cairn.obj.a b":           false,
		"CAIRN.obj.>":             false,
		"$JS.API.STREAM.INFO.obj": false,
	} {
		if got := FeedFilterAllowed(f); got != want {
			t.Errorf("FeedFilterAllowed(%q) = %v, want %v", f, got, want)
		}
	}
}

func TestCheckFeedConsumer(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg server.ConsumerConfig
		ok  bool
	}{
		"pull, one filter":   {server.ConsumerConfig{FilterSubject: "cairn.obj.>"}, true},
		"pull, filters":      {server.ConsumerConfig{FilterSubjects: []string{"cairn.obj.a.>", "cairn.svc.a.*"}}, true},
		"no filter":          {server.ConsumerConfig{}, false},
		"key filter":         {server.ConsumerConfig{FilterSubject: "cairn.key.>"}, false},
		"one bad of several": {server.ConsumerConfig{FilterSubjects: []string{"cairn.obj.>", "cairn.key.>"}}, false},
		"push":               {server.ConsumerConfig{FilterSubject: "cairn.obj.>", DeliverSubject: "cairnreq.x"}, false},
		"push group":         {server.ConsumerConfig{FilterSubject: "cairn.obj.>", DeliverGroup: "g"}, false},
		"heartbeat":          {server.ConsumerConfig{FilterSubject: "cairn.obj.>", Heartbeat: time.Second}, false},
		"sourcing":           {server.ConsumerConfig{FilterSubject: "cairn.obj.>", Sourcing: true}, false},
		"direct":             {server.ConsumerConfig{FilterSubject: "cairn.obj.>", Direct: true}, false},
	} {
		if err := CheckFeedConsumer(&tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%s: CheckFeedConsumer = %v, want ok %v", name, err, tc.ok)
		}
	}
}

func TestParseNATSListen(t *testing.T) {
	if h, p, err := ParseNATSListen("127.0.0.1:0"); err != nil || h != "127.0.0.1" || p != 0 {
		t.Errorf("127.0.0.1:0 = %q %d %v", h, p, err)
	}
	for _, bad := range []string{"", "4222", ":4222", "h:x", "h:70000", "h:-1"} {
		if _, _, err := ParseNATSListen(bad); err == nil {
			t.Errorf("ParseNATSListen(%q) passed", bad)
		}
	}
}

const testFeedPassword = "feed-password-0123456789"

// openFeedLog opens a log on dir with a feed listener on loopback.
func openFeedLog(t *testing.T, dir string, listen bool) *JetStream {
	t.Helper()
	o := NATSOptions{Dir: dir, Name: "feed-" + strings.ReplaceAll(t.Name(), "/", "-")}
	if listen {
		o.Listen, o.FeedPassword = "127.0.0.1:0", testFeedPassword
	}
	l, err := OpenJetStream(context.Background(), o)
	if err != nil {
		t.Fatalf("OpenJetStream: %v", err)
	}
	return l
}

// feedConn connects as the feed user; denied receives the server's
// permission violations.
func feedConn(t *testing.T, l *JetStream) (jetstream.JetStream, <-chan string) {
	t.Helper()
	denied := make(chan string, 64)
	nc, err := nats.Connect(l.Server().ClientURL(), nats.UserInfo(FeedUser, testFeedPassword),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				select {
				case denied <- err.Error():
				default:
				}
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", FeedUser, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js, denied
}

func appendTestEvent(t *testing.T, l *JetStream, ev *schema.Event) uint64 {
	t.Helper()
	ev.ID = schema.NewIDs().New(time.Now())
	ev.Time = time.Now().UTC()
	ev.Account = schema.DefaultAccount
	seq, err := l.Append(context.Background(), ev, Expect{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

// The feed user reads through its own filtered pull consumers; the proxy
// refuses what the permissions alone could not (push consumers, a key
// filter among several) and hides Cairn's own consumers.
func TestJetStream_FeedListener(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openFeedLog(t, dir, true)
	defer func() { l.Close() }()
	var objSeqs []uint64
	for i := 0; i < 3; i++ {
		objSeqs = append(objSeqs, appendTestEvent(t, l, &schema.Event{Type: schema.TypeObjectDelete, Service: "s", Path: "p",
			Data: []byte(`{"version":"v"}`)}))
		appendTestEvent(t, l, &schema.Event{Type: schema.TypeKeyRevoked, Data: []byte(`{"id":"K"}`)})
	}
	js, denied := feedConn(t, l)

	cons, err := js.CreateOrUpdateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "mine",
		FilterSubject: "cairn.obj.>", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("create filtered durable: %v", err)
	}
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for m := range batch.Messages() {
		md, _ := m.Metadata()
		got = append(got, md.Sequence.Stream)
		if !strings.HasPrefix(m.Subject(), "cairn.obj.") {
			t.Errorf("delivered %s", m.Subject())
		}
	}
	if len(got) != len(objSeqs) {
		t.Fatalf("delivered %v, want %v", got, objSeqs)
	}
	if _, err := js.Consumer(ctx, schema.StreamName, "mine"); err != nil {
		t.Errorf("info of its own consumer: %v", err)
	}
	if s, err := js.Stream(ctx, schema.StreamName); err != nil || s.CachedInfo().State.LastSeq != 6 {
		t.Errorf("stream info: %v", err)
	}

	// refused by the proxy, at once
	for name, cfg := range map[string]jetstream.ConsumerConfig{
		"push":            {Durable: "push", FilterSubject: "cairn.obj.>", DeliverSubject: "cairnreq.x"},
		"key among three": {Durable: "multi", FilterSubjects: []string{"cairn.obj.>", "cairn.svc.>", "cairn.key.>"}},
	} {
		if _, err := js.CreateOrUpdateConsumer(ctx, schema.StreamName, cfg); err == nil {
			t.Errorf("%s consumer created", name)
		}
	}
	// Cairn's own consumers are invisible: not found, not deletable, not replaceable
	if _, err := l.js.CreateOrUpdateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "core-owned"}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Consumer(ctx, schema.StreamName, "core-owned"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("info of Cairn's consumer: %v, want not found", err)
	}
	if err := js.DeleteConsumer(ctx, schema.StreamName, "core-owned"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("delete of Cairn's consumer: %v, want not found", err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "core-owned",
		FilterSubject: "cairn.obj.>"}); err == nil {
		t.Error("Cairn's consumer replaced")
	}
	if _, err := l.js.Consumer(ctx, schema.StreamName, "core-owned"); err != nil {
		t.Errorf("Cairn's consumer after the attempts: %v", err)
	}
	if err := js.DeleteConsumer(ctx, schema.StreamName, "mine"); err != nil {
		t.Errorf("delete its own consumer: %v", err)
	}

	// refused by the permissions: no answer, a violation reported
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := js.CreateOrUpdateConsumer(short, schema.StreamName, jetstream.ConsumerConfig{Durable: "keys", FilterSubject: "cairn.key.>"}); err == nil {
		t.Error("key consumer created")
	}
	select {
	case v := <-denied:
		if !strings.Contains(v, "cairn.key.>") {
			t.Errorf("violation %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Error("no permission violation reported")
	}

	// the data outlives listener changes: with one, without, with again
	l.Close()
	for i, listen := range []bool{false, true} {
		l = openFeedLog(t, dir, listen)
		if last, err := l.LastSeq(ctx); err != nil || last != uint64(6+i) {
			t.Fatalf("listen=%v: LastSeq %d, %v; want %d", listen, last, err, 6+i)
		}
		if listen != (l.Server().Addr() != nil) {
			t.Errorf("listen=%v: client address %v", listen, l.Server().Addr())
		}
		appendTestEvent(t, l, &schema.Event{Type: schema.TypeKeyRevoked, Data: []byte(`{"id":"K"}`)})
		l.Close()
	}
	l = openFeedLog(t, dir, true)
}
