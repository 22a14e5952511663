package projections

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// badEvents are events the fold cannot decode, one of each kind of fault.
// Each replaces event 3 of goodLog.
var badEvents = map[string]struct {
	typ, data string
	unknown   bool // the cause is ErrUnknownEventType
}{
	"unknown type":             {typ: "object.frobnicate.v9", data: `{"version":"e3"}`, unknown: true},
	"newer version of a type":  {typ: "object.put.v2", data: `{"version":"e3","size":1}`, unknown: true},
	"put payload not object":   {typ: schema.TypeObjectPut, data: `"not an object"`},
	"put field of wrong type":  {typ: schema.TypeObjectPut, data: `{"version":"e3","size":"big"}`},
	"copy field of wrong type": {typ: schema.TypeObjectCopy, data: `{"version":"e3","from":7}`},
	"delete payload array":     {typ: schema.TypeServiceDeleted, data: `[1,2,3]`},
	"key field of wrong type":  {typ: schema.TypeKeyCreated, data: `{"id":"K","admin":"yes"}`},
	"token without lookup":     {typ: schema.TypeTokenIssued, data: `{"id":"KEYID0000000000000"}`},
	"source without name":      {typ: schema.TypeSourceCreated, data: `{"url":"https://x.example"}`},
}

// goodLog is an account, a service and, at sequences 3 and 4, two puts.
func goodLog() []*schema.Event {
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("photos")
	b.put("photos", "a.txt", 1, digestOf("a"), 0)
	b.put("photos", "b.txt", 2, digestOf("b"), 0)
	return b.events
}

// withBad returns goodLog with event 3 replaced by a bad one.
func withBad(typ, data string) []*schema.Event {
	evs := goodLog()
	bad := *evs[2]
	bad.Type, bad.Data = typ, json.RawMessage(data)
	evs[2] = &bad
	return evs
}

// An event the fold cannot decode stops Apply with a FoldError naming it:
// the events before it in the batch are committed, the checkpoint stays
// just before it, nothing after it is applied, and every later Apply and
// Wait answers with the same error.
func TestStore_ApplyStops(t *testing.T) {
	before := openMemory(t)
	apply(t, before, goodLog()[:2])
	want := digest(t, before)
	for name, c := range badEvents {
		t.Run(name, func(t *testing.T) {
			evs := withBad(c.typ, c.data)
			s := openMemory(t)
			err := s.Apply(evs)
			var fe *FoldError
			if !errors.As(err, &fe) {
				t.Fatalf("Apply = %v, want a *FoldError", err)
			}
			if fe.Seq != 3 || fe.Type != c.typ || fe.Err == nil {
				t.Fatalf("FoldError = %+v, want event 3 (%s) with a cause", fe, c.typ)
			}
			if got := errors.Is(err, ErrUnknownEventType); got != c.unknown {
				t.Errorf("errors.Is(err, ErrUnknownEventType) = %v, want %v (%v)", got, c.unknown, err)
			}
			if got := s.Applied(); got != 2 {
				t.Errorf("Applied() = %d, want 2 (the checkpoint stays before the bad event)", got)
			}
			if got := digest(t, s); got != want {
				t.Errorf("indexes differ from the fold of the two events before the bad one")
			}
			// the event after it, alone: refused with the same error
			if err := s.Apply(evs[3:]); !errors.As(err, &fe) || fe.Seq != 3 {
				t.Errorf("Apply after the stop = %v, want the FoldError of event 3", err)
			}
			if got := s.Applied(); got != 2 {
				t.Errorf("Applied() after a later batch = %d, want 2", got)
			}
			// Wait past it answers at once; Fail(nil) does not clear the stop
			s.Fail(nil)
			err = s.Wait(context.Background(), 3)
			if !schema.IsKind(err, schema.KindUnavailable) || !errors.As(err, &fe) || fe.Seq != 3 {
				t.Errorf("Wait(3) = %v, want KindUnavailable wrapping the FoldError", err)
			}
			if err := s.Wait(context.Background(), 2); err != nil {
				t.Errorf("Wait(2) = %v: event 2 was applied", err)
			}
		})
	}
}

// logSource is a Source over events held in memory: Follow delivers them
// from sequence from in one batch, then waits for ctx.
type logSource []*schema.Event

func (l logSource) Follow(ctx context.Context, from uint64, fn func([]*schema.Event) error) error {
	var batch []*schema.Event
	for _, ev := range l {
		if ev.Seq >= from {
			batch = append(batch, ev)
		}
	}
	if err := fn(batch); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// The runner ends with the FoldError instead of running past it, and
// running it again ends the same way at once.
func TestStore_RunStops(t *testing.T) {
	s := openMemory(t)
	src := logSource(withBad("object.frobnicate.v9", `{}`))
	for range 2 {
		err := s.Run(context.Background(), src)
		var fe *FoldError
		if !errors.As(err, &fe) || fe.Seq != 3 || !errors.Is(err, ErrUnknownEventType) {
			t.Fatalf("Run = %v, want the FoldError of event 3", err)
		}
		if got := s.Applied(); got != 2 {
			t.Fatalf("Applied() = %d, want 2", got)
		}
	}
}

// Every type of schema.EventTypes is folded or listed as a no-op: none is
// unknown to the fold, so a type added to the schema without a fold fails
// here rather than stopping a server.
func TestFold_KnowsEveryType(t *testing.T) {
	for typ := range schema.EventTypes {
		s := openMemory(t)
		evs := goodLog()[:2]
		ev := *evs[1]
		ev.Type, ev.Seq, ev.Data = typ, 3, json.RawMessage(`{}`)
		err := s.Apply(append(evs, &ev))
		if errors.Is(err, ErrUnknownEventType) {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

// A checkpoint event changes nothing but the checkpoint.
func TestFold_CheckpointIsNoOp(t *testing.T) {
	evs := goodLog()
	s, ref := openMemory(t), openMemory(t)
	apply(t, s, evs[:2])
	before := digest(t, s)
	cp, err := json.Marshal(schema.Checkpoint{Seq: 2, Chain: "00", Key: "00", Sig: "00"})
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, []*schema.Event{{Type: schema.TypeCheckpoint, ID: "e3", Time: baseTime, Account: schema.DefaultAccount, Data: cp, Seq: 3}})
	if s.Applied() != 3 {
		t.Fatalf("Applied() = %d, want 3", s.Applied())
	}
	apply(t, ref, evs[:2])
	if err := ref.db.Update(func(tx *buntdb.Tx) error { _, _, err := tx.Set(schema.KeyApplied, "3", nil); return err }); err != nil {
		t.Fatal(err)
	}
	if got, want := digest(t, s), digest(t, ref); got != want || got == before {
		t.Errorf("a checkpoint event changed more than the checkpoint")
	}
}
