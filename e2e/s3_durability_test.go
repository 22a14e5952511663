package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairnhq/cairn/events/datadir"
)

// TestS3Durability_KillAndRestart acknowledges S3 writes of every kind (a
// small put carried in its event, a large one through the blobstore, a
// copy, a completed multipart upload, an open upload with parts, a delete
// marker), kills the server with SIGKILL, and finds all of them after a
// restart and after a full rebuild of the projections.
func TestS3Durability_KillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	t.Parallel()
	dir := t.TempDir()
	c := startChild(t, dir)
	e := c.env()
	cl := e.S3(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	const b = "s3-durable"
	if _, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	small := []byte("small, inline in its event")
	large := bytes.Repeat([]byte("0123456789abcdef"), (300<<10)/16)
	s3tPut(t, cl, b, "small", small, func(in *s3.PutObjectInput) { in.Metadata = map[string]string{"k": "v"} })
	s3tPut(t, cl, b, "large", large)
	if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/large")}); err != nil {
		t.Fatal(err)
	}
	p1, p2 := bytes.Repeat([]byte{'a'}, 5<<20), []byte("tail")
	done := multipart(t, cl, b, "mp", true, p1, p2)
	open := multipart(t, cl, b, "open", false, p1)
	s3tPut(t, cl, b, "gone", []byte("deleted before the crash"))
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}

	check := func(when string) {
		t.Helper()
		e := c.env()
		cl := e.S3(t, e.AdminKeyID, e.AdminKey)
		for key, want := range map[string][]byte{"small": small, "large": large, "copy": large, "mp": append(append([]byte{}, p1...), p2...)} {
			out, got := s3tGet(t, cl, b, key)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %s has %d bytes, want %d", when, key, len(got), len(want))
			}
			if key == "mp" && aws.ToString(out.ETag) != done {
				t.Fatalf("%s: mp ETag %s, want %s", when, aws.ToString(out.ETag), done)
			}
			if key == "small" && out.Metadata["k"] != "v" {
				t.Fatalf("%s: small lost its metadata", when)
			}
		}
		_, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("gone")})
		s3WantCode(t, when+": the deleted key", err, "NoSuchKey")
		lp, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("open"), UploadId: aws.String(open)})
		if err != nil || len(lp.Parts) != 1 || aws.ToInt64(lp.Parts[0].Size) != int64(len(p1)) {
			t.Fatalf("%s: the open upload's parts: %+v %v", when, lp, err)
		}
	}
	c.kill(t)
	c = startChild(t, dir)
	check("after kill -9")
	c.stop(t)
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := datadir.Rebuild(rctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	c = startChild(t, dir)
	check("on rebuilt projections")
	// the open upload still completes after all that
	e = c.env()
	cl = e.S3(t, e.AdminKeyID, e.AdminKey)
	sum := md5.Sum(p1)
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("open"), UploadId: aws.String(open),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"` + hex.EncodeToString(sum[:]) + `"`)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, got := s3tGet(t, cl, b, "open"); !bytes.Equal(got, p1) {
		t.Fatal("the upload completed after the crash has other bytes")
	}
	c.stop(t)
}

// multipart uploads parts (completing the upload when complete is set)
// and returns the completed ETag, or the open upload's id.
func multipart(t *testing.T, c *s3.Client, b, key string, complete bool, parts ...[]byte) string {
	t.Helper()
	ctx := context.Background()
	cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	for i, p := range parts {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: cu.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
	}
	if !complete {
		return aws.ToString(cu.UploadId)
	}
	res, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: cu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(fmt.Errorf("complete: %w", err))
	}
	return aws.ToString(res.ETag)
}
