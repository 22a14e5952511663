package e2e

// A data directory written by the release before names per account (a
// golden fixture: e2e/testdata/release-2026-12) starts, folds and serves
// the same contents through all three dialects: its events are
// service.created.v1 (container name = id), its projections are of the
// older key layout and are rebuilt from the log at start.

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events/datadir"
)

// untarFixture unpacks a .tar.gz fixture into dir.
func untarFixture(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			w.Close()
		}
	}
}

func TestOldData_StartsFoldsAndServes(t *testing.T) {
	fixture := filepath.Join("testdata", "release-2026-12")
	var want struct {
		Objects []struct {
			Account, Container, Path, SHA256 string
			Size                             int
		}
		Gone     []struct{ Container, Path string }
		Versions map[string]int
	}
	b, err := os.ReadFile(filepath.Join(fixture, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	untarFixture(t, filepath.Join(fixture, "data.tar.gz"), dir)
	e := StartLocal(t, "starts on a data directory of its own", func(c *server.Config) { c.Data = dir })
	ctx := context.Background()

	// the projections of the older layout were set aside and rebuilt
	if aside, _ := filepath.Glob(filepath.Join(dir, datadir.ProjectionsFile+".layout-1-*")); len(aside) != 1 {
		t.Errorf("projections of the older layout set aside: %v, want one", aside)
	}
	sum := func(body []byte) string { s := sha256.Sum256(body); return hex.EncodeToString(s[:]) }

	// every object, through the native API by its service id (the
	// container name, as it always was)
	for _, o := range want.Objects {
		r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", o.Container, "path", o.Path)})
		if r.Status != http.StatusOK || sum(r.Body) != o.SHA256 {
			t.Errorf("native getfile %s/%s: %d, %d bytes", o.Container, o.Path, r.Status, len(r.Body))
		}
	}
	for _, g := range want.Gone {
		if r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", g.Container, "path", g.Path)}); r.Status != http.StatusNotFound {
			t.Errorf("deleted %s/%s: %d, want 404", g.Container, g.Path, r.Status)
		}
	}
	for p, n := range want.Versions {
		sid, path, _ := strings.Cut(p, "/")
		var vl struct {
			Versions []json.RawMessage `json:"versions"`
		}
		e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", path)}).JSON(t, &vl)
		if len(vl.Versions) != n {
			t.Errorf("versionlist %s: %d versions, want %d", p, len(vl.Versions), n)
		}
	}

	// Swift, in account acme, with a key made now
	acme := e.CreateKey(t, KeySpec{Name: "acme-now", Account: "acme", Admin: true})
	sw := e.Swift(t, acme.ID, acme.Value, 1)
	for _, o := range want.Objects {
		if o.Account != "acme" {
			continue
		}
		got, err := sw.ObjectGetBytes(ctx, o.Container, o.Path)
		_, h, herr := sw.Object(ctx, o.Container, o.Path)
		if err != nil || herr != nil || sum(got) != o.SHA256 || h["X-Object-Meta-Lang"] != "en" {
			t.Errorf("Swift GET %s/%s as acme: %d bytes, meta %q, %v", o.Container, o.Path, len(got), h["X-Object-Meta-Lang"], err)
		}
	}
	if _, h, err := sw.Container(ctx, "docs"); err != nil || h["X-Container-Meta-Colour"] != "blue" {
		t.Errorf("Swift HEAD docs: %v, %v", h, err)
	}

	// S3, in the default account, with the fixture's admin key
	s3c := e.S3(t, e.AdminKeyID, e.AdminKey)
	for _, o := range want.Objects {
		if o.Container != "logs" {
			continue
		}
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Container), Key: aws.String(o.Path)})
		if err != nil {
			t.Fatalf("S3 GetObject %s/%s: %v", o.Container, o.Path, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if sum(got) != o.SHA256 {
			t.Errorf("S3 GetObject %s/%s: wrong bytes", o.Container, o.Path)
		}
	}

	// names per account work on old data: the default account makes its
	// own docs, beside acme's
	adminSw := e.Swift(t, e.AdminKeyID, e.AdminKey, 1)
	if err := adminSw.ContainerCreate(ctx, "docs", nil); err != nil {
		t.Fatalf("the default account's own docs: %v", err)
	}
	if err := adminSw.ObjectPutString(ctx, "docs", "mine.txt", "default's", ""); err != nil {
		t.Fatal(err)
	}
	if got, err := sw.ObjectGetBytes(ctx, "docs", "readme.txt"); err != nil || string(got) != "hello from swift" {
		t.Errorf("acme's docs after the default account made its own: %q, %v", got, err)
	}

	// and the whole directory verifies: chain, checkpoints signed by the
	// old release, blobs, and projections against a fresh fold
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := datadir.VerifyDir(ctx, dir, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
