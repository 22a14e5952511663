package e2e

// Replication of every kind of change, made through every dialect on the
// primary: the replica holds each byte for byte (history, version lists,
// listings, getfile of every version), serves it through native, S3 and
// Swift, refuses writes in all three, and never fetches bytes it already
// holds (counted by a proxy between replica and primary).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cairnhq/cairn/cmd/server"
)

// rpOpsPair is a primary, a counting proxy in front of it and a replica
// that follows it through the proxy.
type rpOpsPair struct {
	p, r *Env
	px   *rpProxy
	sid  string
}

// sync waits until the replica has the primary's last_sync_id.
func (o *rpOpsPair) sync(t *testing.T) uint64 {
	t.Helper()
	return rpWaitSync(t, o.p, o.sid, o.r, o.sid)
}

// same compares the whole service on both sides.
func (o *rpOpsPair) same(t *testing.T, what string) (*rpSnap, *rpSnap) {
	t.Helper()
	ps, rs := rpSnapshot(t, o.p, o.sid), rpSnapshot(t, o.r, o.sid)
	rpSame(t, what, ps, rs)
	rpNoDuplicates(t, what+" (replica)", rs)
	return ps, rs
}

// noFetchSince fails the test if the replica fetched anything after the
// first n getfile requests.
func (o *rpOpsPair) noFetchSince(t *testing.T, what string, n int) {
	t.Helper()
	if f := o.px.fetches(); len(f) != n {
		t.Errorf("%s: the replica fetched %d more getfile(s): %q", what, len(f)-n, f[n:])
	}
}

// rpOps asserts that the history holds every op in want.
func rpOps(t *testing.T, s *rpSnap, want ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range s.Changes {
		seen[c["op"].(string)] = true
	}
	for _, op := range want {
		if !seen[op] {
			t.Errorf("the primary's history has no %q change (ops seen: %v): the test did not make one", op, seen)
		}
	}
}

func TestRpOps_NativeS3(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := Start(t, rpFast)
	px := rpNewProxy(t, p.URL)
	r := Start(t, rpFast)
	b := p.Bucket(t)
	rpAttach(t, r, "primary", px.URL, rpReadKey(t, p, "", b), b, b, "")
	o := &rpOpsPair{p: p, r: r, px: px, sid: b}
	c := p.S3(t, p.AdminKeyID, p.AdminKey)
	put := func(key string, body []byte, in *s3.PutObjectInput) *s3.PutObjectOutput {
		t.Helper()
		if in == nil {
			in = &s3.PutObjectInput{}
		}
		in.Bucket, in.Key, in.Body = &b, &key, bytes.NewReader(body)
		out, err := c.PutObject(ctx, in)
		if err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
		return out
	}
	copyObj := func(from, to string, in *s3.CopyObjectInput) {
		t.Helper()
		if in == nil {
			in = &s3.CopyObjectInput{}
		}
		in.Bucket, in.Key, in.CopySource = &b, &to, aws.String(b+"/"+from)
		if _, err := c.CopyObject(ctx, in); err != nil {
			t.Fatalf("CopyObject %s -> %s: %v", from, to, err)
		}
	}
	del := func(key, version string) *s3.DeleteObjectOutput {
		t.Helper()
		in := &s3.DeleteObjectInput{Bucket: &b, Key: &key}
		if version != "" {
			in.VersionId = &version
		}
		out, err := c.DeleteObject(ctx, in)
		if err != nil {
			t.Fatalf("DeleteObject %s %s: %v", key, version, err)
		}
		return out
	}

	// 1: changes whose bytes the replica must fetch
	big := randomBytes(uint64(1), 200<<10)
	p.Upload(t, p.AdminKey, b, "a.txt", []byte("one"), map[string]string{"x-owncdn-meta-color": "blue", "Content-Type": "text/x-one"})
	p.Upload(t, p.AdminKey, b, "a.txt", []byte("two"), nil)
	p.Upload(t, p.AdminKey, b, "big.bin", big, map[string]string{"Content-Type": "application/x-big"})
	p.Upload(t, p.AdminKey, b, "gone.txt", []byte("bye"), nil)
	rpDelete(t, p, b, "gone.txt")
	p.Upload(t, p.AdminKey, b, "empty", nil, nil)
	p.Upload(t, p.AdminKey, b, "dir/sub dir/ü €.txt", []byte("unicode"), nil)
	put("s3/put.txt", []byte("put through S3"), &s3.PutObjectInput{ContentType: aws.String("text/x-s3"),
		Metadata: map[string]string{"k": "v"}, CacheControl: aws.String("max-age=60"), ContentDisposition: aws.String("attachment")})
	var vs []string
	for i := 1; i <= 3; i++ {
		vs = append(vs, aws.ToString(put("s3/v.txt", []byte(fmt.Sprintf("v%d", i)), nil).VersionId))
	}
	mp1, mp2 := randomBytes(uint64(2), 5<<20), randomBytes(uint64(3), 100<<10)
	cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("s3/multi.bin"),
		ContentType: aws.String("application/x-mp"), Metadata: map[string]string{"origin": "multipart"}})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, data := range [][]byte{mp1, mp2} {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("s3/multi.bin"), UploadId: cu.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("s3/multi.bin"),
		UploadId: cu.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	o.sync(t)
	o.same(t, "after uploads, an overwrite, a delete and a multipart upload")
	fetched := px.fetches()
	for _, large := range []string{"big.bin", "s3/multi.bin"} {
		n := 0
		for _, f := range fetched {
			if strings.HasPrefix(f, large+"@") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the replica fetched %s %d times, want once: %q", large, n, fetched)
		}
	}

	// 2: copies of >64 KiB objects and re-uploads of identical bytes:
	// the replica holds these blobs and must not fetch them again
	copyObj("big.bin", "s3/big-copy.bin", nil)
	copyObj("big.bin", "big.bin", &s3.CopyObjectInput{MetadataDirective: types.MetadataDirectiveReplace,
		Metadata: map[string]string{"replaced": "yes"}, ContentType: aws.String("application/x-replaced")})
	copyObj("s3/multi.bin", "s3/multi-copy.bin", &s3.CopyObjectInput{MetadataDirective: types.MetadataDirectiveReplace,
		Metadata: map[string]string{"copy": "1"}})
	p.Upload(t, p.AdminKey, b, "big-again.bin", big, nil)
	p.Upload(t, p.AdminKey, b, "multi-again.bin", append(append([]byte{}, mp1...), mp2...), nil)
	o.sync(t)
	o.noFetchSince(t, "copies and identical re-uploads of >64 KiB objects", len(fetched))

	// 3: delete markers, purges (S3 DeleteObject with versionId), copies
	// of small objects, a batch delete
	dm := del("s3/put.txt", "")
	if !aws.ToBool(dm.DeleteMarker) || aws.ToString(dm.VersionId) == "" {
		t.Fatalf("DeleteObject s3/put.txt: no delete marker: %+v", dm)
	}
	del("s3/v.txt", vs[0])                        // an old version
	del("s3/v.txt", vs[2])                        // the newest: v2 is current again
	del("s3/put.txt", aws.ToString(dm.VersionId)) // the delete marker: undeleted
	copyObj("a.txt", "s3/a-copy.txt", &s3.CopyObjectInput{MetadataDirective: types.MetadataDirectiveReplace,
		Metadata: map[string]string{"m": "n"}, ContentType: aws.String("text/x-copy")})
	rpDelete(t, p, b, "big-again.bin")
	if out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("empty")}, {Key: aws.String("s3/multi-copy.bin")}}}}); err != nil || len(out.Errors) > 0 {
		t.Fatalf("DeleteObjects: %v %+v", err, out)
	}
	o.sync(t)
	ps, _ := o.same(t, "after delete markers, purges, copies and a batch delete")
	rpOps(t, ps, "put", "copy", "delete", "purge")

	// reads through S3 on the replica are the primary's
	cr := r.S3(t, r.AdminKeyID, r.AdminKey)
	rpSameS3(t, ctx, b, c, cr)
	if g, err := cr.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("s3/v.txt"), VersionId: &vs[1]}); err != nil {
		t.Errorf("GetObject s3/v.txt version %s on the replica: %v", vs[1], err)
	} else if body, _ := io.ReadAll(g.Body); string(body) != "v2" {
		t.Errorf("GetObject s3/v.txt version %s on the replica: %q", vs[1], body)
	}
	if _, err := cr.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("s3/v.txt"), VersionId: &vs[0]}); s3Status(err) != http.StatusNotFound {
		t.Errorf("GetObject of a purged version on the replica: %v, want 404", err)
	}

	// writes are refused in native and S3, and change nothing
	last := rpSvc(t, r, b).LastSyncID
	w := r.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: r.AdminKey, Query: Q("sid", b, "path", "x"), Body: strings.NewReader("x")})
	rpWantReadOnly(t, "native uploadfile", w.Status, string(w.Body))
	w = r.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: r.AdminKey, Query: Q("sid", b, "path", "a.txt")})
	rpWantReadOnly(t, "native deletefile", w.Status, string(w.Body))
	s3RO := func(what string, err error) {
		t.Helper()
		var ae smithy.APIError
		msg := ""
		if errors.As(err, &ae) {
			msg = ae.ErrorMessage()
		}
		rpWantReadOnly(t, "S3 "+what, s3Status(err), msg)
	}
	_, err = cr.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("x"), Body: strings.NewReader("x")})
	s3RO("PutObject", err)
	_, err = cr.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("a.txt")})
	s3RO("DeleteObject", err)
	_, err = cr.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("s3/v.txt"), VersionId: &vs[1]})
	s3RO("DeleteObject with versionId", err)
	_, err = cr.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("a2.txt"), CopySource: aws.String(b + "/a.txt")})
	s3RO("CopyObject", err)
	_, err = cr.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("m")})
	s3RO("CreateMultipartUpload", err)
	switch out, err := cr.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("a.txt")}}}}); {
	case err != nil: // refused as a whole
		s3RO("DeleteObjects", err)
	case len(out.Errors) != 1 || len(out.Deleted) != 0:
		t.Errorf("DeleteObjects on the replica: deleted %d, errors %d, want the key refused", len(out.Deleted), len(out.Errors))
	default: // refused key by key
		rpWantReadOnly(t, "S3 DeleteObjects", http.StatusForbidden, aws.ToString(out.Errors[0].Message))
	}
	got := rpSvc(t, r, b)
	if got.LastSyncID != last || got.Replica == nil || got.Replica.Behind != 0 ||
		got.Replica.LastResult != "ok" || got.Replica.PrimarySyncID != last || got.Replica.Source != "primary" || got.Replica.SID != b {
		t.Fatalf("replica after the refused writes: last_sync_id %d (was %d), status %+v", got.LastSyncID, last, got.Replica)
	}
	if at, err := time.Parse(time.RFC3339Nano, got.Replica.LastSync); err != nil || time.Since(at) > time.Minute || time.Until(at) > time.Second {
		t.Errorf("replica status last_sync %q: want the recent time of its last successful step (%v)", got.Replica.LastSync, err)
	}
}

// rpSameS3 compares what S3 clients read from the primary (c) and the
// replica (cr): the listings, every object's GET and every version.
func rpSameS3(t *testing.T, ctx context.Context, b string, c, cr *s3.Client) {
	t.Helper()
	listing := func(cl *s3.Client) []string {
		out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		var l []string
		for _, o := range out.Contents {
			l = append(l, fmt.Sprintf("%s %s %d %s", aws.ToString(o.Key), aws.ToString(o.ETag), aws.ToInt64(o.Size), aws.ToTime(o.LastModified)))
		}
		return l
	}
	versions := func(cl *s3.Client) []string {
		out, err := cl.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
		if err != nil {
			t.Fatalf("ListObjectVersions: %v", err)
		}
		var l []string
		for _, v := range out.Versions {
			l = append(l, fmt.Sprintf("%s %s latest=%v %s %d %s", aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToBool(v.IsLatest),
				aws.ToString(v.ETag), aws.ToInt64(v.Size), aws.ToTime(v.LastModified)))
		}
		for _, d := range out.DeleteMarkers {
			l = append(l, fmt.Sprintf("%s %s latest=%v marker %s", aws.ToString(d.Key), aws.ToString(d.VersionId), aws.ToBool(d.IsLatest), aws.ToTime(d.LastModified)))
		}
		sort.Strings(l)
		return l
	}
	get := func(cl *s3.Client, key string, part int32) string {
		in := &s3.HeadObjectInput{Bucket: &b, Key: &key}
		if part > 0 {
			in.PartNumber = &part
		}
		h, err := cl.HeadObject(ctx, in)
		if err != nil {
			return fmt.Sprintf("HEAD error %d %s", s3Status(err), s3Code(err))
		}
		desc := fmt.Sprintf("etag %s length %d type %s meta %v version %s modified %s cache %s disposition %s parts %d",
			aws.ToString(h.ETag), aws.ToInt64(h.ContentLength), aws.ToString(h.ContentType), h.Metadata, aws.ToString(h.VersionId),
			aws.ToTime(h.LastModified), aws.ToString(h.CacheControl), aws.ToString(h.ContentDisposition), aws.ToInt32(h.PartsCount))
		if part > 0 {
			return desc
		}
		g, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &key})
		if err != nil {
			return desc + fmt.Sprintf(" GET error %d %s", s3Status(err), s3Code(err))
		}
		defer g.Body.Close()
		body, err := io.ReadAll(g.Body)
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		return desc + " sha256 " + sha256hex(body)
	}
	pl, rl := listing(c), listing(cr)
	if !slices.Equal(pl, rl) || len(pl) == 0 {
		t.Errorf("ListObjectsV2:\n primary %q\n replica %q", pl, rl)
	}
	if pv, rv := versions(c), versions(cr); !slices.Equal(pv, rv) {
		t.Errorf("ListObjectVersions:\n primary %q\n replica %q", pv, rv)
	}
	for _, line := range pl {
		key := strings.SplitN(line, " ", 2)[0]
		if pg, rg := get(c, key, 0), get(cr, key, 0); pg != rg {
			t.Errorf("S3 HEAD+GET %s:\n primary %s\n replica %s", key, pg, rg)
		}
	}
	// a multipart object's parts are S3's to read one by one
	if pg, rg := get(c, "s3/multi.bin", 1), get(cr, "s3/multi.bin", 1); pg != rg {
		t.Errorf("S3 HEAD s3/multi.bin partNumber=1:\n primary %s\n replica %s", pg, rg)
	}
}

func TestRpOps_Swift(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	// the primary on a test clock; the replica on a real one: an expired
	// object 404s there only once the expiry replicated
	o, acct, ptok, rtok := rpSwiftPair(t, func(c *server.Config) { c.Clock = clk.Now; c.ReapInterval = server.Duration(20 * time.Millisecond) })
	p, r, px, cont := o.p, o.r, o.px, o.sid
	do := func(method, name string, hdr map[string]string, body []byte, want int) {
		t.Helper()
		swWant(t, method+" "+name, swDo(t, p, method, swPath(acct, cont, name), ptok, hdr, bytes.NewReader(body)), want)
	}

	big := randomBytes(uint64(7), 150<<10)
	do(http.MethodPut, "o1", map[string]string{"Content-Type": "text/x-a", "X-Object-Meta-Color": "blue"}, []byte("first"), http.StatusCreated)
	do(http.MethodPut, "o1", map[string]string{"X-Object-Meta-Color": "red"}, []byte("second"), http.StatusCreated)
	do(http.MethodPost, "o1", map[string]string{"X-Object-Meta-Shape": "square"}, nil, http.StatusAccepted)
	do(http.MethodPut, "big", map[string]string{"Content-Type": "application/x-big"}, big, http.StatusCreated)
	do(http.MethodPut, "del", nil, []byte("delete me"), http.StatusCreated)
	do(http.MethodDelete, "del", nil, nil, http.StatusNoContent)
	do(http.MethodPut, "exp", map[string]string{"X-Delete-After": "600"}, []byte("expiring"), http.StatusCreated)
	do(http.MethodPut, "later", nil, []byte("later"), http.StatusCreated)
	do(http.MethodPost, "later", map[string]string{"X-Delete-After": "3000", "X-Object-Meta-When": "later"}, nil, http.StatusAccepted)
	o.sync(t)
	n := len(px.fetches())

	// copies of a >64 KiB object and identical bytes: no fetch
	do("COPY", "big", map[string]string{"Destination": cont + "/big-copy", "X-Object-Meta-Copied": "yes"}, nil, http.StatusCreated)
	do(http.MethodPut, "big-from", map[string]string{"X-Copy-From": cont + "/big", "X-Fresh-Metadata": "true",
		"X-Object-Meta-New": "1"}, nil, http.StatusCreated)
	do(http.MethodPut, "big-again", nil, big, http.StatusCreated)
	o.sync(t)
	o.noFetchSince(t, "Swift copies and an identical re-upload of a >64 KiB object", n)
	ps, _ := o.same(t, "after Swift PUT, POST, DELETE, COPY")
	rpOps(t, ps, "put", "meta", "delete", "copy")
	rpSameSwift(t, p, r, acct, cont, ptok, rtok, "exp", "del")
	pe := swDo(t, p, http.MethodHead, swPath(acct, cont, "exp"), ptok, nil, nil)
	re := swDo(t, r, http.MethodHead, swPath(acct, cont, "exp"), rtok, nil, nil)
	if at := re.Header.Get("X-Delete-At"); re.Status != http.StatusOK || at == "" || at != pe.Header.Get("X-Delete-At") {
		t.Errorf("HEAD exp on the replica before it is due: %d X-Delete-At %q, primary %q", re.Status, at, pe.Header.Get("X-Delete-At"))
	}

	// writes are refused in Swift
	for _, w := range []struct {
		method, name string
		hdr          map[string]string
	}{
		{http.MethodPut, "new", nil}, {http.MethodPut, "o1", nil}, {http.MethodPost, "o1", map[string]string{"X-Object-Meta-A": "b"}},
		{http.MethodDelete, "o1", nil}, {"COPY", "o1", map[string]string{"Destination": cont + "/o1-copy"}},
		{http.MethodPut, "o1-from", map[string]string{"X-Copy-From": cont + "/o1"}},
	} {
		res := swDo(t, r, w.method, swPath(acct, cont, w.name), rtok, w.hdr, bytes.NewReader([]byte("no")))
		rpWantReadOnly(t, "Swift "+w.method+" "+w.name, res.Status, string(res.Body))
	}

	// expiry: the primary's reaper expires exp; the change replicates and
	// the replica (whose own clock is not yet there) stops serving it
	clk.Advance(601 * time.Second)
	eventually(t, 30*time.Second, func() error {
		head := ""
		var v struct {
			Versions []struct {
				Op string `json:"op"`
			} `json:"versions"`
		}
		res := p.Do(t, Req{Fn: "versionlist", Key: p.AdminKey, Query: Q("sid", cont, "path", "exp")})
		res.JSON(t, &v)
		if len(v.Versions) > 0 {
			head = v.Versions[0].Op
		}
		if head != "expire" {
			return fmt.Errorf("the primary's reaper expiring exp: newest op %q", head)
		}
		return nil
	})
	o.sync(t)
	// getfile by version of the expired version is decided by each
	// server's own clock (the primary's is past delete-at, the replica's
	// not): that one answer may differ, everything else may not
	ps, rs := rpSnapshot(t, p, cont), rpSnapshot(t, r, cont)
	for _, v := range ps.Versions["exp"] {
		if v["op"] == "put" {
			delete(ps.Bodies, "exp@"+v["version"].(string))
			delete(rs.Bodies, "exp@"+v["version"].(string))
		}
	}
	rpSame(t, "after the expiry", ps, rs)
	rpNoDuplicates(t, "after the expiry (replica)", rs)
	rpOps(t, ps, "expire")
	if g := swDo(t, r, http.MethodGet, swPath(acct, cont, "exp"), rtok, nil, nil); g.Status != http.StatusNotFound {
		t.Errorf("Swift GET of the expired exp on the replica: %d, want 404", g.Status)
	}
	if g := r.Do(t, Req{Fn: "getfile", Key: r.AdminKey, Query: Q("sid", cont, "path", "exp")}); g.Status != http.StatusNotFound {
		t.Errorf("native getfile of the expired exp on the replica: %d, want 404", g.Status)
	}
	rpSameSwift(t, p, r, acct, cont, ptok, rtok, "exp")
}

// rpSameSwift compares what Swift clients read from the primary and the
// replica: the container listing and every listed object's GET (and the
// extra names'), headers included.
func rpSameSwift(t *testing.T, p, r *Env, acct, cont, ptok, rtok string, extra ...string) {
	t.Helper()
	pr := swDo(t, p, http.MethodGet, swPath(acct, cont)+"?format=json", ptok, nil, nil)
	rr := swDo(t, r, http.MethodGet, swPath(acct, cont)+"?format=json", rtok, nil, nil)
	if pr.Status != http.StatusOK || rr.Status != pr.Status || !bytes.Equal(pr.Body, rr.Body) {
		t.Errorf("Swift container listing:\n primary %d %s\n replica %d %s", pr.Status, pr.Body, rr.Status, rr.Body)
	}
	var list []struct {
		Name string `json:"name"`
	}
	pr.JSON(t, &list)
	names := extra
	for _, e := range list {
		names = append(names, e.Name)
	}
	desc := func(e *Env, tok, name, query string) string {
		g := swDo(t, e, http.MethodGet, swPath(acct, cont, name)+query, tok, nil, nil)
		var hs []string
		for k, v := range g.Header {
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, "x-object-meta-") || lk == "etag" || lk == "content-type" || lk == "content-length" ||
				lk == "last-modified" || lk == "x-delete-at" || lk == "x-object-manifest" || lk == "x-static-large-object" {
				hs = append(hs, lk+": "+strings.Join(v, ","))
			}
		}
		sort.Strings(hs)
		return fmt.Sprintf("%d %s sha256 %s", g.Status, strings.Join(hs, "; "), sha256hex(g.Body))
	}
	for _, name := range names {
		for _, q := range []string{"", "?multipart-manifest=get"} {
			if pd, rd := desc(p, ptok, name, q), desc(r, rtok, name, q); pd != rd {
				t.Errorf("Swift GET %s%s:\n primary %s\n replica %s", name, q, pd, rd)
			}
		}
	}
}

// rpSwiftPair is a primary (edited by edit), a replica following it
// through a proxy, and a Swift container of account acct (on both) with a
// token of the account on each side.
func rpSwiftPair(t *testing.T, edit func(*server.Config)) (o *rpOpsPair, acct, ptok, rtok string) {
	t.Helper()
	p := Start(t, rpFast, edit)
	px := rpNewProxy(t, p.URL)
	r := Start(t, rpFast)
	acct = uniqueName(t, "a", 64)
	for _, e := range []*Env{p, r} {
		e.Admin(t, "accountcreate", map[string]any{"id": acct, "name": "rp " + acct}, http.StatusCreated)
	}
	ptok, rtok = swToken(t, p, p.CreateKey(t, KeySpec{Account: acct, Admin: true, Access: nil})), swToken(t, r, r.CreateKey(t, KeySpec{Account: acct, Admin: true, Access: nil}))
	cont := swName(t)
	swWant(t, "PUT container", swDo(t, p, http.MethodPut, swPath(acct, cont), ptok, nil, nil), http.StatusCreated)
	rpAttach(t, r, "primary", px.URL, rpReadKey(t, p, acct, cont), cont, cont, acct)
	return &rpOpsPair{p: p, r: r, px: px, sid: cont}, acct, ptok, rtok
}

// TestRpOps_SwiftSLO: a static large object (segments pinned by an SLO
// manifest) has the primary's history on the replica and reads there as
// on the primary, manifest included.
func TestRpOps_SwiftSLO(t *testing.T) {
	t.Parallel()
	o, acct, ptok, rtok := rpSwiftPair(t, func(*server.Config) {})
	p, r, cont := o.p, o.r, o.sid
	segs := slSegs(t, p, ptok, acct, cont, "seg/", 40, 70<<10, 70<<10, 1000)
	res := slPutSLO(t, p, ptok, acct, cont, "slo", slEntries(segs...), nil)
	swWant(t, "PUT the SLO", res, http.StatusCreated)
	// a nested SLO is a reference on the primary; the replica stores it
	// as the content it reads to
	whole, _ := slJoin(segs...)
	sub := slSeg{cont: cont, name: "slo", body: whole, etag: strings.Trim(res.Header.Get("Etag"), `"`)}
	swWant(t, "PUT a nested SLO", slPutSLO(t, p, ptok, acct, cont, "nested", slEntries(sub, segs[2], sub), nil), http.StatusCreated)
	rpWaitSync(t, p, cont, r, cont)
	rpSame(t, "an SLO", rpSnapshot(t, p, cont), rpSnapshot(t, r, cont))
	rpSameSwift(t, p, r, acct, cont, ptok, rtok)
}

// TestRpOps_SwiftDLO: a dynamic large object (an empty object whose
// X-Object-Manifest names a prefix) replicates as the empty object it is,
// and reads on the replica as the concatenation of the replica's segments.
func TestRpOps_SwiftDLO(t *testing.T) {
	t.Parallel()
	o, acct, ptok, rtok := rpSwiftPair(t, func(*server.Config) {})
	p, r, cont := o.p, o.r, o.sid
	for _, seg := range []string{"dlo/1", "dlo/2"} {
		sxPut(t, p, ptok, acct, cont, seg, []byte("segment "+seg), nil)
	}
	sxPut(t, p, ptok, acct, cont, "dlo-manifest", nil, map[string]string{"X-Object-Manifest": cont + "/dlo/"})
	sxPut(t, p, ptok, acct, cont, "after", []byte("a change after the DLO"), nil)
	rpWaitSyncIn(t, 30*time.Second, p, cont, r, cont)
	rpSame(t, "a DLO", rpSnapshot(t, p, cont), rpSnapshot(t, r, cont))
	rpSameSwift(t, p, r, acct, cont, ptok, rtok)
}

// TestRpOps_PurgedBeforeFollowed: a replica that starts (or is behind)
// after a version was purged on the primary still follows: the purged
// version's change is no longer in the primary's history, so the replica
// must accept the gap the purge left.
func TestRpOps_PurgedBeforeFollowed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, r := Start(t, rpFast), Start(t, rpFast)
	b := p.Bucket(t)
	c := p.S3(t, p.AdminKeyID, p.AdminKey)
	var vs []string
	for i := 1; i <= 3; i++ {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("x"), Body: strings.NewReader(fmt.Sprint("v", i))})
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, aws.ToString(out.VersionId))
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("x"), VersionId: &vs[0]}); err != nil {
		t.Fatal(err)
	}
	p.Upload(t, p.AdminKey, b, "y", []byte("after the purge"), nil)
	rpAttach(t, r, "primary", p.URL, rpReadKey(t, p, "", b), b, b, "")
	rpWaitSyncIn(t, 30*time.Second, p, b, r, b)
	ps, rs := rpSnapshot(t, p, b), rpSnapshot(t, r, b)
	rpSame(t, "a replica created after a purge", ps, rs)
	rpNoDuplicates(t, "replica", rs)
}
