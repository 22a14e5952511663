package e2e

// Verify on read, heal on write (issue 16, item 2): a blob damaged on disk
// (a flipped byte, cut short, deleted) is never served as a success by any
// dialect, whole or in a range; the read answers a 500 in the dialect's
// own format that says what happened, and uploading the original bytes
// again repairs the file.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ncw/swift/v2"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events/datadir"
)

// itDamage is one way a blob file is damaged behind the server's back.
type itDamage string

const (
	itFlip     itDamage = "flip"
	itTruncate itDamage = "truncate"
	itRemove   itDamage = "remove"
)

// itDamageBlob damages the blob of body in e's data directory.
func itDamageBlob(t *testing.T, e *Env, body []byte, how itDamage) {
	t.Helper()
	sum := sha256.Sum256(body)
	d := hex.EncodeToString(sum[:])
	p := filepath.Join(e.Dir, datadir.BlobsDir, "sha256", d[:2], d[2:4], d)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatalf("blob of the upload: %v", err)
	}
	switch how {
	case itFlip:
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 1)
		off := fi.Size() - 100
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0x01
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	case itTruncate:
		if err := os.Truncate(p, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	case itRemove:
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// itWantMessage is the word the error message of a damage must carry.
func itWantMessage(how itDamage) string {
	if how == itRemove {
		return "data missing"
	}
	return "data damaged"
}

// itDialect uploads and reads one object through one dialect's client.
type itDialect struct {
	name string
	put  func(t *testing.T, name string, body []byte)
	// get reads the object (whole when rng is "") and returns what a
	// client got; it fails t unless a failure is a 500 of the dialect's
	// format whose message (where the format has one) carries want.
	get func(t *testing.T, name, rng, want string) ([]byte, error)
}

func itDialects(t *testing.T, e *Env) []itDialect {
	// native
	sid := e.WithService(t)
	nk := e.NewKey(t, map[string]string{sid: "write"})
	native := itDialect{name: "native",
		put: func(t *testing.T, name string, body []byte) { e.Upload(t, nk.Value, sid, name, body, nil) },
		get: func(t *testing.T, name, rng, want string) ([]byte, error) {
			req, err := http.NewRequest(http.MethodGet, e.URL+"/getfile?"+Q("sid", sid, "path", name).Encode(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("x-owncdn-key", nk.Value)
			if rng != "" {
				req.Header.Set("Range", rng)
			}
			r, err := readResp(e.Client, req)
			if err != nil {
				return nil, err // a transfer that failed
			}
			if r.Status >= 300 {
				natWantErr(t, "getfile "+name, r, http.StatusInternalServerError, "internal_error")
				if !strings.Contains(string(r.Body), want) {
					t.Errorf("getfile %s: error body %s does not say %q", name, r.Body, want)
				}
				return nil, fmt.Errorf("status %d", r.Status)
			}
			return r.Body, nil
		}}

	// S3 through aws-sdk-go-v2
	bucket := e.Bucket(t)
	sc := e.S3(t, e.AdminKeyID, e.AdminKey)
	s3d := itDialect{name: "s3",
		put: func(t *testing.T, name string, body []byte) {
			if _, err := sc.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(name),
				Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))}); err != nil {
				t.Fatalf("PutObject %s: %v", name, err)
			}
		},
		get: func(t *testing.T, name, rng, want string) ([]byte, error) {
			in := &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(name)}
			if rng != "" {
				in.Range = aws.String(rng)
			}
			out, err := sc.GetObject(context.Background(), in)
			if err != nil {
				if s3Status(err) != 0 {
					s3WantErr(t, "GetObject "+name, err, http.StatusInternalServerError, "InternalError")
					if !strings.Contains(err.Error(), want) {
						t.Errorf("GetObject %s: %v does not say %q", name, err, want)
					}
				}
				return nil, err
			}
			defer out.Body.Close()
			return io.ReadAll(out.Body)
		}}

	// Swift through ncw/swift
	_, sk := e.Account(t)
	conn := e.Swift(t, sk.ID, sk.Value, 1)
	cont := swContainer(t, conn)
	swd := itDialect{name: "swift",
		put: func(t *testing.T, name string, body []byte) {
			if _, err := conn.ObjectPut(swCtx, cont, name, bytes.NewReader(body), true, "", "application/octet-stream", nil); err != nil {
				t.Fatalf("ObjectPut %s: %v", name, err)
			}
		},
		get: func(t *testing.T, name, rng, want string) ([]byte, error) {
			h := swift.Headers{}
			if rng != "" {
				h["Range"] = rng
			}
			f, _, err := conn.ObjectOpen(swCtx, cont, name, false, h)
			if err != nil {
				if swStatus(err) != 0 {
					swWantClientErr(t, "GET "+name, err, http.StatusInternalServerError)
				}
				return nil, err
			}
			defer f.Close()
			return io.ReadAll(f)
		}}
	return append([]itDialect{native, s3d, swd}, pyDialects(t, e)...)
}

// TestIntegrity_DamagedBlob: for each damage and each dialect, whole and
// range reads fail (500, saying "data damaged" or "data missing"), never
// a success; uploading the original bytes again heals the file, and the
// server counted each damaged blob it quarantined.
func TestIntegrity_DamagedBlob(t *testing.T) {
	e := StartLocal(t, "damages blob files in the data directory")
	dialects := itDialects(t, e)
	seed := byte(0)
	quarantined := int64(0)
	for _, how := range []itDamage{itFlip, itTruncate, itRemove} {
		for _, d := range dialects {
			t.Run(string(how)+"/"+d.name, func(t *testing.T) {
				seed++
				body := make([]byte, 200<<10) // past the 64 KiB inline limit: a blob
				for i := range body {
					body[i] = byte(i*7) ^ seed
				}
				name := "obj-" + string(how) + ".bin"
				d.put(t, name, body)
				if got, err := d.get(t, name, "", ""); err != nil || !bytes.Equal(got, body) {
					t.Fatalf("read before damage: %d bytes, %v", len(got), err)
				}
				itDamageBlob(t, e, body, how)
				want := itWantMessage(how)
				if got, err := d.get(t, name, "", want); err == nil {
					t.Fatalf("whole read of a %s blob succeeded with %d bytes (equal %v)", how, len(got), bytes.Equal(got, body))
				}
				if how != itRemove {
					quarantined++
				}
				// The damaged blob is quarantined: the next reads find it missing.
				if how != itRemove {
					want = "data missing"
				}
				if got, err := d.get(t, name, "bytes=1000-1999", want); err == nil {
					t.Fatalf("range read of a %s blob succeeded with %d bytes", how, len(got))
				}
				if got, err := d.get(t, name, "bytes=-50", want); err == nil {
					t.Fatalf("suffix range read of a %s blob succeeded with %d bytes", how, len(got))
				}
				// Heal on write: the same bytes again repair the file.
				d.put(t, name, body)
				if got, err := d.get(t, name, "", ""); err != nil || !bytes.Equal(got, body) {
					t.Fatalf("whole read after re-upload: %d bytes, %v", len(got), err)
				}
				if got, err := d.get(t, name, "bytes=1000-1999", ""); err != nil || !bytes.Equal(got, body[1000:2000]) {
					t.Fatalf("range read after re-upload: %d bytes, %v", len(got), err)
				}
				if n := e.Srv.Blobs.Quarantined(); n != quarantined {
					t.Errorf("Quarantined: %d, want %d", n, quarantined)
				}
			})
		}
	}
}

// TestIntegrity_DamagedBlobRange: a flipped byte is found by a range read
// that does not cover it (the whole blob is verified before the first
// byte), in every dialect.
func TestIntegrity_DamagedBlobRange(t *testing.T) {
	e := StartLocal(t, "damages blob files in the data directory")
	for i, d := range itDialects(t, e) {
		t.Run(d.name, func(t *testing.T) {
			body := bytes.Repeat([]byte{byte(i), 'r', 'a', 'n', 'g', 'e'}, 30_000)
			d.put(t, "r.bin", body)
			itDamageBlob(t, e, body, itFlip)
			if got, err := d.get(t, "r.bin", "bytes=0-99", "data damaged"); err == nil {
				t.Fatalf("range read far from the flipped byte succeeded with %d bytes", len(got))
			}
		})
	}
}

// TestIntegrity_DamagedLargeBlob: a blob too large to verify before
// serving is hashed while it streams; a flipped byte near its end makes
// the transfer fail (the connection is dropped before the body is
// complete), never a success with wrong bytes.
func TestIntegrity_DamagedLargeBlob(t *testing.T) {
	e := StartLocal(t, "damages blob files in the data directory")
	for i, d := range itDialects(t, e) {
		t.Run(d.name, func(t *testing.T) {
			body := make([]byte, blobstore.DefaultWholeVerify+(1<<20))
			for j := range body {
				body[j] = byte(j>>8) ^ byte(i)
			}
			d.put(t, "large.bin", body)
			itDamageBlob(t, e, body, itFlip)
			got, err := d.get(t, "large.bin", "", "")
			if err == nil {
				t.Fatalf("whole read of a flipped large blob succeeded with %d bytes (equal %v)", len(got), bytes.Equal(got, body))
			}
			if len(got) >= len(body) {
				t.Fatalf("the failed read delivered all %d bytes", len(got))
			}
			d.put(t, "large.bin", body) // heal
			if got, err := d.get(t, "large.bin", "", ""); err != nil || !bytes.Equal(got, body) {
				t.Fatalf("read after re-upload: %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestIntegrity_ReuploadHeals: uploading the original bytes over a damaged
// blob no read has found yet repairs it (the existing file is verified,
// not trusted), so the object reads back whole and right.
func TestIntegrity_ReuploadHeals(t *testing.T) {
	e := StartLocal(t, "damages blob files in the data directory")
	for i, d := range itDialects(t, e) {
		for _, how := range []itDamage{itFlip, itTruncate, itRemove} {
			t.Run(d.name+"/"+string(how), func(t *testing.T) {
				body := bytes.Repeat([]byte(d.name+string(how)+strings.Repeat("!", i)), 20_000)
				d.put(t, "heal.bin", body)
				itDamageBlob(t, e, body, how)
				d.put(t, "again.bin", body) // the same digest, under another name
				for _, name := range []string{"heal.bin", "again.bin"} {
					if got, err := d.get(t, name, "", ""); err != nil || !bytes.Equal(got, body) {
						t.Fatalf("read of %s after re-upload: %d bytes (equal %v), %v", name, len(got), bytes.Equal(got, body), err)
					}
				}
			})
		}
	}
}
