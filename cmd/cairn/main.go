// Command cairn runs and manages a Cairn object store.
//
//	cairn serve   [--data DIR] [--listen HOST:PORT] [--config FILE] [--sync always|DURATION] [--nats-listen HOST:PORT] [--read-only]
//	cairn admin   FUNCTION [flags]        (talks to a running server: --url, --key)
//	cairn rebuild [--data DIR]            (offline: refold the projections from the log)
//	cairn rebuild --until TIME|SEQ --out DIR [--data SRC]   (offline: a new data directory as it was then)
//	cairn recover --data DIR --out NEWDIR   (offline: a damaged log's events before the damage, in a new data directory)
//	cairn load    --sid SID [--size N] [--count N] [--clients N]   (load generator)
//	cairn bench   --endpoint URL | --target name=N,endpoint=URL,... [--op put|get|list|delete|mixed] ...  (S3 load generator, any S3 server)
//	cairn tail    [--sid S] [--type T] [--path P] [--from SEQ|TIME]   (follow the change feed, JSON lines)
//	cairn history --sid S --path P [--json]   (an object's history)
//	cairn audit   [--sid S] [--actor KEYID] [--since T] [--until T] [--type T] [--json]   (who did what)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "cairn:", err)
		os.Exit(1)
	}
}

const usage = `usage: cairn COMMAND [flags]

commands:
  serve     run the server (embedded defaults: data in ./cairn-data, http://127.0.0.1:8700)
  admin     manage services, keys and accounts on a running server
  rebuild   rebuild the projections of a stopped server from its log; --until TIME|SEQ --out DIR: a new
            data directory holding the server as it was then (serve it with serve --read-only)
  load      upload many objects to a running server; print ops/s and latency percentiles
  bench     drive any S3 endpoint(s) with the AWS SDK; print ops/s, MiB/s, latency percentiles, errors
  restore   bring a service (or a prefix) back to a moment, or fork the moment into a new service
  recover   a damaged log (events missing): --data DIR --out NEWDIR makes a new data directory with every event
            before the damage, its blobs and projections; DIR is only read
  verify    check the log's hash chain, signed checkpoints and blobs (--data DIR offline, or --url URL); with --data
            also the projections against a fresh fold of the log
  pubkey    print the public key the server signs its checkpoints with
  subject   print the NATS subject filter(s) of a service, an object or an op (--sid S [--path P] [--op OP])
  tail      follow the change feed (GET /events): one JSON line per event (--sid S [--type T] [--path P] [--from SEQ|TIME])
  history   an object's full history as a table: content, metadata, copies, deletes, expiry, purges (--sid S --path P [--json])
  audit     who did what in a service: every event in a time window, by actor (--sid S [--actor KEYID] [--since T] [--until T])
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, getenv)
	case "admin":
		return admin(ctx, args[1:], stdout, getenv)
	case "rebuild":
		return rebuild(ctx, args[1:], stdout, getenv)
	case "load":
		return loadCmd(ctx, args[1:], stdout, getenv)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, getenv)
	case "restore":
		return restoreCmd(ctx, args[1:], stdout, getenv)
	case "recover":
		return recoverCmd(ctx, args[1:], stdout, getenv)
	case "verify":
		return verifyCmd(ctx, args[1:], stdout, getenv)
	case "pubkey":
		return pubkeyCmd(args[1:], stdout, getenv)
	case "subject":
		return subjectCmd(args[1:], stdout)
	case "tail":
		return tailCmd(ctx, args[1:], stdout, stderr, getenv)
	case "history":
		return historyCmd(ctx, args[1:], stdout, stderr, getenv)
	case "audit":
		return auditCmd(ctx, args[1:], stdout, stderr, getenv)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// loadConfig builds the Config: defaults, then the config file, then the
// environment, then flags (later wins).
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (server.Config, error) {
	cfg := server.Default()
	configPath := fs.String("config", "", "JSON config file")
	data := fs.String("data", "", "data directory (default ./cairn-data)")
	listen := fs.String("listen", "", "HTTP listen address (default 127.0.0.1:8700)")
	sync := fs.String("sync", "", `"always" (default: fsync every event) or an interval like "1s" (faster; a power loss can lose that interval's writes)`)
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	publicURL := fs.String("public-url", "", "base of the Swift storage URLs auth hands out (default: the request's own host)")
	natsListen := fs.String("nats-listen", "", "HOST:PORT for NATS change-feed consumers (default: none)")
	readOnly := fs.Bool("read-only", false, "serve the data directory for inspection: reads only, every change refused")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *configPath != "" {
		if err := cfg.LoadFile(*configPath); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(getenv); err != nil {
		return cfg, err
	}
	for p, v := range map[*string]string{&cfg.Data: *data, &cfg.Listen: *listen, &cfg.Sync: *sync, &cfg.LogLevel: *logLevel, &cfg.PublicURL: *publicURL,
		&cfg.NATSListen: *natsListen} {
		if v != "" {
			*p = v
		}
	}
	if *readOnly {
		cfg.ReadOnly = true
	}
	return cfg, cfg.Validate()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Open(ctx, cfg, logger)
	if err != nil {
		if ctx.Err() != nil { // Ctrl-C during start-up (a long replay, say): a clean stop
			logger.Info("interrupted during start-up")
			return nil
		}
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.Close(context.Background())
		return err
	}
	fmt.Fprintf(stdout, "cairn is listening on %s (data in %s, sync %s)\n", srv.URL(), cfg.Data, cfg.Sync)
	printReadOnly(stdout, srv, cfg.Data)
	switch {
	case srv.AdminKeyGenerated:
		fmt.Fprintf(stdout, "admin key (generated, kept in %s/admin.json):\n  key id: %s\n  key:    %s\n", cfg.Data, srv.AdminKeyID, srv.AdminKey)
	case cfg.AdminKeyID != "":
		fmt.Fprintf(stdout, "admin key id %s (key from CAIRN_ADMIN_KEY)\n", srv.AdminKeyID)
	default:
		fmt.Fprintf(stdout, "admin key (from %s/admin.json):\n  key id: %s\n  key:    %s\n", cfg.Data, srv.AdminKeyID, srv.AdminKey)
	}
	if u := srv.NATSURL(); u != "" {
		fmt.Fprintf(stdout, "NATS change feed: %s, user %s, password %s (kept in %s/%s); `cairn subject --sid SID` prints a service's filters\n",
			u, srv.NATSUser, srv.NATSPassword, cfg.Data, server.NATSFile)
	}
	fmt.Fprintf(stdout, "try: curl -H '%s: <key>' %s/servicelist\n", schema.KeyHeader, srv.URL())
	fmt.Fprintf(stdout, "S3: endpoint %s, region us-east-1, path-style; access key id = key id, secret = key\n", srv.URL())
	fmt.Fprintf(stdout, "Swift: auth %s/auth/v1.0 (also /v2.0, /v3); user = key id, key = key value\n", srv.URL())
	fmt.Fprintf(stdout, "checkpoints of the log's hash chain are signed with ed25519 key %s (cairn verify checks them)\n",
		events.PublicKeyHex(srv.SigningKey))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(err, srv.Close(sctx))
}

func rebuild(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	until := fs.String("until", "", "an RFC 3339 time or an event sequence: build --out as the server was then")
	out := fs.String("out", "", "with --until: the new data directory (absent or empty)")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	if *until != "" || *out != "" {
		return rebuildUntil(ctx, cfg.Data, *until, *out, stdout)
	}
	st, err := datadir.Rebuild(ctx, cfg.Data, func(applied, total uint64) {
		fmt.Fprintf(stdout, "applied %d of %d events\n", applied, total)
	})
	if fe := (*projections.FoldError)(nil); errors.As(err, &fe) {
		// the rebuild folds into a temporary file: the old one stays
		return fmt.Errorf("rebuild stopped at event %d (%s), which this version cannot fold; projections.db is unchanged: %w", fe.Seq, fe.Type, err)
	}
	if err != nil {
		return err
	}
	rate := float64(st.Events) / st.Elapsed.Seconds()
	fmt.Fprintf(stdout, "rebuilt %d events in %s (%.0f events/s), digest %s\n", st.Events, st.Elapsed.Round(time.Millisecond), rate, st.Digest)
	return nil
}
