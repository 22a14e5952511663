package e2e

// Swift server-side copy (CONTRACT5 "Copy"): PUT with X-Copy-From and the
// COPY verb with Destination, in both path forms and with URL-encoded
// names, across containers; metadata merged or fresh; the response
// headers; the copy shares the source's blob; 404 and 403; what the other
// dialects read of a copy.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ncw/swift/v2"
)

// sxSource is a source object and what its HEAD showed.
type sxSource struct {
	cont, name   string
	body         []byte
	etag         string
	lastModified string
	contentType  string
}

// sxMakeSource PUTs a source object with metadata and returns it.
func sxMakeSource(t *testing.T, e *Env, a *sxAcct, cont, name string, body []byte) sxSource {
	t.Helper()
	sxPut(t, e, a.Tok, a.ID, cont, name, body, map[string]string{"Content-Type": "text/x-src",
		"X-Object-Meta-Color": "blue", "X-Object-Meta-Shape": "round"})
	h := swDo(t, e, http.MethodHead, swPath(a.ID, cont, name), a.Tok, nil, nil)
	swWant(t, "HEAD source", h, http.StatusOK)
	if h.Header.Get("Etag") != md5hex(body) || h.Header.Get("Last-Modified") == "" {
		t.Fatalf("HEAD source: Etag %q Last-Modified %q", h.Header.Get("Etag"), h.Header.Get("Last-Modified"))
	}
	return sxSource{cont: cont, name: name, body: body, etag: h.Header.Get("Etag"),
		lastModified: h.Header.Get("Last-Modified"), contentType: "text/x-src"}
}

// sxCopiedHeaders fails the test unless a copy's answer is 201 with
// X-Copied-From naming src (Swift URL-quotes it; a raw name is taken
// too), X-Copied-From-Last-Modified the source's Last-Modified and Etag
// the source's.
func sxCopiedHeaders(t *testing.T, what string, r *Resp, src sxSource) {
	t.Helper()
	swWant(t, what, r, http.StatusCreated)
	want := src.cont + "/" + src.name
	got := r.Header.Get("X-Copied-From")
	if dec, err := url.PathUnescape(got); got != want && (err != nil || dec != want) {
		t.Errorf("%s: X-Copied-From %q, want %q (URL-quoted)", what, got, want)
	}
	if lm := r.Header.Get("X-Copied-From-Last-Modified"); lm != src.lastModified {
		t.Errorf("%s: X-Copied-From-Last-Modified %q, want the source's %q", what, lm, src.lastModified)
	}
	if et := r.Header.Get("Etag"); et != src.etag {
		t.Errorf("%s: Etag %q, want the source's %q", what, et, src.etag)
	}
}

// sxWantObject fails the test unless acct/cont/name reads as body with
// the content type and exactly the X-Object-Meta-* in meta.
func sxWantObject(t *testing.T, e *Env, a *sxAcct, cont, name string, body []byte, ct string, meta map[string]string) {
	t.Helper()
	g := swDo(t, e, http.MethodGet, swPath(a.ID, cont, name), a.Tok, nil, nil)
	swWant(t, "GET "+cont+"/"+name, g, http.StatusOK)
	if !bytes.Equal(g.Body, body) {
		t.Errorf("GET %s/%s: %d bytes (sha256 %x), want %d bytes (sha256 %x)", cont, name, len(g.Body), sha256.Sum256(g.Body), len(body), sha256.Sum256(body))
	}
	if g.Header.Get("Etag") != md5hex(body) || g.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Errorf("GET %s/%s: Etag %q Content-Length %q, want %q and %d", cont, name, g.Header.Get("Etag"), g.Header.Get("Content-Length"), md5hex(body), len(body))
	}
	if got := g.Header.Get("Content-Type"); got != ct {
		t.Errorf("GET %s/%s: Content-Type %q, want %q", cont, name, got, ct)
	}
	gotMeta := map[string]string{}
	for k, v := range g.Header {
		if len(k) > len("X-Object-Meta-") && http.CanonicalHeaderKey(k[:len("X-Object-Meta-")]) == "X-Object-Meta-" {
			gotMeta[k[len("X-Object-Meta-"):]] = v[0]
		}
	}
	if natf("%v", gotMeta) != natf("%v", meta) {
		t.Errorf("GET %s/%s: metadata %v, want %v", cont, name, gotMeta, meta)
	}
}

// TestSwiftCopy_CopyFrom: PUT with X-Copy-From.
func TestSwiftCopy_CopyFrom(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	c1, c2 := swContainer(t, a.Conn), swContainer(t, a.Conn)
	src := sxMakeSource(t, e, a, c1, "src.txt", []byte("the source's bytes"))
	srcMeta := map[string]string{"Color": "blue", "Shape": "round"}
	copyFrom := func(cont, name, from string, hdr map[string]string) *Resp {
		t.Helper()
		h := map[string]string{"X-Copy-From": from}
		for k, v := range hdr {
			h[k] = v
		}
		return swDo(t, e, http.MethodPut, swPath(a.ID, cont, name), a.Tok, h, bytes.NewReader(nil))
	}

	t.Run("slash_form_across_containers", func(t *testing.T) {
		sxCopiedHeaders(t, "PUT X-Copy-From /c1/src", copyFrom(c2, "d1", "/"+c1+"/src.txt", nil), src)
		sxWantObject(t, e, a, c2, "d1", src.body, src.contentType, srcMeta)
	})
	t.Run("bare_form_same_container", func(t *testing.T) {
		sxCopiedHeaders(t, "PUT X-Copy-From c1/src", copyFrom(c1, "d2", c1+"/src.txt", nil), src)
		sxWantObject(t, e, a, c1, "d2", src.body, src.contentType, srcMeta)
	})
	t.Run("merged_metadata", func(t *testing.T) {
		r := copyFrom(c2, "merged", c1+"/src.txt", map[string]string{"X-Object-Meta-Shape": "square", "X-Object-Meta-Size": "big",
			"Content-Type": "text/x-new"})
		sxCopiedHeaders(t, "PUT X-Copy-From with metadata", r, src)
		sxWantObject(t, e, a, c2, "merged", src.body, "text/x-new", map[string]string{"Color": "blue", "Shape": "square", "Size": "big"})
	})
	t.Run("fresh_metadata", func(t *testing.T) {
		r := copyFrom(c2, "fresh", "/"+c1+"/src.txt", map[string]string{"X-Fresh-Metadata": "true", "X-Object-Meta-Size": "big"})
		sxCopiedHeaders(t, "PUT X-Copy-From X-Fresh-Metadata", r, src)
		sxWantObject(t, e, a, c2, "fresh", src.body, src.contentType, map[string]string{"Size": "big"})
		r = copyFrom(c2, "fresh-bare", "/"+c1+"/src.txt", map[string]string{"X-Fresh-Metadata": "true"})
		sxCopiedHeaders(t, "PUT X-Copy-From X-Fresh-Metadata alone", r, src)
		sxWantObject(t, e, a, c2, "fresh-bare", src.body, src.contentType, map[string]string{})
	})
	t.Run("encoded_names", func(t *testing.T) {
		name := "dir/a b+ü%.txt"
		odd := sxMakeSource(t, e, a, c1, name, []byte("an oddly named source"))
		// X-Copy-From is URL-encoded: %20, %2B, %C3%BC, %25
		dst := "copy of ü+%"
		r := copyFrom(c2, dst, "/"+c1+"/dir/a%20b%2B%C3%BC%25.txt", nil)
		sxCopiedHeaders(t, "PUT X-Copy-From an encoded name", r, odd)
		sxWantObject(t, e, a, c2, dst, odd.body, odd.contentType, srcMeta)
		if names := sxSwiftNames(t, e, a.Tok, a.ID, c2); !slices.Contains(names, dst) {
			t.Errorf("listing %q has no %q", names, dst)
		}
	})
	t.Run("overwrites", func(t *testing.T) {
		sxPut(t, e, a.Tok, a.ID, c2, "over", []byte("old bytes"), map[string]string{"X-Object-Meta-Old": "1"})
		sxCopiedHeaders(t, "PUT X-Copy-From over an object", copyFrom(c2, "over", c1+"/src.txt", nil), src)
		sxWantObject(t, e, a, c2, "over", src.body, src.contentType, srcMeta)
	})
	t.Run("missing_source", func(t *testing.T) {
		swWantErr(t, "X-Copy-From a missing object", copyFrom(c2, "m1", c1+"/nope", nil), http.StatusNotFound)
		swWantErr(t, "X-Copy-From a missing container", copyFrom(c2, "m2", "/"+swName(t)+"-none/src.txt", nil), http.StatusNotFound)
		for _, n := range []string{"m1", "m2"} {
			swWant(t, "HEAD "+n+" (nothing stored)", swDo(t, e, http.MethodHead, swPath(a.ID, c2, n), a.Tok, nil, nil), http.StatusNotFound)
		}
		// as OpenStack Swift: a value that is not container/object is 412
		swWantErr(t, "X-Copy-From without an object", copyFrom(c2, "m3", c1, nil), http.StatusPreconditionFailed)
	})
	// the source is as it was
	sxWantObject(t, e, a, c1, "src.txt", src.body, src.contentType, srcMeta)
}

// TestSwiftCopy_Verb: COPY with Destination.
func TestSwiftCopy_Verb(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	c1, c2 := swContainer(t, a.Conn), swContainer(t, a.Conn)
	src := sxMakeSource(t, e, a, c1, "src.txt", []byte("copied by COPY"))
	srcMeta := map[string]string{"Color": "blue", "Shape": "round"}
	cp := func(from, dest string, hdr map[string]string) *Resp {
		t.Helper()
		h := map[string]string{}
		if dest != "" {
			h["Destination"] = dest
		}
		for k, v := range hdr {
			h[k] = v
		}
		return swDo(t, e, "COPY", swPath(a.ID, c1, from), a.Tok, h, nil)
	}

	sxCopiedHeaders(t, "COPY to /c2/v1", cp("src.txt", "/"+c2+"/v1", nil), src)
	sxWantObject(t, e, a, c2, "v1", src.body, src.contentType, srcMeta)
	sxCopiedHeaders(t, "COPY to c1/v2", cp("src.txt", c1+"/v2", nil), src)
	sxWantObject(t, e, a, c1, "v2", src.body, src.contentType, srcMeta)
	sxCopiedHeaders(t, "COPY with metadata", cp("src.txt", c2+"/v3", map[string]string{"X-Object-Meta-Shape": "square",
		"X-Object-Meta-Size": "big", "Content-Type": "application/x-new"}), src)
	sxWantObject(t, e, a, c2, "v3", src.body, "application/x-new", map[string]string{"Color": "blue", "Shape": "square", "Size": "big"})
	sxCopiedHeaders(t, "COPY X-Fresh-Metadata", cp("src.txt", c2+"/v4", map[string]string{"X-Fresh-Metadata": "true",
		"X-Object-Meta-Only": "me"}), src)
	sxWantObject(t, e, a, c2, "v4", src.body, src.contentType, map[string]string{"Only": "me"})
	// encoded destination and source
	odd := sxMakeSource(t, e, a, c1, "sp ace/ü.bin", []byte("odd source"))
	sxCopiedHeaders(t, "COPY an encoded name to an encoded destination", cp("sp ace/ü.bin", "/"+c2+"/x%20y%C3%BC%2B", nil), odd)
	sxWantObject(t, e, a, c2, "x yü+", odd.body, odd.contentType, srcMeta)
	// ncw/swift's ObjectCopy (COPY with its own Destination encoding)
	if _, err := a.Conn.ObjectCopy(swCtx, c1, "src.txt", c2, "via ncw/ü", swift.Headers{"X-Object-Meta-Extra": "1"}); err != nil {
		t.Fatalf("ncw ObjectCopy: %v", err)
	}
	sxWantObject(t, e, a, c2, "via ncw/ü", src.body, src.contentType, map[string]string{"Color": "blue", "Shape": "round", "Extra": "1"})

	// missing source or destination container: 404, nothing stored
	swWantErr(t, "COPY a missing object", cp("nope", c2+"/m1", nil), http.StatusNotFound)
	swWantErr(t, "COPY to a missing container", cp("src.txt", swName(t)+"-none/m2", nil), http.StatusNotFound)
	swWant(t, "HEAD m1", swDo(t, e, http.MethodHead, swPath(a.ID, c2, "m1"), a.Tok, nil, nil), http.StatusNotFound)
	// as OpenStack Swift: COPY without a Destination is 412
	swWantErr(t, "COPY without Destination", cp("src.txt", "", nil), http.StatusPreconditionFailed)
	swEq(t, "c2 listing", sxSwiftNames(t, e, a.Tok, a.ID, c2), []string{"v1", "v3", "v4", "via ncw/ü", "x yü+"})
}

// TestSwiftCopy_Large: copying a >64 KiB object (a blob, not inline) adds
// no blob file, reads back the same bytes, is a "copy" event, and counts
// in the destination's usage. A small (inline) one reads back too.
func TestSwiftCopy_Large(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "counts the blob files in its data directory")
	a := sxNewAcct(t, e)
	c1, c2 := swContainer(t, a.Conn), swContainer(t, a.Conn)
	blobs0 := sxBlobFiles(t, e)
	big := randomBytes(7, 300<<10)
	src := sxMakeSource(t, e, a, c1, "big.bin", big)
	blobs1 := sxBlobFiles(t, e)
	if blobs1 != blobs0+1 {
		t.Fatalf("a 300 KiB PUT: %d blob files, then %d; want one more", blobs0, blobs1)
	}
	sxCopiedHeaders(t, "PUT X-Copy-From big", swDo(t, e, http.MethodPut, swPath(a.ID, c2, "big-copy"), a.Tok,
		map[string]string{"X-Copy-From": c1 + "/big.bin"}, bytes.NewReader(nil)), src)
	sxCopiedHeaders(t, "COPY big", swDo(t, e, "COPY", swPath(a.ID, c1, "big.bin"), a.Tok,
		map[string]string{"Destination": c1 + "/big-copy2"}, nil), src)
	if n := sxBlobFiles(t, e); n != blobs1 {
		t.Errorf("copies of a 300 KiB object: %d blob files, want %d (shared)", n, blobs1)
	}
	meta := map[string]string{"Color": "blue", "Shape": "round"}
	sxWantObject(t, e, a, c2, "big-copy", big, src.contentType, meta)
	sxWantObject(t, e, a, c1, "big-copy2", big, src.contentType, meta)
	// a range of the copy
	r := swDo(t, e, http.MethodGet, swPath(a.ID, c2, "big-copy"), a.Tok, map[string]string{"Range": "bytes=100000-100099"}, nil)
	if r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, big[100000:100100]) {
		t.Errorf("Range of the copy: %d, %d bytes", r.Status, len(r.Body))
	}
	// the events say copy, naming the source
	ups := sxUpdates(t, e, e.AdminKey, c2)
	if len(ups) != 1 || ups[0].Op != "copy" || ups[0].Path != "big-copy" || ups[0].Size != int64(len(big)) || ups[0].ETag != src.etag ||
		ups[0].CopiedFrom == nil || ups[0].CopiedFrom.Path != "big.bin" {
		t.Errorf("syncnext of the destination: %+v (copied_from %+v)", ups, ups[0].CopiedFrom)
	}
	// the destination's usage counts the copy
	sxWantUsage(t, e, a.Tok, a.ID, c2, 1, int64(len(big)))
	sxWantUsage(t, e, a.Tok, a.ID, c1, 2, 2*int64(len(big)))
	// deleting the source leaves the copy whole
	swWant(t, "DELETE the source", swDo(t, e, http.MethodDelete, swPath(a.ID, c1, "big.bin"), a.Tok, nil, nil), http.StatusNoContent)
	sxWantObject(t, e, a, c2, "big-copy", big, src.contentType, meta)

	// small: inline bytes copied alike
	small := randomBytes(8, 1000)
	ssrc := sxMakeSource(t, e, a, c1, "small.bin", small)
	sxCopiedHeaders(t, "PUT X-Copy-From small", swDo(t, e, http.MethodPut, swPath(a.ID, c2, "small-copy"), a.Tok,
		map[string]string{"X-Copy-From": "/" + c1 + "/small.bin"}, bytes.NewReader(nil)), ssrc)
	sxWantObject(t, e, a, c2, "small-copy", small, ssrc.contentType, meta)
	// an empty source copies to an empty object
	esrc := sxMakeSource(t, e, a, c1, "empty", []byte{})
	sxCopiedHeaders(t, "COPY an empty object", swDo(t, e, "COPY", swPath(a.ID, c1, "empty"), a.Tok,
		map[string]string{"Destination": c2 + "/empty-copy"}, nil), esrc)
	sxWantObject(t, e, a, c2, "empty-copy", []byte{}, esrc.contentType, meta)
}

// TestSwiftCopy_Access: a copy needs read on the source and write on the
// destination: 403 otherwise, nothing stored.
func TestSwiftCopy_Access(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	c1, c2 := swContainer(t, a.Conn), swContainer(t, a.Conn)
	sxMakeSource(t, e, a, c1, "src", []byte("guarded"))
	both := swToken(t, e, e.CreateKey(t, KeySpec{Account: a.ID, Admin: false, Access: map[string]string{c1: "read", c2: "write"}}))
	writeOnly := swToken(t, e, e.CreateKey(t, KeySpec{Account: a.ID, Admin: false, Access: map[string]string{c2: "write"}}))
	readOnly := swToken(t, e, e.CreateKey(t, KeySpec{Account: a.ID, Admin: false, Access: map[string]string{c1: "read"}}))
	other := sxNewAcct(t, e)

	put := func(tok, cont, name, from string) *Resp {
		return swDo(t, e, http.MethodPut, swPath(a.ID, cont, name), tok, map[string]string{"X-Copy-From": from}, bytes.NewReader(nil))
	}
	cp := func(tok, dest string) *Resp {
		return swDo(t, e, "COPY", swPath(a.ID, c1, "src"), tok, map[string]string{"Destination": dest}, nil)
	}
	// read on the source and write on the destination: allowed
	swWant(t, "PUT X-Copy-From with read and write", put(both, c2, "ok1", c1+"/src"), http.StatusCreated)
	swWant(t, "COPY with read and write", cp(both, c2+"/ok2"), http.StatusCreated)
	// no read on the source
	swWantErr(t, "PUT X-Copy-From without read on the source", put(writeOnly, c2, "no1", c1+"/src"), http.StatusForbidden)
	swWantErr(t, "COPY without read on the source", cp(writeOnly, c2+"/no2"), http.StatusForbidden)
	// no write on the destination
	swWantErr(t, "PUT X-Copy-From without write on the destination", put(readOnly, c1, "no3", c1+"/src"), http.StatusForbidden)
	swWantErr(t, "COPY without write on the destination", cp(readOnly, c1+"/no4"), http.StatusForbidden)
	swWantErr(t, "COPY to a container it cannot write", cp(both, c1+"/no5"), http.StatusForbidden)
	// another account's admin: 403 (it is not this account's key)
	swWantErr(t, "COPY by another account", cp(other.Tok, c2+"/no6"), http.StatusForbidden)
	// no token
	swWant(t, "COPY without a token", cp("", c2+"/no7"), http.StatusUnauthorized)
	swEq(t, "c2 listing", sxSwiftNames(t, e, a.Tok, a.ID, c2), []string{"ok1", "ok2"})
	swEq(t, "c1 listing", sxSwiftNames(t, e, a.Tok, a.ID, c1), []string{"src"})
}

// TestSwiftCopy_CrossDialect: a Swift copy reads the same through S3 and
// native; S3 CopyObject goes on working and Swift reads its copy.
func TestSwiftCopy_CrossDialect(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a := sxNewAcct(t, e)
	c1, c2 := swContainer(t, a.Conn), swContainer(t, a.Conn)
	s3c := e.S3(t, a.Key.ID, a.Key.Value)
	ctx := context.Background()
	for _, size := range []int{500, 100 << 10} {
		body := randomBytes(uint64(size), size)
		name := "src-" + strconv.Itoa(size)
		src := sxMakeSource(t, e, a, c1, name, body)
		dst := "swift-copy-" + strconv.Itoa(size)
		sxCopiedHeaders(t, "PUT X-Copy-From", swDo(t, e, http.MethodPut, swPath(a.ID, c2, dst), a.Tok,
			map[string]string{"X-Copy-From": c1 + "/" + name, "X-Object-Meta-Via": "swift"}, bytes.NewReader(nil)), src)

		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &c2, Key: aws.String(dst)})
		if err != nil {
			t.Fatalf("S3 GetObject of a Swift copy: %v", err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, body) || aws.ToString(out.ETag) != `"`+src.etag+`"` || aws.ToString(out.ContentType) != src.contentType ||
			out.Metadata["color"] != "blue" || out.Metadata["via"] != "swift" || aws.ToInt64(out.ContentLength) != int64(size) {
			t.Errorf("S3 GetObject of a Swift copy (%d bytes): %d bytes %v etag %s type %s meta %v", size, len(got), err,
				aws.ToString(out.ETag), aws.ToString(out.ContentType), out.Metadata)
		}
		n := natGet(t, e, e.AdminKey, c2, dst)
		if n.Status != http.StatusOK || !bytes.Equal(n.Body, body) || n.Header.Get("x-owncdn-meta-color") != "blue" ||
			n.Header.Get("x-owncdn-meta-via") != "swift" || n.Header.Get("Content-Type") != src.contentType {
			t.Errorf("native getfile of a Swift copy (%d bytes): %d, %d bytes, %v", size, n.Status, len(n.Body), n.Header)
		}

		// S3 CopyObject, read back through Swift
		s3dst := "s3-copy-" + strconv.Itoa(size)
		if _, err := s3c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &c2, Key: aws.String(s3dst), CopySource: aws.String(c1 + "/" + name)}); err != nil {
			t.Fatalf("S3 CopyObject: %v", err)
		}
		sxWantObject(t, e, a, c2, s3dst, body, src.contentType, map[string]string{"Color": "blue", "Shape": "round"})
	}
}
