package e2e

// Swift objects (/tmp/swift/CONTRACT.md): PUT, GET/HEAD with ranges and
// conditions, POST, stored headers, container defaults, CORS and DELETE,
// through ncw/swift/v2 and raw requests.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"mime"
	swmultipart "mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
)

// swObjBody is a 20-byte object body for the range tests.
const swObjBody = "0123456789abcdefghij"

// TestSwift_Object: PUT (chunked, Etag checks, content types, metadata),
// GET/HEAD with ranges and conditions, POST, stored headers, container
// defaults, CORS and DELETE.
func TestSwift_Object(t *testing.T) {
	t.Parallel()
	e, acct, _, c := swStart(t, 3)
	tok := c.AuthToken
	cont := swContainer(t, c)
	op := func(name string) string { return swPath(acct, cont, name) }

	t.Run("chunked_put", func(t *testing.T) {
		t.Parallel()
		chunk := bytes.Repeat([]byte("chunk of data "), 4096)
		f, err := c.ObjectCreate(swCtx, cont, "chunked.bin", true, "", "application/x-chunk", swift.Headers{"X-Object-Meta-Color": "red"})
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for i := range 5 {
			part := append([]byte(strconv.Itoa(i)), chunk...)
			if _, err := f.Write(part); err != nil {
				t.Fatalf("write chunk %d: %v", i, err)
			}
			all = append(all, part...)
		}
		if err := f.Close(); err != nil { // checks the returned Etag against the MD5 it computed
			t.Fatalf("Close: %v", err)
		}
		h, err := f.Headers()
		if err != nil || h["Etag"] != md5hex(all) || h["Last-Modified"] == "" || h["X-Trans-Id"] == "" {
			t.Errorf("PUT answer headers: %v %v", h, err)
		}
		if _, err := time.Parse(http.TimeFormat, h["Last-Modified"]); err != nil {
			t.Errorf("Last-Modified %q: %v", h["Last-Modified"], err)
		}
		got, err := c.ObjectGetBytes(swCtx, cont, "chunked.bin")
		if err != nil || !bytes.Equal(got, all) {
			t.Fatalf("read back %d bytes, want %d: %v", len(got), len(all), err)
		}
		info, oh, err := c.Object(swCtx, cont, "chunked.bin")
		if err != nil || info.Bytes != int64(len(all)) || info.Hash != md5hex(all) || info.ContentType != "application/x-chunk" ||
			oh.ObjectMetadata()["color"] != "red" {
			t.Errorf("HEAD = %+v %v %v", info, oh, err)
		}
	})

	t.Run("etag", func(t *testing.T) {
		t.Parallel()
		body := []byte("checked by the server")
		_, err := c.ObjectPut(swCtx, cont, "etag-bad-client", bytes.NewReader(body), true, strings.Repeat("0", 32), "", nil)
		swWantClientErr(t, "ObjectPut with a wrong Etag", err, http.StatusUnprocessableEntity)
		r := swDo(t, e, http.MethodPut, op("etag-bad"), tok, map[string]string{"Etag": md5hex([]byte("other"))}, bytes.NewReader(body))
		swWantErr(t, "PUT with a wrong Etag", r, http.StatusUnprocessableEntity)
		for _, n := range []string{"etag-bad", "etag-bad-client"} {
			swWant(t, "HEAD after a refused PUT", swDo(t, e, http.MethodHead, op(n), tok, nil, nil), http.StatusNotFound)
		}
		r = swDo(t, e, http.MethodPut, op("etag-good"), tok, map[string]string{"Etag": md5hex(body)}, bytes.NewReader(body))
		swWant(t, "PUT with the right Etag", r, http.StatusCreated)
		if r.Header.Get("Etag") != md5hex(body) { // unquoted
			t.Errorf("PUT Etag %q, want %q", r.Header.Get("Etag"), md5hex(body))
		}
		if _, err := c.ObjectPut(swCtx, cont, "etag-good-client", bytes.NewReader(body), true, md5hex(body), "", nil); err != nil {
			t.Errorf("ObjectPut with the right Etag: %v", err)
		}
	})

	t.Run("content_type_meta", func(t *testing.T) {
		t.Parallel()
		cases := map[string]string{"notes.txt": "text/plain; charset=utf-8", "blob.zzqq": "application/octet-stream", "noext": "application/octet-stream"}
		for name, want := range cases {
			r := swDo(t, e, http.MethodPut, op("ct/"+name), tok, nil, strings.NewReader("x"))
			swWant(t, "PUT without a Content-Type", r, http.StatusCreated)
			r = swDo(t, e, http.MethodHead, op("ct/"+name), tok, nil, nil)
			swWant(t, "HEAD", r, http.StatusOK)
			if got := r.Header.Get("Content-Type"); got != want {
				t.Errorf("%s: guessed Content-Type %q, want %q", name, got, want)
			}
		}
		// explicit Content-Type wins; meta names are case-insensitive
		r := swDo(t, e, http.MethodPut, op("meta.txt"), tok, map[string]string{"Content-Type": "application/x-mine",
			"x-object-meta-favourite-FOOD": "pizza", "X-Object-Meta-Color": "red"}, strings.NewReader("meta"))
		swWant(t, "PUT with metadata", r, http.StatusCreated)
		for _, m := range []string{http.MethodHead, http.MethodGet} {
			r = swDo(t, e, m, op("meta.txt"), tok, nil, nil)
			swWant(t, m+" meta.txt", r, http.StatusOK)
			hd := r.Header
			lm, err := time.Parse(http.TimeFormat, hd.Get("Last-Modified"))
			ts, terr := strconv.ParseFloat(hd.Get("X-Timestamp"), 64)
			if hd.Get("Content-Type") != "application/x-mine" || hd.Get("X-Object-Meta-Favourite-Food") != "pizza" ||
				hd.Get("X-Object-Meta-Color") != "red" || hd.Get("Etag") != md5hex([]byte("meta")) || hd.Get("Content-Length") != "4" ||
				hd.Get("Accept-Ranges") != "bytes" || err != nil || terr != nil || ts < float64(lm.Unix()-1) || ts > float64(lm.Unix()+1) {
				t.Errorf("%s headers: %v", m, hd)
			}
			if m == http.MethodGet && string(r.Body) != "meta" {
				t.Errorf("GET body %q", r.Body)
			}
		}
	})

	t.Run("range", func(t *testing.T) {
		t.Parallel()
		if err := c.ObjectPutString(swCtx, cont, "range.txt", swObjBody, "text/x-range"); err != nil {
			t.Fatal(err)
		}
		get := func(rng string) *Resp {
			return swDo(t, e, http.MethodGet, op("range.txt"), tok, map[string]string{"Range": rng}, nil)
		}
		for rng, want := range map[string][2]string{
			"bytes=2-5":   {"2345", "bytes 2-5/20"},
			"bytes=-3":    {"hij", "bytes 17-19/20"},
			"bytes=15-":   {"fghij", "bytes 15-19/20"},
			"bytes=18-99": {"ij", "bytes 18-19/20"},
		} {
			r := get(rng)
			swWant(t, "GET "+rng, r, http.StatusPartialContent)
			if string(r.Body) != want[0] || r.Header.Get("Content-Range") != want[1] || r.Header.Get("Content-Length") != strconv.Itoa(len(want[0])) {
				t.Errorf("GET %s: %q %v", rng, r.Body, r.Header)
			}
		}
		r := get("bytes=0-1,5-6,-2")
		swWant(t, "multi-range", r, http.StatusPartialContent)
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
			t.Fatalf("multi-range Content-Type %q: %v", r.Header.Get("Content-Type"), err)
		}
		mr := swmultipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
		var parts [][3]string
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("multi-range body: %v: %q", err, r.Body)
			}
			b, err := io.ReadAll(part)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, [3]string{part.Header.Get("Content-Range"), part.Header.Get("Content-Type"), string(b)})
		}
		want := [][3]string{{"bytes 0-1/20", "text/x-range", "01"}, {"bytes 5-6/20", "text/x-range", "56"}, {"bytes 18-19/20", "text/x-range", "ij"}}
		if !slices.Equal(parts, want) {
			t.Errorf("multi-range parts %q, want %q", parts, want)
		}
		swWantErr(t, "unsatisfiable range", get("bytes=20-30"), http.StatusRequestedRangeNotSatisfiable)
		// the client's Range header works the same
		var buf bytes.Buffer
		if _, err := c.ObjectGet(swCtx, cont, "range.txt", &buf, false, swift.Headers{"Range": "bytes=10-12"}); err != nil || buf.String() != "abc" {
			t.Errorf("ObjectGet with Range: %q %v", buf.String(), err)
		}
	})

	t.Run("conditional", func(t *testing.T) {
		t.Parallel()
		body := "conditional body"
		if err := c.ObjectPutString(swCtx, cont, "cond", body, ""); err != nil {
			t.Fatal(err)
		}
		etag := md5hex([]byte(body))
		r := swDo(t, e, http.MethodHead, op("cond"), tok, nil, nil)
		swWant(t, "HEAD cond", r, http.StatusOK)
		lm, err := time.Parse(http.TimeFormat, r.Header.Get("Last-Modified"))
		if err != nil {
			t.Fatalf("Last-Modified %q: %v", r.Header.Get("Last-Modified"), err)
		}
		before := lm.Add(-time.Hour).Format(http.TimeFormat)
		after := lm.Add(time.Hour).Format(http.TimeFormat)
		at := lm.Format(http.TimeFormat)
		cases := []struct {
			hdr, val string
			status   int
		}{
			{"If-Match", `"` + etag + `"`, 200},
			{"If-Match", "*", 200},
			{"If-Match", `"` + md5hex(nil) + `"`, 412},
			{"If-None-Match", `"` + etag + `"`, 304},
			{"If-None-Match", etag, 304}, // Swift strips the quotes, so a bare etag matches too
			{"If-None-Match", "*", 304},
			{"If-None-Match", `"` + md5hex(nil) + `"`, 200},
			{"If-Modified-Since", at, 304},
			{"If-Modified-Since", before, 200},
			{"If-Unmodified-Since", before, 412},
			{"If-Unmodified-Since", at, 200},
			{"If-Unmodified-Since", after, 200},
		}
		for _, tc := range cases {
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				what := fmt.Sprintf("%s %s: %s", m, tc.hdr, tc.val)
				r := swDo(t, e, m, op("cond"), tok, map[string]string{tc.hdr: tc.val}, nil)
				if m == http.MethodGet && tc.status == 412 {
					swWantErr(t, what, r, tc.status)
				} else {
					swWant(t, what, r, tc.status)
				}
				switch {
				case tc.status == 200 && m == http.MethodGet && string(r.Body) != body:
					t.Errorf("%s: body %q", what, r.Body)
				case tc.status == 304 && (len(r.Body) != 0 || strings.Trim(r.Header.Get("Etag"), `"`) != etag):
					t.Errorf("%s: 304 with body %q, Etag %q", what, r.Body, r.Header.Get("Etag"))
				}
			}
		}
		_, err = c.ObjectGetBytes(swCtx, cont, "absent-cond")
		swWantClientErr(t, "GET absent", err, http.StatusNotFound)
	})

	t.Run("filename", func(t *testing.T) {
		t.Parallel()
		if err := c.ObjectPutString(swCtx, cont, "dl/abc123", "%PDF-1.4", "application/pdf"); err != nil {
			t.Fatal(err)
		}
		r := swDo(t, e, http.MethodGet, op("dl/abc123")+"?filename=report.pdf", tok, nil, nil)
		swWant(t, "GET ?filename=", r, http.StatusOK)
		if r.Header.Get("Content-Disposition") != `attachment; filename="report.pdf"` || string(r.Body) != "%PDF-1.4" {
			t.Errorf("?filename=: %v %q", r.Header, r.Body)
		}
		r = swDo(t, e, http.MethodGet, op("dl/abc123"), tok, nil, nil)
		if r.Header.Get("Content-Disposition") != "" {
			t.Errorf("Content-Disposition without ?filename=: %q", r.Header.Get("Content-Disposition"))
		}
	})

	t.Run("post_stored_headers", func(t *testing.T) {
		t.Parallel()
		body := "posted to"
		r := swDo(t, e, http.MethodPut, op("post.txt"), tok, map[string]string{"X-Object-Meta-A": "1", "X-Object-Meta-B": "2",
			"Content-Type": "text/plain"}, strings.NewReader(body))
		swWant(t, "PUT post.txt", r, http.StatusCreated)
		stored := map[string]string{
			"Cache-Control":                    "max-age=60",
			"Link":                             `</style.css>; rel="preload"`,
			"Content-Disposition":              `inline; filename="p.txt"`,
			"Access-Control-Allow-Origin":      "https://app.example",
			"Access-Control-Max-Age":           "600",
			"Access-Control-Allow-Methods":     "GET, HEAD",
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers":    "X-Object-Meta-C",
			"Access-Control-Allow-Headers":     "X-Custom",
		}
		hdr := map[string]string{"X-Object-Meta-C": "3", "Content-Type": "text/x-posted"}
		for k, v := range stored {
			hdr[k] = v
		}
		r = swDo(t, e, http.MethodPost, op("post.txt"), tok, hdr, nil)
		swWant(t, "object POST", r, http.StatusAccepted)
		for _, m := range []string{http.MethodHead, http.MethodGet} {
			r = swDo(t, e, m, op("post.txt"), tok, nil, nil)
			swWant(t, m+" after POST", r, http.StatusOK)
			hd := r.Header
			for k, v := range stored {
				if hd.Get(k) != v {
					t.Errorf("%s after POST: %s %q, want %q", m, k, hd.Get(k), v)
				}
			}
			if hd.Get("X-Object-Meta-C") != "3" || hd.Values("X-Object-Meta-A") != nil || hd.Values("X-Object-Meta-B") != nil ||
				hd.Get("Content-Type") != "text/x-posted" || hd.Get("Etag") != md5hex([]byte(body)) || hd.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("%s after POST: %v", m, hd)
			}
			if m == http.MethodGet && string(r.Body) != body {
				t.Errorf("GET after POST: %q", r.Body)
			}
		}
		// the client's POST replaces the metadata again
		if err := c.ObjectUpdate(swCtx, cont, "post.txt", swift.Headers{"X-Object-Meta-D": "4"}); err != nil {
			t.Fatal(err)
		}
		_, h, err := c.Object(swCtx, cont, "post.txt")
		if m := h.ObjectMetadata(); err != nil || m["d"] != "4" || m["c"] != "" || len(m) != 1 {
			t.Errorf("after ObjectUpdate: %v %v", m, err)
		}
		swWantClientErr(t, "ObjectUpdate absent", c.ObjectUpdate(swCtx, cont, "absent", swift.Headers{"X-Object-Meta-D": "4"}), http.StatusNotFound)
		// Content-Encoding is stored and sent back with the bytes as stored
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(strings.Repeat("compressible ", 100)))
		_ = zw.Close()
		r = swDo(t, e, http.MethodPut, op("gz.txt"), tok, map[string]string{"Content-Encoding": "gzip"}, bytes.NewReader(gz.Bytes()))
		swWant(t, "PUT gzip", r, http.StatusCreated)
		r = swDo(t, e, http.MethodGet, op("gz.txt"), tok, map[string]string{"Accept-Encoding": "gzip"}, nil)
		if r.Status != 200 || r.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(r.Body, gz.Bytes()) {
			t.Errorf("GET gzip: %d %v (%d bytes)", r.Status, r.Header, len(r.Body))
		}
	})

	t.Run("container_defaults", func(t *testing.T) {
		t.Parallel()
		dc := swName(t)
		if err := c.ContainerCreate(swCtx, dc, swift.Headers{"X-Container-Meta-Cache-Control": "max-age=5",
			"X-Container-Meta-Strict-Transport-Security": "max-age=31536000"}); err != nil {
			t.Fatal(err)
		}
		if err := c.ObjectPutString(swCtx, dc, "plain", "p", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ObjectPut(swCtx, dc, "own", strings.NewReader("o"), true, "", "", swift.Headers{"Cache-Control": "no-store"}); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			r := swDo(t, e, m, swPath(acct, dc, "plain"), tok, nil, nil)
			if r.Status != 200 || r.Header.Get("Cache-Control") != "max-age=5" || r.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
				t.Errorf("%s plain: %d %v", m, r.Status, r.Header)
			}
			r = swDo(t, e, m, swPath(acct, dc, "own"), tok, nil, nil)
			if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
				t.Errorf("%s own: %d %v", m, r.Status, r.Header)
			}
		}
		// a default changed later applies to what is already stored
		if err := c.ContainerUpdate(swCtx, dc, swift.Headers{"X-Container-Meta-Cache-Control": "max-age=7"}); err != nil {
			t.Fatal(err)
		}
		if _, h, err := c.Object(swCtx, dc, "plain"); err != nil || h["Cache-Control"] != "max-age=7" {
			t.Errorf("after changing the default: %v %v", h, err)
		}
		// without defaults there is neither
		if err := c.ObjectPutString(swCtx, cont, "no-defaults", "n", ""); err != nil {
			t.Fatal(err)
		}
		if r := swDo(t, e, http.MethodGet, op("no-defaults"), tok, nil, nil); r.Status != 200 ||
			r.Header.Get("Strict-Transport-Security") != "" || r.Header.Get("Cache-Control") != "" {
			t.Errorf("GET without container defaults: %d %v", r.Status, r.Header)
		}
	})

	t.Run("cors", func(t *testing.T) {
		t.Parallel()
		good, evil := "https://good.example", "https://evil.example"
		r := swDo(t, e, http.MethodPut, op("cors.txt"), tok, map[string]string{
			"Access-Control-Allow-Origin": good, "Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Allow-Headers": "X-Custom",
			"Access-Control-Max-Age": "600", "Access-Control-Expose-Headers": "X-Object-Meta-Color", "X-Object-Meta-Color": "red",
		}, strings.NewReader("cors"))
		swWant(t, "PUT cors.txt", r, http.StatusCreated)
		preflight := func(path, origin string) *Resp {
			return swDo(t, e, http.MethodOptions, path, "", map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET",
				"Access-Control-Request-Headers": "X-Custom"}, nil)
		}
		r = preflight(op("cors.txt"), good)
		swWant(t, "preflight from an allowed origin", r, http.StatusOK)
		if r.Header.Get("Access-Control-Allow-Origin") != good || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "GET") ||
			!strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")), "x-custom") || r.Header.Get("Access-Control-Max-Age") != "600" {
			t.Errorf("preflight headers: %v", r.Header)
		}
		r = preflight(op("cors.txt"), evil)
		swWant(t, "preflight from another origin", r, http.StatusUnauthorized)
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("refused preflight allows: %v", r.Header)
		}
		if err := c.ObjectPutString(swCtx, cont, "no-cors", "n", ""); err != nil {
			t.Fatal(err)
		}
		swWant(t, "preflight of an object without CORS", preflight(op("no-cors"), good), http.StatusUnauthorized)
		// an actual GET from the allowed origin
		r = swDo(t, e, http.MethodGet, op("cors.txt"), tok, map[string]string{"Origin": good}, nil)
		if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != good ||
			!strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Expose-Headers")), "x-object-meta-color") {
			t.Errorf("GET with Origin: %d %v", r.Status, r.Header)
		}
		// container defaults: * allows any origin; Swift lists several origins separated by spaces
		star, list := swName(t)+"-star", swName(t)+"-list"
		if err := c.ContainerCreate(swCtx, star, swift.Headers{"X-Container-Meta-Access-Control-Allow-Origin": "*"}); err != nil {
			t.Fatal(err)
		}
		if err := c.ContainerCreate(swCtx, list, swift.Headers{"X-Container-Meta-Access-Control-Allow-Origin": "https://a.example https://b.example"}); err != nil {
			t.Fatal(err)
		}
		for _, cn := range []string{star, list} {
			if err := c.ObjectPutString(swCtx, cn, "o", "o", ""); err != nil {
				t.Fatal(err)
			}
		}
		r = preflight(swPath(acct, star, "o"), evil)
		swWant(t, "preflight to a * container", r, http.StatusOK)
		if a := r.Header.Get("Access-Control-Allow-Origin"); a != evil && a != "*" { // the contract echoes the origin; Swift may answer *
			t.Errorf("preflight to a * container: Access-Control-Allow-Origin %q", a)
		}
		r = preflight(swPath(acct, list, "o"), "https://b.example")
		swWant(t, "preflight from a listed origin", r, http.StatusOK)
		if r.Header.Get("Access-Control-Allow-Origin") != "https://b.example" {
			t.Errorf("preflight from a listed origin: %v", r.Header)
		}
		swWant(t, "preflight from an unlisted origin", preflight(swPath(acct, list, "o"), "https://c.example"), http.StatusUnauthorized)
		// the object's own value wins over the container's
		r = swDo(t, e, http.MethodPut, swPath(acct, star, "own"), tok, map[string]string{"Access-Control-Allow-Origin": good}, strings.NewReader("x"))
		swWant(t, "PUT own", r, http.StatusCreated)
		swWant(t, "preflight: object value wins", preflight(swPath(acct, star, "own"), evil), http.StatusUnauthorized)
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		if err := c.ObjectPutString(swCtx, cont, "del/x", "x", ""); err != nil {
			t.Fatal(err)
		}
		swWant(t, "DELETE object", swDo(t, e, http.MethodDelete, op("del/x"), tok, nil, nil), http.StatusNoContent)
		swWantErr(t, "GET deleted", swDo(t, e, http.MethodGet, op("del/x"), tok, nil, nil), http.StatusNotFound)
		swWant(t, "HEAD deleted", swDo(t, e, http.MethodHead, op("del/x"), tok, nil, nil), http.StatusNotFound)
		swWantErr(t, "DELETE again", swDo(t, e, http.MethodDelete, op("del/x"), tok, nil, nil), http.StatusNotFound)
		swWantClientErr(t, "ObjectDelete absent", c.ObjectDelete(swCtx, cont, "del/x"), http.StatusNotFound)
		if ns, err := c.ObjectNames(swCtx, cont, &swift.ObjectsOpts{Prefix: "del/"}); err != nil || len(ns) != 0 {
			t.Errorf("deleted object listed: %q %v", ns, err)
		}
	})
}
