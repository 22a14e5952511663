package access

import (
	"context"

	"github.com/cairnhq/cairn/schema"
)

// Level is what a request wants to do with a service.
type Level int

const (
	// Read: read objects (anonymously: a container whose read ACL holds
	// ".r:*").
	Read Level = iota
	// List: list objects (anonymously: a container whose read ACL holds
	// ".rlistings" as well).
	List
	// Write: write objects.
	Write
	// Own: administer the service itself (settings, ACLs, deleting it).
	Own
)

// Want is one access decision's question.
type Want struct {
	Level Level
	// Account confines the lookup to one account's services (Swift's URL
	// names the account): another account's service of the same id is
	// not there. Empty: any service the principal can see.
	Account string
	// StorageOnly refuses cache services (KindMethodNotAllowed): S3 and
	// Swift serve storage services only.
	StorageOnly bool
	// Public lets a container's public ACLs open Read (".r:*") and List
	// (".rlistings") to anyone, anonymous requests included: Swift's
	// rule. Without it only the principal's own rights count.
	Public bool
}

// Services is the projection query a lookup needs.
type Services interface {
	Service(ctx context.Context, id string) (*schema.Service, error)
}

// Lookup is the one access decision every dialect makes before it touches
// a service: it finds service id and decides whether p (nil: an anonymous
// request) may do what want says. A dialect only translates the answer.
//
// The rules, in order:
//   - A service that does not exist, belongs to another account than
//     want.Account, or (without want.Account) belongs to another account
//     and is not shared with p by an ACL, is missing. A missing service
//     is KindNotFound (reason no_such_service) to a principal that could
//     have seen it (MayKnow) and KindForbidden to any other, exactly as
//     a service it may not read: names cannot be probed.
//   - Read and List need CanRead (or, with want.Public, a public
//     container: PublicRead for Read, PublicListing for List),
//     Write needs CanWrite, Own needs Owns; otherwise KindForbidden
//     (KindUnauthorized for an anonymous request, which has no rights to
//     show).
//   - Then, to a principal with the rights, a cache service is
//     KindMethodNotAllowed when want.StorageOnly (checked last, so a key
//     without rights learns nothing of a service's type).
func Lookup(ctx context.Context, services Services, p *Principal, id string, want Want) (*schema.Service, error) {
	svc, err := services.Service(ctx, id)
	return decide(svc, err, p, id, want)
}

// Names is the projection query a lookup by container name needs.
type Names interface {
	ServiceByName(ctx context.Context, account, name string) (*schema.Service, error)
}

// LookupName is Lookup for the service that account's container (Swift)
// or bucket (S3) called name is: container names are unique within an
// account only (ARCHITECTURE.md, names per account). The decision is
// Lookup's, want.Account included: Swift sets it (its URL names the
// account), S3 does not (a key sees its own account's buckets and those
// shared with it; who may learn a bucket is missing stays Lookup's rule).
func LookupName(ctx context.Context, services Names, p *Principal, account, name string, want Want) (*schema.Service, error) {
	svc, err := services.ServiceByName(ctx, account, name)
	return decide(svc, err, p, name, want)
}

// decide is the access decision of Lookup and LookupName on the service
// found (err: how finding it failed), which the request named id.
func decide(svc *schema.Service, err error, p *Principal, id string, want Want) (*schema.Service, error) {
	if err != nil && !schema.IsKind(err, schema.KindNotFound) {
		return nil, err
	}
	if err != nil || !p.sees(svc, want.Account) {
		if p.MayKnow(id, want.Account) {
			return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchService, "service %q not found", id)
		}
		return nil, p.refused("this key has no access to service %q", id)
	}
	if !p.allowed(svc, want) {
		if want.Level == Write && p != nil && p.CanRead(svc) {
			return nil, schema.Errorf(schema.KindForbidden, "this key has read access only to service %q", id)
		}
		return nil, p.refused("this key has no access to service %q", id)
	}
	if want.StorageOnly && svc.Type != schema.ServiceStorage { // after the rights: a key that may not read it learns nothing of its type
		return nil, schema.Errorf(schema.KindMethodNotAllowed, "service %q is a %s service; this works on storage services only", id, svc.Type)
	}
	return svc, nil
}

// sees reports whether svc is there for p: in account's services when
// account is set, else in p's own account or shared with p.
func (p *Principal) sees(svc *schema.Service, account string) bool {
	if account != "" {
		return svc.Account == account
	}
	return p != nil && (svc.Account == p.Account || p.CanRead(svc))
}

// MayKnow reports whether p may learn that service id does not exist:
// the server's admin key; within an account (Swift's URL), any key of
// that account; otherwise an account admin key or a key granted id or
// every service. Anyone else is told what a service it cannot read is
// told, so names cannot be probed.
func (p *Principal) MayKnow(id, account string) bool {
	switch {
	case p == nil:
		return false
	case p.Server:
		return true
	case account != "":
		return p.Account == account
	}
	return p.Admin || (p.Key != nil && p.Key.CanRead(id))
}

// allowed reports whether p may act on svc as want says.
func (p *Principal) allowed(svc *schema.Service, want Want) bool {
	switch want.Level {
	case Read:
		return (p != nil && p.CanRead(svc)) || (want.Public && svc.PublicRead())
	case List:
		return (p != nil && p.CanRead(svc)) || (want.Public && svc.PublicListing())
	case Write:
		return p != nil && p.CanWrite(svc)
	case Own:
		return p != nil && p.Owns(svc)
	}
	return false
}

// refused is the error for a request p may not make: KindUnauthorized
// when p is anonymous (it may yet authenticate), KindForbidden otherwise.
func (p *Principal) refused(format string, args ...any) error {
	if p == nil {
		return schema.Errorf(schema.KindUnauthorized, format, args...)
	}
	return schema.Errorf(schema.KindForbidden, format, args...)
}
