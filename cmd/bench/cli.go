package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrFailed is what Main returns under --fail-on-error when operations
// failed (the results are printed first).
var ErrFailed = errors.New("bench: some operations failed")

// UsageHeader opens `cairn bench -h`; the flags follow it.
const UsageHeader = `usage: cairn bench [flags]

Drives one or more S3 endpoints with the AWS SDK (path-style, retries off,
checksums only where required) and prints, per target and op: ops, errors,
ops/s, MiB/s and latency p50/p99/p999/max. Several --target flags run the
same workload against each in turn and print them side by side.

  cairn bench --endpoint http://127.0.0.1:8700 --access-key ID --secret-key S \
              --bucket bench --create-bucket --op put --size 4KiB --duration 10s
  cairn bench --target name=cairn,endpoint=http://127.0.0.1:8700,access-key=ID,secret-key=S \
              --target name=minio,endpoint=http://127.0.0.1:9000,access-key=ID2,secret-key=S2 \
              --bucket bench --create-bucket --mix put=20,get=70,list=5,delete=5 --json

get, delete, list and mixed runs (with get or delete) first write the --objects
keys (not measured; --no-fill skips it); a delete run deletes each key once.
Environment: CAIRN_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
(defaults of --endpoint, --access-key, --secret-key; also the keys of a
--target that names none).

flags:
`

// Flags is a parsed `cairn bench` command line: the run and how to report
// it.
type Flags struct {
	Options
	JSON        bool
	FailOnError bool
}

// targetList collects repeated --target values.
type targetList []Target

func (t *targetList) String() string { return fmt.Sprint(len(*t), " targets") }

func (t *targetList) Set(s string) error {
	tg, err := ParseTarget(s)
	if err != nil {
		return err
	}
	*t = append(*t, tg)
	return nil
}

// ParseArgs reads a `cairn bench` command line (args without "bench");
// getenv supplies the environment defaults. Usage and flag errors are
// written to out; -h gives flag.ErrHelp.
func ParseArgs(args []string, getenv func(string) string, out io.Writer) (Flags, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, UsageHeader)
		fs.PrintDefaults()
	}
	// The environment's values are applied after parsing, so that -h
	// never prints a secret as a default.
	endpoint := fs.String("endpoint", "", "S3 endpoint `URL` of a single target (default $CAIRN_S3_ENDPOINT)")
	name := fs.String("name", "", "name of the --endpoint target in the results (default its host)")
	access := fs.String("access-key", "", "access key `id` (default $AWS_ACCESS_KEY_ID)")
	secret := fs.String("secret-key", "", "secret `key` (default $AWS_SECRET_ACCESS_KEY)")
	var targets targetList
	fs.Var(&targets, "target", "one more `target`: name=N,endpoint=URL,access-key=ID,secret-key=S[,bucket=B]; repeatable, each runs in turn")
	bucket := fs.String("bucket", "bench", "bucket to use (a target's bucket= overrides it)")
	create := fs.Bool("create-bucket", false, "create the bucket first (one you already own is fine)")
	region := fs.String("region", "us-east-1", "signing region")
	op := fs.String("op", OpPut, "workload: put, get, list, delete or mixed")
	mix := fs.String("mix", "put=20,get=70,list=5,delete=5", "weights of a mixed run (giving --mix implies --op mixed)")
	size := fs.String("size", "4KiB", "object `size`: bytes, or with a unit B, KiB, MiB, GiB, k, M, G")
	conc := fs.Int("concurrency", 16, "operations at once (also the connection pool size)")
	dur := fs.Duration("duration", 0, "how long to measure (default 10s unless --count is given)")
	count := fs.Int("count", 0, "operations to measure, done and failed (with --duration: whichever ends first)")
	objects := fs.Int("objects", 1000, "key space: N keys, PREFIX00000000 to PREFIX(N-1)")
	prefix := fs.String("prefix", "bench/", "key prefix")
	noFill := fs.Bool("no-fill", false, "don't write the key space before get, delete, list and mixed runs")
	timeout := fs.Duration("timeout", time.Minute, "limit of one operation (0: none)")
	checksums := fs.Bool("sdk-checksums", false, "keep the SDK's default checksums (CRC32 of every PUT body, response validation)")
	insecure := fs.Bool("insecure", false, "don't verify TLS certificates")
	asJSON := fs.Bool("json", false, "print a JSON array of results instead of a table")
	failOnError := fs.Bool("fail-on-error", false, "exit non-zero when any operation failed")
	if err := fs.Parse(args); err != nil {
		return Flags{}, err
	}
	if fs.NArg() > 0 {
		return Flags{}, fmt.Errorf("bench: unexpected argument %q (flags only)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for p, env := range map[*string]string{endpoint: "CAIRN_S3_ENDPOINT", access: "AWS_ACCESS_KEY_ID", secret: "AWS_SECRET_ACCESS_KEY"} {
		if *p == "" {
			*p = getenv(env)
		}
	}

	f := Flags{JSON: *asJSON, FailOnError: *failOnError, Options: Options{
		Bucket: *bucket, CreateBucket: *create, Region: *region, Concurrency: *conc, Duration: *dur, Count: *count,
		Objects: *objects, Prefix: *prefix, NoFill: *noFill, Timeout: *timeout, SDKChecksums: *checksums, Insecure: *insecure,
	}}
	if *endpoint != "" {
		f.Targets = append(f.Targets, Target{Name: *name, Endpoint: *endpoint})
	}
	f.Targets = append(f.Targets, targets...)
	if len(f.Targets) == 0 {
		return Flags{}, errors.New("bench: no target: give --endpoint URL (or CAIRN_S3_ENDPOINT) or --target")
	}
	for i := range f.Targets {
		if f.Targets[i].AccessKey == "" {
			f.Targets[i].AccessKey = *access
		}
		if f.Targets[i].SecretKey == "" {
			f.Targets[i].SecretKey = *secret
		}
	}
	var err error
	if f.Size, err = ParseSize(*size); err != nil {
		return Flags{}, err
	}
	if f.Duration == 0 && f.Count == 0 {
		f.Duration = 10 * time.Second
	}
	switch o := strings.ToLower(*op); {
	case o == OpMixed || (set["mix"] && !set["op"]):
		if f.Mix, err = ParseMix(*mix); err != nil {
			return Flags{}, err
		}
		f.Op = OpMixed
	case set["mix"]:
		return Flags{}, fmt.Errorf("bench: --mix goes with --op mixed, not --op %s", *op)
	default:
		f.Op = o
	}
	// Validate now, so that a bad command line fails before any request.
	check := f.Options
	if err := check.check(); err != nil {
		return Flags{}, err
	}
	return f, nil
}

// Main is `cairn bench`: it parses args, runs, and prints the results to
// stdout (a table, or JSON with --json) even when the run ended early.
// The error is a bad command line, a target that could not be set up, an
// interruption, or ErrFailed under --fail-on-error. -h prints the usage
// and returns nil.
func Main(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	f, err := ParseArgs(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if !f.JSON {
		f.Log = func(format string, args ...any) { fmt.Fprintf(stdout, "# "+format+"\n", args...) }
	}
	rs, err := Run(ctx, f.Options)
	if f.JSON {
		if jerr := JSON(stdout, rs); jerr != nil {
			return errors.Join(err, jerr)
		}
	} else if len(rs) > 0 {
		Text(stdout, rs)
	}
	if err != nil {
		return err
	}
	if f.FailOnError {
		for _, r := range rs {
			if r.Errors > 0 {
				return ErrFailed
			}
		}
	}
	return nil
}

// ParseSize reads a byte count: 4096, 512B, 4KiB, 4k, 1.5MiB, 2M, 1GiB.
// k, K, KB and KiB are all 1024 (M, G alike). At most 5 GiB, S3's
// largest single PUT.
func ParseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(strings.ToLower(t), u.suffix) {
			t, mult = t[:len(t)-len(u.suffix)], u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	n := v * mult
	if err != nil || math.IsNaN(n) || n < 0 || n > 5<<30 || n != math.Trunc(n) {
		return 0, fmt.Errorf("bench: bad size %q (bytes, or a number with B, KiB, MiB, GiB, k, M, G; at most 5GiB)", s)
	}
	return int(n), nil
}

// ParseMix reads op weights: "put=20,get=70,list=5,delete=5". Ops left
// out weigh 0.
func ParseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	total := 0
	for _, part := range strings.Split(s, ",") {
		op, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		op = strings.ToLower(strings.TrimSpace(op))
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("bench: bad mix entry %q (want op=weight)", part)
		}
		switch op {
		case OpPut, OpGet, OpList, OpDelete:
		default:
			return nil, fmt.Errorf("bench: unknown op %q in the mix (put, get, list, delete)", op)
		}
		if _, dup := mix[op]; dup {
			return nil, fmt.Errorf("bench: %s twice in the mix", op)
		}
		mix[op] = n
		total += n
	}
	if total == 0 {
		return nil, errors.New("bench: the mix has no positive weight")
	}
	return mix, nil
}

// ParseTarget reads "name=N,endpoint=URL,access-key=ID,secret-key=S[,bucket=B]".
// Only endpoint is required; a value may hold '=' but not ','.
func ParseTarget(s string) (Target, error) {
	var t Target
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Target{}, fmt.Errorf("bench: bad target field %q (want key=value)", part)
		}
		if seen[k] {
			return Target{}, fmt.Errorf("bench: target field %s twice", k)
		}
		seen[k] = true
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
			return Target{}, fmt.Errorf("bench: unknown target field %q (name, endpoint, access-key, secret-key, bucket)", k)
		}
	}
	if t.Endpoint == "" {
		return Target{}, errors.New("bench: a target needs endpoint=URL")
	}
	return t, nil
}
