package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// core is a complete write side over a real embedded JetStream in a
// temporary directory, with in-memory projections following it.
type core struct {
	log   *events.JetStream
	state *projections.Store
	blobs *blobstore.FS
	svc   *events.Core
	o     events.Origin
}

var coreNo atomic.Int64

func newCore(t testing.TB, opts events.Options) *core { return openCore(t, opts, false) }

// newCoreSync is newCore with sync always, as the server runs by default.
func newCoreSync(t testing.TB) *core { return openCore(t, events.Options{}, true) }

func openCore(t testing.TB, opts events.Options, syncAlways bool) *core {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	l, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: dir, SyncAlways: syncAlways, Name: fmt.Sprintf("evtest-%d", coreNo.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	st, err := projections.Open(":memory:", projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blobstore.OpenFS(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte{7}, 32)
	sealer, err := events.NewSealer(secret)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Run(runCtx, l) }()
	t.Cleanup(func() { cancel(); <-done; st.Close(); l.Close() })
	c := &core{log: l, state: st, blobs: bs, svc: events.NewCore(l, bs, st, sealer, opts),
		o: events.Origin{Actor: schema.Actor{KeyID: "TESTKEY"}}}
	if err := c.svc.EnsureAccount(ctx, schema.DefaultAccount, "Default"); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *core) service(t *testing.T, id string) {
	t.Helper()
	if _, err := c.svc.CreateService(context.Background(), c.o, events.ServiceInput{ID: id}); err != nil {
		t.Fatal(err)
	}
}

func (c *core) put(ctx context.Context, sid, path string, body []byte, cond events.Conditions) (*schema.Version, error) {
	return c.svc.PutObject(ctx, c.o, events.PutInput{Service: sid, Path: path, Body: bytes.NewReader(body), ContentType: "text/plain", Cond: cond})
}

func readAll(t *testing.T, c *core, v *schema.Version) []byte {
	t.Helper()
	r, err := c.svc.Open(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestService_PutObject(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{InlineMax: 16})
	c.service(t, "bucket")
	ctx := context.Background()

	t.Run("Inline", func(t *testing.T) {
		v, err := c.put(ctx, "bucket", "small", []byte("tiny"), events.Conditions{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Blob.InSeq != v.Seq || v.Blob.SHA256 == "" {
			t.Fatalf("small object should be carried by its own event: %+v", v.Blob)
		}
		if _, err := c.blobs.Stat(ctx, v.Blob.SHA256); !schema.IsKind(err, schema.KindNotFound) {
			t.Fatalf("inline object must not be in the blobstore, Stat: %v", err)
		}
		if got := readAll(t, c, v); string(got) != "tiny" {
			t.Fatalf("read %q", got)
		}
	})
	t.Run("Blob", func(t *testing.T) {
		body := bytes.Repeat([]byte("x"), 100)
		v, err := c.put(ctx, "bucket", "big", body, events.Conditions{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Blob.InSeq != 0 {
			t.Fatalf("large object should be in the blobstore: %+v", v.Blob)
		}
		if _, err := c.blobs.Stat(ctx, v.Blob.SHA256); err != nil {
			t.Fatalf("blob written before its event must exist: %v", err)
		}
		ev, err := c.log.Get(ctx, v.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ev.Data, []byte("xxxxxxxx")) {
			t.Fatal("a large object's bytes must not travel in its event")
		}
		if got := readAll(t, c, v); !bytes.Equal(got, body) {
			t.Fatalf("read %d bytes", len(got))
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		c := newCore(t, events.Options{InlineMax: 4, MaxObjectSize: 10})
		c.service(t, "b2")
		_, err := c.put(ctx, "b2", "p", bytes.Repeat([]byte("y"), 11), events.Conditions{})
		if !schema.IsKind(err, schema.KindTooLarge) {
			t.Fatalf("want TooLarge, got %v", err)
		}
	})
	t.Run("NotStorage", func(t *testing.T) {
		_, err := c.put(ctx, "missing", "p", nil, events.Conditions{})
		if !schema.IsKind(err, schema.KindNotFound) {
			t.Fatalf("want NotFound, got %v", err)
		}
	})
	t.Run("BadPath", func(t *testing.T) {
		for _, p := range []string{"", strings.Repeat("a", schema.MaxPathBytes+1), "bad\xffutf8", "nul\x00"} {
			if _, err := c.put(ctx, "bucket", p, nil, events.Conditions{}); !schema.IsKind(err, schema.KindInvalidArgument) {
				t.Fatalf("path %q: want InvalidArgument, got %v", p, err)
			}
		}
	})
}

func TestService_Conditions(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	c.service(t, "bucket")
	ctx := context.Background()
	star := events.Conditions{IfNoneMatch: "*"}
	v1, err := c.put(ctx, "bucket", "k", []byte("one"), star)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.put(ctx, "bucket", "k", []byte("two"), star); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Fatalf("If-None-Match * on an existing object: want PreconditionFailed, got %v", err)
	}
	if _, err := c.put(ctx, "bucket", "k", []byte("two"), events.Conditions{IfMatch: `"nope"`}); !schema.IsKind(err, schema.KindPreconditionFailed) {
		t.Fatalf("If-Match with another ETag: want PreconditionFailed, got %v", err)
	}
	if _, err := c.put(ctx, "bucket", "k", []byte("two"), events.Conditions{IfMatch: `"` + v1.ETag + `"`}); err != nil {
		t.Fatalf("If-Match with the current ETag: %v", err)
	}
	if _, err := c.svc.DeleteObject(ctx, c.o, "bucket", "k", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.put(ctx, "bucket", "k", []byte("three"), star); err != nil {
		t.Fatalf("If-None-Match * after a delete: %v", err)
	}
}

// A service deleted and created again with the same id starts a new
// history, but the log still holds the old one on the same subjects: a
// conditional write to a path the old incarnation used must still work.
func TestService_RecreatedServiceConditionalPut(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	ctx := context.Background()
	c.service(t, "again")
	if _, err := c.put(ctx, "again", "p", []byte("old"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.DeleteObject(ctx, c.o, "again", "p", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.DeleteService(ctx, c.o, "again"); err != nil {
		t.Fatal(err)
	}
	c.service(t, "again")
	v, err := c.put(ctx, "again", "p", []byte("new"), events.Conditions{IfNoneMatch: "*"})
	if err != nil {
		t.Fatalf("If-None-Match * in the re-created service: %v", err)
	}
	if v.SyncID != 1 {
		t.Fatalf("re-created service starts at sync id 1, got %d", v.SyncID)
	}
}

func TestService_Quota(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{InlineMax: 8})
	c.service(t, "q")
	ctx := context.Background()
	if _, err := c.svc.SetServiceQuota(ctx, c.o, "q", 10, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.put(ctx, "q", "a", []byte("123456"), events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.put(ctx, "q", "b", []byte("12345"), events.Conditions{}); !schema.IsKind(err, schema.KindQuotaExceeded) {
		t.Fatalf("11 bytes over a 10-byte quota: want QuotaExceeded, got %v", err)
	}
	if _, err := c.put(ctx, "q", "a", []byte("1234567890"), events.Conditions{}); err != nil {
		t.Fatalf("an overwrite counts the new size only: %v", err)
	}
	if _, err := c.put(ctx, "q", "b", nil, events.Conditions{}); err != nil {
		t.Fatalf("an empty file within the count quota: %v", err)
	}
	if _, err := c.put(ctx, "q", "c", nil, events.Conditions{}); !schema.IsKind(err, schema.KindQuotaExceeded) {
		t.Fatalf("a third file over a 2-file quota: want QuotaExceeded, got %v", err)
	}
	if _, err := c.svc.CopyObject(ctx, c.o, events.CopyInput{From: schema.ObjectRef{Service: "q", Path: "a"}, Service: "q", Path: "d"}); !schema.IsKind(err, schema.KindQuotaExceeded) {
		t.Fatalf("a copy is checked too: want QuotaExceeded, got %v", err)
	}
	svc, err := c.state.Service(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if svc.Files != 2 || svc.Bytes != 10 {
		t.Fatalf("usage after refused writes: files %d bytes %d", svc.Files, svc.Bytes)
	}
}

func TestService_CopyAndMeta(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{InlineMax: 8})
	ctx := context.Background()
	c.service(t, "src")
	c.service(t, "dst")
	for _, body := range [][]byte{[]byte("inline"), bytes.Repeat([]byte("z"), 64)} {
		name := fmt.Sprintf("f%d", len(body))
		if _, err := c.put(ctx, "src", name, body, events.Conditions{}); err != nil {
			t.Fatal(err)
		}
		v, err := c.svc.CopyObject(ctx, c.o, events.CopyInput{From: schema.ObjectRef{Service: "src", Path: name}, Service: "dst", Path: "copy/" + name})
		if err != nil {
			t.Fatal(err)
		}
		if v.CopiedFrom == nil || v.CopiedFrom.Path != name || v.Op != schema.OpCopy {
			t.Fatalf("copy version: %+v", v)
		}
		if got := readAll(t, c, v); !bytes.Equal(got, body) {
			t.Fatalf("copy reads %q", got)
		}
		m, err := c.svc.UpdateMeta(ctx, c.o, events.MetaInput{Service: "dst", Path: "copy/" + name, ContentType: "x/y", Meta: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if m.ContentType != "x/y" || m.Meta["k"] != "v" || m.ETag != v.ETag || m.Op != schema.OpMeta {
			t.Fatalf("meta version: %+v", m)
		}
		if got := readAll(t, c, m); !bytes.Equal(got, body) {
			t.Fatalf("meta version reads %q", got)
		}
	}
	if _, err := c.svc.UpdateMeta(ctx, c.o, events.MetaInput{Service: "dst", Path: "absent"}); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("meta of an absent object: want NotFound, got %v", err)
	}
}

func TestService_Expiry(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	c := newCore(t, events.Options{Clock: clock})
	c.service(t, "exp")
	ctx := context.Background()
	v, err := c.svc.PutObject(ctx, c.o, events.PutInput{Service: "exp", Path: "soon", Body: strings.NewReader("x"), DeleteAt: now.Load() + 60})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.svc.ReapOnce(ctx); err != nil || n != 0 {
		t.Fatalf("nothing is due yet: %d, %v", n, err)
	}
	now.Add(61)
	if n, err := c.svc.ReapOnce(ctx); err != nil || n != 1 {
		t.Fatalf("one expiry due: %d, %v", n, err)
	}
	head, err := c.state.Head(ctx, "exp", "soon")
	if err != nil {
		t.Fatal(err)
	}
	if !head.Deleted || head.Op != schema.OpExpire {
		t.Fatalf("after the reaper the head is an expiry tombstone: %+v", head)
	}
	if n, err := c.svc.ReapOnce(ctx); err != nil || n != 0 {
		t.Fatalf("the schedule is empty after reaping: %d, %v", n, err)
	}
	_ = v
}

func TestService_KeysAreSealed(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	ctx := context.Background()
	c.service(t, "k")
	k, value, err := c.svc.CreateKey(ctx, c.o, events.KeyInput{Name: "reader", Access: map[string]string{"k": "read"}})
	if err != nil {
		t.Fatal(err)
	}
	last, err := c.log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= last; seq++ {
		ev, err := c.log.Get(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(ev)
		if bytes.Contains(raw, []byte(value)) {
			t.Fatalf("event %d (%s) contains the key value", seq, ev.Type)
		}
	}
	got, err := c.svc.KeySecret(k)
	if err != nil || got != value {
		t.Fatalf("KeySecret: %q, %v", got, err)
	}
	if err := c.svc.RevokeKey(ctx, c.o, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.state.KeyByLookup(ctx, events.LookupHash(value)); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("a revoked key is not found by value: %v", err)
	}
	if err := c.svc.RevokeKey(ctx, c.o, k.ID); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("revoking twice: want NotFound, got %v", err)
	}
}

func TestJetStream_Append(t *testing.T) {
	t.Parallel()
	c := newCore(t, events.Options{})
	ctx := context.Background()
	ev := &schema.Event{Type: schema.TypeObjectDelete, ID: "01J00000000000000000000000", Time: time.Unix(1, 0).UTC(),
		Account: schema.DefaultAccount, Service: "s", Path: "p", Data: json.RawMessage(`{"version":"v"}`)}
	s1, err := c.log.Append(ctx, ev, events.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.log.Append(ctx, ev, events.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	if s1 != s2 {
		t.Fatalf("a retried append (same event id) must be deduplicated: %d then %d", s1, s2)
	}
	ev2 := *ev
	ev2.ID = "01J00000000000000000000001"
	_, err = c.log.Append(ctx, &ev2, events.Expect{Filter: schema.ObjectFilter("s", "p"), FilterSeq: s1 - 1})
	if !errors.Is(err, events.ErrWrongLastSequence) {
		t.Fatalf("wrong expectation: want ErrWrongLastSequence, got %v", err)
	}
	s3, err := c.log.Append(ctx, &ev2, events.Expect{Filter: schema.ObjectFilter("s", "p"), FilterSeq: s1})
	if err != nil || s3 != s1+1 {
		t.Fatalf("right expectation: seq %d, %v", s3, err)
	}
	if got, err := c.log.LastSubjectSeq(ctx, schema.ObjectFilter("s", "p")); err != nil || got != s3 {
		t.Fatalf("LastSubjectSeq: %d, %v", got, err)
	}
	if got, err := c.log.LastSubjectSeq(ctx, schema.ObjectFilter("s", "other")); err != nil || got != 0 {
		t.Fatalf("LastSubjectSeq of an unused subject: %d, %v", got, err)
	}
}

// Blobs no version references are collected once older than the grace
// period; a blob a version references never is, even after its object
// is deleted (the version, and so the blob, stays in the history).
func TestService_CollectGarbage(t *testing.T) {
	t.Parallel()
	later := time.Now().Add(2 * time.Hour)
	c := newCore(t, events.Options{InlineMax: 4, Clock: func() time.Time { return later }})
	c.service(t, "gc")
	ctx := context.Background()
	v, err := c.put(ctx, "gc", "kept", []byte("referenced bytes"), events.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.DeleteObject(ctx, c.o, "gc", "kept", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	orphan, err := c.blobs.Put(ctx, strings.NewReader("nobody points here"), -1)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.svc.CollectGarbage(ctx, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("CollectGarbage: removed %d, %v; want the one orphan", n, err)
	}
	if _, err := c.blobs.Stat(ctx, orphan.SHA256); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("orphan still there: %v", err)
	}
	if _, err := c.blobs.Stat(ctx, v.Blob.SHA256); err != nil {
		t.Fatalf("a blob referenced by a version was collected: %v", err)
	}
	if n, err := c.svc.CollectGarbage(ctx, 3*time.Hour); err != nil || n != 0 {
		t.Fatalf("young blobs are never collected: removed %d, %v", n, err)
	}
}
