package events_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// consumerCount returns how many consumers the event stream has, through
// a connection of its own to the embedded server.
func consumerCount(t *testing.T, l *events.JetStream) func() int {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(l.Server()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return func() int {
		t.Helper()
		s, err := js.Stream(context.Background(), schema.StreamName)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(5 * time.Millisecond) // between polls of the condition
	}
}

func seqs(evs []*schema.Event) []uint64 {
	out := make([]uint64, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func types(evs []*schema.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Service+" "+e.Type+" "+e.Path)
	}
	return out
}

// feedFixture writes a little of everything: two services, objects in
// both, a key between them, a multipart upload and a delete.
func feedFixture(t *testing.T, c *core) {
	t.Helper()
	ctx := context.Background()
	c.service(t, "alpha")
	c.service(t, "beta")
	mustPut := func(sid, path string) {
		t.Helper()
		if _, err := c.put(ctx, sid, path, []byte(sid+path), events.Conditions{}); err != nil {
			t.Fatal(err)
		}
	}
	mustPut("alpha", "a.txt")
	mustPut("beta", "b.txt")
	if _, _, err := c.svc.CreateKey(ctx, c.o, events.KeyInput{Name: "k", Access: map[string]string{"alpha": "read"}}); err != nil {
		t.Fatal(err)
	}
	mustPut("alpha", "dir/c.txt")
	if _, err := c.svc.CreateUpload(ctx, c.o, events.UploadInput{Service: "alpha", Path: "big.bin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.DeleteObject(ctx, c.o, "alpha", "a.txt", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	mustPut("alpha", "a.txt")
	// Events of the log itself and of replication sources (a sealed
	// secret): not for the feed.
	// (payloads the projections can fold: they stop at one they cannot)
	for i, e := range []struct{ typ, data string }{{schema.TypeCheckpoint, `{}`}, {"source.created.v1", `{"name":"feed-fixture"}`}} {
		ev := &schema.Event{Type: e.typ, ID: fmt.Sprintf("feed-fixture-%d", i), Time: time.Now().UTC(),
			Actor: schema.Actor{KeyID: schema.ActorSystem}, Data: []byte(e.data)}
		if _, err := c.log.Append(ctx, ev, events.Expect{}); err != nil {
			t.Fatal(err)
		}
	}
	mustPut("beta", "b2.txt")
}

func readAllFeed(t *testing.T, l *events.JetStream, filters []string) []*schema.Event {
	t.Helper()
	evs, err := l.Read(context.Background(), 0, filters, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(seqs(evs)) {
		t.Fatalf("events out of order: %v", seqs(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq == evs[i-1].Seq {
			t.Fatalf("event %d twice", evs[i].Seq)
		}
	}
	return evs
}

func TestJetStream_Read_Filters(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	feedFixture(t, c)
	ctx := context.Background()
	last, err := c.log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// nil: every event of objects, services, accounts and uploads, each
	// with its sequence; none of keys, sources or the log itself.
	all := readAllFeed(t, c.log, nil)
	private := 0
	for seq := uint64(1); seq <= last; seq++ {
		ev, err := c.log.Get(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(ev.Type, "key.") || strings.HasPrefix(ev.Type, "source.") || ev.Type == schema.TypeCheckpoint {
			private++
			continue
		}
		i := slices.IndexFunc(all, func(e *schema.Event) bool { return e.Seq == seq })
		if i < 0 || all[i].ID != ev.ID || all[i].Type != ev.Type || string(all[i].Data) != string(ev.Data) {
			t.Errorf("event %d (%s) is missing or differs in the unfiltered feed", seq, ev.Type)
		}
	}
	if private != 3 || len(all) != int(last)-private {
		t.Errorf("unfiltered feed: %d events of %d with %d private ones: %v", len(all), last, private, types(all))
	}
	for _, e := range all {
		if strings.HasPrefix(e.Type, "key.") || strings.HasPrefix(e.Type, "token.") || strings.HasPrefix(e.Type, "source.") || e.Type == schema.TypeCheckpoint {
			t.Errorf("private event %d (%s) in the feed", e.Seq, e.Type)
		}
	}

	// one service's objects
	objs := readAllFeed(t, c.log, []string{schema.ServiceObjectsFilter("alpha")})
	want := []string{"alpha object.put.v1 a.txt", "alpha object.put.v1 dir/c.txt", "alpha object.delete.v1 a.txt", "alpha object.put.v1 a.txt"}
	if got := types(objs); !slices.Equal(got, want) {
		t.Errorf("alpha's objects: %v, want %v", got, want)
	}

	// the service's whole feed: objects, service events, uploads
	svc := readAllFeed(t, c.log, []string{schema.ServiceObjectsFilter("alpha"), schema.ServiceSubject("alpha", "*"), schema.UploadFilter("alpha", "*")})
	want = []string{"alpha service.created.v1 ", "alpha object.put.v1 a.txt", "alpha object.put.v1 dir/c.txt",
		"alpha upload.created.v1 big.bin", "alpha object.delete.v1 a.txt", "alpha object.put.v1 a.txt"}
	if got := types(svc); !slices.Equal(got, want) {
		t.Errorf("alpha's feed: %v, want %v", got, want)
	}

	// one object
	one := readAllFeed(t, c.log, []string{schema.ObjectFilter("alpha", "a.txt")})
	want = []string{"alpha object.put.v1 a.txt", "alpha object.delete.v1 a.txt", "alpha object.put.v1 a.txt"}
	if got := types(one); !slices.Equal(got, want) {
		t.Errorf("alpha a.txt: %v, want %v", got, want)
	}

	// nothing matches
	if none := readAllFeed(t, c.log, []string{schema.ServiceObjectsFilter("gamma")}); len(none) != 0 {
		t.Errorf("a service without events: %v", types(none))
	}

	// overlapping filters are a bad request
	_, err = c.log.Read(ctx, 0, []string{"cairn.obj.>", schema.ServiceObjectsFilter("alpha")}, 10, 0)
	if !schema.IsKind(err, schema.KindInvalidArgument) {
		t.Errorf("overlapping filters: %v, want invalid argument", err)
	}
	if _, err := c.log.Read(ctx, 0, nil, 0, 0); !schema.IsKind(err, schema.KindInvalidArgument) {
		t.Errorf("limit 0: %v, want invalid argument", err)
	}
}

func TestJetStream_Read_AfterAndLimit(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	feedFixture(t, c)
	ctx := context.Background()
	all := readAllFeed(t, c.log, nil)

	// pages of every size add up to the whole feed, in order
	for _, limit := range []int{1, 2, 3, 1000} {
		var got []*schema.Event
		after := uint64(0)
		for pages := 0; ; pages++ {
			if pages > len(all)+1 {
				t.Fatalf("limit %d: no end after %d pages", limit, pages)
			}
			page, err := c.log.Read(ctx, after, nil, limit, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			if page[0].Seq <= after {
				t.Fatalf("after %d: the page starts at %d", after, page[0].Seq)
			}
			got = append(got, page...)
			after = page[len(page)-1].Seq
		}
		if !slices.Equal(seqs(got), seqs(all)) {
			t.Errorf("limit %d: pages gave %v, want %v", limit, seqs(got), seqs(all))
		}
	}

	// after the end: nothing, at once with wait 0
	last, _ := c.log.LastSeq(ctx)
	if evs, err := c.log.Read(ctx, last, nil, 10, 0); err != nil || len(evs) != 0 {
		t.Errorf("after the last event: %v, %v", seqs(evs), err)
	}
	if evs, err := c.log.Read(ctx, last+100, nil, 10, 0); err != nil || len(evs) != 0 {
		t.Errorf("after the future: %v, %v", seqs(evs), err)
	}
}

// Key events never hold a reader up: with limit 1 and keys next in the
// log, the next visible event still comes.
func TestJetStream_Read_SkipsKeys(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	ctx := context.Background()
	c.service(t, "alpha")
	start, _ := c.log.LastSeq(ctx)
	for i := range 3 {
		if _, _, err := c.svc.CreateKey(ctx, c.o, events.KeyInput{Name: fmt.Sprint("k", i), Access: map[string]string{"*": "read"}}); err != nil {
			t.Fatal(err)
		}
	}
	if evs, err := c.log.Read(ctx, start, nil, 1, 0); err != nil || len(evs) != 0 {
		t.Fatalf("only key events after %d: %v, %v", start, types(evs), err)
	}
	done := make(chan []*schema.Event, 1)
	go func() {
		evs, err := c.log.Read(ctx, start, nil, 1, time.Minute)
		if err != nil {
			t.Error(err)
		}
		done <- evs
	}()
	v, err := c.put(ctx, "alpha", "x", []byte("x"), events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	evs := <-done
	if len(evs) != 1 || evs[0].Type != schema.TypeObjectPut || evs[0].Seq != v.Seq {
		t.Fatalf("long poll over key events: %v", types(evs))
	}
}

func TestJetStream_Read_LongPoll(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	c.service(t, "alpha")
	c.service(t, "beta")
	ctx := context.Background()
	consumers := consumerCount(t, c.log)
	base := consumers()
	after, _ := c.log.LastSeq(ctx)

	// Nothing arrives: an empty answer after the wait, not an error.
	evs, err := c.log.Read(ctx, after, []string{schema.ServiceObjectsFilter("alpha")}, 10, 50*time.Millisecond)
	if err != nil || len(evs) != 0 {
		t.Fatalf("an idle long poll: %v, %v", types(evs), err)
	}

	// Many readers wait; one put answers those that follow its service,
	// and the other service's readers keep waiting.
	const n = 16
	type result struct {
		evs []*schema.Event
		err error
		at  time.Time
	}
	alpha, beta := make(chan result, n), make(chan result, n)
	betaCtx, stopBeta := context.WithCancel(ctx)
	for i := range 2 * n {
		go func() {
			if i%2 == 0 {
				evs, err := c.log.Read(ctx, after, []string{schema.ServiceObjectsFilter("alpha")}, 10, 2*time.Minute)
				alpha <- result{evs, err, time.Now()}
			} else {
				evs, err := c.log.Read(betaCtx, after, []string{schema.ServiceObjectsFilter("beta")}, 10, 2*time.Minute)
				beta <- result{evs, err, time.Now()}
			}
		}()
	}
	waitFor(t, "every reader's consumer", func() bool { return consumers() == base+2*n })
	put := time.Now()
	if _, err := c.put(ctx, "alpha", "new.txt", []byte("hello"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	for range n {
		r := <-alpha
		if r.err != nil || len(r.evs) != 1 || r.evs[0].Path != "new.txt" || r.evs[0].Seq != after+1 {
			t.Fatalf("a waiting reader got %v, %v; want the put at %d", types(r.evs), r.err, after+1)
		}
		// It answered because the event came, not because the wait ran out.
		if r.at.Sub(put) > time.Minute {
			t.Fatalf("a reader answered %s after the put", r.at.Sub(put))
		}
	}
	select {
	case r := <-beta:
		t.Fatalf("a reader of another service answered: %v, %v", types(r.evs), r.err)
	default:
	}
	// A reader that goes away gets its context's error; its consumer goes.
	stopBeta()
	for range n {
		if r := <-beta; !errors.Is(r.err, context.Canceled) || len(r.evs) != 0 {
			t.Fatalf("a cancelled reader: %v, %v", types(r.evs), r.err)
		}
	}
	waitFor(t, "the readers' consumers to go", func() bool { return consumers() == base })
}

func TestJetStream_SeqAt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := schematest.NewClock(t0)
	c := newCore(t, events.Options{Clock: clk.Now})
	if at, err := c.log.SeqAt(ctx, t0); err != nil || at != 1 {
		t.Fatalf("SeqAt on a log holding only the account: %d, %v", at, err)
	}
	c.service(t, "alpha") // at t0 (a microsecond on)
	clk.Advance(time.Hour)
	v1, err := c.put(ctx, "alpha", "a", []byte("a"), events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	v2, err := c.put(ctx, "alpha", "b", []byte("b"), events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want uint64
	}{
		{t0.Add(-time.Hour), 1},
		{t0, 1},
		{t0.Add(time.Second), v1.Seq},
		{v1.Time, v1.Seq},
		{v1.Time.Add(time.Microsecond), v2.Seq},
		{v2.Time, v2.Seq},
		{v2.Time.Add(time.Nanosecond), v2.Seq + 1},
		{t0.Add(24 * time.Hour), v2.Seq + 1},
	} {
		if got, err := c.log.SeqAt(ctx, tc.at); err != nil || got != tc.want {
			t.Errorf("SeqAt(%s) = %d, %v; want %d", tc.at.Format(time.RFC3339Nano), got, err, tc.want)
		}
	}
}
