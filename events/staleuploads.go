package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// ActorUploadReaper is the actor of the upload.aborted events that
// AbortStaleUploads appends.
const ActorUploadReaper = "upload-reaper"

// AbortStaleUploads aborts, by an upload.aborted event each (actor
// ActorUploadReaper), every open multipart upload initiated longer ago
// than maxAge by the core's clock, as a lifecycle rule's
// AbortIncompleteMultipartUpload does; its parts' blobs are then
// referenced by nothing and go with the next garbage collection. Replica
// services and read-only servers are left alone (a replica follows its
// primary's aborts). maxAge <= 0 aborts nothing. It returns how many
// uploads it aborted.
func (s *Core) AbortStaleUploads(ctx context.Context, maxAge time.Duration) (int, error) {
	if maxAge <= 0 || s.opts.ReadOnly {
		return 0, nil
	}
	svcs, err := s.state.Services(ctx)
	if err != nil {
		return 0, err
	}
	before := s.opts.Clock().Add(-maxAge)
	o := Origin{Actor: schema.Actor{KeyID: ActorUploadReaper}}
	n := 0
	for _, svc := range svcs {
		if svc.Type != schema.ServiceStorage || svc.Settings.Replica != nil {
			continue
		}
		ups, err := s.state.Uploads(ctx, svc.ID)
		if err != nil {
			return n, err
		}
		for _, u := range ups {
			if !u.Initiated.Before(before) {
				continue
			}
			err := s.AbortUpload(ctx, o, svc.ID, u.ID)
			if schema.IsKind(err, schema.KindNotFound) { // completed or aborted meanwhile
				continue
			}
			if err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// RunUploadReaper calls AbortStaleUploads every interval until ctx ends.
func (s *Core) RunUploadReaper(ctx context.Context, interval, maxAge time.Duration, log *slog.Logger) {
	every(ctx, interval, log, "upload reaper", "aborted", func(ctx context.Context) (int, error) {
		return s.AbortStaleUploads(ctx, maxAge)
	})
}
