package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// history is a fake VersionReader over one object's versions, newest
// first.
type history []*schema.Version

func notFound() error { return schema.Errorf(schema.KindNotFound, "file not found") }

func (h history) Object(_ context.Context, _, _ string) (*schema.Version, error) {
	if len(h) == 0 || h[0].Deleted {
		return nil, notFound()
	}
	return h[0], nil
}

func (h history) Head(_ context.Context, _, _ string) (*schema.Version, error) {
	if len(h) == 0 {
		return nil, notFound()
	}
	return h[0], nil
}

func (h history) Version(_ context.Context, _, _, id string) (*schema.Version, error) {
	for _, v := range h {
		if v.Version == id {
			return v, nil
		}
	}
	return nil, notFound()
}

func (h history) Versions(_ context.Context, _, _ string, _ int) ([]*schema.Version, error) {
	return h, nil
}

func (h history) VersionAt(_ context.Context, _, _ string, asof uint64) (*schema.Version, error) {
	for _, v := range h {
		if v.SyncID <= asof {
			return v, nil
		}
	}
	return nil, notFound()
}

func TestChoose(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v1 := &schema.Version{Version: "v1", SyncID: 1, Time: t0, Null: true}
	v2 := &schema.Version{Version: "v2", SyncID: 2, Time: t0.Add(time.Hour), DeleteAt: t0.Add(3 * time.Hour).Unix()}
	marker := &schema.Version{Version: "v3", SyncID: 3, Time: t0.Add(4 * time.Hour), Deleted: true}
	live := history{v2, v1}
	deleted := history{marker, v2, v1}
	at := func(seq uint64, tm time.Time) *projections.Moment { return &projections.Moment{SyncID: seq, Time: tm} }
	before := t0.Add(2 * time.Hour) // v2 not yet expired
	after := t0.Add(5 * time.Hour)  // v2 expired
	cases := []struct {
		name       string
		h          history
		sel        projections.Selector
		want       *schema.Version
		kind       schema.Kind
		reason     string
		wantMarker bool
	}{
		{"live", live, projections.Selector{Now: before}, v2, 0, "", false},
		{"live, expired", live, projections.Selector{Now: after}, nil, schema.KindNotFound, "", false},
		{"live, deleted: the marker answers", deleted, projections.Selector{Now: before}, nil, schema.KindNotFound, "", true},
		{"live, none", history{}, projections.Selector{Now: before}, nil, schema.KindNotFound, "", false},
		{"by id", deleted, projections.Selector{VersionID: "v1", Now: after}, v1, 0, "", false},
		{"by id: null", deleted, projections.Selector{VersionID: "null", Now: after}, v1, 0, "", false},
		{"by id: no null version", history{v2}, projections.Selector{VersionID: "null", Now: before}, nil, schema.KindNotFound, schema.ReasonNoSuchVersion, false},
		{"by id: unknown", deleted, projections.Selector{VersionID: "v9", Now: before}, nil, schema.KindNotFound, schema.ReasonNoSuchVersion, false},
		{"by id: a delete marker", deleted, projections.Selector{VersionID: "v3", Now: before}, nil, schema.KindMethodNotAllowed, "", true},
		{"by id: expired", deleted, projections.Selector{VersionID: "v2", Now: after}, nil, schema.KindNotFound, schema.ReasonNoSuchVersion, false},
		{"as of: before the first change", deleted, projections.Selector{At: at(0, t0), Now: after}, nil, schema.KindNotFound, "", false},
		{"as of: the first version", deleted, projections.Selector{At: at(1, t0), Now: after}, v1, 0, "", false},
		{"as of: live then though expired now, to an administrator", deleted, projections.Selector{At: at(2, before), Now: after, ShowExpired: true}, v2, 0, "", false},
		{"as of: live then though expired now, to anyone else", deleted, projections.Selector{At: at(2, before), Now: after}, nil, schema.KindNotFound, "", false},
		{"as of: expired by then", history{v2, v1}, projections.Selector{At: at(2, after), Now: after}, nil, schema.KindNotFound, "", false},
		{"as of: deleted by then", deleted, projections.Selector{At: at(3, after), Now: after}, nil, schema.KindNotFound, "", false},
		{"id and moment together", deleted, projections.Selector{VersionID: "v1", At: at(1, t0)}, nil, schema.KindInvalidArgument, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := projections.Choose(context.Background(), tc.h, "s", "p", tc.sel)
			if tc.want != nil {
				if err != nil || got.Version != tc.want {
					t.Fatalf("Choose = %+v, %v; want %s", got, err, tc.want.Version)
				}
				return
			}
			if !schema.IsKind(err, tc.kind) || got.Version != nil {
				t.Fatalf("Choose = %+v, %v; want kind %v", got, err, tc.kind)
			}
			if tc.reason != "" && schema.ReasonOf(err) != tc.reason {
				t.Fatalf("reason = %q, want %q", schema.ReasonOf(err), tc.reason)
			}
			if (got.Marker != nil) != tc.wantMarker {
				t.Fatalf("marker = %v, want marker %v", got.Marker, tc.wantMarker)
			}
		})
	}
}
