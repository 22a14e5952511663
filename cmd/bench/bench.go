package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Ops the generator knows.
const (
	OpPut    = "put"
	OpGet    = "get"
	OpList   = "list"
	OpDelete = "delete"
)

// Target is one S3 endpoint.
type Target struct {
	Name      string
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string // overrides Options.Bucket when set
}

// Options describes a run.
type Options struct {
	Targets      []Target
	Bucket       string
	CreateBucket bool
	Region       string
	// Workload: a single op, or a mix of weights (Mix set).
	Op          string
	Mix         map[string]int
	Size        int
	Concurrency int
	Duration    time.Duration // the run ends after Duration or Count ops, whichever first
	Count       int
	Objects     int // key space; get, delete and mixed runs fill it first
	Prefix      string
	// SDKChecksums keeps the SDK's default request checksums (CRC32 on
	// every PUT); off, checksums are computed only when required, so the
	// figures measure the server.
	SDKChecksums bool
}

// Result is one target's figures for one op.
type Result struct {
	Target      string   `json:"target"`
	Op          string   `json:"op"`
	Ops         int      `json:"ops"`
	Errors      int      `json:"errors"`
	ErrorSample []string `json:"error_sample,omitempty"`
	OpsPerS     float64  `json:"ops_per_s"`
	MiBPerS     float64  `json:"mib_per_s"`
	P50ms       float64  `json:"p50_ms"`
	P99ms       float64  `json:"p99_ms"`
	P999ms      float64  `json:"p999_ms"`
	MaxMs       float64  `json:"max_ms"`
	Size        int      `json:"size"`
	Concurrency int      `json:"concurrency"`
	DurationS   float64  `json:"duration_s"`
}

// Run runs the workload against every target in turn.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	var out []Result
	for _, t := range o.Targets {
		rs, err := runTarget(ctx, o, t)
		if err != nil {
			return out, fmt.Errorf("%s: %w", t.Name, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

func (o *Options) check() error {
	if len(o.Targets) == 0 {
		return errors.New("bench: no target (--endpoint or --target)")
	}
	if o.Concurrency <= 0 || o.Size < 0 || (o.Duration <= 0 && o.Count <= 0) {
		return errors.New("bench: need a positive concurrency, a size >= 0 and a duration or count")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Objects <= 0 {
		o.Objects = 1000
	}
	if o.Mix == nil {
		switch o.Op {
		case OpPut, OpGet, OpList, OpDelete:
			o.Mix = map[string]int{o.Op: 1}
		default:
			return fmt.Errorf("bench: unknown op %q (put, get, list, delete or mixed with --mix)", o.Op)
		}
	}
	for op, w := range o.Mix {
		if w < 0 || (op != OpPut && op != OpGet && op != OpList && op != OpDelete) {
			return fmt.Errorf("bench: bad mix entry %s=%d", op, w)
		}
	}
	for i, t := range o.Targets {
		if t.Endpoint == "" {
			return fmt.Errorf("bench: target %d has no endpoint", i)
		}
		if t.Name == "" {
			o.Targets[i].Name = t.Endpoint
		}
	}
	return nil
}

// Client returns the SDK client the generator uses for a target:
// path-style, retries off (errors are counted, not hidden), a connection
// pool as large as the concurrency.
func Client(o Options, t Target) *s3.Client {
	tr := &http.Transport{MaxIdleConns: o.Concurrency * 2, MaxIdleConnsPerHost: o.Concurrency * 2, IdleConnTimeout: time.Minute}
	opts := s3.Options{
		BaseEndpoint: aws.String(t.Endpoint), UsePathStyle: true, Region: o.Region,
		Credentials: credentials.NewStaticCredentialsProvider(t.AccessKey, t.SecretKey, ""),
		HTTPClient:  &http.Client{Transport: tr}, RetryMaxAttempts: 1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if o.SDKChecksums {
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		opts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	}
	return s3.New(opts)
}

// recorder collects one op's latencies and errors.
type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	errs   int
	sample []string
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs++
		msg := errText(err)
		if len(r.sample) < 5 && !slices.Contains(r.sample, msg) {
			r.sample = append(r.sample, msg)
		}
		return
	}
	r.lat = append(r.lat, d)
}

func errText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

func runTarget(ctx context.Context, o Options, t Target) ([]Result, error) {
	bucket := o.Bucket
	if t.Bucket != "" {
		bucket = t.Bucket
	}
	if bucket == "" {
		return nil, errors.New("no bucket (--bucket)")
	}
	c := Client(o, t)
	if o.CreateBucket {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
		var owned *types.BucketAlreadyOwnedByYou
		if err != nil && !errors.As(err, &owned) {
			return nil, fmt.Errorf("create bucket: %w", err)
		}
	}
	body := make([]byte, o.Size)
	_, _ = rand.Read(body)
	key := func(i int) string { return fmt.Sprintf("%s%08d", o.Prefix, i) }
	if o.Mix[OpGet] > 0 || o.Mix[OpDelete] > 0 {
		if err := fill(ctx, c, bucket, body, o.Objects, o.Concurrency, key); err != nil {
			return nil, fmt.Errorf("fill: %w", err)
		}
	}
	ops := make([]string, 0, len(o.Mix))
	for op := range o.Mix {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	total := 0
	for _, op := range ops {
		total += o.Mix[op]
	}
	recs := map[string]*recorder{}
	for _, op := range ops {
		recs[op] = &recorder{}
	}
	runCtx := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var issued atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(seed, 7))
			for runCtx.Err() == nil {
				n := int(issued.Add(1))
				if o.Count > 0 && n > o.Count {
					return
				}
				op := pick(rng, ops, o.Mix, total)
				k := key(rng.IntN(o.Objects))
				t0 := time.Now()
				err := do(runCtx, c, op, bucket, k, o.Prefix, body)
				if runCtx.Err() != nil && err != nil {
					return // cut off by the deadline: not an error of the server
				}
				recs[op].add(time.Since(t0), err)
			}
		}(uint64(w))
	}
	wg.Wait()
	elapsed := time.Since(start)
	var out []Result
	for _, op := range ops {
		out = append(out, summarize(t.Name, op, recs[op], elapsed, o))
	}
	return out, nil
}

func pick(rng *mrand.Rand, ops []string, mix map[string]int, total int) string {
	if len(ops) == 1 {
		return ops[0]
	}
	n := rng.IntN(total)
	for _, op := range ops {
		if n < mix[op] {
			return op
		}
		n -= mix[op]
	}
	return ops[len(ops)-1]
}

func do(ctx context.Context, c *s3.Client, op, bucket, key, prefix string, body []byte) error {
	switch op {
	case OpPut:
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))})
		return err
	case OpGet:
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			var nk *types.NoSuchKey
			if errors.As(err, &nk) {
				return nil // a mixed run deleted it: a valid answer
			}
			return err
		}
		_, err = io.Copy(io.Discard, out.Body)
		out.Body.Close()
		return err
	case OpList:
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, MaxKeys: aws.Int32(100)})
		return err
	case OpDelete:
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
		return err
	}
	return fmt.Errorf("unknown op %q", op)
}

// fill writes every key of the key space once.
func fill(ctx context.Context, c *s3.Client, bucket string, body []byte, n, conc int, key func(int) string) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || first.Load() != nil {
					return
				}
				if err := do(ctx, c, OpPut, bucket, key(i), "", body); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}

func summarize(target, op string, r *recorder, elapsed time.Duration, o Options) Result {
	res := Result{Target: target, Op: op, Ops: len(r.lat), Errors: r.errs, ErrorSample: r.sample,
		Size: o.Size, Concurrency: o.Concurrency, DurationS: elapsed.Seconds()}
	if len(r.lat) == 0 {
		return res
	}
	slices.Sort(r.lat)
	res.OpsPerS = float64(len(r.lat)) / elapsed.Seconds()
	if op == OpPut || op == OpGet {
		res.MiBPerS = res.OpsPerS * float64(o.Size) / (1 << 20)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	res.P50ms, res.P99ms, res.P999ms = ms(Percentile(r.lat, 0.50)), ms(Percentile(r.lat, 0.99)), ms(Percentile(r.lat, 0.999))
	res.MaxMs = ms(r.lat[len(r.lat)-1])
	return res
}

// Percentile returns the p-th quantile (0..1) of sorted latencies, by the
// nearest-rank method.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// ParseSize reads 4096, 4KiB, 4k, 1MiB, 1M, 512B.
func ParseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"k", 1 << 10}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = v, u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(t))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// ParseMix reads "put=20,get=70,list=5,delete=5".
func ParseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		op, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("bad mix entry %q (want op=weight)", part)
		}
		mix[strings.ToLower(op)] = n
	}
	return mix, nil
}

// ParseTarget reads "name=N,endpoint=URL,access-key=ID,secret-key=S[,bucket=B]".
func ParseTarget(s string) (Target, error) {
	var t Target
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return t, fmt.Errorf("bad target field %q", part)
		}
		switch k {
		case "name":
			t.Name = v
		case "endpoint":
			t.Endpoint = v
		case "access-key":
			t.AccessKey = v
		case "secret-key":
			t.SecretKey = v
		case "bucket":
			t.Bucket = v
		default:
			return t, fmt.Errorf("unknown target field %q", k)
		}
	}
	if t.Endpoint == "" {
		return t, errors.New("a target needs endpoint=")
	}
	return t, nil
}

// Text renders results as an aligned table.
func Text(w io.Writer, rs []Result) {
	fmt.Fprintf(w, "%-16s %-6s %8s %7s %10s %8s %9s %9s %9s %9s\n", "target", "op", "ops", "errors", "ops/s", "MiB/s", "p50 ms", "p99 ms", "p999 ms", "max ms")
	for _, r := range rs {
		fmt.Fprintf(w, "%-16s %-6s %8d %7d %10.0f %8.1f %9.2f %9.2f %9.2f %9.2f\n", trunc(r.Target, 16), r.Op, r.Ops, r.Errors,
			r.OpsPerS, r.MiBPerS, r.P50ms, r.P99ms, r.P999ms, r.MaxMs)
		for _, e := range r.ErrorSample {
			fmt.Fprintf(w, "    error: %s\n", e)
		}
	}
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
