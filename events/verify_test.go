package events

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// chainedCore writes a small log: puts (inline and in the blobstore), a
// copy, a delete, a checkpoint, more puts, another checkpoint.
func chainedCore(t *testing.T) (*JetStream, *blobstore.FS, ed25519.PrivateKey, *Core) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	l, err := OpenJetStream(ctx, NATSOptions{Dir: dir, Name: fmt.Sprintf("verify-%s", strings.ReplaceAll(t.Name(), "/", "-"))})
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
	sealer, _ := NewSealer(bytes.Repeat([]byte{1}, 32))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Run(runCtx, l) }()
	t.Cleanup(func() { cancel(); <-done; st.Close(); l.Close() })
	s := NewCore(l, bs, st, sealer, Options{InlineMax: 1024})
	o := Origin{Actor: schema.Actor{KeyID: "TESTKEY"}}
	if err := s.EnsureAccount(ctx, schema.DefaultAccount, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateService(ctx, o, ServiceInput{ID: "svc"}); err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	put := func(p string, n int) {
		if _, err := s.PutObject(ctx, o, PutInput{Service: "svc", Path: p, Body: bytes.NewReader(bytes.Repeat([]byte(p), n))}); err != nil {
			t.Fatal(err)
		}
	}
	put("small", 10)
	put("large", 1000) // 5,000 bytes: in the blobstore
	if _, err := s.CopyObject(ctx, o, CopyInput{From: schema.ObjectRef{Service: "svc", Path: "large"}, Service: "svc", Path: "copy"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteObject(ctx, o, "svc", "small", Conditions{}); err != nil {
		t.Fatal(err)
	}
	if seq, err := s.Checkpoint(ctx, key); err != nil || seq == 0 {
		t.Fatalf("checkpoint: %d %v", seq, err)
	}
	if seq, err := s.Checkpoint(ctx, key); err != nil || seq != 0 {
		t.Fatalf("a second checkpoint of an idle log: %d %v", seq, err)
	}
	put("after", 700)
	put("more", 3)
	if _, err := s.Checkpoint(ctx, key); err != nil {
		t.Fatal(err)
	}
	return l, bs, key, s
}

// copyLog writes raw events into a fresh stream (deletes allowed) as
// they are, through edit, with their chain headers: a log tampered with
// on disk.
func copyLog(t *testing.T, src *JetStream, edit func([]*RawEvent) []*RawEvent) (*JetStream, jetstream.Stream) {
	t.Helper()
	ctx := context.Background()
	last, _ := src.LastSeq(ctx)
	var raws []*RawEvent
	for seq := uint64(1); seq <= last; seq++ {
		r, err := src.Raw(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, r)
	}
	raws = edit(raws)
	l, err := OpenJetStream(ctx, NATSOptions{Dir: t.TempDir(), Name: "tampered-" + strings.ReplaceAll(t.Name(), "/", "-")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	// a stream like CAIRN that allows deletes, under another name
	st, err := l.js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		m := &nats.Msg{Subject: "t." + r.Subject, Data: r.Data, Header: nats.Header{}}
		m.Header.Set(ChainHeader, r.Chain)
		if _, err := l.js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	l.stream = st
	return l, st
}

func verifyBreaks(t *testing.T, src VerifySource, bs *blobstore.FS, pub ed25519.PublicKey) []Break {
	t.Helper()
	rep, err := Verify(context.Background(), src, StoreBlobs{Store: bs}, pub)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Breaks
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	l, bs, key, _ := chainedCore(t)
	pub := key.Public().(ed25519.PublicKey)
	rep, err := Verify(ctx, l, StoreBlobs{Store: bs}, pub)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := l.LastSeq(ctx)
	if !rep.OK() || rep.Events != last || rep.Checkpoints != 2 || rep.LastSigned != last-1 || rep.Blobs != 2 || rep.Unchained != 0 {
		t.Fatalf("untouched log: %+v", rep)
	}
	// the large object's blob, and the newest event that references it
	// (its copy)
	var digest string
	blobSeq := uint64(0)
	for seq := uint64(1); seq <= last; seq++ {
		ev, _ := l.Get(ctx, seq)
		var p schema.ObjectPut
		if ev.Path == "large" && ev.Decode(&p) == nil {
			digest = p.Blob.SHA256
		}
		if ev.Path == "copy" {
			blobSeq = seq
		}
	}

	wantFirst := func(t *testing.T, breaks []Break, seq uint64, what string) {
		t.Helper()
		if len(breaks) == 0 || breaks[0].Seq != seq || !strings.Contains(breaks[0].What, what) {
			t.Fatalf("breaks %+v; want the first at event %d: %q", breaks, seq, what)
		}
	}
	t.Run("changed", func(t *testing.T) {
		tl, _ := copyLog(t, l, func(rs []*RawEvent) []*RawEvent {
			rs[2].Data = bytes.Replace(rs[2].Data, []byte(`"svc"`), []byte(`"SVC"`), 1)
			return rs
		})
		wantFirst(t, verifyBreaks(t, tl, bs, pub), 3, "changed")
	})
	t.Run("reordered", func(t *testing.T) {
		tl, _ := copyLog(t, l, func(rs []*RawEvent) []*RawEvent {
			rs[3], rs[4] = rs[4], rs[3]
			return rs
		})
		wantFirst(t, verifyBreaks(t, tl, bs, pub), 4, "moved")
	})
	t.Run("removed", func(t *testing.T) {
		tl, _ := copyLog(t, l, func(rs []*RawEvent) []*RawEvent { return append(rs[:4], rs[5:]...) })
		wantFirst(t, verifyBreaks(t, tl, bs, pub), 5, "changed, replaced or moved")
	})
	t.Run("deleted", func(t *testing.T) {
		tl, st := copyLog(t, l, func(rs []*RawEvent) []*RawEvent { return rs })
		if err := st.DeleteMsg(ctx, 5); err != nil {
			t.Fatal(err)
		}
		wantFirst(t, verifyBreaks(t, tl, bs, pub), 5, "missing")
	})
	t.Run("rewritten with a new chain", func(t *testing.T) {
		// whoever rewrites an event and recomputes every link after it
		// still cannot sign the checkpoint
		tl, _ := copyLog(t, l, func(rs []*RawEvent) []*RawEvent {
			rs[2].Data = bytes.Replace(rs[2].Data, []byte(`"svc"`), []byte(`"SVC"`), 1)
			prev := zeroLink
			for _, r := range rs {
				c := Link(prev, r.Data)
				r.Chain = fmt.Sprintf("%x", c)
				prev = c
			}
			return rs
		})
		breaks := verifyBreaks(t, tl, bs, pub)
		if len(breaks) == 0 || !strings.Contains(breaks[0].What, "rewritten") {
			t.Fatalf("breaks %+v; want a checkpoint that no longer matches", breaks)
		}
	})
	t.Run("another key", func(t *testing.T) {
		other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public().(ed25519.PublicKey)
		breaks := verifyBreaks(t, l, bs, other)
		if len(breaks) != 2 || !strings.Contains(breaks[0].What, "another key") {
			t.Fatalf("breaks %+v; want both checkpoints signed by another key", breaks)
		}
	})
	t.Run("blob missing or changed", func(t *testing.T) {
		path := blobFile(t, bs, digest)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(path, 0o600)
		if err := os.WriteFile(path, append([]byte("x"), orig[1:]...), 0o600); err != nil {
			t.Fatal(err)
		}
		wantFirst(t, verifyBreaks(t, l, bs, pub), blobSeq, "does not match its digest")
		if err := bs.Delete(ctx, digest); err != nil {
			t.Fatal(err)
		}
		wantFirst(t, verifyBreaks(t, l, bs, pub), blobSeq, "is missing")
	})
}

// blobFile finds the file holding a blob under the store's root.
func blobFile(t *testing.T, bs *blobstore.FS, digest string) string {
	t.Helper()
	var found string
	_ = filepath.WalkDir(bs.Root(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), digest) {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no file for blob %s", digest)
	}
	return found
}

// Racing conditional writes (whose expectations fail inside a pipelined
// batch) and a retried append (a duplicate id) leave the chain whole.
func TestAppender_ChainUnderRaces(t *testing.T) {
	ctx := context.Background()
	l, bs, _, s := chainedCore(t)
	o := Origin{Actor: schema.Actor{KeyID: "TESTKEY"}}
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		go func() {
			// 16 paths, 4 writers each: one wins each path
			_, err := s.PutObject(ctx, o, PutInput{Service: "svc", Path: fmt.Sprintf("race/%d", i%16),
				Body: bytes.NewReader([]byte("x")), Cond: Conditions{IfNoneMatch: "*"}})
			errs <- err
		}()
	}
	won := 0
	for i := 0; i < 64; i++ {
		switch err := <-errs; {
		case err == nil:
			won++
		case !schema.IsKind(err, schema.KindPreconditionFailed):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 16 {
		t.Fatalf("%d conditional writes won, want 16", won)
	}
	ev := &schema.Event{Type: schema.TypeAccountCreated, ID: "01JD0000000000000000000077", Time: time.Now().UTC(),
		Account: "dup", Data: []byte(`{"id":"dup","name":"dup"}`)}
	first, err := l.Append(ctx, ev, Expect{})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := l.Append(ctx, ev, Expect{}); err != nil || again != first {
		t.Fatalf("a retried append: %d %v, want %d", again, err, first)
	}
	if _, err := s.PutObject(ctx, o, PutInput{Service: "svc", Path: "after-dup", Body: bytes.NewReader([]byte("y"))}); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(ctx, l, StoreBlobs{Store: bs}, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after races: %+v %v", rep, err)
	}
}

// A large object version that another manifest references keeps its
// segments' blobs in verify's model after it leaves its history (purged),
// as the projections keep it pinned; once the referencing manifest goes
// too, they are no longer expected.
func TestBlobRefs_PinnedByReference(t *testing.T) {
	seg := strings.Repeat("a", 64)
	b := newBlobRefs()
	seq := uint64(0)
	add := func(typ, path string, payload any) {
		t.Helper()
		data, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		seq++
		b.fold(&schema.Event{Type: typ, Service: "svc", Path: path, Data: data, Seq: seq})
	}
	add(schema.TypeObjectPut, "s", schema.ObjectPut{Version: "v1", Blob: schema.BlobRef{SHA256: seg}})
	add(schema.TypeObjectPut, "a", schema.ObjectPut{Version: "v2",
		Segments: []schema.Segment{{Service: "svc", Path: "s", Version: "v1", Size: 1, Blob: schema.BlobRef{SHA256: seg}}}})
	add(schema.TypeObjectPut, "b", schema.ObjectPut{Version: "v3",
		Segments: []schema.Segment{{Service: "svc", Path: "a", Version: "v2", Size: 1, Manifest: true}}})
	add(schema.TypeObjectPurged, "s", schema.ObjectPurged{Version: "p1", Purged: "v1"})
	add(schema.TypeObjectPurged, "a", schema.ObjectPurged{Version: "p2", Purged: "v2"})
	if got := b.sorted(); len(got) != 1 || got[0] != seg {
		t.Fatalf("referenced blobs after the referenced versions were purged: %v, want [%s]", got, seg)
	}
	add(schema.TypeObjectPurged, "b", schema.ObjectPurged{Version: "p3", Purged: "v3"})
	if got := b.sorted(); len(got) != 0 {
		t.Fatalf("referenced blobs after the manifest was purged too: %v, want none", got)
	}
}

// An empty object (a DLO manifest, a folder marker, an empty file) has no
// blob to check: verify passes on a log holding one (issue 18 found it
// reported the SHA-256 of empty input as a missing blob).
func TestVerify_EmptyObjects(t *testing.T) {
	ctx := context.Background()
	l, bs, _, s := chainedCore(t)
	o := Origin{Actor: schema.Actor{KeyID: "TESTKEY"}}
	if _, err := s.PutObject(ctx, o, PutInput{Service: "svc", Path: "empty", Body: bytes.NewReader(nil)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutObject(ctx, o, PutInput{Service: "svc", Path: "dir/", Body: bytes.NewReader([]byte{})}); err != nil {
		t.Fatal(err)
	}
	if breaks := verifyBreaks(t, l, bs, nil); len(breaks) != 0 {
		t.Fatalf("verify of a log with empty objects: %+v, want no break", breaks)
	}
}
