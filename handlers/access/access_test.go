package access_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/schema"
)

// services is a fake projection: services by id.
type services map[string]*schema.Service

func (s services) Service(_ context.Context, id string) (*schema.Service, error) {
	if svc, ok := s[id]; ok {
		return svc, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "service not found")
}

func fixture() services {
	return services{
		"photos": {ID: "photos", Account: "a", Type: schema.ServiceStorage},
		"logs":   {ID: "logs", Account: "a", Type: schema.ServiceStorage},
		"edge":   {ID: "edge", Account: "a", Type: schema.ServiceCache},
		"theirs": {ID: "theirs", Account: "b", Type: schema.ServiceStorage},
		"shared": {ID: "shared", Account: "b", Type: schema.ServiceStorage,
			Settings: schema.ServiceSettings{ReadACL: []string{"a:KREAD"}, WriteACL: []string{"a:KWRITE"}}},
		"public": {ID: "public", Account: "b", Type: schema.ServiceStorage,
			Settings: schema.ServiceSettings{ReadACL: []string{schema.ACLPublicRead}}},
		"listed": {ID: "listed", Account: "b", Type: schema.ServiceStorage,
			Settings: schema.ServiceSettings{ReadACL: []string{schema.ACLPublicRead, schema.ACLListings}}},
	}
}

func principal(id, account string, admin bool, grants map[string]string) *access.Principal {
	return &access.Principal{KeyID: id, Account: account, Admin: admin,
		Key: &schema.Key{ID: id, Account: account, Admin: admin, Access: grants}}
}

// TestLookup is the access table: every dialect asks Lookup, so these
// rows are the rules of all three.
func TestLookup(t *testing.T) {
	var (
		server    = &access.Principal{KeyID: "ADMIN", Account: schema.DefaultAccount, Admin: true, Server: true}
		acctAdmin = principal("KADMIN", "a", true, nil)
		reader    = principal("KREAD", "a", false, map[string]string{"photos": schema.AccessRead})
		writer    = principal("KWRITE", "a", false, map[string]string{"photos": schema.AccessWrite})
		all       = principal("KALL", "a", false, map[string]string{schema.AllServices: schema.AccessRead})
		stranger  = principal("KB", "c", false, map[string]string{"photos": schema.AccessWrite})
		anonymous *access.Principal
	)
	const (
		ok         = schema.KindInternal // no error
		notFound   = schema.KindNotFound
		forbidden  = schema.KindForbidden
		unauth     = schema.KindUnauthorized
		notStorage = schema.KindMethodNotAllowed
	)
	read, write, own, list := access.Want{Level: access.Read}, access.Want{Level: access.Write}, access.Want{Level: access.Own}, access.Want{Level: access.List}
	in := func(acct string, w access.Want) access.Want { w.Account = acct; return w }
	public := func(w access.Want) access.Want { w.Public = true; return w }
	storage := func(w access.Want) access.Want { w.StorageOnly = true; return w }
	cases := []struct {
		name string
		p    *access.Principal
		id   string
		want access.Want
		kind schema.Kind
	}{
		{"server reads anything", server, "theirs", read, ok},
		{"server owns anything", server, "photos", own, ok},
		{"server learns a service is missing", server, "nope", read, notFound},
		{"account admin reads its account's", acctAdmin, "logs", write, ok},
		{"account admin owns its account's", acctAdmin, "photos", own, ok},
		{"account admin: another account's is missing", acctAdmin, "theirs", read, notFound},
		{"account admin learns a service is missing", acctAdmin, "nope", read, notFound},
		{"read grant reads", reader, "photos", read, ok},
		{"read grant lists", reader, "photos", list, ok},
		{"read grant cannot write", reader, "photos", write, forbidden},
		{"read grant cannot own", reader, "photos", own, forbidden},
		{"no grant: the account's other service is refused", reader, "logs", read, forbidden},
		{"no grant: a missing service is refused the same", reader, "nope", read, forbidden},
		{"no grant: another account's is refused the same", reader, "theirs", read, forbidden},
		{"write grant writes", writer, "photos", write, ok},
		{"every-service grant learns missing", all, "nope", read, notFound},
		{"every-service grant reads the account's", all, "logs", read, ok},
		{"every-service grant: another account's is missing", all, "theirs", read, notFound},
		{"a grant names a service id, not a service of another account", stranger, "photos", read, notFound},
		{"read ACL shares across accounts", reader, "shared", read, ok},
		{"read ACL does not share writes", reader, "shared", write, forbidden},
		{"write ACL shares writes", writer, "shared", write, ok},
		{"ACL never shares ownership", writer, "shared", own, forbidden},
		{"cache service read", reader, "edge", read, forbidden},
		{"cache service by its admin", acctAdmin, "edge", read, ok},
		{"cache service refused where storage only", acctAdmin, "edge", storage(read), notStorage},
		{"cache service: a key without rights learns nothing of its type", reader, "edge", storage(read), forbidden},

		// Swift: the URL's account scopes the lookup.
		{"scoped: own account's", reader, "photos", in("a", read), ok},
		{"scoped: a key of the account learns missing", reader, "nope", in("a", read), notFound},
		{"scoped: another account's id is not in this account", reader, "theirs", in("a", read), notFound},
		{"scoped: outsider is refused a missing one", stranger, "nope", in("a", read), forbidden},
		{"scoped: outsider is refused an existing one", stranger, "photos", in("a", read), forbidden},
		{"scoped: ACL shares across accounts", reader, "shared", in("b", read), ok},
		{"scoped: anonymous asks a missing one", anonymous, "nope", in("b", public(read)), unauth},
		{"scoped: anonymous reads a public container", anonymous, "public", in("b", public(read)), ok},
		{"scoped: anonymous cannot list without .rlistings", anonymous, "public", in("b", public(list)), unauth},
		{"scoped: anonymous lists with .rlistings", anonymous, "listed", in("b", public(list)), ok},
		{"scoped: anonymous never writes", anonymous, "listed", in("b", public(write)), unauth},
		{"scoped: another account's key reads a public container", stranger, "public", in("b", public(read)), ok},
		{"public ACLs count only where the dialect says", stranger, "public", in("b", read), forbidden},
		{"scoped: server", server, "theirs", in("b", own), ok},
	}
	svcs := fixture()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := access.Lookup(context.Background(), svcs, tc.p, tc.id, tc.want)
			if tc.kind == ok {
				if err != nil || svc == nil || svc.ID != tc.id {
					t.Fatalf("Lookup = %v, %v; want service %q", svc, err, tc.id)
				}
				return
			}
			if !schema.IsKind(err, tc.kind) || svc != nil {
				t.Fatalf("Lookup = %v, %v; want kind %v", svc, err, tc.kind)
			}
		})
	}
}

func TestLookup_Messages(t *testing.T) {
	svcs := fixture()
	reader := principal("KREAD", "a", false, map[string]string{"photos": schema.AccessRead})
	_, err := access.Lookup(context.Background(), svcs, reader, "photos", access.Want{Level: access.Write})
	if !schema.IsKind(err, schema.KindForbidden) || !strings.Contains(err.Error(), `read access only to service "photos"`) {
		t.Fatalf("write with a read grant: %v", err)
	}
	server := &access.Principal{Server: true}
	_, err = access.Lookup(context.Background(), svcs, server, "nope", access.Want{})
	if schema.ReasonOf(err) != schema.ReasonNoSuchService {
		t.Fatalf("missing service's reason = %q (%v)", schema.ReasonOf(err), err)
	}
}

// keys is a fake key projection.
type keys map[string]*schema.Key

func (k keys) Key(_ context.Context, id string) (*schema.Key, error) {
	if key, ok := k[id]; ok {
		return key, nil
	}
	return nil, schema.Errorf(schema.KindNotFound, "key not found")
}

func (k keys) KeyByLookup(_ context.Context, lookup string) (*schema.Key, error) {
	for _, key := range k {
		if key.Lookup == lookup {
			return key, nil
		}
	}
	return nil, schema.Errorf(schema.KindNotFound, "key not found")
}

func TestAuthenticator(t *testing.T) {
	ctx := context.Background()
	ks := keys{
		"KGOODGOODGOODGOOD001": {ID: "KGOODGOODGOODGOOD001", Account: "a", Lookup: events.LookupHash("good-secret")},
		"KREVOKEDREVOKED00002": {ID: "KREVOKEDREVOKED00002", Account: "a", Lookup: events.LookupHash("old-secret"), Revoked: true},
	}
	a := access.New(ks, "ADMINID", "admin-secret")
	for name, value := range map[string]string{"empty": "", "unknown": "nope", "revoked": "old-secret"} {
		if _, err := a.ByValue(ctx, value); !schema.IsKind(err, schema.KindUnauthorized) {
			t.Errorf("ByValue(%s) = %v, want KindUnauthorized", name, err)
		}
	}
	p, err := a.ByValue(ctx, "good-secret")
	if err != nil || p.KeyID != "KGOODGOODGOODGOOD001" || p.Account != "a" || p.Server {
		t.Fatalf("ByValue(good) = %+v, %v", p, err)
	}
	p, err = a.ByValue(ctx, "admin-secret")
	if err != nil || !p.Server || !p.Admin {
		t.Fatalf("ByValue(admin) = %+v, %v", p, err)
	}
	p, v, err := a.ByID(ctx, "ADMINID", nil)
	if err != nil || !p.Server || v != "admin-secret" {
		t.Fatalf("ByID(admin) = %+v %q %v", p, v, err)
	}
	if _, _, err := a.ByID(ctx, "KREVOKEDREVOKED00002", func(*schema.Key) (string, error) { return "x", nil }); !schema.IsKind(err, schema.KindUnauthorized) {
		t.Fatalf("ByID(revoked) = %v", err)
	}
	if _, err := a.ByKeyID(ctx, "KNOTTHERENOTTHERE003"); !schema.IsKind(err, schema.KindUnauthorized) {
		t.Fatalf("ByKeyID(unknown) = %v", err)
	}
}

func TestPrincipal_Level(t *testing.T) {
	svc := fixture()["photos"]
	for _, tc := range []struct {
		p    *access.Principal
		want string
	}{
		{principal("KREAD", "a", false, map[string]string{"photos": schema.AccessRead}), schema.AccessRead},
		{principal("KWRITE", "a", false, map[string]string{"photos": schema.AccessWrite}), schema.AccessWrite},
		{principal("KNONE", "a", false, nil), ""},
		{principal("KADMIN", "a", true, nil), schema.AccessWrite},
	} {
		if got := tc.p.Level(svc); got != tc.want {
			t.Errorf("%s: Level = %q, want %q", tc.p.KeyID, got, tc.want)
		}
	}
}

// An ACL names a key with a login as "account:login", Swift's
// "account:user"; a login alone, or with another account, names nobody
// (logins are unique only within their account).
func TestPrincipal_NamedByLogin(t *testing.T) {
	ops := principal("KOPS", "a", false, nil)
	ops.Key.Login = "ops"
	nologin := principal("KNONE", "a", false, nil)
	for _, tc := range []struct {
		p        *access.Principal
		read     []string
		canRead  bool
		write    []string
		canWrite bool
		name     string
	}{
		{ops, nil, false, nil, false, "no grants and no ACL: nothing"},
		{ops, []string{"a:ops"}, true, nil, false, "read ACL names account:login"},
		{ops, nil, true, []string{"a:ops"}, true, "write ACL names account:login"},
		{ops, []string{"b:ops"}, false, []string{"b:ops"}, false, "the same login in another account"},
		{ops, []string{"ops"}, false, []string{"ops"}, false, "a login alone"},
		{ops, []string{"a:other"}, false, nil, false, "another login"},
		{ops, []string{"a:KOPS"}, true, nil, false, "account:key id still names it"},
		{nologin, []string{"a:"}, false, []string{"a:"}, false, "an empty login names no key without one"},
	} {
		svc := &schema.Service{ID: "c", Account: "b", Type: schema.ServiceStorage,
			Settings: schema.ServiceSettings{ReadACL: tc.read, WriteACL: tc.write}}
		if got := tc.p.CanRead(svc); got != tc.canRead {
			t.Errorf("%s: CanRead = %v, want %v", tc.name, got, tc.canRead)
		}
		if got := tc.p.CanWrite(svc); got != tc.canWrite {
			t.Errorf("%s: CanWrite = %v, want %v", tc.name, got, tc.canWrite)
		}
	}
}
