package e2e

// The scrubber repairs from a replica (issue 16, item 3): a blob flipped,
// truncated or deleted behind a server's back is replaced with a good copy
// from the other side of a replication pair — a replica's primary, or a
// server holding a follower of the service when a source points at it —
// and the repair is an event in the audit feed naming the source.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

func TestScrubRepair_FromReplicaPairBothWays(t *testing.T) {
	p := StartLocal(t, "damages blob files in two servers' data directories", rpFast)
	r := StartLocal(t, "damages blob files in two servers' data directories", rpFast)
	ctx := context.Background()
	sid := p.WithService(t)
	rpAttach(t, r, "primary", p.URL, rpReadKey(t, p, "", sid), sid, sid, "")
	// past the inline threshold: each is a blob file
	flipped := bytes.Repeat([]byte("flipped on the replica "), 8000)
	cut := bytes.Repeat([]byte("cut short on the primary "), 8000)
	gone := bytes.Repeat([]byte("deleted on the primary "), 8000)
	versions := map[string]string{}
	for path, body := range map[string][]byte{"flipped": flipped, "cut": cut, "gone": gone} {
		versions[path] = p.Upload(t, p.AdminKey, sid, path, body, nil).Version
	}
	rpWaitSync(t, p, sid, r, sid)

	// the replica's blob is flipped: a pass repairs it from its primary
	itDamageBlob(t, r, flipped, itFlip)
	if n, err := r.Srv.Scrubber.ScrubOnce(ctx); err != nil || n != 1 {
		t.Fatalf("scrub pass on the replica: %d damaged, %v; want 1", n, err)
	}
	srWantBody(t, r, sid, "flipped", flipped)
	srWantHealth(t, r, 1)
	srWantRepairs(t, r, "primary", sid, map[string][]byte{"flipped": flipped}, versions)

	// the other way: the primary gets a source pointing at the replica's
	// server, whose follower holds the same service id; one blob is cut
	// short and one deleted there, and a pass repairs both from it
	p.Admin(t, "sourcecreate", map[string]any{"name": "follower", "url": r.URL, "key": rpReadKey(t, r, "", sid)}, http.StatusCreated)
	itDamageBlob(t, p, cut, itTruncate)
	itDamageBlob(t, p, gone, itRemove)
	if n, err := p.Srv.Scrubber.ScrubOnce(ctx); err != nil || n != 2 {
		t.Fatalf("scrub pass on the primary: %d damaged, %v; want 2 (one cut short, one missing)", n, err)
	}
	srWantBody(t, p, sid, "cut", cut)
	srWantBody(t, p, sid, "gone", gone)
	srWantHealth(t, p, 2)
	srWantRepairs(t, p, "follower", sid, map[string][]byte{"cut": cut, "gone": gone}, versions)
	// the replica still follows: its history is the primary's
	rpWaitSync(t, p, sid, r, sid)
	rpSame(t, "after the repairs", rpSnapshot(t, p, sid), rpSnapshot(t, r, sid))
}

// srWantBody fails the test unless getfile of path on e serves body.
func srWantBody(t *testing.T, e *Env, sid, path string, body []byte) {
	t.Helper()
	g := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", path)})
	if g.Status != http.StatusOK || !bytes.Equal(g.Body, body) {
		t.Fatalf("getfile %s on %s after the repair: %d, %d bytes (want %d): %.200s", path, e.URL, g.Status, len(g.Body), len(body), g.Body)
	}
}

// srWantHealth fails the test unless e's blobhealth lists no damaged blob
// and counts repaired repairs.
func srWantHealth(t *testing.T, e *Env, repaired int64) {
	t.Helper()
	var h schema.BlobHealth
	if err := json.Unmarshal(e.Admin(t, "blobhealth", nil, http.StatusOK).Body, &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Blobs) != 0 || h.Repaired != repaired {
		t.Fatalf("blobhealth on %s: %d damaged blobs listed, %d repaired (want none and %d): %+v", e.URL, len(h.Blobs), h.Repaired, repaired, h)
	}
}

// srWantRepairs fails the test unless e's audit feed (/events with the
// admin key) holds exactly one blob.repaired.v1 for each body, naming the
// source, the version fetched there, and the service the version is of
// here, and nothing of the source's URL or key.
func srWantRepairs(t *testing.T, e *Env, source, sid string, bodies map[string][]byte, versions map[string]string) {
	t.Helper()
	evs := feedGet(t, e, e.AdminKey, Q("type", schema.TypeBlobRepaired), http.StatusOK).Events
	if len(evs) != len(bodies) {
		t.Fatalf("%d blob.repaired.v1 events in %s's feed, want %d: %+v", len(evs), e.URL, len(bodies), evs)
	}
	for _, ev := range evs {
		var p schema.BlobRepaired
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			t.Fatal(err)
		}
		body, ok := bodies[p.From.Path]
		sum := sha256.Sum256(body)
		if !ok || p.SHA256 != hex.EncodeToString(sum[:]) || p.Size != int64(len(body)) || p.Source != source ||
			p.From != (schema.ObjectRef{Service: sid, Path: p.From.Path, Version: versions[p.From.Path]}) ||
			ev.Service != sid || ev.Actor.KeyID != schema.ActorSystem || ev.Actor.Dialect != "scrubber" {
			t.Fatalf("repair event on %s: %+v %+v", e.URL, ev, p)
		}
		if strings.Contains(string(ev.Data), "http") {
			t.Fatalf("the repair event carries a URL: %s", ev.Data)
		}
		delete(bodies, p.From.Path)
	}
	// the service's own feed shows them too
	if got := feedGet(t, e, e.AdminKey, Q("sid", sid, "type", schema.TypeBlobRepaired), http.StatusOK).Events; len(got) != len(evs) {
		t.Fatalf("the feed of %s has %d repair events, the whole feed %d", sid, len(got), len(evs))
	}
}
