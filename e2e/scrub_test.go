package e2e

// The scrubber (issue 16, item 3, the local part): a blob damaged on disk
// behind a running server's back is found by the background scrubber,
// quarantined and reported by the admin function blobhealth with the
// objects that reference it, before any client reads it; uploading the
// same bytes heals it and it leaves the report.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/schema"
)

func TestScrubber_QuarantinesAndReports(t *testing.T) {
	e := StartLocal(t, "damages a blob file in the data directory", func(c *server.Config) {
		c.ScrubInterval = server.Duration(50 * time.Millisecond)
		c.ScrubRate = 0
	})
	sid := e.WithService(t)
	k := e.NewKey(t, map[string]string{sid: "write"})
	body := bytes.Repeat([]byte("scrub me "), 20000) // past the inline threshold: a blob
	e.Upload(t, k.Value, sid, "victim", body, nil)
	e.Upload(t, k.Value, sid, "intact", bytes.Repeat([]byte("leave me "), 20000), nil)
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])

	health := func() schema.BlobHealth {
		t.Helper()
		var h schema.BlobHealth
		if err := json.Unmarshal(e.Admin(t, "blobhealth", nil, http.StatusOK).Body, &h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	// a pass over the intact store finds nothing
	eventually(t, 30*time.Second, func() error {
		if h := health(); h.Passes == 0 || h.Checked < 2 {
			return fmt.Errorf("no complete pass over both blobs yet: %+v", h)
		}
		return nil
	})
	if h := health(); !h.Enabled || len(h.Blobs) != 0 || h.Quarantined != 0 || h.Interval != "50ms" {
		t.Fatalf("health of an intact store: %+v", h)
	}

	itDamageBlob(t, e, body, itFlip)
	var found schema.DamagedBlob
	eventually(t, 30*time.Second, func() error {
		h := health()
		if len(h.Blobs) != 1 || h.Quarantined != 1 {
			return fmt.Errorf("the damage is not reported: %+v", h)
		}
		found = h.Blobs[0]
		return nil
	})
	if found.Digest != digest || !found.Quarantined || found.Reason == "" || found.Size != int64(len(body)) ||
		len(found.Objects) != 1 || found.Objects[0].Service != sid || found.Objects[0].Path != "victim" {
		t.Fatalf("damaged blob report: %+v", found)
	}
	// quarantined: out of the store, into <blobs>/quarantine, never deleted
	p := filepath.Join(e.Dir, datadir.BlobsDir, "sha256", digest[:2], digest[2:4], digest)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("the damaged file is still in the store: %v", err)
	}
	q, _ := filepath.Glob(filepath.Join(e.Dir, datadir.BlobsDir, "quarantine", digest+".*"))
	if len(q) != 1 {
		t.Fatalf("quarantine holds %v, want the damaged file", q)
	}
	// a read fails visibly instead of serving the damaged bytes
	if r := e.Do(t, Req{Method: http.MethodGet, Fn: "getfile", Key: k.Value, Query: Q("sid", sid, "path", "victim")}); r.Status != http.StatusInternalServerError {
		t.Fatalf("getfile of a quarantined blob: %d %s", r.Status, r.Body)
	}

	// uploading the same bytes heals it: the report lets it go
	e.Upload(t, k.Value, sid, "victim", body, nil)
	if h := health(); len(h.Blobs) != 0 {
		t.Fatalf("a healed blob is still reported: %+v", h.Blobs)
	}
	if r := e.Do(t, Req{Method: http.MethodGet, Fn: "getfile", Key: k.Value, Query: Q("sid", sid, "path", "victim")}); r.Status != http.StatusOK || !bytes.Equal(r.Body, body) {
		t.Fatalf("getfile after healing: %d, %d bytes", r.Status, len(r.Body))
	}
	// only the admin key sees it
	if r := e.Do(t, Req{Method: http.MethodPost, Fn: "blobhealth", Key: k.Value}); r.Status != http.StatusForbidden {
		t.Fatalf("blobhealth with a service key: %d %s", r.Status, r.Body)
	}
}

// A read-only server never scrubs: blobhealth says the scrubber is off.
func TestScrubber_ReadOnlyIsOff(t *testing.T) {
	e := StartLocal(t, "restarts the server read-only", func(c *server.Config) {
		c.ScrubInterval = server.Duration(50 * time.Millisecond)
	})
	var h schema.BlobHealth
	if err := json.Unmarshal(e.Admin(t, "blobhealth", nil, http.StatusOK).Body, &h); err != nil || !h.Enabled {
		t.Fatalf("read-write server: %+v %v", h, err)
	}
	e.Config.ReadOnly = true
	e.Restart(t)
	if err := json.Unmarshal(e.Admin(t, "blobhealth", nil, http.StatusOK).Body, &h); err != nil || h.Enabled || h.Passes != 0 {
		t.Fatalf("read-only server: %+v %v", h, err)
	}
}
