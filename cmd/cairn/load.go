package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/cairnhq/cairn/cmd/load"
)

// loadCmd runs the load generator against a running server and prints
// ops/s and latency percentiles.
func loadCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	target := targetFlags(fs, getenv, "a key value with write access to --sid")
	sid := fs.String("sid", "", "storage service to upload into")
	size := fs.Int("size", 4096, "bytes per object")
	count := fs.Int("count", 10000, "uploads in all")
	clients := fs.Int("clients", 16, "uploads at once")
	prefix := fs.String("prefix", "load/", "path prefix of the uploaded objects")
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, key := target.resolve()
	if key == "" || *sid == "" {
		return errors.New("load needs --sid and a key (--key or CAIRN_KEY)")
	}
	r, err := load.Run(ctx, load.Options{URL: url, Key: key, SID: *sid, Prefix: *prefix, Size: *size, Count: *count, Clients: *clients})
	fmt.Fprintln(stdout, r)
	return err
}
