package fakes

import (
	"context"
	"errors"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

// The catalog hands out copies: only Put and Update change what it holds,
// and an Update whose function fails changes nothing.
func TestCatalog_CopiesAndUpdates(t *testing.T) {
	ctx := context.Background()
	c := NewCatalog()
	c.PutService(schema.Service{ID: "b", Name: "one"})
	c.PutService(schema.Service{ID: "a"})
	got, _ := c.Service(ctx, "b")
	got.Name = "changed by a reader"
	if _, err := c.UpdateService("b", func(s *schema.Service) error { s.Name = "half"; return errors.New("no") }); err == nil {
		t.Fatal("UpdateService: the function's error was lost")
	}
	if s, _ := c.Service(ctx, "b"); s.Name != "one" {
		t.Fatalf("name %q, want one", s.Name)
	}
	if _, err := c.CreateService(schema.Service{ID: "a"}); !schema.IsKind(err, schema.KindAlreadyExists) {
		t.Fatalf("CreateService of an existing id: %v", err)
	}
	if all, _ := c.Services(ctx); len(all) != 2 || all[0].ID != "a" || all[1].ID != "b" {
		t.Fatalf("Services = %v, want a and b in order", all)
	}
	if err := c.DeleteService("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Service(ctx, "a"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("a deleted service: %v", err)
	}
}

// Histories read newest first, as the projections do; removing the last
// version of a path leaves it without a history.
func TestHistories_ReadAndRemove(t *testing.T) {
	ctx := context.Background()
	var h Histories
	h.Add(&schema.Version{Service: "s", Path: "p", Version: "v1", SyncID: 1})
	h.Add(&schema.Version{Service: "s", Path: "p", Version: "v2", SyncID: 2, Deleted: true})
	if v, _ := h.Head(ctx, "s", "p"); v.Version != "v2" {
		t.Fatalf("Head = %s, want v2", v.Version)
	}
	if _, err := h.Object(ctx, "s", "p"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("Object under a delete marker: %v", err)
	}
	if v, _ := h.VersionAt(ctx, "s", "p", 1); v.Version != "v1" {
		t.Fatalf("VersionAt(1) = %s, want v1", v.Version)
	}
	if h.Remove("s", "p", "v9") != nil {
		t.Fatal("Remove of a missing version returned one")
	}
	h.Remove("s", "p", "v2")
	h.Remove("s", "p", "v1")
	if paths := h.Paths("s"); len(paths) != 0 {
		t.Fatalf("Paths after removing every version = %v", paths)
	}
}
