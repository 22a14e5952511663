package events

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/schema"
)

const (
	// feedIdle is how long the server keeps a reader's consumer that its
	// reader forgot (a crash between create and delete): Read deletes
	// its consumer itself.
	feedIdle = time.Minute
	// feedDrain bounds the reading of events that were already in the log
	// when Read began (wait 0): they are delivered at once in practice.
	feedDrain = 30 * time.Second
	// feedPrefetch caps the events pulled ahead of the reader, and
	// feedPrefetchMin is its floor (the client's iterator stalls when it
	// may hold a single message).
	feedPrefetch    = 256
	feedPrefetchMin = 16
)

// publicSubjects are what a feed without filters reads: the events of
// objects, services, accounts and uploads, the families the NATS feed user
// may read too. Key and token events (cairn.key.>), replication sources
// (cairn.src.>, which hold sealed secrets) and the log's own checkpoints
// never leave the server through the feed. Account and service events do,
// and with them their metadata: the secrets among it (temp URL keys) are
// sealed before they enter an event (Sealer.SealMeta), so the feed only
// ever carries them sealed.
func publicSubjects() []string {
	r := schema.SubjectRoot
	return []string{r + ".obj.>", r + ".svc.>", r + ".acct.>", r + ".upl.>"}
}

// Read serves the change feed (GET /events) to consumers that do not speak
// NATS. It returns the events with sequence > after on subjects matching
// any of filters (nil: those of objects, services, accounts and uploads,
// never key and token events), in order, at most limit of them, with Seq set. When there
// are none yet it waits up to wait for the first, then returns what has
// arrived by then; nothing after wait is an empty answer, not an error.
// A bad filter is KindInvalidArgument; ctx ending is ctx's error.
//
// Each call reads through its own ephemeral JetStream consumer (AckNone, in memory, starting at after+1, with the
// filters as its FilterSubjects), deleted before Read returns, so any
// number of readers run side by side and none is left behind.
func (l *JetStream) Read(ctx context.Context, after uint64, filters []string, limit int, wait time.Duration) ([]*schema.Event, error) {
	if limit <= 0 {
		return nil, schema.Errorf(schema.KindInvalidArgument, "limit must be positive")
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	if len(filters) == 0 {
		filters = publicSubjects()
	}
	cfg := jetstream.ConsumerConfig{
		Description:       "cairn feed reader",
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: feedIdle,
	}
	if len(filters) == 1 {
		cfg.FilterSubject = filters[0]
	} else {
		cfg.FilterSubjects = filters
	}
	cons, err := l.stream.CreateConsumer(ctx, cfg)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.Code == http.StatusBadRequest {
			return nil, schema.Wrap(schema.KindInvalidArgument, err, "bad feed filter")
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, schema.Wrap(schema.KindUnavailable, err, "read log")
	}
	name := cons.CachedInfo().Name
	defer func() {
		// The reader's context may be gone (a client that left): the
		// consumer is still deleted now rather than at feedIdle.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = l.stream.DeleteConsumer(dctx, name)
	}()
	if cons.CachedInfo().NumPending == 0 && wait <= 0 {
		return nil, nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(max(feedPrefetchMin, min(limit, feedPrefetch))))
	if err != nil {
		return nil, schema.Wrap(schema.KindUnavailable, err, "read log")
	}
	defer it.Stop()
	// Until the first event, wait up to wait; after it, take only what is
	// already there (the consumer's pending count says when that is).
	d := wait
	if d <= 0 {
		d = feedDrain
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var out []*schema.Event
	for len(out) < limit {
		m, err := it.Next(jetstream.NextContext(wctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				return out, nil
			}
			if len(out) > 0 {
				return out, nil
			}
			return nil, schema.Wrap(schema.KindUnavailable, err, "read log")
		}
		md, err := m.Metadata()
		if err != nil {
			return nil, schema.Wrap(schema.KindInternal, err, "message metadata")
		}
		seq := md.Sequence.Stream
		if seq > after {
			ev, err := decode(m.Data(), seq)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		if md.NumPending == 0 { // all there was: do not wait for more
			break
		}
	}
	return out, nil
}

// SeqAt returns the sequence of the first event whose time is at or after
// t, or LastSeq+1 when every event is older: where a feed that starts at a
// moment begins (Read after SeqAt-1). The core's clock never goes back, so
// event times do not decrease along the log (appends racing each other may
// land a few microseconds out of order), and this is a binary search of a
// few Gets.
func (l *JetStream) SeqAt(ctx context.Context, t time.Time) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
	}
	if info.State.LastSeq == 0 {
		return 1, nil
	}
	lo, hi := max(info.State.FirstSeq, 1), info.State.LastSeq+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		ev, err := l.Get(ctx, mid)
		switch {
		case schema.IsKind(err, schema.KindNotFound):
			hi = mid // a gap (none in Cairn's log): err early, never late
		case err != nil:
			return 0, err
		case ev.Time.Before(t):
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return lo, nil
}
