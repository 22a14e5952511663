package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// A read-only server (Config.ReadOnly, `cairn serve --read-only`) serves a
// data directory for inspection, typically a point-in-time copy made by
// RebuildUntil: every read of every dialect works from the projections as
// they are, every change is refused by the core (events.Options.ReadOnly),
// the projections are never advanced (no runner follows the log, and the
// store itself refuses to apply: projections.Options.ReadOnly), and no
// background writer runs (reaper, checkpoints, collector, replication).
// The log may hold events past the projections (a copy takes the whole
// log): the change feed stops at the projections' sequence too.

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

// checkPointInTime returns dir's point-in-time description, refusing a
// directory that cannot be served as cfg asks: a point-in-time copy
// without ReadOnly (its log's later events would be folded), or, in
// read-only mode, a directory missing what a server needs (read-only
// creates nothing).
func checkPointInTime(cfg Config) (*PointInTime, error) {
	pit, err := ReadPointInTime(cfg.Data)
	if err != nil {
		return nil, err
	}
	if pit != nil && !cfg.ReadOnly {
		return nil, fmt.Errorf("%s is a point-in-time copy (sequence %d, made by cairn rebuild --until): serve it with --read-only",
			cfg.Data, pit.Seq)
	}
	if !cfg.ReadOnly {
		return pit, nil
	}
	need := []string{"jetstream", "projections.db", "secret.key", SigningKeyFile}
	if cfg.AdminKeyID == "" {
		need = append(need, "admin.json")
	}
	for _, name := range need {
		if _, err := os.Stat(filepath.Join(cfg.Data, name)); err != nil {
			return nil, fmt.Errorf("read-only mode serves an existing data directory (cairn rebuild --until makes one): %s has no %s",
				cfg.Data, name)
		}
	}
	return pit, nil
}

// readOnlyMoment finds where the projections stand, and checks that they
// are the ones the point-in-time copy made.
func (s *Server) readOnlyMoment(ctx context.Context, pit *PointInTime) (*Moment, error) {
	m := &Moment{Seq: s.State.Applied(), PointInTime: pit}
	var err error
	if m.LogLast, err = s.Log.LastSeq(ctx); err != nil {
		return nil, err
	}
	if pit != nil && pit.Seq != m.Seq {
		return nil, fmt.Errorf("%s: the projections stand at sequence %d, but the copy was made at %d (rebuild it)",
			s.Config.Data, m.Seq, pit.Seq)
	}
	if m.Seq > m.LogLast {
		return nil, fmt.Errorf("%s: the projections stand at sequence %d, past the log's last event %d", s.Config.Data, m.Seq, m.LogLast)
	}
	if m.Seq > 0 {
		ev, err := s.Log.Get(ctx, m.Seq)
		if err != nil {
			return nil, fmt.Errorf("event %d, where the projections stand: %w", m.Seq, err)
		}
		m.Time = ev.Time
	}
	return m, nil
}

// requestLog is the request log the dialects record to and reqlist reads.
type requestLog interface {
	RecordRequest(service string, r events.Request)
	Requests(ctx context.Context, service string, limit int) ([]events.Request, error)
}

// quietRequests is the request log of a read-only server: reqlist reads
// the log as it was copied; nothing is recorded.
type quietRequests struct{ *events.JetStream }

// RecordRequest records nothing.
func (quietRequests) RecordRequest(string, events.Request) {}

// requests is the request log the dialects get.
func (s *Server) requests() requestLog {
	if s.Config.ReadOnly {
		return quietRequests{s.Log}
	}
	return s.Log
}

// feedLog is what the change feed reads (native.Feed).
type feedLog interface {
	Read(ctx context.Context, after uint64, filters []string, limit int, wait time.Duration) ([]*schema.Event, error)
	SeqAt(ctx context.Context, t time.Time) (uint64, error)
}

// feed is the change feed the native dialect serves: the log, or on a
// read-only server the log up to the projections' sequence.
func (s *Server) feed() feedLog {
	if s.ReadOnlyAt != nil {
		return cappedFeed{log: s.Log, until: s.ReadOnlyAt.Seq}
	}
	return s.Log
}

// cappedFeed is the log up to until: what a read-only server serves as
// its change feed. Nothing comes after until, so a long poll there waits
// out its time and answers nothing, as on an idle server.
type cappedFeed struct {
	log   *events.JetStream
	until uint64
}

// Read implements native.Feed.
func (f cappedFeed) Read(ctx context.Context, after uint64, filters []string, limit int, wait time.Duration) ([]*schema.Event, error) {
	if after < f.until {
		// every event up to until is in the log already: no waiting
		evs, err := f.log.Read(ctx, after, filters, limit, 0)
		if err != nil {
			return nil, err
		}
		n := 0
		for n < len(evs) && evs[n].Seq <= f.until {
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

// SeqAt implements native.Feed.
func (f cappedFeed) SeqAt(ctx context.Context, t time.Time) (uint64, error) {
	seq, err := f.log.SeqAt(ctx, t)
	return min(seq, f.until+1), err
}

// openState opens the projections: read-only ones where the moment is
// found, else ones the runner will bring up to the log (an unreadable
// file is moved aside and rebuilt).
func (s *Server) openState(ctx context.Context, pit *PointInTime) error {
	path := filepath.Join(s.Config.Data, "projections.db")
	var err error
	if !s.Config.ReadOnly {
		s.State, err = openProjections(path, s.logger)
		return err
	}
	if s.State, err = projections.Open(path, projections.Options{ReadOnly: true}); err != nil {
		return err
	}
	s.ReadOnlyAt, err = s.readOnlyMoment(ctx, pit)
	return err
}

// readOnlyReason completes the core's refusals on a read-only server.
func (s *Server) readOnlyReason() string {
	if s.ReadOnlyAt == nil {
		return ""
	}
	return s.ReadOnlyAt.String()
}
