package e2e

// Limits on Swift static large object manifests (issue 16, finding 5):
// Swift's max_manifest_segments (1000 entries, 413 "Number of
// object-backed segments must be <= 1000") and max_manifest_size (8 MiB,
// 413 "Manifest File > 8388608 bytes"), and Cairn's bound on the segments
// an SLO holds once nested SLOs are flattened into it (1000, 400). Each
// refused manifest stores nothing; a 1000 x 1000 nested manifest is
// refused at once instead of burning CPU into a 503. Every name here
// starts with "sll".

import (
	"bytes"
	"errors"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

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
	e, acct, _, c := swStart(t, 1)
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

	t.Run("flattened_total_over_cap", func(t *testing.T) {
		t.Parallel()
		r := slPutSLO(t, e, tok, acct, cont, "sll-600", sllEntries(seg, 600), nil)
		swWant(t, "PUT an SLO of 600 segments", r, http.StatusCreated)
		sub := slSeg{cont: cont, name: "sll-600", body: bytes.Repeat([]byte("x"), 600), etag: strings.Trim(r.Header.Get("Etag"), `"`)}

		// two of them flatten to 1200 segments
		r = slPutSLO(t, e, tok, acct, cont, "sll-1200", sllEntries(sub, 2), nil)
		swWantErr(t, "PUT a manifest flattening to 1200 segments", r, http.StatusBadRequest)
		sllWantMessage(t, "PUT a manifest flattening to 1200 segments", r, "at most 1000 segments")
		sllWantAbsent(t, c, cont, "sll-1200")

		// one of them and 401 plain segments: 1001
		entries := append(sllEntries(sub, 1), sllEntries(seg, 401)...)
		r = slPutSLO(t, e, tok, acct, cont, "sll-1001-flat", entries, nil)
		swWantErr(t, "PUT a manifest flattening to 1001 segments", r, http.StatusBadRequest)
		sllWantAbsent(t, c, cont, "sll-1001-flat")

		// one of them and 400 plain segments: exactly 1000
		entries = append(sllEntries(sub, 1), sllEntries(seg, 400)...)
		r = slPutSLO(t, e, tok, acct, cont, "sll-1000-flat", entries, nil)
		swWant(t, "PUT a manifest flattening to 1000 segments", r, http.StatusCreated)
		if b, err := c.ObjectGetBytes(swCtx, cont, "sll-1000-flat"); err != nil || len(b) != 1000 {
			t.Errorf("ObjectGetBytes of the 1000-segment nested SLO: %d bytes, %v", len(b), err)
		}
	})

	t.Run("thousand_by_thousand", func(t *testing.T) {
		t.Parallel()
		r := slPutSLO(t, e, tok, acct, cont, "sll-k", sllEntries(seg, 1000), nil)
		swWant(t, "PUT an SLO of 1000 segments", r, http.StatusCreated)
		sub := slSeg{cont: cont, name: "sll-k", body: bytes.Repeat([]byte("x"), 1000), etag: strings.Trim(r.Header.Get("Etag"), `"`)}

		start := time.Now()
		r = slPutSLO(t, e, tok, acct, cont, "sll-kk", sllEntries(sub, 1000), nil)
		took := time.Since(start)
		// a million flattened segments: refused as a client mistake, never
		// a retryable 503 after the work was done
		swWantErr(t, "PUT a 1000 x 1000 nested manifest", r, http.StatusBadRequest)
		sllWantMessage(t, "PUT a 1000 x 1000 nested manifest", r, "at most 1000 segments")
		sllWantAbsent(t, c, cont, "sll-kk")
		t.Logf("a 1000 x 1000 nested manifest was refused in %v", took)
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
