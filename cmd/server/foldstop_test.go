package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// lockedBuffer is a log destination the runner and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A running server whose log gains an event it cannot fold: the runner
// stops there for good (the same event would stop it again), says so once
// with the sequence and type, its projections stay at the event before,
// and writes are refused with the fold error instead of being acknowledged
// without ever being applied.
func TestServer_RunnerStopsAtAnEventItCannotFold(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var logs lockedBuffer
	s, err := Open(ctx, testConfig(t, "server-foldstop"), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	o := events.Origin{Actor: schema.Actor{KeyID: schema.ActorAdmin}}
	if _, err := s.Core.CreateService(ctx, o, events.ServiceInput{ID: "svc-stop"}); err != nil {
		t.Fatal(err)
	}
	seq, err := s.Log.Append(ctx, &schema.Event{Type: "service.frobnicated.v1", ID: "bad-event", Time: time.Now().UTC(),
		Actor: schema.Actor{KeyID: schema.ActorAdmin}, Account: schema.DefaultAccount, Service: "svc-stop",
		Data: json.RawMessage(`{}`)}, events.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	werr := s.State.Wait(ctx, seq)
	var fe *projections.FoldError
	if !errors.As(werr, &fe) || fe.Seq != seq || fe.Type != "service.frobnicated.v1" {
		t.Fatalf("Wait(%d) = %v, want the FoldError of that event", seq, werr)
	}
	if got := s.State.Applied(); got != seq-1 {
		t.Fatalf("projections applied %d, want %d (the event before)", got, seq-1)
	}
	_, err = s.Core.PutObject(ctx, o, events.PutInput{Service: "svc-stop", Path: "after", Body: strings.NewReader("x")})
	if !errors.As(err, &fe) {
		t.Fatalf("a write after the stop: %v, want it refused with the FoldError", err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "cannot fold"); {
		if time.Now().After(deadline) {
			t.Fatalf("the stop was not logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond) // the runner logs as it returns, after Wait has its error
	}
	if n := strings.Count(logs.String(), "cannot fold"); n != 1 {
		t.Fatalf("the stop was logged %d times, want once:\n%s", n, logs.String())
	}
}
