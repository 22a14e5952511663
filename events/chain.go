package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// The hash chain. Every event is stored with a header holding
//
//	chain(n) = SHA-256(chain(n-1) || bytes of event n)
//
// as lower-case hex (chain(0), and the predecessor of an event stored
// without the header, is 32 zero bytes). Changing, removing or reordering
// any stored event breaks every link after it; signed checkpoints fix the
// chain's value at a sequence, so a rewrite of the whole tail is caught too.
const ChainHeader = "Cairn-Chain"

// Link returns the chain value of an event with bytes data whose
// predecessor's chain value is prev.
func Link(prev, data []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(data)
	return h.Sum(nil)
}

// zeroLink is chain(0).
var zeroLink = make([]byte, sha256.Size)

// appendReq is one event waiting for the appender.
type appendReq struct {
	ctx     context.Context
	subject string
	id      string
	data    []byte
	exp     Expect
	done    chan appendRes
}

type appendRes struct {
	seq uint64
	err error
}

// appendAckWait is how long the appender waits for JetStream to
// acknowledge a batch before it fails the batch's appends.
const appendAckWait = 30 * time.Second

// appender is the log's one writer: the chain needs each event's
// predecessor, so events are linked and published in order by a single
// goroutine. It publishes a batch asynchronously (JetStream keeps a
// connection's order), each expecting the stream's last sequence to be its
// predecessor's, then collects the acknowledgements: the fsyncs run back to
// back as they did with concurrent publishers, with no round trip between
// them. When one event of a batch fails (its own expectation, a duplicate
// id), the ones after it failed only on the chain's expectation and are
// sent again with the next batch.
type appender struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	// space refuses every event once the disk is down to its floor (nil:
	// no check), before JetStream's file store meets ENOSPC: a store
	// that failed a write refuses every later one until it is reopened.
	space *blobstore.Space
	// ackWait bounds the wait for a batch's acknowledgements
	// (appendAckWait; shorter in tests).
	ackWait time.Duration
	// reopen opens the log's store anew (JetStream.reopenStore); broken
	// says the last batch went unacknowledged, as a store that failed a
	// write leaves every publish, so the next batch reopens it first.
	reopen func() error
	broken bool
	// afterReopen checks what a reopened store recovered
	// (NATSOptions.AfterReopen); halted is its refusal, kept for good.
	afterReopen func(last uint64) error
	halted      error
	reqs        chan *appendReq
	stop        chan struct{}
	done        chan struct{}

	tipSeq uint64 // owned by the run goroutine after start
	tip    []byte
}

func newAppender(ctx context.Context, js jetstream.JetStream, stream jetstream.Stream, space *blobstore.Space,
	reopen func() error, afterReopen func(last uint64) error) (*appender, error) {
	a := &appender{js: js, stream: stream, space: space, reopen: reopen, afterReopen: afterReopen, ackWait: appendAckWait, reqs: make(chan *appendReq, 1024), stop: make(chan struct{}),
		done: make(chan struct{})}
	if err := a.resync(ctx); err != nil {
		return nil, err
	}
	go a.run()
	return a, nil
}

// resync reads the chain's tip from the stream: its last event's sequence
// and chain value.
func (a *appender) resync(ctx context.Context) error {
	info, err := a.stream.Info(ctx)
	if err != nil {
		return schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
	}
	a.tipSeq, a.tip = info.State.LastSeq, zeroLink
	if a.tipSeq == 0 {
		return nil
	}
	m, err := a.stream.GetMsg(ctx, a.tipSeq)
	if err != nil {
		return schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
	}
	if h, err := hex.DecodeString(m.Header.Get(ChainHeader)); err == nil && len(h) == sha256.Size {
		a.tip = h
	}
	return nil
}

func (a *appender) close() {
	close(a.stop)
	<-a.done
}

// append hands one event to the appender and waits for its outcome.
func (a *appender) append(ctx context.Context, r *appendReq) (uint64, error) {
	r.ctx, r.done = ctx, make(chan appendRes, 1)
	select {
	case a.reqs <- r:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-a.stop:
		return 0, schema.Errorf(schema.KindUnavailable, "event log closed")
	}
	select {
	case res := <-r.done:
		return res.seq, res.err
	case <-ctx.Done(): // the event may still be stored; a retry with its id is idempotent
		return 0, ctx.Err()
	}
}

func (a *appender) run() {
	defer close(a.done)
	for {
		var batch []*appendReq
		select {
		case r := <-a.reqs:
			batch = append(batch, r)
		case <-a.stop:
			a.drain()
			return
		}
	more:
		for len(batch) < 512 {
			select {
			case r := <-a.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		err := a.halted
		if err == nil {
			err = a.space.CheckAppend()
		}
		if err == nil && a.broken {
			err = a.repair()
		}
		if err != nil {
			for _, r := range batch {
				r.done <- appendRes{err: err}
			}
			continue
		}
		for len(batch) > 0 {
			batch = a.publish(batch)
		}
	}
}

// repair reopens the log's store after a batch went unacknowledged and
// reads the chain's tip again (what the failed batch left in place).
func (a *appender) repair() error {
	if a.reopen != nil {
		if err := a.reopen(); err != nil {
			return schema.Wrap(schema.KindUnavailable, err, "event log unavailable: reopening its store failed")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.resync(ctx); err != nil {
		return err
	}
	if a.afterReopen != nil {
		if err := a.afterReopen(a.tipSeq); err != nil {
			a.halted = err
			return err
		}
	}
	a.broken = false
	return nil
}

// drain fails what is still queued at close.
func (a *appender) drain() {
	for {
		select {
		case r := <-a.reqs:
			r.done <- appendRes{err: schema.Errorf(schema.KindUnavailable, "event log closed")}
		default:
			return
		}
	}
}

// publish sends a batch in order and returns the requests to send again.
func (a *appender) publish(batch []*appendReq) []*appendReq {
	type flight struct {
		r     *appendReq
		f     jetstream.PubAckFuture
		chain []byte
	}
	var fl []flight
	var rest []*appendReq
	seq, tip := a.tipSeq, a.tip
	for i, r := range batch {
		if r.ctx.Err() != nil {
			r.done <- appendRes{err: r.ctx.Err()}
			continue
		}
		if r.exp.Global && r.exp.LastSeq != seq {
			r.done <- appendRes{err: ErrWrongLastSequence}
			continue
		}
		chain := Link(tip, r.data)
		m := &nats.Msg{Subject: r.subject, Data: r.data, Header: nats.Header{}}
		m.Header.Set(ChainHeader, hex.EncodeToString(chain))
		opts := []jetstream.PublishOpt{jetstream.WithMsgID(r.id), jetstream.WithExpectStream(schema.StreamName),
			jetstream.WithExpectLastSequence(seq)}
		if r.exp.Filter != "" {
			opts = append(opts, jetstream.WithExpectLastSequenceForSubject(r.exp.FilterSeq, r.exp.Filter))
		}
		f, err := a.js.PublishMsgAsync(m, opts...)
		if err != nil {
			r.done <- appendRes{err: schema.Wrap(schema.KindUnavailable, err, "event log unavailable")}
			rest = append(rest, batch[i+1:]...)
			break
		}
		fl = append(fl, flight{r, f, chain})
		seq, tip = seq+1, chain
	}
	failed := false
	timeout := time.NewTimer(a.ackWait)
	defer timeout.Stop()
	for _, x := range fl {
		var ack *jetstream.PubAck
		var err error
		if a.broken { // the wait ran out on an earlier event of the batch: take what has come
			select {
			case ack = <-x.f.Ok():
			case err = <-x.f.Err():
			default:
				err = fmt.Errorf("no acknowledgement in %v", a.ackWait)
			}
		} else {
			select {
			case ack = <-x.f.Ok():
			case err = <-x.f.Err():
			case <-timeout.C:
				err = fmt.Errorf("no acknowledgement in %v", a.ackWait)
				a.broken = true
			}
		}
		if failed { // it could only have failed on the chain's expectation
			if err == nil && !ack.Duplicate { // cannot happen: JetStream keeps order
				a.tipSeq, a.tip = ack.Sequence, x.chain
				x.r.done <- appendRes{seq: ack.Sequence}
				continue
			}
			rest = append(rest, x.r)
			continue
		}
		switch {
		case err == nil && !ack.Duplicate:
			a.tipSeq, a.tip = ack.Sequence, x.chain
			x.r.done <- appendRes{seq: ack.Sequence}
		case err == nil: // the same event id was stored before: its first sequence
			x.r.done <- appendRes{seq: ack.Sequence}
			failed = true
		case wrongLastSequence(err):
			// its predecessor is in place, so its own expectation failed
			x.r.done <- appendRes{err: ErrWrongLastSequence}
			failed = true
		default:
			x.r.done <- appendRes{err: schema.Wrap(schema.KindUnavailable, err, "event log unavailable")}
			failed = true
		}
	}
	if failed || len(rest) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.resync(ctx); err != nil {
			for _, r := range rest {
				r.done <- appendRes{err: err}
			}
			return nil
		}
	}
	return rest
}

func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// RawEvent is an event as stored: its bytes and chain value.
type RawEvent struct {
	Seq     uint64
	Subject string
	Data    []byte
	Chain   string // hex; "" for an event stored before chains
}

// Raw returns the stored bytes and chain value of the event at seq.
func (l *JetStream) Raw(ctx context.Context, seq uint64) (*RawEvent, error) {
	m, err := l.stream.GetMsg(ctx, seq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, schema.Errorf(schema.KindNotFound, "no event %d", seq)
		}
		return nil, schema.Wrap(schema.KindUnavailable, err, "event log unavailable")
	}
	return &RawEvent{Seq: m.Sequence, Subject: m.Subject, Data: m.Data, Chain: m.Header.Get(ChainHeader)}, nil
}
