package events_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// pitFile is a file as the model knows it.
type pitFile struct {
	body []byte
	meta string
}

// pitState reads a service's files at a moment (nil: now) as the model's
// shape: path -> bytes and metadata.
func pitState(t *testing.T, c *core, sid string, at *projections.Moment) map[string]pitFile {
	t.Helper()
	ctx := context.Background()
	o := projections.ListOptions{Limit: 10000, Now: c.svc.Now()}
	if at != nil {
		if at.SyncID == 0 {
			return map[string]pitFile{}
		}
		o.AsOf, o.AsOfTime = at.SyncID, at.Time
	}
	page, err := c.state.List(ctx, sid, o)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pitFile{}
	for _, v := range page.Files {
		rd, err := c.svc.Open(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rd)
		rd.Close()
		out[v.Path] = pitFile{body: b, meta: v.Meta["m"]}
	}
	return out
}

func pitEqual(a, b map[string]pitFile) bool {
	return maps.EqualFunc(a, b, func(x, y pitFile) bool { return bytes.Equal(x.body, y.body) && x.meta == y.meta })
}

func pitKeys(m map[string]pitFile) []string { return slices.Sorted(maps.Keys(m)) }

// A random history of uploads, overwrites, deletes, copies and metadata
// changes, with a model of the service after every step: for many random
// moments, as-of listings and contents, a restore and a fork each equal
// the model at that moment.
func TestService_PointInTimeRandom(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	c := newCore(t, events.Options{InlineMax: 256})
	c.service(t, "pit")
	paths := []string{"a", "b", "dir/c", "dir/d", "e/f/g", "h"}
	model := map[string]pitFile{}
	type step struct {
		state map[string]pitFile
		at    projections.Moment
	}
	var steps []step
	for i := 0; i < 120; i++ {
		p := paths[rng.IntN(len(paths))]
		var err error
		switch op := rng.IntN(10); {
		case op < 4: // upload, sometimes large (the blobstore)
			body := bytes.Repeat([]byte(fmt.Sprintf("%d:%s;", i, p)), 1+rng.IntN(60))
			meta := fmt.Sprint("v", i)
			_, err = c.svc.PutObject(ctx, c.o, events.PutInput{Service: "pit", Path: p, Body: bytes.NewReader(body),
				Meta: map[string]string{"m": meta}})
			model[p] = pitFile{body: body, meta: meta}
		case op < 6: // delete
			if _, ok := model[p]; !ok {
				continue
			}
			_, err = c.svc.DeleteObject(ctx, c.o, "pit", p, events.Conditions{})
			delete(model, p)
		case op < 8: // copy
			src := paths[rng.IntN(len(paths))]
			f, ok := model[src]
			if !ok || src == p {
				continue
			}
			_, err = c.svc.CopyObject(ctx, c.o, events.CopyInput{From: schema.ObjectRef{Service: "pit", Path: src}, Service: "pit", Path: p})
			model[p] = f
		default: // metadata only
			f, ok := model[p]
			if !ok {
				continue
			}
			meta := fmt.Sprint("meta", i)
			_, err = c.svc.UpdateMeta(ctx, c.o, events.MetaInput{Service: "pit", Path: p, ContentType: "text/plain",
				Meta: map[string]string{"m": meta}})
			model[p] = pitFile{body: f.body, meta: meta}
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		svc, _ := c.state.Service(ctx, "pit")
		at, err := c.state.MomentOf(ctx, svc, fmt.Sprintf("sync:%d", svc.LastSyncID))
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, step{state: maps.Clone(model), at: at})
	}
	svc, _ := c.state.Service(ctx, "pit")
	// as-of reads by sync id and by time
	for n := 0; n < 25; n++ {
		s := steps[rng.IntN(len(steps))]
		if got := pitState(t, c, "pit", &s.at); !pitEqual(got, s.state) {
			t.Fatalf("asof sync:%d: %v, want %v", s.at.SyncID, pitKeys(got), pitKeys(s.state))
		}
		byTime, err := c.state.MomentOf(ctx, svc, s.at.Time.Format(time.RFC3339Nano))
		if err != nil || byTime.SyncID != s.at.SyncID {
			t.Fatalf("asof %s: sync id %d %v, want %d", s.at.Time, byTime.SyncID, err, s.at.SyncID)
		}
	}
	// forks of random moments
	for n := 0; n < 4; n++ {
		s := steps[rng.IntN(len(steps))]
		into := fmt.Sprintf("fork%d", n)
		if _, err := c.svc.Restore(ctx, c.o, events.RestoreInput{Service: "pit", At: s.at, Into: into}); err != nil {
			t.Fatal(err)
		}
		if got := pitState(t, c, into, nil); !pitEqual(got, s.state) {
			t.Fatalf("fork of sync:%d: %v, want %v", s.at.SyncID, pitKeys(got), pitKeys(s.state))
		}
	}
	// restores in place, one after another (each is a new moment itself)
	for n := 0; n < 4; n++ {
		s := steps[rng.IntN(len(steps))]
		dry, err := c.svc.Restore(ctx, c.o, events.RestoreInput{Service: "pit", At: s.at, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		before, _ := c.state.Service(ctx, "pit")
		if after, _ := c.state.Service(ctx, "pit"); after.LastSyncID != before.LastSyncID {
			t.Fatal("a dry run changed the service")
		}
		acts, err := c.svc.Restore(ctx, c.o, events.RestoreInput{Service: "pit", At: s.at})
		if err != nil {
			t.Fatal(err)
		}
		if len(acts) != len(dry) {
			t.Fatalf("restore did %d actions, its dry run said %d", len(acts), len(dry))
		}
		if got := pitState(t, c, "pit", nil); !pitEqual(got, s.state) {
			t.Fatalf("restore to sync:%d: %v, want %v", s.at.SyncID, pitKeys(got), pitKeys(s.state))
		}
		// the history before the restore is all still there
		if got := pitState(t, c, "pit", &steps[len(steps)-1].at); !pitEqual(got, steps[len(steps)-1].state) {
			t.Fatal("a restore changed the past")
		}
	}
}

// A prefix restore and "only deletes" touch only what they say.
func TestService_RestoreScopes(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	c.service(t, "r")
	put := func(p, body string) {
		if _, err := c.put(ctx, "r", p, []byte(body), events.Conditions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("keep/a", "1")
	put("keep/b", "1")
	put("other/x", "1")
	svc, _ := c.state.Service(ctx, "r")
	at, err := c.state.MomentOf(ctx, svc, fmt.Sprintf("sync:%d", svc.LastSyncID))
	if err != nil {
		t.Fatal(err)
	}
	put("keep/a", "2")                                                                          // changed since
	if _, err := c.svc.DeleteObject(ctx, c.o, "r", "keep/b", events.Conditions{}); err != nil { // deleted since
		t.Fatal(err)
	}
	put("keep/new", "3") // added since
	put("other/x", "2")
	if _, err := c.svc.Restore(ctx, c.o, events.RestoreInput{Service: "r", At: at, Prefix: "keep/", OnlyDeletes: true}); err != nil {
		t.Fatal(err)
	}
	got := pitState(t, c, "r", nil)
	want := map[string]string{"keep/a": "2", "keep/b": "1", "keep/new": "3", "other/x": "2"}
	for p, body := range want {
		if string(got[p].body) != body {
			t.Fatalf("after restoring deletes under keep/: %s = %q, want %q", p, got[p].body, body)
		}
	}
	if _, err := c.svc.Restore(ctx, c.o, events.RestoreInput{Service: "r", At: at, Prefix: "keep/"}); err != nil {
		t.Fatal(err)
	}
	got = pitState(t, c, "r", nil)
	if string(got["keep/a"].body) != "1" || got["keep/new"].body != nil || string(got["other/x"].body) != "2" {
		t.Fatalf("after restoring keep/: %v", got)
	}
}

// Retention purges versions superseded longer ago than keep_versions, by
// events; as-of reads before the horizon are refused, naming it.
func TestService_Retention(t *testing.T) {
	ctx := context.Background()
	clk := schematest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := newCore(t, events.Options{Clock: clk.Now})
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "ret",
		Settings: schema.ServiceSettings{KeepVersions: "24h"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.put(ctx, "ret", "f", []byte(fmt.Sprint(i)), events.Conditions{}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
	}
	if n, err := c.svc.RetainOnce(ctx); err != nil || n != 0 {
		t.Fatalf("retention within keep_versions purged %d, %v", n, err)
	}
	svc, _ := c.state.Service(ctx, "ret")
	early, err := c.state.MomentOf(ctx, svc, "sync:1")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(25 * time.Hour)
	n, err := c.svc.RetainOnce(ctx)
	if err != nil || n != 2 {
		t.Fatalf("retention purged %d, %v; want the 2 superseded versions", n, err)
	}
	vs, _ := c.state.Versions(ctx, "ret", "f", 0)
	if len(vs) != 1 || vs[0].SyncID != 3 {
		t.Fatalf("versions after retention: %d", len(vs))
	}
	svc, _ = c.state.Service(ctx, "ret")
	if svc.Horizon.IsZero() {
		t.Fatal("no horizon recorded")
	}
	if _, err := c.state.MomentOf(ctx, svc, early.Time.Format(time.RFC3339Nano)); !schema.IsKind(err, schema.KindHistoryTruncated) {
		t.Fatalf("asof before the horizon: %v, want history_truncated", err)
	}
	if _, err := c.state.MomentOf(ctx, svc, clk.Now().Format(time.RFC3339Nano)); err != nil {
		t.Fatalf("asof now: %v", err)
	}
	if ok, err := c.state.BlobReferenced(ctx, vs[0].Blob.SHA256); err != nil || vs[0].Blob.InSeq == 0 && !ok {
		t.Fatalf("the kept version's blob: %v %v", ok, err)
	}
}
