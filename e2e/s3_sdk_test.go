package e2e

// aws-sdk-go-v2 against the S3 dialect, operation by operation, with exact
// answers: bytes, ETags, version ids, status codes and headers. The
// broader walk-throughs are in s3_test.go; these pin down what a client
// relies on at the edges (paging boundaries, headers kept and dropped,
// what a failed condition leaves behind).

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func sdkQuoted(b []byte) string { return `"` + md5hex(b) + `"` }

// sdkMultipartETag is S3's ETag of a multipart object: the MD5 of the
// parts' binary MD5s, then "-" and the number of parts.
func sdkMultipartETag(parts ...[]byte) string {
	var cat []byte
	for _, p := range parts {
		s := md5.Sum(p)
		cat = append(cat, s[:]...)
	}
	s := md5.Sum(cat)
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(s[:]), len(parts))
}

func sdkGet(t testing.TB, c *s3.Client, in *s3.GetObjectInput) (*s3.GetObjectOutput, []byte) {
	t.Helper()
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		t.Fatalf("GetObject %s (version %q, range %q): %v", aws.ToString(in.Key), aws.ToString(in.VersionId), aws.ToString(in.Range), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return out, b
}

func sdkHead(t testing.TB, c *s3.Client, bucket, key string) *s3.HeadObjectOutput {
	t.Helper()
	out, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("HeadObject %s: %v", key, err)
	}
	return out
}

// sdkVersions lists every version and delete marker of bucket, one entry
// per page (KeyMarker / VersionIdMarker paging with MaxKeys 1), as
// "key@version" with "*" when latest and "!" for a delete marker.
func sdkVersions(t testing.TB, c *s3.Client, bucket string) []string {
	t.Helper()
	var out []string
	in := &s3.ListObjectVersionsInput{Bucket: &bucket, MaxKeys: aws.Int32(1)}
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("ListObjectVersions paging does not end")
		}
		page, err := c.ListObjectVersions(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(page.Versions) + len(page.DeleteMarkers); n > 1 {
			t.Fatalf("ListObjectVersions: %d entries on a page of MaxKeys 1", n)
		}
		last := ""
		for _, v := range page.Versions {
			last = aws.ToString(v.VersionId)
			out = append(out, fmt.Sprintf("%s@%s%s", aws.ToString(v.Key), last, map[bool]string{true: "*"}[aws.ToBool(v.IsLatest)]))
		}
		for _, m := range page.DeleteMarkers {
			last = aws.ToString(m.VersionId)
			out = append(out, fmt.Sprintf("%s@%s!%s", aws.ToString(m.Key), last, map[bool]string{true: "*"}[aws.ToBool(m.IsLatest)]))
		}
		if !aws.ToBool(page.IsTruncated) {
			if page.NextKeyMarker != nil || page.NextVersionIdMarker != nil {
				t.Fatalf("last page has next markers %q %q", aws.ToString(page.NextKeyMarker), aws.ToString(page.NextVersionIdMarker))
			}
			return out
		}
		if aws.ToString(page.NextVersionIdMarker) != last {
			t.Fatalf("NextVersionIdMarker %q, want the page's last entry %q", aws.ToString(page.NextVersionIdMarker), last)
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
}

func TestS3SDK_Buckets(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b1, b2 := e.Bucket(t), e.Bucket(t)

	names := func() []string {
		t.Helper()
		lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range lb.Buckets {
			if b.CreationDate == nil || b.CreationDate.IsZero() || time.Since(*b.CreationDate) > time.Hour {
				t.Errorf("bucket %s: CreationDate %v", aws.ToString(b.Name), b.CreationDate)
			}
			out = append(out, aws.ToString(b.Name))
		}
		return out
	}
	want := []string{b1, b2}
	slices.Sort(want)
	if got := names(); !slices.Equal(got, want) {
		t.Fatalf("ListBuckets = %q, want %q", got, want)
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b1})
	s3WantErr(t, "CreateBucket of an existing bucket", err, http.StatusConflict, "BucketAlreadyOwnedByYou")

	hb, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b1})
	if err != nil || aws.ToString(hb.BucketRegion) != "us-east-1" {
		t.Fatalf("HeadBucket = %+v, %v", hb, err)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &b1})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation = %q, %v; want the empty constraint of us-east-1", loc.LocationConstraint, err)
	}
	versioning := func(b string) types.BucketVersioningStatus {
		t.Helper()
		v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &b})
		if err != nil {
			t.Fatal(err)
		}
		return v.Status
	}
	setVersioning := func(b string, st types.BucketVersioningStatus) {
		t.Helper()
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &b,
			VersioningConfiguration: &types.VersioningConfiguration{Status: st}}); err != nil {
			t.Fatal(err)
		}
	}
	if st := versioning(b1); st != types.BucketVersioningStatusEnabled {
		t.Fatalf("a new bucket's versioning is %q, want Enabled", st)
	}
	setVersioning(b1, types.BucketVersioningStatusSuspended)
	if st := versioning(b1); st != types.BucketVersioningStatusSuspended {
		t.Fatalf("versioning after suspending is %q", st)
	}
	if st := versioning(b2); st != types.BucketVersioningStatusEnabled {
		t.Fatalf("suspending %s changed %s: %q", b1, b2, st)
	}
	setVersioning(b1, types.BucketVersioningStatusEnabled)
	if st := versioning(b1); st != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning after enabling again is %q", st)
	}

	acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: &b1})
	if err != nil || acl.Owner == nil || aws.ToString(acl.Owner.ID) == "" || len(acl.Grants) != 1 {
		t.Fatalf("GetBucketAcl = %+v, %v", acl, err)
	}
	if g := acl.Grants[0]; g.Permission != types.PermissionFullControl || g.Grantee == nil || g.Grantee.Type != types.TypeCanonicalUser ||
		aws.ToString(g.Grantee.ID) != aws.ToString(acl.Owner.ID) {
		t.Fatalf("GetBucketAcl grant = %+v (owner %s)", g, aws.ToString(acl.Owner.ID))
	}

	// not empty: 409 and nothing removed; then empty (a delete marker
	// hides the last key): removed, and gone for every operation after
	p1 := s3tPut(t, c, b1, "k", []byte("one"))
	s3tPut(t, c, b1, "k", []byte("two"))
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b1})
	s3WantErr(t, "DeleteBucket holding an object", err, http.StatusConflict, "BucketNotEmpty")
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b1, Key: aws.String("k")}); string(got) != "two" {
		t.Fatalf("after a refused DeleteBucket: %q", got)
	}
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b1, Key: aws.String("k"), VersionId: p1.VersionId}); string(got) != "one" {
		t.Fatalf("after a refused DeleteBucket, the old version: %q", got)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b1, Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b1}); err != nil {
		t.Fatalf("DeleteBucket of an empty bucket: %v", err)
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b1})
	s3WantErr(t, "DeleteBucket again", err, http.StatusNotFound, "NoSuchBucket")
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b1})
	if s3Status(err) != http.StatusNotFound {
		t.Fatalf("HeadBucket of a deleted bucket: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b1, Key: aws.String("k")})
	s3WantErr(t, "GetObject in a deleted bucket", err, http.StatusNotFound, "NoSuchBucket")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b1, Key: aws.String("k"), Body: strings.NewReader("x")})
	s3WantErr(t, "PutObject in a deleted bucket", err, http.StatusNotFound, "NoSuchBucket")
	if got := names(); !slices.Equal(got, []string{b2}) {
		t.Fatalf("ListBuckets after the delete = %q, want [%s]", got, b2)
	}
}

// TestS3SDK_PutObjectMetadataAndConditions: what a PUT stores comes back
// on GET and HEAD alike; a conditional PUT that fails leaves the object,
// its versions and its ETag exactly as they were.
func TestS3SDK_PutObjectMetadataAndConditions(t *testing.T) {
	t.Parallel()
	e, c, b := startS3(t)
	ctx := context.Background()
	body := randomBytes(1, 20000) // past the inline bound: the bytes live in the blob store
	exp := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	put := s3tPut(t, c, b, "meta/obj", body, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("application/x-cairn-test")
		in.Metadata = map[string]string{"color": "blue", "two-words": "a b"}
		in.CacheControl = aws.String("public, max-age=600")
		in.ContentDisposition = aws.String(`attachment; filename="obj.bin"`)
		in.ContentEncoding = aws.String("gzip")
		in.ContentLanguage = aws.String("de-CH")
		in.Expires = &exp
	})
	if aws.ToString(put.ETag) != sdkQuoted(body) || aws.ToString(put.VersionId) == "" {
		t.Fatalf("PutObject ETag %s version %q, want %s", aws.ToString(put.ETag), aws.ToString(put.VersionId), sdkQuoted(body))
	}
	check := func(what string, length int64, etag, vid, ct, cc, cd, ce, cl, ex *string, meta map[string]string) {
		t.Helper()
		got := map[string]string{"ETag": aws.ToString(etag), "VersionId": aws.ToString(vid), "Content-Type": aws.ToString(ct),
			"Cache-Control": aws.ToString(cc), "Content-Disposition": aws.ToString(cd), "Content-Encoding": aws.ToString(ce),
			"Content-Language": aws.ToString(cl), "Expires": aws.ToString(ex), "Content-Length": fmt.Sprint(length)}
		want := map[string]string{"ETag": sdkQuoted(body), "VersionId": aws.ToString(put.VersionId), "Content-Type": "application/x-cairn-test",
			"Cache-Control": "public, max-age=600", "Content-Disposition": `attachment; filename="obj.bin"`, "Content-Encoding": "gzip",
			"Content-Language": "de-CH", "Expires": exp.Format(http.TimeFormat), "Content-Length": fmt.Sprint(len(body))}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s = %q, want %q", what, k, got[k], w)
			}
		}
		if len(meta) != 2 || meta["color"] != "blue" || meta["two-words"] != "a b" {
			t.Errorf("%s: metadata %q, want color=blue two-words=a b", what, meta)
		}
	}
	out, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("meta/obj")})
	if !bytes.Equal(got, body) {
		t.Fatalf("GetObject: %d bytes, not the %d put", len(got), len(body))
	}
	check("GetObject", aws.ToInt64(out.ContentLength), out.ETag, out.VersionId, out.ContentType, out.CacheControl, out.ContentDisposition,
		out.ContentEncoding, out.ContentLanguage, out.ExpiresString, out.Metadata)
	head := sdkHead(t, c, b, "meta/obj")
	check("HeadObject", aws.ToInt64(head.ContentLength), head.ETag, head.VersionId, head.ContentType, head.CacheControl, head.ContentDisposition,
		head.ContentEncoding, head.ContentLanguage, head.ExpiresString, head.Metadata)
	if head.LastModified == nil || time.Since(*head.LastModified) > time.Minute || aws.ToString(head.AcceptRanges) != "bytes" {
		t.Errorf("HeadObject LastModified %v AcceptRanges %q", head.LastModified, aws.ToString(head.AcceptRanges))
	}
	// a plain PUT stores no headers it was not given (the SDK sends
	// application/octet-stream; without any, S3 says binary/octet-stream)
	plain := s3tPut(t, c, b, "plain", []byte("plain"))
	ph := sdkHead(t, c, b, "plain")
	if aws.ToString(ph.ContentType) != "application/octet-stream" || ph.CacheControl != nil || ph.ContentDisposition != nil ||
		ph.ContentEncoding != nil || ph.ExpiresString != nil || len(ph.Metadata) != 0 || aws.ToString(ph.ETag) != aws.ToString(plain.ETag) {
		t.Fatalf("HeadObject of a plain PUT: type %q cache %v disposition %v encoding %v expires %v meta %q etag %s", aws.ToString(ph.ContentType),
			ph.CacheControl, ph.ContentDisposition, ph.ContentEncoding, ph.ExpiresString, ph.Metadata, aws.ToString(ph.ETag))
	}
	if r := s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodPut, "/"+b+"/untyped", []byte("untyped"), nil, ""); r.Status != http.StatusOK {
		t.Fatalf("raw PUT: %d %s", r.Status, r.Body)
	}
	if ct := aws.ToString(sdkHead(t, c, b, "untyped").ContentType); ct != "binary/octet-stream" {
		t.Fatalf("Content-Type of a PUT without one: %q, want binary/octet-stream", ct)
	}

	versionsBefore := sdkVersions(t, c, b)
	unchanged := func(what string) {
		t.Helper()
		h := sdkHead(t, c, b, "meta/obj")
		if aws.ToString(h.ETag) != sdkQuoted(body) || aws.ToString(h.VersionId) != aws.ToString(put.VersionId) {
			t.Fatalf("after %s: ETag %s version %s, want %s %s", what, aws.ToString(h.ETag), aws.ToString(h.VersionId), sdkQuoted(body), aws.ToString(put.VersionId))
		}
		if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("meta/obj")}); !bytes.Equal(got, body) {
			t.Fatalf("after %s: the bytes changed", what)
		}
		if vs := sdkVersions(t, c, b); !slices.Equal(vs, versionsBefore) {
			t.Fatalf("after %s: versions %q, want %q", what, vs, versionsBefore)
		}
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("meta/obj"), Body: strings.NewReader("replacement"), IfNoneMatch: aws.String("*")})
	s3WantErr(t, "If-None-Match * on an existing key", err, http.StatusPreconditionFailed, "PreconditionFailed")
	unchanged("If-None-Match *")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("meta/obj"), Body: strings.NewReader("replacement"), IfMatch: aws.String(sdkQuoted([]byte("other")))})
	s3WantErr(t, "If-Match with another ETag", err, http.StatusPreconditionFailed, "PreconditionFailed")
	unchanged("If-Match with another ETag")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("meta/obj"), Body: strings.NewReader("replacement"), IfMatch: aws.String(sdkQuoted([]byte("replacement")))})
	s3WantErr(t, "If-Match with the new body's ETag", err, http.StatusPreconditionFailed, "PreconditionFailed")
	unchanged("If-Match with the new body's ETag")

	created := s3tPut(t, c, b, "created", []byte("first"), func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	if aws.ToString(created.ETag) != sdkQuoted([]byte("first")) {
		t.Fatalf("If-None-Match * on a new key: ETag %s", aws.ToString(created.ETag))
	}
	replaced := s3tPut(t, c, b, "meta/obj", []byte("replacement"), func(in *s3.PutObjectInput) { in.IfMatch = put.ETag })
	if aws.ToString(replaced.VersionId) == aws.ToString(put.VersionId) {
		t.Fatal("an If-Match write did not add a version")
	}
	if o, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("meta/obj")}); string(got) != "replacement" ||
		aws.ToString(o.ETag) != sdkQuoted([]byte("replacement")) || aws.ToString(o.CacheControl) != "" || len(o.Metadata) != 0 {
		t.Fatalf("after the If-Match write: %q %+v (a PUT replaces metadata)", got, o)
	}
	// a delete marker is no current object: If-None-Match * creates again
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("created")}); err != nil {
		t.Fatal(err)
	}
	s3tPut(t, c, b, "created", []byte("second"), func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("created")}); string(got) != "second" {
		t.Fatalf("If-None-Match * over a delete marker: %q", got)
	}
}

// TestS3SDK_GetObjectVariants: versionId, ranges (with their
// Content-Range), the four conditionals on GET and HEAD, and response-*
// overrides that change the answer but not what is stored.
func TestS3SDK_GetObjectVariants(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	old := []byte("0123456789")
	body := []byte("abcdefghijklmnopqrstuvwxyz")
	v1 := s3tPut(t, c, b, "obj", old, func(in *s3.PutObjectInput) { in.ContentType = aws.String("text/x-old") })
	v2 := s3tPut(t, c, b, "obj", body, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("text/plain")
		in.CacheControl = aws.String("max-age=1")
	})

	o, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"), VersionId: v1.VersionId})
	if !bytes.Equal(got, old) || aws.ToString(o.ETag) != sdkQuoted(old) || aws.ToString(o.VersionId) != aws.ToString(v1.VersionId) ||
		aws.ToString(o.ContentType) != "text/x-old" {
		t.Fatalf("GetObject versionId=v1: %q %+v", got, o)
	}
	o, got = sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"), VersionId: v2.VersionId})
	if !bytes.Equal(got, body) || aws.ToString(o.VersionId) != aws.ToString(v2.VersionId) {
		t.Fatalf("GetObject versionId=v2: %q", got)
	}
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"), VersionId: aws.String("01ARZ3NDEKTSV4RRFFQ69G5FAV")})
	s3WantErr(t, "GetObject of an unknown version", err, http.StatusNotFound, "NoSuchVersion")

	for _, rc := range []struct {
		rng, want, contentRange string
		version                 *string
	}{
		{"bytes=0-4", "abcde", "bytes 0-4/26", nil},
		{"bytes=-5", "vwxyz", "bytes 21-25/26", nil},
		{"bytes=10-", "klmnopqrstuvwxyz", "bytes 10-25/26", nil},
		{"bytes=20-1000", "uvwxyz", "bytes 20-25/26", nil},
		{"bytes=25-25", "z", "bytes 25-25/26", nil},
		{"bytes=2-3", "23", "bytes 2-3/10", v1.VersionId},
	} {
		o, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"), Range: aws.String(rc.rng), VersionId: rc.version})
		if string(got) != rc.want || aws.ToString(o.ContentRange) != rc.contentRange || aws.ToInt64(o.ContentLength) != int64(len(rc.want)) {
			t.Errorf("Range %s: %q, Content-Range %q, Content-Length %d; want %q, %q", rc.rng, got, aws.ToString(o.ContentRange),
				aws.ToInt64(o.ContentLength), rc.want, rc.contentRange)
		}
	}
	for _, rng := range []string{"bytes=26-", "bytes=100-200"} {
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"), Range: aws.String(rng)})
		s3WantErr(t, "Range "+rng, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	}

	mod := sdkHead(t, c, b, "obj").LastModified
	before, after := mod.Add(-time.Second), mod.Add(time.Second)
	etag, other := aws.ToString(v2.ETag), sdkQuoted([]byte("other"))
	for _, tc := range []struct {
		name   string
		set    func(*s3.GetObjectInput)
		status int
	}{
		{"If-Match the ETag", func(in *s3.GetObjectInput) { in.IfMatch = &etag }, 200},
		{"If-Match *", func(in *s3.GetObjectInput) { in.IfMatch = aws.String("*") }, 200},
		{"If-Match another", func(in *s3.GetObjectInput) { in.IfMatch = &other }, 412},
		{"If-None-Match the ETag", func(in *s3.GetObjectInput) { in.IfNoneMatch = &etag }, 304},
		{"If-None-Match another", func(in *s3.GetObjectInput) { in.IfNoneMatch = &other }, 200},
		{"If-Modified-Since before", func(in *s3.GetObjectInput) { in.IfModifiedSince = &before }, 200},
		{"If-Modified-Since the time", func(in *s3.GetObjectInput) { in.IfModifiedSince = mod }, 304},
		{"If-Modified-Since after", func(in *s3.GetObjectInput) { in.IfModifiedSince = &after }, 304},
		{"If-Unmodified-Since the time", func(in *s3.GetObjectInput) { in.IfUnmodifiedSince = mod }, 200},
		{"If-Unmodified-Since before", func(in *s3.GetObjectInput) { in.IfUnmodifiedSince = &before }, 412},
		// S3: a matching If-Match wins over a failing If-Unmodified-Since,
		// a failing If-None-Match over If-Modified-Since
		{"If-Match and a failing If-Unmodified-Since", func(in *s3.GetObjectInput) { in.IfMatch, in.IfUnmodifiedSince = &etag, &before }, 200},
		{"If-None-Match and If-Modified-Since", func(in *s3.GetObjectInput) { in.IfNoneMatch, in.IfModifiedSince = &etag, &before }, 304},
	} {
		in := &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj")}
		tc.set(in)
		out, err := c.GetObject(ctx, in)
		switch tc.status {
		case 200:
			if err != nil {
				t.Errorf("GetObject %s: %v, want 200", tc.name, err)
				continue
			}
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, body) {
				t.Errorf("GetObject %s: %q", tc.name, got)
			}
		case 304:
			if s3Status(err) != 304 {
				t.Errorf("GetObject %s: %v, want 304", tc.name, err)
			}
		case 412:
			if s3Status(err) != 412 || s3Code(err) != "PreconditionFailed" {
				t.Errorf("GetObject %s: %v, want 412 PreconditionFailed", tc.name, err)
			}
		}
		hin := &s3.HeadObjectInput{Bucket: &b, Key: aws.String("obj"), IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch,
			IfModifiedSince: in.IfModifiedSince, IfUnmodifiedSince: in.IfUnmodifiedSince}
		_, herr := c.HeadObject(ctx, hin)
		if (tc.status == 200) != (herr == nil) || (herr != nil && s3Status(herr) != tc.status) {
			t.Errorf("HeadObject %s: %v, want %d", tc.name, herr, tc.status)
		}
	}

	o, got = sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"),
		ResponseContentType:        aws.String("application/x-override"),
		ResponseContentDisposition: aws.String(`attachment; filename="o.txt"`),
		ResponseCacheControl:       aws.String("no-store"),
		ResponseContentLanguage:    aws.String("fr"),
		ResponseContentEncoding:    aws.String("identity"),
		ResponseExpires:            aws.Time(time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)),
	})
	if !bytes.Equal(got, body) || aws.ToString(o.ContentType) != "application/x-override" || aws.ToString(o.ContentDisposition) != `attachment; filename="o.txt"` ||
		aws.ToString(o.CacheControl) != "no-store" || aws.ToString(o.ContentLanguage) != "fr" || aws.ToString(o.ContentEncoding) != "identity" ||
		aws.ToString(o.ExpiresString) != "Thu, 01 Jan 2032 00:00:00 GMT" {
		t.Fatalf("response-* overrides: %q: type %q disposition %q cache %q language %q encoding %q expires %q", got, aws.ToString(o.ContentType),
			aws.ToString(o.ContentDisposition), aws.ToString(o.CacheControl), aws.ToString(o.ContentLanguage), aws.ToString(o.ContentEncoding), aws.ToString(o.ExpiresString))
	}
	h := sdkHead(t, c, b, "obj")
	if aws.ToString(h.ContentType) != "text/plain" || aws.ToString(h.CacheControl) != "max-age=1" || h.ContentDisposition != nil || h.ContentLanguage != nil {
		t.Fatalf("the overrides changed what is stored: %+v", h)
	}
}

// TestS3SDK_ListingExact checks every page of every listing form against
// the exact keys and prefixes expected, in byte order.
func TestS3SDK_ListingExact(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	keys := []string{"a b/1", "a b/2", "a%b", "a+b", "dir/x", "dir/y/z", "dir/y/zz", "top", "ü/1", "ü2"} // byte order
	for i, k := range slices.Backward(keys) {
		s3tPut(t, c, b, k, []byte(fmt.Sprint(i)))
	}
	ks := func(objs []types.Object) []string {
		out := []string{}
		for _, o := range objs {
			out = append(out, aws.ToString(o.Key))
		}
		return out
	}
	ps := func(cps []types.CommonPrefix) []string {
		out := []string{}
		for _, p := range cps {
			out = append(out, aws.ToString(p.Prefix))
		}
		return out
	}
	page := func(in *s3.ListObjectsV2Input) *s3.ListObjectsV2Output {
		t.Helper()
		in.Bucket = &b
		out, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// pages of two, each exact, joined by the continuation token
	var pages [][]string
	in := &s3.ListObjectsV2Input{MaxKeys: aws.Int32(2)}
	for i := 0; ; i++ {
		if i > 10 {
			t.Fatal("ListObjectsV2 paging does not end")
		}
		p := page(in)
		pages = append(pages, ks(p.Contents))
		if aws.ToInt32(p.KeyCount) != int32(len(p.Contents)) || aws.ToInt32(p.MaxKeys) != 2 {
			t.Fatalf("page %d: KeyCount %d MaxKeys %d with %d keys", i, aws.ToInt32(p.KeyCount), aws.ToInt32(p.MaxKeys), len(p.Contents))
		}
		if aws.ToString(p.ContinuationToken) != aws.ToString(in.ContinuationToken) {
			t.Fatalf("page %d echoes token %q, sent %q", i, aws.ToString(p.ContinuationToken), aws.ToString(in.ContinuationToken))
		}
		if !aws.ToBool(p.IsTruncated) {
			if p.NextContinuationToken != nil {
				t.Fatalf("last page has a next token")
			}
			break
		}
		in.ContinuationToken = p.NextContinuationToken
	}
	if want := [][]string{{"a b/1", "a b/2"}, {"a%b", "a+b"}, {"dir/x", "dir/y/z"}, {"dir/y/zz", "top"}, {"ü/1", "ü2"}}; !slices.EqualFunc(pages, want, slices.Equal) {
		t.Fatalf("ListObjectsV2 pages = %q, want %q", pages, want)
	}
	// the listing's metadata matches what each PUT answered
	all := page(&s3.ListObjectsV2Input{})
	for i, o := range all.Contents {
		data := []byte(fmt.Sprint(i))
		if aws.ToString(o.ETag) != sdkQuoted(data) || aws.ToInt64(o.Size) != int64(len(data)) || o.StorageClass != types.ObjectStorageClassStandard || o.LastModified == nil {
			t.Errorf("listed %s: ETag %s size %d class %q", aws.ToString(o.Key), aws.ToString(o.ETag), aws.ToInt64(o.Size), o.StorageClass)
		}
	}

	for _, tc := range []struct {
		name               string
		in                 s3.ListObjectsV2Input
		contents, prefixes []string
	}{
		{"prefix", s3.ListObjectsV2Input{Prefix: aws.String("a")}, []string{"a b/1", "a b/2", "a%b", "a+b"}, []string{}},
		{"prefix matching nothing", s3.ListObjectsV2Input{Prefix: aws.String("nothing")}, []string{}, []string{}},
		{"delimiter", s3.ListObjectsV2Input{Delimiter: aws.String("/")}, []string{"a%b", "a+b", "top", "ü2"}, []string{"a b/", "dir/", "ü/"}},
		{"prefix and delimiter", s3.ListObjectsV2Input{Prefix: aws.String("dir/"), Delimiter: aws.String("/")}, []string{"dir/x"}, []string{"dir/y/"}},
		{"deeper prefix", s3.ListObjectsV2Input{Prefix: aws.String("dir/y/"), Delimiter: aws.String("/")}, []string{"dir/y/z", "dir/y/zz"}, []string{}},
		{"prefix ending mid-name", s3.ListObjectsV2Input{Prefix: aws.String("dir/y/z"), Delimiter: aws.String("/")}, []string{"dir/y/z", "dir/y/zz"}, []string{}},
		{"start-after", s3.ListObjectsV2Input{StartAfter: aws.String("a+b")}, []string{"dir/x", "dir/y/z", "dir/y/zz", "top", "ü/1", "ü2"}, []string{}},
		{"start-after not a key", s3.ListObjectsV2Input{StartAfter: aws.String("dir/y")}, []string{"dir/y/z", "dir/y/zz", "top", "ü/1", "ü2"}, []string{}},
		{"start-after with prefix", s3.ListObjectsV2Input{StartAfter: aws.String("dir/x"), Prefix: aws.String("dir/")}, []string{"dir/y/z", "dir/y/zz"}, []string{}},
		{"start-after past everything", s3.ListObjectsV2Input{StartAfter: aws.String("ü2")}, []string{}, []string{}},
		{"other delimiter", s3.ListObjectsV2Input{Delimiter: aws.String("b")}, []string{"dir/x", "dir/y/z", "dir/y/zz", "top", "ü/1", "ü2"}, []string{"a b", "a%b", "a+b"}},
	} {
		in := tc.in
		p := page(&in)
		if got := ks(p.Contents); !slices.Equal(got, tc.contents) {
			t.Errorf("%s: contents %q, want %q", tc.name, got, tc.contents)
		}
		if got := ps(p.CommonPrefixes); !slices.Equal(got, tc.prefixes) {
			t.Errorf("%s: prefixes %q, want %q", tc.name, got, tc.prefixes)
		}
		if aws.ToBool(p.IsTruncated) || int(aws.ToInt32(p.KeyCount)) != len(tc.contents)+len(tc.prefixes) {
			t.Errorf("%s: truncated %v, KeyCount %d", tc.name, aws.ToBool(p.IsTruncated), aws.ToInt32(p.KeyCount))
		}
	}

	// delimiter and pages of two: a common prefix takes a place on a page,
	// and the next page does not repeat it
	var got []string
	in = &s3.ListObjectsV2Input{MaxKeys: aws.Int32(2), Delimiter: aws.String("/")}
	for i := 0; i < 10; i++ {
		p := page(in)
		got = append(got, strings.Join(append(ks(p.Contents), ps(p.CommonPrefixes)...), ","))
		if !aws.ToBool(p.IsTruncated) {
			break
		}
		in.ContinuationToken = p.NextContinuationToken
	}
	if want := []string{"a%b,a b/", "a+b,dir/", "top,ü/", "ü2"}; !slices.Equal(got, want) {
		t.Fatalf("delimited pages of two = %q, want %q", got, want)
	}

	// encoding-type=url: every key and prefix comes back escaped, and
	// unescapes to the stored key
	enc := page(&s3.ListObjectsV2Input{EncodingType: types.EncodingTypeUrl, Delimiter: aws.String("/"), Prefix: aws.String("a")})
	if enc.EncodingType != types.EncodingTypeUrl {
		t.Fatalf("EncodingType echoed %q", enc.EncodingType)
	}
	unescape := func(s string) string {
		t.Helper()
		for _, r := range s {
			if r > 0x7e || r == ' ' || r == '+' {
				t.Fatalf("%q is not URL-encoded", s)
			}
		}
		u, err := url.PathUnescape(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return u
	}
	var dk, dp []string
	for _, k := range ks(enc.Contents) {
		dk = append(dk, unescape(k))
	}
	for _, p := range ps(enc.CommonPrefixes) {
		dp = append(dp, unescape(p))
	}
	if !slices.Equal(dk, []string{"a%b", "a+b"}) || !slices.Equal(dp, []string{"a b/"}) || unescape(aws.ToString(enc.Prefix)) != "a" {
		t.Fatalf("url-encoded listing decodes to %q %q", dk, dp)
	}
	enc = page(&s3.ListObjectsV2Input{EncodingType: types.EncodingTypeUrl, Prefix: aws.String("ü")})
	if len(enc.Contents) != 2 || unescape(aws.ToString(enc.Contents[0].Key)) != "ü/1" || unescape(aws.ToString(enc.Prefix)) != "ü" {
		t.Fatalf("url-encoded unicode listing = %q prefix %q", ks(enc.Contents), aws.ToString(enc.Prefix))
	}

	// ListObjectVersions groups by delimiter as the listings do
	lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b, Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var vk []string
	for _, v := range lv.Versions {
		vk = append(vk, aws.ToString(v.Key))
	}
	if !slices.Equal(vk, []string{"a%b", "a+b", "top", "ü2"}) || !slices.Equal(ps(lv.CommonPrefixes), []string{"a b/", "dir/", "ü/"}) {
		t.Fatalf("ListObjectVersions with a delimiter = %q %q", vk, ps(lv.CommonPrefixes))
	}

	// ListObjects (v1): marker paging without a delimiter
	var v1pages []string
	marker := ""
	for i := 0; i < 10; i++ {
		p, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: &b, Marker: aws.String(marker), MaxKeys: aws.Int32(3)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(p.Marker) != marker {
			t.Fatalf("ListObjects echoes marker %q, sent %q", aws.ToString(p.Marker), marker)
		}
		v1pages = append(v1pages, strings.Join(ks(p.Contents), ","))
		for _, o := range p.Contents {
			if o.Owner == nil || aws.ToString(o.Owner.ID) == "" {
				t.Errorf("ListObjects %s: no owner", aws.ToString(o.Key))
			}
		}
		if !aws.ToBool(p.IsTruncated) {
			break
		}
		marker = aws.ToString(p.Contents[len(p.Contents)-1].Key)
		if p.NextMarker != nil && aws.ToString(p.NextMarker) != marker {
			t.Fatalf("NextMarker %q, want the last key %q", aws.ToString(p.NextMarker), marker)
		}
	}
	if want := []string{"a b/1,a b/2,a%b", "a+b,dir/x,dir/y/z", "dir/y/zz,top,ü/1", "ü2"}; !slices.Equal(v1pages, want) {
		t.Fatalf("ListObjects pages = %q, want %q", v1pages, want)
	}
	// with a delimiter NextMarker is required, and a prefix can be it
	v1pages, marker = nil, ""
	var markers []string
	for i := 0; i < 10; i++ {
		p, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: &b, Marker: aws.String(marker), MaxKeys: aws.Int32(2), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		v1pages = append(v1pages, strings.Join(append(ks(p.Contents), ps(p.CommonPrefixes)...), ","))
		if !aws.ToBool(p.IsTruncated) {
			if p.NextMarker != nil {
				t.Fatalf("last page has NextMarker %q", aws.ToString(p.NextMarker))
			}
			break
		}
		if p.NextMarker == nil {
			t.Fatal("a truncated delimited ListObjects page has no NextMarker")
		}
		marker = aws.ToString(p.NextMarker)
		markers = append(markers, marker)
	}
	if want := []string{"a%b,a b/", "a+b,dir/", "top,ü/", "ü2"}; !slices.Equal(v1pages, want) {
		t.Fatalf("delimited ListObjects pages = %q, want %q", v1pages, want)
	}
	if want := []string{"a%b", "dir/", "ü/"}; !slices.Equal(markers, want) {
		t.Fatalf("NextMarkers = %q, want %q", markers, want)
	}
}

// TestS3SDK_VersionsAndDeletes: delete markers, removing versions and
// markers by id (alone and in DeleteObjects), quiet mode reporting only
// errors, and ListObjectVersions exact after each step.
func TestS3SDK_VersionsAndDeletes(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	k1 := aws.ToString(s3tPut(t, c, b, "k", []byte("k one")).VersionId)
	k2 := aws.ToString(s3tPut(t, c, b, "k", []byte("k two")).VersionId)
	j1 := aws.ToString(s3tPut(t, c, b, "j", []byte("j one")).VersionId)
	want := func(what string, w ...string) {
		t.Helper()
		if got := sdkVersions(t, c, b); !slices.Equal(got, w) {
			t.Fatalf("%s: versions %q, want %q", what, got, w)
		}
	}
	want("after three puts", "j@"+j1+"*", "k@"+k2+"*", "k@"+k1)

	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("DeleteObject = %+v, %v", del, err)
	}
	m1 := aws.ToString(del.VersionId)
	want("after a delete", "j@"+j1+"*", "k@"+m1+"!*", "k@"+k2, "k@"+k1)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
	s3WantErr(t, "GetObject of a deleted key", err, http.StatusNotFound, "NoSuchKey")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k"), VersionId: &m1})
	s3WantErr(t, "GetObject of the delete marker by id", err, http.StatusMethodNotAllowed, "MethodNotAllowed")
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k"), VersionId: &k2}); string(got) != "k two" {
		t.Fatalf("an old version under a delete marker: %q", got)
	}
	l, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	if len(l.Contents) != 1 || aws.ToString(l.Contents[0].Key) != "j" {
		t.Fatalf("ListObjectsV2 after a delete lists %d keys", len(l.Contents))
	}

	// removing the content version under the marker: gone from the list
	dv, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k"), VersionId: &k1})
	if err != nil || aws.ToBool(dv.DeleteMarker) || aws.ToString(dv.VersionId) != k1 {
		t.Fatalf("DeleteObject versionId=k1 = %+v, %v", dv, err)
	}
	want("after removing k1", "j@"+j1+"*", "k@"+m1+"!*", "k@"+k2)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k"), VersionId: &k1})
	s3WantErr(t, "GetObject of a removed version", err, http.StatusNotFound, "NoSuchVersion")
	// removing the marker: the object is back as it was
	dm, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("k"), VersionId: &m1})
	if err != nil || !aws.ToBool(dm.DeleteMarker) || aws.ToString(dm.VersionId) != m1 {
		t.Fatalf("DeleteObject versionId=marker = %+v, %v", dm, err)
	}
	want("after removing the marker", "j@"+j1+"*", "k@"+k2+"*")
	if o, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")}); string(got) != "k two" || aws.ToString(o.VersionId) != k2 {
		t.Fatalf("after removing the marker: %q %s", got, aws.ToString(o.VersionId))
	}

	// DeleteObjects, verbose: a marker for one key, a version of another,
	// a key that is not there (deleted, as S3 says)
	k3 := aws.ToString(s3tPut(t, c, b, "k", []byte("k three")).VersionId)
	res, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("j")}, {Key: aws.String("k"), VersionId: &k3}, {Key: aws.String("never")}}}})
	if err != nil || len(res.Errors) != 0 || len(res.Deleted) != 3 {
		t.Fatalf("DeleteObjects = %+v, %v", res, err)
	}
	d := res.Deleted
	if aws.ToString(d[0].Key) != "j" || !aws.ToBool(d[0].DeleteMarker) || aws.ToString(d[0].DeleteMarkerVersionId) == "" {
		t.Errorf("Deleted[0] = %+v", d[0])
	}
	if aws.ToString(d[1].Key) != "k" || aws.ToString(d[1].VersionId) != k3 || aws.ToBool(d[1].DeleteMarker) {
		t.Errorf("Deleted[1] = %+v", d[1])
	}
	if aws.ToString(d[2].Key) != "never" || aws.ToString(d[2].VersionId) != "" {
		t.Errorf("Deleted[2] = %+v", d[2])
	}
	mj := aws.ToString(d[0].DeleteMarkerVersionId)
	want("after DeleteObjects", "j@"+mj+"!*", "j@"+j1, "k@"+k2+"*")

	// quiet: what succeeds is not reported, what fails is
	long := strings.Repeat("x", 1025)
	res, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Quiet: aws.Bool(true), Objects: []types.ObjectIdentifier{
		{Key: aws.String("j"), VersionId: &mj}, {Key: &long}, {Key: aws.String("k"), VersionId: aws.String("01ARZ3NDEKTSV4RRFFQ69G5FAV")}}}})
	if err != nil || len(res.Deleted) != 0 || len(res.Errors) != 1 {
		t.Fatalf("quiet DeleteObjects = %+v, %v", res, err)
	}
	if er := res.Errors[0]; aws.ToString(er.Key) != long || aws.ToString(er.Code) != "InvalidArgument" || aws.ToString(er.Message) == "" {
		t.Fatalf("quiet DeleteObjects error = %+v", er)
	}
	want("after quiet DeleteObjects", "j@"+j1+"*", "k@"+k2+"*")
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("j")}); string(got) != "j one" {
		t.Fatalf("j after its marker was removed: %q", got)
	}
	// GetObjectAcl and GetObjectTagging of a version
	acl, err := c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("j"), VersionId: &j1})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl || aws.ToString(acl.Owner.ID) == "" {
		t.Fatalf("GetObjectAcl = %+v, %v", acl, err)
	}
	tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("j")})
	if err != nil || len(tags.TagSet) != 0 || aws.ToString(tags.VersionId) != j1 {
		t.Fatalf("GetObjectTagging = %+v, %v", tags, err)
	}
	_, err = c.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("missing")})
	s3WantErr(t, "GetObjectAcl of a missing key", err, http.StatusNotFound, "NoSuchKey")
	_, err = c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("missing")})
	s3WantErr(t, "GetObjectTagging of a missing key", err, http.StatusNotFound, "NoSuchKey")
}

// TestS3SDK_CopyObject: COPY and REPLACE within and across buckets, a
// source version, every copy-source condition holding and failing (the
// destination unchanged on failure), and copies onto the source itself.
func TestS3SDK_CopyObject(t *testing.T) {
	t.Parallel()
	e := Start(t)
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b1, b2 := e.Bucket(t), e.Bucket(t)
	src := "dir/sp ace+ü%.txt"
	csrc := func(bucket, key string) *string { return aws.String(bucket + "/" + url.PathEscape(key)) }
	one, two := []byte("source version one"), randomBytes(7, 30000)
	v1 := s3tPut(t, c, b1, src, one, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("text/x-one")
		in.Metadata = map[string]string{"gen": "1"}
	})
	v2 := s3tPut(t, c, b1, src, two, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("application/x-two")
		in.Metadata = map[string]string{"gen": "2", "extra": "yes"}
		in.CacheControl = aws.String("max-age=2")
		in.ContentDisposition = aws.String("inline")
	})

	// COPY within the bucket keeps everything but the version
	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b1, Key: aws.String("copy"), CopySource: csrc(b1, src)})
	if err != nil || aws.ToString(cp.CopyObjectResult.ETag) != sdkQuoted(two) || cp.CopyObjectResult.LastModified == nil ||
		aws.ToString(cp.CopySourceVersionId) != aws.ToString(v2.VersionId) || aws.ToString(cp.VersionId) == "" || aws.ToString(cp.VersionId) == aws.ToString(v2.VersionId) {
		t.Fatalf("CopyObject = %+v, %v", cp, err)
	}
	o, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b1, Key: aws.String("copy")})
	if !bytes.Equal(got, two) || aws.ToString(o.ContentType) != "application/x-two" || o.Metadata["gen"] != "2" || o.Metadata["extra"] != "yes" ||
		aws.ToString(o.CacheControl) != "max-age=2" || aws.ToString(o.ContentDisposition) != "inline" || aws.ToString(o.VersionId) != aws.ToString(cp.VersionId) {
		t.Fatalf("COPY within the bucket: %d bytes %+v", len(got), o)
	}
	// REPLACE across buckets takes only what the request says
	rp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("replaced"), CopySource: csrc(b1, src),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/x-new"), Metadata: map[string]string{"new": "1"}})
	if err != nil || aws.ToString(rp.CopyObjectResult.ETag) != sdkQuoted(two) {
		t.Fatalf("CopyObject REPLACE = %+v, %v", rp, err)
	}
	o, got = sdkGet(t, c, &s3.GetObjectInput{Bucket: &b2, Key: aws.String("replaced")})
	if !bytes.Equal(got, two) || aws.ToString(o.ContentType) != "text/x-new" || len(o.Metadata) != 1 || o.Metadata["new"] != "1" ||
		o.CacheControl != nil || o.ContentDisposition != nil {
		t.Fatalf("REPLACE across buckets: %+v", o)
	}
	// a source version, COPY across buckets
	cv, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("from-v1"),
		CopySource: aws.String(*csrc(b1, src) + "?versionId=" + aws.ToString(v1.VersionId))})
	if err != nil || aws.ToString(cv.CopySourceVersionId) != aws.ToString(v1.VersionId) || aws.ToString(cv.CopyObjectResult.ETag) != sdkQuoted(one) {
		t.Fatalf("CopyObject of v1 = %+v, %v", cv, err)
	}
	o, got = sdkGet(t, c, &s3.GetObjectInput{Bucket: &b2, Key: aws.String("from-v1")})
	if !bytes.Equal(got, one) || aws.ToString(o.ContentType) != "text/x-one" || len(o.Metadata) != 1 || o.Metadata["gen"] != "1" {
		t.Fatalf("copy of v1: %q %+v", got, o)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("x"), CopySource: aws.String(*csrc(b1, src) + "?versionId=01ARZ3NDEKTSV4RRFFQ69G5FAV")})
	s3WantErr(t, "copy of an unknown source version", err, http.StatusNotFound, "NoSuchVersion")

	// copy-source conditions: each holding copies, each failing is 412 and
	// the destination keeps its version
	mod := sdkHead(t, c, b1, src).LastModified
	before, after := mod.Add(-time.Second), mod.Add(time.Second)
	etag, other := sdkQuoted(two), sdkQuoted([]byte("nope"))
	dst := sdkHead(t, c, b1, "copy")
	for _, tc := range []struct {
		name string
		set  func(*s3.CopyObjectInput)
		ok   bool
	}{
		{"if-match holds", func(in *s3.CopyObjectInput) { in.CopySourceIfMatch = &etag }, true},
		{"if-match fails", func(in *s3.CopyObjectInput) { in.CopySourceIfMatch = &other }, false},
		{"if-none-match holds", func(in *s3.CopyObjectInput) { in.CopySourceIfNoneMatch = &other }, true},
		{"if-none-match fails", func(in *s3.CopyObjectInput) { in.CopySourceIfNoneMatch = &etag }, false},
		{"if-modified-since holds", func(in *s3.CopyObjectInput) { in.CopySourceIfModifiedSince = &before }, true},
		{"if-modified-since fails", func(in *s3.CopyObjectInput) { in.CopySourceIfModifiedSince = &after }, false},
		{"if-unmodified-since holds", func(in *s3.CopyObjectInput) { in.CopySourceIfUnmodifiedSince = mod }, true},
		{"if-unmodified-since fails", func(in *s3.CopyObjectInput) { in.CopySourceIfUnmodifiedSince = &before }, false},
		{"if-match wins over if-unmodified-since", func(in *s3.CopyObjectInput) { in.CopySourceIfMatch, in.CopySourceIfUnmodifiedSince = &etag, &before }, true},
		{"if-none-match fails despite if-modified-since", func(in *s3.CopyObjectInput) { in.CopySourceIfNoneMatch, in.CopySourceIfModifiedSince = &etag, &before }, false},
	} {
		in := &s3.CopyObjectInput{Bucket: &b1, Key: aws.String("copy"), CopySource: csrc(b1, src)}
		tc.set(in)
		out, err := c.CopyObject(ctx, in)
		now := sdkHead(t, c, b1, "copy")
		if tc.ok {
			if err != nil || aws.ToString(now.VersionId) != aws.ToString(out.VersionId) || aws.ToString(now.VersionId) == aws.ToString(dst.VersionId) {
				t.Fatalf("%s: %v (destination version %s)", tc.name, err, aws.ToString(now.VersionId))
			}
			dst = now
			continue
		}
		s3WantErr(t, tc.name, err, http.StatusPreconditionFailed, "PreconditionFailed")
		if aws.ToString(now.VersionId) != aws.ToString(dst.VersionId) || aws.ToString(now.ETag) != aws.ToString(dst.ETag) {
			t.Fatalf("%s: the destination changed to version %s", tc.name, aws.ToString(now.VersionId))
		}
	}

	// onto itself: refused without REPLACE (nothing written), allowed with it
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b1, Key: &src, CopySource: csrc(b1, src)})
	s3WantErr(t, "copy onto itself", err, http.StatusBadRequest, "InvalidRequest")
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b1, Key: &src, CopySource: csrc(b1, src), MetadataDirective: types.MetadataDirectiveCopy})
	s3WantErr(t, "copy onto itself with COPY", err, http.StatusBadRequest, "InvalidRequest")
	if h := sdkHead(t, c, b1, src); aws.ToString(h.VersionId) != aws.ToString(v2.VersionId) {
		t.Fatalf("a refused self-copy wrote version %s", aws.ToString(h.VersionId))
	}
	self, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b1, Key: &src, CopySource: csrc(b1, src),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"gen": "3"}, ContentType: aws.String("text/x-three")})
	if err != nil || aws.ToString(self.CopyObjectResult.ETag) != sdkQuoted(two) {
		t.Fatalf("self-copy with REPLACE = %+v, %v", self, err)
	}
	if h := sdkHead(t, c, b1, src); h.Metadata["gen"] != "3" || aws.ToString(h.ContentType) != "text/x-three" || aws.ToString(h.VersionId) != aws.ToString(self.VersionId) {
		t.Fatalf("after a self-copy with REPLACE: %+v", h)
	}

	// a deleted source is NoSuchKey; its versions can still be copied
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b1, Key: &src}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("x"), CopySource: csrc(b1, src)})
	s3WantErr(t, "copy of a deleted key", err, http.StatusNotFound, "NoSuchKey")
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b2, Key: aws.String("x"),
		CopySource: aws.String(*csrc(b1, src) + "?versionId=" + aws.ToString(v2.VersionId))}); err != nil {
		t.Fatalf("copy of a version under a delete marker: %v", err)
	}
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b2, Key: aws.String("x")}); !bytes.Equal(got, two) {
		t.Fatal("copy of a version under a delete marker: wrong bytes")
	}
}

// TestS3SDK_Multipart: three uploaded parts and one copied from a range of
// another object, listed exactly (with paging), completed into the "-N"
// ETag computed here and the exact bytes; an aborted upload is gone for
// every operation.
func TestS3SDK_Multipart(t *testing.T) {
	t.Parallel()
	_, c, b := startS3(t)
	ctx := context.Background()
	const mib = 1 << 20
	p1, p2, p4 := randomBytes(11, 5*mib), randomBytes(12, 5*mib+17), randomBytes(13, 333)
	srcData := randomBytes(14, 6*mib)
	p3 := srcData[1000 : 1000+5*mib]
	s3tPut(t, c, b, "copy-source", srcData)
	key := "mp/object ü"

	cu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key,
		ContentType: aws.String("application/x-mp"), Metadata: map[string]string{"origin": "multipart"}, CacheControl: aws.String("max-age=7")})
	if err != nil || aws.ToString(cu.UploadId) == "" || aws.ToString(cu.Key) != key || aws.ToString(cu.Bucket) != b {
		t.Fatalf("CreateMultipartUpload = %+v, %v", cu, err)
	}
	other, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp/another")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	upload := func(id *string, n int32, data []byte) string {
		t.Helper()
		r, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: id, PartNumber: aws.Int32(n), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", n, err)
		}
		if aws.ToString(r.ETag) != sdkQuoted(data) {
			t.Fatalf("UploadPart %d: ETag %s, want %s", n, aws.ToString(r.ETag), sdkQuoted(data))
		}
		return aws.ToString(r.ETag)
	}
	upload(cu.UploadId, 1, []byte("a first try at part one")) // replaced below
	e1, e2, e4 := upload(cu.UploadId, 1, p1), upload(cu.UploadId, 2, p2), upload(cu.UploadId, 4, p4)
	pc, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b, Key: &key, UploadId: cu.UploadId, PartNumber: aws.Int32(3),
		CopySource: aws.String(b + "/copy-source"), CopySourceRange: aws.String(fmt.Sprintf("bytes=1000-%d", 1000+5*mib-1))})
	if err != nil || aws.ToString(pc.CopyPartResult.ETag) != sdkQuoted(p3) || pc.CopyPartResult.LastModified == nil {
		t.Fatalf("UploadPartCopy = %+v, %v", pc, err)
	}
	e3 := aws.ToString(pc.CopyPartResult.ETag)
	_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b, Key: &key, UploadId: cu.UploadId, PartNumber: aws.Int32(5),
		CopySource: aws.String(b + "/copy-source"), CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", 6*mib))})
	s3WantErr(t, "UploadPartCopy past the source's end", err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")

	// ListParts, whole and in pages of two
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: cu.UploadId})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, p := range lp.Parts {
		parts = append(parts, fmt.Sprintf("%d:%s:%d", aws.ToInt32(p.PartNumber), aws.ToString(p.ETag), aws.ToInt64(p.Size)))
	}
	wantParts := []string{"1:" + e1 + ":" + fmt.Sprint(len(p1)), "2:" + e2 + ":" + fmt.Sprint(len(p2)), "3:" + e3 + ":" + fmt.Sprint(len(p3)), "4:" + e4 + ":333"}
	if !slices.Equal(parts, wantParts) || aws.ToBool(lp.IsTruncated) {
		t.Fatalf("ListParts = %q, want %q", parts, wantParts)
	}
	var paged []int32
	pin := &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: cu.UploadId, MaxParts: aws.Int32(2)}
	for i := 0; i < 5; i++ {
		page, err := c.ListParts(ctx, pin)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Parts {
			paged = append(paged, aws.ToInt32(p.PartNumber))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		pin.PartNumberMarker = page.NextPartNumberMarker
	}
	if !slices.Equal(paged, []int32{1, 2, 3, 4}) {
		t.Fatalf("ListParts in pages of two = %v", paged)
	}
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: aws.String("mp/another"), UploadId: cu.UploadId})
	s3WantErr(t, "ListParts under another key", err, http.StatusNotFound, "NoSuchUpload")

	// ListMultipartUploads: by key, then initiation; paged one at a time
	uploads := func(in *s3.ListMultipartUploadsInput) []string {
		t.Helper()
		in.Bucket = &b
		var out []string
		for i := 0; i < 10; i++ {
			page, err := c.ListMultipartUploads(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page.Uploads {
				out = append(out, aws.ToString(u.Key)+"@"+aws.ToString(u.UploadId))
			}
			if !aws.ToBool(page.IsTruncated) {
				return out
			}
			in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
		}
		t.Fatal("ListMultipartUploads paging does not end")
		return nil
	}
	wantUploads := []string{"mp/another@" + aws.ToString(other.UploadId), key + "@" + aws.ToString(cu.UploadId), key + "@" + aws.ToString(second.UploadId)}
	if got := uploads(&s3.ListMultipartUploadsInput{}); !slices.Equal(got, wantUploads) {
		t.Fatalf("ListMultipartUploads = %q, want %q", got, wantUploads)
	}
	if got := uploads(&s3.ListMultipartUploadsInput{MaxUploads: aws.Int32(1)}); !slices.Equal(got, wantUploads) {
		t.Fatalf("ListMultipartUploads one per page = %q, want %q", got, wantUploads)
	}
	if got := uploads(&s3.ListMultipartUploadsInput{Prefix: aws.String("mp/o")}); !slices.Equal(got, wantUploads[1:]) {
		t.Fatalf("ListMultipartUploads with a prefix = %q", got)
	}

	// the upload is not an object until completed
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &key})
	if s3Status(err) != http.StatusNotFound {
		t.Fatalf("HeadObject of an uncompleted upload: %v", err)
	}
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: cu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: &e1}, {PartNumber: aws.Int32(2), ETag: &e2}, {PartNumber: aws.Int32(3), ETag: &e3}, {PartNumber: aws.Int32(4), ETag: &e4}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantETag := sdkMultipartETag(p1, p2, p3, p4)
	if aws.ToString(done.ETag) != wantETag || aws.ToString(done.Key) != key || aws.ToString(done.Bucket) != b || aws.ToString(done.VersionId) == "" {
		t.Fatalf("CompleteMultipartUpload = ETag %s key %q version %q, want ETag %s", aws.ToString(done.ETag), aws.ToString(done.Key), aws.ToString(done.VersionId), wantETag)
	}
	whole := slices.Concat(p1, p2, p3, p4)
	o, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: &key})
	if !bytes.Equal(got, whole) || aws.ToString(o.ETag) != wantETag || aws.ToInt64(o.ContentLength) != int64(len(whole)) ||
		aws.ToString(o.ContentType) != "application/x-mp" || o.Metadata["origin"] != "multipart" || aws.ToString(o.CacheControl) != "max-age=7" ||
		aws.ToString(o.VersionId) != aws.ToString(done.VersionId) {
		t.Fatalf("completed object: %d bytes (want %d) %+v", len(got), len(whole), o)
	}
	// a range across the boundary of parts 2 and 3
	at := int64(len(p1) + len(p2))
	_, got = sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-%d", at-10, at+9))})
	if !bytes.Equal(got, whole[at-10:at+10]) {
		t.Fatal("a range across two parts differs")
	}
	l, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("mp/")})
	if len(l.Contents) != 1 || aws.ToString(l.Contents[0].ETag) != wantETag || aws.ToInt64(l.Contents[0].Size) != int64(len(whole)) {
		t.Fatalf("ListObjectsV2 of the completed object = %+v", l.Contents)
	}
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: cu.UploadId})
	s3WantErr(t, "ListParts of a completed upload", err, http.StatusNotFound, "NoSuchUpload")

	// abort: gone for every operation, and for the listing
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: &key, UploadId: second.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: second.UploadId})
	s3WantErr(t, "ListParts after abort", err, http.StatusNotFound, "NoSuchUpload")
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: second.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	s3WantErr(t, "UploadPart after abort", err, http.StatusNotFound, "NoSuchUpload")
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: &key, UploadId: second.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(sdkQuoted([]byte("x")))}}}})
	s3WantErr(t, "CompleteMultipartUpload after abort", err, http.StatusNotFound, "NoSuchUpload")
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b, Key: &key, UploadId: second.UploadId})
	s3WantErr(t, "AbortMultipartUpload again", err, http.StatusNotFound, "NoSuchUpload")
	if got := uploads(&s3.ListMultipartUploadsInput{}); !slices.Equal(got, wantUploads[:1]) {
		t.Fatalf("ListMultipartUploads after complete and abort = %q", got)
	}
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: &key}); !bytes.Equal(got, whole) {
		t.Fatal("aborting another upload of the key changed the completed object")
	}
}

// TestS3SDK_ErrorShapeAndRequestIDs: every answer, success or error,
// carries x-amz-request-id, each different; an error is S3's XML document
// naming the same request id.
func TestS3SDK_ErrorShapeAndRequestIDs(t *testing.T) {
	t.Parallel()
	e := Start(t)
	c, rec := s3RecordingClient(t, e, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := e.Bucket(t)
	put := s3tPut(t, c, b, "obj", []byte("x"))
	if id, ok := awsmiddleware.GetRequestIDMetadata(put.ResultMetadata); !ok || id == "" {
		t.Fatal("PutObject result carries no request id")
	}
	sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj")})
	sdkHead(t, c, b, "obj")
	_, _ = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b})
	_, _ = c.ListBuckets(ctx, &s3.ListBucketsInput{})
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("missing")})
	s3WantErr(t, "GetObject missing", err, http.StatusNotFound, "NoSuchKey")
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("missing")})
	if s3Status(err) != http.StatusNotFound {
		t.Fatalf("HeadObject missing: %v", err)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("no-such-bucket")})
	s3WantErr(t, "list a missing bucket", err, http.StatusNotFound, "NoSuchBucket")
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj"), IfNoneMatch: put.ETag})
	if s3Status(err) != http.StatusNotModified {
		t.Fatalf("304: %v", err)
	}
	_, err = e.S3(t, e.AdminKeyID, "wrong secret").GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj")})
	s3WantErr(t, "wrong secret", err, http.StatusForbidden, "SignatureDoesNotMatch")

	seen := rec.all()
	if len(seen) != 9 {
		t.Fatalf("recorded %d responses, want 9: %+v", len(seen), seen)
	}
	ids := map[string]bool{}
	for _, s := range seen {
		if s.RequestID == "" || ids[s.RequestID] {
			t.Errorf("%s (%d): request id %q missing or repeated", s.Op, s.Status, s.RequestID)
		}
		ids[s.RequestID] = true
	}
	var re interface{ ServiceRequestID() string }
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("missing")})
	if !errors.As(err, &re) || re.ServiceRequestID() == "" || re.ServiceRequestID() != rec.all()[len(rec.all())-1].RequestID {
		t.Fatalf("the SDK error carries no (or another) request id: %v", err)
	}

	// the raw document: Code, Message, Resource, RequestId
	r := s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodGet, "/"+b+"/missing%20key", nil, nil, "")
	doc := s3WantXMLError(t, "raw GET missing", r, http.StatusNotFound, "NoSuchKey")
	if doc.Resource != "/"+b+"/missing key" {
		t.Errorf("Resource %q", doc.Resource)
	}
	r = s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodHead, "/"+b+"/missing", nil, nil, "")
	if r.Status != http.StatusNotFound || len(r.Body) != 0 || r.Header.Get("x-amz-request-id") == "" {
		t.Fatalf("HEAD missing: %d %q, request id %q", r.Status, r.Body, r.Header.Get("x-amz-request-id"))
	}
	r = s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodGet, "/"+b+"/obj", nil, nil, "")
	if r.Status != http.StatusOK || r.Header.Get("x-amz-request-id") == "" || string(r.Body) != "x" {
		t.Fatalf("raw GET: %d %q, request id %q", r.Status, r.Body, r.Header.Get("x-amz-request-id"))
	}
	// unsigned (an x-amz header marks it S3): AccessDenied, still an S3
	// document with a request id
	r = s3DoUnsigned(t, e, http.MethodGet, "/"+b+"/obj")
	s3WantXMLError(t, "anonymous GET", r, http.StatusForbidden, "AccessDenied")
}

// s3DoUnsigned sends an S3 request (marked by an x-amz header) without
// credentials.
func s3DoUnsigned(t testing.TB, e *Env, method, target string) *Resp {
	t.Helper()
	req, _ := http.NewRequest(method, e.URL+target, nil)
	req.Header.Set("x-amz-content-sha256", sha256hex(nil))
	return e.DoRequest(t, req)
}

// TestS3SDK_CrossDialect: an S3 write is a native file with the same bytes,
// ETag, content type, stored headers and metadata, one version and one
// sync entry, recorded in the log as the key's act through the s3
// dialect; a native upload is an S3 object with the same.
func TestS3SDK_CrossDialect(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "reads its log")
	admin := e.S3(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	b := e.Bucket(t)
	key := e.NewKey(t, map[string]string{b: "write"})
	c := e.S3(t, key.ID, key.Value)

	before := natSync(t, e, e.AdminKey, b, "after", "0")
	body := randomBytes(21, 40000)
	exp := time.Date(2030, 2, 3, 4, 5, 6, 0, time.UTC)
	put := s3tPut(t, c, b, "shared/from s3.bin", body, func(in *s3.PutObjectInput) {
		in.ContentType = aws.String("application/x-from-s3")
		in.Metadata = map[string]string{"origin": "s3", "n": "1"}
		in.CacheControl = aws.String("max-age=11")
		in.ContentDisposition = aws.String("inline")
		in.Expires = &exp
	})
	reqID, _ := awsmiddleware.GetRequestIDMetadata(put.ResultMetadata)

	r := natGet(t, e, key.Value, b, "shared/from s3.bin")
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, body) {
		t.Fatalf("native getfile of an S3 write: %d, %d bytes", r.Status, len(r.Body))
	}
	for h, want := range map[string]string{"ETag": aws.ToString(put.ETag), "Content-Type": "application/x-from-s3", "x-owncdn-meta-origin": "s3",
		"x-owncdn-meta-n": "1", "Cache-Control": "max-age=11", "Content-Disposition": "inline", "Expires": exp.Format(http.TimeFormat),
		"X-Version-Id": aws.ToString(put.VersionId)} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("native getfile %s = %q, want %q", h, got, want)
		}
	}
	vs := natVersions(t, e, key.Value, b, "shared/from s3.bin")
	if len(vs) != 1 || vs[0].Version != aws.ToString(put.VersionId) || !vs[0].Current || vs[0].Size != int64(len(body)) || `"`+vs[0].ETag+`"` != aws.ToString(put.ETag) {
		t.Fatalf("versionlist = %+v", vs)
	}
	after := natSync(t, e, e.AdminKey, b, "after", fmt.Sprint(before.LastSyncID))
	if len(after.Updates) != 1 {
		t.Fatalf("syncnext after one S3 put: %+v", after.Updates)
	}
	if u := after.Updates[0]; u.Op != "put" || u.Path != "shared/from s3.bin" || u.Version != aws.ToString(put.VersionId) || u.Size != int64(len(body)) ||
		`"`+u.ETag+`"` != aws.ToString(put.ETag) || u.ContentType != "application/x-from-s3" || u.Meta["origin"] != "s3" || u.SyncID != before.LastSyncID+1 {
		t.Fatalf("syncnext entry = %+v", u)
	}
	// the log says who wrote it, through which dialect, in which request
	last, err := e.Srv.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := e.Srv.Log.Get(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Path != "shared/from s3.bin" || ev.Service != b || ev.Actor.Dialect != "s3" || ev.Actor.KeyID != key.ID || ev.RequestID != reqID || reqID == "" {
		t.Fatalf("the S3 put's event: type %s path %q actor %+v request %q (the response's %q)", ev.Type, ev.Path, ev.Actor, ev.RequestID, reqID)
	}

	// native → S3
	nat := randomBytes(22, 3000)
	up := e.Upload(t, key.Value, b, "shared/from-native.txt", nat, map[string]string{"Content-Type": "text/x-native",
		"x-owncdn-meta-origin": "native"})
	o, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("shared/from-native.txt")})
	if !bytes.Equal(got, nat) || aws.ToString(o.ETag) != `"`+up.ETag+`"` || aws.ToString(o.ETag) != sdkQuoted(nat) || aws.ToString(o.ContentType) != "text/x-native" ||
		o.Metadata["origin"] != "native" || aws.ToString(o.VersionId) != up.Version || aws.ToInt64(o.ContentLength) != int64(len(nat)) {
		t.Fatalf("S3 GetObject of a native upload: %+v", o)
	}
	h := sdkHead(t, c, b, "shared/from-native.txt")
	if aws.ToString(h.ETag) != `"`+up.ETag+`"` || h.Metadata["origin"] != "native" {
		t.Fatalf("S3 HeadObject of a native upload: %+v", h)
	}
	l, err := admin.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("shared/")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, x := range l.Contents {
		listed = append(listed, fmt.Sprintf("%s:%d:%s", aws.ToString(x.Key), aws.ToInt64(x.Size), aws.ToString(x.ETag)))
	}
	if want := []string{"shared/from s3.bin:40000:" + aws.ToString(put.ETag), "shared/from-native.txt:3000:" + `"` + up.ETag + `"`}; !slices.Equal(listed, want) {
		t.Fatalf("ListObjectsV2 = %q, want %q", listed, want)
	}
	lv, err := admin.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &b, Prefix: aws.String("shared/from-native")})
	if err != nil || len(lv.Versions) != 1 || aws.ToString(lv.Versions[0].VersionId) != up.Version {
		t.Fatalf("ListObjectVersions of a native upload = %+v, %v", lv, err)
	}
	// an S3 overwrite of a native file is its next native version
	over := s3tPut(t, c, b, "shared/from-native.txt", []byte("overwritten by s3"))
	vs = natVersions(t, e, key.Value, b, "shared/from-native.txt")
	if len(vs) != 2 || vs[0].Version != aws.ToString(over.VersionId) || !vs[0].Current || vs[1].Version != up.Version || vs[1].Current {
		t.Fatalf("versionlist after an S3 overwrite = %+v", vs)
	}
	if r := natGet(t, e, key.Value, b, "shared/from-native.txt", "version", up.Version); r.Status != http.StatusOK || !bytes.Equal(r.Body, nat) {
		t.Fatalf("native getfile of the native version: %d", r.Status)
	}
}

// TestS3SDK_Presigned: presigned GET (with a response override), PUT
// (with signed metadata) and DELETE work with a plain HTTP client; a URL
// used with another method, or altered, or expired, is refused and
// changes nothing.
func TestS3SDK_Presigned(t *testing.T) {
	t.Parallel()
	e, c, b := startS3(t)
	ctx := context.Background()
	pc := s3.NewPresignClient(c)
	do := func(method, u string, body []byte, hdr http.Header) *Resp {
		t.Helper()
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		return e.DoRequest(t, req)
	}

	body := randomBytes(31, 10000)
	pput, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("pre/obj"), ContentType: aws.String("text/x-pre"),
		Metadata: map[string]string{"via": "presigned"}}, s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r := do(http.MethodPut, pput.URL, body, pput.SignedHeader); r.Status != http.StatusOK || r.Header.Get("ETag") != sdkQuoted(body) || r.Header.Get("x-amz-request-id") == "" {
		t.Fatalf("presigned PUT: %d %s %v", r.Status, r.Body, r.Header)
	}
	h := sdkHead(t, c, b, "pre/obj")
	if aws.ToString(h.ContentType) != "text/x-pre" || h.Metadata["via"] != "presigned" || aws.ToString(h.ETag) != sdkQuoted(body) {
		t.Fatalf("object written by a presigned PUT: %+v", h)
	}
	// the signed metadata is part of the signature: other values are refused
	forged := pput.SignedHeader.Clone()
	forged.Set("X-Amz-Meta-Via", "forged")
	r := do(http.MethodPut, pput.URL, []byte("forged"), forged)
	s3WantXMLError(t, "presigned PUT with other signed headers", r, http.StatusForbidden, "SignatureDoesNotMatch")

	pget, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("pre/obj"), ResponseContentDisposition: aws.String("attachment")})
	if err != nil {
		t.Fatal(err)
	}
	r = do(http.MethodGet, pget.URL, nil, nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, body) || r.Header.Get("Content-Disposition") != "attachment" || r.Header.Get("ETag") != sdkQuoted(body) {
		t.Fatalf("presigned GET: %d, %d bytes, %v", r.Status, len(r.Body), r.Header)
	}
	phead, err := pc.PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("pre/obj")})
	if err != nil {
		t.Fatal(err)
	}
	if r := do(http.MethodHead, phead.URL, nil, nil); r.Status != http.StatusOK || r.Header.Get("Content-Length") != "10000" {
		t.Fatalf("presigned HEAD: %d %v", r.Status, r.Header)
	}
	// the GET URL does not allow a PUT or DELETE, nor another key
	r = do(http.MethodPut, pget.URL, []byte("overwrite"), nil)
	s3WantXMLError(t, "presigned GET used to PUT", r, http.StatusForbidden, "SignatureDoesNotMatch")
	r = do(http.MethodDelete, pget.URL, nil, nil)
	s3WantXMLError(t, "presigned GET used to DELETE", r, http.StatusForbidden, "SignatureDoesNotMatch")
	r = do(http.MethodGet, strings.Replace(pget.URL, "/pre/obj", "/pre/ob2", 1), nil, nil)
	s3WantXMLError(t, "presigned GET of another key", r, http.StatusForbidden, "SignatureDoesNotMatch")
	// expired: signed two hours ago for one hour
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/"+b+"/pre/obj?X-Amz-Expires=3600", nil)
	old, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: e.AdminKeyID, SecretAccessKey: e.AdminKey}, req,
		"UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r = do(http.MethodGet, old, nil, nil)
	s3WantXMLError(t, "expired presigned GET", r, http.StatusForbidden, "AccessDenied")
	if !bytes.Contains(r.Body, []byte("expired")) {
		t.Errorf("expired presigned GET: message does not say expired: %s", r.Body)
	}
	// still valid one: the same request signed now
	req, _ = http.NewRequest(http.MethodGet, e.URL+"/"+b+"/pre/obj?X-Amz-Expires=3600", nil)
	fresh, _, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: e.AdminKeyID, SecretAccessKey: e.AdminKey}, req,
		"UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := do(http.MethodGet, fresh, nil, nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, body) {
		t.Fatalf("a presigned GET signed now: %d", r.Status)
	}

	pdel, err := pc.PresignDeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("pre/obj")})
	if err != nil {
		t.Fatal(err)
	}
	if _, got := sdkGet(t, c, &s3.GetObjectInput{Bucket: &b, Key: aws.String("pre/obj")}); !bytes.Equal(got, body) {
		t.Fatal("a refused presigned request changed the object")
	}
	if r := do(http.MethodDelete, pdel.URL, nil, nil); r.Status != http.StatusNoContent || r.Header.Get("x-amz-delete-marker") != "true" {
		t.Fatalf("presigned DELETE: %d %v", r.Status, r.Header)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("pre/obj")})
	s3WantErr(t, "GetObject after a presigned DELETE", err, http.StatusNotFound, "NoSuchKey")
}
