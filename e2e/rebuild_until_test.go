package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events/datadir"
)

// rutWorld is what the history wrote and the snapshots read.
type rutWorld struct {
	native, bucket string // a native service and an S3 bucket (a Swift container)
	acct           string
	k              Key    // the account's admin key (S3 and Swift)
	token          string // a Swift token issued before the moment
	paths          map[string][]string
}

// TestRebuildUntil_ReadOnlyServesTheMoment writes a history through the
// native API, S3 and Swift (uploads, overwrites, deletes, a blob object, a
// completed and an open multipart upload), notes a moment in its middle
// (a time between two writes, and the sequence of the last event before
// it) with every answer the live server gave then, writes on, stops the
// server, and rebuilds the moment (datadir.RebuildUntil, what `cairn
// rebuild --until` runs) both by time and by sequence. A read-only server
// on each copy must give the answers of the moment in every dialect, know
// nothing written later, refuse every write in each dialect's own error
// format without appending or folding anything, and the source directory
// must be exactly as it was.
func TestRebuildUntil_ReadOnlyServesTheMoment(t *testing.T) {
	t.Parallel()
	clock := newOffsetClock()
	e := Start(t, func(c *server.Config) { // no checkpoint at shutdown: the test counts the log's events as the workload left them
		c.Clock = clock.Now
		c.CheckpointInterval = server.Duration(time.Hour)
		c.CheckpointOnStop = false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	w := rutBefore(t, e)
	mid, digest := e.Settled(t)
	want := rutSnapshot(t, e, w)
	clock.Advance(time.Second)
	moment := clock.Now()
	clock.Advance(time.Second)
	rutAfter(t, e, w)
	last, err := e.Srv.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last <= mid {
		t.Fatalf("nothing was written after the moment (log at %d)", last)
	}
	if got := rutSnapshot(t, e, w); rutDiff(got, want) == "" {
		t.Fatalf("the writes after the moment changed no answer: the test proves nothing")
	}
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	before := rutTree(t, e.Dir)

	for _, c := range []struct {
		name string
		o    datadir.UntilOptions
	}{
		{"by time", datadir.UntilOptions{Time: moment}},
		{"by sequence", datadir.UntilOptions{Seq: mid}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.Source, c.o.Out = e.Dir, filepath.Join(t.TempDir(), "pit")
			st, err := datadir.RebuildUntil(ctx, c.o)
			if err != nil {
				t.Fatalf("RebuildUntil: %v", err)
			}
			if st.Seq != mid || st.LogLast != last || st.Digest != digest {
				t.Errorf("rebuilt sequence %d of %d, digest %s; want %d of %d and the live digest at the moment %s",
					st.Seq, st.LogLast, st.Digest, mid, last, digest)
			}
			if st.Blobs == 0 || st.Linked != st.Blobs {
				t.Errorf("%d blob files, %d hard-linked: want all linked", st.Blobs, st.Linked)
			}
			cfg := e.Config
			cfg.Data, cfg.ReadOnly, cfg.Clock = c.o.Out, true, nil
			cfg.Name = fmt.Sprintf("e2e-%d", serverNo.Add(1))
			ro := startIn(t, cfg)
			if m := ro.Srv.ReadOnlyAt; m == nil || m.Seq != mid || m.LogLast != last {
				t.Fatalf("ReadOnlyAt %+v, want sequence %d of %d", m, mid, last)
			}
			if d := rutDiff(rutSnapshot(t, ro, w), want); d != "" {
				t.Errorf("the read-only server's answers differ from the live server's at the moment:\n%s", d)
			}
			rutAbsent(t, ro, w)
			rutRefused(t, ro, w)
			if got, err := ro.Srv.Log.LastSeq(ctx); err != nil || got != last {
				t.Errorf("the log of the read-only server is at %d (%v), want %d: something was appended", got, err, last)
			}
			if got := ro.Srv.State.Applied(); got != mid {
				t.Errorf("the read-only projections are at %d, want %d", got, mid)
			}
		})
	}
	if after := rutTree(t, e.Dir); after != before {
		t.Errorf("the source directory changed:\n%s", rutDiffLines(before, after))
	}
}

// rutBefore writes the history up to the moment.
func rutBefore(t *testing.T, e *Env) *rutWorld {
	t.Helper()
	w := &rutWorld{paths: map[string][]string{}}
	w.acct, w.k = e.Account(t)
	w.native = e.WithService(t)
	e.Upload(t, e.AdminKey, w.native, "a.txt", []byte("a, first"), map[string]string{"Content-Type": "text/plain"})
	e.Upload(t, e.AdminKey, w.native, "b.txt", []byte("b"), nil)
	e.Upload(t, e.AdminKey, w.native, "big.bin", bytes.Repeat([]byte("big!"), 64<<10), nil) // 256 KiB: a blob file
	e.Upload(t, e.AdminKey, w.native, "a.txt", []byte("a, second"), map[string]string{"x-owncdn-meta-color": "red"})
	rutOK(t, e, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", w.native, "path", "b.txt")})
	e.Upload(t, e.AdminKey, w.native, "dir/c.txt", []byte("c"), nil)
	w.paths[w.native] = []string{"a.txt", "b.txt", "big.bin", "dir/c.txt", "late.txt"}

	c := e.S3(t, w.k.ID, w.k.Value)
	w.bucket = uniqueName(t, "b", 63)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &w.bucket}); err != nil {
		t.Fatal(err)
	}
	rutPut(t, c, w.bucket, "x.txt", []byte("x, first"))
	rutPut(t, c, w.bucket, "x.txt", []byte("x, second"))
	rutPut(t, c, w.bucket, "gone.txt", []byte("soon gone"))
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &w.bucket, Key: aws.String("gone.txt")}); err != nil {
		t.Fatal(err)
	}
	rutMultipart(t, c, w.bucket, "mp.bin", true)
	rutMultipart(t, c, w.bucket, "open.bin", false) // completed after the moment
	w.token = swToken(t, e, w.k)
	rutSwift(t, e, w, http.MethodPut, "sw.txt", "from swift", http.StatusCreated)
	w.paths[w.bucket] = []string{"x.txt", "gone.txt", "mp.bin", "open.bin", "sw.txt", "late-s3.txt", "sw-late.txt"}
	return w
}

// rutAfter writes on after the moment, in every dialect.
func rutAfter(t *testing.T, e *Env, w *rutWorld) {
	t.Helper()
	e.Upload(t, e.AdminKey, w.native, "a.txt", []byte("a, third"), nil)
	rutOK(t, e, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", w.native, "path", "dir/c.txt")})
	e.Upload(t, e.AdminKey, w.native, "late.txt", bytes.Repeat([]byte("late"), 32<<10), nil)
	e.Admin(t, "servicecreate", map[string]any{"id": w.native + "-late"}, http.StatusCreated)
	c := e.S3(t, w.k.ID, w.k.Value)
	ctx := context.Background()
	rutPut(t, c, w.bucket, "x.txt", []byte("x, third"))
	rutPut(t, c, w.bucket, "late-s3.txt", []byte("late"))
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &w.bucket, Key: aws.String("mp.bin")}); err != nil {
		t.Fatal(err)
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &w.bucket})
	if err != nil || len(ups.Uploads) != 1 {
		t.Fatalf("open uploads: %v (%v)", ups, err)
	}
	rutComplete(t, c, w.bucket, "open.bin", *ups.Uploads[0].UploadId)
	rutSwift(t, e, w, http.MethodPut, "sw-late.txt", "late, from swift", http.StatusCreated)
	rutSwift(t, e, w, http.MethodDelete, "sw.txt", "", http.StatusNoContent)
}

// rutAbsent checks what was written after the moment is unknown to ro.
func rutAbsent(t *testing.T, ro *Env, w *rutWorld) {
	t.Helper()
	if r := ro.Do(t, Req{Fn: "getfile", Key: ro.AdminKey, Query: Q("sid", w.native, "path", "late.txt")}); r.Status != http.StatusNotFound {
		t.Errorf("native late.txt: %d, want 404", r.Status)
	}
	if r := ro.Do(t, Req{Fn: "filelist", Key: ro.AdminKey, Query: Q("sid", w.native+"-late")}); r.Status != http.StatusNotFound {
		t.Errorf("a service created after the moment: %d, want 404", r.Status)
	}
	_, err := ro.S3(t, w.k.ID, w.k.Value).GetObject(context.Background(), &s3.GetObjectInput{Bucket: &w.bucket, Key: aws.String("late-s3.txt")})
	if s3Code(err) != "NoSuchKey" {
		t.Errorf("S3 late-s3.txt: %v, want NoSuchKey", err)
	}
	if r := swDo(t, ro, http.MethodGet, swPath(w.acct, w.bucket, "sw-late.txt"), w.token, nil, nil); r.Status != http.StatusNotFound {
		t.Errorf("Swift sw-late.txt: %d, want 404", r.Status)
	}
}

// rutRefused tries every kind of write in every dialect on the read-only
// server ro: each must be refused in that dialect's error format, saying
// the server is read-only. Swift auth still answers (no event appended).
func rutRefused(t *testing.T, ro *Env, w *rutWorld) {
	t.Helper()
	native := []Req{
		{Method: http.MethodPut, Fn: "uploadfile", Key: ro.AdminKey, Query: Q("sid", w.native, "path", "new.txt"), Body: strings.NewReader("no")},
		{Method: http.MethodPut, Fn: "uploadfile", Key: ro.AdminKey, Query: Q("sid", w.native, "path", "big-new.bin"), Body: bytes.NewReader(bytes.Repeat([]byte("n"), 200<<10))},
		{Method: http.MethodDelete, Fn: "deletefile", Key: ro.AdminKey, Query: Q("sid", w.native, "path", "a.txt")},
		{Method: http.MethodPost, Fn: "servicecreate", Key: ro.AdminKey, Body: strings.NewReader(`{"id":"ro-new"}`)},
		{Method: http.MethodPost, Fn: "keycreate", Key: ro.AdminKey, Body: strings.NewReader(`{"name":"ro","access":{"*":"read"}}`)},
	}
	for _, r := range native {
		resp := ro.Do(t, r)
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(resp.Body, &body)
		if resp.Status != http.StatusForbidden || body.Error.Code != "forbidden" || !strings.Contains(body.Error.Message, "read-only") {
			t.Errorf("native %s on a read-only server: %d %s, want 403 forbidden saying read-only", r.Fn, resp.Status, resp.Body)
		}
	}

	c := ro.S3(t, w.k.ID, w.k.Value)
	ctx := context.Background()
	s3Writes := map[string]func() error{
		"PutObject": func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &w.bucket, Key: aws.String("new.txt"), Body: strings.NewReader("no")})
			return err
		},
		"DeleteObject": func() error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &w.bucket, Key: aws.String("x.txt")})
			return err
		},
		"CreateBucket": func() error {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(w.bucket + "-ro")})
			return err
		},
		"CreateMultipartUpload": func() error {
			_, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &w.bucket, Key: aws.String("mp-new")})
			return err
		},
		"CopyObject": func() error {
			_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &w.bucket, Key: aws.String("copy"), CopySource: aws.String(w.bucket + "/x.txt")})
			return err
		},
	}
	for op, fn := range s3Writes {
		err := fn()
		var ae smithy.APIError
		if !errors.As(err, &ae) || s3Status(err) != http.StatusForbidden || ae.ErrorCode() != "AccessDenied" || !strings.Contains(ae.ErrorMessage(), "read-only") {
			t.Errorf("S3 %s on a read-only server: %v, want 403 AccessDenied saying read-only", op, err)
		}
	}

	// Swift: the token issued before the moment still works, auth gives
	// it again without appending, and every write is a 403.
	tok := swToken(t, ro, w.k)
	if tok != w.token {
		t.Errorf("Swift auth on the read-only server gave another token than the live server's")
	}
	swWant(t, "Swift listing with the token", swDo(t, ro, http.MethodGet, swPath(w.acct, w.bucket), tok, nil, nil), http.StatusOK)
	for v := 1; v <= 3; v++ { // every auth version, through a real client
		conn := ro.Swift(t, w.k.ID, w.k.Value, v)
		if names, err := conn.ObjectNamesAll(ctx, w.bucket, nil); err != nil || len(names) == 0 {
			t.Errorf("Swift auth v%d on a read-only server, then a listing: %v (%v)", v, names, err)
		}
	}
	for _, r := range []struct {
		method, path string
		hdr          map[string]string
	}{
		{http.MethodPut, swPath(w.acct, w.bucket, "new.txt"), nil},
		{http.MethodDelete, swPath(w.acct, w.bucket, "x.txt"), nil},
		{http.MethodPost, swPath(w.acct, w.bucket, "x.txt"), map[string]string{"X-Object-Meta-Color": "blue"}},
		{http.MethodPut, swPath(w.acct, w.bucket+"-ro"), nil},
		{http.MethodPost, swPath(w.acct), map[string]string{"X-Account-Meta-Color": "blue"}},
	} {
		resp := swDo(t, ro, r.method, r.path, tok, r.hdr, strings.NewReader("no"))
		swWantErr(t, "Swift "+r.method+" "+r.path, resp, http.StatusForbidden)
		if !strings.Contains(string(resp.Body), "read-only") {
			t.Errorf("Swift %s %s: %s, want it to say read-only", r.method, r.path, resp.Body)
		}
	}
}

// rutSnapshot records ro's (or the live server's) answers to every read
// the history can be seen through, by name; errors as status and code.
func rutSnapshot(t *testing.T, e *Env, w *rutWorld) map[string]string {
	t.Helper()
	out := map[string]string{}
	native := func(name string, r Req) *Resp {
		var resp *Resp
		out[name], resp = snapAnswer(t, e, r, "X-Owncdn-Meta-Color")
		return resp
	}
	native("servicelist", Req{Fn: "servicelist", Key: e.AdminKey})
	for _, sid := range []string{w.native, w.bucket} {
		native("filelist "+sid, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid, "limit", "10000")})
		native("filelist / "+sid, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid, "delimiter", "/")})
		native("syncnext "+sid, Req{Fn: "syncnext", Key: e.AdminKey, Query: Q("sid", sid, "after", "0", "limit", "1000")})
		native("events "+sid, Req{Fn: "events", Key: e.AdminKey, Query: Q("sid", sid, "limit", "1000")})
		native("filelist asof "+sid, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid, "asof", "sync:2")})
		for _, p := range w.paths[sid] {
			native("getfile "+sid+" "+p, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", p)})
			r := native("versionlist "+sid+" "+p, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", p)})
			var vl struct {
				Versions []struct {
					Version string `json:"version"`
				} `json:"versions"`
			}
			if r.Status == http.StatusOK {
				r.JSON(t, &vl)
			}
			for _, v := range vl.Versions {
				native("getfile "+sid+" "+p+" @"+v.Version, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", p, "version", v.Version)})
			}
		}
	}

	ctx := context.Background()
	c := e.S3(t, w.k.ID, w.k.Value)
	if l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &w.bucket}); err != nil {
		out["s3 list"] = "error " + s3Code(err)
	} else {
		for _, o := range l.Contents {
			out["s3 list"] += fmt.Sprintf("%s %s %d %s; ", *o.Key, *o.ETag, *o.Size, o.LastModified.UTC())
		}
	}
	if l, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &w.bucket}); err != nil {
		out["s3 versions"] = "error " + s3Code(err)
	} else {
		for _, v := range l.Versions {
			out["s3 versions"] += fmt.Sprintf("%s %s %v %s %d; ", *v.Key, *v.VersionId, *v.IsLatest, *v.ETag, *v.Size)
		}
		for _, m := range l.DeleteMarkers {
			out["s3 versions"] += fmt.Sprintf("marker %s %s %v; ", *m.Key, *m.VersionId, *m.IsLatest)
		}
	}
	if l, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &w.bucket}); err != nil {
		out["s3 uploads"] = "error " + s3Code(err)
	} else {
		for _, u := range l.Uploads {
			out["s3 uploads"] += fmt.Sprintf("%s %s; ", *u.Key, *u.UploadId)
		}
	}
	for _, k := range w.paths[w.bucket] {
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &w.bucket, Key: aws.String(k)})
		if err != nil {
			out["s3 get "+k] = fmt.Sprintf("error %d %s", s3Status(err), s3Code(err))
			continue
		}
		b, err := io.ReadAll(g.Body)
		g.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out["s3 get "+k] = fmt.Sprintf("%s %d %s %s sha256=%s", *g.ETag, *g.ContentLength, aws.ToString(g.ContentType), aws.ToString(g.VersionId), sha256hex(b))
	}

	swift := func(name, path string, headers ...string) {
		r := swDo(t, e, http.MethodGet, path, w.token, nil, nil)
		s := fmt.Sprintf("%d", r.Status)
		for _, h := range headers {
			s += " " + h + "=" + r.Header.Get(h)
		}
		if r.Status < 300 {
			s += " " + string(r.Body)
		}
		out[name] = s
	}
	swift("swift account", swPath(w.acct)+"?format=json", "X-Account-Container-Count", "X-Account-Object-Count", "X-Account-Bytes-Used")
	swift("swift container", swPath(w.acct, w.bucket)+"?format=json", "X-Container-Object-Count", "X-Container-Bytes-Used")
	for _, k := range w.paths[w.bucket] {
		r := swDo(t, e, http.MethodGet, swPath(w.acct, w.bucket, k), w.token, nil, nil)
		out["swift get "+k] = fmt.Sprintf("%d %s %s %s sha256=%s", r.Status, r.Header.Get("Etag"), r.Header.Get("Content-Length"), r.Header.Get("Last-Modified"), sha256hex(r.Body))
	}
	return out
}

// rutDiff describes how got differs from want ("" when equal).
func rutDiff(got, want map[string]string) string {
	names := map[string]bool{}
	for k := range got {
		names[k] = true
	}
	for k := range want {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var b strings.Builder
	for _, k := range sorted {
		g, okG := got[k]
		w, okW := want[k]
		if g != w || okG != okW {
			fmt.Fprintf(&b, "%s:\n  got  %.600s\n  want %.600s\n", k, g, w)
		}
	}
	return b.String()
}

func rutOK(t *testing.T, e *Env, r Req) {
	t.Helper()
	if resp := e.Do(t, r); resp.Status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", r.Method, r.Fn, resp.Status, resp.Body)
	}
}

func rutPut(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// rutMultipart uploads two parts of key (5 MiB and 1 KiB) and completes
// the upload when complete is set.
func rutMultipart(t *testing.T, c *s3.Client, bucket, key string, complete bool) {
	t.Helper()
	ctx := context.Background()
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	for n, size := range []int{5 << 20, 1 << 10} {
		body := bytes.Repeat([]byte{byte('a' + n)}, size)
		if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(n + 1)), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("UploadPart %d of %s: %v", n+1, key, err)
		}
	}
	if complete {
		rutComplete(t, c, bucket, key, *up.UploadId)
	}
}

// rutComplete completes an upload from the parts it holds.
func rutComplete(t *testing.T, c *s3.Client, bucket, key, id string) {
	t.Helper()
	ctx := context.Background()
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &id})
	if err != nil {
		t.Fatal(err)
	}
	var done []s3types.CompletedPart
	for _, p := range parts.Parts {
		done = append(done, s3types.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatalf("CompleteMultipartUpload %s: %v", key, err)
	}
}

// rutSwift sends one Swift object request with the world's token.
func rutSwift(t *testing.T, e *Env, w *rutWorld, method, name, body string, status int) {
	t.Helper()
	swWant(t, "Swift "+method+" "+name, swDo(t, e, method, swPath(w.acct, w.bucket, name), w.token, nil, strings.NewReader(body)), status)
}

// rutTree describes every file and directory under dir: path, mode, and
// for files size, modification time and content hash.
func rutTree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := strings.TrimPrefix(path, dir) + " " + fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %d %s %s", fi.Size(), fi.ModTime().UTC(), sha256hex(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// rutDiffLines lists the lines only one of two trees has.
func rutDiffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for l := range ma {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range mb {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
