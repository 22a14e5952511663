package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/handlers/native/client"
	"github.com/cairnhq/cairn/schema"
)

// verifyCmd is `cairn verify [--data DIR | --url URL --key KEY] [--pubkey HEX] [--json]`.
func verifyCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	data := fs.String("data", "", "data directory of a stopped server")
	url := fs.String("url", getenv("CAIRN_URL"), "URL of a running server (with --key, the server's admin key)")
	key := fs.String("key", getenv("CAIRN_KEY"), "the server's admin key (with --url)")
	pubHex := fs.String("pubkey", "", "checkpoint public key to trust (hex; default: the data directory's own, or the server's)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var pub ed25519.PublicKey
	if *pubHex != "" {
		b, err := hex.DecodeString(*pubHex)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return errors.New("--pubkey must be a 64-digit hex ed25519 public key")
		}
		pub = b
	}
	var rep *events.VerifyReport
	var err error
	switch {
	case *data != "" && *url != "":
		return errors.New("give --data or --url, not both")
	case *url != "":
		if *key == "" {
			return errors.New("--url needs the server's admin key (--key or CAIRN_KEY)")
		}
		r := &remoteLog{c: client.New(*url, *key, nil), chains: map[uint64]string{}}
		rep, err = events.Verify(ctx, r, r, pub)
	default:
		if *data == "" {
			*data = getenv("CAIRN_DATA")
		}
		if *data == "" {
			*data = server.Default().Data
		}
		rep, err = datadir.VerifyDir(ctx, *data, pub)
	}
	var damage *datadir.DamageError
	if err != nil && !errors.As(err, &damage) || rep == nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep)
	}
	if damage != nil {
		return damage
	}
	if !rep.OK() {
		return fmt.Errorf("the log does not verify: %d breaks, the first at event %d", len(rep.Breaks), rep.Breaks[0].Seq)
	}
	return nil
}

func printReport(w io.Writer, rep *events.VerifyReport) {
	fmt.Fprintf(w, "events:      %d (last sequence %d", rep.Events, rep.LastSeq)
	if rep.Unchained > 0 {
		fmt.Fprintf(w, ", %d written before the chain", rep.Unchained)
	}
	fmt.Fprintf(w, ")\ncheckpoints: %d (the newest signed covers event %d)\nblobs:       %d checked\n",
		rep.Checkpoints, rep.LastSigned, rep.Blobs)
	if rep.OK() {
		fmt.Fprintln(w, "OK: every link, signature and blob verifies")
		return
	}
	for _, b := range rep.Breaks {
		fmt.Fprintf(w, "BREAK at event %d: %s\n", b.Seq, b.What)
	}
}

// pubkeyCmd prints the data directory's checkpoint public key.
func pubkeyCmd(args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("pubkey", flag.ContinueOnError)
	data := fs.String("data", getenv("CAIRN_DATA"), "data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		*data = server.Default().Data
	}
	b, err := os.ReadFile(filepath.Join(*data, datadir.SigningKeyFile))
	if err != nil {
		return err
	}
	if len(b) != ed25519.SeedSize {
		return fmt.Errorf("%s is not an ed25519 seed", datadir.SigningKeyFile)
	}
	_, err = fmt.Fprintln(stdout, events.PublicKeyHex(ed25519.NewKeyFromSeed(b)))
	return err
}

// remoteLog reads a running server's log and blobs through /audit/.
type remoteLog struct {
	c      *client.Client
	last   uint64
	page   map[uint64]*events.RawEvent // the page being walked
	chains map[uint64]string           // every chain value seen, for checkpoints
}

// get reads path; a 404 is schema.KindNotFound.
func (r *remoteLog) get(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	resp, err := r.c.Do(ctx, http.MethodGet, path, q, nil, nil)
	var ce *client.Error
	switch {
	case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
		return nil, schema.Errorf(schema.KindNotFound, "/%s: not found", path)
	case errors.As(err, &ce):
		return nil, fmt.Errorf("/%s: %s", path, ce.StatusText)
	}
	return resp, err
}

func (r *remoteLog) LastSeq(ctx context.Context) (uint64, error) {
	if err := r.fetch(ctx, 0); err != nil {
		return 0, err
	}
	return r.last, nil
}

// fetch reads the page of events after seq.
func (r *remoteLog) fetch(ctx context.Context, after uint64) error {
	resp, err := r.get(ctx, "audit/log", url.Values{"after": {strconv.FormatUint(after, 10)}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if r.last, err = strconv.ParseUint(resp.Header.Get("X-Cairn-Last-Seq"), 10, 64); err != nil {
		return errors.New("/audit/log: no X-Cairn-Last-Seq")
	}
	r.page = map[uint64]*events.RawEvent{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e struct {
			Seq     uint64 `json:"seq"`
			Subject string `json:"subject"`
			Chain   string `json:"chain"`
			Data    []byte `json:"data"`
			Missing bool   `json:"missing"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("/audit/log: %w", err)
		}
		if !e.Missing {
			r.page[e.Seq] = &events.RawEvent{Seq: e.Seq, Subject: e.Subject, Data: e.Data, Chain: e.Chain}
			r.chains[e.Seq] = e.Chain
		} else {
			r.page[e.Seq] = nil
		}
	}
	return sc.Err()
}

func (r *remoteLog) Raw(ctx context.Context, seq uint64) (*events.RawEvent, error) {
	if e, ok := r.page[seq]; ok {
		if e == nil {
			return nil, schema.Errorf(schema.KindNotFound, "no event %d", seq)
		}
		return e, nil
	}
	if c, ok := r.chains[seq]; ok { // an earlier event, for a checkpoint
		return &events.RawEvent{Seq: seq, Chain: c}, nil
	}
	if err := r.fetch(ctx, seq-1); err != nil {
		return nil, err
	}
	if e, ok := r.page[seq]; ok && e != nil {
		return e, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "no event %d", seq)
}

func (r *remoteLog) OpenBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	resp, err := r.get(ctx, "audit/blob", url.Values{"digest": {digest}})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
