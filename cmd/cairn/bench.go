package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairnhq/cairn/cmd/bench"
)

// benchCmd runs the S3 load generator against one or more endpoints; see
// `cairn bench -h`. Ctrl-C ends the run and prints what it measured.
func benchCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return bench.Main(ctx, args, stdout, getenv)
}
