package e2e

// Every event the server writes, whatever the dialect, is valid against
// schema/events.schema.json, and the workload here makes every event type
// at least once: a new type without a workload fails the test. Helpers
// start with "es".

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/schema"
)

func TestEventsSchema_EveryEventOfEveryDialect(t *testing.T) {
	clk := newTestClock(time.Time{})
	p := Start(t, func(c *server.Config) {
		c.Clock = clk.Now
		c.ReapInterval = server.Duration(20 * time.Millisecond)
		c.CheckpointInterval = server.Duration(time.Hour) // one is made below, on purpose
	})
	esNative(t, p)
	esS3(t, p)
	esSwift(t, p)
	esAdmin(t, p)
	esCache(t, p)

	// an expiry, by the reaper, on the test clock
	e := p.Upload(t, p.AdminKey, p.WithService(t), "expires", []byte("soon gone"), map[string]string{"x-owncdn-delete-after": "60"})
	clk.Advance(2 * time.Minute)
	esWaitFor(t, p, "the reaper's object.expired.v1", func(ev *schema.Event) bool {
		return ev.Type == schema.TypeObjectExpired && ev.Path == e.Path
	})
	// a signed checkpoint
	if seq, err := p.Srv.Core.Checkpoint(context.Background(), p.Srv.SigningKey); err != nil || seq == 0 {
		t.Fatalf("checkpoint: %d, %v", seq, err)
	}
	// replication (sources, a replica, a resync) on a second server
	r := esReplica(t, p)
	esRepair(t, p, r)

	sch := esCompile(t)
	seen := map[string]int{}
	for name, env := range map[string]*Env{"primary": p, "replica": r} {
		esValidate(t, name, env, sch, seen)
	}
	for typ := range schema.EventTypes {
		if seen[typ] == 0 {
			t.Errorf("the workload made no %s event: give the new type a workload here", typ)
		}
	}
	t.Logf("events validated by type: %v", seen)
}

// esCompile compiles events.schema.json (2020-12, formats and content
// asserted), as schema/events_schema_test.go does.
func esCompile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.EventsJSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.AssertContent()
	const url = "https://github.com/cairnhq/cairn/schema/events.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("events.schema.json does not compile: %v", err)
	}
	return sch
}

// esValidate validates every event in e's log, as stored, and checks it is
// stored on the subject its type and ids give; seen counts the types.
func esValidate(t *testing.T, name string, e *Env, sch *jsonschema.Schema, seen map[string]int) {
	t.Helper()
	ctx := context.Background()
	last, err := e.Srv.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= last; seq++ {
		ev, err := e.Srv.Log.Get(ctx, seq)
		if err != nil {
			t.Fatalf("%s: event %d: %v", name, seq, err)
		}
		raw, err := e.Srv.Log.Raw(ctx, seq)
		if err != nil {
			t.Fatalf("%s: event %d: %v", name, seq, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw.Data))
		if err != nil {
			t.Fatalf("%s: event %d is not JSON: %v", name, seq, err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s: event %d (%s) does not match events.schema.json: %v\n%s", name, seq, ev.Type, err, esShort(raw.Data))
		}
		if want := schema.SubjectFor(ev); raw.Subject != want {
			t.Errorf("%s: event %d (%s) stored on %s, want %s", name, seq, ev.Type, raw.Subject, want)
		}
		seen[ev.Type]++
	}
}

// esShort is b, cut to a readable length for a failure message.
func esShort(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// esWaitFor follows e's log from its start until an event matches.
func esWaitFor(t testing.TB, e *Env, what string, match func(*schema.Event) bool) *schema.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var found *schema.Event
	errFound := errors.New("found")
	err := e.Srv.Log.Follow(ctx, 1, func(evs []*schema.Event) error {
		for _, ev := range evs {
			if match(ev) {
				found = ev
				return errFound
			}
		}
		return nil
	})
	if found == nil {
		t.Fatalf("no %s in the log in 60s: %v", what, err)
	}
	return found
}

// esNative: uploads (inline and to the blobstore), an overwrite, a delete.
func esNative(t *testing.T, e *Env) {
	sid := e.WithService(t)
	e.Upload(t, e.AdminKey, sid, "n/a", []byte("one"), map[string]string{"x-owncdn-meta-colour": "blue"})
	e.Upload(t, e.AdminKey, sid, "n/a", []byte("two"), nil)
	e.Upload(t, e.AdminKey, sid, "n/big", bytes.Repeat([]byte("b"), 200<<10), nil)
	r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "n/a")})
	natWant(t, "deletefile", r, http.StatusOK)
}

// esS3: puts, a copy, a completed and an aborted multipart upload, a
// delete marker, a version removed, a null version, a multi-object delete.
func esS3(t *testing.T, e *Env) {
	ctx := context.Background()
	c := e.S3(t, e.AdminKeyID, e.AdminKey)
	bucket := e.Bucket(t)
	put := func(key, body string) *s3.PutObjectOutput {
		t.Helper()
		out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: strings.NewReader(body),
			Metadata: map[string]string{"origin": "s3"}})
		if err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
		return out
	}
	first := put("a", "one")
	put("a", "two")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("b"), CopySource: aws.String(bucket + "/a")})
	must("CopyObject", err)

	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("mp"), ContentType: aws.String("text/plain")})
	must("CreateMultipartUpload", err)
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(bytes.Repeat([]byte("p"), 1000))})
	must("UploadPart", err)
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
	must("CompleteMultipartUpload", err)
	up, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("mp2")})
	must("CreateMultipartUpload", err)
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: aws.String("mp2"), UploadId: up.UploadId})
	must("AbortMultipartUpload", err)

	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("b")})
	must("DeleteObject (a delete marker)", err)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("a"), VersionId: first.VersionId})
	must("DeleteObject with a versionId", err)
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	must("PutBucketVersioning", err)
	put("null", "a null version")
	_, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("null")}, {Key: aws.String("mp")}}}})
	must("DeleteObjects", err)
}

// esSwift: auth (a token), a container with metadata and a quota, puts,
// metadata, both copies, a static large object, a bulk delete, a delete
// and account metadata.
func esSwift(t *testing.T, e *Env) {
	acct, admin := e.Account(t)
	tok := swToken(t, e, admin)
	cont := swName(t)
	swWant(t, "PUT container", swDo(t, e, http.MethodPut, swPath(acct, cont), tok,
		map[string]string{"X-Container-Meta-Colour": "green"}, nil), http.StatusCreated)
	swWant(t, "POST container", swDo(t, e, http.MethodPost, swPath(acct, cont), tok,
		map[string]string{"X-Container-Meta-Quota-Bytes": "1000000", "X-Container-Read": ".r:*"}, nil), http.StatusNoContent)
	swWant(t, "PUT object", swDo(t, e, http.MethodPut, swPath(acct, cont, "o"), tok,
		map[string]string{"X-Object-Meta-Colour": "red", "Cache-Control": "max-age=60", "X-Delete-After": "86400"},
		strings.NewReader("swift object")), http.StatusCreated)
	swWant(t, "POST object", swDo(t, e, http.MethodPost, swPath(acct, cont, "o"), tok,
		map[string]string{"X-Object-Meta-Colour": "blue"}, nil), http.StatusAccepted)
	swWant(t, "COPY", swDo(t, e, "COPY", swPath(acct, cont, "o"), tok,
		map[string]string{"Destination": cont + "/o2"}, nil), http.StatusCreated)
	swWant(t, "PUT X-Copy-From", swDo(t, e, http.MethodPut, swPath(acct, cont, "o3"), tok,
		map[string]string{"X-Copy-From": cont + "/o", "X-Fresh-Metadata": "true"}, strings.NewReader("")), http.StatusCreated)
	segs := slSegs(t, e, tok, acct, cont, "seg", 7, 300, 200)
	swWant(t, "PUT SLO", slPutSLO(t, e, tok, acct, cont, "slo", slEntries(segs...), nil), http.StatusCreated)
	swWant(t, "bulk delete", swDo(t, e, http.MethodPost, swPath(acct)+"?bulk-delete=true", tok,
		map[string]string{"Accept": "application/json", "Content-Type": "text/plain"},
		strings.NewReader(cont+"/o2\n"+cont+"/o3\n")), http.StatusOK)
	swWant(t, "DELETE object", swDo(t, e, http.MethodDelete, swPath(acct, cont, "o"), tok, nil, nil), http.StatusNoContent)
	swWant(t, "POST account", swDo(t, e, http.MethodPost, swPath(acct), tok,
		map[string]string{"X-Account-Meta-Owner": "ops", "X-Account-Meta-Quota-Bytes": "50000000"}, nil), http.StatusNoContent)
	// a second account's container of the same name: its own service,
	// created by a service.created.v2 event (its id is not its name)
	acct2, admin2 := e.Account(t)
	swWant(t, "PUT the same container name in another account", swDo(t, e, http.MethodPut, swPath(acct2, cont), swToken(t, e, admin2),
		nil, nil), http.StatusCreated)
}

// esAdmin: the native admin functions: services, quotas, keys, feed
// credentials, accounts.
func esAdmin(t *testing.T, e *Env) {
	sid := e.WithService(t)
	e.Admin(t, "serviceupdate", map[string]any{"id": sid, "name": "Renamed", "keep_versions": "720h",
		"quota_bytes": 1 << 30, "quota_count": 1000}, http.StatusOK)
	k := e.NewKey(t, map[string]string{sid: "write"})
	e.Admin(t, "keyrevoke", map[string]any{"id": k.ID}, http.StatusOK)
	var fc struct {
		User string `json:"user"`
	}
	e.Admin(t, "feedcredcreate", map[string]any{"name": "schema workload"}, http.StatusCreated).JSON(t, &fc)
	e.Admin(t, "feedcredrevoke", map[string]any{"user": fc.User}, http.StatusOK)
	acct := uniqueName(t, "a", 64)
	if len(acct) > 64 {
		acct = strings.TrimRight(acct[:64], "-")
	}
	e.Admin(t, "accountcreate", map[string]any{"id": acct, "name": "Temporary"}, http.StatusCreated)
	e.Admin(t, "accountupdate", map[string]any{"id": acct, "name": "Still temporary", "quota_bytes": 1 << 20}, http.StatusOK)
	e.Admin(t, "accountdelete", map[string]any{"id": acct}, http.StatusOK)
	gone := e.WithService(t)
	e.Admin(t, "servicedelete", map[string]any{"id": gone}, http.StatusOK)
}

// esCache: a cache service in front of a storage service, filled once and
// flushed (service.created with cache settings, cache.flushed.v1).
func esCache(t *testing.T, e *Env) {
	src := e.WithService(t)
	e.Upload(t, e.AdminKey, src, "c/1", []byte("cached"), nil)
	edge := uniqueName(t, "c", 63)
	e.Admin(t, "servicecreate", map[string]any{"id": edge, "type": "cache", "source": map[string]string{"service": src},
		"source_path": "c", "expire_unused": "24h", "max_bytes": 1 << 20}, http.StatusCreated)
	e.Admin(t, "serviceupdate", map[string]any{"id": edge, "refresh": "10m"}, http.StatusOK)
	natWant(t, "getfile on the cache", e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", edge, "path", "1")}), http.StatusOK)
	natWant(t, "flush", e.Do(t, Req{Method: http.MethodPost, Fn: "flush", Key: e.AdminKey, Query: Q("sid", edge)}), http.StatusOK)
}

// esRepair makes r's scrubber repair a damaged blob of a replica from
// its primary p (blob.repaired.v1).
func esRepair(t *testing.T, p, r *Env) {
	sid := p.WithService(t)
	rpAttach(t, r, "repair-primary", p.URL, rpReadKey(t, p, "", sid), sid, sid, "")
	body := bytes.Repeat([]byte("repaired "), 20000) // past the inline threshold: a blob
	p.Upload(t, p.AdminKey, sid, "damaged", body, nil)
	rpWaitSync(t, p, sid, r, sid)
	itDamageBlob(t, r, body, itFlip)
	if n, err := r.Srv.Scrubber.ScrubOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("scrub pass on the replica: %d damaged, %v", n, err)
	}
}

// esReplica starts a second server with a replica of a service of p,
// follows it, promotes it, changes both sides and follows again, so the
// histories diverge and the replica resynchronises; a spare source is
// made and deleted. It returns the replica's server.
func esReplica(t *testing.T, p *Env) *Env {
	r := StartLocal(t, "starts a replica server beside the primary")
	sid := p.WithService(t)
	key := p.NewKey(t, map[string]string{sid: "read"})
	r.Admin(t, "sourcecreate", map[string]any{"name": "primary", "url": p.URL, "key": key.Value}, http.StatusCreated)
	r.Admin(t, "sourcecreate", map[string]any{"name": "spare", "url": p.URL, "key": key.Value}, http.StatusCreated)
	r.Admin(t, "sourcedelete", map[string]any{"name": "spare"}, http.StatusOK)
	r.Admin(t, "servicecreate", map[string]any{"id": sid, "replica": map[string]string{"source": "primary", "sid": sid}}, http.StatusCreated)
	p.Upload(t, p.AdminKey, sid, "r/1", []byte("first"), nil)
	p.Upload(t, p.AdminKey, sid, "r/2", []byte("second"), nil)
	esWaitFor(t, r, "the replicated r/2", func(ev *schema.Event) bool { return ev.Service == sid && ev.Path == "r/2" })

	// after the failover both sides write a file and delete it again: the
	// same files, different histories of the same length
	r.Admin(t, "serviceupdate", map[string]any{"id": sid, "promote": true}, http.StatusOK)
	for _, side := range []*Env{r, p} {
		side.Upload(t, side.AdminKey, sid, "r/tmp-"+side.Config.Name, []byte("after the failover"), nil)
		d := side.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: side.AdminKey, Query: Q("sid", sid, "path", "r/tmp-"+side.Config.Name)})
		natWant(t, "deletefile", d, http.StatusOK)
	}
	r.Admin(t, "serviceupdate", map[string]any{"id": sid, "follow": map[string]string{"source": "primary", "sid": sid}}, http.StatusOK)
	esWaitFor(t, r, "service.resynced.v1", func(ev *schema.Event) bool {
		return ev.Type == schema.TypeServiceResynced && ev.Service == sid
	})
	return r
}
