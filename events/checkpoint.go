package events

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// LoadOrCreateSigningKey reads the server's ed25519 checkpoint key (its
// 32-byte seed) from path, creating it (mode 0600, fsynced) on first use.
func LoadOrCreateSigningKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != ed25519.SeedSize {
			return nil, fmt.Errorf("events: %s: want a %d-byte ed25519 seed, have %d bytes", path, ed25519.SeedSize, len(b))
		}
		return ed25519.NewKeyFromSeed(b), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if err := WriteFileSync(path, seed, 0o600); err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// PublicKeyHex is the hex form of a signing key's public key, as
// checkpoints carry it and `cairn pubkey` prints it.
func PublicKeyHex(k ed25519.PrivateKey) string {
	return hex.EncodeToString(k.Public().(ed25519.PublicKey))
}

// Checkpoint appends a signed checkpoint of the hash chain at the log's
// newest event, unless that event is itself a checkpoint (an idle log gets
// no more). It returns the checkpoint's sequence (0 when none was needed).
func (s *Core) Checkpoint(ctx context.Context, key ed25519.PrivateKey) (uint64, error) {
	cpSubject := schema.SubjectFor(&schema.Event{Type: schema.TypeCheckpoint})
	ev, err := s.commit(ctx, func() (*schema.Event, Expect, error) {
		last, err := s.log.LastSeq(ctx)
		if err != nil {
			return nil, Expect{}, err
		}
		if last == 0 {
			return nil, Expect{}, errNothingToSign
		}
		raw, err := s.log.Raw(ctx, last)
		if err != nil {
			return nil, Expect{}, err
		}
		if raw.Subject == cpSubject || raw.Chain == "" {
			return nil, Expect{}, errNothingToSign
		}
		cp := schema.Checkpoint{Seq: last, Chain: raw.Chain, Key: PublicKeyHex(key),
			Sig: hex.EncodeToString(ed25519.Sign(key, schema.CheckpointMessage(last, raw.Chain)))}
		ev, err := s.newEvent(Origin{Actor: schema.Actor{KeyID: schema.ActorSystem}}, schema.TypeCheckpoint,
			schema.DefaultAccount, "", "", nil)
		if err != nil {
			return nil, Expect{}, err
		}
		ev.Data, err = json.Marshal(cp)
		// it signs the newest event: anything appended meanwhile fails the
		// expectation, and the retry signs the new newest event
		return ev, Expect{Global: true, LastSeq: last}, err
	})
	if errors.Is(err, errNothingToSign) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return ev.Seq, nil
}

// errNothingToSign stops a checkpoint of a log whose newest event is one.
var errNothingToSign = errors.New("nothing to sign")

// RunCheckpoints writes a checkpoint every interval until ctx ends.
func (s *Core) RunCheckpoints(ctx context.Context, key ed25519.PrivateKey, interval time.Duration, log *slog.Logger) {
	every(ctx, interval, log, "checkpoint", "", func(ctx context.Context) (int, error) {
		_, err := s.Checkpoint(ctx, key)
		return 0, err
	})
}
