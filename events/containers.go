package events

import (
	"context"

	"github.com/cairnhq/cairn/schema"
)

// CreateContainer creates the service a Swift container PUT or an S3
// CreateBucket makes: in's account's container named name. Its id is the
// name when no service on the server has that id yet (so a single-tenant
// server keeps sid == bucket), else "<account>/<name>" (ARCHITECTURE.md,
// names per account). KindAlreadyExists means the account already has a
// container of that name (its service is then State.ServiceByName's).
func (s *Core) CreateContainer(ctx context.Context, o Origin, name string, in ServiceInput) (*schema.Service, error) {
	if in.Account == "" {
		in.Account = schema.DefaultAccount
	}
	in.Container = name
	if !schema.ValidContainerName(name) {
		return nil, schema.Errorf(schema.KindInvalidArgument, "invalid container name")
	}
	if svc, err := s.state.ServiceByName(ctx, in.Account, name); err == nil {
		return svc, schema.Errorf(schema.KindAlreadyExists, "account %q already has a container named %q", in.Account, name)
	} else if !schema.IsKind(err, schema.KindNotFound) {
		return nil, err
	}
	ids := []string{name, in.Account + "/" + name}
	if _, err := s.state.Service(ctx, name); err == nil {
		ids = ids[1:] // another service has the plain name as its id
	} else if !schema.IsKind(err, schema.KindNotFound) {
		return nil, err
	}
	var err error
	for _, id := range ids {
		in.ID = id
		var svc *schema.Service
		if svc, err = s.CreateService(ctx, o, in); !schema.IsKind(err, schema.KindAlreadyExists) {
			return svc, err
		}
		// taken meanwhile: by this account's container of that name (then
		// the next id fails the same way and says so), or by an id
	}
	if svc, lerr := s.state.ServiceByName(ctx, in.Account, name); lerr == nil {
		return svc, err
	}
	return nil, err
}
