package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// The operations the generator knows, in the order results are reported.
const (
	OpPut    = "put"
	OpGet    = "get"
	OpList   = "list"
	OpDelete = "delete"
	OpMixed  = "mixed" // Options.Op for a run driven by Options.Mix
)

var allOps = []string{OpPut, OpGet, OpList, OpDelete}

// Target is one S3 endpoint.
type Target struct {
	Name      string // how results name it; the endpoint's host when empty
	Endpoint  string // base URL, e.g. http://127.0.0.1:8700
	AccessKey string
	SecretKey string
	Bucket    string // overrides Options.Bucket when set
}

// Options describes a run: one workload, played against every target in
// turn.
type Options struct {
	Targets      []Target
	Bucket       string
	CreateBucket bool   // CreateBucket first; BucketAlreadyOwnedByYou is fine
	Region       string // signing region; us-east-1 when empty

	// The workload: a single Op, or Mix (op -> weight) when Mix is set
	// (Op then is "" or "mixed").
	Op  string
	Mix map[string]int

	Size        int           // bytes per object
	Concurrency int           // operations at once
	Duration    time.Duration // the run ends after Duration or Count operations, whichever comes first
	Count       int           // operations in all, done and failed (0: no limit)
	Objects     int           // key space; 1000 when 0
	Prefix      string        // keys are Prefix + an 8-digit number

	// NoFill skips writing the key space before get, delete, list and
	// mixed runs (it already holds Objects objects of Size bytes).
	NoFill bool
	// Timeout bounds one operation (0: only the run's context does).
	Timeout time.Duration
	// SDKChecksums keeps the SDK's default checksums (a CRC32 of every
	// PUT body, response validation); off, checksums are computed only
	// when an operation requires them, so the figures measure the server.
	SDKChecksums bool
	// Insecure skips TLS certificate verification.
	Insecure bool
	// Log, when set, is told what a run is doing (bucket creation, fill,
	// the measured phase). It is never given results.
	Log func(format string, args ...any)
}

// Result is one target's figures for one op. Ops counts operations that
// succeeded, Errors those that failed; an operation cut off by the end of
// the run is neither. OpsPerS and MiBPerS are over DurationS, the wall
// time of the measured phase; latency percentiles are of the successful
// operations.
type Result struct {
	Target      string   `json:"target"`
	Op          string   `json:"op"`
	Ops         int      `json:"ops"`
	Errors      int      `json:"errors"`
	ErrorSample []string `json:"error_sample,omitempty"` // the first few distinct error messages
	Bytes       int64    `json:"bytes"`                  // object bytes sent (put) or received (get)
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

// maxSamples is how many distinct error messages a Result keeps.
const maxSamples = 5

// Run plays the workload against every target in turn and returns one
// Result per target and op (ops in the order put, get, list, delete).
// Failed operations are counted in the results, not returned as errors;
// the error reports targets that could not be set up (bucket creation,
// the fill), which are skipped, and a cancelled ctx, which ends the run
// with the results measured so far.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	out := []Result{}
	var errs []error
	for _, t := range o.Targets {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		rs, err := runTarget(ctx, o, t)
		out = append(out, rs...)
		if err != nil {
			errs = append(errs, fmt.Errorf("bench: target %s: %w", t.Name, err))
		}
	}
	return out, errors.Join(errs...)
}

// check validates o and fills in its defaults. Targets is copied, so the
// caller's slice is left alone.
func (o *Options) check() error {
	if len(o.Targets) == 0 {
		return errors.New("bench: no target (--endpoint or --target)")
	}
	if o.Concurrency <= 0 || o.Size < 0 || o.Count < 0 || o.Objects < 0 || (o.Duration <= 0 && o.Count == 0) {
		return errors.New("bench: need a positive concurrency, a size >= 0 and a duration or count")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Objects == 0 {
		o.Objects = 1000
	}
	if o.Mix == nil {
		if !slices.Contains(allOps, o.Op) {
			return fmt.Errorf("bench: unknown op %q (put, get, list, delete, or mixed with a mix)", o.Op)
		}
		o.Mix = map[string]int{o.Op: 1}
	} else if o.Op != "" && o.Op != OpMixed {
		return fmt.Errorf("bench: op %q and a mix: choose one", o.Op)
	}
	total := 0
	for op, w := range o.Mix {
		if w < 0 || !slices.Contains(allOps, op) {
			return fmt.Errorf("bench: bad mix entry %s=%d", op, w)
		}
		total += w
	}
	if total == 0 {
		return errors.New("bench: the mix has no positive weight")
	}
	names := map[string]bool{}
	o.Targets = slices.Clone(o.Targets)
	for i, t := range o.Targets {
		if t.Endpoint == "" {
			return fmt.Errorf("bench: target %d has no endpoint", i+1)
		}
		if t.Name == "" {
			o.Targets[i].Name = hostOf(t.Endpoint)
		}
		if names[o.Targets[i].Name] {
			return fmt.Errorf("bench: two targets are named %q (name=...)", o.Targets[i].Name)
		}
		names[o.Targets[i].Name] = true
		if t.AccessKey == "" || t.SecretKey == "" {
			return fmt.Errorf("bench: target %s has no credentials (access-key= and secret-key=, --access-key and --secret-key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", o.Targets[i].Name)
		}
		if t.Bucket == "" && o.Bucket == "" {
			return fmt.Errorf("bench: target %s has no bucket (--bucket)", o.Targets[i].Name)
		}
	}
	return nil
}

func hostOf(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return endpoint
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// Client returns the SDK client the generator uses for a target:
// path-style, static credentials, retries off (errors are counted, not
// hidden), checksums only when required unless o.SDKChecksums, and an
// HTTP/1.1 connection pool as large as o.Concurrency.
func Client(o Options, t Target) *s3.Client {
	c, _ := newClient(o, t)
	return c
}

func newClient(o Options, t Target) (*s3.Client, *http.Transport) {
	conns := max(o.Concurrency, 1)
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	if o.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	region := o.Region
	if region == "" {
		region = "us-east-1"
	}
	opts := s3.Options{
		BaseEndpoint:               aws.String(t.Endpoint),
		UsePathStyle:               true,
		Region:                     region,
		Credentials:                credentials.NewStaticCredentialsProvider(t.AccessKey, t.SecretKey, ""),
		HTTPClient:                 &http.Client{Transport: tr},
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if o.SDKChecksums {
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		opts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	}
	return s3.New(opts), tr
}

// stats is one worker's record of one op; workers keep their own and
// they are merged at the end, so the hot loop takes no lock.
type stats struct {
	lat    []time.Duration
	bytes  int64
	errs   int
	sample []string
}

func (s *stats) add(d time.Duration, n int64, err error) {
	if err != nil {
		s.errs++
		if msg := errText(err); len(s.sample) < maxSamples && !slices.Contains(s.sample, msg) {
			s.sample = append(s.sample, msg)
		}
		return
	}
	s.lat = append(s.lat, d)
	s.bytes += n
}

func (s *stats) merge(o *stats) {
	s.lat = append(s.lat, o.lat...)
	s.bytes += o.bytes
	s.errs += o.errs
	for _, m := range o.sample {
		if len(s.sample) < maxSamples && !slices.Contains(s.sample, m) {
			s.sample = append(s.sample, m)
		}
	}
}

// errText is an error's message without what changes from one request to
// the next (URLs, request ids), so that distinct messages are distinct
// causes: "Code (status): message" for an S3 error, the transport's error
// otherwise.
func errText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg := ae.ErrorCode(), ae.ErrorMessage()
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			code = fmt.Sprintf("%s (%d)", code, re.HTTPStatusCode())
		}
		if msg == "" {
			return code
		}
		return code + ": " + msg
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Err != nil {
		return fmt.Sprintf("HTTP %d: %v", re.HTTPStatusCode(), re.Err)
	}
	return err.Error()
}

// runTarget sets a target up and measures the workload against it.
func runTarget(ctx context.Context, o Options, t Target) ([]Result, error) {
	bucket := o.Bucket
	if t.Bucket != "" {
		bucket = t.Bucket
	}
	c, tr := newClient(o, t)
	defer tr.CloseIdleConnections()
	if o.CreateBucket {
		o.logf("%s: creating bucket %s", t.Name, bucket)
		in := &s3.CreateBucketInput{Bucket: &bucket}
		if o.Region != "us-east-1" {
			in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(o.Region)}
		}
		_, err := c.CreateBucket(ctx, in)
		var owned *types.BucketAlreadyOwnedByYou
		if err != nil && !errors.As(err, &owned) {
			return nil, fmt.Errorf("create bucket %s: %s", bucket, errText(err))
		}
	}
	body := make([]byte, o.Size)
	_, _ = rand.Read(body)
	key := func(i int) string { return fmt.Sprintf("%s%08d", o.Prefix, i) }

	var ops []string // the ops with a positive weight, in report order
	total := 0
	for _, op := range allOps {
		if w := o.Mix[op]; w > 0 {
			ops = append(ops, op)
			total += w
		}
	}
	onlyList := len(ops) == 1 && ops[0] == OpList
	if !o.NoFill && (o.Mix[OpGet] > 0 || o.Mix[OpDelete] > 0 || onlyList) {
		o.logf("%s: writing %d objects of %d bytes to s3://%s/%s (not measured)", t.Name, o.Objects, o.Size, bucket, o.Prefix)
		if err := fill(ctx, c, bucket, body, o.Objects, o.Concurrency, key); err != nil {
			return nil, fmt.Errorf("fill: %w", err)
		}
	}
	// A delete-only run deletes each key once, in order, and so ends
	// after Objects deletes at most. In a mixed run with deletes a GET can
	// find its key gone: NoSuchKey is then an answer, not an error.
	deleteOnce := len(ops) == 1 && ops[0] == OpDelete
	missingOK := o.Mix[OpDelete] > 0

	runCtx := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	o.logf("%s: %s", t.Name, describe(o, ops))
	var issued atomic.Int64
	perWorker := make([][]stats, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Concurrency {
		perWorker[w] = make([]stats, len(ops))
		wg.Add(1)
		go func(st []stats, rng *mrand.Rand) {
			defer wg.Done()
			for runCtx.Err() == nil {
				n := int(issued.Add(1))
				if o.Count > 0 && n > o.Count {
					return
				}
				var i int // index into ops
				var k string
				if deleteOnce {
					if n > o.Objects {
						return
					}
					k = key(n - 1)
				} else {
					i = pick(rng, ops, o.Mix, total)
					k = key(rng.IntN(o.Objects))
				}
				opCtx, cancel := runCtx, context.CancelFunc(func() {})
				if o.Timeout > 0 {
					opCtx, cancel = context.WithTimeout(runCtx, o.Timeout)
				}
				t0 := time.Now()
				nb, err := do(opCtx, c, ops[i], bucket, k, o.Prefix, body, missingOK)
				d := time.Since(t0)
				cancel()
				if err != nil && runCtx.Err() != nil {
					return // cut off by the end of the run: not the server's doing
				}
				st[i].add(d, nb, err)
			}
		}(perWorker[w], mrand.New(mrand.NewPCG(uint64(w), 0x63616972)))
	}
	wg.Wait()
	elapsed := time.Since(start)
	out := make([]Result, 0, len(ops))
	for i, op := range ops {
		var s stats
		for _, st := range perWorker {
			s.merge(&st[i])
		}
		out = append(out, summarize(t.Name, op, &s, elapsed, o))
	}
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	return out, nil
}

func describe(o Options, ops []string) string {
	what := ops[0]
	if len(ops) > 1 {
		what = "mixed"
		for _, op := range ops {
			what += fmt.Sprintf(" %s=%d", op, o.Mix[op])
		}
	}
	limit := fmt.Sprintf("for %s", o.Duration)
	switch {
	case o.Count > 0 && o.Duration > 0:
		limit = fmt.Sprintf("%d ops or %s", o.Count, o.Duration)
	case o.Count > 0:
		limit = fmt.Sprintf("%d ops", o.Count)
	}
	return fmt.Sprintf("%s, %d-byte objects, %d keys, concurrency %d, %s", what, o.Size, o.Objects, o.Concurrency, limit)
}

// pick draws an index into ops by weight.
func pick(rng *mrand.Rand, ops []string, mix map[string]int, total int) int {
	if len(ops) == 1 {
		return 0
	}
	n := rng.IntN(total)
	for i, op := range ops {
		if n < mix[op] {
			return i
		}
		n -= mix[op]
	}
	return len(ops) - 1
}

// do runs one operation and returns the object bytes it moved.
func do(ctx context.Context, c *s3.Client, op, bucket, key, prefix string, body []byte, missingOK bool) (int64, error) {
	switch op {
	case OpPut:
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))})
		if err != nil {
			return 0, err
		}
		return int64(len(body)), nil
	case OpGet:
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			var nk *types.NoSuchKey
			if missingOK && errors.As(err, &nk) {
				return 0, nil
			}
			return 0, err
		}
		n, err := io.Copy(io.Discard, out.Body)
		out.Body.Close()
		return n, err
	case OpList:
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, MaxKeys: aws.Int32(100)})
		return 0, err
	case OpDelete:
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
		return 0, err
	}
	return 0, fmt.Errorf("unknown op %q", op)
}

// fill writes every key of the key space once; the first failure stops it.
func fill(ctx context.Context, c *s3.Client, bucket string, body []byte, n, conc int, key func(int) string) error {
	var next atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := do(ctx, c, OpPut, bucket, key(i), "", body, false); err != nil {
					err = fmt.Errorf("put %s: %s", key(i), errText(err))
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

func summarize(target, op string, s *stats, elapsed time.Duration, o Options) Result {
	r := Result{Target: target, Op: op, Ops: len(s.lat), Errors: s.errs, ErrorSample: s.sample, Bytes: s.bytes,
		Size: o.Size, Concurrency: o.Concurrency, DurationS: elapsed.Seconds()}
	if len(s.lat) == 0 || elapsed <= 0 {
		return r
	}
	slices.Sort(s.lat)
	r.OpsPerS = float64(len(s.lat)) / elapsed.Seconds()
	r.MiBPerS = float64(s.bytes) / (1 << 20) / elapsed.Seconds()
	r.P50ms, r.P99ms, r.P999ms = ms(Percentile(s.lat, 0.50)), ms(Percentile(s.lat, 0.99)), ms(Percentile(s.lat, 0.999))
	r.MaxMs = ms(s.lat[len(s.lat)-1])
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
