package events_test

import (
	"context"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// A container name is unique within its account, not across the server:
// two accounts each own "images" (two services, two ids), one account
// cannot have two, and deleting a service frees its name. A service whose
// container name is not its id is created by a service.created.v2 event;
// one whose name is its id by v1, the meaning v1 always had.
func TestCreateService_ContainerNamesPerAccount(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	if _, err := c.svc.CreateAccount(ctx, c.o, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	a, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "images"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "acme/images", Account: "acme", Container: "images"})
	if err != nil {
		t.Fatalf("a second account's container of the same name: %v", err)
	}
	if a.ContainerName() != "images" || b.ContainerName() != "images" || b.ID != "acme/images" || b.Account != "acme" {
		t.Fatalf("services %+v and %+v", a, b)
	}
	for acct, want := range map[string]string{schema.DefaultAccount: "images", "acme": "acme/images"} {
		got, err := c.state.ServiceByName(ctx, acct, "images")
		if err != nil || got.ID != want {
			t.Fatalf("ServiceByName(%s, images): %+v, %v; want id %s", acct, got, err, want)
		}
	}
	if _, err := c.state.ServiceByName(ctx, "acme", "acme/images"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("an id is not a container name: %v", err)
	}
	// the two hold separate objects under the same path
	for _, sid := range []string{a.ID, b.ID} {
		if _, err := c.put(ctx, sid, "a.jpg", []byte(sid), events.Conditions{}); err != nil {
			t.Fatalf("put into %s: %v", sid, err)
		}
	}
	for _, sid := range []string{a.ID, b.ID} {
		if v, err := c.state.Object(ctx, sid, "a.jpg"); err != nil || v.Size != int64(len(sid)) {
			t.Fatalf("object of %s: %+v, %v", sid, v, err)
		}
	}
	if _, err := c.svc.DeleteObject(ctx, c.o, b.ID, "a.jpg", events.Conditions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "other", Account: "acme", Container: "images"})
	if !schema.IsKind(err, schema.KindAlreadyExists) {
		t.Fatalf("a second container named images in one account: %v, want already exists", err)
	}
	ev, err := c.log.Get(ctx, b.LastSeq)
	if err != nil || ev.Type != schema.TypeServiceCreatedV2 {
		t.Fatalf("the creation of acme/images: %+v, %v; want a %s event", ev, err, schema.TypeServiceCreatedV2)
	}
	if ev, err := c.log.Get(ctx, a.LastSeq); err != nil || ev.Type != schema.TypeServiceCreated {
		t.Fatalf("the creation of images: %+v, %v; want a %s event", ev, err, schema.TypeServiceCreated)
	}
	if err := c.svc.DeleteService(ctx, c.o, "acme/images"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.state.ServiceByName(ctx, "acme", "images"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("the name of a deleted service: %v, want not found", err)
	}
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "other", Account: "acme", Container: "images"}); err != nil {
		t.Fatalf("the name again after its service was deleted: %v", err)
	}
}

// CreateContainer gives a container the plain name as its id while it is
// free on the server, "<account>/<name>" when another service has it, and
// answers KindAlreadyExists (with the existing service) for the account's
// own name.
func TestCreateContainer_IDs(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, events.Options{})
	for _, acct := range []string{"acme", "beta"} {
		if _, err := c.svc.CreateAccount(ctx, c.o, acct, acct); err != nil {
			t.Fatal(err)
		}
	}
	a, err := c.svc.CreateContainer(ctx, c.o, "logs", events.ServiceInput{Account: "acme"})
	if err != nil || a.ID != "logs" || a.ContainerName() != "logs" {
		t.Fatalf("the first logs: %+v, %v; want id logs", a, err)
	}
	b, err := c.svc.CreateContainer(ctx, c.o, "logs", events.ServiceInput{Account: "beta"})
	if err != nil || b.ID != "beta/logs" || b.ContainerName() != "logs" || b.Account != "beta" {
		t.Fatalf("beta's logs: %+v, %v; want id beta/logs", b, err)
	}
	again, err := c.svc.CreateContainer(ctx, c.o, "logs", events.ServiceInput{Account: "beta"})
	if !schema.IsKind(err, schema.KindAlreadyExists) || again == nil || again.ID != "beta/logs" {
		t.Fatalf("beta's logs again: %+v, %v; want already exists with beta/logs", again, err)
	}
	if _, err := c.svc.CreateContainer(ctx, c.o, "a/b", events.ServiceInput{Account: "beta"}); !schema.IsKind(err, schema.KindInvalidArgument) {
		t.Fatalf("a name with a slash: %v", err)
	}
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "beta/other"}); !schema.IsKind(err, schema.KindInvalidArgument) {
		t.Fatalf("a native id with a slash: %v", err)
	}
}
