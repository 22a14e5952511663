package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// feedServer is an in-process server on a test clock with a service, a
// key that writes to it and one that only reads it.
type feedServer struct {
	srv           *server.Server
	url, admin    string
	clk           *schematest.Clock
	sid           string
	writer        adminKeyJSON
	writerValue   string
	readerValue   string
	strangerValue string
}

func startFeedServer(t *testing.T) *feedServer {
	t.Helper()
	clk := schematest.NewClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	cfg := server.Default()
	cfg.Data, cfg.Name, cfg.Clock = t.TempDir(), "cmd-feed-test", clk.Now
	srv := serveTest(t, cfg)
	fs := &feedServer{srv: srv, url: srv.URL(), admin: srv.AdminKey, clk: clk, sid: "feed-svc"}
	env := fs.env(fs.admin)
	adminJSON(t, env, nil, "servicecreate", "--id", fs.sid)
	adminJSON(t, env, nil, "servicecreate", "--id", "other-svc")
	adminJSON(t, env, &fs.writer, "keycreate", "--name", "writer", "--write", fs.sid, "--write", "other-svc")
	fs.writerValue = *fs.writer.Value
	var k adminKeyJSON
	adminJSON(t, env, &k, "keycreate", "--name", "reader", "--read", fs.sid)
	fs.readerValue = *k.Value
	adminJSON(t, env, &k, "keycreate", "--name", "stranger", "--read", "other-svc")
	fs.strangerValue = *k.Value
	return fs
}

func (fs *feedServer) env(key string) map[string]string {
	return map[string]string{"CAIRN_URL": fs.url, "CAIRN_KEY": key}
}

// upload puts body at path with the writer key over HTTP.
func (fs *feedServer) upload(t *testing.T, path, body string, hdr map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, fs.url+"/uploadfile?sid="+fs.sid+"&path="+path, strings.NewReader(body))
	req.Header.Set("x-owncdn-key", fs.writerValue)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload %s: %d", path, resp.StatusCode)
	}
}

// runCmd runs a cairn command to its end and returns its output.
func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, io.Discard, envOf(env))
	return out.String(), err
}

// story writes one object's whole life on the test clock: a put over
// HTTP, a metadata change and a copy over it through the core (as the
// Swift and S3 dialects do), a delete, a put that expires (the reaper's
// doing) and the purge of the first version. It returns the first
// version, the copy's source version and the moment between the delete
// and the last put.
func (fs *feedServer) story(t *testing.T) (first, src string, mid time.Time) {
	t.Helper()
	ctx := context.Background()
	core := fs.srv.Core
	fs.upload(t, "doc.txt", "hello", nil)
	v, err := fs.srv.State.Object(ctx, fs.sid, "doc.txt")
	if err != nil {
		t.Fatal(err)
	}
	first = v.Version
	fs.clk.Advance(time.Minute)
	swift := events.Origin{Actor: schema.Actor{KeyID: fs.writer.ID, Dialect: "swift", Addr: "198.51.100.7"}, RequestID: "tx-meta"}
	if _, err := core.UpdateMeta(ctx, swift, events.MetaInput{Service: fs.sid, Path: "doc.txt", ContentType: "text/markdown"}); err != nil {
		t.Fatal(err)
	}
	fs.clk.Advance(time.Minute)
	fs.upload(t, "src.txt", "source bytes", nil)
	s, err := fs.srv.State.Object(ctx, fs.sid, "src.txt")
	if err != nil {
		t.Fatal(err)
	}
	src = s.Version
	s3 := events.Origin{Actor: schema.Actor{KeyID: fs.writer.ID, Dialect: "s3", Addr: "192.0.2.1"}, RequestID: "req-copy"}
	if _, err := core.CopyObject(ctx, s3, events.CopyInput{From: schema.ObjectRef{Service: fs.sid, Path: "src.txt"}, Service: fs.sid, Path: "doc.txt"}); err != nil {
		t.Fatal(err)
	}
	fs.clk.Advance(time.Minute)
	req, _ := http.NewRequest(http.MethodDelete, fs.url+"/deletefile?sid="+fs.sid+"&path=doc.txt", nil)
	req.Header.Set("x-owncdn-key", fs.writerValue)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("deletefile: %v %v", resp, err)
	}
	fs.clk.Advance(time.Minute)
	mid = fs.clk.Now()
	fs.clk.Advance(time.Minute)
	fs.upload(t, "doc.txt", "short-lived", map[string]string{"x-owncdn-delete-after": "60"})
	fs.clk.Advance(2 * time.Minute)
	if _, err := core.ReapOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// The server's own reaper may have been first: wait for the expiry in
	// the log before the story goes on.
	deadline := time.Now().Add(time.Minute)
	for {
		evs, err := fs.srv.Log.Read(ctx, 0, []string{schema.ObjectFilter(fs.sid, "doc.txt")}, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if evs[len(evs)-1].Type == schema.TypeObjectExpired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("doc.txt never expired")
		}
		<-time.After(10 * time.Millisecond) // between polls of the log
	}
	fs.clk.Advance(time.Minute)
	admin := events.Origin{Actor: schema.Actor{KeyID: fs.srv.AdminKeyID, Dialect: "s3", Addr: "192.0.2.2"}}
	if _, err := core.PurgeVersion(ctx, admin, fs.sid, "doc.txt", first); err != nil {
		t.Fatal(err)
	}
	// Another object and another service, which history must not show.
	fs.upload(t, "else.txt", "x", nil)
	return first, src, mid
}

// tableRows splits a table into its header and rows of cells.
func tableRows(t *testing.T, out string) (header []string, rows [][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header = strings.Fields(lines[0])
	for _, l := range lines[1:] {
		cells := strings.Fields(l)
		if len(cells) < len(header)-1 {
			t.Fatalf("a short row %q", l)
		}
		rows = append(rows, cells)
	}
	return header, rows
}

func TestHistory(t *testing.T) {
	fs := startFeedServer(t)
	first, src, _ := fs.story(t)
	out, err := runCmd(t, fs.env(fs.readerValue), "history", "--sid", fs.sid, "--path", "doc.txt")
	if err != nil {
		t.Fatalf("history: %v\n%s", err, out)
	}
	header, rows := tableRows(t, out)
	want := []string{"TIME", "SEQ", "OP", "VERSION", "SIZE", "ETAG", "ACTOR", "DIALECT", "CLIENT", "REQUEST", "DETAIL"}
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Fatalf("header %v, want %v", header, want)
	}
	var opsSeen, actors []string
	for _, r := range rows {
		opsSeen = append(opsSeen, r[2])
		actors = append(actors, r[6]+"/"+r[7])
	}
	if got := strings.Join(opsSeen, " "); got != "put meta copy delete put expire purge" {
		t.Fatalf("ops %q:\n%s", got, out)
	}
	w := fs.writer.ID
	wantActors := []string{w + "/native", w + "/swift", w + "/s3", w + "/native", w + "/native", "reaper/-", fs.srv.AdminKeyID + "/s3"}
	if strings.Join(actors, " ") != strings.Join(wantActors, " ") {
		t.Errorf("actors %v, want %v", actors, wantActors)
	}
	put, meta, cp, exp, purge := rows[0], rows[1], rows[2], rows[5], rows[6]
	if put[3] != first || put[4] != "5" || put[8] != "127.0.0.1" || put[9] == "-" {
		t.Errorf("the first put: %v", put)
	}
	if meta[4] != "5" || meta[5] != put[5] || meta[9] != "tx-meta" || meta[8] != "198.51.100.7" || !strings.Contains(strings.Join(meta[10:], " "), "metadata only") {
		t.Errorf("the metadata change keeps size and ETag: %v", meta)
	}
	if detail := strings.Join(cp[10:], " "); !strings.Contains(detail, "from "+fs.sid+"/src.txt@"+src) || cp[4] != "12" || cp[9] != "req-copy" {
		t.Errorf("the copy names its source %s: %v", src, cp)
	}
	if !strings.Contains(strings.Join(rows[4][10:], " "), "expires ") {
		t.Errorf("the short-lived put shows its expiry: %v", rows[4])
	}
	if exp[6] != "reaper" || !strings.Contains(strings.Join(exp[10:], " "), "expired ") {
		t.Errorf("the expiry: %v", exp)
	}
	if !strings.Contains(strings.Join(purge[10:], " "), "removed version "+first) {
		t.Errorf("the purge: %v", purge)
	}
	var lastSeq uint64
	for _, r := range rows {
		seq, _ := strconv.ParseUint(r[1], 10, 64)
		if seq <= lastSeq {
			t.Errorf("sequences out of order:\n%s", out)
		}
		lastSeq = seq
	}

	// --json: one object per line, the same story.
	out, err = runCmd(t, fs.env(fs.readerValue), "history", "--sid", fs.sid, "--path", "doc.txt", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var js []row
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		js = append(js, r)
	}
	if len(js) != 7 || js[2].Op != "copy" || js[2].From == nil || js[2].From.Path != "src.txt" || js[2].From.Version != src ||
		js[5].Actor != "reaper" || js[0].Dialect != "native" || js[0].RequestID == "" || js[0].Size == nil || *js[0].Size != 5 {
		t.Errorf("history --json:\n%s", out)
	}

	// Errors: no access, no such object, missing flags.
	if _, err := runCmd(t, fs.env(fs.strangerValue), "history", "--sid", fs.sid, "--path", "doc.txt"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("history without access: %v", err)
	}
	if _, err := runCmd(t, fs.env(fs.readerValue), "history", "--sid", fs.sid, "--path", "never.txt"); err == nil || !strings.Contains(err.Error(), "no history") {
		t.Errorf("history of nothing: %v", err)
	}
	if _, err := runCmd(t, fs.env(fs.readerValue), "history", "--sid", fs.sid); err == nil {
		t.Errorf("history without --path succeeded")
	}
}

func TestAudit(t *testing.T) {
	fs := startFeedServer(t)
	_, _, mid := fs.story(t)
	env := fs.env(fs.readerValue)
	out, err := runCmd(t, env, "audit", "--sid", fs.sid)
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	header, rows := tableRows(t, out)
	if strings.Join(header, " ") != "TIME SEQ ACTOR DIALECT CLIENT REQUEST OP PATH VERSION SIZE DETAIL" {
		t.Fatalf("header %v", header)
	}
	// service.created, put doc, meta, put src, copy, delete, put doc, expire, purge, put else
	var got []string
	for _, r := range rows {
		got = append(got, r[6]+":"+r[7])
	}
	want := "service.created:- put:doc.txt meta:doc.txt put:src.txt copy:doc.txt delete:doc.txt put:doc.txt expire:doc.txt purge:doc.txt put:else.txt"
	if strings.Join(got, " ") != want {
		t.Fatalf("audit:\n%s\nwant %s", out, want)
	}

	// By actor: the writer's own doings; the reaper's; the admin's.
	for actor, wantOps := range map[string]string{
		fs.writer.ID:        "put:doc.txt meta:doc.txt put:src.txt copy:doc.txt delete:doc.txt put:doc.txt put:else.txt",
		"reaper":            "expire:doc.txt",
		fs.srv.AdminKeyID:   "service.created:- purge:doc.txt",
		"CKNOBODY000000000": "",
	} {
		out, err := runCmd(t, env, "audit", "--sid", fs.sid, "--actor", actor)
		if err != nil {
			t.Fatal(err)
		}
		_, rows := tableRows(t, out)
		var got []string
		for _, r := range rows {
			if r[2] != actor {
				t.Errorf("--actor %s shows %v", actor, r)
			}
			got = append(got, r[6]+":"+r[7])
		}
		if strings.Join(got, " ") != wantOps {
			t.Errorf("--actor %s: %v, want %s", actor, got, wantOps)
		}
	}

	// A window: before mid is the first part of the story, after it the rest.
	out, _ = runCmd(t, env, "audit", "--sid", fs.sid, "--until", mid.Format(time.RFC3339))
	if _, rows := tableRows(t, out); len(rows) != 6 || rows[5][6] != "delete" {
		t.Errorf("--until %s:\n%s", mid, out)
	}
	out, _ = runCmd(t, env, "audit", "--sid", fs.sid, "--since", mid.Format(time.RFC3339), "--json")
	var after []row
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("audit --json line %q: %v", l, err)
		}
		if r.Time.Before(mid) {
			t.Errorf("--since %s shows %v", mid, r)
		}
		after = append(after, r)
	}
	if len(after) != 4 || after[0].Op != "put" || after[1].Op != "expire" || after[1].Actor != "reaper" {
		t.Errorf("--since %s:\n%s", mid, out)
	}
	out, _ = runCmd(t, env, "audit", "--sid", fs.sid, "--type", "object.delete.v1")
	if _, rows := tableRows(t, out); len(rows) != 1 || rows[0][6] != "delete" {
		t.Errorf("--type object.delete.v1:\n%s", out)
	}
	// The admin key audits every service: the service column appears.
	out, err = runCmd(t, fs.env(fs.admin), "audit", "--type", "service.created.v1")
	if err != nil {
		t.Fatal(err)
	}
	if header, rows := tableRows(t, out); header[6] != "SERVICE" || len(rows) != 2 {
		t.Errorf("audit of every service:\n%s", out)
	}
	if _, err := runCmd(t, fs.env(fs.strangerValue), "audit", "--sid", fs.sid); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("audit without access: %v", err)
	}
	if _, err := runCmd(t, env, "audit", "--sid", fs.sid, "--since", "monday"); err == nil {
		t.Errorf("audit --since monday succeeded")
	}
}

// tailing runs `cairn tail` until the test ends.
type tailing struct {
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startTail(t *testing.T, env map[string]string, args ...string) *tailing {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tl := &tailing{out: newSyncBuffer(), cancel: cancel, done: make(chan error, 1)}
	go func() { tl.done <- run(ctx, append([]string{"tail"}, args...), tl.out, io.Discard, envOf(env)) }()
	t.Cleanup(func() { tl.stop(t) })
	return tl
}

func (tl *tailing) stop(t *testing.T) {
	tl.cancel()
	select {
	case err := <-tl.done:
		if err != nil {
			t.Errorf("tail: %v", err)
		}
		tl.done <- nil
	case <-time.After(30 * time.Second):
		t.Errorf("tail did not stop")
	}
}

// until waits until what tail printed satisfies cond and returns it
// decoded, each line an event.
func (tl *tailing) until(t *testing.T, what string, cond func([]feedEvent) bool) []feedEvent {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		out, more := tl.out.snapshot()
		var evs []feedEvent
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if l == "" {
				continue
			}
			var ev feedEvent
			if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Seq == 0 {
				t.Fatalf("tail printed %q", l)
			}
			evs = append(evs, ev)
		}
		if cond(evs) {
			return evs
		}
		select {
		case <-more:
		case err := <-tl.done:
			t.Fatalf("tail ended: %v\n%s", err, out)
		case <-deadline.C:
			t.Fatalf("tail never printed %s:\n%s", what, out)
		}
	}
}

// lines waits until tail printed at least n lines.
func (tl *tailing) lines(t *testing.T, n int) []feedEvent {
	t.Helper()
	return tl.until(t, fmt.Sprint(n, " lines"), func(evs []feedEvent) bool { return len(evs) >= n })
}

func TestTail(t *testing.T) {
	fs := startFeedServer(t)
	fs.upload(t, "before.txt", "b", nil)
	env := fs.env(fs.readerValue)

	// --from 1: the whole history, then what comes.
	all := startTail(t, env, "--sid", fs.sid, "--from", "1")
	evs := all.lines(t, 2)
	if evs[0].Type != "service.created.v1" || evs[1].Path != "before.txt" || evs[1].Actor.KeyID != fs.writer.ID {
		t.Fatalf("tail --from 1: %+v", evs)
	}
	// New events only (no --from): nothing of the past, then the next
	// uploads as they come. Upload until it has seen one (it may have
	// placed itself after the first).
	fresh := startTail(t, env, "--sid", fs.sid)
	typed := startTail(t, fs.env(fs.admin), "--type", "object.delete.v1", "--from", "1")
	var seen []feedEvent
	uploads := 0
	for ; len(seen) == 0; uploads++ {
		if uploads == 200 {
			t.Fatalf("tail without --from printed nothing after %d uploads", uploads)
		}
		fs.upload(t, fmt.Sprintf("new-%d.txt", uploads), "n", nil)
		if out, _ := fresh.out.snapshot(); out != "" {
			seen = fresh.lines(t, 1)
		}
	}
	for _, ev := range seen {
		if !strings.HasPrefix(ev.Path, "new-") {
			t.Errorf("tail without --from printed the past: %+v", ev)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, fs.url+"/deletefile?sid="+fs.sid+"&path=before.txt", nil)
	req.Header.Set("x-owncdn-key", fs.writerValue)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("deletefile: %v %v", resp, err)
	}
	evs = all.until(t, "the delete", func(evs []feedEvent) bool {
		return len(evs) > 0 && evs[len(evs)-1].Type == "object.delete.v1"
	})
	if last := evs[len(evs)-1]; last.Path != "before.txt" || len(evs) != 3+uploads {
		t.Errorf("tail --from 1 printed %d events, want the service, before.txt, %d new puts and the delete: %+v", len(evs), uploads, evs)
	}
	if del := typed.lines(t, 1); len(del) != 1 || del[0].Type != "object.delete.v1" || del[0].Service != fs.sid {
		t.Errorf("tail --type object.delete.v1: %+v", del)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("tail out of order at %d: %d after %d", i, evs[i].Seq, evs[i-1].Seq)
		}
	}

	// --from SEQ and --from TIME start where they say.
	third := evs[2]
	bySeq := startTail(t, env, "--sid", fs.sid, "--from", strconv.FormatUint(third.Seq, 10))
	if got := bySeq.lines(t, 1); got[0].Seq != third.Seq {
		t.Errorf("--from %d starts at %d", third.Seq, got[0].Seq)
	}
	byTime := startTail(t, env, "--sid", fs.sid, "--from", third.Time.Format(time.RFC3339Nano))
	if got := byTime.lines(t, 1); got[0].Seq != third.Seq {
		t.Errorf("--from %s starts at %d, want %d", third.Time, got[0].Seq, third.Seq)
	}

	// Errors end tail at once.
	if _, err := runCmd(t, fs.env(fs.strangerValue), "tail", "--sid", fs.sid); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("tail without access: %v", err)
	}
	if _, err := runCmd(t, env, "tail", "--sid", fs.sid, "--from", "yesterday"); err == nil {
		t.Errorf("tail --from yesterday succeeded")
	}
}
