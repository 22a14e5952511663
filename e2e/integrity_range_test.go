package e2e

// Range reads of large blobs are verified (issue 16, item 2): a blob larger
// than the whole-verify size (16 MiB) keeps the digest of each 1 MiB chunk
// beside it, and a read checks every chunk it touches before serving a
// byte of it, so a range that covers damage never completes, in any
// dialect, and the blob is quarantined.

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cairnhq/cairn/blobstore"
)

// TestIntegrity_DamagedLargeBlobRange: in a 17 MiB object with one flipped
// byte (itDamageBlob flips the 100th byte from the end, in the last
// chunk), a range far from the damage reads back right, as the chunks it
// touches are sound and each is verified on its own (the damage is found
// by a read that touches it, a whole read, or the scrubber); a range that
// covers the flipped byte fails (the 206 and the bytes before the damaged
// chunk are out when it is found damaged, so the connection is cut before
// the declared length: never a complete transfer) and quarantines the
// blob, so the next read of any range answers "data missing".
func TestIntegrity_DamagedLargeBlobRange(t *testing.T) {
	e := StartLocal(t, "damages blob files in the data directory")
	for i, d := range itDialects(t, e) {
		t.Run(d.name, func(t *testing.T) {
			body := make([]byte, blobstore.DefaultWholeVerify+(1<<20))
			for j := range body {
				body[j] = byte(j>>8) ^ byte(j>>16) ^ byte(i)
			}
			const name = "large-range.bin"
			d.put(t, name, body)
			itDamageBlob(t, e, body, itFlip)
			flipped := len(body) - 100
			const chunk = 1 << 20 // the blobstore's chunk size
			before := e.Srv.Blobs.Quarantined()

			if got, err := d.get(t, name, "bytes=1000-1999", ""); err != nil || !bytes.Equal(got, body[1000:2000]) {
				t.Fatalf("range far from the damage: %d bytes (equal %v), %v; want the right bytes",
					len(got), bytes.Equal(got, body[1000:2000]), err)
			}
			if n := e.Srv.Blobs.Quarantined(); n != before {
				t.Fatalf("a read of sound chunks quarantined the blob (Quarantined %d, was %d)", n, before)
			}

			// The range starts 100 KiB before the damaged chunk, so the
			// headers and those bytes are on the wire when the chunk fails
			// and the cut is seen as such. (A range inside the damaged
			// chunk fails before anything is sent, and Go's transport
			// retries a GET whose reused connection closed unanswered: the
			// retry then reads "data missing", a visible failure too.)
			first := flipped/chunk*chunk - 100<<10
			rng := fmt.Sprintf("bytes=%d-%d", first, flipped+49)
			if got, err := d.get(t, name, rng, "data damaged"); err == nil || len(got) >= flipped+50-first {
				t.Fatalf("range over the flipped byte: %d bytes of %d (equal %v), err %v; want a failed transfer",
					len(got), flipped+50-first, bytes.Equal(got, body[first:flipped+50]), err)
			}
			if n := e.Srv.Blobs.Quarantined(); n != before+1 {
				t.Fatalf("Quarantined: %d, want %d", n, before+1)
			}
			if got, err := d.get(t, name, "bytes=1000-1999", "data missing"); err == nil {
				t.Fatalf("range read of a quarantined blob succeeded with %d bytes", len(got))
			}
		})
	}
}
