package events_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// countingState counts the projection reads a core makes.
type countingState struct {
	events.State
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingState) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads[name]++
}

// take returns the reads counted since the last take and starts again.
func (c *countingState) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.reads
	c.reads = map[string]int{}
	return out
}

func (c *countingState) Service(ctx context.Context, id string) (*schema.Service, error) {
	c.count("Service")
	return c.State.Service(ctx, id)
}

func (c *countingState) Account(ctx context.Context, id string) (*schema.Account, error) {
	c.count("Account")
	return c.State.Account(ctx, id)
}

func (c *countingState) Head(ctx context.Context, service, path string) (*schema.Version, error) {
	c.count("Head")
	return c.State.Head(ctx, service, path)
}

func (c *countingState) Object(ctx context.Context, service, path string) (*schema.Version, error) {
	c.count("Object")
	return c.State.Object(ctx, service, path)
}

func (c *countingState) Version(ctx context.Context, service, path, id string) (*schema.Version, error) {
	c.count("Version")
	return c.State.Version(ctx, service, path, id)
}

// An object mutation reads its service, its account and the object's
// newest version once each, and the version it made once for the reply;
// with or without conditions, under a service or an account quota.
func TestCore_MutationReadsStateOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCore(t, events.Options{InlineMax: 16})
	c.service(t, "plain")
	c.service(t, "svcquota")
	if _, err := c.svc.SetServiceQuota(ctx, c.o, "svcquota", 1<<20, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.CreateAccount(ctx, c.o, "tenant", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "acctquota", Account: "tenant"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.SetAccountQuota(ctx, c.o, "tenant", 1<<20); err != nil {
		t.Fatal(err)
	}
	sealer, err := events.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st := &countingState{State: c.state, reads: map[string]int{}}
	core := events.NewCore(c.log, c.blobs, st, sealer, events.Options{InlineMax: 16})
	once := map[string]int{"Service": 1, "Account": 1, "Head": 1, "Version": 1}

	for _, sid := range []string{"plain", "svcquota", "acctquota"} {
		for _, tc := range []struct {
			name string
			do   func() error
		}{
			{"upload", func() error {
				_, err := core.PutObject(ctx, c.o, events.PutInput{Service: sid, Path: "a", Body: bytes.NewReader([]byte("hello"))})
				return err
			}},
			{"upload large body", func() error {
				_, err := core.PutObject(ctx, c.o, events.PutInput{Service: sid, Path: "a", Body: bytes.NewReader(bytes.Repeat([]byte("x"), 100))})
				return err
			}},
			{"conditional upload", func() error {
				_, err := core.PutObject(ctx, c.o, events.PutInput{Service: sid, Path: "b", Body: bytes.NewReader([]byte("new")),
					Cond: events.Conditions{IfNoneMatch: "*"}})
				return err
			}},
			{"metadata", func() error {
				_, err := core.UpdateMeta(ctx, c.o, events.MetaInput{Service: sid, Path: "a", Meta: map[string]string{"k": "v"}})
				return err
			}},
			{"delete", func() error {
				_, err := core.DeleteObject(ctx, c.o, sid, "a", events.Conditions{})
				return err
			}},
			{"conditional delete", func() error {
				_, err := core.DeleteObject(ctx, c.o, sid, "b", events.Conditions{IfMatch: "*"})
				return err
			}},
		} {
			t.Run(fmt.Sprintf("%s/%s", sid, tc.name), func(t *testing.T) {
				st.take()
				if err := tc.do(); err != nil {
					t.Fatal(err)
				}
				if got := st.take(); !maps.Equal(got, once) {
					t.Fatalf("projection reads %v, want %v", got, once)
				}
			})
		}
	}

	// a refusal is decided on the same single read
	st.take()
	if _, err := core.DeleteObject(ctx, c.o, "plain", "never", events.Conditions{}); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("delete of a missing file: %v", err)
	}
	if got, want := st.take(), map[string]int{"Service": 1, "Account": 1, "Head": 1}; !maps.Equal(got, want) {
		t.Fatalf("projection reads of a refused delete %v, want %v", got, want)
	}
}
