package e2e

// Failover and topology: a replica promoted to primary; the old primary
// re-attached as its replica (catching up when the histories agree,
// resynchronising when they diverged); a chain A -> B -> C; restarts of
// either side while the replica is mid-way through a backlog.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnhq/cairn/schema"
)

// rpPromote makes sid on e a primary and checks the answer.
func rpPromote(t *testing.T, e *Env, sid string) {
	t.Helper()
	var svc struct {
		Replica *schema.ReplicaEntry `json:"replica"`
	}
	e.Admin(t, "serviceupdate", map[string]any{"id": sid, "promote": true}, http.StatusOK).JSON(t, &svc)
	if svc.Replica != nil {
		t.Fatalf("serviceupdate promote: the service is still a replica: %+v", svc.Replica)
	}
}

// rpFollow defines source src on e (the service on to, read through a new
// key there) and makes sid on e follow it.
func rpFollow(t *testing.T, e *Env, src string, to *Env, sid string) {
	t.Helper()
	e.Admin(t, "sourcecreate", map[string]any{"name": src, "url": to.URL, "key": rpReadKey(t, to, "", sid)}, http.StatusCreated)
	var svc struct {
		Replica *schema.ReplicaEntry `json:"replica"`
	}
	e.Admin(t, "serviceupdate", map[string]any{"id": sid, "follow": map[string]string{"source": src, "sid": sid}}, http.StatusOK).JSON(t, &svc)
	if svc.Replica == nil || svc.Replica.Source != src || svc.Replica.SID != sid {
		t.Fatalf("serviceupdate follow: replica %+v, want source %s sid %s", svc.Replica, src, sid)
	}
}

// rpWorkload makes a few changes of every native kind on sid at e, tagged
// so that two workloads do not touch the same paths by accident.
func rpWorkload(t *testing.T, e *Env, sid, tag string) {
	t.Helper()
	e.Upload(t, e.AdminKey, sid, tag+"/a.txt", []byte(tag+" one"), map[string]string{"x-owncdn-meta-tag": tag})
	e.Upload(t, e.AdminKey, sid, tag+"/a.txt", []byte(tag+" two"), nil)
	e.Upload(t, e.AdminKey, sid, tag+"/big.bin", randomBytes(uint64(len(tag)), 100<<10), nil)
	e.Upload(t, e.AdminKey, sid, tag+"/gone.txt", []byte("bye"), nil)
	rpDelete(t, e, sid, tag+"/gone.txt")
}

// rpSameLive fails the test unless two services hold the same live files
// (listing, counters, bytes of each current file) and last_sync_id: what
// a resynchronised replica must share with its primary.
func rpSameLive(t *testing.T, what string, p, r *rpSnap) {
	t.Helper()
	if p.Last != r.Last || p.Files != r.Files || p.Bytes != r.Bytes {
		t.Errorf("%s: last_sync_id/files/bytes: primary %d/%d/%d, replica %d/%d/%d", what, p.Last, p.Files, p.Bytes, r.Last, r.Files, r.Bytes)
	}
	rpSameList(t, what+": filelist", p.Live, r.Live)
	for _, f := range p.Live {
		k := f["path"].(string) + "@"
		if p.Bodies[k] != r.Bodies[k] {
			t.Errorf("%s: getfile %s:\n primary %s\n replica %s", what, k, p.Bodies[k], r.Bodies[k])
		}
	}
}

// rpWaitLive waits until sid on r holds the live files and last_sync_id
// of sid on p (last_sync_id alone can coincide while a resync is under
// way) and the replica's status is ok.
func rpWaitLive(t *testing.T, p, r *Env, sid string) {
	t.Helper()
	eventually(t, 60*time.Second, func() error {
		ps, rs := rpSnapshot(t, p, sid), rpSnapshot(t, r, sid)
		st := rpSvc(t, r, sid).Replica
		why := fmt.Errorf("the replica holding the primary's live files: primary last %d files %d bytes %d, replica last %d files %d bytes %d, status %+v",
			ps.Last, ps.Files, ps.Bytes, rs.Last, rs.Files, rs.Bytes, st)
		if ps.Last != rs.Last || st == nil || st.LastResult != "ok" || len(ps.Live) != len(rs.Live) {
			return why
		}
		for i := range ps.Live {
			k := ps.Live[i]["path"].(string) + "@"
			if ps.Live[i]["version"] != rs.Live[i]["version"] || ps.Bodies[k] != rs.Bodies[k] {
				return why
			}
		}
		return nil
	})
}

func TestRpFailover_PromoteAndFollow(t *testing.T) {
	t.Parallel()
	a, b := Start(t, rpFast), Start(t, rpFast)
	sid := a.WithService(t)
	rpAttach(t, b, "a", a.URL, rpReadKey(t, a, "", sid), sid, sid, "")
	rpWorkload(t, a, sid, "on-a")
	rpWaitSync(t, a, sid, b, sid)

	// the wrong ways are refused
	a.Admin(t, "serviceupdate", map[string]any{"id": sid, "promote": true}, http.StatusConflict)
	b.Admin(t, "serviceupdate", map[string]any{"id": sid, "follow": map[string]string{"source": "a", "sid": sid}}, http.StatusConflict)
	b.Admin(t, "serviceupdate", map[string]any{"id": sid, "promote": true, "follow": map[string]string{"source": "a", "sid": sid}}, http.StatusBadRequest)
	b.Admin(t, "sourcedelete", map[string]any{"name": "a"}, http.StatusConflict)

	// promotion: B takes writes, and its changes continue A's history
	last := rpSvc(t, b, sid).LastSyncID
	rpPromote(t, b, sid)
	if u := b.Upload(t, b.AdminKey, sid, "on-b/first.txt", []byte("first write on B"), nil); u.SyncID != last+1 {
		t.Errorf("the first write on the promoted B has sync id %d, want %d", u.SyncID, last+1)
	}
	rpWorkload(t, b, sid, "on-b")
	if s := rpSvc(t, b, sid); s.Replica != nil {
		t.Errorf("servicelist on B after promotion: still a replica %+v", s.Replica)
	}
	b.Admin(t, "sourcedelete", map[string]any{"name": "a"}, http.StatusOK) // nothing follows it any more

	// A follows B: the histories agree, so A only catches up
	rpFollow(t, a, "b", b, sid)
	w := a.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: a.AdminKey, Query: Q("sid", sid, "path", "x"), Body: strings.NewReader("x")})
	rpWantReadOnly(t, "a write to the re-attached A", w.Status, string(w.Body))
	rpWaitSync(t, b, sid, a, sid)
	bs, as := rpSnapshot(t, b, sid), rpSnapshot(t, a, sid)
	rpSame(t, "A following the promoted B", bs, as)
	rpNoDuplicates(t, "A", as)
	rpWorkload(t, b, sid, "later-on-b")
	rpWaitSync(t, b, sid, a, sid)
	rpSame(t, "A following B's later changes", rpSnapshot(t, b, sid), rpSnapshot(t, a, sid))
	if s := rpSvc(t, a, sid); s.Replica == nil || s.Replica.Resyncs != 0 || s.Replica.LastResult != "ok" || s.Replica.Source != "b" {
		t.Errorf("A's replica status: %+v, want source b, no resync, ok", s.Replica)
	}
}

// TestRpFailover_SplitBrain: after B was promoted, A (still a primary)
// took writes B never saw. A re-attached to B cannot follow B's history:
// it resynchronises, then holds exactly B's files and sync id, and
// follows B from there.
func TestRpFailover_SplitBrain(t *testing.T) {
	t.Parallel()
	a, b := Start(t, rpFast), Start(t, rpFast)
	sid := a.WithService(t)
	rpAttach(t, b, "a", a.URL, rpReadKey(t, a, "", sid), sid, sid, "")
	rpWorkload(t, a, sid, "shared")
	rpWaitSync(t, a, sid, b, sid)
	rpPromote(t, b, sid)
	// both sides take writes: A's are lost in the failover
	a.Upload(t, a.AdminKey, sid, "only-a.txt", []byte("A alone"), nil)
	a.Upload(t, a.AdminKey, sid, "shared/a.txt", []byte("A's overwrite"), nil)
	b.Upload(t, b.AdminKey, sid, "only-b.txt", []byte("B alone"), nil)
	rpDelete(t, b, sid, "shared/big.bin")

	rpFollow(t, a, "b", b, sid)
	rpWaitLive(t, b, a, sid)
	rpSameLive(t, "A resynchronised to B", rpSnapshot(t, b, sid), rpSnapshot(t, a, sid))
	if s := rpSvc(t, a, sid); s.Replica == nil || s.Replica.Resyncs < 1 {
		t.Errorf("A's replica status after diverging: %+v, want resyncs >= 1", s.Replica)
	}
	var feed struct {
		Events []struct {
			Type    string `json:"type"`
			Service string `json:"service"`
		} `json:"events"`
	}
	a.Do(t, Req{Fn: "events", Key: a.AdminKey, Query: Q("sid", sid, "type", "service.resynced.v1")}).JSON(t, &feed)
	if len(feed.Events) == 0 || feed.Events[0].Type != "service.resynced.v1" || feed.Events[0].Service != sid {
		t.Errorf("A's events: %+v, want a service.resynced.v1 of %s", feed.Events, sid)
	}
	// and A follows B's next changes
	rpWorkload(t, b, sid, "after")
	b.Upload(t, b.AdminKey, sid, "only-b.txt", []byte("B again"), nil)
	rpWaitLive(t, b, a, sid)
	bs, as := rpSnapshot(t, b, sid), rpSnapshot(t, a, sid)
	rpSameLive(t, "A following B after the resync", bs, as)
	for _, path := range []string{"after/a.txt", "after/big.bin", "after/gone.txt"} {
		rpSameList(t, "versionlist "+path+" after the resync", bs.Versions[path], as.Versions[path])
	}
}

// TestRpFailover_HistoryTruncated: the primary no longer holds the
// history after the replica's sync id (syncnext answers 410
// history_truncated; the proxy stands in for a primary that trimmed it).
// The replica resynchronises to the primary's files and sync id, and
// follows from there.
func TestRpFailover_HistoryTruncated(t *testing.T) {
	t.Parallel()
	p, r := Start(t, rpFast), Start(t, rpFast)
	px := rpNewProxy(t, p.URL)
	sid := p.WithService(t)
	rpAttach(t, r, "primary", px.URL, rpReadKey(t, p, "", sid), sid, sid, "")
	rpWorkload(t, p, sid, "old")
	rpWaitSync(t, p, sid, r, sid)
	// the replica is cut off, the primary changes on and forgets how
	px.setTarget(t, "http://127.0.0.1:1")
	p.Upload(t, p.AdminKey, sid, "old/a.txt", []byte("overwritten meanwhile"), nil)
	p.Upload(t, p.AdminKey, sid, "new.txt", []byte("new meanwhile"), nil)
	rpDelete(t, p, sid, "old/big.bin")
	px.trimmed.Store(rpSvc(t, p, sid).LastSyncID)
	px.setTarget(t, p.URL)
	rpWaitLive(t, p, r, sid)
	if s := rpSvc(t, r, sid); s.Replica == nil || s.Replica.Resyncs < 1 {
		t.Errorf("replica status: %+v, want resyncs >= 1", s.Replica)
	}
	rpWorkload(t, p, sid, "after")
	rpWaitLive(t, p, r, sid)
	ps, rs := rpSnapshot(t, p, sid), rpSnapshot(t, r, sid)
	for _, path := range []string{"after/a.txt", "after/big.bin", "after/gone.txt"} {
		rpSameList(t, "versionlist "+path+" after the resync", ps.Versions[path], rs.Versions[path])
	}
}

// TestRpFailover_Chain: C follows B, which follows A; all three agree.
func TestRpFailover_Chain(t *testing.T) {
	t.Parallel()
	a, b, c := Start(t, rpFast), Start(t, rpFast), Start(t, rpFast)
	sid := a.WithService(t)
	rpAttach(t, b, "a", a.URL, rpReadKey(t, a, "", sid), sid, sid, "")
	rpAttach(t, c, "b", b.URL, rpReadKey(t, b, "", sid), sid, sid, "")
	rpWorkload(t, a, sid, "one")
	rpWaitSync(t, a, sid, c, sid)
	ctx := context.Background()
	s3c := a.S3(t, a.AdminKeyID, a.AdminKey)
	rpS3Copy(t, ctx, s3c, sid, "one/big.bin", "two/big-copy.bin")
	rpWorkload(t, a, sid, "two")
	rpWaitSync(t, a, sid, b, sid)
	rpWaitSync(t, a, sid, c, sid)
	as, bs, cs := rpSnapshot(t, a, sid), rpSnapshot(t, b, sid), rpSnapshot(t, c, sid)
	rpSame(t, "A -> B", as, bs)
	rpSame(t, "A -> B -> C", as, cs)
	rpNoDuplicates(t, "C", cs)
	if s := rpSvc(t, c, sid); s.Replica == nil || s.Replica.Source != "b" || s.Replica.Behind != 0 {
		t.Errorf("C's replica status: %+v", s.Replica)
	}
	w := b.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: b.AdminKey, Query: Q("sid", sid, "path", "x"), Body: strings.NewReader("x")})
	rpWantReadOnly(t, "a write to the middle of the chain", w.Status, string(w.Body))
}

// TestRpFailover_Restarts restarts the replica, then the primary, while
// the replica is working through a backlog (slowed by the proxy), with
// uploads in between: it resumes where it stood, no change applied twice
// or skipped.
func TestRpFailover_Restarts(t *testing.T) {
	t.Parallel()
	p, r := Start(t, rpFast), Start(t, rpFast)
	px := rpNewProxy(t, p.URL) // the primary's stable address across its restart
	px.delay.Store(int64(10 * time.Millisecond))
	sid := p.WithService(t)
	upload := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			size := 1 << 10
			if i%10 == 0 {
				size = 100 << 10
			}
			p.Upload(t, p.AdminKey, sid, fmt.Sprintf("f/%03d", i%120), randomBytes(uint64(i), size), nil)
		}
	}
	upload(0, 200)
	rpAttach(t, r, "primary", px.URL, rpReadKey(t, p, "", sid), sid, sid, "")

	rpWaitAt(t, r, sid, 40)
	if s := rpSvc(t, r, sid); s.LastSyncID >= 200 {
		t.Fatalf("the replica had caught up (%d) before its restart: not mid-stream", s.LastSyncID)
	} else if st := s.Replica; st == nil || st.PrimarySyncID != 200 || st.Behind == 0 || st.Behind > 200-40 || st.OldestUnapplied <= 0 {
		t.Errorf("the status of a replica at %d of 200: %+v, want primary_sync_id 200, behind 1..160, oldest_unapplied_seconds > 0", s.LastSyncID, st)
	}
	r.Restart(t)
	upload(200, 240)
	rpWaitAt(t, r, sid, 120)
	if got := rpSvc(t, r, sid).LastSyncID; got >= rpSvc(t, p, sid).LastSyncID {
		t.Fatalf("the replica had caught up (%d) before the primary's restart: not mid-stream", got)
	}
	p.Restart(t)
	px.setTarget(t, p.URL)
	upload(240, 260)
	px.delay.Store(0)
	rpWaitSync(t, p, sid, r, sid)
	ps, rs := rpSnapshot(t, p, sid), rpSnapshot(t, r, sid)
	rpSame(t, "after restarting both sides mid-stream", ps, rs)
	rpNoDuplicates(t, "replica", rs)
	if ps.Last != 260 {
		t.Errorf("the primary holds %d changes, want 260", ps.Last)
	}
}

// TestRpFailover_PrimaryStopsWhileFollowed: a replica's syncnext long
// poll (here the default 20 s) must not hold up the primary's ordered
// shutdown, as the events feed's long polls do not.
func TestRpFailover_PrimaryStopsWhileFollowed(t *testing.T) {
	realClock(t) // the shutdown must take less than 5 s of the real clock
	t.Parallel()
	p := StartLocal(t, "stops a primary while its replica follows it")
	px := rpNewProxy(t, p.URL)
	r := StartLocal(t, "runs a replica beside its primary") // ReplicationWait: the default
	sid := p.WithService(t)
	p.Upload(t, p.AdminKey, sid, "a", []byte("a"), nil)
	rpAttach(t, r, "primary", px.URL, rpReadKey(t, p, "", sid), sid, sid, "")
	rpWaitSync(t, p, sid, r, sid)
	eventually(t, 10*time.Second, func() error {
		if px.inFlight("syncnext") == 0 {
			return fmt.Errorf("the replica long-polling syncnext: %d syncnext calls, none in flight", px.count("syncnext"))
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	if err := p.Srv.Close(ctx); err != nil {
		t.Fatalf("the primary's Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the primary's ordered shutdown took %v while a replica long-polled syncnext: the long poll held it", d.Round(time.Millisecond))
	}
}

// rpS3Copy copies from to to in bucket through S3 CopyObject.
func rpS3Copy(t *testing.T, ctx context.Context, c *s3.Client, bucket, from, to string) {
	t.Helper()
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: &to, CopySource: aws.String(bucket + "/" + from)}); err != nil {
		t.Fatalf("CopyObject %s -> %s: %v", from, to, err)
	}
}
