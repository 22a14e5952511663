package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
)

// TestS3_CrossDialect proves the single core: an S3 write is a native
// file (same bytes, ETag, content type, metadata, one more version and
// sync id), and a native upload is an S3 object.
func TestS3_CrossDialect(t *testing.T) {
	t.Parallel()
	e, c, b := startS3(t)
	ctx := context.Background()
	before := natSync(t, e, e.AdminKey, b, "after", "0")

	body := []byte("written through S3")
	put := s3tPut(t, c, b, "x/from-s3.txt", body, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("text/x-s3")
		in.Metadata = map[string]string{"origin": "s3"}
		in.CacheControl = aws.String("max-age=9")
	})
	r := natGet(t, e, e.AdminKey, b, "x/from-s3.txt")
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, body) || r.Header.Get("ETag") != aws.ToString(put.ETag) ||
		r.Header.Get("Content-Type") != "text/x-s3" || r.Header.Get("x-owncdn-meta-origin") != "s3" ||
		r.Header.Get("Cache-Control") != "max-age=9" || r.Header.Get("X-Version-Id") != aws.ToString(put.VersionId) {
		t.Fatalf("native getfile of an S3 write: %d %q %v", r.Status, r.Body, r.Header)
	}
	vs := natVersions(t, e, e.AdminKey, b, "x/from-s3.txt")
	if len(vs) != 1 || vs[0].Version != aws.ToString(put.VersionId) || !vs[0].Current {
		t.Fatalf("versionlist = %+v", vs)
	}
	after := natSync(t, e, e.AdminKey, b, "after", "0")
	if after.LastSyncID != before.LastSyncID+1 || len(after.Updates) != 1 || after.Updates[0].Path != "x/from-s3.txt" ||
		after.Updates[0].Op != "put" || after.Updates[0].ETag != strings.Trim(aws.ToString(put.ETag), `"`) {
		t.Fatalf("syncnext after an S3 put = %+v", after)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("x/from-s3.txt")}); err != nil {
		t.Fatal(err)
	}
	if r := natGet(t, e, e.AdminKey, b, "x/from-s3.txt"); r.Status != http.StatusNotFound {
		t.Fatalf("native getfile after an S3 delete: %d", r.Status)
	}
	if s := natSync(t, e, e.AdminKey, b, "after", "1"); len(s.Updates) != 1 || s.Updates[0].Op != "delete" {
		t.Fatalf("syncnext after an S3 delete = %+v", s)
	}

	nat := []byte("written through the native API")
	up := e.Upload(t, e.AdminKey, b, "x/from-native.txt", nat, map[string]string{"Content-Type": "text/x-native", "x-owncdn-meta-origin": "native"})
	out, got := s3tGet(t, c, b, "x/from-native.txt")
	if !bytes.Equal(got, nat) || aws.ToString(out.ETag) != `"`+up.ETag+`"` || aws.ToString(out.ContentType) != "text/x-native" ||
		out.Metadata["origin"] != "native" || aws.ToString(out.VersionId) != up.Version {
		t.Fatalf("S3 GetObject of a native upload: %q %+v", got, out)
	}
	l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("x/")})
	if err != nil || len(l.Contents) != 1 || aws.ToString(l.Contents[0].Key) != "x/from-native.txt" || aws.ToInt64(l.Contents[0].Size) != int64(len(nat)) {
		t.Fatalf("ListObjectsV2 = %+v, %v", l, err)
	}
}

// TestS3_MinioClient drives the same operations with minio-go, which signs
// streaming uploads chunk by chunk.
func TestS3_MinioClient(t *testing.T) {
	t.Parallel()
	e := Start(t)
	mc := e.Minio(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := uniqueName(t, "minio-", 63)
	if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if ok, err := mc.BucketExists(ctx, b); err != nil || !ok {
		t.Fatalf("BucketExists = %v, %v", ok, err)
	}
	small := []byte("minio small object")
	if _, err := mc.PutObject(ctx, b, "small", bytes.NewReader(small), int64(len(small)), minio.PutObjectOptions{
		ContentType: "text/x-minio", UserMetadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	// unknown size: streamed (aws-chunked, signed chunks) in multipart parts
	big := bytes.Repeat([]byte("0123456789abcdef"), (12<<20)/16)
	info, err := mc.PutObject(ctx, b, "big", bytes.NewReader(big), -1, minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil || info.Size != int64(len(big)) {
		t.Fatalf("PutObject of unknown size: %+v, %v", info, err)
	}
	st, err := mc.StatObject(ctx, b, "small", minio.StatObjectOptions{})
	if err != nil || st.Size != int64(len(small)) || st.ContentType != "text/x-minio" || st.UserMetadata["K"] != "v" {
		t.Fatalf("StatObject = %+v, %v", st, err)
	}
	if got := mnGet(t, mc, b, "big", minio.GetObjectOptions{}); !bytes.Equal(got, big) {
		t.Fatalf("big object read back differs (%d bytes)", len(got))
	}
	ro := minio.GetObjectOptions{}
	_ = ro.SetRange(6, 10)
	if got := mnGet(t, mc, b, "small", ro); string(got) != "small" {
		t.Fatalf("ranged GetObject = %q", got)
	}
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy"}, minio.CopySrcOptions{Bucket: b, Object: "small"}); err != nil {
		t.Fatal(err)
	}
	if got := mnGet(t, mc, b, "copy", minio.GetObjectOptions{}); !bytes.Equal(got, small) {
		t.Fatalf("copy = %q", got)
	}
	if keys := mnList(t, mc, b, minio.ListObjectsOptions{Recursive: true}); strings.Join(keys, ",") != "big,copy,small" {
		t.Fatalf("ListObjects = %q", keys)
	}
	u, err := mc.PresignedGetObject(ctx, b, "small", 10*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Fetch(t, http.MethodGet, u.String(), nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, small) {
		t.Fatalf("presigned GET = %d %q", r.Status, r.Body)
	}
	if err := mc.RemoveObject(ctx, b, "copy", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := make(chan minio.ObjectInfo, 2)
	objs <- minio.ObjectInfo{Key: "small"}
	objs <- minio.ObjectInfo{Key: "big"}
	close(objs)
	for r := range mc.RemoveObjects(ctx, b, objs, minio.RemoveObjectsOptions{}) {
		t.Fatalf("RemoveObjects: %v", r.Err)
	}
	// three objects, each with content and a delete marker
	if versions := mnList(t, mc, b, minio.ListObjectsOptions{Recursive: true, WithVersions: true}); len(versions) != 6 {
		t.Fatalf("ListObjects WithVersions = %q, want 6 entries", versions)
	}
	if left := mnList(t, mc, b, minio.ListObjectsOptions{Recursive: true}); len(left) != 0 {
		t.Fatalf("objects left after removal: %q", left)
	}
	// an incomplete upload is listed, then aborted by RemoveIncompleteUpload
	core := minio.Core{Client: mc}
	id, err := core.NewMultipartUpload(ctx, b, "partial", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for u := range mc.ListIncompleteUploads(ctx, b, "", true) {
		if u.Err != nil || u.UploadID != id {
			t.Fatalf("ListIncompleteUploads: %+v", u)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d incomplete uploads listed, want 1", n)
	}
	if err := mc.RemoveIncompleteUpload(ctx, b, "partial"); err != nil {
		t.Fatal(err)
	}
}
