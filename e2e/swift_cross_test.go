package e2e

// One core under three dialects: what Swift writes S3 and the native API
// read with the same bytes, ETag, content type and metadata, and the
// other way round; buckets are containers.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ncw/swift/v2"
)

// TestSwift_CrossDialect: Swift -> S3 and native, S3 -> Swift, native ->
// Swift, in the default account with the server admin key.
func TestSwift_CrossDialect(t *testing.T) {
	t.Parallel()
	e := Start(t)
	c := e.Swift(t, e.AdminKeyID, e.AdminKey, 1)
	if c.StorageUrl != e.URL+"/v1/default" {
		t.Fatalf("server admin key: storage URL %q", c.StorageUrl)
	}
	s3c := e.S3(t, e.AdminKeyID, e.AdminKey)
	ctx := context.Background()
	cont := swContainer(t, c)
	tok := c.AuthToken

	t.Run("swift_to_s3_and_native", func(t *testing.T) {
		t.Parallel()
		name := "x/from-swift.txt"
		body := []byte("written through Swift")
		sum := md5hex(body)
		h, err := c.ObjectPut(swCtx, cont, name, bytes.NewReader(body), true, "", "text/x-swift", swift.Headers{
			"X-Object-Meta-Color": "blue", "Cache-Control": "max-age=9", "Content-Disposition": "inline"})
		if err != nil || h["Etag"] != sum {
			t.Fatalf("ObjectPut: %v %v", h, err)
		}
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &cont, Key: aws.String(name)})
		if err != nil {
			t.Fatalf("S3 GetObject of a Swift write: %v", err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, body) || aws.ToString(out.ETag) != `"`+sum+`"` || aws.ToString(out.ContentType) != "text/x-swift" ||
			out.Metadata["color"] != "blue" || aws.ToString(out.CacheControl) != "max-age=9" || aws.ToString(out.ContentDisposition) != "inline" {
			t.Errorf("S3 GetObject of a Swift write: %q %v %+v", got, err, out)
		}
		r := natGet(t, e, e.AdminKey, cont, name)
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, body) || strings.Trim(r.Header.Get("ETag"), `"`) != sum ||
			r.Header.Get("Content-Type") != "text/x-swift" || r.Header.Get("x-owncdn-meta-color") != "blue" ||
			r.Header.Get("Cache-Control") != "max-age=9" {
			t.Errorf("native getfile of a Swift write: %d %q %v", r.Status, r.Body, r.Header)
		}
		p := natList(t, e, e.AdminKey, cont, "prefix", "x/")
		if len(p.Files) != 1 || p.Files[0].Path != name || p.Files[0].ETag != sum || p.Files[0].Size != int64(len(body)) ||
			p.Files[0].ContentType != "text/x-swift" {
			t.Errorf("native filelist of a Swift write: %+v", p.Files)
		}
		// a Swift POST replaces the metadata the others read
		if err := c.ObjectUpdate(swCtx, cont, name, swift.Headers{"X-Object-Meta-Shape": "round"}); err != nil {
			t.Fatal(err)
		}
		ho, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &cont, Key: aws.String(name)})
		if err != nil || ho.Metadata["shape"] != "round" || ho.Metadata["color"] != "" || aws.ToString(ho.ETag) != `"`+sum+`"` {
			t.Errorf("S3 HeadObject after a Swift POST: %+v %v", ho, err)
		}
		if r := natGet(t, e, e.AdminKey, cont, name); r.Header.Get("x-owncdn-meta-shape") != "round" || r.Header.Get("x-owncdn-meta-color") != "" {
			t.Errorf("native getfile after a Swift POST: %v", r.Header)
		}
		// a Swift DELETE is gone for both
		if err := c.ObjectDelete(swCtx, cont, name); err != nil {
			t.Fatal(err)
		}
		_, err = s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: &cont, Key: aws.String(name)})
		s3WantErr(t, "S3 GetObject after a Swift DELETE", err, http.StatusNotFound, "NoSuchKey")
		natWantErr(t, "native getfile after a Swift DELETE", natGet(t, e, e.AdminKey, cont, name), http.StatusNotFound, "not_found")
	})

	t.Run("s3_to_swift", func(t *testing.T) {
		t.Parallel()
		name := "y/from-s3.bin"
		body := bytes.Repeat([]byte("written through S3 "), 1000)
		put, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &cont, Key: aws.String(name), Body: bytes.NewReader(body),
			ContentType: aws.String("application/x-s3"), Metadata: map[string]string{"color": "green", "two-words": "yes"},
			CacheControl: aws.String("no-cache")})
		if err != nil {
			t.Fatal(err)
		}
		sum := md5hex(body)
		if aws.ToString(put.ETag) != `"`+sum+`"` {
			t.Fatalf("S3 PutObject ETag %q, want %q", aws.ToString(put.ETag), sum)
		}
		info, h, err := c.Object(swCtx, cont, name)
		m := h.ObjectMetadata()
		if err != nil || info.Hash != sum || info.Bytes != int64(len(body)) || info.ContentType != "application/x-s3" ||
			m["color"] != "green" || m["two-words"] != "yes" || h["Cache-Control"] != "no-cache" {
			t.Errorf("Swift HEAD of an S3 write: %+v %v %v", info, h, err)
		}
		r := swDo(t, e, http.MethodGet, swPath("default", cont, name), tok, nil, nil)
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, body) || r.Header.Get("Etag") != sum ||
			r.Header.Get("X-Object-Meta-Color") != "green" || r.Header.Get("X-Object-Meta-Two-Words") != "yes" ||
			r.Header.Get("Content-Type") != "application/x-s3" {
			t.Errorf("Swift GET of an S3 write: %d %v (%d bytes)", r.Status, r.Header, len(r.Body))
		}
		var l []swObjectEntry
		swListJSON(t, e, swPath("default", cont), tok, &l, "prefix", "y/")
		if len(l) != 1 || l[0].Name != name || l[0].Hash != sum || l[0].Bytes != int64(len(body)) || l[0].ContentType != "application/x-s3" {
			t.Errorf("Swift listing of an S3 write: %+v", l)
		}
		// an S3 delete is a Swift 404
		if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &cont, Key: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Object(swCtx, cont, name)
		swWantClientErr(t, "Swift HEAD after an S3 delete", err, http.StatusNotFound)
	})

	t.Run("native_to_swift", func(t *testing.T) {
		t.Parallel()
		name := "z/from-native.txt"
		body := []byte("written through the native API")
		up := e.Upload(t, e.AdminKey, cont, name, body, map[string]string{"Content-Type": "text/x-native", "x-owncdn-meta-color": "red"})
		if up.ETag != md5hex(body) {
			t.Fatalf("uploadfile etag %q, want the MD5 %q", up.ETag, md5hex(body))
		}
		objs, err := c.Objects(swCtx, cont, &swift.ObjectsOpts{Prefix: "z/"})
		if err != nil || len(objs) != 1 || objs[0].Name != name || objs[0].Hash != up.ETag || objs[0].Bytes != int64(len(body)) ||
			objs[0].ContentType != "text/x-native" || objs[0].LastModified.IsZero() {
			t.Errorf("Swift listing of a native upload: %+v %v", objs, err)
		}
		names := swListPlain(t, e, swPath("default", cont), tok, "prefix", "z/")
		swEq(t, "Swift plain listing of a native upload", names, []string{name})
		got, err := c.ObjectGetBytes(swCtx, cont, name)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("Swift GET of a native upload: %q %v", got, err)
		}
		_, h, err := c.Object(swCtx, cont, name)
		if err != nil || h["Etag"] != up.ETag || h["X-Object-Meta-Color"] != "red" || h["Content-Type"] != "text/x-native" {
			t.Errorf("Swift HEAD of a native upload: %v %v", h, err)
		}
		// a native delete is a Swift 404
		r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", cont, "path", name)})
		if r.Status/100 != 2 {
			t.Fatalf("deletefile: %d %s", r.Status, r.Body)
		}
		swWantErr(t, "Swift GET after a native delete", swDo(t, e, http.MethodGet, swPath("default", cont, name), tok, nil, nil), http.StatusNotFound)
	})
}

// TestSwift_CrossBuckets: a bucket made through S3 is a container of the
// bucket owner's account, and a container made through Swift is a bucket.
func TestSwift_CrossBuckets(t *testing.T) {
	t.Parallel()
	e := Start(t)
	ctx := context.Background()
	c := e.Swift(t, e.AdminKeyID, e.AdminKey, 2)
	s3c := e.S3(t, e.AdminKeyID, e.AdminKey)

	b := e.Bucket(t)
	names, err := c.ContainerNames(swCtx, nil)
	if err != nil || !slices.Contains(names, b) {
		t.Fatalf("default account listing %q (%v) has no S3 bucket %s", names, err, b)
	}
	if info, h, err := c.Container(swCtx, b); err != nil || info.Count != 0 || info.Bytes != 0 || h["X-Container-Meta-Type"] != "private" {
		t.Fatalf("Swift HEAD of an S3 bucket: %+v %v %v", info, h, err)
	}
	body := []byte("counted")
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	if info, _, err := c.Container(swCtx, b); err != nil || info.Count != 1 || info.Bytes != int64(len(body)) {
		t.Errorf("Swift HEAD after an S3 put: %+v %v", info, err)
	}
	var l []swContainerEntry
	swListJSON(t, e, swPath("default"), c.AuthToken, &l, "prefix", b)
	if len(l) != 1 || l[0].Name != b || l[0].Count != 1 || l[0].Bytes != int64(len(body)) {
		t.Errorf("account listing entry of the S3 bucket: %+v", l)
	}

	// a Swift container is an S3 bucket
	cont := swContainer(t, c)
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &cont}); err != nil {
		t.Errorf("S3 HeadBucket of a Swift container: %v", err)
	}
	lb, err := s3c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var buckets []string
	for _, bk := range lb.Buckets {
		buckets = append(buckets, aws.ToString(bk.Name))
	}
	if !slices.Contains(buckets, cont) || !slices.Contains(buckets, b) {
		t.Errorf("ListBuckets %q lacks %s or %s", buckets, cont, b)
	}

	// a bucket an account admin makes through S3 is in that account, not the default one
	acct, k := e.Account(t)
	ab := swName(t) + "-acct"
	if _, err := e.S3(t, k.ID, k.Value).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &ab}); err != nil {
		t.Fatal(err)
	}
	ac := e.Swift(t, k.ID, k.Value, 1)
	if got, err := ac.ContainerNames(swCtx, nil); err != nil || !slices.Equal(got, []string{ab}) {
		t.Errorf("account %s listing: %q %v, want [%s]", acct, got, err, ab)
	}
	if got := swListPlain(t, e, swPath("default"), c.AuthToken); slices.Contains(got, ab) {
		t.Errorf("the default account lists %s of account %s", ab, acct)
	}
	swWant(t, "the server admin sees it under its account", swDo(t, e, http.MethodHead, swPath(acct, ab), c.AuthToken, nil, nil),
		http.StatusOK, http.StatusNoContent)
	swWant(t, "not under the default account", swDo(t, e, http.MethodHead, swPath("default", ab), c.AuthToken, nil, nil), http.StatusNotFound)
}
