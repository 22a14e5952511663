package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// BenchmarkFeedNATSThroughput measures how fast the log reaches one
// consumer over the NATS client port (loopback): a log of 50,000 object
// events (1 KiB each, in 4 services, written once) is read whole by every
// iteration, by an ordered consumer (no acks) and by followService (the
// README's durable consumer, an ack per event), on every object event or
// on one service's (a quarter of them). Figures: events/s, MiB/s.
//
//	go test ./e2e -run '^$' -bench FeedNATSThroughput -benchtime 3x
func BenchmarkFeedNATSThroughput(b *testing.B) {
	const total = 50_000
	ctx := context.Background()
	const password = "bench-feed-password-0123"
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: b.TempDir(), Name: "bench-feed",
		Listen: "127.0.0.1:0", FeedPassword: password})
	if err != nil {
		b.Fatal(err)
	}
	defer jl.Close()
	if err := writeBenchLog(ctx, jl, total); err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect(jl.Server().ClientURL(), nats.UserInfo(events.FeedUser, password))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	all, one := []string{"cairn.obj.>"}, []string{schema.ServiceObjectsFilter("svc-1")}
	for _, bc := range []struct {
		name    string
		filters []string
		want    int
		read    func(ctx context.Context, filters []string, want int) (int64, error)
	}{
		{"ordered/all", all, total, func(ctx context.Context, f []string, want int) (int64, error) { return readOrdered(ctx, js, f, want) }},
		{"durable-ack/all", all, total, func(ctx context.Context, f []string, want int) (int64, error) { return readFollow(ctx, js, f, want) }},
		{"durable-ack/one-service", one, total / 4, func(ctx context.Context, f []string, want int) (int64, error) {
			return readFollow(ctx, js, f, want)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var size int64
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				n, err := bc.read(ctx, bc.filters, bc.want)
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				size += n
			}
			b.ReportMetric(float64(b.N*bc.want)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(size)/(1<<20)/elapsed.Seconds(), "MiB/s") // of the events' JSON
		})
	}
}

// readOrdered reads want events on filters from the start of the log with
// an ordered consumer and returns their bytes.
func readOrdered(ctx context.Context, js jetstream.JetStream, filters []string, want int) (int64, error) {
	oc, err := js.OrderedConsumer(ctx, schema.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: filters})
	if err != nil {
		return 0, err
	}
	it, err := oc.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return 0, err
	}
	defer it.Stop()
	var n int64
	for i := 0; i < want; i++ {
		m, err := it.Next()
		if err != nil {
			return n, err
		}
		n += int64(len(m.Data()))
	}
	return n, nil
}

// readFollow reads want events on filters with followService, decoding
// each, and returns their JSON's bytes (as encoded again).
func readFollow(ctx context.Context, js jetstream.JetStream, filters []string, want int) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n int64
	var count int
	err := followService(ctx, js, "bench-follow", filters, 0, func(seq uint64, ev *schema.Event) error {
		b, err := ev.Encode()
		n += int64(len(b))
		if count++; count == want {
			cancel()
		}
		return err
	})
	if count == want {
		err = nil
	}
	return n, err
}

// BenchmarkFeedNATSLatency measures how soon an upload reaches a consumer
// subscribed over the NATS client port: one client uploads 4 KiB objects
// one after the other through HTTP (sync always) while an ordered consumer
// follows the service. Figures, over b.N uploads (2,000 for the README):
// p50/p99 of the time from the upload's HTTP reply to the event's arrival
// (negative when the event arrived first: the server appends the event,
// folds it into the projections, then replies) and from the request's
// start to the event's arrival.
//
//	go test ./e2e -run '^$' -bench FeedNATSLatency -benchtime 2000x
func BenchmarkFeedNATSLatency(b *testing.B) {
	e := nfStart(b)
	sid := e.WithService(b)
	_, js, _ := nfConn(b, e)
	ctx := context.Background()
	oc, err := js.OrderedConsumer(ctx, schema.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{schema.ServiceObjectsFilter(sid)}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	got := make(chan struct{}, b.N)
	cc, err := oc.Consume(func(m jetstream.Msg) {
		now := time.Now()
		var ev struct {
			Path string `json:"path"`
		}
		if json.Unmarshal(m.Data(), &ev) == nil {
			mu.Lock()
			arrived[ev.Path] = now
			mu.Unlock()
			got <- struct{}{}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	body := bytes.Repeat([]byte("l"), 4<<10)
	started, replied := make([]time.Time, b.N), make([]time.Time, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		started[i] = time.Now()
		r, err := e.Send(Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey,
			Query: Q("sid", sid, "path", fmt.Sprintf("lat/%d", i)), Body: bytes.NewReader(body)})
		replied[i] = time.Now()
		if err != nil || r.Status != http.StatusCreated {
			b.Fatalf("upload %d: %v %v", i, err, r)
		}
	}
	deadline := time.After(60 * time.Second)
	for i := 0; i < b.N; i++ {
		select {
		case <-got:
		case <-deadline:
			b.Fatalf("%d of %d events reached the consumer", i, b.N)
		}
	}
	b.StopTimer()
	fromReply, fromStart := make([]time.Duration, b.N), make([]time.Duration, b.N)
	for i := range b.N {
		at := arrived[fmt.Sprintf("lat/%d", i)]
		fromReply[i], fromStart[i] = at.Sub(replied[i]), at.Sub(started[i])
	}
	slices.Sort(fromReply)
	slices.Sort(fromStart)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(s []time.Duration, p float64) time.Duration { return s[int(p*float64(len(s)-1))] }
	b.ReportMetric(ms(pct(fromReply, 0.50)), "reply-to-event-p50-ms")
	b.ReportMetric(ms(pct(fromReply, 0.99)), "reply-to-event-p99-ms")
	b.ReportMetric(ms(pct(fromStart, 0.50)), "request-to-event-p50-ms")
	b.ReportMetric(ms(pct(fromStart, 0.99)), "request-to-event-p99-ms")
}
