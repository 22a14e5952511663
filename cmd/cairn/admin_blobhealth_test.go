package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/schema"
)

// cairn admin blobhealth prints what the scrubber found: a blob damaged on
// disk, quarantined by a pass, with the object that references it.
func TestAdmin_BlobHealth(t *testing.T) {
	ts := startServer(t)
	flags := []string{"--url", ts.url, "--key", ts.key}
	adminJSON(t, nil, nil, append([]string{"servicecreate", "--id", "scrubbed"}, flags...)...)
	body := bytes.Repeat([]byte("damage me "), 10000)
	if st, b := httpStatus(t, http.MethodPut, ts.url+"/uploadfile?sid=scrubbed&path=victim", ts.key, bytes.NewReader(body)); st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, b)
	}
	var h schema.BlobHealth
	adminJSON(t, nil, &h, append([]string{"blobhealth"}, flags...)...)
	if !h.Enabled || h.Interval != "24h0m0s" || len(h.Blobs) != 0 {
		t.Fatalf("blobhealth of an intact store: %+v", h)
	}

	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	p := filepath.Join(ts.dir, datadir.BlobsDir, "sha256", digest[:2], digest[2:4], digest)
	if err := os.Truncate(p, 100); err != nil {
		t.Fatal(err)
	}
	if n, err := ts.srv.Scrubber.ScrubOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("ScrubOnce: %d, %v", n, err)
	}
	adminJSON(t, nil, &h, append([]string{"blobhealth"}, flags...)...)
	if h.Passes != 1 || h.Damaged != 1 || len(h.Blobs) != 1 || h.Blobs[0].Digest != digest || h.Blobs[0].Size != 100 ||
		len(h.Blobs[0].Objects) != 1 || h.Blobs[0].Objects[0].Path != "victim" {
		t.Fatalf("blobhealth after the damage: %+v", h)
	}
}
