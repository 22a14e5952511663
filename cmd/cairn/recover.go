package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cairnhq/cairn/events/datadir"
)

// recoverCmd is `cairn recover --data DIR --out NEWDIR`: a new, writable
// data directory holding every event of DIR's (damaged) log before the
// first one missing, with its blobs, key files and projections
// (datadir.Recover). DIR is only read.
func recoverCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("recover", flag.ContinueOnError)
	out := fs.String("out", "", "the new data directory (absent or empty)")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	if *out == "" {
		return errors.New("recover: give --out NEWDIR (cairn recover --data DIR --out NEWDIR)")
	}
	st, err := datadir.Recover(ctx, datadir.RecoverOptions{Source: cfg.Data, Out: *out,
		Logf: func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }})
	if err != nil {
		return err
	}
	if st.Missing > 0 {
		fmt.Fprintf(stdout, "recovered %d of %d events (the log missed %d, from sequence %d; the events after that stay only in %s)\n",
			st.Kept, st.LogLast, st.Missing, st.Kept+1, cfg.Data)
	} else {
		fmt.Fprintf(stdout, "the log misses no event: copied all %d\n", st.Kept)
	}
	fmt.Fprintf(stdout, "blobs: %d files (%d hard-linked, %d copied); projections digest %s; took %s\n",
		st.Blobs, st.Linked, st.Blobs-st.Linked, st.Digest, st.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "check it with `cairn verify --data %s`, then serve it with `cairn serve --data %s`\n", *out, *out)
	return nil
}
