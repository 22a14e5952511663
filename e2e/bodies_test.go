package e2e

// Bodies and digests the tests of every dialect use.

import (
	"bytes"
	"crypto/md5"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
)

// randomBytes is n pseudo-random bytes, the same for the same seed (so a
// rerun sends the same bodies) and different for different seeds.
func randomBytes(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// freshBytes is n random bytes unlike any other body of the run.
func freshBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = crand.Read(b) // never fails (crypto/rand panics instead)
	return b
}

// md5hex is the hex MD5 of b: an S3 ETag without quotes, Swift's Etag.
func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// sha256hex is the hex SHA-256 of b, as x-amz-content-sha256 and the
// blobstore's digests carry it.
func sha256hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// mustJSON marshals v for a request body.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// natJSON is mustJSON as a reader.
func natJSON(v any) io.Reader { return bytes.NewReader(mustJSON(v)) }
