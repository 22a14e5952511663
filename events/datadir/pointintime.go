package datadir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// A read-only server (`cairn serve --read-only`) serves a data directory
// for inspection, typically a point-in-time copy made by RebuildUntil:
// every read of every dialect works from the projections as they are,
// every change is refused by the core, the projections are never advanced,
// and no background writer runs. The log may hold events past the
// projections (a copy takes the whole log): the change feed stops at the
// projections' sequence too (CappedFeed).

// PointInTimeFile, in a data directory RebuildUntil made, describes the
// moment it holds. A server refuses to open such a directory unless it is
// read-only, so the later events its log holds are never folded.
const PointInTimeFile = "pointintime.json"

// PointInTime is the content of PointInTimeFile.
type PointInTime struct {
	// Seq and Time are the last event folded into the projections.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Until is the moment as asked: a time or a sequence.
	Until string `json:"until"`
	// LogLast is the newest event of the copied log; the events after Seq
	// are there for the audit trail and are never folded.
	LogLast uint64 `json:"log_last"`
	// Source is the data directory it was made from.
	Source string `json:"source"`
	// Digest is the projections' digest (projections.Store.Digest).
	Digest string `json:"digest"`
	// Made is when it was made.
	Made time.Time `json:"made"`
}

// ReadPointInTime reads dir's PointInTimeFile; nil, nil when there is none.
func ReadPointInTime(dir string) (*PointInTime, error) {
	b, err := os.ReadFile(filepath.Join(dir, PointInTimeFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p PointInTime
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, PointInTimeFile), err)
	}
	return &p, nil
}

// writePointInTime writes dir's PointInTimeFile durably.
func writePointInTime(dir string, p *PointInTime) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return events.WriteFileSync(filepath.Join(dir, PointInTimeFile), append(b, '\n'), 0o600)
}

// CheckServable returns dir's point-in-time description, refusing a
// directory that cannot be served as asked: a point-in-time copy by a
// server that is not read-only (its log's later events would be folded),
// or, read-only, a directory missing what a server needs (read-only
// creates nothing). needAdminFile says the admin key is to come from
// AdminFile.
func CheckServable(dir string, readOnly, needAdminFile bool) (*PointInTime, error) {
	pit, err := ReadPointInTime(dir)
	if err != nil {
		return nil, err
	}
	if pit != nil && !readOnly {
		return nil, fmt.Errorf("%s is a point-in-time copy (sequence %d, made by cairn rebuild --until): serve it with --read-only",
			dir, pit.Seq)
	}
	if !readOnly {
		return pit, nil
	}
	need := []string{LogDir, ProjectionsFile, SecretFile, SigningKeyFile}
	if needAdminFile {
		need = append(need, AdminFile)
	}
	for _, name := range need {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("read-only mode serves an existing data directory (cairn rebuild --until makes one): %s has no %s",
				dir, name)
		}
	}
	return pit, nil
}

// Moment is where a read-only server stands.
type Moment struct {
	// Seq is the projections' applied sequence: the state served.
	Seq uint64
	// Time is the time of event Seq (zero when Seq is 0).
	Time time.Time
	// LogLast is the newest event in the log; those after Seq are never
	// folded.
	LogLast uint64
	// PointInTime is the directory's description when RebuildUntil made it.
	PointInTime *PointInTime
}

// String is the moment as the server's refusals and start-up line say it.
func (m *Moment) String() string {
	if m.Seq == 0 {
		return "as of sequence 0, an empty log"
	}
	return fmt.Sprintf("as of sequence %d, %s", m.Seq, m.Time.UTC().Format(time.RFC3339Nano))
}

// MomentLog is what FindMoment reads of the log.
type MomentLog interface {
	LastSeq(ctx context.Context) (uint64, error)
	Get(ctx context.Context, seq uint64) (*schema.Event, error)
}

// FindMoment finds where the projections of dir, applied up to sequence
// applied, stand in log, and checks that they are the ones the
// point-in-time copy pit (if any) made.
func FindMoment(ctx context.Context, dir string, log MomentLog, applied uint64, pit *PointInTime) (*Moment, error) {
	m := &Moment{Seq: applied, PointInTime: pit}
	var err error
	if m.LogLast, err = log.LastSeq(ctx); err != nil {
		return nil, err
	}
	if pit != nil && pit.Seq != m.Seq {
		return nil, fmt.Errorf("%s: the projections stand at sequence %d, but the copy was made at %d (rebuild it)",
			dir, m.Seq, pit.Seq)
	}
	if m.Seq > m.LogLast {
		return nil, fmt.Errorf("%s: the projections stand at sequence %d, past the log's last event %d", dir, m.Seq, m.LogLast)
	}
	if m.Seq > 0 {
		ev, err := log.Get(ctx, m.Seq)
		if err != nil {
			return nil, fmt.Errorf("event %d, where the projections stand: %w", m.Seq, err)
		}
		m.Time = ev.Time
	}
	return m, nil
}

// FeedLog is the change feed a native server reads (native.Feed).
type FeedLog interface {
	Read(ctx context.Context, after uint64, filters []string, limit int, wait time.Duration) ([]*schema.Event, error)
	SeqAt(ctx context.Context, t time.Time) (uint64, error)
}

// CappedFeed is a log up to Until: what a read-only server serves as its
// change feed. Nothing comes after Until, so a long poll there waits out
// its time and answers nothing, as on an idle server.
type CappedFeed struct {
	Log   FeedLog
	Until uint64
}

// Read returns the events after after on filters, up to Until.
func (f CappedFeed) Read(ctx context.Context, after uint64, filters []string, limit int, wait time.Duration) ([]*schema.Event, error) {
	if after < f.Until {
		// every event up to Until is in the log already: no waiting
		evs, err := f.Log.Read(ctx, after, filters, limit, 0)
		if err != nil {
			return nil, err
		}
		n := 0
		for n < len(evs) && evs[n].Seq <= f.Until {
			n++
		}
		if n > 0 {
			return evs[:n], nil
		}
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return nil, nil
}

// SeqAt returns the sequence of the first event at or after t, at most
// Until+1.
func (f CappedFeed) SeqAt(ctx context.Context, t time.Time) (uint64, error) {
	seq, err := f.Log.SeqAt(ctx, t)
	return min(seq, f.Until+1), err
}
