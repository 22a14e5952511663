package native

import (
	"net/http"

	"github.com/cairnhq/cairn/schema"
)

// ReplicaStatus reports how the replicas of this instance follow their
// primaries (the replicator keeps it; it is not history, so not in the log).
type ReplicaStatus interface {
	ReplicaStatus(sid string) (schema.ReplicaLag, bool)
}

// replicaJSON is a replica's setting and lag, in servicelist and the admin
// functions (the wire type is defined in schema).
type replicaJSON = schema.ReplicaEntry

func (h *Handler) replicaOf(s *schema.Service) *replicaJSON {
	r := s.Settings.Replica
	if r == nil {
		return nil
	}
	var lag schema.ReplicaLag
	if h.d.Replicas != nil {
		lag, _ = h.d.Replicas.ReplicaStatus(s.ID)
	}
	return &replicaJSON{Source: r.Source, SID: r.SID, Behind: lag.Behind, OldestUnapplied: lag.OldestUnapplied,
		PrimarySyncID: lag.PrimarySyncID, LastSync: rfc3339(lag.LastSync), LastResult: lag.LastResult, Resyncs: lag.Resyncs}
}

type sourceJSON struct {
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	Services []string `json:"services"`
	Created  string   `json:"created"`
}

func (h *Handler) sourceCreate(c *call) error {
	var b struct {
		Name string `json:"name"`
		URL  string `json:"url"`
		Key  string `json:"key"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	src, err := h.d.Core.CreateSource(c.r.Context(), c.origin(), b.Name, b.URL, b.Key)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, sourceJSON{Name: src.Name, URL: src.URL, Services: []string{}, Created: rfc3339(src.Created)})
	return nil
}

func (h *Handler) sourceList(c *call) error {
	if err := decodeBody(c, &struct{}{}); err != nil {
		return err
	}
	ctx := c.r.Context()
	srcs, err := h.d.State.Sources(ctx)
	if err != nil {
		return err
	}
	svcs, err := h.d.State.Services(ctx)
	if err != nil {
		return err
	}
	out := []sourceJSON{}
	for _, src := range srcs {
		e := sourceJSON{Name: src.Name, URL: src.URL, Services: []string{}, Created: rfc3339(src.Created)}
		for _, s := range svcs {
			if r := s.Settings.Replica; r != nil && r.Source == src.Name {
				e.Services = append(e.Services, s.ID)
			}
		}
		out = append(out, e)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"sources": out})
	return nil
}

func (h *Handler) sourceDelete(c *call) error {
	var b struct {
		Name string `json:"name"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.Name == "" {
		return schema.Errorf(schema.KindInvalidArgument, "missing name")
	}
	if err := h.d.Core.DeleteSource(c.r.Context(), c.origin(), b.Name); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, struct{}{})
	return nil
}
