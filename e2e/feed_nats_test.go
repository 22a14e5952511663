package e2e

// The change feed over NATS (cairn serve --nats-listen): a consumer logged
// in as the feed user follows one service exactly once and in order, also
// across a killed connection, and can do nothing else. Helpers start with
// "nf".

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	cairn "github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/schema"
)

// nfStart starts a server with a NATS listener on loopback. Checkpoints
// are left to the test: none is appended on its own meanwhile.
func nfStart(t testing.TB) *Env {
	t.Helper()
	return Start(t, func(c *cairn.Config) {
		c.NATSListen = "127.0.0.1:0"
		c.CheckpointInterval = cairn.Duration(time.Hour)
	})
}

// nfConn connects to e's NATS listener as the feed user (opts add to the
// connection's options). Permission violations the server reports arrive
// on the channel.
func nfConn(t testing.TB, e *Env, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, <-chan string) {
	t.Helper()
	denied := make(chan string, 64)
	opts = append([]nats.Option{nats.UserInfo(e.Srv.NATSUser, e.Srv.NATSPassword),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				select {
				case denied <- err.Error():
				default:
				}
			}
		})}, opts...)
	nc, err := nats.Connect(e.Srv.NATSURL(), opts...)
	if err != nil {
		t.Fatalf("connect to %s as %s: %v", e.Srv.NATSURL(), e.Srv.NATSUser, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, denied
}

// nfFilters are a service's filters, as `cairn subject --sid` prints them.
func nfFilters(sid string) []string {
	return []string{schema.ServiceObjectsFilter(sid), schema.ServiceSubject(sid, ">"), "cairn.upl." + schema.Hash(sid) + ".>"}
}

// nfLog returns every event in e's log, in order.
func nfLog(t testing.TB, e *Env) []*schema.Event {
	t.Helper()
	ctx := context.Background()
	last, err := e.Srv.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*schema.Event, 0, last)
	for seq := uint64(1); seq <= last; seq++ {
		ev, err := e.Srv.Log.Get(ctx, seq)
		if err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		out = append(out, ev)
	}
	return out
}

// nfServiceSeqs returns the sequences of service sid's events in e's log.
func nfServiceSeqs(t testing.TB, e *Env, sid string) []uint64 {
	var seqs []uint64
	for _, ev := range nfLog(t, e) {
		if ev.Service == sid {
			seqs = append(seqs, ev.Seq)
		}
	}
	return seqs
}

// nfRecorder is a consumer's state: the events it handled, in order.
type nfRecorder struct {
	mu      sync.Mutex
	seqs    []uint64
	events  []*schema.Event
	changed chan struct{}
	// after, when set, runs after each event is recorded (under the lock);
	// its error stops the consumer.
	after func(n int) error
}

func newRecorder() *nfRecorder { return &nfRecorder{changed: make(chan struct{})} }

func (r *nfRecorder) handle(seq uint64, ev *schema.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seqs = append(r.seqs, seq)
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	if r.after != nil {
		return r.after(len(r.seqs))
	}
	return nil
}

// last is the consumer's checkpoint: the sequence of its last event.
func (r *nfRecorder) last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seqs) == 0 {
		return 0
	}
	return r.seqs[len(r.seqs)-1]
}

// waitFor waits until the recorder handled seq, or the consumer ended.
func (r *nfRecorder) waitFor(t testing.TB, seq uint64, done <-chan error) {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		n, ch := len(r.seqs), r.changed
		reached := n > 0 && r.seqs[n-1] >= seq
		r.mu.Unlock()
		if reached {
			return
		}
		select {
		case <-ch:
		case err := <-done:
			t.Fatalf("the consumer stopped at %d events, before %d: %v", n, seq, err)
		case <-deadline.C:
			t.Fatalf("the consumer handled %d events, none at %d, in 60s", n, seq)
		}
	}
}

// follow runs followService in a goroutine; the channel gets its result.
func nfFollow(ctx context.Context, js jetstream.JetStream, durable, sid string, r *nfRecorder) <-chan error {
	done := make(chan error, 1)
	last := r.last()
	go func() { done <- followService(ctx, js, durable, nfFilters(sid), last, r.handle) }()
	return done
}

// nfWantSeqs fails unless the recorder handled exactly want, in order.
func nfWantSeqs(t testing.TB, r *nfRecorder, want []uint64) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.seqs, want) {
		t.Fatalf("handled %d events, want the log's %d:\n got %v\nwant %v", len(r.seqs), len(want), r.seqs, want)
	}
}

// A durable consumer on one service gets exactly that service's events,
// in the log's order, with the log's bytes; started again from its
// checkpoint it gets only what came since.
func TestFeedNATS_OneService(t *testing.T) {
	e := nfStart(t)
	a, b := e.WithService(t), e.WithService(t)
	for i := 0; i < 30; i++ {
		e.Upload(t, e.AdminKey, a, fmt.Sprintf("dir/a%d", i%7), []byte(fmt.Sprint("a", i)), nil)
		e.Upload(t, e.AdminKey, b, fmt.Sprintf("dir/b%d", i), []byte(fmt.Sprint("b", i)), nil)
		if i%5 == 4 {
			r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", a, "path", fmt.Sprintf("dir/a%d", i%7))})
			natWant(t, "deletefile", r, http.StatusOK)
		}
	}
	e.Admin(t, "serviceupdate", map[string]any{"id": a, "name": "renamed", "quota_bytes": 1 << 30}, http.StatusOK)
	e.NewKey(t, map[string]string{a: "write"})

	_, js, _ := nfConn(t, e)
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := nfFollow(ctx, js, "feed-one", a, rec)
	want := nfServiceSeqs(t, e, a)
	rec.waitFor(t, want[len(want)-1], done)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("followService after cancel: %v", err)
	}
	nfWantSeqs(t, rec, want)
	for i, ev := range rec.events {
		stored, err := e.Srv.Log.Get(context.Background(), rec.seqs[i])
		if err != nil {
			t.Fatal(err)
		}
		if ev.Service != a || ev.ID != stored.ID || ev.Type != stored.Type || !bytes.Equal(ev.Data, stored.Data) {
			t.Fatalf("event %d: got %s %s of %q, the log has %s %s", rec.seqs[i], ev.Type, ev.ID, ev.Service, stored.Type, stored.ID)
		}
	}

	// restarted on its checkpoint: the new events only
	for i := 0; i < 5; i++ {
		e.Upload(t, e.AdminKey, a, fmt.Sprintf("later/%d", i), []byte("later"), nil)
		e.Upload(t, e.AdminKey, b, fmt.Sprintf("later/%d", i), []byte("later"), nil)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	done = nfFollow(ctx, js, "feed-one", a, rec)
	want = nfServiceSeqs(t, e, a)
	rec.waitFor(t, want[len(want)-1], done)
	cancel()
	<-done
	nfWantSeqs(t, rec, want)
}

// nfDialer dials TCP and can cut every connection it made, as a crash of
// the consumer's process would.
type nfDialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *nfDialer) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *nfDialer) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		_ = c.Close()
	}
}

var errKilled = errors.New("consumer killed")

// The consumer's connection is cut mid-stream, right after it stored an
// event and before it acknowledged it, while uploads go on; a new
// connection resumes from the stored sequence and the consumer ends with
// every event of its service exactly once, in the log's order.
func TestFeedNATS_ResumeAfterKill(t *testing.T) {
	e := nfStart(t)
	a, b := e.WithService(t), e.WithService(t)
	const killAt = 40

	killed := make(chan struct{})
	uploads := make(chan error, 1)
	go func() { // 150 uploads, then (after the kill) 250 more, a and b in turn
		for i := 0; i < 400; i++ {
			if i == 150 {
				<-killed
			}
			sid := a
			if i%2 == 1 {
				sid = b
			}
			r, err := e.Send(Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey,
				Query: Q("sid", sid, "path", fmt.Sprintf("f/%d", i%60)), Body: strings.NewReader(fmt.Sprint(i))})
			if err == nil && r.Status != http.StatusCreated {
				err = fmt.Errorf("upload %d: %d %s", i, r.Status, r.Body)
			}
			if err != nil {
				uploads <- err
				return
			}
		}
		uploads <- nil
	}()

	d := &nfDialer{}
	_, js1, _ := nfConn(t, e, nats.SetCustomDialer(d), nats.NoReconnect())
	rec := newRecorder()
	rec.after = func(n int) error {
		if n == killAt {
			d.cut() // the event is stored, its ack never sent
			close(killed)
			return errKilled
		}
		return nil
	}
	done := nfFollow(context.Background(), js1, "feed-kill", a, rec)
	select {
	case err := <-done:
		if !errors.Is(err, errKilled) {
			t.Fatalf("first run ended with %v, want the kill", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the consumer did not reach the kill in 60s")
	}
	if got := len(rec.seqs); got != killAt {
		t.Fatalf("%d events before the kill, want %d", got, killAt)
	}
	rec.after = nil

	_, js2, _ := nfConn(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done = nfFollow(ctx, js2, "feed-kill", a, rec)
	if err := <-uploads; err != nil {
		t.Fatal(err)
	}
	want := nfServiceSeqs(t, e, a)
	rec.waitFor(t, want[len(want)-1], done)
	cancel()
	<-done
	nfWantSeqs(t, rec, want)
}

// nfWantDenied waits for the server's permission violation naming subject.
func nfWantDenied(t testing.TB, denied <-chan string, subject string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case v := <-denied:
			if strings.Contains(v, `"`+subject+`"`) {
				return
			}
		case <-deadline:
			t.Errorf("no permission violation for %s", subject)
			return
		}
	}
}

// nfStreamMsgs is how many messages the global account's stream name holds.
func nfStreamMsgs(t testing.TB, e *Env, name string) uint64 {
	t.Helper()
	acc, err := e.Srv.Log.Server().JszAccount(&server.JSzOptions{Account: server.DEFAULT_GLOBAL_ACCOUNT, Streams: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range acc.Streams {
		if s.Name == name {
			return s.State.Msgs
		}
	}
	t.Fatalf("no stream %s", name)
	return 0
}
