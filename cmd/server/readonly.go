package server

import (
	"context"
	"path/filepath"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// A read-only server (Config.ReadOnly, `cairn serve --read-only`) serves a
// data directory for inspection, typically a point-in-time copy made by
// datadir.RebuildUntil: the core refuses every change
// (events.Options.ReadOnly), the projections are opened read-only and no
// runner follows the log, no background writer runs (reaper, checkpoints,
// collector, replication), and the change feed stops at the projections'
// sequence (datadir.CappedFeed).

// requestLog is the request log the dialects record to and reqlist reads.
type requestLog interface {
	RecordRequest(service string, r schema.Request)
	Requests(ctx context.Context, service string, limit int, keyID string) ([]schema.Request, error)
}

// quietRequests is the request log of a read-only server: reqlist reads
// the log as it was copied; nothing is recorded.
type quietRequests struct{ *events.JetStream }

// RecordRequest records nothing.
func (quietRequests) RecordRequest(string, schema.Request) {}

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
		return datadir.CappedFeed{Log: s.Log, Until: s.ReadOnlyAt.Seq}
	}
	return s.Log
}

// openState opens the projections: read-only ones where the moment is
// found, else ones the runner will bring up to the log (an unreadable
// file is moved aside and rebuilt).
func (s *Server) openState(ctx context.Context, pit *datadir.PointInTime) error {
	path := filepath.Join(s.Config.Data, datadir.ProjectionsFile)
	var err error
	if !s.Config.ReadOnly {
		s.State, err = openProjections(ctx, path, s.Log, s.logger)
		return err
	}
	if s.State, err = projections.Open(path, projections.Options{ReadOnly: true}); err != nil {
		return err
	}
	s.ReadOnlyAt, err = datadir.FindMoment(ctx, s.Config.Data, s.Log, s.State.Applied(), pit)
	return err
}

// readOnlyReason completes the core's refusals on a read-only server.
func (s *Server) readOnlyReason() string {
	if s.ReadOnlyAt == nil {
		return ""
	}
	return s.ReadOnlyAt.String()
}
