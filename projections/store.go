package projections

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// Store holds the projections in one buntdb database.
type Store struct {
	db *buntdb.DB

	mu      sync.Mutex
	applied uint64
	notify  chan struct{} // closed and replaced whenever applied grows
	failed  error         // why the runner is not applying the log, if it is not
	halted  error         // the *FoldError Apply stopped at, for good (Fail does not clear it)

	// svcCache holds decoded service records (read on every request and
	// write): Apply replaces the ones a batch changed once its transaction
	// has committed; gen tells a reader that filled a miss from an older
	// state not to store it.
	svcMu    sync.RWMutex
	svcCache map[string]schema.Service
	svcGen   uint64

	readOnly bool // Options.ReadOnly: Apply refuses
}

// Options tunes the buntdb file.
type Options struct {
	// NoSync never fsyncs the buntdb file (rebuilds into a temporary
	// file use it); by default it is fsynced once a second. Projections are
	// rebuilt from the log, so losing their tail only costs a short replay.
	NoSync bool
	// ReadOnly serves the projections as they are (a read-only server):
	// Apply refuses every batch, so the checkpoint never moves, and the
	// file is never synced or compacted in the background.
	ReadOnly bool
}

// Open opens (or creates) the projections at path; ":memory:" keeps them in
// memory only.
func Open(path string, o Options) (*Store, error) {
	db, err := buntdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		db.Close()
		return nil, err
	}
	cfg.SyncPolicy = buntdb.EverySecond
	if o.NoSync || o.ReadOnly {
		cfg.SyncPolicy = buntdb.Never
	}
	cfg.AutoShrinkMinSize = 64 << 20
	cfg.AutoShrinkDisabled = o.ReadOnly
	if err := db.SetConfig(cfg); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, notify: make(chan struct{}), svcCache: map[string]schema.Service{}, readOnly: o.ReadOnly}
	layout := ""
	err = db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(schema.KeyApplied)
		if err == buntdb.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if s.applied, err = strconv.ParseUint(v, 10, 64); err != nil {
			return err
		}
		if layout, err = tx.Get(schema.KeyLayout); err == buntdb.ErrNotFound {
			layout, err = "1", nil // written before layouts were recorded
		}
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("projections: read checkpoint: %w", err)
	}
	if s.applied > 0 && layout != schema.Layout {
		db.Close()
		return nil, &LayoutError{Have: layout}
	}
	return s, nil
}

// LayoutError is Open finding projections written by a fold of another
// key layout (schema.Layout): they must be rebuilt from the log, which
// datadir.OpenProjections does.
type LayoutError struct{ Have string }

func (e *LayoutError) Error() string {
	return fmt.Sprintf("projections: written in key layout %s, this version reads layout %s: rebuild them from the log", e.Have, schema.Layout)
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Applied returns the last applied stream sequence.
func (s *Store) Applied() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied
}

// Wait blocks until the event at seq has been applied or ctx ends. While
// the runner is failing (see Fail), or once Apply has stopped at an event
// it cannot fold (a FoldError), it returns a KindUnavailable error at once
// instead of waiting for progress that may not come.
func (s *Store) Wait(ctx context.Context, seq uint64) error {
	for {
		s.mu.Lock()
		applied, ch, failed := s.applied, s.notify, s.failed
		if s.halted != nil {
			failed = s.halted
		}
		s.mu.Unlock()
		if applied >= seq {
			return nil
		}
		if failed != nil {
			return schema.Wrap(schema.KindUnavailable, failed, "projections are not being applied")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return schema.Wrap(schema.KindUnavailable, ctx.Err(), "projections did not catch up")
		}
	}
}

// Fail records that the runner stopped with err (nil: it runs again), and
// wakes every Wait so callers do not hang on a log nobody is applying. It
// does not clear a FoldError: an event that cannot be folded stays so.
func (s *Store) Fail(err error) {
	s.wake(func() { s.failed = err })
}

// wake makes change to what Wait reads (under s.mu) and wakes every Wait
// to read it again.
func (s *Store) wake(change func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change()
	close(s.notify)
	s.notify = make(chan struct{})
}

// Apply folds a batch of consecutive events in one transaction, skipping
// those at or below the checkpoint, and moves the checkpoint.
//
// When an event cannot be folded, Apply commits the events before it (the
// checkpoint is then the last of them), applies nothing from it on and
// returns a *FoldError naming it (wrapped); from then on it answers every
// batch with that error, and Wait too. A fold is deterministic, so trying
// the same event again cannot succeed: the log needs a version of cairn
// that folds it.
func (s *Store) Apply(batch []*schema.Event) error {
	if len(batch) == 0 {
		return nil
	}
	if s.readOnly {
		return fmt.Errorf("projections: opened read-only, they stay at sequence %d", s.Applied())
	}
	s.mu.Lock()
	halted := s.halted
	s.mu.Unlock()
	if halted != nil {
		return fmt.Errorf("projections: %w", halted)
	}
	err := s.apply(batch)
	var fe *FoldError
	if !errors.As(err, &fe) {
		return err
	}
	// The transaction rolled back, the events before the bad one with it:
	// they are good, so they are committed on their own.
	i := 0
	for i < len(batch) && batch[i].Seq < fe.Seq {
		i++
	}
	if perr := s.apply(batch[:i]); perr != nil {
		return errors.Join(err, perr)
	}
	s.wake(func() { s.halted = fe })
	return err
}

// apply is Apply for a batch of events that all fold, or one whose first
// event that does not fold rolls the whole transaction back.
func (s *Store) apply(batch []*schema.Event) error {
	if len(batch) == 0 {
		return nil
	}
	applied := s.Applied()
	var last uint64
	var f *folder
	err := s.db.Update(func(tx *buntdb.Tx) error {
		f = newFolder(tx)
		for _, ev := range batch {
			if ev.Seq <= applied {
				continue
			}
			if err := f.fold(ev); err != nil {
				return &FoldError{Seq: ev.Seq, Type: ev.Type, Err: err}
			}
			last = ev.Seq
		}
		if last == 0 {
			return nil
		}
		if err := f.flush(); err != nil {
			return err
		}
		if _, _, err := tx.Set(schema.KeyApplied, strconv.FormatUint(last, 10), nil); err != nil {
			return err
		}
		_, _, err := tx.Set(schema.KeyLayout, schema.Layout, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	if last > 0 {
		s.svcMu.Lock()
		s.svcGen++
		for id, svc := range f.svcs {
			if svc == nil {
				delete(s.svcCache, id)
			} else if f.touched(id) {
				s.svcCache[id] = *svc
			}
		}
		s.svcMu.Unlock()
		s.wake(func() { s.applied = last })
	}
	return nil
}

// Source is what the runner follows: the event log.
type Source interface {
	Follow(ctx context.Context, from uint64, fn func([]*schema.Event) error) error
}

// Run applies the log from the checkpoint on until ctx ends or Apply
// fails. An event that cannot be folded ends it with a (wrapped)
// *FoldError; running it again returns that error at once.
func (s *Store) Run(ctx context.Context, src Source) error {
	return src.Follow(ctx, s.Applied()+1, s.Apply)
}

// Dump writes every key and value, in key order, one quoted "key" and
// quoted "value" per line, so no key or value can blur the line structure.
func (s *Store) Dump(w io.Writer) error {
	return s.db.View(func(tx *buntdb.Tx) error {
		var werr error
		err := tx.Ascend("", func(k, v string) bool {
			_, werr = fmt.Fprintf(w, "%q\t%q\n", k, v)
			return werr == nil
		})
		if werr != nil {
			return werr
		}
		return err
	})
}

// Digest returns the SHA-256 of Dump: equal digests mean identical indexes.
func (s *Store) Digest() (string, error) {
	h := sha256.New()
	if err := s.Dump(h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func getJSON(tx *buntdb.Tx, key string, v any) (bool, error) {
	raw, err := tx.Get(key)
	if err == buntdb.ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal([]byte(raw), v)
}

func setJSON(tx *buntdb.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, _, err = tx.Set(key, string(b), nil)
	return err
}

func del(tx *buntdb.Tx, key string) error {
	_, err := tx.Delete(key)
	if err == buntdb.ErrNotFound {
		return nil
	}
	return err
}

func decodeJSON(raw string, v any) error { return json.Unmarshal([]byte(raw), v) }

// Changed returns a channel closed at the next applied batch.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}
