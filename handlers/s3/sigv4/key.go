package sigv4

import (
	"crypto/sha256"
	"strings"
	"sync"
)

// hmacSHA256 returns HMAC-SHA256(key, msg) for a key of at most 64 bytes.
// scratch is reused for the inner hash's input so a call does not
// allocate once scratch has grown; the grown slice is returned.
func hmacSHA256(key []byte, msg []byte, scratch []byte) ([32]byte, []byte) {
	var pad [64]byte
	copy(pad[:], key)
	for i := range pad {
		pad[i] ^= 0x36
	}
	scratch = append(append(scratch[:0], pad[:]...), msg...)
	inner := sha256.Sum256(scratch)
	var outer [64 + 32]byte
	for i := range pad {
		outer[i] = pad[i] ^ 0x36 ^ 0x5c
	}
	copy(outer[64:], inner[:])
	return sha256.Sum256(outer[:]), scratch
}

// deriveKey computes the SigV4 signing key for secret, scope date
// (YYYYMMDD), region and the s3 service.
func deriveKey(secret, date, region string) [32]byte {
	var scratch []byte
	k, scratch := hmacSHA256([]byte("AWS4"+secret), []byte(date), scratch)
	k, scratch = hmacSHA256(k[:], []byte(region), scratch)
	k, scratch = hmacSHA256(k[:], []byte("s3"), scratch)
	k, _ = hmacSHA256(k[:], []byte("aws4_request"), scratch)
	return k
}

// keyCacheMax bounds the signing-key cache; when full it is emptied.
const keyCacheMax = 1024

type keyID struct{ secret, date, region string }

// keyCache memoizes derived signing keys: every request needs one and the
// derivation costs four HMACs. An entry is keyed by its secret, so a
// rotated secret never hits a stale entry, and is added only once a
// signature made with it verified, so unauthenticated requests cannot fill
// the cache with regions of their choosing. Each Verifier has its own, so
// two servers in one process share no keys. The zero value is empty and
// ready to use.
type keyCache struct {
	mu sync.Mutex
	m  map[keyID][32]byte
}

// signingKey returns the signing key and whether it came from the cache.
func (c *keyCache) signingKey(secret, date, region string) (key [32]byte, cached bool) {
	c.mu.Lock()
	k, ok := c.m[keyID{secret, date, region}]
	c.mu.Unlock()
	if ok {
		return k, true
	}
	if len(secret) > 60 {
		// HMAC keys longer than the block are hashed first; no real secret is
		// this long, so do it the slow way rather than complicate hmacSHA256.
		return deriveLong(secret, date, region), false
	}
	return deriveKey(secret, date, region), false
}

// remember caches a signing key that verified a signature.
func (c *keyCache) remember(secret, date, region string, k [32]byte) {
	id := keyID{strings.Clone(secret), strings.Clone(date), strings.Clone(region)}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[keyID][32]byte)
	}
	if len(c.m) >= keyCacheMax {
		clear(c.m)
	}
	c.m[id] = k
	c.mu.Unlock()
}

// deriveLong derives the signing key for a secret longer than an HMAC block.
func deriveLong(secret, date, region string) [32]byte {
	first := sha256.Sum256([]byte("AWS4" + secret))
	var scratch []byte
	k, scratch := hmacSHA256(first[:], []byte(date), scratch)
	k, scratch = hmacSHA256(k[:], []byte(region), scratch)
	k, scratch = hmacSHA256(k[:], []byte("s3"), scratch)
	k, _ = hmacSHA256(k[:], []byte("aws4_request"), scratch)
	return k
}
