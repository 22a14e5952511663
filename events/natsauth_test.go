package events

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
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

func TestFeedFilterInAccount(t *testing.T) {
	sa, sb := schema.Hash("photos"), schema.Hash("other")
	owner := func(h string) (string, bool) {
		switch h {
		case sa:
			return "acme", true
		case sb:
			return "globex", true
		}
		return "", false
	}
	for f, want := range map[string]bool{
		"cairn.obj." + sa + ".>":                     true,
		"cairn.obj." + sa + ".x.put":                 true,
		"cairn.svc." + sa + ".*":                     true,
		"cairn.upl." + sa + ".>":                     true,
		"cairn.acct." + schema.Hash("acme") + ".>":   true,
		"cairn.obj." + sb + ".>":                     false, // another account's service
		"cairn.upl." + sb + ".>":                     false,
		"cairn.acct." + schema.Hash("globex") + ".>": false,
		"cairn.acct." + sa + ".>":                    false, // a service's hash is no account's
		"cairn.obj." + schema.Hash("gone") + ".>":    false, // no such service
		"cairn.obj.>":                                false,
		"cairn.obj.*.>":                              false,
		"cairn.obj.*.x.put":                          false,
		"cairn.acct.>":                               false,
		"cairn.acct.*.quota":                         false,
		"cairn.key." + sa + ".>":                     false,
	} {
		if got := FeedFilterInAccount(f, "acme", owner); got != want {
			t.Errorf("FeedFilterInAccount(%q, acme) = %v, want %v", f, got, want)
		}
	}
}

// fakeFeedLookup is the projections as the NATS listener reads them.
type fakeFeedLookup struct {
	mu       sync.Mutex
	creds    map[string]*schema.FeedCredential
	services map[string]*schema.Service
	accounts map[string]*schema.Account // nil: every account exists, made long ago
}

func (f *fakeFeedLookup) FeedCredential(_ context.Context, user string) (*schema.FeedCredential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.creds[user]; ok {
		cp := *c
		return &cp, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "feed credential not found")
}

func (f *fakeFeedLookup) Account(_ context.Context, id string) (*schema.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.accounts == nil {
		return &schema.Account{ID: id}, nil
	}
	if a, ok := f.accounts[id]; ok {
		return a, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "account not found")
}

// A credential never outlives its account: once the account is deleted it
// no longer logs in, and an account made later with the same id does not
// bring it back.
func TestFeedCredential_DiesWithItsAccount(t *testing.T) {
	l := openFeedLog(t, t.TempDir(), true)
	defer l.Close()
	const user = "CFCCCCCCCCCCCCCCCCCC"
	pw := NewFeedPassword()
	made := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lookup := &fakeFeedLookup{
		creds:    map[string]*schema.FeedCredential{user: {User: user, Account: "acme", Verifier: LookupHash(pw), Created: made}},
		accounts: map[string]*schema.Account{"acme": {ID: "acme", Created: made.Add(-time.Hour)}},
	}
	l.SetFeedLookup(lookup)
	if _, _, err := credConn(t, l, user, pw); err != nil {
		t.Fatalf("the credential of an account that exists: %v", err)
	}
	lookup.mu.Lock()
	delete(lookup.accounts, "acme")
	lookup.mu.Unlock()
	if _, _, err := credConn(t, l, user, pw); err == nil {
		t.Fatal("the credential of a deleted account logged in")
	}
	lookup.mu.Lock()
	lookup.accounts["acme"] = &schema.Account{ID: "acme", Created: made.Add(time.Hour)}
	lookup.mu.Unlock()
	if _, _, err := credConn(t, l, user, pw); err == nil {
		t.Fatal("the credential of a deleted account logged in once an account of the same id was made again")
	}
}

func (f *fakeFeedLookup) Service(_ context.Context, id string) (*schema.Service, error) {
	if s, ok := f.services[id]; ok {
		return s, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "service not found")
}

func (f *fakeFeedLookup) Services(context.Context) ([]*schema.Service, error) {
	var out []*schema.Service
	for _, s := range f.services {
		out = append(out, s)
	}
	return out, nil
}

// credConn connects with a feed credential.
func credConn(t *testing.T, l *JetStream, user, password string) (*nats.Conn, jetstream.JetStream, error) {
	t.Helper()
	nc, err := nats.Connect(l.Server().ClientURL(), nats.UserInfo(user, password), nats.NoReconnect())
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, nil
}

// A feed credential reads only its account's services: the proxy refuses
// a filter on another account's service, on every service, or with a
// wildcard service token; its user cannot pull from or see another user's
// consumers; revoked, it is disconnected, its consumers deleted, and it
// logs in no more.
func TestJetStream_FeedCredentials(t *testing.T) {
	ctx := context.Background()
	l := openFeedLog(t, t.TempDir(), true)
	defer l.Close()
	const userA, userB = "CFAAAAAAAAAAAAAAAAAA", "CFBBBBBBBBBBBBBBBBBB"
	pwA, pwB := NewFeedPassword(), NewFeedPassword()
	lookup := &fakeFeedLookup{
		creds: map[string]*schema.FeedCredential{
			userA: {User: userA, Account: "acme", Verifier: LookupHash(pwA)},
			userB: {User: userB, Account: "globex", Verifier: LookupHash(pwB)},
		},
		services: map[string]*schema.Service{
			"photos": {ID: "photos", Account: "acme"},
			"other":  {ID: "other", Account: "globex"},
		},
	}
	if _, _, err := credConn(t, l, userA, pwA); err == nil {
		t.Fatal("a credential logged in before the listener had projections")
	}
	l.SetFeedLookup(lookup)
	var acme []uint64
	for i := 0; i < 3; i++ {
		acme = append(acme, appendTestEvent(t, l, &schema.Event{Type: schema.TypeObjectDelete, Service: "photos", Path: "p",
			Data: []byte(`{"version":"v"}`)}))
		appendTestEvent(t, l, &schema.Event{Type: schema.TypeObjectDelete, Service: "other", Path: "p", Data: []byte(`{"version":"v"}`)})
	}
	if _, _, err := credConn(t, l, userA, pwB); err == nil {
		t.Error("logged in with another credential's password")
	}
	ncA, jsA, err := credConn(t, l, userA, pwA)
	if err != nil {
		t.Fatalf("log in as %s: %v", userA, err)
	}
	_, jsB, err := credConn(t, l, userB, pwB)
	if err != nil {
		t.Fatalf("log in as %s: %v", userB, err)
	}
	adminJS, _ := feedConn(t, l)

	for name, filters := range map[string][]string{
		"another account's service": {schema.ServiceObjectsFilter("other")},
		"every service":             {"cairn.obj.>"},
		"a wildcard service":        {"cairn.obj.*.>"},
		"every account":             {"cairn.acct.>"},
		"another account":           {schema.AccountSubject("globex", ">")},
		"one bad of two":            {schema.ServiceObjectsFilter("photos"), schema.ServiceSubject("other", "*")},
	} {
		_, err := jsA.CreateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "bad", FilterSubjects: filters})
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 403 {
			t.Errorf("%s: %v, want a 403 API error", name, err)
		}
	}
	cons, err := jsA.CreateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "mine",
		FilterSubjects: []string{schema.ServiceObjectsFilter("photos"), schema.AccountSubject("acme", ">")}, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("create a consumer of its own service: %v", err)
	}
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for m := range batch.Messages() {
		md, _ := m.Metadata()
		got = append(got, md.Sequence.Stream)
		if err := m.Ack(); err != nil {
			t.Errorf("ack: %v", err)
		}
	}
	if !slices.Equal(got, acme) {
		t.Errorf("delivered %v, want %v", got, acme)
	}

	// an ordered consumer (names made by the client, remade on gaps)
	oc, err := jsA.OrderedConsumer(ctx, schema.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{schema.ServiceObjectsFilter("photos")}})
	if err != nil {
		t.Fatalf("ordered consumer of its own service: %v", err)
	}
	for _, want := range acme {
		m, err := oc.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("ordered consumer: %v", err)
		}
		if md, _ := m.Metadata(); md.Sequence.Stream != want {
			t.Errorf("ordered consumer read %d, want %d", md.Sequence.Stream, want)
		}
	}

	// another user: the name is taken, the consumer invisible, its pulls
	// go nowhere
	if _, err := jsB.CreateOrUpdateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "mine",
		FilterSubject: schema.ServiceObjectsFilter("other")}); err == nil {
		t.Error("another user took the consumer's name")
	}
	if _, err := jsB.Consumer(ctx, schema.StreamName, "mine"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("info of another user's consumer: %v, want not found", err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if m, err := ncA.RequestWithContext(short, jsAPI+"CONSUMER.MSG.NEXT."+schema.StreamName+".none", []byte(`{"batch":1}`)); err == nil {
		t.Errorf("pull on a consumer never granted answered %q %v", m.Data, m.Header)
	}
	// (JetStream answers every pull on a consumer it reaches, with a
	// message or a status: no answer means the pull went nowhere)
	appendTestEvent(t, l, &schema.Event{Type: schema.TypeObjectDelete, Service: "photos", Path: "q", Data: []byte(`{"version":"v"}`)})
	if m, err := jsB.Conn().RequestWithContext(short, jsAPI+"CONSUMER.MSG.NEXT."+schema.StreamName+".mine", []byte(`{"batch":1,"no_wait":true}`)); err == nil {
		t.Errorf("another user's pull on the consumer was answered: %q %v", m.Data, m.Header)
	}
	// the server admin's FeedUser still reads everything
	all, err := adminJS.CreateConsumer(ctx, schema.StreamName, jetstream.ConsumerConfig{Durable: "all", FilterSubject: "cairn.obj.>"})
	if err != nil {
		t.Fatalf("FeedUser: %v", err)
	}
	if b, err := all.Fetch(10, jetstream.FetchMaxWait(time.Second)); err != nil {
		t.Fatal(err)
	} else {
		n := 0
		for range b.Messages() {
			n++
		}
		if n != 7 {
			t.Errorf("FeedUser read %d events, want 7", n)
		}
	}
	if _, err := jsA.Consumer(ctx, schema.StreamName, "all"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("info of FeedUser's consumer: %v, want not found", err)
	}

	// revoked: disconnected, its consumer deleted, no new login
	closed := make(chan struct{})
	ncA.SetClosedHandler(func(*nats.Conn) { close(closed) })
	lookup.mu.Lock()
	lookup.creds[userA].Revoked = true
	lookup.mu.Unlock()
	if err := l.RevokeFeedUser(ctx, userA); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Error("the revoked credential's connection is still open")
	}
	if _, err := l.js.Consumer(ctx, schema.StreamName, "mine"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("the revoked credential's consumer: %v, want deleted", err)
	}
	if _, _, err := credConn(t, l, userA, pwA); err == nil {
		t.Error("a revoked credential logged in")
	}
	if _, err := l.js.Consumer(ctx, schema.StreamName, "all"); err != nil {
		t.Errorf("FeedUser's consumer after the revocation: %v", err)
	}
}
