package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cairnhq/cairn/cmd/bench"
)

// targetFlags collects repeated --target values.
type targetFlags []bench.Target

func (t *targetFlags) String() string { return fmt.Sprint(len(*t), " targets") }

func (t *targetFlags) Set(s string) error {
	tg, err := bench.ParseTarget(s)
	if err != nil {
		return err
	}
	*t = append(*t, tg)
	return nil
}

// benchCmd runs the S3 load generator against one or more endpoints.
func benchCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	endpoint := fs.String("endpoint", getenv("CAIRN_S3_ENDPOINT"), "S3 endpoint URL (one target)")
	access := fs.String("access-key", getenv("AWS_ACCESS_KEY_ID"), "access key id")
	secret := fs.String("secret-key", getenv("AWS_SECRET_ACCESS_KEY"), "secret key")
	var targets targetFlags
	fs.Var(&targets, "target", "name=N,endpoint=URL,access-key=ID,secret-key=S[,bucket=B] (repeatable: runs each in turn)")
	bucket := fs.String("bucket", "bench", "bucket to use")
	create := fs.Bool("create-bucket", false, "create the bucket first (an existing one you own is fine)")
	region := fs.String("region", "us-east-1", "signing region")
	op := fs.String("op", "put", "put, get, list, delete or mixed")
	mix := fs.String("mix", "put=20,get=70,list=5,delete=5", "weights for --op mixed")
	size := fs.String("size", "4KiB", "object size (B, KiB, MiB, k, M)")
	conc := fs.Int("concurrency", 16, "requests at once")
	dur := fs.Duration("duration", 0, "how long to run (default 10s when --count is not given)")
	count := fs.Int("count", 0, "operations in all (instead of or with --duration)")
	objects := fs.Int("objects", 1000, "key space; get, delete and mixed runs fill it first")
	prefix := fs.String("prefix", "bench/", "key prefix")
	checksums := fs.Bool("sdk-checksums", false, "keep the SDK's default request checksums (CRC32 on every PUT)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	failOnError := fs.Bool("fail-on-error", false, "exit non-zero when any operation failed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := bench.Options{Bucket: *bucket, CreateBucket: *create, Region: *region, Concurrency: *conc,
		Duration: *dur, Count: *count, Objects: *objects, Prefix: *prefix, SDKChecksums: *checksums, Targets: targets}
	if *endpoint != "" {
		o.Targets = append([]bench.Target{{Name: "default", Endpoint: *endpoint, AccessKey: *access, SecretKey: *secret}}, o.Targets...)
	}
	var err error
	if o.Size, err = bench.ParseSize(*size); err != nil {
		return err
	}
	if o.Duration == 0 && o.Count == 0 {
		o.Duration = 10e9
	}
	if strings.EqualFold(*op, "mixed") {
		if o.Mix, err = bench.ParseMix(*mix); err != nil {
			return err
		}
	} else {
		o.Op = strings.ToLower(*op)
	}
	rs, err := bench.Run(ctx, o)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(rs); jerr != nil {
			return jerr
		}
	} else {
		bench.Text(stdout, rs)
	}
	if err != nil {
		return err
	}
	if *failOnError {
		for _, r := range rs {
			if r.Errors > 0 {
				return errors.New("bench: some operations failed")
			}
		}
	}
	return nil
}
