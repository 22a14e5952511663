package e2e

// Names per account (issue 17, item 1): a Swift container or an S3 bucket
// belongs to its account. Two accounts each own the same name, with their
// own contents; another account's bucket is named tenant:bucket, and only
// its ACLs open it.

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
)

func TestTenancy_SameContainerNameInTwoAccounts(t *testing.T) {
	e := Start(t)
	ctx := context.Background()
	acctA, adminA := e.Account(t)
	acctB, adminB := e.Account(t)
	name := uniqueName(t, "images", 63)

	// Swift: each account creates "images" and writes its own a.txt
	swA, swB := e.Swift(t, adminA.ID, adminA.Value, 1), e.Swift(t, adminB.ID, adminB.Value, 1)
	for _, c := range []struct {
		acct string
		tok  string
	}{{acctA, swToken(t, e, adminA)}, {acctB, swToken(t, e, adminB)}} {
		swWant(t, "PUT container "+name+" in "+c.acct, swDo(t, e, http.MethodPut, swPath(c.acct, name), c.tok, nil, nil), http.StatusCreated)
		swWant(t, "PUT object in "+c.acct, swDo(t, e, http.MethodPut, swPath(c.acct, name, "a.txt"), c.tok, nil,
			strings.NewReader("from "+c.acct)), http.StatusCreated)
	}
	for acct, conn := range map[string]interface {
		ObjectGetBytes(context.Context, string, string) ([]byte, error)
	}{acctA: swA, acctB: swB} {
		got, err := conn.ObjectGetBytes(ctx, name, "a.txt")
		if err != nil || string(got) != "from "+acct {
			t.Errorf("ncw/swift GET %s/a.txt as %s: %q, %v", name, acct, got, err)
		}
	}
	names, err := swB.ContainerNames(ctx, nil)
	if err != nil || !slices.Contains(names, name) {
		t.Errorf("account %s's container listing: %v, %v; want %s in it", acctB, names, err, name)
	}

	// native: two services, each with its account and container name
	var list struct {
		Services []struct {
			ID, Account, Container string
		} `json:"services"`
	}
	e.Do(t, Req{Fn: "servicelist", Key: e.AdminKey}).JSON(t, &list)
	ids := map[string]string{}
	for _, s := range list.Services {
		if s.Container == name {
			ids[s.Account] = s.ID
		}
	}
	if len(ids) != 2 || ids[acctA] == ids[acctB] || ids[acctA] == "" || ids[acctB] == "" {
		t.Fatalf("servicelist: the services named %s by account: %v, want two ids", name, ids)
	}
	r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", ids[acctB], "path", "a.txt")})
	if r.Status != http.StatusOK || string(r.Body) != "from "+acctB {
		t.Errorf("native getfile of %s's container by its id %s: %d %q", acctB, ids[acctB], r.Status, r.Body)
	}

	// S3: the same name through CreateBucket in both accounts
	bucket := uniqueName(t, "logs", 63)
	s3A, s3B := e.S3(t, adminA.ID, adminA.Value), e.S3(t, adminB.ID, adminB.Value)
	for acct, c := range map[string]*s3.Client{acctA: s3A, acctB: s3B} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("CreateBucket %s as %s: %v", bucket, acct, err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"),
			Body: bytes.NewReader([]byte("s3 " + acct))}); err != nil {
			t.Fatalf("PutObject as %s: %v", acct, err)
		}
	}
	for acct, c := range map[string]*s3.Client{acctA: s3A, acctB: s3B} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
		if err != nil {
			t.Fatalf("GetObject as %s: %v", acct, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(got) != "s3 "+acct {
			t.Errorf("GetObject %s/k as %s: %q", bucket, acct, got)
		}
		lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, b := range lb.Buckets {
			seen = append(seen, aws.ToString(b.Name))
		}
		if !slices.Contains(seen, bucket) || slices.Contains(seen, acctA+":"+bucket) || slices.Contains(seen, acctB+":"+bucket) {
			t.Errorf("ListBuckets as %s: %v; want its own %s only", acct, seen, bucket)
		}
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		s3WantErr(t, "CreateBucket of its own bucket again as "+acct, err, http.StatusConflict, "BucketAlreadyOwnedByYou")
	}

	// another account's bucket is tenant:bucket, closed until its ACL opens
	// it: until then it answers exactly as a bucket that does not exist
	_, err = s3B.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(acctA + ":" + bucket), Key: aws.String("k")})
	s3WantErr(t, "B reading A's bucket as tenant:bucket without a grant", err, http.StatusNotFound, "NoSuchBucket")
	_, err = s3B.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(acctA + ":no-such-" + bucket[:40]), Key: aws.String("k")})
	s3WantErr(t, "B reading a bucket A does not have", err, http.StatusNotFound, "NoSuchBucket")
	// A's owner grants B's key reads through Swift: one service, whichever dialect
	swWant(t, "POST X-Container-Read on A's bucket", swDo(t, e, http.MethodPost, swPath(acctA, bucket), swToken(t, e, adminA),
		map[string]string{"X-Container-Read": acctB + ":" + adminB.ID}, nil), http.StatusNoContent)
	out, err := s3B.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(acctA + ":" + bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("B reading A's bucket as tenant:bucket once A's ACL names B's key: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != "s3 "+acctA {
		t.Errorf("B reading %s:%s/k: %q", acctA, bucket, got)
	}
	if _, err := s3B.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(acctA + ":" + bucket), Key: aws.String("k"),
		Body: bytes.NewReader([]byte("x"))}); s3Status(err) != http.StatusForbidden {
		t.Errorf("B writing A's bucket with a read ACL: %v, want 403", err)
	}
}
