package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/schema"
)

// RecordRequest appends r, an access-log record, to the service's request
// log without waiting for the acknowledgement: the request log is
// best-effort and capped, and is not part of the mutation history.
func (l *JetStream) RecordRequest(service string, r schema.Request) {
	data, err := json.Marshal(r)
	if err != nil {
		return
	}
	if l.space.CheckAppend() != nil {
		return // best effort: a full disk is for the history's events
	}
	_, _ = l.js.PublishAsync(schema.ReqSubject(service), data)
}

// Requests returns up to limit of a service's most recent requests, newest
// first: every request when keyID is "", else only those made with that
// key (reqlist shows a key that does not administer the service its own).
func (l *JetStream) Requests(ctx context.Context, service string, limit int, keyID string) ([]schema.Request, error) {
	select {
	case <-l.js.PublishAsyncComplete():
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
	subj := schema.ReqSubject(service)
	info, err := l.req.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return nil, schema.Wrap(schema.KindUnavailable, err, "request log unavailable")
	}
	total := int(info.State.Subjects[subj])
	if total == 0 {
		return []schema.Request{}, nil
	}
	cons, err := l.js.OrderedConsumer(ctx, schema.ReqStreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subj},
	})
	if err != nil {
		return nil, schema.Wrap(schema.KindUnavailable, err, "request log unavailable")
	}
	all := make([]schema.Request, 0, total)
	batch, err := cons.Fetch(total, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		return nil, schema.Wrap(schema.KindUnavailable, err, "request log unavailable")
	}
	for m := range batch.Messages() {
		var r schema.Request
		if json.Unmarshal(m.Data(), &r) == nil {
			all = append(all, r)
		}
	}
	out := make([]schema.Request, 0, limit)
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		if keyID == "" || all[i].KeyID == keyID {
			out = append(out, all[i])
		}
	}
	return out, nil
}
