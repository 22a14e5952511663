package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func s3tGet(t testing.TB, c *s3.Client, bucket, key string, opt ...func(*s3.GetObjectInput)) (*s3.GetObjectOutput, []byte) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	for _, o := range opt {
		o(in)
	}
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return out, b
}

func s3tPut(t testing.TB, c *s3.Client, bucket, key string, body []byte, opt ...func(*s3.PutObjectInput)) *s3.PutObjectOutput {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}
	for _, o := range opt {
		o(in)
	}
	out, err := c.PutObject(context.Background(), in)
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
	return out
}

func TestS3_Buckets(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := e.Bucket(t)

	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b})
	s3WantCode(t, "CreateBucket again", err, "BucketAlreadyOwnedByYou")
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	s3WantCode(t, "CreateBucket bad name", err, "InvalidBucketName")
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || !slices.ContainsFunc(lb.Buckets, func(x types.Bucket) bool { return *x.Name == b }) {
		t.Fatalf("ListBuckets = %v, %v", lb, err)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &b})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation = %+v, %v (want the empty us-east-1 constraint)", loc, err)
	}
	ver, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &b})
	if err != nil || ver.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("GetBucketVersioning = %+v, %v", ver, err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	if ver, _ := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &b}); ver.Status != types.BucketVersioningStatusSuspended {
		t.Fatalf("after suspending: %q", ver.Status)
	}
	acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: &b})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl {
		t.Fatalf("GetBucketAcl = %+v, %v", acl, err)
	}
	_, err = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: &b})
	s3WantCode(t, "GetBucketPolicy", err, "NoSuchBucketPolicy")

	// CreateBucket with a chunked, empty body (no Content-Length) and with
	// a location constraint document both work
	req, _ := http.NewRequest(http.MethodPut, e.URL+"/chunked-empty", io.NopCloser(bytes.NewReader(nil)))
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	req.Header.Set("x-amz-content-sha256", empty)
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: e.AdminKeyID, SecretAccessKey: e.AdminKey}, req, empty, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if resp, err := e.Client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateBucket with a chunked empty body: %v %v", resp, err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("with-location"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatalf("CreateBucket with a location constraint: %v", err)
	}

	s3tPut(t, c, b, "x", []byte("x"))
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b})
	s3WantCode(t, "DeleteBucket not empty", err, "BucketNotEmpty")
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("HeadBucket after delete: %v", err)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	s3WantCode(t, "list a deleted bucket", err, "NoSuchBucket")
}

func TestS3_ObjectsAndMetadata(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	body := []byte("hello, s3 world")
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	put := s3tPut(t, c, b, "dir/a b+c%ü.txt", body, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("text/plain; charset=utf-8")
		in.Metadata = map[string]string{"color": "blue", "Mixed-Case": "v"}
		in.CacheControl = aws.String("max-age=60")
		in.ContentDisposition = aws.String(`attachment; filename="x.txt"`)
		in.ContentEncoding = aws.String("identity")
		in.Expires = &exp
	})
	if got, want := aws.ToString(put.ETag), `"`+md5hex(body)+`"`; got != want || aws.ToString(put.VersionId) == "" {
		t.Fatalf("PutObject ETag %s version %q, want %s", got, aws.ToString(put.VersionId), want)
	}
	out, got := s3tGet(t, c, b, "dir/a b+c%ü.txt")
	if !bytes.Equal(got, body) || aws.ToString(out.ContentType) != "text/plain; charset=utf-8" ||
		out.Metadata["color"] != "blue" || out.Metadata["mixed-case"] != "v" || aws.ToString(out.CacheControl) != "max-age=60" ||
		aws.ToString(out.ContentDisposition) != `attachment; filename="x.txt"` || aws.ToString(out.ContentEncoding) != "identity" ||
		aws.ToString(out.ExpiresString) != exp.Format(http.TimeFormat) || aws.ToString(out.VersionId) != aws.ToString(put.VersionId) {
		t.Fatalf("GetObject = %q %+v", got, out)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("dir/a b+c%ü.txt")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ETag) != aws.ToString(put.ETag) {
		t.Fatalf("HeadObject = %+v, %v", head, err)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("missing")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("HeadObject missing: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("missing")})
	s3WantCode(t, "GetObject missing", err, "NoSuchKey")

	// ranges, conditionals, response overrides
	for _, rc := range []struct{ rng, want string }{{"bytes=0-4", "hello"}, {"bytes=-5", "world"}, {"bytes=10-", "world"}} {
		if _, got := s3tGet(t, c, b, "dir/a b+c%ü.txt", func(in *s3.GetObjectInput) { in.Range = aws.String(rc.rng) }); string(got) != rc.want {
			t.Errorf("Range %s = %q, want %q", rc.rng, got, rc.want)
		}
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("dir/a b+c%ü.txt"), Range: aws.String("bytes=100-200")})
	s3WantCode(t, "unsatisfiable range", err, "InvalidRange")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("dir/a b+c%ü.txt"), IfMatch: aws.String(`"0000"`)})
	s3WantCode(t, "If-Match", err, "PreconditionFailed")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("dir/a b+c%ü.txt"), IfNoneMatch: put.ETag})
	if s3Code(err) != "NotModified" {
		t.Fatalf("If-None-Match: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("dir/a b+c%ü.txt"), IfModifiedSince: aws.Time(time.Now().Add(time.Hour))})
	if s3Code(err) != "NotModified" {
		t.Fatalf("If-Modified-Since: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("dir/a b+c%ü.txt"), IfUnmodifiedSince: aws.Time(time.Now().Add(-time.Hour))})
	s3WantCode(t, "If-Unmodified-Since", err, "PreconditionFailed")
	out, _ = s3tGet(t, c, b, "dir/a b+c%ü.txt", func(in *s3.GetObjectInput) {
		in.ResponseContentType = aws.String("application/x-test")
		in.ResponseContentDisposition = aws.String("inline")
		in.ResponseCacheControl = aws.String("no-cache")
	})
	if aws.ToString(out.ContentType) != "application/x-test" || aws.ToString(out.ContentDisposition) != "inline" || aws.ToString(out.CacheControl) != "no-cache" {
		t.Fatalf("response overrides not applied: %+v", out)
	}

	// conditional writes leave the object as it was when they fail
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("dir/a b+c%ü.txt"), Body: strings.NewReader("other"), IfNoneMatch: aws.String("*")})
	s3WantCode(t, "If-None-Match * on an existing key", err, "PreconditionFailed")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("dir/a b+c%ü.txt"), Body: strings.NewReader("other"), IfMatch: aws.String(`"00000000000000000000000000000000"`)})
	s3WantCode(t, "If-Match wrong", err, "PreconditionFailed")
	if _, got := s3tGet(t, c, b, "dir/a b+c%ü.txt"); !bytes.Equal(got, body) {
		t.Fatalf("a failed conditional write changed the object: %q", got)
	}
	s3tPut(t, c, b, "new", []byte("1"), func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	s3tPut(t, c, b, "new", []byte("2"), func(in *s3.PutObjectInput) { in.IfMatch = aws.String(`"` + md5hex([]byte("1")) + `"`) })
	if _, got := s3tGet(t, c, b, "new"); string(got) != "2" {
		t.Fatalf("If-Match write: %q", got)
	}

	oacl, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("new")})
	if err != nil || len(oacl.Grants) != 1 {
		t.Fatalf("GetObjectAcl = %+v, %v", oacl, err)
	}
	tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("new")})
	if err != nil || len(tags.TagSet) != 0 {
		t.Fatalf("GetObjectTagging = %+v, %v", tags, err)
	}
}

func TestS3_Listing(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	keys := []string{"a", "a/1", "a/2", "a/b/3", "b c", "b+c", "d%20", "z", "ü/x"} // byte order
	for _, k := range keys {
		s3tPut(t, c, b, k, []byte(k))
	}
	// V2 pages of two, url encoding, the continuation token
	var got []string
	in := &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(2), EncodingType: types.EncodingTypeUrl}
	for p := s3.NewListObjectsV2Paginator(c, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Contents) > 2 {
			t.Fatalf("page of %d > MaxKeys", len(page.Contents))
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			dec, err := urlDecode(k)
			if err != nil {
				t.Fatalf("key %q not url-encoded: %v", k, err)
			}
			got = append(got, dec)
		}
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("ListObjectsV2 paged = %q, want %q", got, keys)
	}
	v2, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Delimiter: aws.String("/"), Prefix: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, p := range v2.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	if len(v2.Contents) != 1 || aws.ToString(v2.Contents[0].Key) != "a" || !slices.Equal(prefixes, []string{"a/"}) || aws.ToInt32(v2.KeyCount) != 2 {
		t.Fatalf("delimiter listing = %+v prefixes %q", v2.Contents, prefixes)
	}
	v2, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, StartAfter: aws.String("b+c")})
	if err != nil || len(v2.Contents) != 3 || aws.ToString(v2.Contents[0].Key) != "d%20" {
		t.Fatalf("StartAfter = %+v, %v", v2.Contents, err)
	}
	// V1 with markers
	got = nil
	marker := ""
	for i := 0; i < 20; i++ {
		v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: &b, Marker: aws.String(marker), MaxKeys: aws.Int32(4), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range v1.Contents {
			got = append(got, aws.ToString(o.Key))
		}
		for _, p := range v1.CommonPrefixes {
			got = append(got, aws.ToString(p.Prefix))
		}
		if !aws.ToBool(v1.IsTruncated) {
			break
		}
		marker = aws.ToString(v1.NextMarker)
	}
	slices.Sort(got)
	if want := []string{"a", "a/", "b c", "b+c", "d%20", "z", "ü/"}; !slices.Equal(got, want) {
		t.Fatalf("ListObjects with markers = %q, want %q", got, want)
	}
}

func urlDecode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			v, err := hex.DecodeString(s[i+1 : i+3])
			if err != nil {
				return "", err
			}
			b.Write(v)
			i += 2
			continue
		}
		if s[i] == '+' || s[i] == ' ' {
			return "", fmt.Errorf("unencoded %q", s[i])
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

func TestS3_VersionsAndDeleteMarkers(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	v1 := s3tPut(t, c, b, "doc", []byte("one"))
	v2 := s3tPut(t, c, b, "doc", []byte("two"))
	s3tPut(t, c, b, "other", []byte("x"))
	if _, got := s3tGet(t, c, b, "doc", func(in *s3.GetObjectInput) { in.VersionId = v1.VersionId }); string(got) != "one" {
		t.Fatalf("old version = %q", got)
	}
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("doc")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("DeleteObject = %+v, %v", del, err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc")})
	s3WantCode(t, "GetObject after delete", err, "NoSuchKey")
	lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
	if err != nil {
		t.Fatal(err)
	}
	if len(lv.DeleteMarkers) != 1 || !aws.ToBool(lv.DeleteMarkers[0].IsLatest) || aws.ToString(lv.DeleteMarkers[0].VersionId) != aws.ToString(del.VersionId) {
		t.Fatalf("DeleteMarkers = %+v", lv.DeleteMarkers)
	}
	var vs []string
	for _, v := range lv.Versions {
		vs = append(vs, fmt.Sprintf("%s@%s:%v", aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToBool(v.IsLatest)))
	}
	if len(lv.Versions) != 3 {
		t.Fatalf("Versions = %q", vs)
	}
	want := []string{"doc@" + *v2.VersionId + ":false", "doc@" + *v1.VersionId + ":false", "other@" + aws.ToString(lv.Versions[2].VersionId) + ":true"}
	if !slices.Equal(vs, want) {
		t.Fatalf("Versions = %q, want %q", vs, want)
	}
	// walk with one entry per page
	var walked []string
	in := &s3.ListObjectVersionsInput{Bucket: &b, MaxKeys: aws.Int32(1)}
	for i := 0; i < 10; i++ {
		page, err := c.ListObjectVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			walked = append(walked, aws.ToString(v.VersionId))
		}
		for _, m := range page.DeleteMarkers {
			walked = append(walked, aws.ToString(m.VersionId))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	if w := []string{*del.VersionId, *v2.VersionId, *v1.VersionId, aws.ToString(lv.Versions[2].VersionId)}; !slices.Equal(walked, w) {
		t.Fatalf("paged versions = %q, want %q", walked, w)
	}
	// removing the marker brings the object back; removing a version drops it
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: del.VersionId}); err != nil {
		t.Fatal(err)
	}
	if _, got := s3tGet(t, c, b, "doc"); string(got) != "two" {
		t.Fatalf("after removing the marker: %q", got)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: v1.VersionId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("doc"), VersionId: v1.VersionId})
	s3WantCode(t, "purged version", err, "NoSuchVersion")

	// DeleteObjects, verbose then quiet
	for _, k := range []string{"m1", "m2", "m3"} {
		s3tPut(t, c, b, k, []byte(k))
	}
	res, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("m1")}, {Key: aws.String("m2")}, {Key: aws.String("never-there")}}}})
	if err != nil || len(res.Deleted) != 3 || len(res.Errors) != 0 || !aws.ToBool(res.Deleted[0].DeleteMarker) {
		t.Fatalf("DeleteObjects = %+v, %v", res, err)
	}
	res, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Quiet: aws.Bool(true), Objects: []types.ObjectIdentifier{{Key: aws.String("m3")}}}})
	if err != nil || len(res.Deleted) != 0 || len(res.Errors) != 0 {
		t.Fatalf("quiet DeleteObjects = %+v, %v", res, err)
	}
	l, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("m")})
	if len(l.Contents) != 0 {
		t.Fatalf("deleted keys still listed: %+v", l.Contents)
	}
}

func TestS3_Copy(t *testing.T) {
	t.Parallel()
	e := Start(t)
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b, b2 := e.Bucket(t), e.Bucket(t)
	v1 := s3tPut(t, c, b, "src", []byte("version one"), func(in *s3.PutObjectInput) {
		in.Metadata = map[string]string{"k": "v"}
		in.ContentType = aws.String("text/x-one")
	})
	s3tPut(t, c, b, "src", []byte("version two"))

	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("dst"), CopySource: aws.String(b + "/src?versionId=" + *v1.VersionId)})
	if err != nil || aws.ToString(cp.CopyObjectResult.ETag) != aws.ToString(v1.ETag) || aws.ToString(cp.CopySourceVersionId) != *v1.VersionId {
		t.Fatalf("CopyObject of a version = %+v, %v", cp, err)
	}
	out, got := s3tGet(t, c, b2, "dst")
	if string(got) != "version one" || out.Metadata["k"] != "v" || aws.ToString(out.ContentType) != "text/x-one" {
		t.Fatalf("copy (COPY directive) = %q %+v", got, out)
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("re"), CopySource: aws.String(b + "/src"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"new": "1"}, ContentType: aws.String("text/x-new")}); err != nil {
		t.Fatal(err)
	}
	out, got = s3tGet(t, c, b, "re")
	if string(got) != "version two" || out.Metadata["new"] != "1" || out.Metadata["k"] != "" || aws.ToString(out.ContentType) != "text/x-new" {
		t.Fatalf("copy (REPLACE) = %q %+v", got, out)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("src"), CopySource: aws.String(b + "/src")})
	s3WantCode(t, "copy onto itself", err, "InvalidRequest")
	for name, in := range map[string]*s3.CopyObjectInput{
		"if-match":            {CopySourceIfMatch: aws.String(`"nope"`)},
		"if-none-match":       {CopySourceIfNoneMatch: aws.String(`"` + md5hex([]byte("version two")) + `"`)},
		"if-modified-since":   {CopySourceIfModifiedSince: aws.Time(time.Now().Add(time.Hour))},
		"if-unmodified-since": {CopySourceIfUnmodifiedSince: aws.Time(time.Now().Add(-time.Hour))},
	} {
		in.Bucket, in.Key, in.CopySource = &b, aws.String("cond"), aws.String(b+"/src")
		_, err := c.CopyObject(ctx, in)
		s3WantCode(t, "copy "+name, err, "PreconditionFailed")
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("cond"), CopySource: aws.String(b + "/src"),
		CopySourceIfMatch: aws.String(`"` + md5hex([]byte("version two")) + `"`)}); err != nil {
		t.Fatalf("copy with a holding condition: %v", err)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: aws.String("x"), CopySource: aws.String(b + "/missing")})
	s3WantCode(t, "copy of a missing key", err, "NoSuchKey")
}

func TestS3_Multipart(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	part := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		return p
	}
	p1, p3 := part(5<<20), part(1000)
	src := part(3 << 20)
	s3tPut(t, c, b, "copysrc", src)

	cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("big"),
		ContentType: aws.String("application/x-big"), Metadata: map[string]string{"m": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	up := func(n int32, body []byte) string {
		r, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("big"), UploadId: cu.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(r.ETag)
	}
	e1, e3 := up(1, p1), up(3, p3)
	// part 2 copies 100 bytes of another object: too small for a middle part
	pc, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("big"), UploadId: cu.UploadId, PartNumber: aws.Int32(2),
		CopySource: aws.String(b + "/copysrc"), CopySourceRange: aws.String("bytes=100-199")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(pc.CopyPartResult.ETag); got != `"`+md5hex(src[100:200])+`"` {
		t.Fatalf("UploadPartCopy ETag %s", got)
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: aws.String("big"), UploadId: cu.UploadId})
	if err != nil || len(lp.Parts) != 3 || aws.ToInt64(lp.Parts[1].Size) != 100 {
		t.Fatalf("ListParts = %+v, %v", lp, err)
	}
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != *cu.UploadId {
		t.Fatalf("ListMultipartUploads = %+v, %v", lu, err)
	}
	done := func(parts ...types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
		return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("big"), UploadId: cu.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	}
	cp := func(n int32, etag string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: aws.String(etag)}
	}
	e2 := aws.ToString(pc.CopyPartResult.ETag)
	_, err = done(cp(1, e1), cp(2, e2), cp(3, e3))
	s3WantCode(t, "small middle part", err, "EntityTooSmall")
	_, err = done(cp(3, e3), cp(1, e1))
	s3WantCode(t, "wrong order", err, "InvalidPartOrder")
	_, err = done(cp(1, e1), cp(3, `"00000000000000000000000000000000"`))
	s3WantCode(t, "wrong etag", err, "InvalidPart")
	res, err := done(cp(1, e1), cp(3, e3))
	if err != nil {
		t.Fatal(err)
	}
	a, c3 := md5.Sum(p1), md5.Sum(p3)
	sum := md5.Sum(append(a[:], c3[:]...))
	if got, want := aws.ToString(res.ETag), `"`+hex.EncodeToString(sum[:])+`-2"`; got != want {
		t.Fatalf("multipart ETag %s, want %s", got, want)
	}
	out, got := s3tGet(t, c, b, "big")
	if !bytes.Equal(got, append(append([]byte{}, p1...), p3...)) || out.Metadata["m"] != "1" || aws.ToString(out.ContentType) != "application/x-big" {
		t.Fatalf("completed object: %d bytes %+v", len(got), out)
	}
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: aws.String("big"), UploadId: cu.UploadId})
	s3WantCode(t, "ListParts after completion", err, "NoSuchUpload")

	ab, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("aborted")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("aborted"), UploadId: ab.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: aws.String("aborted"), UploadId: ab.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	s3WantCode(t, "UploadPart after abort", err, "NoSuchUpload")
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("aborted")})
	if err == nil {
		t.Fatal("an aborted upload created its object")
	}
}

// TestS3_Multipart50MiB streams 50 MiB through the SDK's upload manager
// (5 MiB parts, 4 at once) and back through its downloader.
func TestS3_Multipart50MiB(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	data := make([]byte, 50<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < len(data); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 4 })
	res, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("fifty"), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(res.ETag), `-10"`) {
		t.Fatalf("ETag %s is not a 10-part multipart ETag", aws.ToString(res.ETag))
	}
	buf := manager.NewWriteAtBuffer(make([]byte, 0, len(data)))
	n, err := manager.NewDownloader(c, func(d *manager.Downloader) { d.PartSize = 8 << 20 }).Download(ctx, buf, &s3.GetObjectInput{Bucket: &b, Key: aws.String("fifty")})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	if sha256.Sum256(buf.Bytes()) != sha256.Sum256(data) {
		t.Fatal("downloaded bytes differ")
	}
}

func TestS3_Presigned(t *testing.T) {
	t.Parallel()
	e, c, b := startS3(t)
	ctx := context.Background()
	pc := s3.NewPresignClient(c)
	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("pre/signed.txt")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Fetch(t, http.MethodPut, put.URL, strings.NewReader("presigned body")); r.Status != http.StatusOK {
		t.Fatalf("presigned PUT: %d %s", r.Status, r.Body)
	}
	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("pre/signed.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Fetch(t, http.MethodGet, get.URL, nil); r.Status != http.StatusOK || string(r.Body) != "presigned body" {
		t.Fatalf("presigned GET: %d %q", r.Status, r.Body)
	}
	// a tampered URL and an expired one are refused
	if r := e.Fetch(t, http.MethodGet, strings.Replace(get.URL, "signed.txt", "signed.tx2", 1), nil); r.Status != http.StatusForbidden {
		t.Fatalf("tampered presigned URL: %d", r.Status)
	}
	old := s3.NewPresignClient(s3.New(s3.Options{BaseEndpoint: aws.String(e.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(e.AdminKeyID, e.AdminKey, "")}), func(o *s3.PresignOptions) {
		o.Presigner = presignAt{v4.NewSigner(), time.Now().Add(-2 * time.Hour)}
	})
	exp, err := old.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("pre/signed.txt")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Fetch(t, http.MethodGet, exp.URL, nil); r.Status != http.StatusForbidden || !bytes.Contains(r.Body, []byte("<Code>AccessDenied</Code>")) {
		t.Fatalf("expired presigned URL: %d %s", r.Status, r.Body)
	}
}

// presignAt presigns as if the clock read at.
type presignAt struct {
	s  *v4.Signer
	at time.Time
}

func (p presignAt) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	_ time.Time, opts ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.s.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.at, opts...)
}

// With versioning suspended, each write replaces the key's "null" version
// instead of adding one; versions written before stay; enabling again adds
// versions with ids after the null one.
func TestS3_VersioningSuspended(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	setVersioning := func(st types.BucketVersioningStatus) {
		t.Helper()
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &b,
			VersioningConfiguration: &types.VersioningConfiguration{Status: st}}); err != nil {
			t.Fatal(err)
		}
	}
	v1 := s3tPut(t, c, b, "k", []byte("enabled one"))
	setVersioning(types.BucketVersioningStatusSuspended)
	if p := s3tPut(t, c, b, "k", []byte("null one")); aws.ToString(p.VersionId) != "null" {
		t.Fatalf("a write while suspended has version id %q, want null", aws.ToString(p.VersionId))
	}
	s3tPut(t, c, b, "k", []byte("null two"))
	versions := func() []string {
		t.Helper()
		lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range lv.Versions {
			out = append(out, aws.ToString(v.VersionId))
		}
		for _, m := range lv.DeleteMarkers {
			out = append(out, "marker:"+aws.ToString(m.VersionId))
		}
		return out
	}
	if got, want := versions(), []string{"null", *v1.VersionId}; !slices.Equal(got, want) {
		t.Fatalf("versions while suspended = %q, want %q", got, want)
	}
	if _, got := s3tGet(t, c, b, "k", func(in *s3.GetObjectInput) { in.VersionId = aws.String("null") }); string(got) != "null two" {
		t.Fatalf("GET versionId=null = %q", got)
	}
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k")})
	if err != nil || aws.ToString(del.VersionId) != "null" {
		t.Fatalf("delete while suspended = %+v, %v", del, err)
	}
	if got, want := versions(), []string{*v1.VersionId, "marker:null"}; !slices.Equal(got, want) {
		t.Fatalf("versions after a suspended delete = %q, want %q (the marker replaced the null version)", got, want)
	}
	// removing the null marker brings back the enabled version
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k"), VersionId: aws.String("null")}); err != nil {
		t.Fatal(err)
	}
	if _, got := s3tGet(t, c, b, "k"); string(got) != "enabled one" {
		t.Fatalf("after removing the null marker: %q", got)
	}
	setVersioning(types.BucketVersioningStatusEnabled)
	v3 := s3tPut(t, c, b, "k", []byte("enabled again"))
	if aws.ToString(v3.VersionId) == "null" || aws.ToString(v3.VersionId) == "" {
		t.Fatalf("a write after enabling has version id %q", aws.ToString(v3.VersionId))
	}
	if got, want := versions(), []string{*v3.VersionId, *v1.VersionId}; !slices.Equal(got, want) {
		t.Fatalf("versions after enabling again = %q, want %q", got, want)
	}
}

// GetObject and HeadObject by part number: a completed upload's parts, or
// part 1 as the whole of any other object.
func TestS3_GetByPartNumber(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	p1, p2 := bytes.Repeat([]byte{'1'}, 5<<20), []byte("second part")
	multipart(t, c, b, "mp", true, p1, p2)
	s3tPut(t, c, b, "plain", []byte("plain object"))
	for _, tc := range []struct {
		key  string
		part int32
		want []byte
	}{{"mp", 1, p1}, {"mp", 2, p2}, {"plain", 1, []byte("plain object")}} {
		out, got := s3tGet(t, c, b, tc.key, func(in *s3.GetObjectInput) { in.PartNumber = aws.Int32(tc.part) })
		if !bytes.Equal(got, tc.want) {
			t.Fatalf("%s part %d: %d bytes, want %d", tc.key, tc.part, len(got), len(tc.want))
		}
		if tc.key == "mp" && aws.ToInt32(out.PartsCount) != 2 {
			t.Errorf("%s part %d: parts count %d, want 2", tc.key, tc.part, aws.ToInt32(out.PartsCount))
		}
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("mp"), PartNumber: aws.Int32(2)})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(p2)) || aws.ToInt32(head.PartsCount) != 2 {
		t.Fatalf("HeadObject part 2 = %+v, %v", head, err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("mp"), PartNumber: aws.Int32(3)})
	s3WantCode(t, "part 3 of 2", err, "InvalidPartNumber")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("plain"), PartNumber: aws.Int32(2)})
	s3WantCode(t, "part 2 of a plain object", err, "InvalidPartNumber")
}
