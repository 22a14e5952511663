package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/schema"
)

// verifyOut runs `cairn verify args...` and returns its output and error.
func verifyOut(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"verify"}, args...), &out, io.Discard, envOf(nil))
	return out.String(), err
}

// findFiles returns the regular files under dir whose name matches.
func findFiles(t *testing.T, dir string, match func(string) bool) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && match(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestVerify(t *testing.T) {
	ts := startServer(t)
	env := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": ts.key}
	adminJSON(t, env, nil, "servicecreate", "--id", "svc-v")
	for i := range 4 {
		if st, body := httpStatus(t, http.MethodPut, ts.url+"/uploadfile?sid=svc-v&path=f"+strconv.Itoa(i), ts.key,
			strings.NewReader(strings.Repeat(strconv.Itoa(i), 100000))); st != http.StatusCreated {
			t.Fatalf("upload: %d %s", st, body)
		}
	}
	ctx := context.Background()
	if _, err := ts.srv.Core.Checkpoint(ctx, ts.srv.SigningKey); err != nil {
		t.Fatal(err)
	}
	pub := events.PublicKeyHex(ts.srv.SigningKey)

	// a running server, from outside: the key it signs with is the one
	// `cairn pubkey` prints
	out, err := verifyOut("--url", ts.url, "--key", ts.key, "--pubkey", pub)
	if err != nil || !strings.Contains(out, "OK:") || !strings.Contains(out, "blobs:       4 checked") {
		t.Fatalf("verify --url: %v\n%s", err, out)
	}
	if _, err := verifyOut("--url", ts.url, "--key", "wrong-key-0123456789"); err == nil {
		t.Fatal("verify --url with a wrong key succeeded")
	}
	var pk bytes.Buffer
	if err := run(ctx, []string{"pubkey", "--data", ts.dir}, &pk, io.Discard, envOf(nil)); err != nil || strings.TrimSpace(pk.String()) != pub {
		t.Fatalf("pubkey: %q %v, want %s", pk.String(), err, pub)
	}
	if err := ts.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// a stopped server's data directory
	if out, err := verifyOut("--data", ts.dir); err != nil || !strings.Contains(out, "OK:") {
		t.Fatalf("verify --data: %v\n%s", err, out)
	}
	other := strings.Repeat("ab", 32)
	if out, err := verifyOut("--data", ts.dir, "--pubkey", other); err == nil || !strings.Contains(out, "signed by another key") {
		t.Fatalf("verify with another key: %v\n%s", err, out)
	}

	// a blob changed on disk, then gone
	blobs := findFiles(t, filepath.Join(ts.dir, "blobs"), func(n string) bool { return len(n) >= 64 })
	if len(blobs) != 4 {
		t.Fatalf("%d blob files, want 4", len(blobs))
	}
	orig, err := os.ReadFile(blobs[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(blobs[0], 0o600)
	if err := os.WriteFile(blobs[0], append([]byte{orig[0] ^ 1}, orig[1:]...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = verifyOut("--data", ts.dir)
	if err == nil || !strings.Contains(out, "does not match its digest") || !strings.Contains(out, filepath.Base(blobs[0])[:12]) {
		t.Fatalf("verify of a changed blob: %v\n%s", err, out)
	}
	if err := os.Remove(blobs[0]); err != nil {
		t.Fatal(err)
	}
	if out, err = verifyOut("--data", ts.dir); err == nil || !strings.Contains(out, "is missing") {
		t.Fatalf("verify of a missing blob: %v\n%s", err, out)
	}
	if err := os.WriteFile(blobs[0], orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err = verifyOut("--data", ts.dir); err != nil {
		t.Fatalf("verify after the blob came back: %v\n%s", err, out)
	}

	// an event changed in the log's own files: the service id in one
	// event, in every copy the store keeps (block file and index)
	blks := findFiles(t, filepath.Join(ts.dir, "jetstream"), func(n string) bool { return strings.HasSuffix(n, ".blk") })
	changed := false
	for _, p := range blks {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(b, []byte(`"path":"f2"`)); i >= 0 {
			b[i+9] = '9' // "f2" -> "f9"
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			changed = true
		}
	}
	if !changed {
		t.Fatal("no block file holds the event")
	}
	out, err = verifyOut("--data", ts.dir)
	if err == nil || !strings.Contains(out, "BREAK at event") {
		t.Fatalf("verify of a changed log file: %v\n%s", err, out)
	}
	t.Logf("a changed block file:\n%s", out)
}

// An edited projection value is served as it is: `cairn verify --data`
// folds the log afresh, names the key and says how to fix it; a remote
// verify says it cannot look.
func TestVerify_Projections(t *testing.T) {
	ts := startServer(t)
	env := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": ts.key}
	adminJSON(t, env, nil, "servicecreate", "--id", "svc-p")
	if st, body := httpStatus(t, http.MethodPut, ts.url+"/uploadfile?sid=svc-p&path=doc", ts.key,
		strings.NewReader("twelve bytes")); st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, body)
	}
	out, err := verifyOut("--url", ts.url, "--key", ts.key)
	if err != nil || !strings.Contains(out, "projections: not compared") || !strings.Contains(out, "cairn verify --data DIR") {
		t.Fatalf("verify --url does not say the projections need --data: %v\n%s", err, out)
	}
	ctx := context.Background()
	if err := ts.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := verifyOut("--data", ts.dir); err != nil || !strings.Contains(out, "projections are what the log folds to") {
		t.Fatalf("verify --data of a clean directory: %v\n%s", err, out)
	}

	key := schema.ObjectKey("svc-p", "doc")
	db, err := buntdb.Open(filepath.Join(ts.dir, datadir.ProjectionsFile))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *buntdb.Tx) error {
		v, err := tx.Get(key)
		if err != nil {
			return err
		}
		if !strings.Contains(v, `"size":12,`) {
			return fmt.Errorf("%q has no size 12: %s", key, v)
		}
		_, _, err = tx.Set(key, strings.Replace(v, `"size":12,`, `"size":13,`, 1), nil)
		return err
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}

	out, err = verifyOut("--data", ts.dir)
	if err == nil || !strings.Contains(out, strconv.Quote(key)) || !strings.Contains(out, `"size":13,`) ||
		!strings.Contains(err.Error(), "cairn rebuild --data "+ts.dir) {
		t.Fatalf("verify --data of an edited value: %v\n%s", err, out)
	}
	t.Logf("an edited projection value:\n%s%v", out, err)
	out, err = verifyOut("--data", ts.dir, "--json")
	var rep events.VerifyReport
	if jerr := json.Unmarshal([]byte(out), &rep); err == nil || jerr != nil || rep.Projections == nil ||
		rep.Projections.Changed != 1 || len(rep.Projections.Diffs) != 1 || rep.Projections.Diffs[0].Key != key {
		t.Fatalf("verify --data --json of an edited value: %v, %v\n%s", err, jerr, out)
	}

	// the fix the error names
	if err := run(ctx, []string{"rebuild", "--data", ts.dir}, io.Discard, io.Discard, envOf(nil)); err != nil {
		t.Fatal(err)
	}
	if out, err := verifyOut("--data", ts.dir); err != nil {
		t.Fatalf("verify after the rebuild: %v\n%s", err, out)
	}
}
