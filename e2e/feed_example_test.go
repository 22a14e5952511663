package e2e

// The consumer README.md shows under "Change feed over NATS", verbatim:
// TestFeedNATS_ReadmeExample fails when the two differ, and the
// TestFeedNATS_* tests run it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/schema"
)

// followService hands every event on filters (a service's, as `cairn
// subject --sid S` prints them) to handle, exactly once and in log order,
// across restarts and crashes. last is the stream sequence of the last
// event handled (0 at first): handle keeps it with its own state, and the
// caller passes it back when it calls followService again after an error.
func followService(ctx context.Context, js jetstream.JetStream, durable string, filters []string, last uint64,
	handle func(seq uint64, ev *schema.Event) error) error {
	// The durable consumer starts right after the checkpoint. It is made
	// anew on every start: what the last run had in flight (deliveries lost
	// with its connection, its pending pulls) goes with the old one.
	err := js.DeleteConsumer(ctx, "CAIRN", durable)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return err
	}
	cons, err := js.CreateConsumer(ctx, "CAIRN", jetstream.ConsumerConfig{
		Durable:        durable,
		FilterSubjects: filters,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    last + 1,
		AckPolicy:      jetstream.AckExplicitPolicy,
	})
	if err != nil {
		return err
	}
	msgs, err := cons.Messages()
	if err != nil {
		return err
	}
	defer msgs.Stop()
	var next uint64 // every delivery, first or again, takes the next delivery sequence
	for {
		m, err := msgs.Next(jetstream.NextContext(ctx))
		if err != nil {
			return err
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		if next != 0 && md.Sequence.Consumer != next {
			return fmt.Errorf("delivery %d was lost (got %d): start again", next, md.Sequence.Consumer)
		}
		next = md.Sequence.Consumer + 1
		if md.Sequence.Stream > last { // else a redelivery of an event already handled
			var ev schema.Event
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				return err
			}
			if err := handle(md.Sequence.Stream, &ev); err != nil {
				return err
			}
			last = md.Sequence.Stream
		}
		if err := m.Ack(); err != nil {
			return err
		}
	}
}

// TestFeedNATS_ReadmeExample holds README.md's consumer to this file's.
func TestFeedNATS_ReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("feed_example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fn := func(b []byte) string {
		s := string(b)
		i := strings.Index(s, "// followService hands")
		if i < 0 {
			return ""
		}
		j := strings.Index(s[i:], "\n}\n")
		return s[i : i+j+3]
	}
	want := fn(src)
	if want == "" {
		t.Fatal("no followService in feed_example_test.go")
	}
	if got := fn(readme); got != want {
		t.Errorf("README.md's followService differs from e2e/feed_example_test.go's; copy it over:\n%s", want)
	}
}
