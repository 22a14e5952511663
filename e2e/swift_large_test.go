package e2e

// Swift large objects (/tmp/swift/CONTRACT5.md, "Large objects"): dynamic
// large objects (X-Object-Manifest: the segments are the objects under a
// prefix at read time) and static large objects (?multipart-manifest=put:
// a JSON list of segments checked and pinned at write time), read whole,
// by ranges, through ncw/swift/v2's large object API, and through the S3
// and native dialects. Every name here starts with "sl".

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	slmultipart "mime/multipart"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ncw/swift/v2"
)

// slEmptyMD5 is the MD5 of nothing: the Etag of an empty concatenation.
const slEmptyMD5 = "d41d8cd98f00b204e9800998ecf8427e"

// slETag is a large object's Etag: the MD5 hex of the segments' etag
// strings concatenated, in quotes.
func slETag(etags ...string) string {
	return `"` + md5hex([]byte(strings.Join(etags, ""))) + `"`
}

// slSeg is an uploaded segment.
type slSeg struct {
	cont, name string
	body       []byte
	etag       string
}

// path is the segment's path in an SLO manifest: /container/object.
func (s slSeg) path() string { return "/" + s.cont + "/" + s.name }

// slPut PUTs a plain object and wants 201 with the MD5 of body as Etag.
func slPut(t testing.TB, e *Env, tok, acct, cont, name string, body []byte) slSeg {
	t.Helper()
	r := swDo(t, e, http.MethodPut, swPath(acct, cont, name), tok, nil, bytes.NewReader(body))
	swWant(t, "PUT "+cont+"/"+name, r, http.StatusCreated)
	if got := r.Header.Get("Etag"); got != md5hex(body) {
		t.Fatalf("PUT %s/%s: Etag %q, want %q", cont, name, got, md5hex(body))
	}
	return slSeg{cont: cont, name: name, body: body, etag: md5hex(body)}
}

// slSegs uploads one segment per size into cont, named prefix+"%02d"
// from 1, with contents from seed.
func slSegs(t testing.TB, e *Env, tok, acct, cont, prefix string, seed uint64, sizes ...int) []slSeg {
	t.Helper()
	var out []slSeg
	for i, n := range sizes {
		out = append(out, slPut(t, e, tok, acct, cont, fmt.Sprintf("%s%02d", prefix, i+1), randomBytes(seed+uint64(i), n)))
	}
	return out
}

// slJoin is the segments' bytes concatenated and their etags.
func slJoin(segs ...slSeg) ([]byte, []string) {
	var b []byte
	var etags []string
	for _, s := range segs {
		b = append(b, s.body...)
		etags = append(etags, s.etag)
	}
	return b, etags
}

// slEntries is an SLO manifest listing every segment with its etag and
// size.
func slEntries(segs ...slSeg) []map[string]any {
	var out []map[string]any
	for _, s := range segs {
		out = append(out, map[string]any{"path": s.path(), "etag": s.etag, "size_bytes": len(s.body)})
	}
	return out
}

// slPutSLO PUTs a manifest (any JSON value, or raw bytes) with
// ?multipart-manifest=put and returns the answer.
func slPutSLO(t testing.TB, e *Env, tok, acct, cont, name string, manifest any, hdr map[string]string) *Resp {
	t.Helper()
	body, ok := manifest.([]byte)
	if !ok {
		var err error
		if body, err = json.Marshal(manifest); err != nil {
			t.Fatal(err)
		}
	}
	return swDo(t, e, http.MethodPut, swPath(acct, cont, name)+"?multipart-manifest=put", tok, hdr, bytes.NewReader(body))
}

// slWantWhole GETs and HEADs path and wants 200 with content, its length,
// the Etag and the extra headers in want.
func slWantWhole(t testing.TB, e *Env, tok, path string, content []byte, etag string, want map[string]string) {
	t.Helper()
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r := swDo(t, e, m, path, tok, nil, nil)
		swWant(t, m+" "+path, r, http.StatusOK)
		if m == http.MethodGet && !bytes.Equal(r.Body, content) {
			t.Errorf("GET %s: %d bytes (md5 %s), want %d bytes (md5 %s)", path, len(r.Body), md5hex(r.Body), len(content), md5hex(content))
		}
		if got := r.Header.Get("Content-Length"); got != strconv.Itoa(len(content)) {
			t.Errorf("%s %s: Content-Length %q, want %d", m, path, got, len(content))
		}
		if got := r.Header.Get("Etag"); got != etag {
			t.Errorf("%s %s: Etag %s, want %s", m, path, got, etag)
		}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s %s: %s %q, want %q", m, path, k, got, v)
			}
		}
	}
}

// slWantRange GETs path with the Range header rng and wants 206 with
// content[lo:hi+1], its Content-Range and Content-Length.
func slWantRange(t testing.TB, e *Env, tok, path string, content []byte, rng string, lo, hi int) {
	t.Helper()
	r := swDo(t, e, http.MethodGet, path, tok, map[string]string{"Range": rng}, nil)
	swWant(t, "GET "+path+" Range "+rng, r, http.StatusPartialContent)
	want := content[lo : hi+1]
	if !bytes.Equal(r.Body, want) {
		t.Errorf("GET %s Range %s: %d bytes (md5 %s), want content[%d:%d] (%d bytes, md5 %s)", path, rng, len(r.Body), md5hex(r.Body),
			lo, hi+1, len(want), md5hex(want))
	}
	if got, wcr := r.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/%d", lo, hi, len(content)); got != wcr {
		t.Errorf("GET %s Range %s: Content-Range %q, want %q", path, rng, got, wcr)
	}
	if got := r.Header.Get("Content-Length"); got != strconv.Itoa(len(want)) {
		t.Errorf("GET %s Range %s: Content-Length %q, want %d", path, rng, got, len(want))
	}
}

// slWantMultiRange GETs path with a multi-range header and wants a 206
// multipart/byteranges body whose parts are the spans (inclusive) of
// content, each with its Content-Range and Content-Type ct.
func slWantMultiRange(t testing.TB, e *Env, tok, path string, content []byte, ct string, spans ...[2]int) {
	t.Helper()
	var rs []string
	for _, s := range spans {
		rs = append(rs, fmt.Sprintf("%d-%d", s[0], s[1]))
	}
	rng := "bytes=" + strings.Join(rs, ",")
	r := swDo(t, e, http.MethodGet, path, tok, map[string]string{"Range": rng}, nil)
	swWant(t, "GET "+path+" Range "+rng, r, http.StatusPartialContent)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
		t.Fatalf("GET %s Range %s: Content-Type %q (%v), want multipart/byteranges", path, rng, r.Header.Get("Content-Type"), err)
	}
	mr := slmultipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			if i != len(spans) {
				t.Errorf("GET %s Range %s: %d parts, want %d", path, rng, i, len(spans))
			}
			return
		}
		if err != nil {
			t.Fatalf("GET %s Range %s: part %d: %v", path, rng, i, err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("GET %s Range %s: part %d: %v", path, rng, i, err)
		}
		if i >= len(spans) {
			t.Errorf("GET %s Range %s: extra part %d (%s)", path, rng, i, part.Header.Get("Content-Range"))
			continue
		}
		lo, hi := spans[i][0], spans[i][1]
		if wcr := fmt.Sprintf("bytes %d-%d/%d", lo, hi, len(content)); part.Header.Get("Content-Range") != wcr {
			t.Errorf("GET %s Range %s: part %d Content-Range %q, want %q", path, rng, i, part.Header.Get("Content-Range"), wcr)
		}
		if part.Header.Get("Content-Type") != ct {
			t.Errorf("GET %s Range %s: part %d Content-Type %q, want %q", path, rng, i, part.Header.Get("Content-Type"), ct)
		}
		if !bytes.Equal(b, content[lo:hi+1]) {
			t.Errorf("GET %s Range %s: part %d is %d bytes (md5 %s), want content[%d:%d]", path, rng, i, len(b), md5hex(b), lo, hi+1)
		}
	}
}

// slListed is the JSON listing entry of name in cont (fatal if absent).
func slListed(t testing.TB, e *Env, tok, acct, cont, name string) swObjectEntry {
	t.Helper()
	var entries []swObjectEntry
	swListJSON(t, e, swPath(acct, cont), tok, &entries, "prefix", name)
	for _, en := range entries {
		if en.Name == name {
			return en
		}
	}
	t.Fatalf("listing of %s: no %q in %+v", cont, name, entries)
	return swObjectEntry{}
}

// slWantGone wants HEAD of each path to be 404.
func slWantGone(t testing.TB, e *Env, tok string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if r := swDo(t, e, http.MethodHead, p, tok, nil, nil); r.Status != http.StatusNotFound {
			t.Errorf("HEAD %s: status %d, want 404", p, r.Status)
		}
	}
}

// slWantBody wants GET of path to be 200 with body.
func slWantBody(t testing.TB, e *Env, tok, path string, body []byte) {
	t.Helper()
	r := swDo(t, e, http.MethodGet, path, tok, nil, nil)
	swWant(t, "GET "+path, r, http.StatusOK)
	if !bytes.Equal(r.Body, body) {
		t.Errorf("GET %s: %d bytes (md5 %s), want %d bytes (md5 %s)", path, len(r.Body), md5hex(r.Body), len(body), md5hex(body))
	}
}

// slTagRe matches an HTML tag, so an error body's lines can be read
// whether or not the server wraps them in HTML.
var slTagRe = regexp.MustCompile(`<[^>]*>`)

// slLines is the non-empty lines of an error body, tags taken as line
// breaks and each line trimmed.
func slLines(body []byte) []string {
	var out []string
	for _, l := range strings.Split(slTagRe.ReplaceAllString(string(body), "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestSwiftLarge_DLO: a dynamic large object is the concatenation, in
// name order and at read time, of the objects under its prefix.
func TestSwiftLarge_DLO(t *testing.T) {
	t.Parallel()
	e, acct, _, c := swStart(t, 1)
	tok := c.AuthToken
	cont := swContainer(t, c)
	segc := swContainer(t, c)
	op := func(name string) string { return swPath(acct, cont, name) }
	sp := func(name string) string { return swPath(acct, segc, name) }

	// segments uploaded out of name order: 70000 bytes (a blob), 13
	// (inline), 1000; and objects that are not under the prefix "big/"
	d3 := slPut(t, e, tok, acct, segc, "big/00000003", randomBytes(13, 1000))
	d1 := slPut(t, e, tok, acct, segc, "big/00000001", randomBytes(11, 70000))
	d2 := slPut(t, e, tok, acct, segc, "big/00000002", randomBytes(12, 13))
	for _, decoy := range []string{"big", "big0", "bigger/x", "bi/g"} {
		slPut(t, e, tok, acct, segc, decoy, []byte("not a segment: "+decoy))
	}
	manifest := segc + "/big/"
	r := swDo(t, e, http.MethodPut, op("dlo"), tok, map[string]string{"X-Object-Manifest": manifest, "Content-Type": "application/x-dlo"}, nil)
	swWant(t, "PUT the DLO manifest", r, http.StatusCreated)

	content, etags := slJoin(d1, d2, d3)
	dloHdr := map[string]string{"X-Object-Manifest": manifest, "Content-Type": "application/x-dlo"}
	slWantWhole(t, e, tok, op("dlo"), content, slETag(etags...), dloHdr)

	// the manifest itself
	r = swDo(t, e, http.MethodGet, op("dlo")+"?multipart-manifest=get", tok, nil, nil)
	swWant(t, "GET the DLO ?multipart-manifest=get", r, http.StatusOK)
	if len(r.Body) != 0 || r.Header.Get("Content-Length") != "0" || r.Header.Get("X-Object-Manifest") != manifest ||
		strings.Trim(r.Header.Get("Etag"), `"`) != slEmptyMD5 {
		t.Errorf("GET the DLO ?multipart-manifest=get: %d bytes, Content-Length %q, X-Object-Manifest %q, Etag %q; want the 0-byte manifest (Etag %s) with X-Object-Manifest %q",
			len(r.Body), r.Header.Get("Content-Length"), r.Header.Get("X-Object-Manifest"), r.Header.Get("Etag"), slEmptyMD5, manifest)
	}
	if en := slListed(t, e, tok, acct, cont, "dlo"); en.Bytes != 0 {
		t.Errorf("listing: the DLO manifest has bytes %d, want 0", en.Bytes)
	}

	// ranges across segment boundaries: d1 is [0, 70000), d2 [70000,
	// 70013), d3 [70013, 71013)
	slWantRange(t, e, tok, op("dlo"), content, "bytes=69995-70020", 69995, 70020)
	slWantRange(t, e, tok, op("dlo"), content, "bytes=70000-70012", 70000, 70012)
	slWantRange(t, e, tok, op("dlo"), content, "bytes=-1005", 70008, 71012)
	slWantRange(t, e, tok, op("dlo"), content, "bytes=69999-", 69999, 71012)
	slWantRange(t, e, tok, op("dlo"), content, "bytes=0-71012", 0, 71012)
	swWantErr(t, "DLO range past the end", swDo(t, e, http.MethodGet, op("dlo"), tok, map[string]string{"Range": "bytes=71013-"}, nil),
		http.StatusRequestedRangeNotSatisfiable)

	// the client reads it too, and seeks with ranges
	if got, err := c.ObjectGetBytes(swCtx, cont, "dlo"); err != nil || !bytes.Equal(got, content) {
		t.Errorf("ObjectGetBytes of the DLO: %d bytes, %v", len(got), err)
	}
	if info, h, err := c.Object(swCtx, cont, "dlo"); err != nil || info.Bytes != int64(len(content)) || !h.IsLargeObjectDLO() {
		t.Errorf("Object of the DLO: %+v %v %v", info, h, err)
	}
	slClientSeek(t, c, cont, "dlo", content, 69990, 40)

	// segments added after the manifest are read, in name order
	d2a := slPut(t, e, tok, acct, segc, "big/00000002a", randomBytes(14, 5000))
	d4 := slPut(t, e, tok, acct, segc, "big/00000004", randomBytes(15, 70001))
	content, etags = slJoin(d1, d2, d2a, d3, d4)
	slWantWhole(t, e, tok, op("dlo"), content, slETag(etags...), dloHdr)
	slWantRange(t, e, tok, op("dlo"), content, "bytes=70005-75020", 70005, 75020) // d2, d2a, d3
	// an overwritten segment is read as it is now
	d2 = slPut(t, e, tok, acct, segc, "big/00000002", randomBytes(16, 21))
	// a deleted one is gone from the content
	swWant(t, "DELETE segment 1", swDo(t, e, http.MethodDelete, sp("big/00000001"), tok, nil, nil), http.StatusNoContent)
	content, etags = slJoin(d2, d2a, d3, d4)
	slWantWhole(t, e, tok, op("dlo"), content, slETag(etags...), dloHdr)
	slWantRange(t, e, tok, op("dlo"), content, "bytes=10-6030", 10, 6030)

	t.Run("same_container", func(t *testing.T) {
		t.Parallel()
		a := slPut(t, e, tok, acct, cont, "same/1", randomBytes(21, 100))
		b := slPut(t, e, tok, acct, cont, "same/2", randomBytes(22, 200))
		r := swDo(t, e, http.MethodPut, op("same"), tok, map[string]string{"X-Object-Manifest": cont + "/same/"}, strings.NewReader(""))
		swWant(t, "PUT a DLO manifest beside its segments", r, http.StatusCreated)
		content, etags := slJoin(a, b)
		slWantWhole(t, e, tok, op("same"), content, slETag(etags...), map[string]string{"X-Object-Manifest": cont + "/same/"})
	})

	t.Run("no_segments", func(t *testing.T) {
		t.Parallel()
		r := swDo(t, e, http.MethodPut, op("empty-dlo"), tok, map[string]string{"X-Object-Manifest": segc + "/nothing-here/"}, nil)
		swWant(t, "PUT a DLO manifest with no segments", r, http.StatusCreated)
		slWantWhole(t, e, tok, op("empty-dlo"), nil, `"`+slEmptyMD5+`"`, map[string]string{"X-Object-Manifest": segc + "/nothing-here/"})
		// the first segment appears
		seg := slPut(t, e, tok, acct, segc, "nothing-here/a", randomBytes(23, 77))
		slWantWhole(t, e, tok, op("empty-dlo"), seg.body, slETag(seg.etag), nil)
	})

	t.Run("other_account", func(t *testing.T) {
		t.Parallel()
		// a manifest naming another account's container must not read it
		acct2, k2 := e.Account(t)
		c2 := e.Swift(t, k2.ID, k2.Value, 1)
		fc := swContainer(t, c2)
		secret := randomBytes(31, 3000)
		slPut(t, e, c2.AuthToken, acct2, fc, "f/1", secret)
		r := swDo(t, e, http.MethodPut, op("foreign"), tok, map[string]string{"X-Object-Manifest": fc + "/f/"}, nil)
		if r.Status == http.StatusCreated {
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				g := swDo(t, e, m, op("foreign"), tok, nil, nil)
				if bytes.Contains(g.Body, secret[:64]) || g.Header.Get("Content-Length") == strconv.Itoa(len(secret)) {
					t.Errorf("%s of a DLO naming another account's container %s: %d, %d bytes, Content-Length %s: the other account's object leaked",
						m, fc, g.Status, len(g.Body), g.Header.Get("Content-Length"))
				}
			}
		} else if r.Status < 400 || r.Status >= 500 {
			t.Errorf("PUT a DLO manifest naming another account's container: status %d, want 201 (then unreadable) or a 4xx", r.Status)
		}
	})

	t.Run("restricted_key", func(t *testing.T) {
		t.Parallel()
		// a key that may write cont but not read segc must not read segc
		// through a manifest
		rk := e.CreateKey(t, KeySpec{Account: acct, Admin: false, Access: map[string]string{cont: "write"}})
		rtok := swToken(t, e, rk)
		hidden := slPut(t, e, tok, acct, segc, "hidden/1", randomBytes(41, 2500))
		if r := swDo(t, e, http.MethodGet, sp(hidden.name), rtok, nil, nil); r.Status != http.StatusForbidden {
			t.Fatalf("GET %s with a key without access to it: %d, want 403", hidden.name, r.Status)
		}
		r := swDo(t, e, http.MethodPut, op("rk-dlo"), rtok, map[string]string{"X-Object-Manifest": segc + "/hidden/"}, nil)
		if r.Status == http.StatusCreated {
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				g := swDo(t, e, m, op("rk-dlo"), rtok, nil, nil)
				if bytes.Contains(g.Body, hidden.body[:64]) || g.Header.Get("Content-Length") == strconv.Itoa(len(hidden.body)) {
					t.Errorf("%s of a DLO over a container the key may not read: %d, %d bytes, Content-Length %s: the segment leaked",
						m, g.Status, len(g.Body), g.Header.Get("Content-Length"))
				}
			}
			// nor through the other dialects
			if n := natGet(t, e, rk.Value, cont, "rk-dlo"); bytes.Contains(n.Body, hidden.body[:64]) {
				t.Errorf("native getfile of a DLO over a container the key may not read: %d, %d bytes: the segment leaked", n.Status, len(n.Body))
			}
			out, err := e.S3(t, rk.ID, rk.Value).GetObject(context.Background(), &s3.GetObjectInput{Bucket: &cont, Key: aws.String("rk-dlo")})
			if err == nil {
				b, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if bytes.Contains(b, hidden.body[:64]) {
					t.Errorf("S3 GetObject of a DLO over a container the key may not read: %d bytes: the segment leaked", len(b))
				}
			}
		} else if r.Status < 400 || r.Status >= 500 {
			t.Errorf("PUT a DLO manifest over a container the key may not read: status %d, want 201 (then unreadable) or a 4xx", r.Status)
		}
	})
}

// slClientSeek opens name with the client, seeks to off and reads n
// bytes (the client turns the seek into a Range request).
func slClientSeek(t testing.TB, c *swift.Connection, cont, name string, content []byte, off int64, n int) {
	t.Helper()
	f, _, err := c.ObjectOpen(swCtx, cont, name, true, nil)
	if err != nil {
		t.Errorf("ObjectOpen %s: %v", name, err)
		return
	}
	defer f.Close()
	if pos, err := f.Seek(swCtx, off, io.SeekStart); err != nil || pos != off {
		t.Errorf("ObjectOpen %s: Seek(%d): %d %v", name, off, pos, err)
		return
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(f, buf); err != nil || !bytes.Equal(buf, content[off:off+int64(n)]) {
		t.Errorf("ObjectOpen %s: %d bytes at %d: %v, or not the content", name, n, off, err)
	}
	if l, err := f.Length(swCtx); err != nil || l != int64(len(content)) {
		t.Errorf("ObjectOpen %s: Length %d %v, want %d", name, l, err, len(content))
	}
}

// slManifestEntry is one entry of GET ?multipart-manifest=get.
type slManifestEntry struct {
	Name         string `json:"name"`
	Hash         string `json:"hash"`
	Bytes        int64  `json:"bytes"`
	ContentType  string `json:"content_type"`
	LastModified string `json:"last_modified"`
}

// slBulkReport is the bulk-delete style answer of
// DELETE ?multipart-manifest=delete.
type slBulkReport struct {
	NumberDeleted  *int       `json:"Number Deleted"`
	NumberNotFound *int       `json:"Number Not Found"`
	ResponseStatus string     `json:"Response Status"`
	ResponseBody   *string    `json:"Response Body"`
	Errors         [][]string `json:"Errors"`
}

// TestSwiftLarge_SLO: static large objects: the manifest checks its
// segments, reads whole and by ranges, is listed with its total size,
// keeps its content when the segments change, and deletes with or
// without its segments.
func TestSwiftLarge_SLO(t *testing.T) {
	t.Parallel()
	e, acct, _, c := swStart(t, 1)
	tok := c.AuthToken
	cont := swContainer(t, c)
	segc := swContainer(t, c)
	op := func(name string) string { return swPath(acct, cont, name) }
	sp := func(name string) string { return swPath(acct, segc, name) }

	t.Run("put_get", func(t *testing.T) {
		t.Parallel()
		// 70000 (blob), 13 (inline), 65537 (blob), 1000 bytes in segc, and
		// one segment beside the manifest
		segs := slSegs(t, e, tok, acct, segc, "pg/", 100, 70000, 13, 65537, 1000)
		local := slPut(t, e, tok, acct, cont, "pg-local-seg", randomBytes(110, 4321))
		segs = append(segs, local)
		entries := slEntries(segs...)
		entries[1]["etag"], entries[1]["size_bytes"] = nil, nil // null: not checked
		delete(entries[2], "size_bytes")                        // absent: not checked
		delete(entries[3], "etag")
		delete(entries[4], "etag")
		delete(entries[4], "size_bytes")
		content, etags := slJoin(segs...)
		etag := slETag(etags...)
		total := len(content)

		r := slPutSLO(t, e, tok, acct, cont, "slo", entries, map[string]string{"Content-Type": "application/x-slo"})
		swWant(t, "PUT the SLO manifest", r, http.StatusCreated)
		if got := r.Header.Get("Etag"); got != etag {
			t.Errorf("PUT the SLO manifest: Etag %s, want %s (quoted MD5 of the segment etags)", got, etag)
		}
		sloHdr := map[string]string{"X-Static-Large-Object": "True", "Content-Type": "application/x-slo"}
		slWantWhole(t, e, tok, op("slo"), content, etag, sloHdr)

		// boundaries: 70000, 70013, 135550, 136550; total 140871
		slWantRange(t, e, tok, op("slo"), content, "bytes=69990-70020", 69990, 70020)
		slWantRange(t, e, tok, op("slo"), content, "bytes=70000-70012", 70000, 70012)
		slWantRange(t, e, tok, op("slo"), content, "bytes=135540-136560", 135540, 136560)
		slWantRange(t, e, tok, op("slo"), content, fmt.Sprintf("bytes=-%d", 4321+10), total-4331, total-1)
		slWantRange(t, e, tok, op("slo"), content, "bytes=1-", 1, total-1)
		slWantMultiRange(t, e, tok, op("slo"), content, "application/x-slo",
			[2]int{0, 9}, [2]int{69995, 70020}, [2]int{135549, 136551}, [2]int{total - 5, total - 1})
		swWantErr(t, "SLO range past the end", swDo(t, e, http.MethodGet, op("slo"), tok,
			map[string]string{"Range": fmt.Sprintf("bytes=%d-", total)}, nil), http.StatusRequestedRangeNotSatisfiable)

		// the manifest as JSON
		r = swDo(t, e, http.MethodGet, op("slo")+"?multipart-manifest=get", tok, nil, nil)
		swWant(t, "GET the SLO ?multipart-manifest=get", r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET the SLO ?multipart-manifest=get: Content-Type %q, want application/json", ct)
		}
		var got []slManifestEntry
		r.JSON(t, &got)
		if len(got) != len(segs) {
			t.Fatalf("GET ?multipart-manifest=get: %d entries, want %d: %s", len(got), len(segs), r.Body)
		}
		for i, s := range segs {
			g := got[i]
			if g.Name != s.path() || g.Hash != s.etag || g.Bytes != int64(len(s.body)) || g.ContentType == "" || g.LastModified == "" {
				t.Errorf("GET ?multipart-manifest=get: entry %d %+v, want name %s hash %s bytes %d and a content type and time",
					i, g, s.path(), s.etag, len(s.body))
			}
		}

		if en := slListed(t, e, tok, acct, cont, "slo"); en.Bytes != int64(total) {
			t.Errorf("listing: the SLO has bytes %d, want the total %d", en.Bytes, total)
		}

		// the client
		if b, err := c.ObjectGetBytes(swCtx, cont, "slo"); err != nil || !bytes.Equal(b, content) {
			t.Errorf("ObjectGetBytes of the SLO: %d bytes, %v", len(b), err)
		}
		if info, h, err := c.Object(swCtx, cont, "slo"); err != nil || info.Bytes != int64(total) || !h.IsLargeObjectSLO() {
			t.Errorf("Object of the SLO: %+v %v %v", info, h, err)
		}
		slClientSeek(t, c, cont, "slo", content, 135545, 1010)
		if _, segsGot, err := c.LargeObjectGetSegments(swCtx, cont, "slo"); err != nil || len(segsGot) != len(segs) {
			t.Errorf("LargeObjectGetSegments of the SLO: %d segments, %v; want %d", len(segsGot), err, len(segs))
		}
	})

	t.Run("bad_manifests", func(t *testing.T) {
		t.Parallel()
		segs := slSegs(t, e, tok, acct, segc, "bad/", 200, 1000, 70000, 17, 300)
		// a plain object where the manifest would go keeps its content
		old := slPut(t, e, tok, acct, cont, "bad-slo", []byte("the object before"))
		entries := slEntries(segs...)
		missing := map[string]any{"path": "/" + segc + "/bad/none", "etag": md5hex([]byte("x")), "size_bytes": 1}
		entries[1]["etag"] = md5hex([]byte("something else"))
		entries[2]["size_bytes"] = 18
		entries = slices.Insert(entries, 1, missing)
		r := slPutSLO(t, e, tok, acct, cont, "bad-slo", entries, nil)
		swWant(t, "PUT an SLO manifest with three bad segments", r, http.StatusBadRequest)
		lines := slLines(r.Body)
		for _, want := range []string{
			"/" + segc + "/bad/none, 404 Not Found",
			segs[1].path() + ", Etag Mismatch",
			segs[2].path() + ", Size Mismatch",
		} {
			if !slices.Contains(lines, want) {
				t.Errorf("PUT an SLO manifest with bad segments: no line %q in the 400 body %q", want, r.Body)
			}
		}
		for _, good := range []slSeg{segs[0], segs[3]} {
			for _, l := range lines {
				if strings.Contains(l, good.path()) {
					t.Errorf("PUT an SLO manifest with bad segments: the good segment %s is reported: %q", good.path(), l)
				}
			}
		}
		// nothing stored
		g := swDo(t, e, http.MethodGet, op("bad-slo"), tok, nil, nil)
		if g.Status != http.StatusOK || !bytes.Equal(g.Body, old.body) || g.Header.Get("X-Static-Large-Object") != "" || g.Header.Get("Etag") != old.etag {
			t.Errorf("GET after a refused manifest: %d %q %v, want the object as before", g.Status, g.Body, g.Header)
		}

		// one bad segment each way, to a new name: 400 and nothing there
		for name, mod := range map[string]func([]map[string]any) []map[string]any{
			"missing":  func(m []map[string]any) []map[string]any { return append(m, missing) },
			"etag":     func(m []map[string]any) []map[string]any { m[0]["etag"] = slEmptyMD5; return m },
			"size":     func(m []map[string]any) []map[string]any { m[3]["size_bytes"] = 299; return m },
			"size_big": func(m []map[string]any) []map[string]any { m[1]["size_bytes"] = 70001; return m },
		} {
			r := slPutSLO(t, e, tok, acct, cont, "bad-"+name, mod(slEntries(segs...)), nil)
			swWant(t, "PUT an SLO manifest with a bad segment ("+name+")", r, http.StatusBadRequest)
			if n := len(slLines(r.Body)); n == 0 {
				t.Errorf("PUT an SLO manifest with a bad segment (%s): empty 400 body", name)
			}
			slWantGone(t, e, tok, op("bad-"+name))
		}
		for name, body := range map[string][]byte{
			"empty-list": []byte("[]"),
			"not-json":   []byte("this is not JSON"),
			"truncated":  []byte(`[{"path": "/` + segc + `/bad/01", "etag": null`),
		} {
			r := slPutSLO(t, e, tok, acct, cont, "bad-"+name, body, nil)
			swWant(t, "PUT an SLO manifest: "+name, r, http.StatusBadRequest)
			slWantGone(t, e, tok, op("bad-"+name))
		}
		// the segments themselves are untouched
		for _, s := range segs {
			slWantBody(t, e, tok, sp(s.name), s.body)
		}
	})

	t.Run("unreadable_segments", func(t *testing.T) {
		t.Parallel()
		// another account's object is not a segment this account has
		acct2, k2 := e.Account(t)
		c2 := e.Swift(t, k2.ID, k2.Value, 1)
		fc := swContainer(t, c2)
		foreign := slPut(t, e, c2.AuthToken, acct2, fc, "f/1", randomBytes(250, 3000))
		r := slPutSLO(t, e, tok, acct, cont, "foreign-slo", slEntries(foreign), nil)
		swWant(t, "PUT an SLO manifest naming another account's object", r, http.StatusBadRequest)
		if lines := slLines(r.Body); !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, foreign.path()+", ") }) {
			t.Errorf("PUT an SLO manifest naming another account's object: %s not reported in %q", foreign.path(), r.Body)
		}
		slWantGone(t, e, tok, op("foreign-slo"))
		// nor one in a container the key may not read
		rk := e.CreateKey(t, KeySpec{Account: acct, Admin: false, Access: map[string]string{cont: "write"}})
		rtok := swToken(t, e, rk)
		hidden := slPut(t, e, tok, acct, segc, "hidden-seg", randomBytes(251, 2000))
		r = slPutSLO(t, e, rtok, acct, cont, "hidden-slo", slEntries(hidden), nil)
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("PUT an SLO manifest over an object the key may not read: status %d, want a 4xx", r.Status)
		}
		slWantGone(t, e, tok, op("hidden-slo"))
	})

	t.Run("pinned", func(t *testing.T) {
		t.Parallel()
		segs := slSegs(t, e, tok, acct, segc, "pin/", 300, 70000, 500, 70000)
		content, etags := slJoin(segs...)
		r := slPutSLO(t, e, tok, acct, cont, "pinned", slEntries(segs...), nil)
		swWant(t, "PUT the SLO manifest", r, http.StatusCreated)
		// overwrite the middle segment, delete the last: the SLO reads as
		// it was written
		slPut(t, e, tok, acct, segc, segs[1].name, randomBytes(399, 600))
		swWant(t, "DELETE the last segment", swDo(t, e, http.MethodDelete, sp(segs[2].name), tok, nil, nil), http.StatusNoContent)
		slWantGone(t, e, tok, sp(segs[2].name))
		slWantWhole(t, e, tok, op("pinned"), content, slETag(etags...), map[string]string{"X-Static-Large-Object": "True"})
		slWantRange(t, e, tok, op("pinned"), content, "bytes=69999-70600", 69999, 70600)
		if en := slListed(t, e, tok, acct, cont, "pinned"); en.Bytes != int64(len(content)) {
			t.Errorf("listing: the pinned SLO has bytes %d, want %d", en.Bytes, len(content))
		}
	})

	t.Run("multipart_delete", func(t *testing.T) {
		t.Parallel()
		segs := slSegs(t, e, tok, acct, segc, "del/", 400, 70000, 10, 2000)
		keep := slPut(t, e, tok, acct, segc, "del-keep", []byte("not in the manifest"))
		swWant(t, "PUT the SLO manifest", slPutSLO(t, e, tok, acct, cont, "del", slEntries(segs...), nil), http.StatusCreated)
		r := swDo(t, e, http.MethodDelete, op("del")+"?multipart-manifest=delete", tok, map[string]string{"Accept": "application/json"}, nil)
		swWant(t, "DELETE ?multipart-manifest=delete", r, http.StatusOK)
		var rep slBulkReport
		r.JSON(t, &rep)
		if rep.NumberDeleted == nil || *rep.NumberDeleted != len(segs)+1 || rep.NumberNotFound == nil || *rep.NumberNotFound != 0 ||
			rep.ResponseStatus != "200 OK" || len(rep.Errors) != 0 {
			t.Errorf("DELETE ?multipart-manifest=delete: %s, want Number Deleted %d, Number Not Found 0, Response Status 200 OK, no Errors",
				r.Body, len(segs)+1)
		}
		slWantGone(t, e, tok, op("del"), sp(segs[0].name), sp(segs[1].name), sp(segs[2].name))
		slWantBody(t, e, tok, sp(keep.name), keep.body)
		var entries []swObjectEntry
		swListJSON(t, e, swPath(acct, segc), tok, &entries, "prefix", "del/")
		if len(entries) != 0 {
			t.Errorf("listing after DELETE ?multipart-manifest=delete: %+v, want no segments", entries)
		}
	})

	t.Run("plain_delete", func(t *testing.T) {
		t.Parallel()
		segs := slSegs(t, e, tok, acct, segc, "pdel/", 500, 70000, 10)
		swWant(t, "PUT the SLO manifest", slPutSLO(t, e, tok, acct, cont, "pdel", slEntries(segs...), nil), http.StatusCreated)
		swWant(t, "plain DELETE of the SLO", swDo(t, e, http.MethodDelete, op("pdel"), tok, nil, nil), http.StatusNoContent)
		slWantGone(t, e, tok, op("pdel"))
		for _, s := range segs {
			slWantBody(t, e, tok, sp(s.name), s.body)
		}
	})
}

// TestSwiftLarge_Client: ncw/swift/v2's own large object writers
// (StaticLargeObjectCreate, DynamicLargeObjectCreate, appending), readers
// and deleters.
func TestSwiftLarge_Client(t *testing.T) {
	t.Parallel()
	e := Start(t)
	_, k := e.Account(t)
	c := e.Swift(t, k.ID, k.Value, 3)
	cont := swContainer(t, c)
	segc := swContainer(t, c)

	info, err := c.QueryInfo(swCtx)
	if err != nil || !info.SupportsSLO() {
		t.Fatalf("/info: SLO not listed (%v): %v", err, info)
	}

	// write writes data to the large object in pieces of odd sizes.
	write := func(t *testing.T, f swift.LargeObjectFile, data []byte) {
		t.Helper()
		for off, step := 0, 777; off < len(data); off, step = off+step, step*3+1 {
			end := min(off+step, len(data))
			if n, err := f.Write(data[off:end]); err != nil || n != end-off {
				t.Fatalf("Write [%d:%d]: %d %v", off, end, n, err)
			}
		}
	}
	check := func(t *testing.T, name string, data []byte, dlo bool, nseg int) {
		t.Helper()
		if got, err := c.ObjectGetBytes(swCtx, cont, name); err != nil || !bytes.Equal(got, data) {
			t.Errorf("ObjectGetBytes %s: %d bytes (md5 %s) %v, want %d bytes (md5 %s)", name, len(got), md5hex(got), err, len(data), md5hex(data))
		}
		inf, h, err := c.Object(swCtx, cont, name)
		if err != nil || inf.Bytes != int64(len(data)) || h.IsLargeObjectDLO() != dlo || h.IsLargeObjectSLO() == dlo {
			t.Errorf("Object %s: %+v %v %v", name, inf, h, err)
		}
		slClientSeek(t, c, cont, name, data, 99990, 300)
		_, segs, err := c.LargeObjectGetSegments(swCtx, cont, name)
		if err != nil || len(segs) != nseg {
			t.Errorf("LargeObjectGetSegments %s: %d segments %v, want %d", name, len(segs), err, nseg)
		}
		var sum int64
		for _, s := range segs {
			sum += s.Bytes
		}
		if sum != int64(len(data)) {
			t.Errorf("LargeObjectGetSegments %s: segments of %d bytes, want %d", name, sum, len(data))
		}
	}
	gone := func(t *testing.T, name, prefix string) {
		t.Helper()
		if _, _, err := c.Object(swCtx, cont, name); err != swift.ObjectNotFound {
			t.Errorf("Object %s after deleting it: %v, want ObjectNotFound", name, err)
		}
		names, err := c.ObjectNamesAll(swCtx, segc, &swift.ObjectsOpts{Prefix: prefix})
		if err != nil || len(names) != 0 {
			t.Errorf("segments of %s after deleting it: %q %v, want none", name, names, err)
		}
	}

	t.Run("static", func(t *testing.T) {
		t.Parallel()
		data := randomBytes(600, 350001)
		f, err := c.StaticLargeObjectCreate(swCtx, &swift.LargeObjectOpts{Container: cont, ObjectName: "client/slo.bin",
			ContentType: "application/x-client-slo", ChunkSize: 100000, SegmentContainer: segc, SegmentPrefix: "slo-segs"})
		if err != nil {
			t.Fatalf("StaticLargeObjectCreate: %v", err)
		}
		write(t, f, data)
		if err := f.Close(); err != nil {
			t.Fatalf("Close (PUT ?multipart-manifest=put): %v", err)
		}
		check(t, "client/slo.bin", data, false, 4)
		if err := c.StaticLargeObjectDelete(swCtx, cont, "client/slo.bin"); err != nil {
			t.Fatalf("StaticLargeObjectDelete: %v", err)
		}
		gone(t, "client/slo.bin", "slo-segs")
	})

	t.Run("dynamic", func(t *testing.T) {
		t.Parallel()
		data := randomBytes(700, 250000)
		opts := &swift.LargeObjectOpts{Container: cont, ObjectName: "client/dlo.bin", ContentType: "application/x-client-dlo",
			ChunkSize: 100000, SegmentContainer: segc, SegmentPrefix: "dlo-segs"}
		f, err := c.DynamicLargeObjectCreate(swCtx, opts)
		if err != nil {
			t.Fatalf("DynamicLargeObjectCreate: %v", err)
		}
		write(t, f, data)
		if err := f.Close(); err != nil { // PUTs the manifest and waits for the size to show
			t.Fatalf("Close (PUT with X-Object-Manifest): %v", err)
		}
		check(t, "client/dlo.bin", data, true, 3)

		// append: the client lists the segments and adds more
		more := randomBytes(701, 120000)
		f, err = c.DynamicLargeObjectCreateFile(swCtx, &swift.LargeObjectOpts{Container: cont, ObjectName: "client/dlo.bin",
			Flags: os.O_APPEND, ContentType: "application/x-client-dlo", ChunkSize: 100000, SegmentContainer: segc})
		if err != nil {
			t.Fatalf("DynamicLargeObjectCreateFile (append): %v", err)
		}
		write(t, f, more)
		if err := f.Close(); err != nil {
			t.Fatalf("Close after appending: %v", err)
		}
		check(t, "client/dlo.bin", append(slices.Clone(data), more...), true, 5)

		if err := c.DynamicLargeObjectDelete(swCtx, cont, "client/dlo.bin"); err != nil {
			t.Fatalf("DynamicLargeObjectDelete: %v", err)
		}
		gone(t, "client/dlo.bin", "dlo-segs")
	})
}

// TestSwiftLarge_CrossDialect: native getfile and S3 GetObject read a DLO
// and an SLO manifest as the whole content, with the same bytes and length
// as Swift GET, and by ranges.
func TestSwiftLarge_CrossDialect(t *testing.T) {
	t.Parallel()
	e, acct, k, c := swStart(t, 2)
	tok := c.AuthToken
	cont := swContainer(t, c)
	segc := swContainer(t, c)
	s3c := e.S3(t, k.ID, k.Value)
	ctx := context.Background()

	dsegs := slSegs(t, e, tok, acct, segc, "d/", 800, 70000, 33, 66000)
	r := swDo(t, e, http.MethodPut, swPath(acct, cont, "x/dlo"), tok, map[string]string{"X-Object-Manifest": segc + "/d/"}, nil)
	swWant(t, "PUT the DLO manifest", r, http.StatusCreated)
	ssegs := slSegs(t, e, tok, acct, segc, "s/", 900, 1000, 70000, 65536, 5)
	swWant(t, "PUT the SLO manifest", slPutSLO(t, e, tok, acct, cont, "x/slo", slEntries(ssegs...), nil), http.StatusCreated)

	for _, tc := range []struct {
		name string
		segs []slSeg
		lo   int // a range across two boundaries
		hi   int
	}{
		{"x/dlo", dsegs, 69990, 70040},
		{"x/slo", ssegs, 990, 71010},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			content, _ := slJoin(tc.segs...)
			total := strconv.Itoa(len(content))
			rng := fmt.Sprintf("bytes=%d-%d", tc.lo, tc.hi)
			cr := fmt.Sprintf("bytes %d-%d/%d", tc.lo, tc.hi, len(content))
			part := content[tc.lo : tc.hi+1]

			sw := swDo(t, e, http.MethodGet, swPath(acct, cont, tc.name), tok, nil, nil)
			swWant(t, "Swift GET", sw, http.StatusOK)
			if !bytes.Equal(sw.Body, content) || sw.Header.Get("Content-Length") != total {
				t.Errorf("Swift GET %s: %d bytes, Content-Length %s; want %d bytes", tc.name, len(sw.Body), sw.Header.Get("Content-Length"), len(content))
			}

			nat := natGet(t, e, k.Value, cont, tc.name)
			if nat.Status != http.StatusOK || !bytes.Equal(nat.Body, content) || nat.Header.Get("Content-Length") != total {
				t.Errorf("native getfile %s: %d, %d bytes (md5 %s), Content-Length %q; want 200, %d bytes (md5 %s) as Swift GET: %.200s",
					tc.name, nat.Status, len(nat.Body), md5hex(nat.Body), nat.Header.Get("Content-Length"), len(content), md5hex(content), nat.Body)
			}
			nr := e.Do(t, Req{Fn: "getfile", Key: k.Value, Query: Q("sid", cont, "path", tc.name), Header: map[string]string{"Range": rng}})
			if nr.Status != http.StatusPartialContent || !bytes.Equal(nr.Body, part) || nr.Header.Get("Content-Range") != cr {
				t.Errorf("native getfile %s Range %s: %d, %d bytes, Content-Range %q; want 206, %d bytes, %q: %.200s",
					tc.name, rng, nr.Status, len(nr.Body), nr.Header.Get("Content-Range"), len(part), cr, nr.Body)
			}

			out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &cont, Key: aws.String(tc.name)})
			if err != nil {
				t.Errorf("S3 GetObject %s: %v", tc.name, err)
			} else {
				b, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err != nil || !bytes.Equal(b, content) || aws.ToInt64(out.ContentLength) != int64(len(content)) {
					t.Errorf("S3 GetObject %s: %d bytes (md5 %s) %v, ContentLength %d; want %d bytes (md5 %s) as Swift GET",
						tc.name, len(b), md5hex(b), err, aws.ToInt64(out.ContentLength), len(content), md5hex(content))
				}
			}
			out, err = s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &cont, Key: aws.String(tc.name), Range: aws.String(rng)})
			if err != nil {
				t.Errorf("S3 GetObject %s Range %s: %v", tc.name, rng, err)
			} else {
				b, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err != nil || !bytes.Equal(b, part) || aws.ToString(out.ContentRange) != cr || aws.ToInt64(out.ContentLength) != int64(len(part)) {
					t.Errorf("S3 GetObject %s Range %s: %d bytes %v, ContentRange %q, ContentLength %d; want %d bytes, %q",
						tc.name, rng, len(b), err, aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength), len(part), cr)
				}
			}
		})
	}
}
