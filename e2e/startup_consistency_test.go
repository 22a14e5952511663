package e2e

// Start-up consistency (issue 16, finding 1): a log that lost its tail
// (what a power loss under --sync 1s or a damaged disk leaves) must not
// be served with projections that are ahead of it.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnhq/cairn/cmd/server"
)

// lockedBuffer is a log sink the server writes from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLogged is startIn with the server's log kept in logs.
func startLogged(t *testing.T, cfg server.Config, logs io.Writer) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := server.Open(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close(context.Background())
		t.Fatalf("Listen: %v", err)
	}
	go srv.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("server.Close: %v", err)
		}
	})
	return &Env{URL: srv.URL(), AdminKeyID: srv.AdminKeyID, AdminKey: srv.AdminKey, Dir: cfg.Data, Srv: srv,
		Client: &http.Client{Timeout: 90 * time.Second}, Config: cfg}
}

// eventBlocks returns the message block files of the event stream, in
// block order (DATA/jetstream/jetstream/$G/streams/CAIRN/msgs/N.blk).
func eventBlocks(t testing.TB, dir string) []string {
	t.Helper()
	blks, err := filepath.Glob(filepath.Join(dir, "jetstream", "jetstream", "*", "streams", "CAIRN", "msgs", "*.blk"))
	if err != nil || len(blks) == 0 {
		t.Fatalf("no block files of the event stream under %s (err %v)", dir, err)
	}
	num := func(p string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), ".blk"))
		return n
	}
	sort.Slice(blks, func(i, j int) bool { return num(blks[i]) < num(blks[j]) })
	return blks
}

// cutLogAt truncates the event stream's last block at the first
// occurrence of marker (the record holding it, and all after it, are
// lost) and removes the stream's index.db, as a power loss can.
func cutLogAt(t testing.TB, dir, marker string) {
	t.Helper()
	blks := eventBlocks(t, dir)
	last := blks[len(blks)-1]
	b, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		t.Fatalf("%s does not hold %q", last, marker)
	}
	if err := os.Truncate(last, int64(i)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(filepath.Dir(last), "index.db")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

func TestStartup_LogBehindProjections(t *testing.T) {
	e := StartLocal(t, "cuts its log's files and restarts it")
	ctx := context.Background()
	nat := e.WithService(t) // a native service
	bucket := e.Bucket(t)   // an S3 bucket

	body := func(who string, i int) []byte {
		b := []byte(fmt.Sprintf("%s object %d: ", who, i))
		if i%3 == 2 { // some past the inline size: a blob
			return append(b, bytes.Repeat([]byte(who[:1]), 70<<10)...)
		}
		return append(b, bytes.Repeat([]byte(who[:1]), 100+i)...)
	}
	s3put := func(t *testing.T, e *Env, key string, data []byte) {
		t.Helper()
		if _, err := e.S3(t, e.AdminKeyID, e.AdminKey).PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	// kept: written before the cut; tail: written after the marker
	want := map[string][]byte{} // "n/<path>" or "s/<key>" -> bytes
	for i := range 6 {
		p := fmt.Sprintf("kept-n-%02d", i)
		want["n/"+p] = body("native", i)
		e.Upload(t, e.AdminKey, nat, p, want["n/"+p], nil)
		k := fmt.Sprintf("kept-s-%02d", i)
		want["s/"+k] = body("s3", i)
		s3put(t, e, k, want["s/"+k])
	}
	tail := map[string][]byte{}
	for i := range 6 {
		p := fmt.Sprintf("tail-n-%02d", i)
		tail["n/"+p] = body("native-tail", i)
		e.Upload(t, e.AdminKey, nat, p, tail["n/"+p], nil)
		k := fmt.Sprintf("tail-s-%02d", i)
		tail["s/"+k] = body("s3-tail", i)
		s3put(t, e, k, tail["s/"+k])
	}
	before, _ := e.Settled(t)

	cfg := e.Config
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.Srv.Close(sctx); err != nil {
		t.Fatal(err)
	}
	cutLogAt(t, e.Dir, `"path":"tail-n-00"`)

	logs := &lockedBuffer{}
	e = startLogged(t, cfg, logs)
	after, _ := e.Settled(t)
	if after >= before {
		t.Fatalf("the cut log ends at %d, the log before it at %d: nothing was cut", after, before)
	}
	if e.Srv.State.Applied() != after {
		t.Errorf("projections at %d, log at %d", e.Srv.State.Applied(), after)
	}
	if !strings.Contains(logs.String(), "projections are ahead of the log") {
		t.Errorf("the server did not say the projections were ahead of the log; its log:\n%s", logs.String())
	}
	aside, _ := filepath.Glob(filepath.Join(e.Dir, "projections.db.ahead-*"))
	if len(aside) != 1 {
		t.Errorf("the old projections were not kept aside: %v", aside)
	}
	t.Logf("log cut from %d to %d events; server said:\n%s", before, after, logs.String())

	// read reads one object: its bytes, or nil when it is not there
	read := func(t *testing.T, name string) []byte {
		t.Helper()
		switch name[:2] {
		case "n/":
			r := natGet(t, e, e.AdminKey, nat, name[2:])
			if r.Status == http.StatusNotFound {
				return nil
			}
			if r.Status != http.StatusOK {
				t.Fatalf("getfile %s: %d %s", name, r.Status, r.Body)
			}
			return r.Body
		default:
			out, err := e.S3(t, e.AdminKeyID, e.AdminKey).GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(name[2:])})
			if err != nil {
				if strings.Contains(err.Error(), "NoSuchKey") {
					return nil
				}
				t.Fatalf("GetObject %s: %v", name, err)
			}
			defer out.Body.Close()
			b, err := io.ReadAll(out.Body)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	check := func(t *testing.T, stage string) {
		t.Helper()
		for name, b := range want { // everything the shortened log holds reads back
			if got := read(t, name); !bytes.Equal(got, b) {
				t.Errorf("%s: %s reads %d bytes %.40q, want %d bytes %.40q", stage, name, len(got), got, len(b), b)
			}
		}
		for name, b := range tail { // what the log lost: absent, or its own bytes, never another's
			if got := read(t, name); got != nil && !bytes.Equal(got, b) {
				t.Errorf("%s: %s (lost with the log's tail) reads %d bytes %.40q, want none or its own %.40q", stage, name, len(got), got, b)
			}
		}
	}
	check(t, "after the restart")

	// new uploads, in both services, are acknowledged and read back; some
	// take the names the log lost
	for i := range 6 {
		p := fmt.Sprintf("tail-n-%02d", i)
		if i%2 == 0 {
			p = fmt.Sprintf("new-n-%02d", i)
		}
		b := body("native-new", i+10)
		e.Upload(t, e.AdminKey, nat, p, b, nil)
		want["n/"+p] = b
		delete(tail, "n/"+p)
		k := fmt.Sprintf("tail-s-%02d", i)
		if i%2 == 1 {
			k = fmt.Sprintf("new-s-%02d", i)
		}
		b = body("s3-new", i+10)
		s3put(t, e, k, b)
		want["s/"+k] = b
		delete(tail, "s/"+k)
	}
	check(t, "after new uploads")
	e.Restart(t)
	check(t, "after another restart")
}
