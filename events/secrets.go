package events

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// Sealer encrypts key values so they can live in the log without being
// readable there: AES-256-GCM with a 32-byte server secret kept in the data
// directory (never in the log).
type Sealer struct {
	aead cipher.AEAD
	mac  []byte // key of derived tokens, itself derived from the secret
}

// NewSealer returns a Sealer for a 32-byte secret.
func NewSealer(secret []byte) (*Sealer, error) {
	if len(secret) != 32 {
		return nil, errors.New("events: sealing secret must be 32 bytes")
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("cairn auth tokens v1"))
	return &Sealer{aead: aead, mac: mac.Sum(nil)}, nil
}

// LoadOrCreateSecret reads a 32-byte secret from path, creating it (mode
// 0600, fsynced) on first use.
func LoadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("events: %s: want 32 bytes, have %d", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := WriteFileSync(path, b, 0o600); err != nil {
		return nil, err
	}
	return b, nil
}

// WriteFileSync writes a file durably: temp file, fsync, rename, fsync dir.
func WriteFileSync(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Seal encrypts a value.
func (s *Sealer) Seal(value string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return s.aead.Seal(nonce, nonce, []byte(value), nil)
}

// Open decrypts a sealed value.
func (s *Sealer) Open(sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("events: sealed value too short")
	}
	b, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", errors.New("events: sealed value does not open with this server's secret")
	}
	return string(b), nil
}

// Derive returns a 128-bit MAC of parts under a key derived from the
// server's secret, hex-encoded: a value only this server can compute again
// (auth tokens).
func (s *Sealer) Derive(parts ...string) string {
	m := hmac.New(sha256.New, s.mac)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// LookupHash is the SHA-256 hex of a key value: how a key is found from the
// value a client sends, without storing the value.
func LookupHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

const (
	idAlphabet    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	valueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func randomString(alphabet string, n int) string {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		r, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		out[i] = alphabet[r.Int64()]
	}
	return string(out)
}

// NewKeyID returns a fresh public key id ("CK" and 18 characters).
func NewKeyID() string { return "CK" + randomString(idAlphabet, 18) }

// NewKeyValue returns a fresh secret key value (40 characters, ~238 bits).
func NewKeyValue() string { return randomString(valueAlphabet, 40) }

// Secret metadata. Some account and container metadata entries hold
// secrets rather than descriptions: Swift's temp URL keys, which sign URLs
// that open objects to anyone holding one. Their values are sealed like key
// values before they enter an event, so the log, the change feed (HTTP and
// NATS) and the projections only ever hold them sealed; the clear value is
// opened where it is needed (a temp URL's signature check, the display to
// the account's or container's administrators). Metadata values are
// strings, so a sealed value is kept in the same map as SealedMetaPrefix
// followed by the sealed bytes in base64: events written before sealing
// (clear values) still fold and read as they did.

// SealedMetaPrefix starts a sealed metadata value.
const SealedMetaPrefix = "sealed:v1:"

// SecretMeta reports whether metadata entry name holds a secret, on
// accounts and containers alike: the temp URL keys (names compared in
// lower case, as the dialects store them).
func SecretMeta(name string) bool {
	switch strings.ToLower(name) {
	case "temp-url-key", "temp-url-key-2":
		return true
	}
	return false
}

// SealMeta returns meta with the value of every secret entry sealed,
// except those old already holds sealed as they are (an update that does
// not touch a secret carries it on unchanged). A clear value from before
// sealing is sealed by the next write that carries it, and a value sent
// that merely looks sealed is sealed like any other. meta is not modified.
func (s *Sealer) SealMeta(old, meta map[string]string) map[string]string {
	var out map[string]string
	for k, v := range meta {
		if !SecretMeta(k) {
			continue
		}
		if prev, ok := old[k]; ok && prev == v && strings.HasPrefix(v, SealedMetaPrefix) {
			continue
		}
		if out == nil {
			out = maps.Clone(meta)
		}
		out[k] = SealedMetaPrefix + base64.RawStdEncoding.EncodeToString(s.Seal(v))
	}
	if out == nil {
		return meta
	}
	return out
}

// OpenMeta returns the clear value of a metadata value: a sealed one
// opened, any other as it is (a value written before sealing). ok is false
// for a sealed value this server cannot open (another server's secret, or
// damage): it is then no value at all, never its sealed text, which the
// feed shows.
func (s *Sealer) OpenMeta(value string) (clear string, ok bool) {
	raw, sealed := strings.CutPrefix(value, SealedMetaPrefix)
	if !sealed {
		return value, true
	}
	if s == nil {
		return "", false
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		return "", false
	}
	v, err := s.Open(b)
	if err != nil {
		return "", false
	}
	return v, true
}

// RevealMeta returns meta with its secret entries opened (OpenMeta); one
// that does not open is left out. Only what may show or check a secret
// calls it: a temp URL's signature check, and the metadata shown to those
// who administer the account or container.
func (s *Core) RevealMeta(meta map[string]string) map[string]string {
	var out map[string]string
	for k, v := range meta {
		if !SecretMeta(k) {
			continue
		}
		if out == nil {
			out = maps.Clone(meta)
		}
		if clear, ok := s.sealer.OpenMeta(v); ok {
			out[k] = clear
		} else {
			delete(out, k)
		}
	}
	if out == nil {
		return meta
	}
	return out
}
