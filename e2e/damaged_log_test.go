package e2e

// A damaged log block (issue 16, finding 6): JetStream drops the records
// of a block that does not check out, so the log misses events in its
// middle. The server, rebuild and verify say which file and what to run;
// `cairn recover` (datadir.Recover) keeps every event before the damage.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events/datadir"
)

func TestDamagedLog_RefusedAndRecovered(t *testing.T) {
	e := StartLocal(t, "damages its log's files")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sid := e.WithService(t)
	body := func(i int) []byte {
		b := []byte(fmt.Sprintf("object %d: ", i))
		if i%40 == 0 { // a blob now and then
			return append(b, bytes.Repeat([]byte{byte('A' + i%26)}, 80<<10)...)
		}
		return append(b, bytes.Repeat([]byte{byte('a' + i%26)}, 60<<10)...) // inline: two blocks of 8 MiB
	}
	seqOf := map[string]uint64{}
	for i := range 160 {
		p := fmt.Sprintf("o-%03d", i)
		e.Upload(t, e.AdminKey, sid, p, body(i), nil)
		last, err := e.Srv.Log.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seqOf[p] = last
	}
	cfg := e.Config
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	blks := eventBlocks(t, e.Dir)
	if len(blks) < 2 {
		t.Fatalf("%d block files: the test needs a block in the middle", len(blks))
	}
	b, err := os.ReadFile(blks[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(blks[0], int64(len(b)/2)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(filepath.Dir(blks[0]), "index.db")); err != nil {
		t.Fatal(err)
	}

	// serve, rebuild and verify refuse it, naming the file and the way out
	wantDamage := func(what string, err error) *datadir.DamageError {
		t.Helper()
		var d *datadir.DamageError
		if !errors.As(err, &d) {
			t.Fatalf("%s: %v, want a DamageError", what, err)
		}
		msg := err.Error()
		for _, s := range []string{blks[0], "cairn recover --data " + e.Dir, fmt.Sprintf("the first, %d,", d.First())} {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: the message does not say %q: %s", what, s, msg)
			}
		}
		return d
	}
	_, err = server.Open(ctx, cfg, nil)
	d := wantDamage("serve", err)
	t.Logf("serve: %v", err)
	if d.First() < 2 || d.First() > d.State.Last {
		t.Fatalf("first missing event %d of %d", d.First(), d.State.Last)
	}
	before, err := os.ReadFile(filepath.Join(e.Dir, datadir.ProjectionsFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = datadir.Rebuild(ctx, e.Dir, nil)
	wantDamage("rebuild", err)
	if after, _ := os.ReadFile(filepath.Join(e.Dir, datadir.ProjectionsFile)); !bytes.Equal(before, after) {
		t.Error("rebuild of a damaged log changed projections.db")
	}
	rep, err := datadir.VerifyDir(ctx, e.Dir, nil)
	wantDamage("verify", err)
	if rep == nil || rep.OK() || rep.Breaks[0].Seq != d.First() {
		t.Fatalf("verify report %+v, want breaks from %d", rep, d.First())
	}
	_, err = datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: e.Dir, Out: t.TempDir(), Seq: d.State.Last})
	wantDamage("rebuild --until past the damage", err)
	// the moment just before the damage can be looked at, read-only
	pitDir := filepath.Join(t.TempDir(), "pit")
	if _, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{Source: e.Dir, Out: pitDir, Seq: d.First() - 1}); err != nil {
		t.Fatalf("rebuild --until %d, before the damage: %v", d.First()-1, err)
	}
	pcfg := cfg
	pcfg.Data, pcfg.ReadOnly, pcfg.Name = pitDir, true, cfg.Name+"-pit"
	ro := startIn(t, pcfg)
	if r := natGet(t, ro, ro.AdminKey, sid, "o-000"); r.Status != http.StatusOK || !bytes.Equal(r.Body, body(0)) {
		t.Errorf("read-only server of the moment before the damage: o-000 answers %d", r.Status)
	}

	// recover keeps every event before the damage, in a new directory
	out := filepath.Join(t.TempDir(), "recovered")
	st, err := datadir.Recover(ctx, datadir.RecoverOptions{Source: e.Dir, Out: out})
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if st.Kept != d.First()-1 || st.Missing != d.State.Missing {
		t.Fatalf("recover kept %d (missing %d), want %d (missing %d)", st.Kept, st.Missing, d.First()-1, d.State.Missing)
	}
	if rep, err := datadir.VerifyDir(ctx, out, nil); err != nil || !rep.OK() || rep.LastSeq != st.Kept {
		t.Fatalf("verify of the recovered directory: %v %+v", err, rep)
	}
	cfg.Data, cfg.Name = out, cfg.Name+"-recovered"
	e = startIn(t, cfg)
	kept := 0
	for i := range 160 {
		p := fmt.Sprintf("o-%03d", i)
		r := natGet(t, e, e.AdminKey, sid, p)
		switch {
		case seqOf[p] <= st.Kept:
			if r.Status != http.StatusOK || !bytes.Equal(r.Body, body(i)) {
				t.Errorf("%s (event %d, kept): %d, %d bytes", p, seqOf[p], r.Status, len(r.Body))
			}
			kept++
		case r.Status != http.StatusNotFound:
			t.Errorf("%s (event %d, after the damage): %d, want 404", p, seqOf[p], r.Status)
		}
	}
	if kept == 0 {
		t.Fatal("no object was before the damage")
	}
	e.Upload(t, e.AdminKey, sid, "after-recovery", []byte("new"), nil)
	if r := natGet(t, e, e.AdminKey, sid, "after-recovery"); r.Status != http.StatusOK || string(r.Body) != "new" {
		t.Fatalf("a new upload after recovery: %d %q", r.Status, r.Body)
	}
	t.Logf("recovered %d of %d events; %d objects kept", st.Kept, st.LogLast, kept)
}

// A record damaged in place (one byte of an event changed inside its
// block, the block's index left as it was): JetStream still counts it and
// only a read finds it. Verify, rebuild and recover read the whole log and
// name it; a server that must fold it (its projections gone) refuses to
// start, naming the block; recover keeps every event before it.
func TestDamagedLog_RecordChangedInPlace(t *testing.T) {
	e := StartLocal(t, "damages its log's files")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sid := e.WithService(t)
	seqOf := map[string]uint64{}
	for i := range 30 {
		p := fmt.Sprintf("in-place-%03d", i)
		e.Upload(t, e.AdminKey, sid, p, []byte(p), nil)
		last, err := e.Srv.Log.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seqOf[p] = last
	}
	cfg := e.Config
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	victim := "in-place-015"
	var block string
	for _, p := range eventBlocks(t, e.Dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(b, []byte(`"path":"`+victim+`"`)); i >= 0 {
			b[i+len(`"path":"in-place-0`)] = '9' // in-place-015 -> in-place-095
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			block = p
			break
		}
	}
	if block == "" {
		t.Fatal("no block file holds the event")
	}
	want := func(what string, err error) *datadir.DamageError {
		t.Helper()
		var d *datadir.DamageError
		if !errors.As(err, &d) {
			t.Fatalf("%s: %v, want a DamageError", what, err)
		}
		if d.First() != seqOf[victim] {
			t.Fatalf("%s: the first missing event is %d, want %d (%s)", what, d.First(), seqOf[victim], victim)
		}
		for _, s := range []string{block, "cairn recover --data " + e.Dir} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: the message does not say %q: %v", what, s, err)
			}
		}
		return d
	}
	rep, err := datadir.VerifyDir(ctx, e.Dir, nil)
	want("verify", err)
	if rep == nil || rep.OK() {
		t.Fatalf("verify report %+v, want a break", rep)
	}
	_, err = datadir.Rebuild(ctx, e.Dir, nil)
	want("rebuild", err)

	// a server whose projections must fold the damaged event will not start
	if err := os.Remove(filepath.Join(e.Dir, datadir.ProjectionsFile)); err != nil {
		t.Fatal(err)
	}
	_, err = server.Open(ctx, cfg, nil)
	want("serve with projections to rebuild", err)

	out := filepath.Join(t.TempDir(), "recovered")
	st, err := datadir.Recover(ctx, datadir.RecoverOptions{Source: e.Dir, Out: out})
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if st.Kept != seqOf[victim]-1 {
		t.Fatalf("recover kept %d events, want %d", st.Kept, seqOf[victim]-1)
	}
	cfg.Data, cfg.Name = out, cfg.Name+"-recovered"
	r := startIn(t, cfg)
	for i := range 30 {
		p := fmt.Sprintf("in-place-%03d", i)
		got := natGet(t, r, r.AdminKey, sid, p)
		if kept := seqOf[p] <= st.Kept; kept != (got.Status == http.StatusOK) {
			t.Errorf("%s (event %d, kept %v): %d", p, seqOf[p], kept, got.Status)
		}
	}
}
