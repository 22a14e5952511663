package e2e

// Swift object expiry (CONTRACT5 "Expiry"): X-Delete-At / X-Delete-After
// on PUT and POST, X-Remove-Delete-At, the container's
// Default-Delete-After, what copies keep, the native headers, reads and
// listings in every dialect the moment the clock passes delete-at, and
// the reaper's object.expired event with the usage it frees.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnhq/cairn/cmd/server"
)

// TestSwiftExpiry_Headers: every way an object gets, changes and loses its
// delete-at, on a test clock that stands still (nothing expires here).
func TestSwiftExpiry_Headers(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	a := sxNewAcct(t, e)
	tok := a.Tok
	now := clk.Now().Unix()
	at := func(d int64) string { return strconv.FormatInt(now+d, 10) }

	t.Run("put", func(t *testing.T) {
		cont := swContainer(t, a.Conn)
		sxPut(t, e, tok, a.ID, cont, "at", []byte("at"), map[string]string{"X-Delete-At": at(100)})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "at", now+100)
		sxPut(t, e, tok, a.ID, cont, "after", []byte("after"), map[string]string{"X-Delete-After": "50"})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "after", now+50)
		// both sent: X-Delete-After wins, whether it is sooner or later
		sxPut(t, e, tok, a.ID, cont, "both-sooner", []byte("b1"), map[string]string{"X-Delete-At": at(1000), "X-Delete-After": "70"})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "both-sooner", now+70)
		sxPut(t, e, tok, a.ID, cont, "both-later", []byte("b2"), map[string]string{"X-Delete-At": at(20), "X-Delete-After": "7000"})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "both-later", now+7000)
		sxPut(t, e, tok, a.ID, cont, "never", []byte("never"), nil)
		sxWantDeleteAt(t, e, tok, a.ID, cont, "never", 0)
		// an X-Delete-At in the past is refused and nothing is stored;
		// as in OpenStack Swift, so are a non-integer X-Delete-At and a
		// negative X-Delete-After
		for name, hdr := range map[string]map[string]string{
			"past":           {"X-Delete-At": at(-10)},
			"long-past":      {"X-Delete-At": "1"},
			"not-a-number":   {"X-Delete-At": "soon"},
			"negative-after": {"X-Delete-After": "-5"},
		} {
			r := swDo(t, e, http.MethodPut, swPath(a.ID, cont, name), tok, hdr, bytes.NewReader([]byte("refused")))
			swWantErr(t, "PUT "+name+" "+natf("%v", hdr), r, http.StatusBadRequest)
			swWant(t, "HEAD "+name+" after a refused PUT", swDo(t, e, http.MethodHead, swPath(a.ID, cont, name), tok, nil, nil), http.StatusNotFound)
		}
		// a refused PUT over an existing object leaves it as it was
		r := swDo(t, e, http.MethodPut, swPath(a.ID, cont, "at"), tok, map[string]string{"X-Delete-At": at(-1)}, bytes.NewReader([]byte("replaced")))
		swWantErr(t, "PUT over at with a past X-Delete-At", r, http.StatusBadRequest)
		if g := swDo(t, e, http.MethodGet, swPath(a.ID, cont, "at"), tok, nil, nil); g.Status != http.StatusOK || string(g.Body) != "at" ||
			g.Header.Get("X-Delete-At") != at(100) {
			t.Errorf("at after a refused overwrite: %d %q X-Delete-At %q", g.Status, g.Body, g.Header.Get("X-Delete-At"))
		}
	})

	t.Run("post", func(t *testing.T) {
		cont := swContainer(t, a.Conn)
		sxPut(t, e, tok, a.ID, cont, "p", []byte("post me"), map[string]string{"X-Object-Meta-Color": "blue"})
		post := func(hdr map[string]string, want int) {
			t.Helper()
			r := swDo(t, e, http.MethodPost, swPath(a.ID, cont, "p"), tok, hdr, nil)
			if want == http.StatusBadRequest {
				swWantErr(t, natf("POST %v", hdr), r, want)
				return
			}
			swWant(t, natf("POST %v", hdr), r, want)
		}
		post(map[string]string{"X-Delete-At": at(200)}, http.StatusAccepted)
		sxWantDeleteAt(t, e, tok, a.ID, cont, "p", now+200)
		post(map[string]string{"X-Delete-After": "300"}, http.StatusAccepted)
		sxWantDeleteAt(t, e, tok, a.ID, cont, "p", now+300)
		post(map[string]string{"X-Delete-At": at(5000), "X-Delete-After": "400"}, http.StatusAccepted)
		sxWantDeleteAt(t, e, tok, a.ID, cont, "p", now+400)
		post(map[string]string{"X-Remove-Delete-At": "x"}, http.StatusAccepted)
		sxWantDeleteAt(t, e, tok, a.ID, cont, "p", 0)
		post(map[string]string{"X-Delete-At": at(500)}, http.StatusAccepted)
		// a past X-Delete-At on POST: 400, the expiry stays as it was
		post(map[string]string{"X-Delete-At": at(-1)}, http.StatusBadRequest)
		sxWantDeleteAt(t, e, tok, a.ID, cont, "p", now+500)
		// the bytes never change
		if g := swDo(t, e, http.MethodGet, swPath(a.ID, cont, "p"), tok, nil, nil); g.Status != http.StatusOK || string(g.Body) != "post me" {
			t.Errorf("GET after the POSTs: %d %q", g.Status, g.Body)
		}
	})

	t.Run("container_default", func(t *testing.T) {
		// set on container PUT
		cont := swName(t)
		swWant(t, "PUT container with a default", swDo(t, e, http.MethodPut, swPath(a.ID, cont), tok,
			map[string]string{"X-Container-Meta-Default-Delete-After": "500"}, nil), http.StatusCreated)
		h := swDo(t, e, http.MethodHead, swPath(a.ID, cont), tok, nil, nil)
		if h.Header.Get("X-Container-Meta-Default-Delete-After") != "500" {
			t.Errorf("HEAD container: X-Container-Meta-Default-Delete-After %q, want 500", h.Header.Get("X-Container-Meta-Default-Delete-After"))
		}
		sxPut(t, e, tok, a.ID, cont, "plain", []byte("plain"), nil)
		sxWantDeleteAt(t, e, tok, a.ID, cont, "plain", now+500)
		// the container's value overwrites the object's own header on PUT
		sxPut(t, e, tok, a.ID, cont, "own-at", []byte("own"), map[string]string{"X-Delete-At": at(9999)})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "own-at", now+500)
		sxPut(t, e, tok, a.ID, cont, "own-after", []byte("own"), map[string]string{"X-Delete-After": "30"})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "own-after", now+500)
		// a POST is not a PUT: the object's own X-Delete-After applies
		swWant(t, "POST X-Delete-After in a default container", swDo(t, e, http.MethodPost, swPath(a.ID, cont, "plain"), tok,
			map[string]string{"X-Delete-After": "40"}, nil), http.StatusAccepted)
		sxWantDeleteAt(t, e, tok, a.ID, cont, "plain", now+40)

		// set on container POST
		c2 := swContainer(t, a.Conn)
		sxPut(t, e, tok, a.ID, c2, "before", []byte("before"), nil)
		swWant(t, "POST container default", swDo(t, e, http.MethodPost, swPath(a.ID, c2), tok,
			map[string]string{"X-Container-Meta-Default-Delete-After": "250"}, nil), http.StatusNoContent)
		sxPut(t, e, tok, a.ID, c2, "after", []byte("after"), nil)
		sxWantDeleteAt(t, e, tok, a.ID, c2, "after", now+250)
		sxWantDeleteAt(t, e, tok, a.ID, c2, "before", 0) // objects already there keep theirs
		// removed: plain PUTs get none again
		swWant(t, "POST remove container default", swDo(t, e, http.MethodPost, swPath(a.ID, c2), tok,
			map[string]string{"X-Remove-Container-Meta-Default-Delete-After": "x"}, nil), http.StatusNoContent)
		sxPut(t, e, tok, a.ID, c2, "later", []byte("later"), nil)
		sxWantDeleteAt(t, e, tok, a.ID, c2, "later", 0)
	})

	// copySetup makes a source container holding "expiring" (delete-at
	// now+777) and "lasting" (none), and a destination container whose
	// objects expire 500 s after they are written by default.
	copySetup := func(t *testing.T) (src, dst string) {
		t.Helper()
		src = swContainer(t, a.Conn)
		dst = swName(t)
		swWant(t, "PUT destination with a default", swDo(t, e, http.MethodPut, swPath(a.ID, dst), tok,
			map[string]string{"X-Container-Meta-Default-Delete-After": "500"}, nil), http.StatusCreated)
		sxPut(t, e, tok, a.ID, src, "expiring", []byte("source with an expiry"), map[string]string{"X-Delete-At": at(777)})
		sxPut(t, e, tok, a.ID, src, "lasting", []byte("source without one"), nil)
		return src, dst
	}

	t.Run("copy_from_keeps_source", func(t *testing.T) {
		src, dst := copySetup(t)

		// the source's delete-at, whatever the destination's default
		sxPut(t, e, tok, a.ID, dst, "c1", nil, map[string]string{"X-Copy-From": "/" + src + "/expiring"})
		sxWantDeleteAt(t, e, tok, a.ID, dst, "c1", now+777)
		// the source has none: the copy has none, default or not
		sxPut(t, e, tok, a.ID, dst, "c2", nil, map[string]string{"X-Copy-From": "/" + src + "/lasting"})
		sxWantDeleteAt(t, e, tok, a.ID, dst, "c2", 0)
		// unless the copy request sends one
		sxPut(t, e, tok, a.ID, dst, "c3", nil, map[string]string{"X-Copy-From": "/" + src + "/lasting", "X-Delete-After": "60"})
		sxWantDeleteAt(t, e, tok, a.ID, dst, "c3", now+60)
		sxPut(t, e, tok, a.ID, src, "c4", nil, map[string]string{"X-Copy-From": src + "/lasting", "X-Delete-At": at(61)})
		sxWantDeleteAt(t, e, tok, a.ID, src, "c4", now+61)
		// the source itself is untouched
		sxWantDeleteAt(t, e, tok, a.ID, src, "expiring", now+777)
		sxWantDeleteAt(t, e, tok, a.ID, src, "lasting", 0)
	})

	t.Run("copy_verb_does_not_keep", func(t *testing.T) {
		src, dst := copySetup(t)
		cp := func(from, dest string, hdr map[string]string) {
			t.Helper()
			h := map[string]string{"Destination": dest}
			for k, v := range hdr {
				h[k] = v
			}
			swWant(t, "COPY "+from+" to "+dest, swDo(t, e, "COPY", swPath(a.ID, src, from), tok, h, nil), http.StatusCreated)
		}
		// no request expiry, no destination default: none
		cp("expiring", "/"+src+"/k1", nil)
		sxWantDeleteAt(t, e, tok, a.ID, src, "k1", 0)
		// the destination's default
		cp("expiring", "/"+dst+"/k2", nil)
		sxWantDeleteAt(t, e, tok, a.ID, dst, "k2", now+500)
		// the request's own, over the destination's default
		cp("expiring", dst+"/k3", map[string]string{"X-Delete-After": "90"})
		sxWantDeleteAt(t, e, tok, a.ID, dst, "k3", now+90)
		cp("lasting", "/"+src+"/k4", map[string]string{"X-Delete-At": at(91)})
		sxWantDeleteAt(t, e, tok, a.ID, src, "k4", now+91)
		sxWantDeleteAt(t, e, tok, a.ID, src, "expiring", now+777)
	})

	t.Run("native", func(t *testing.T) {
		cont := swContainer(t, a.Conn)
		e.Upload(t, e.AdminKey, cont, "n-after", []byte("native after"), map[string]string{"x-owncdn-delete-after": "45"})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "n-after", now+45)
		e.Upload(t, e.AdminKey, cont, "n-at", []byte("native at"), map[string]string{"x-owncdn-delete-at": at(4444)})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "n-at", now+4444)
		e.Upload(t, e.AdminKey, cont, "n-both", []byte("native both"), map[string]string{"x-owncdn-delete-at": at(4444), "x-owncdn-delete-after": "46"})
		sxWantDeleteAt(t, e, tok, a.ID, cont, "n-both", now+46)
		// and the other way: a Swift expiry is the native header
		sxPut(t, e, tok, a.ID, cont, "s-after", []byte("swift after"), map[string]string{"X-Delete-After": "47"})
		if g := natGet(t, e, e.AdminKey, cont, "s-after"); g.Status != http.StatusOK || g.Header.Get("x-owncdn-delete-at") != at(47) {
			t.Errorf("native getfile of a Swift expiry: %d x-owncdn-delete-at %q, want %s", g.Status, g.Header.Get("x-owncdn-delete-at"), at(47))
		}
	})
}

// TestSwiftExpiry_GoneAtOnce: the moment the clock reaches delete-at,
// every read in every dialect is 404 and every listing leaves the object
// out, with no reaper event yet (the reaper is held off here).
func TestSwiftExpiry_GoneAtOnce(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	e := Start(t, func(c *server.Config) {
		c.Clock = clk.Now
		c.ReapInterval = server.Duration(time.Hour) // the reaper does not run during the test
	})
	a := sxNewAcct(t, e)
	tok := a.Tok
	cont := swContainer(t, a.Conn)
	s3c := e.S3(t, a.Key.ID, a.Key.Value)
	ctx := context.Background()

	sxPut(t, e, tok, a.ID, cont, "doomed.txt", []byte("swift doomed"), map[string]string{"X-Delete-After": "60"})
	e.Upload(t, e.AdminKey, cont, "native-doomed", []byte("native doomed"), map[string]string{"x-owncdn-delete-after": "60"})
	sxPut(t, e, tok, a.ID, cont, "later", []byte("later"), map[string]string{"X-Delete-After": "3600"})
	sxPut(t, e, tok, a.ID, cont, "keep", []byte("keep"), nil)
	all := []string{"doomed.txt", "keep", "later", "native-doomed"}
	live := []string{"keep", "later"}

	readable := func(name string, want bool) {
		t.Helper()
		g := swDo(t, e, http.MethodGet, swPath(a.ID, cont, name), tok, nil, nil)
		h := swDo(t, e, http.MethodHead, swPath(a.ID, cont, name), tok, nil, nil)
		_, gerr := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &cont, Key: aws.String(name)})
		_, herr := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &cont, Key: aws.String(name)})
		n := natGet(t, e, e.AdminKey, cont, name)
		if want {
			if g.Status != http.StatusOK || h.Status != http.StatusOK || gerr != nil || herr != nil || n.Status != http.StatusOK {
				t.Errorf("%s should be readable: Swift GET %d HEAD %d, S3 GetObject %v HeadObject %v, native getfile %d",
					name, g.Status, h.Status, gerr, herr, n.Status)
			}
			return
		}
		swWantErr(t, "Swift GET of expired "+name, g, http.StatusNotFound)
		swWant(t, "Swift HEAD of expired "+name, h, http.StatusNotFound)
		s3WantErr(t, "S3 GetObject of expired "+name, gerr, http.StatusNotFound, "NoSuchKey")
		if s3Status(herr) != http.StatusNotFound {
			t.Errorf("S3 HeadObject of expired %s: %v, want 404", name, herr)
		}
		natWantErr(t, "native getfile of expired "+name, n, http.StatusNotFound, "not_found")
	}
	listings := func(want []string) {
		t.Helper()
		swEq(t, "Swift JSON listing", sxSwiftNames(t, e, tok, a.ID, cont), want)
		swEq(t, "Swift plain listing", swListPlain(t, e, swPath(a.ID, cont), tok), want)
		swEq(t, "S3 ListObjectsV2", s3Keys(t, s3c, cont), want)
		swEq(t, "native filelist", sxNatPaths(t, e, e.AdminKey, cont), want)
	}

	listings(all)
	// one second before: still there
	clk.Advance(59 * time.Second)
	for _, n := range all {
		readable(n, true)
	}
	listings(all)
	// at delete-at exactly: gone everywhere
	clk.Advance(time.Second)
	readable("doomed.txt", false)
	readable("native-doomed", false)
	readable("later", true)
	readable("keep", true)
	listings(live)
	// expired objects are absent for writes that need them too
	swWantErr(t, "DELETE of an expired object", swDo(t, e, http.MethodDelete, swPath(a.ID, cont, "doomed.txt"), tok, nil, nil), http.StatusNotFound)
	swWantErr(t, "POST to an expired object", swDo(t, e, http.MethodPost, swPath(a.ID, cont, "doomed.txt"), tok,
		map[string]string{"X-Object-Meta-A": "b"}, nil), http.StatusNotFound)
	swWantErr(t, "X-Copy-From an expired object", swDo(t, e, http.MethodPut, swPath(a.ID, cont, "copy"), tok,
		map[string]string{"X-Copy-From": cont + "/doomed.txt"}, bytes.NewReader(nil)), http.StatusNotFound)
	swWant(t, "no copy stored", swDo(t, e, http.MethodHead, swPath(a.ID, cont, "copy"), tok, nil, nil), http.StatusNotFound)
	// and all that before any reaper event
	for _, u := range sxUpdates(t, e, e.AdminKey, cont) {
		if u.Op == "expire" {
			t.Errorf("an expire update with the reaper held off: %+v", u)
		}
	}
	// a new object at an expired name is an ordinary object
	sxPut(t, e, tok, a.ID, cont, "doomed.txt", []byte("reborn"), nil)
	if g := swDo(t, e, http.MethodGet, swPath(a.ID, cont, "doomed.txt"), tok, nil, nil); g.Status != http.StatusOK || string(g.Body) != "reborn" ||
		g.Header.Get("X-Delete-At") != "" {
		t.Errorf("doomed.txt written again: %d %q X-Delete-At %q", g.Status, g.Body, g.Header.Get("X-Delete-At"))
	}
}

// TestSwiftExpiry_Reaper: once due, the reaper appends object.expired
// (op "expire", actor "reaper") and the container's and account's usage
// drop; a version replaced before its expiry is not expired.
func TestSwiftExpiry_Reaper(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	a := sxNewAcct(t, e)
	tok := a.Tok
	cont := swContainer(t, a.Conn)
	key := e.AdminKey

	sxPut(t, e, tok, a.ID, cont, "r1", []byte("expires now"), map[string]string{"X-Delete-After": "30"}) // 11 bytes
	sxPut(t, e, tok, a.ID, cont, "r2", []byte("would expire"), map[string]string{"X-Delete-After": "30"})
	sxPut(t, e, tok, a.ID, cont, "r2", []byte("stays"), nil)  // 5 bytes, replaces the expiring version
	sxPut(t, e, tok, a.ID, cont, "keep", []byte("kept"), nil) // 4 bytes
	sxWantUsage(t, e, tok, a.ID, cont, 3, 11+5+4)
	if n, b := sxAccountUsage(t, e, tok, a.ID); n != 3 || b != 20 {
		t.Errorf("account usage before expiry: %d objects %d bytes, want 3 and 20", n, b)
	}

	clk.Advance(31 * time.Second)
	swWantErr(t, "GET r1 past its time", swDo(t, e, http.MethodGet, swPath(a.ID, cont, "r1"), tok, nil, nil), http.StatusNotFound)
	if g := swDo(t, e, http.MethodGet, swPath(a.ID, cont, "r2"), tok, nil, nil); g.Status != http.StatusOK || string(g.Body) != "stays" {
		t.Errorf("r2 (replaced before its expiry): %d %q", g.Status, g.Body)
	}

	v := sxWaitOp(t, e, key, cont, "r1", "expire", 30*time.Second)
	if actor, ok := v["actor"]; ok && actor != "reaper" {
		t.Errorf("the expire version's actor is %v, want \"reaper\": %v", actor, v)
	}
	for _, ver := range sxVersionsRaw(t, e, key, cont, "r1") {
		if ver["current"] == true {
			t.Errorf("expired r1 still has a current version: %v", ver)
		}
	}

	// a later expiry, so that by its event every earlier due one (r2's
	// replaced version) has been considered
	sxPut(t, e, tok, a.ID, cont, "r3", []byte("r3"), map[string]string{"X-Delete-After": "10"})
	clk.Advance(11 * time.Second)
	sxWaitOp(t, e, key, cont, "r3", "expire", 30*time.Second)
	if got := sxOps(sxUpdates(t, e, key, cont)); !slices.Equal(got, []string{"put r1", "put r2", "put r2", "put keep", "expire r1", "put r3", "expire r3"}) {
		t.Errorf("syncnext ops: %q", got)
	}

	// usage drops with the reaper's events
	eventually(t, 10*time.Second, func() error {
		if n, b := sxUsage(t, e, tok, a.ID, cont); n != 2 || b != 9 {
			return fmt.Errorf("container usage after the expiries: %d objects %d bytes, want 2 and 9", n, b)
		}
		return nil
	})
	if n, b := sxAccountUsage(t, e, tok, a.ID); n != 2 || b != 9 {
		t.Errorf("account usage after the expiries: %d objects %d bytes, want 2 and 9", n, b)
	}
	if s := natServices(t, e, key)[cont]; s.Files != 2 || s.Bytes != 9 {
		t.Errorf("native servicelist usage after the expiries: %+v", s)
	}
	swEq(t, "listing after the expiries", sxSwiftNames(t, e, tok, a.ID, cont), []string{"keep", "r2"})
}

// TestSwiftExpiry_RealClock: X-Delete-After: 1 on the real clock; GET is
// 404 no earlier than delete-at, and the reaper's event follows.
func TestSwiftExpiry_RealClock(t *testing.T) {
	realClock(t)
	t.Parallel()
	e := Start(t, func(c *server.Config) { c.ReapInterval = server.Duration(20 * time.Millisecond) })
	a := sxNewAcct(t, e)
	cont := swContainer(t, a.Conn)
	before := time.Now().Unix()
	sxPut(t, e, a.Tok, a.ID, cont, "brief", []byte("one second"), map[string]string{"X-Delete-After": "1"})
	after := time.Now().Unix()

	var deleteAt int64
	for _, u := range sxUpdates(t, e, e.AdminKey, cont) {
		if u.Op == "put" && u.Path == "brief" {
			deleteAt = u.DeleteAt
		}
	}
	if deleteAt < before+1 || deleteAt > after+1 {
		t.Fatalf("delete_at %d, want between %d and %d (now + 1 s)", deleteAt, before+1, after+1)
	}
	// the real clock passes delete-at: eventually's pauses are that wait
	eventually(t, 15*time.Second, func() error {
		r, err := swSend(e, http.MethodGet, swPath(a.ID, cont, "brief"), a.Tok, nil, nil)
		seen := time.Now().Unix()
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == http.StatusNotFound {
			if seen < deleteAt {
				t.Errorf("GET was 404 at %d, before delete-at %d", seen, deleteAt)
			}
			return nil
		}
		if r.Status != http.StatusOK || string(r.Body) != "one second" {
			t.Fatalf("GET before the expiry: %d %q", r.Status, sxTrim(r.Body))
		}
		return fmt.Errorf("GET still 200 at %d, delete-at %d", seen, deleteAt)
	})
	v := sxWaitOp(t, e, e.AdminKey, cont, "brief", "expire", 30*time.Second)
	if actor, ok := v["actor"]; ok && actor != "reaper" {
		t.Errorf("the expire version's actor is %v, want \"reaper\"", actor)
	}
	sxWantUsage(t, e, a.Tok, a.ID, cont, 0, 0)
}
