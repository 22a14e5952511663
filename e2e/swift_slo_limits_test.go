package e2e

// Limits on Swift static large object manifests (issue 16, finding 5):
// Swift's max_manifest_segments (1000 entries, 413 "Number of
// object-backed segments must be <= 1000"), max_manifest_size (8 MiB,
// 413 "Manifest File > 8388608 bytes") and max_slo_recursion_depth (10,
// 400 "Max recursion depth exceeded"). Each refused manifest stores
// nothing. A nested SLO is stored as one reference, so a 1000 x 1000
// nested manifest is a 1000-entry event that reads lazily. Every name
// here starts with "sll".

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/ncw/swift/v2"
)

// sllEntries is a manifest listing seg n times.
func sllEntries(seg slSeg, n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"path": seg.path(), "etag": seg.etag, "size_bytes": len(seg.body)}
	}
	return out
}

// sllWantAbsent fails unless cont/name does not exist, asked through the
// Swift client.
func sllWantAbsent(t *testing.T, c *swift.Connection, cont, name string) {
	t.Helper()
	if _, _, err := c.Object(swCtx, cont, name); !errors.Is(err, swift.ObjectNotFound) {
		t.Errorf("HEAD %s/%s after a refused manifest: %v, want not found (nothing stored)", cont, name, err)
	}
}

// sllWantMessage fails unless the error body of r (HTML) contains msg.
func sllWantMessage(t *testing.T, what string, r *Resp, msg string) {
	t.Helper()
	if !strings.Contains(html.UnescapeString(string(r.Body)), msg) {
		t.Errorf("%s: body %q, want it to contain %q", what, r.Body, msg)
	}
}

func TestSwiftSLOLimits(t *testing.T) {
	t.Parallel()
	e, acct, k, c := swStart(t, 1)
	tok := c.AuthToken
	cont := swContainer(t, c)
	seg := slPut(t, e, tok, acct, cont, "sll-seg", []byte("x"))

	t.Run("over_max_manifest_segments", func(t *testing.T) {
		t.Parallel()
		r := slPutSLO(t, e, tok, acct, cont, "sll-1001", sllEntries(seg, 1001), nil)
		swWantErr(t, "PUT a manifest of 1001 segments", r, http.StatusRequestEntityTooLarge)
		sllWantMessage(t, "PUT a manifest of 1001 segments", r, "Number of object-backed segments must be <= 1000")
		sllWantAbsent(t, c, cont, "sll-1001")

		// exactly the limit is fine
		r = slPutSLO(t, e, tok, acct, cont, "sll-1000", sllEntries(seg, 1000), nil)
		swWant(t, "PUT a manifest of 1000 segments", r, http.StatusCreated)
		if info, h, err := c.Object(swCtx, cont, "sll-1000"); err != nil || info.Bytes != 1000 || !h.IsLargeObjectSLO() {
			t.Errorf("Object of the 1000-segment SLO: %+v %v", info, err)
		}
	})

	t.Run("over_max_manifest_size", func(t *testing.T) {
		t.Parallel()
		// a declared length over 8 MiB is refused before the body is read
		body := bytes.Repeat([]byte(" "), 8<<20+1)
		body[0] = '['
		body[len(body)-1] = ']'
		r := slPutSLO(t, e, tok, acct, cont, "sll-big", body, nil)
		swWantErr(t, "PUT a manifest of 8 MiB + 1 byte", r, http.StatusRequestEntityTooLarge)
		sllWantMessage(t, "PUT a manifest of 8 MiB + 1 byte", r, "Manifest File > 8388608 bytes")
		sllWantAbsent(t, c, cont, "sll-big")
	})

	t.Run("nested_stored_as_references", func(t *testing.T) {
		t.Parallel()
		r := slPutSLO(t, e, tok, acct, cont, "sll-600", sllEntries(seg, 600), nil)
		swWant(t, "PUT an SLO of 600 segments", r, http.StatusCreated)
		sub := slSeg{cont: cont, name: "sll-600", body: bytes.Repeat([]byte("x"), 600), etag: strings.Trim(r.Header.Get("Etag"), `"`)}

		// two of them: 1200 segments in all, one reference each (it was
		// refused while nested manifests were flattened)
		r = slPutSLO(t, e, tok, acct, cont, "sll-1200", sllEntries(sub, 2), nil)
		swWant(t, "PUT a manifest of two 600-segment SLOs", r, http.StatusCreated)
		if b, err := c.ObjectGetBytes(swCtx, cont, "sll-1200"); err != nil || len(b) != 1200 {
			t.Errorf("ObjectGetBytes of the nested SLO: %d bytes, %v", len(b), err)
		}
		// its manifest lists the nested SLO as Swift does: one sub_slo entry
		g := swDo(t, e, http.MethodGet, swPath(acct, cont, "sll-1200")+"?multipart-manifest=get", tok, nil, nil)
		swWant(t, "GET the manifest", g, http.StatusOK)
		var entries []struct {
			Name   string `json:"name"`
			Bytes  int64  `json:"bytes"`
			Hash   string `json:"hash"`
			SubSLO bool   `json:"sub_slo"`
		}
		if err := json.Unmarshal(g.Body, &entries); err != nil || len(entries) != 2 ||
			!entries[0].SubSLO || entries[0].Bytes != 600 || entries[0].Hash != sub.etag || entries[0].Name != sub.path() {
			t.Errorf("manifest of the nested SLO: %s (%v)", g.Body, err)
		}
	})

	t.Run("thousand_by_thousand", func(t *testing.T) {
		t.Parallel()
		// two 1000-entry manifests of 1-byte segments: digits and letters,
		// each entry i holding byte i mod 10
		var digits, letters []slSeg
		for i := range 10 {
			digits = append(digits, slPut(t, e, tok, acct, cont, fmt.Sprintf("sll-d%d", i), []byte{byte('0' + i)}))
			letters = append(letters, slPut(t, e, tok, acct, cont, fmt.Sprintf("sll-l%d", i), []byte{byte('a' + i)}))
		}
		inner := func(name string, segs []slSeg) slSeg {
			list := make([]slSeg, 1000)
			var body []byte
			for i := range list {
				list[i] = segs[i%10]
				body = append(body, segs[i%10].body...)
			}
			r := slPutSLO(t, e, tok, acct, cont, name, slEntries(list...), nil)
			swWant(t, "PUT a 1000-segment SLO", r, http.StatusCreated)
			return slSeg{cont: cont, name: name, body: body, etag: strings.Trim(r.Header.Get("Etag"), `"`)}
		}
		subs := []slSeg{inner("sll-kd", digits), inner("sll-kl", letters)}
		// the outer manifest alternates them: 1000 x 1000 bytes
		outer := make([]slSeg, 1000)
		for j := range outer {
			outer[j] = subs[j%2]
		}
		r := slPutSLO(t, e, tok, acct, cont, "sll-kk", slEntries(outer...), nil)
		swWant(t, "PUT a 1000 x 1000 nested manifest", r, http.StatusCreated)
		at := func(k int) byte { return subs[(k/1000)%2].body[k%1000] }

		// its event (which the projection's version record copies) holds
		// the 1000 entries as references, not a million segments: about
		// 230 bytes an entry, where flattening made it some 200 MB
		evs := feedAll(t, e, k.Value, 1000, "sid", cont, "path", "sll-kk")
		if len(evs) != 1 {
			t.Fatalf("events of sll-kk: %d, want its put", len(evs))
		}
		var put struct {
			Segments []struct {
				Manifest bool `json:"manifest"`
			} `json:"segments"`
		}
		if err := json.Unmarshal(evs[0].Data, &put); err != nil || len(put.Segments) != 1000 || !put.Segments[0].Manifest {
			t.Errorf("the nested manifest's event: %d segments (%v), want 1000 references", len(put.Segments), err)
		}
		if len(evs[0].Data) > 400<<10 {
			t.Errorf("the nested manifest's event is %d bytes, want under 400 KB", len(evs[0].Data))
		}
		if info, h, err := c.Object(swCtx, cont, "sll-kk"); err != nil || info.Bytes != 1000*1000 || !h.IsLargeObjectSLO() {
			t.Errorf("HEAD of the 1000 x 1000 SLO: %+v %v, want 1000000 bytes", info, err)
		}
		// a few bytes deep inside, across an entry's boundary
		rr := swDo(t, e, http.MethodGet, swPath(acct, cont, "sll-kk"), tok, map[string]string{"Range": "bytes=554998-555001"}, nil)
		swWant(t, "GET a range deep inside", rr, http.StatusPartialContent)
		if want := []byte{at(554998), at(554999), at(555000), at(555001)}; !bytes.Equal(rr.Body, want) || string(want) != "89ab" {
			t.Errorf("range 554998-555001: %q, want %q", rr.Body, want)
		}
		rr = swDo(t, e, http.MethodGet, swPath(acct, cont, "sll-kk"), tok, map[string]string{"Range": "bytes=-3"}, nil)
		if want := []byte{at(999997), at(999998), at(999999)}; !bytes.Equal(rr.Body, want) {
			t.Errorf("the last 3 bytes: %q, want %q", rr.Body, want)
		}
	})

	t.Run("depth_over_10", func(t *testing.T) {
		t.Parallel()
		prev := seg
		for d := 1; d <= 10; d++ {
			name := fmt.Sprintf("sll-depth%02d", d)
			r := slPutSLO(t, e, tok, acct, cont, name, sllEntries(prev, 1), nil)
			swWant(t, fmt.Sprintf("PUT a manifest %d deep", d), r, http.StatusCreated)
			prev = slSeg{cont: cont, name: name, body: []byte("x"), etag: strings.Trim(r.Header.Get("Etag"), `"`)}
		}
		if b, err := c.ObjectGetBytes(swCtx, cont, prev.name); err != nil || string(b) != "x" {
			t.Errorf("GET the 10-deep SLO: %q, %v", b, err)
		}
		r := slPutSLO(t, e, tok, acct, cont, "sll-depth11", sllEntries(prev, 1), nil)
		swWantErr(t, "PUT a manifest 11 deep", r, http.StatusBadRequest)
		sllWantMessage(t, "PUT a manifest 11 deep", r, "Max recursion depth exceeded")
		sllWantAbsent(t, c, cont, "sll-depth11")
	})

	t.Run("valid_nested", func(t *testing.T) {
		t.Parallel()
		segs := slSegs(t, e, tok, acct, cont, "sll-n/", 700, 70000, 13, 4000)
		inner, innerETags := slJoin(segs[0], segs[1])
		r := slPutSLO(t, e, tok, acct, cont, "sll-inner", slEntries(segs[0], segs[1]), nil)
		swWant(t, "PUT the inner SLO", r, http.StatusCreated)
		sub := slSeg{cont: cont, name: "sll-inner", body: inner, etag: strings.Trim(r.Header.Get("Etag"), `"`)}
		if want := slETag(innerETags...); `"`+sub.etag+`"` != want {
			t.Fatalf("inner SLO Etag %q, want %s", sub.etag, want)
		}

		r = slPutSLO(t, e, tok, acct, cont, "sll-outer", slEntries(sub, segs[2]), nil)
		swWant(t, "PUT an SLO with a nested SLO", r, http.StatusCreated)
		content, _ := slJoin(segs...)
		slWantWhole(t, e, tok, swPath(acct, cont, "sll-outer"), content, r.Header.Get("Etag"),
			map[string]string{"X-Static-Large-Object": "True"})
		if b, err := c.ObjectGetBytes(swCtx, cont, "sll-outer"); err != nil || !bytes.Equal(b, content) {
			t.Errorf("ObjectGetBytes of the nested SLO: %d bytes, %v", len(b), err)
		}
		if en := slListed(t, e, tok, acct, cont, "sll-outer"); en.Bytes != int64(len(content)) {
			t.Errorf("listing: the nested SLO has bytes %d, want %d", en.Bytes, len(content))
		}
	})
}
