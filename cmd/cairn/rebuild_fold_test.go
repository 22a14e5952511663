package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// A log holding an event this version cannot fold: `cairn rebuild` fails
// naming its sequence and type and leaves projections.db as it was, and the
// server refuses to start on it instead of serving indexes that skipped it.
func TestRebuild_EventThatDoesNotFold(t *testing.T) {
	for name, bad := range map[string]struct{ typ, data string }{
		"malformed payload": {schema.TypeObjectPut, `{"version":"x","size":"big"}`},
		"unknown type":      {"service.frobnicated.v1", `{"id":"svc-bad"}`},
	} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t)
			env := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": ts.key}
			adminJSON(t, env, nil, "servicecreate", "--id", "svc-bad")
			ctx := context.Background()
			if err := ts.srv.Close(ctx); err != nil {
				t.Fatal(err)
			}
			seq := appendRaw(t, ts.dir, &schema.Event{Type: bad.typ, ID: "bad-event",
				Time: time.Now().UTC(), Actor: schema.Actor{KeyID: schema.ActorAdmin}, Account: schema.DefaultAccount,
				Service: "svc-bad", Path: "f", Data: json.RawMessage(bad.data)})
			db := filepath.Join(ts.dir, "projections.db")
			before, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}

			var out bytes.Buffer
			err = run(ctx, []string{"rebuild", "--data", ts.dir}, &out, io.Discard, envOf(nil))
			t.Logf("cairn: %v", err)
			var fe *projections.FoldError
			if !errors.As(err, &fe) || fe.Seq != seq || fe.Type != bad.typ {
				t.Fatalf("rebuild = %v, want the FoldError of event %d (%s)", err, seq, bad.typ)
			}
			for _, want := range []string{"event " + strconv.FormatUint(seq, 10), bad.typ, "projections.db is unchanged"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("rebuild error %q does not say %q", err, want)
				}
			}
			if strings.Contains(out.String(), "rebuilt") {
				t.Errorf("rebuild printed a summary although it failed:\n%s", out.String())
			}
			if after, err := os.ReadFile(db); err != nil || !bytes.Equal(after, before) {
				t.Errorf("the failed rebuild changed projections.db (err %v)", err)
			}

			// the server does not start past it either
			cfg := server.Default()
			cfg.Data, cfg.Listen, cfg.Name = ts.dir, "127.0.0.1:0", "cmd-test"
			octx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			srv, err := server.Open(octx, cfg, nil)
			if err == nil {
				srv.Close(ctx)
				t.Fatal("the server started on a log it cannot fold")
			}
			if !errors.As(err, &fe) || fe.Seq != seq {
				t.Fatalf("server start = %v, want the FoldError of event %d", err, seq)
			}
		})
	}
}

// appendRaw appends ev as it is to the log of the stopped server in dir
// (the core would refuse it) and returns its sequence.
func appendRaw(t *testing.T, dir string, ev *schema.Event) uint64 {
	t.Helper()
	ctx := context.Background()
	jl, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: dir, SyncAlways: true, Name: "cmd-test-append-" + filepath.Base(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer jl.Close()
	seq, err := jl.Append(ctx, ev, events.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}
