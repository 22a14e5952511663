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
	data := fs.String("data", "", "data directory of a stopped server (checks its projections against a fresh fold of the log too)")
	url := fs.String("url", getenv("CAIRN_URL"), "URL of a running server (with --key, the server's admin key); "+
		"checks the log and blobs only: comparing the projections with a fresh fold of the log needs --data")
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
		if rep, err = events.Verify(ctx, r, r, pub); rep != nil {
			rep.Projections = &events.ProjectionsReport{Note: remoteProjections}
		}
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
	var fails []error
	if len(rep.Breaks) > 0 {
		fails = append(fails, fmt.Errorf("the log does not verify: %d breaks, the first at event %d", len(rep.Breaks), rep.Breaks[0].Seq))
	}
	if p := rep.Projections; p != nil && !p.OK() {
		fails = append(fails, projectionsError(p, *data))
	}
	return errors.Join(fails...)
}

// remoteProjections is what verify --url says of the projections.
const remoteProjections = "not checked: the projections file is read from a data directory, " +
	"run `cairn verify --data DIR` on the stopped server to compare it with a fresh fold of the log"

// projectionsError says what is wrong with the projections and what
// fixes it. A server serves projections that differ from the log as they
// are (it rebuilds only those it cannot read or that are ahead of the
// log), so the fix is an offline rebuild.
func projectionsError(p *events.ProjectionsReport, dir string) error {
	if p.Problem != "" {
		return fmt.Errorf("the projections do not verify: %s", p.Problem)
	}
	n, keys := p.Changed+p.Missing+p.Stray, "keys"
	if n == 1 {
		keys = "key"
	}
	return fmt.Errorf("the projections differ from a fresh fold of the log at %d %s (%d changed, %d missing, %d stray); "+
		"a server serves them as they are: stop it and run `cairn rebuild --data %s` to refold them from the log",
		n, keys, p.Changed, p.Missing, p.Stray, dir)
}

func printReport(w io.Writer, rep *events.VerifyReport) {
	fmt.Fprintf(w, "events:      %d (last sequence %d", rep.Events, rep.LastSeq)
	if rep.Unchained > 0 {
		fmt.Fprintf(w, ", %d written before the chain", rep.Unchained)
	}
	fmt.Fprintf(w, ")\ncheckpoints: %d (the newest signed covers event %d)\nblobs:       %d checked\n",
		rep.Checkpoints, rep.LastSigned, rep.Blobs)
	p := rep.Projections
	switch {
	case p == nil:
	case p.Compared:
		fmt.Fprintf(w, "projections: %d keys compared with a fresh fold of the log up to event %d\n", p.Keys, p.Applied)
	default:
		fmt.Fprintln(w, "projections: not compared")
	}
	if p != nil && p.Note != "" {
		fmt.Fprintf(w, "  (%s)\n", p.Note)
	}
	if rep.OK() {
		what := "every link, signature and blob verifies"
		if p != nil && p.Compared {
			what += ", and the projections are what the log folds to"
		}
		fmt.Fprintln(w, "OK: "+what)
		return
	}
	for _, b := range rep.Breaks {
		fmt.Fprintf(w, "BREAK at event %d: %s\n", b.Seq, b.What)
	}
	if p == nil || p.OK() {
		return
	}
	if p.Problem != "" {
		fmt.Fprintf(w, "PROJECTIONS: %s\n", p.Problem)
		return
	}
	for _, d := range p.Diffs {
		fmt.Fprintf(w, "PROJECTION %s: %q\n", d.What, d.Key)
		if d.What != "missing" {
			fmt.Fprintf(w, "  file: %s\n", d.File)
		}
		if d.What != "stray" {
			fmt.Fprintf(w, "  fold: %s\n", d.Fold)
		}
	}
	if n := p.Changed + p.Missing + p.Stray; n > len(p.Diffs) {
		fmt.Fprintf(w, "... and %d more keys that differ\n", n-len(p.Diffs))
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
