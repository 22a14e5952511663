package e2e

// minio-go against the S3 dialect: it signs every upload as aws-chunked
// streaming chunks over plain HTTP, uploads of unknown size in parts, and
// lists with its own paging, so it exercises paths aws-sdk-go-v2 does not.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// mnWantErr fails unless err is an S3 error with this status and code.
func mnWantErr(t testing.TB, what string, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %d %s", what, status, code)
	}
	r := minio.ToErrorResponse(err)
	if r.StatusCode != status || r.Code != code || r.RequestID == "" {
		t.Fatalf("%s: %d %s (request id %q), want %d %s: %v", what, r.StatusCode, r.Code, r.RequestID, status, code, err)
	}
}

func mnGet(t testing.TB, mc *minio.Client, bucket, key string, opts minio.GetObjectOptions) []byte {
	t.Helper()
	o, err := mc.GetObject(context.Background(), bucket, key, opts)
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	return b
}

// mnList lists bucket with opts as "key" ("key@version", "!" for a delete
// marker and "*" when latest, when listing versions).
func mnList(t testing.TB, mc *minio.Client, bucket string, opts minio.ListObjectsOptions) []string {
	t.Helper()
	out := []string{}
	for o := range mc.ListObjects(context.Background(), bucket, opts) {
		if o.Err != nil {
			t.Fatalf("ListObjects: %v", o.Err)
		}
		s := o.Key
		if opts.WithVersions {
			s += "@" + o.VersionID
			if o.IsDeleteMarker {
				s += "!"
			}
			if o.IsLatest {
				s += "*"
			}
		}
		out = append(out, s)
	}
	return out
}

func TestS3Minio_PutGetStatCopy(t *testing.T) {
	t.Parallel()
	e := Start(t)
	mc := e.Minio(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := uniqueName(t, "m", 63)
	if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	mnWantErr(t, "MakeBucket again", mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}), http.StatusConflict, "BucketAlreadyOwnedByYou")
	if ok, err := mc.BucketExists(ctx, b); err != nil || !ok {
		t.Fatalf("BucketExists = %v, %v", ok, err)
	}
	if ok, err := mc.BucketExists(ctx, "no-such-bucket"); err != nil || ok {
		t.Fatalf("BucketExists of a missing bucket = %v, %v", ok, err)
	}

	// known size, one request (aws-chunked, every chunk signed)
	small := randomBytes(41, 100_000)
	si, err := mc.PutObject(ctx, b, "obj/small", bytes.NewReader(small), int64(len(small)), minio.PutObjectOptions{
		ContentType: "text/x-minio", UserMetadata: map[string]string{"color": "green"}, CacheControl: "max-age=5", ContentDisposition: "inline"})
	if err != nil || si.ETag != md5hex(small) || si.Size != int64(len(small)) || si.VersionID == "" {
		t.Fatalf("PutObject of known size = %+v, %v", si, err)
	}
	// unknown size, smaller than a part: minio still uploads it as a
	// multipart upload of one part
	stream := randomBytes(42, 300_000)
	sti, err := mc.PutObject(ctx, b, "obj/stream", bytes.NewBuffer(stream), -1, minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil || sti.ETag != strings.Trim(sdkMultipartETag(stream), `"`) || sti.Size != int64(len(stream)) {
		t.Fatalf("PutObject of unknown size = %+v, %v", sti, err)
	}
	// unknown size and known size past the part size: multipart, 5+5+2 MiB
	big := randomBytes(43, 12<<20)
	wantBig := strings.Trim(sdkMultipartETag(big[:5<<20], big[5<<20:10<<20], big[10<<20:]), `"`)
	bi, err := mc.PutObject(ctx, b, "obj/big-unknown", io.MultiReader(bytes.NewReader(big)), -1, minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil || bi.ETag != wantBig || bi.Size != int64(len(big)) {
		t.Fatalf("multipart PutObject of unknown size = %+v, %v (want ETag %s)", bi, err, wantBig)
	}
	ki, err := mc.PutObject(ctx, b, "obj/big-known", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20, ContentType: "application/x-big"})
	if err != nil || ki.ETag != wantBig || ki.Size != int64(len(big)) {
		t.Fatalf("multipart PutObject of known size = %+v, %v (want ETag %s)", ki, err, wantBig)
	}
	for key, want := range map[string][]byte{"obj/small": small, "obj/stream": stream, "obj/big-unknown": big, "obj/big-known": big} {
		if got := mnGet(t, mc, b, key, minio.GetObjectOptions{}); !bytes.Equal(got, want) {
			t.Errorf("%s read back: %d bytes, want %d", key, len(got), len(want))
		}
	}

	st, err := mc.StatObject(ctx, b, "obj/small", minio.StatObjectOptions{})
	if err != nil || st.ETag != md5hex(small) || st.Size != int64(len(small)) || st.ContentType != "text/x-minio" || st.UserMetadata["Color"] != "green" ||
		st.Metadata.Get("Cache-Control") != "max-age=5" || st.Metadata.Get("Content-Disposition") != "inline" || st.VersionID != si.VersionID {
		t.Fatalf("StatObject = %+v, %v", st, err)
	}
	st, err = mc.StatObject(ctx, b, "obj/big-known", minio.StatObjectOptions{})
	if err != nil || st.ETag != wantBig || st.Size != int64(len(big)) || st.ContentType != "application/x-big" {
		t.Fatalf("StatObject of a multipart object = %+v, %v", st, err)
	}
	_, err = mc.StatObject(ctx, b, "obj/missing", minio.StatObjectOptions{})
	mnWantErr(t, "StatObject missing", err, http.StatusNotFound, "NoSuchKey")
	// (a HEAD has no error body: minio names any 404 NoSuchKey; a GET says)
	_, _, _, err = minio.Core{Client: mc}.GetObject(ctx, b, "obj/small", minio.GetObjectOptions{VersionID: "01ARZ3NDEKTSV4RRFFQ69G5FAV"})
	mnWantErr(t, "GetObject of an unknown version", err, http.StatusNotFound, "NoSuchVersion")

	// ranges: first bytes, last bytes, from an offset, across a part boundary
	for _, rc := range []struct {
		start, end int64
		want       []byte
	}{
		{0, 4, big[:5]},
		{0, -7, big[len(big)-7:]},
		{12<<20 - 100, 0, big[12<<20-100:]},
		{5<<20 - 3, 5<<20 + 2, big[5<<20-3 : 5<<20+3]},
	} {
		var opts minio.GetObjectOptions
		if err := opts.SetRange(rc.start, rc.end); err != nil {
			t.Fatal(err)
		}
		if got := mnGet(t, mc, b, "obj/big-known", opts); !bytes.Equal(got, rc.want) {
			t.Errorf("range %d..%d: %d bytes, want %d", rc.start, rc.end, len(got), len(rc.want))
		}
	}

	// a second version; the first stays readable by id
	v2 := []byte("small, second version")
	si2, err := mc.PutObject(ctx, b, "obj/small", bytes.NewReader(v2), int64(len(v2)), minio.PutObjectOptions{})
	if err != nil || si2.VersionID == si.VersionID {
		t.Fatalf("second PutObject = %+v, %v", si2, err)
	}
	if got := mnGet(t, mc, b, "obj/small", minio.GetObjectOptions{VersionID: si.VersionID}); !bytes.Equal(got, small) {
		t.Fatal("GetObject of the first version differs")
	}

	// CopyObject: COPY of a source version (metadata kept), REPLACE,
	// a failing source condition (the destination unchanged)
	ci, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/kept"},
		minio.CopySrcOptions{Bucket: b, Object: "obj/small", VersionID: si.VersionID})
	if err != nil || ci.ETag != md5hex(small) {
		t.Fatalf("CopyObject of a version = %+v, %v", ci, err)
	}
	st, err = mc.StatObject(ctx, b, "copy/kept", minio.StatObjectOptions{})
	if err != nil || st.ETag != md5hex(small) || st.ContentType != "text/x-minio" || st.UserMetadata["Color"] != "green" || st.VersionID != ci.VersionID {
		t.Fatalf("copy (COPY) = %+v, %v", st, err)
	}
	ri, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/replaced", ReplaceMetadata: true,
		UserMetadata: map[string]string{"shape": "round"}}, minio.CopySrcOptions{Bucket: b, Object: "obj/small", VersionID: si.VersionID})
	if err != nil {
		t.Fatal(err)
	}
	st, err = mc.StatObject(ctx, b, "copy/replaced", minio.StatObjectOptions{})
	if err != nil || st.UserMetadata["Shape"] != "round" || st.UserMetadata["Color"] != "" || st.ETag != md5hex(small) || st.VersionID != ri.VersionID {
		t.Fatalf("copy (REPLACE) = %+v, %v", st, err)
	}
	_, err = mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/kept"},
		minio.CopySrcOptions{Bucket: b, Object: "obj/small", MatchETag: md5hex([]byte("not it"))})
	mnWantErr(t, "CopyObject with a failing MatchETag", err, http.StatusPreconditionFailed, "PreconditionFailed")
	if st, _ := mc.StatObject(ctx, b, "copy/kept", minio.StatObjectOptions{}); st.VersionID != ci.VersionID {
		t.Fatalf("a failed conditional copy changed the destination to %s", st.VersionID)
	}
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/latest"},
		minio.CopySrcOptions{Bucket: b, Object: "obj/small", MatchETag: md5hex(v2)}); err != nil {
		t.Fatalf("CopyObject with a holding MatchETag: %v", err)
	}
	if got := mnGet(t, mc, b, "copy/latest", minio.GetObjectOptions{}); !bytes.Equal(got, v2) {
		t.Fatalf("copy of the latest version = %q", got)
	}

	// presigned GET, with a response override signed into it
	u, err := mc.PresignedGetObject(ctx, b, "obj/small", 5*time.Minute, url.Values{"response-content-type": {"application/x-presigned"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Fetch(t, http.MethodGet, u.String(), nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, v2) ||
		r.Header.Get("Content-Type") != "application/x-presigned" || r.Header.Get("ETag") != `"`+md5hex(v2)+`"` {
		t.Fatalf("presigned GET = %d %q %v", r.Status, r.Body, r.Header)
	}
}

func TestS3Minio_ListRemoveVersions(t *testing.T) {
	t.Parallel()
	e := Start(t)
	mc := e.Minio(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := e.Bucket(t)
	put := func(key, body string) minio.UploadInfo {
		t.Helper()
		i, err := mc.PutObject(ctx, b, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	a1 := put("dir/a", "a one")
	a2 := put("dir/a", "a two")
	s1 := put("dir/sub/b", "b")
	t1 := put("top", "top")
	sp := put("with space+plus", "sp")

	if got, want := mnList(t, mc, b, minio.ListObjectsOptions{Recursive: true}), []string{"dir/a", "dir/sub/b", "top", "with space+plus"}; !slices.Equal(got, want) {
		t.Fatalf("recursive ListObjects = %q, want %q", got, want)
	}
	// minio-go yields a page's keys, then its prefixes
	if got, want := mnList(t, mc, b, minio.ListObjectsOptions{}), []string{"top", "with space+plus", "dir/"}; !slices.Equal(got, want) {
		t.Fatalf("ListObjects = %q, want %q", got, want)
	}
	if got, want := mnList(t, mc, b, minio.ListObjectsOptions{Prefix: "dir/"}), []string{"dir/a", "dir/sub/"}; !slices.Equal(got, want) {
		t.Fatalf("ListObjects dir/ = %q, want %q", got, want)
	}
	if got, want := mnList(t, mc, b, minio.ListObjectsOptions{Prefix: "dir/", UseV1: true}), []string{"dir/a", "dir/sub/"}; !slices.Equal(got, want) {
		t.Fatalf("ListObjects v1 dir/ = %q, want %q", got, want)
	}
	if got, want := mnList(t, mc, b, minio.ListObjectsOptions{Recursive: true, StartAfter: "dir/sub/b", MaxKeys: 1}), []string{"top", "with space+plus"}; !slices.Equal(got, want) {
		t.Fatalf("ListObjects after dir/sub/b, one per page = %q, want %q", got, want)
	}
	for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "dir/a"}) {
		if o.Err != nil || o.ETag != md5hex([]byte("a two")) || o.Size != 5 {
			t.Fatalf("listed dir/a: %+v", o)
		}
	}

	// RemoveObject: a delete marker; removing the marker by id restores
	if err := mc.RemoveObject(ctx, b, "top", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := mc.StatObject(ctx, b, "top", minio.StatObjectOptions{})
	mnWantErr(t, "StatObject of a removed object", err, http.StatusNotFound, "NoSuchKey")
	versions := mnList(t, mc, b, minio.ListObjectsOptions{Recursive: true, WithVersions: true, Prefix: "top"})
	if len(versions) != 2 || !strings.HasSuffix(versions[0], "!*") || versions[1] != "top@"+t1.VersionID {
		t.Fatalf("versions of top after RemoveObject = %q", versions)
	}
	marker := strings.TrimSuffix(strings.TrimPrefix(versions[0], "top@"), "!*")
	if err := mc.RemoveObject(ctx, b, "top", minio.RemoveObjectOptions{VersionID: marker}); err != nil {
		t.Fatal(err)
	}
	if got := mnGet(t, mc, b, "top", minio.GetObjectOptions{}); string(got) != "top" {
		t.Fatalf("top after removing its marker = %q", got)
	}

	// RemoveObjects: by key (markers) and by version (gone for good)
	objs := make(chan minio.ObjectInfo, 4)
	objs <- minio.ObjectInfo{Key: "dir/a", VersionID: a1.VersionID}
	objs <- minio.ObjectInfo{Key: "dir/sub/b"}
	objs <- minio.ObjectInfo{Key: "with space+plus", VersionID: sp.VersionID}
	close(objs)
	for r := range mc.RemoveObjects(ctx, b, objs, minio.RemoveObjectsOptions{}) {
		t.Fatalf("RemoveObjects: %s %s: %v", r.ObjectName, r.VersionID, r.Err)
	}
	all := mnList(t, mc, b, minio.ListObjectsOptions{Recursive: true, WithVersions: true})
	if len(all) != 4 || all[0] != "dir/a@"+a2.VersionID+"*" || !strings.HasPrefix(all[1], "dir/sub/b@") || !strings.HasSuffix(all[1], "!*") ||
		all[2] != "dir/sub/b@"+s1.VersionID || all[3] != "top@"+t1.VersionID+"*" {
		t.Fatalf("versions after RemoveObjects = %q", all)
	}
	if got, want := mnList(t, mc, b, minio.ListObjectsOptions{Recursive: true}), []string{"dir/a", "top"}; !slices.Equal(got, want) {
		t.Fatalf("ListObjects after RemoveObjects = %q, want %q", got, want)
	}
	if got := mnGet(t, mc, b, "dir/a", minio.GetObjectOptions{}); string(got) != "a two" {
		t.Fatalf("dir/a after removing its first version = %q", got)
	}
}

func TestS3Minio_MultipartAndIncompleteUploads(t *testing.T) {
	t.Parallel()
	e := Start(t)
	mc := e.Minio(t, e.AdminKeyID, e.AdminKey)
	core := minio.Core{Client: mc}
	ctx := context.Background()
	b := e.Bucket(t)

	p1, p2 := randomBytes(51, 5<<20), randomBytes(52, 1234)
	done, err := core.NewMultipartUpload(ctx, b, "inc/done", minio.PutObjectOptions{ContentType: "application/x-core", UserMetadata: map[string]string{"via": "core"}})
	if err != nil {
		t.Fatal(err)
	}
	partial, err := core.NewMultipartUpload(ctx, b, "inc/partial", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := core.NewMultipartUpload(ctx, b, "other/empty", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part := func(id, key string, n int, data []byte) minio.CompletePart {
		t.Helper()
		p, err := core.PutObjectPart(ctx, b, key, id, n, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatalf("PutObjectPart %d: %v", n, err)
		}
		if p.ETag != md5hex(data) || p.Size != int64(len(data)) || p.PartNumber != n {
			t.Fatalf("PutObjectPart %d = %+v", n, p)
		}
		return minio.CompletePart{PartNumber: n, ETag: p.ETag}
	}
	c1, c2 := part(done, "inc/done", 1, p1), part(done, "inc/done", 2, p2)
	part(partial, "inc/partial", 1, []byte("partial part one"))

	lp, err := core.ListObjectParts(ctx, b, "inc/done", done, 0, 1000)
	if err != nil || len(lp.ObjectParts) != 2 || lp.ObjectParts[0].ETag != `"`+md5hex(p1)+`"` || lp.ObjectParts[1].Size != 1234 {
		t.Fatalf("ListObjectParts = %+v, %v", lp, err)
	}
	incomplete := func(prefix string, recursive bool) []string {
		t.Helper()
		out := []string{}
		for u := range mc.ListIncompleteUploads(ctx, b, prefix, recursive) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			out = append(out, u.Key+"@"+u.UploadID)
		}
		return out
	}
	want := []string{"inc/done@" + done, "inc/partial@" + partial, "other/empty@" + empty}
	if got := incomplete("", true); !slices.Equal(got, want) {
		t.Fatalf("ListIncompleteUploads = %q, want %q", got, want)
	}
	if got := incomplete("inc/", true); !slices.Equal(got, want[:2]) {
		t.Fatalf("ListIncompleteUploads inc/ = %q, want %q", got, want[:2])
	}

	info, err := core.CompleteMultipartUpload(ctx, b, "inc/done", done, []minio.CompletePart{c1, c2}, minio.PutObjectOptions{})
	if wantETag := strings.Trim(sdkMultipartETag(p1, p2), `"`); err != nil || info.ETag != wantETag {
		t.Fatalf("CompleteMultipartUpload = %+v, %v (want ETag %s)", info, err, wantETag)
	}
	st, err := mc.StatObject(ctx, b, "inc/done", minio.StatObjectOptions{})
	if err != nil || st.Size != int64(len(p1)+len(p2)) || st.ContentType != "application/x-core" || st.UserMetadata["Via"] != "core" || st.ETag != info.ETag {
		t.Fatalf("StatObject of the completed upload = %+v, %v", st, err)
	}
	if got := mnGet(t, mc, b, "inc/done", minio.GetObjectOptions{}); !bytes.Equal(got, slices.Concat(p1, p2)) {
		t.Fatal("completed upload read back differs")
	}
	if got := incomplete("", true); !slices.Equal(got, want[1:]) {
		t.Fatalf("ListIncompleteUploads after completing one = %q, want %q", got, want[1:])
	}
	if err := core.AbortMultipartUpload(ctx, b, "other/empty", empty); err != nil {
		t.Fatal(err)
	}
	mnWantErr(t, "AbortMultipartUpload again", core.AbortMultipartUpload(ctx, b, "other/empty", empty), http.StatusNotFound, "NoSuchUpload")
	if err := mc.RemoveIncompleteUpload(ctx, b, "inc/partial"); err != nil {
		t.Fatal(err)
	}
	if got := incomplete("", true); len(got) != 0 {
		t.Fatalf("ListIncompleteUploads after aborting the rest = %q", got)
	}
	_, err = mc.StatObject(ctx, b, "inc/partial", minio.StatObjectOptions{})
	mnWantErr(t, "StatObject of an aborted upload's key", err, http.StatusNotFound, "NoSuchKey")
}
