package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
)

// restoreCmd is `cairn restore --sid S --to TIME|sync:N [--prefix P]
// [--only deletes] [--into NEW] [--dry-run] [--json]`, through the admin
// function restore of a running server.
func restoreCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	target := targetFlags(fs, getenv, "the server's admin key (default: from the data directory's admin.json)")
	sid := fs.String("sid", "", "the service")
	to := fs.String("to", "", "the moment: an RFC 3339 time or sync:N")
	prefix := fs.String("prefix", "", "only paths under this prefix")
	only := fs.String("only", "", `"deletes": only bring back files deleted since the moment`)
	into := fs.String("into", "", "fork: a new service holding the moment (the original is untouched)")
	dry := fs.Bool("dry-run", false, "print what would change; change nothing")
	asJSON := fs.Bool("json", false, "print the server's answer as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sid == "" || *to == "" {
		return errors.New("restore needs --sid and --to")
	}
	url, key := target.resolve()
	body := map[string]any{"sid": *sid, "to": *to, "dry_run": *dry}
	for k, v := range map[string]string{"prefix": *prefix, "only": *only, "into": *into} {
		if v != "" {
			body[k] = v
		}
	}
	raw, err := call(ctx, http.MethodPost, url, "restore", key, body)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err = stdout.Write(raw)
		return err
	}
	var res struct {
		SID     string `json:"sid"`
		Into    string `json:"into"`
		SyncID  uint64 `json:"sync_id"`
		Time    string `json:"time"`
		DryRun  bool   `json:"dry_run"`
		Actions []struct {
			Path, Action, Version, Skipped string
		} `json:"actions"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return err
	}
	what := "restored " + res.SID
	if res.Into != "" {
		what = "forked " + res.SID + " into " + res.Into
	}
	if res.DryRun {
		what = "would have " + what
	}
	fmt.Fprintf(stdout, "%s as of %s (sync id %d): %d changes\n", what, res.Time, res.SyncID, len(res.Actions))
	for _, a := range res.Actions {
		line := fmt.Sprintf("  %-6s %s", a.Action, a.Path)
		if a.Version != "" {
			line += "  (version " + a.Version + ")"
		}
		if a.Skipped != "" {
			line += "  SKIPPED: " + a.Skipped
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}
