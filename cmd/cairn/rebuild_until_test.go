package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	untilSummaryRe = regexp.MustCompile(`(?m)^rebuilt (\S+) as it was at (\S+): (\d+) events folded \(up to sequence (\d+), (\S+)\) in \S+, digest ([0-9a-f]{64})$`)
	readOnlyLineRe = regexp.MustCompile(`(?m)^READ-ONLY: serving (.+) as of sequence (\d+), (\S+); every change is refused and nothing is appended$`)
)

func TestRebuildUntil_CLI(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	env := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": ts.key}
	adminJSON(t, env, nil, "servicecreate", "--id", "svc-u")
	upload := func(path, body string) {
		t.Helper()
		if st, b := httpStatus(t, http.MethodPut, ts.url+"/uploadfile?sid=svc-u&path="+path, ts.key, strings.NewReader(body)); st != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", path, st, b)
		}
	}
	upload("a.txt", "before")
	upload("big.bin", strings.Repeat("b", 100<<10))
	// the state now: the newest event and the projections' digest there
	// (read again if a checkpoint lands in between)
	var mid uint64
	var digest string
	for {
		last, err := ts.srv.Log.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.srv.State.Wait(ctx, last); err != nil {
			t.Fatal(err)
		}
		if digest, err = ts.srv.State.Digest(); err != nil {
			t.Fatal(err)
		}
		if mid, err = ts.srv.Log.LastSeq(ctx); err != nil {
			t.Fatal(err)
		}
		if mid == last && ts.srv.State.Applied() == last {
			break
		}
	}
	midEv, err := ts.srv.Log.Get(ctx, mid)
	if err != nil {
		t.Fatal(err)
	}
	upload("a.txt", "after")
	upload("later.txt", "later")
	if err := ts.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// --until SEQ
	out := filepath.Join(t.TempDir(), "pit")
	var buf bytes.Buffer
	if err := run(ctx, []string{"rebuild", "--data", ts.dir, "--until", strconv.FormatUint(mid, 10), "--out", out}, &buf, io.Discard, envOf(nil)); err != nil {
		t.Fatalf("rebuild --until: %v\n%s", err, buf.String())
	}
	m := untilSummaryRe.FindStringSubmatch(buf.String())
	if m == nil {
		t.Fatalf("no summary line:\n%s", buf.String())
	}
	if m[3] != strconv.FormatUint(mid, 10) || m[4] != m[3] || m[6] != digest {
		t.Errorf("summary %q: want %d events and the live digest %s", m[0], mid, digest)
	}
	for _, want := range []string{"applied " + m[3] + " of " + m[3] + " events", "hard-linked", "serve it with: cairn serve --read-only --data " + out} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}

	// --until TIME: the moment of event mid gives the same state
	buf.Reset()
	out2 := filepath.Join(t.TempDir(), "pit-time")
	if err := run(ctx, []string{"rebuild", "--data", ts.dir, "--until", midEv.Time.Format(time.RFC3339Nano), "--out", out2}, &buf, io.Discard, envOf(nil)); err != nil {
		t.Fatalf("rebuild --until TIME: %v\n%s", err, buf.String())
	}
	if m := untilSummaryRe.FindStringSubmatch(buf.String()); m == nil || m[4] != strconv.FormatUint(mid, 10) || m[6] != digest {
		t.Errorf("rebuild --until TIME:\n%s\nwant sequence %d, digest %s", buf.String(), mid, digest)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--until", "3"}, "--until and --out go together"},
		{[]string{"--out", filepath.Join(t.TempDir(), "x")}, "--until and --out go together"},
		{[]string{"--until", "yesterday", "--out", filepath.Join(t.TempDir(), "x")}, "RFC 3339"},
		{[]string{"--until", "0", "--out", filepath.Join(t.TempDir(), "x")}, "start at 1"},
		{[]string{"--until", "1", "--out", out}, "not empty"},
	} {
		err := run(ctx, append([]string{"rebuild", "--data", ts.dir}, c.args...), io.Discard, io.Discard, envOf(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rebuild %v: %v, want %q", c.args, err, c.want)
		}
	}

	// serve --read-only says so and where it stands, serves the moment
	// and refuses changes
	s := startServe(t, nil, "--read-only", "--data", out, "--listen", "127.0.0.1:0")
	ro := readOnlyLineRe.FindStringSubmatch(s.out.String())
	if ro == nil || ro[1] != out || ro[2] != strconv.FormatUint(mid, 10) {
		t.Fatalf("serve --read-only printed:\n%s\nwant a READ-ONLY line at sequence %d", s.out.String(), mid)
	}
	if st, b := httpStatus(t, http.MethodGet, s.url+"/getfile?sid=svc-u&path=a.txt", ts.key, nil); st != http.StatusOK || string(b) != "before" {
		t.Errorf("getfile a.txt: %d %q, want 200 \"before\"", st, b)
	}
	if st, _ := httpStatus(t, http.MethodGet, s.url+"/getfile?sid=svc-u&path=later.txt", ts.key, nil); st != http.StatusNotFound {
		t.Errorf("getfile later.txt: %d, want 404", st)
	}
	if st, b := httpStatus(t, http.MethodPut, s.url+"/uploadfile?sid=svc-u&path=new.txt", ts.key, strings.NewReader("x")); st != http.StatusForbidden || !strings.Contains(string(b), "read-only") {
		t.Errorf("upload to a read-only server: %d %s, want 403 saying read-only", st, b)
	}
	s.stop(t)

	// a plain serve refuses the copy
	err = run(ctx, []string{"serve", "--data", out, "--listen", "127.0.0.1:0"}, io.Discard, io.Discard, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "--read-only") {
		t.Errorf("serve of a point-in-time copy without --read-only: %v", err)
	}
}
