package native

import (
	"net/http"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/schema"
)

type restoreBody struct {
	SID    string `json:"sid"`
	To     string `json:"to"`
	Prefix string `json:"prefix"`
	Only   string `json:"only"`
	Into   string `json:"into"`
	DryRun bool   `json:"dry_run"`
}

// restore brings a service (or a prefix) back to a moment, or forks the
// moment into a new service, by appending ordinary events (events.Restore).
func (h *Handler) restore(c *call) error {
	var b restoreBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.SID == "" || b.To == "" {
		return schema.Errorf(schema.KindInvalidArgument, "sid and to (an RFC 3339 time or sync:N) are required")
	}
	if b.Only != "" && b.Only != "deletes" {
		return schema.Errorf(schema.KindInvalidArgument, `only takes "deletes"`)
	}
	if b.Into != "" && !schema.ValidServiceID(b.Into) {
		return schema.Errorf(schema.KindInvalidArgument, "into must be a new service id (3-63 lower-case letters, digits, '-' or '.')")
	}
	ctx := c.r.Context()
	svc, err := access.Lookup(ctx, h.d.State, c.p, b.SID, access.Want{Level: access.Own})
	if err != nil {
		return err
	}
	at, err := h.d.State.MomentOf(ctx, svc, b.To)
	if err != nil {
		return err
	}
	acts, err := h.d.Core.Restore(ctx, c.origin(), events.RestoreInput{Service: b.SID, At: at, Prefix: b.Prefix,
		OnlyDeletes: b.Only == "deletes", Into: b.Into, DryRun: b.DryRun})
	if err != nil {
		return err
	}
	if acts == nil {
		acts = []events.RestoreAction{}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"sid": b.SID, "into": b.Into, "sync_id": at.SyncID,
		"time": rfc3339(at.Time), "dry_run": b.DryRun, "actions": acts})
	return nil
}
