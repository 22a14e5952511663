package events_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// restartingState answers Wait for an event past after with the error a
// failing runner gives (Unavailable, at once) the first fails times, as
// while runProjections restarts a runner.
type restartingState struct {
	events.State
	after uint64
	fails atomic.Int64
}

func (r *restartingState) Wait(ctx context.Context, seq uint64) error {
	if seq > r.after && r.fails.Add(-1) >= 0 {
		return schema.Errorf(schema.KindUnavailable, "projections are not being applied: runner restarting")
	}
	return r.State.Wait(ctx, seq)
}

// A write whose event was appended is not answered with an error because
// the projection runner was failing at that moment: it waits through the
// runner's restart.
func TestCore_AppendedWriteWaitsThroughRunnerRestart(t *testing.T) {
	c := newCore(t, events.Options{})
	c.service(t, "svc")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last, err := c.log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := events.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st := &restartingState{State: c.state, after: last}
	st.fails.Store(3)
	core := events.NewCore(c.log, c.blobs, st, sealer, events.Options{})
	v, err := core.PutObject(ctx, c.o, events.PutInput{Service: "svc", Path: "a", Body: bytes.NewReader([]byte("hello"))})
	if err != nil {
		t.Fatalf("a write appended while the runner was failing: %v", err)
	}
	if got := string(readAll(t, c, v)); got != "hello" {
		t.Fatalf("read back %q", got)
	}
	if n, _ := c.log.LastSeq(ctx); n != last+1 {
		t.Fatalf("the log went from %d to %d: want one event", last, n)
	}
}
