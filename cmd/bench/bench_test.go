package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"4096": 4096, "4KiB": 4096, "4kib": 4096, "4k": 4096, "4K": 4096, "4KB": 4096,
		"1MiB": 1 << 20, "2M": 2 << 20, "1.5MiB": 3 << 19, "1GiB": 1 << 30, "512B": 512, " 8 KiB ": 8192, "0": 0, "5GiB": 5 << 30} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "4XB", "KiB", "1.5B", "6GiB", "NaN", "Inf"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestParseMix(t *testing.T) {
	t.Parallel()
	m, err := ParseMix("put=20, GET=70,list=5,delete=5")
	if err != nil || !maps.Equal(m, map[string]int{"put": 20, "get": 70, "list": 5, "delete": 5}) {
		t.Fatalf("ParseMix = %v, %v", m, err)
	}
	if m, err := ParseMix("get=1"); err != nil || !maps.Equal(m, map[string]int{"get": 1}) {
		t.Fatalf("ParseMix(get=1) = %v, %v", m, err)
	}
	for _, bad := range []string{"put", "put=x", "put=-1", "head=1", "put=0,get=0", "put=1,put=2", ""} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tg, err := ParseTarget("name=minio,endpoint=http://127.0.0.1:9000,access-key=a,secret-key=s/x+y=,bucket=b")
	if err != nil || tg != (Target{Name: "minio", Endpoint: "http://127.0.0.1:9000", AccessKey: "a", SecretKey: "s/x+y=", Bucket: "b"}) {
		t.Fatalf("ParseTarget = %+v, %v", tg, err)
	}
	for _, bad := range []string{"name=x", "endpoint=http://a,color=red", "endpoint=http://a,name", "endpoint=a,endpoint=b"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	env := map[string]string{"AWS_ACCESS_KEY_ID": "envid", "AWS_SECRET_ACCESS_KEY": "envsecret"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer

	f, err := ParseArgs([]string{"--endpoint", "http://a:1", "--name", "cairn",
		"--target", "name=minio,endpoint=http://b:2,access-key=k2,secret-key=s2,bucket=other",
		"--target", "endpoint=http://c:3",
		"--size", "1MiB", "--concurrency", "4", "--count", "500", "--objects", "50", "--mix", "put=1,get=3", "--json"}, getenv, &out)
	if err != nil {
		t.Fatal(err, out.String())
	}
	want := []Target{{Name: "cairn", Endpoint: "http://a:1", AccessKey: "envid", SecretKey: "envsecret"},
		{Name: "minio", Endpoint: "http://b:2", AccessKey: "k2", SecretKey: "s2", Bucket: "other"},
		{Endpoint: "http://c:3", AccessKey: "envid", SecretKey: "envsecret"}}
	if !slices.Equal(f.Targets, want) {
		t.Errorf("targets %+v", f.Targets)
	}
	if f.Size != 1<<20 || f.Concurrency != 4 || f.Count != 500 || f.Duration != 0 || f.Objects != 50 || !f.JSON ||
		f.Op != OpMixed || !maps.Equal(f.Mix, map[string]int{"put": 1, "get": 3}) || f.Bucket != "bench" || f.Region != "us-east-1" {
		t.Errorf("flags %+v", f)
	}

	env["CAIRN_S3_ENDPOINT"] = "http://env:8700"
	f, err = ParseArgs([]string{"--op", "GET"}, getenv, &out)
	if err != nil || len(f.Targets) != 1 || f.Targets[0].Endpoint != "http://env:8700" || f.Op != OpGet || f.Mix != nil ||
		f.Duration != 10*time.Second || f.Size != 4096 || f.Concurrency != 16 || f.Timeout != time.Minute {
		t.Errorf("defaults from the environment: %+v, %v", f, err)
	}
	if f, err = ParseArgs([]string{"--op", "mixed"}, getenv, &out); err != nil || len(f.Mix) != 4 {
		t.Errorf("--op mixed takes the default mix: %+v, %v", f.Mix, err)
	}
	delete(env, "CAIRN_S3_ENDPOINT")

	for _, bad := range [][]string{
		{}, // no target
		{"--endpoint", "http://a", "--op", "head"},
		{"--endpoint", "http://a", "--op", "put", "--mix", "get=1"},
		{"--endpoint", "http://a", "--size", "4XB"},
		{"--endpoint", "http://a", "--target", "endpoint=http://a"}, // both named "a"
		{"--endpoint", "http://a", "--concurrency", "0"},
		{"--endpoint", "http://a", "--bucket", ""},
		{"--endpoint", "http://a", "put"},
		{"--target", "name=x"},
	} {
		if _, err := ParseArgs(bad, getenv, &out); err == nil {
			t.Errorf("ParseArgs(%q) accepted", bad)
		}
	}
	out.Reset()
	if _, err := ParseArgs([]string{"-h"}, getenv, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "usage: cairn bench") ||
		!strings.Contains(out.String(), "-fail-on-error") {
		t.Errorf("-h: %v\n%s", err, out.String())
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var lat []time.Duration
	for i := 1; i <= 1000; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0: time.Millisecond, 0.001: time.Millisecond, 0.5: 500 * time.Millisecond,
		0.99: 990 * time.Millisecond, 0.999: 999 * time.Millisecond, 1: time.Second} {
		if got := Percentile(lat, p); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", p, got, want)
		}
	}
	// Few samples: p999 of 10 is the largest; p50 of 2 the smaller.
	if got := Percentile(lat[:10], 0.999); got != 10*time.Millisecond {
		t.Errorf("p999 of 10 = %v", got)
	}
	if got := Percentile(lat[:2], 0.5); got != time.Millisecond {
		t.Errorf("p50 of 2 = %v", got)
	}
	if Percentile(lat[:1], 0.99) != time.Millisecond || Percentile(nil, 0.5) != 0 {
		t.Error("one or no sample")
	}
}

func byOp(t *testing.T, rs []Result) map[string]Result {
	t.Helper()
	m := map[string]Result{}
	for _, r := range rs {
		k := r.Target + "/" + r.Op
		if _, dup := m[k]; dup {
			t.Fatalf("two results for %s", k)
		}
		m[k] = r
	}
	return m
}

// Every 10th PUT fails: the runner counts 90 done, 10 failed, with the S3
// code, sends each operation once (no retries) and no checksum.
func TestRun_PutErrorsCounted(t *testing.T) {
	t.Parallel()
	stub, url := newStub(t, 10)
	rs, err := Run(context.Background(), Options{Targets: []Target{{Name: "stub", Endpoint: url, AccessKey: "a", SecretKey: "s"}},
		Bucket: "b", CreateBucket: true, Op: OpPut, Size: 1000, Concurrency: 4, Count: 100, Objects: 30, Prefix: "p/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("results %+v", rs)
	}
	r := rs[0]
	if r.Target != "stub" || r.Op != OpPut || r.Ops != 90 || r.Errors != 10 || r.Bytes != 90*1000 || r.Size != 1000 || r.Concurrency != 4 {
		t.Fatalf("result %+v", r)
	}
	if !slices.Equal(r.ErrorSample, []string{"InternalError (500): injected"}) {
		t.Errorf("error sample %q", r.ErrorSample)
	}
	if r.OpsPerS <= 0 || r.DurationS <= 0 || r.MiBPerS <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms || r.P999ms < r.P99ms || r.MaxMs < r.P999ms {
		t.Errorf("figures %+v", r)
	}
	if got := r.MiBPerS * r.DurationS * (1 << 20); got < 89_999 || got > 90_001 {
		t.Errorf("MiB/s × duration = %.0f bytes, want 90000", got)
	}
	if n := stub.count("PUT object"); n != 100 {
		t.Errorf("the server saw %d PUTs, want 100 (retries must be off)", n)
	}
	if n := stub.objects("b"); n == 0 || n > 30 {
		t.Errorf("%d objects in the bucket, want 1..30", n)
	}
	if stub.checksums != 0 {
		t.Errorf("%d PUTs carried an SDK checksum by default", stub.checksums)
	}
}

// A get run fills the key space first (not counted); two targets on the
// same server and bucket show CreateBucket's BucketAlreadyOwnedByYou is
// fine and that each target gets the same workload.
func TestRun_GetTwoTargets(t *testing.T) {
	t.Parallel()
	stub, url := newStub(t, 0)
	rs, err := Run(context.Background(), Options{
		Targets: []Target{{Name: "one", Endpoint: url, AccessKey: "a", SecretKey: "s"}, {Name: "two", Endpoint: url, AccessKey: "a", SecretKey: "s"}},
		Bucket:  "b", CreateBucket: true, Op: OpGet, Size: 3000, Concurrency: 8, Count: 200, Objects: 20, Prefix: "g/"})
	if err != nil {
		t.Fatal(err)
	}
	m := byOp(t, rs)
	for _, name := range []string{"one", "two"} {
		r := m[name+"/get"]
		if r.Ops != 200 || r.Errors != 0 || r.Bytes != 200*3000 || r.MiBPerS <= 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if len(rs) != 2 || rs[0].Target != "one" || rs[1].Target != "two" {
		t.Errorf("results out of order: %+v", rs)
	}
	if stub.count("PUT bucket") != 2 || stub.count("PUT object") != 40 || stub.count("GET object") != 400 || stub.objects("b") != 20 {
		t.Errorf("server saw %v", stub.requests)
	}
}

// A delete run deletes each key once and ends when the key space is
// empty, whatever its duration.
func TestRun_DeleteEachKeyOnce(t *testing.T) {
	t.Parallel()
	stub, url := newStub(t, 0)
	rs, err := Run(context.Background(), Options{Targets: []Target{{Endpoint: url, AccessKey: "a", SecretKey: "s"}}, Bucket: "b", CreateBucket: true,
		Op: OpDelete, Size: 10, Concurrency: 6, Duration: time.Hour, Objects: 50})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[0]; r.Ops != 50 || r.Errors != 0 || r.Bytes != 0 || r.MiBPerS != 0 || r.Target != strings.TrimPrefix(url, "http://") {
		t.Errorf("result %+v", r)
	}
	if stub.count("DELETE object") != 50 || stub.objects("b") != 0 {
		t.Errorf("server saw %v, %d objects left", stub.requests, stub.objects("b"))
	}
}

// A mixed run: each op reported apart; the ops add up to the count; a GET
// of a key a DELETE removed is an answer, not an error.
func TestRun_Mixed(t *testing.T) {
	t.Parallel()
	stub, url := newStub(t, 0)
	rs, err := Run(context.Background(), Options{Targets: []Target{{Name: "s", Endpoint: url, AccessKey: "a", SecretKey: "s"}}, Bucket: "b", CreateBucket: true,
		Mix: map[string]int{OpPut: 2, OpGet: 5, OpList: 1, OpDelete: 2}, Size: 100, Concurrency: 5, Count: 1000, Objects: 10})
	if err != nil {
		t.Fatal(err)
	}
	m := byOp(t, rs)
	total := 0
	for _, op := range allOps {
		r := m["s/"+op]
		if r.Ops == 0 || r.Errors != 0 {
			t.Errorf("%s: %+v", op, r)
		}
		total += r.Ops
	}
	if total != 1000 || len(rs) != 4 || rs[0].Op != OpPut || rs[3].Op != OpDelete {
		t.Errorf("%d ops in all: %+v", total, rs)
	}
	if m["s/put"].Bytes != int64(m["s/put"].Ops)*100 || m["s/get"].Bytes > int64(m["s/get"].Ops)*100 || m["s/list"].Bytes != 0 {
		t.Errorf("bytes: %+v", rs)
	}
	if n := stub.count("PUT object") + stub.count("GET object") + stub.count("LIST") + stub.count("DELETE object"); n != 1000+10 {
		t.Errorf("the server saw %d object requests, want 1000 and the 10 of the fill", n)
	}
}

// A timed run stops at its deadline without counting the operations it
// cut off as errors. A list run fills first, so there is something to list.
func TestRun_Duration(t *testing.T) {
	t.Parallel()
	stub, url := newStub(t, 0)
	rs, err := Run(context.Background(), Options{Targets: []Target{{Name: "s", Endpoint: url, AccessKey: "a", SecretKey: "s"}}, Bucket: "b", CreateBucket: true,
		Op: OpList, Size: 1, Concurrency: 4, Duration: 200 * time.Millisecond, Objects: 120})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Ops == 0 || r.Errors != 0 || r.DurationS < 0.2 || stub.objects("b") != 120 || stub.count("LIST") < r.Ops {
		t.Errorf("result %+v; server %v", r, stub.requests)
	}
}

// A target that cannot be set up (its fill fails) is reported and
// skipped; the others still run. A target without the bucket fails every
// operation with NoSuchBucket, each counted.
func TestRun_TargetFailures(t *testing.T) {
	t.Parallel()
	_, bad := newStub(t, 3)
	_, good := newStub(t, 0)
	rs, err := Run(context.Background(), Options{
		Targets: []Target{{Name: "bad", Endpoint: bad, AccessKey: "a", SecretKey: "s"}, {Name: "good", Endpoint: good, AccessKey: "a", SecretKey: "s"}},
		Bucket:  "b", CreateBucket: true, Op: OpGet, Size: 10, Concurrency: 2, Count: 20, Objects: 10})
	if err == nil || !strings.Contains(err.Error(), "target bad: fill: put") || !strings.Contains(err.Error(), "InternalError (500)") {
		t.Errorf("error %v", err)
	}
	if len(rs) != 1 || rs[0].Target != "good" || rs[0].Ops != 20 {
		t.Errorf("results %+v", rs)
	}

	rs, err = Run(context.Background(), Options{Targets: []Target{{Name: "nob", Endpoint: good, Bucket: "missing", AccessKey: "a", SecretKey: "s"}},
		Op: OpPut, Size: 10, Concurrency: 3, Count: 30})
	if err != nil || rs[0].Ops != 0 || rs[0].Errors != 30 || !slices.Equal(rs[0].ErrorSample, []string{"NoSuchBucket (404): no such bucket"}) {
		t.Errorf("no bucket: %+v, %v", rs, err)
	}
}

// An unreachable server fails every operation, each counted once, with
// one readable message for the one cause.
func TestRun_ConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // its port is now closed
	rs, err := Run(context.Background(), Options{Targets: []Target{{Name: "x", Endpoint: srv.URL, AccessKey: "a", SecretKey: "s"}}, Bucket: "b",
		Op: OpPut, Size: 1, Concurrency: 2, Count: 10, Timeout: time.Minute})
	if err != nil || len(rs) != 1 {
		t.Fatalf("%+v, %v", rs, err)
	}
	if r := rs[0]; r.Ops != 0 || r.Errors != 10 || len(r.ErrorSample) != 1 || !strings.Contains(r.ErrorSample[0], "refused") {
		t.Errorf("result %+v", r)
	}
}

func TestSDKChecksums(t *testing.T) {
	t.Parallel()
	stub, url := newStub(t, 0)
	_, err := Run(context.Background(), Options{Targets: []Target{{Endpoint: url, AccessKey: "a", SecretKey: "s"}}, Bucket: "b", CreateBucket: true,
		Op: OpPut, Size: 100, Concurrency: 2, Count: 10, SDKChecksums: true})
	if err != nil {
		t.Fatal(err)
	}
	if stub.checksums != 10 {
		t.Errorf("%d of 10 PUTs carried a checksum with SDKChecksums", stub.checksums)
	}
}

func TestRun_BadOptions(t *testing.T) {
	t.Parallel()
	tg := []Target{{Endpoint: "http://x", AccessKey: "a", SecretKey: "s"}}
	for name, o := range map[string]Options{
		"no target":       {Bucket: "b", Op: OpPut, Concurrency: 1, Count: 1},
		"mixed, no mix":   {Targets: tg, Bucket: "b", Op: OpMixed, Concurrency: 1, Count: 1},
		"op and mix":      {Targets: tg, Bucket: "b", Op: OpPut, Mix: map[string]int{OpGet: 1}, Concurrency: 1, Count: 1},
		"zero mix":        {Targets: tg, Bucket: "b", Mix: map[string]int{OpGet: 0}, Concurrency: 1, Count: 1},
		"no limit":        {Targets: tg, Bucket: "b", Op: OpPut, Concurrency: 1},
		"no bucket":       {Targets: tg, Op: OpPut, Concurrency: 1, Count: 1},
		"no credentials":  {Targets: []Target{{Endpoint: "http://x", AccessKey: "a"}}, Bucket: "b", Op: OpPut, Concurrency: 1, Count: 1},
		"no concurrency":  {Targets: tg, Bucket: "b", Op: OpPut, Count: 1},
		"duplicate names": {Targets: append(tg, tg...), Bucket: "b", Op: OpPut, Concurrency: 1, Count: 1},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// check works on a copy: the caller's targets keep their empty names.
	o := Options{Targets: []Target{{Endpoint: "http://x:1", AccessKey: "a", SecretKey: "s"}}, Bucket: "b", Op: OpPut, Concurrency: 1, Count: 1}
	c := o
	if err := c.check(); err != nil || c.Targets[0].Name != "x:1" || o.Targets[0].Name != "" {
		t.Errorf("check: %v, %+v, %+v", err, c.Targets, o.Targets)
	}
}

// A cancelled context ends the run with what it measured and says so.
func TestRun_Cancelled(t *testing.T) {
	t.Parallel()
	_, url := newStub(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rs, err := Run(ctx, Options{Targets: []Target{{Endpoint: url, AccessKey: "a", SecretKey: "s"}}, Bucket: "b", Op: OpPut, Concurrency: 2, Count: 1000})
	if !errors.Is(err, context.Canceled) || len(rs) != 0 {
		t.Errorf("%+v, %v", rs, err)
	}
}

// Main end to end: flags in, JSON with the stable field names out, and
// --fail-on-error.
func TestMain_JSON(t *testing.T) {
	t.Parallel()
	stub, url := newStub(t, 10)
	getenv := func(k string) string {
		return map[string]string{"CAIRN_S3_ENDPOINT": url, "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "s"}[k]
	}
	var out bytes.Buffer
	args := []string{"--name", "stub", "--bucket", "j", "--create-bucket", "--op", "put", "--size", "2KiB", "--concurrency", "2", "--count", "50", "--json"}
	if err := Main(context.Background(), args, &out, getenv); err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	if err := json.Unmarshal(out.Bytes(), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("%v: %s", err, out.String())
	}
	d := docs[0]
	for _, k := range []string{"target", "op", "ops", "errors", "bytes", "ops_per_s", "mib_per_s", "p50_ms", "p99_ms", "p999_ms", "max_ms", "size", "concurrency", "duration_s", "error_sample"} {
		if _, ok := d[k]; !ok {
			t.Errorf("no %q in %v", k, d)
		}
	}
	if d["target"] != "stub" || d["op"] != "put" || d["ops"] != 45.0 || d["errors"] != 5.0 || d["size"] != 2048.0 || d["concurrency"] != 2.0 {
		t.Errorf("document %v", d)
	}
	if stub.count("PUT object") != 50 {
		t.Errorf("server saw %v", stub.requests)
	}
	out.Reset()
	if err := Main(context.Background(), append(args, "--fail-on-error"), &out, getenv); !errors.Is(err, ErrFailed) || !json.Valid(out.Bytes()) {
		t.Errorf("--fail-on-error: %v; %s", err, out.String())
	}
}

// The text table puts targets side by side per op, relative to the first.
func TestMain_TextComparison(t *testing.T) {
	t.Parallel()
	_, a := newStub(t, 0)
	_, b := newStub(t, 0)
	var out bytes.Buffer
	err := Main(context.Background(), []string{"--target", "name=first,endpoint=" + a, "--target", "name=second,endpoint=" + b,
		"--create-bucket", "--mix", "put=1,get=1", "--count", "40", "--objects", "5", "--concurrency", "2", "--fail-on-error", "--access-key", "a", "--secret-key", "s"}, &out, func(string) string { return "" })
	if err != nil {
		t.Fatal(err, out.String())
	}
	text := out.String()
	var rows []string
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 2 && (f[0] == "first" || f[0] == "second") {
			rows = append(rows, f[0]+" "+f[1]+" "+f[len(f)-1])
		}
	}
	if len(rows) != 4 || rows[0] != "first put 1.00x" || !strings.HasPrefix(rows[1], "second put ") ||
		rows[2] != "first get 1.00x" || !strings.HasPrefix(rows[3], "second get ") ||
		!strings.Contains(text, "vs first") || !strings.Contains(text, "# first: writing 5 objects") {
		t.Errorf("rows %q in\n%s", rows, text)
	}
}

func TestText_Errors(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	Text(&out, []Result{{Target: "t", Op: "put", Ops: 1, Errors: 2, ErrorSample: []string{"SlowDown (503): slow", "InternalError (500): x"}}})
	if s := out.String(); !strings.Contains(s, "t put error: SlowDown (503): slow\n") || strings.Contains(s, "vs ") {
		t.Errorf("%s", s)
	}
	out.Reset()
	if err := JSON(&out, nil); err != nil || strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("no results: %q, %v", out.String(), err)
	}
}
