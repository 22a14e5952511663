package events_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

func TestService_IssueToken(t *testing.T) {
	ctx := context.Background()
	clk := schematest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := newCore(t, events.Options{Clock: clk.Now})
	k, _, err := c.svc.CreateKey(ctx, c.o, events.KeyInput{Name: "swift", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(tok string) error {
		id, _, err := c.svc.TokenKey(ctx, tok)
		if err == nil && id != k.ID {
			t.Fatalf("token resolves to %q, want %q", id, k.ID)
		}
		return err
	}

	tok1, exp1, err := c.svc.IssueToken(ctx, c.o, k.ID, k.Account)
	if err != nil {
		t.Fatal(err)
	}
	if d := exp1.Sub(clk.Now().Add(events.TokenTTL)); !strings.HasPrefix(tok1, "AUTH_tk") || d < 0 || d > time.Millisecond {
		t.Fatalf("token %q expires %v", tok1, exp1)
	}
	if err := resolve(tok1); err != nil {
		t.Fatalf("fresh token: %v", err)
	}

	// within the reuse window: the same token, and no new event
	last, _ := c.log.LastSeq(ctx)
	clk.Advance(events.TokenReuse - time.Second)
	tok2, exp2, err := c.svc.IssueToken(ctx, c.o, k.ID, k.Account)
	if err != nil || tok2 != tok1 || !exp2.Equal(exp1) {
		t.Fatalf("re-issue within 12h: %q %v %v, want %q %v", tok2, exp2, err, tok1, exp1)
	}
	if now, _ := c.log.LastSeq(ctx); now != last {
		t.Fatalf("re-issue appended %d events", now-last)
	}

	// past it: a new token, the old one is dead
	clk.Advance(2 * time.Second)
	tok3, _, err := c.svc.IssueToken(ctx, c.o, k.ID, k.Account)
	if err != nil || tok3 == tok1 {
		t.Fatalf("re-issue after 12h: %q %v", tok3, err)
	}
	if err := resolve(tok1); !schema.IsKind(err, schema.KindUnauthorized) {
		t.Fatalf("replaced token: %v, want unauthorized", err)
	}
	if err := resolve(tok3); err != nil {
		t.Fatalf("new token: %v", err)
	}
	ev, err := c.log.Get(ctx, last+1)
	if err != nil || ev.Type != schema.TypeTokenIssued || strings.Contains(string(ev.Data), tok3) {
		t.Fatalf("event %v %v: want token.issued without the token", ev, err)
	}

	// 24 hours after its issue a token is dead even unreplaced
	clk.Advance(events.TokenTTL)
	if err := resolve(tok3); !schema.IsKind(err, schema.KindUnauthorized) {
		t.Fatalf("expired token: %v, want unauthorized", err)
	}
	for _, bad := range []string{"", "AUTH_tk", tok3 + "0", "AUTH_tk" + strings.Repeat("0", 32)} {
		if err := resolve(bad); !schema.IsKind(err, schema.KindUnauthorized) {
			t.Fatalf("token %q: %v, want unauthorized", bad, err)
		}
	}
}

// Concurrent first logins of one key agree on one token.
func TestService_IssueTokenConcurrent(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	k, _, err := c.svc.CreateKey(ctx, c.o, events.KeyInput{Name: "swift", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]string, 8)
	errs := make([]error, len(toks))
	var wg sync.WaitGroup
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], _, errs[i] = c.svc.IssueToken(ctx, c.o, k.ID, k.Account)
		}()
	}
	wg.Wait()
	for i, tok := range toks {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if tok != toks[0] {
			t.Fatalf("concurrent logins got different tokens: %q", toks)
		}
		if _, _, err := c.svc.TokenKey(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
}

func TestService_UpdateAccount(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	a, err := c.svc.UpdateAccount(ctx, c.o, schema.DefaultAccount, func(a *schema.Account) error {
		a.Meta = map[string]string{"owner": "ops"}
		return nil
	})
	if err != nil || a.Meta["owner"] != "ops" {
		t.Fatalf("UpdateAccount: %+v %v", a, err)
	}
	if _, err := c.svc.UpdateAccount(ctx, c.o, "nobody", func(*schema.Account) error { return nil }); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}
