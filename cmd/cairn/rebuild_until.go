package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events/datadir"
)

// rebuildUntil runs `cairn rebuild --until TIME|SEQ --out DIR [--data SRC]`:
// a new data directory holding the stopped server of src as it was at that
// moment, for `cairn serve --read-only --data DIR`.
func rebuildUntil(ctx context.Context, src, until, out string, stdout io.Writer) error {
	if until == "" || out == "" {
		return errors.New("rebuild: --until and --out go together (cairn rebuild --until TIME|SEQ --out DIR [--data SRC])")
	}
	seq, at, err := parseUntil(until)
	if err != nil {
		return err
	}
	st, err := datadir.RebuildUntil(ctx, datadir.UntilOptions{
		Source: src, Out: out, Seq: seq, Time: at,
		Logf: func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) },
		Progress: func(applied, total uint64) {
			fmt.Fprintf(stdout, "applied %d of %d events\n", applied, total)
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied the log: %d files, %s (%d events; those after %d are kept, never folded)\n",
		st.LogFiles, mib(st.LogBytes), st.LogLast, st.Seq)
	fmt.Fprintf(stdout, "blobs: %d files, %s (%d hard-linked, %d copied)\n", st.Blobs, mib(st.BlobBytes), st.Linked, st.Blobs-st.Linked)
	fmt.Fprintf(stdout, "rebuilt %s as it was at %s: %d events folded (up to sequence %d, %s) in %s, digest %s\n",
		st.Source, st.Until, st.Seq, st.Seq, st.Time.Format(time.RFC3339Nano), st.Elapsed.Round(time.Millisecond), st.Digest)
	fmt.Fprintf(stdout, "serve it with: cairn serve --read-only --data %s\n", out)
	return nil
}

// parseUntil reads a moment: an event sequence (digits) or an RFC 3339 time.
func parseUntil(s string) (uint64, time.Time, error) {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		if n == 0 {
			return 0, time.Time{}, errors.New("--until 0: sequences start at 1")
		}
		return n, time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("--until %q: want an event sequence or an RFC 3339 time (2026-05-01T10:00:00Z)", s)
	}
	return 0, t, nil
}

// mib is a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// printReadOnly tells that srv is read-only and which moment it serves.
func printReadOnly(w io.Writer, srv *server.Server, data string) {
	m := srv.ReadOnlyAt
	if m == nil {
		return
	}
	fmt.Fprintf(w, "READ-ONLY: serving %s %s; every change is refused and nothing is appended\n", data, m)
	if p := m.PointInTime; p != nil {
		fmt.Fprintf(w, "  a point-in-time copy of %s (--until %s), made %s; its log holds %d events, those after %d are never folded\n",
			p.Source, p.Until, p.Made.Format(time.RFC3339), m.LogLast, m.Seq)
	} else if m.LogLast > m.Seq {
		fmt.Fprintf(w, "  the log holds %d events; those after %d are not folded\n", m.LogLast, m.Seq)
	}
}
