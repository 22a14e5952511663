package e2e

// Logins as Swift and Selectel users type them, end to end with the swift
// command-line client and ncw/swift: the account's main login (its id or
// SEL_<id>, with an account admin key's value), sub-users
// (<account>_<login>), the catalog region from the configuration
// (swift_region, the seed's ru-1), and keys with no direct access whose
// rights come only from container ACLs. Every name starts with "swl" so it
// cannot collide with helpers of other e2e files.

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ncw/swift/v2"

	"github.com/cairnhq/cairn/cmd/server"
)

// swlSubUser creates a key of account with a login and access (nil: none,
// its rights then come only from ACLs) and returns it.
func swlSubUser(t *testing.T, e *Env, account, login string, access map[string]string) Key {
	t.Helper()
	body := map[string]any{"name": "swl-" + login, "account": account, "login": login}
	if access != nil {
		body["access"] = access
	}
	var k Key
	e.Admin(t, "keycreate", body, http.StatusCreated).JSON(t, &k)
	return k
}

// swlUpload uploads body as container/name through the swift client into
// an existing container (a key that is not an account admin cannot create
// one, so the client is told not to try) and fails the test unless the
// container then lists exactly want.
func swlUpload(t *testing.T, sw *swcCLI, container, name string, body []byte, want ...string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	sw.must("upload", "--skip-container-put", "--object-name", name, container, p)
	if got := sw.lines("list", container); !slices.Equal(got, want) {
		t.Fatalf("swift list %s: %q, want %q", container, got, want)
	}
}

// The seed's v1 logins with both clients: X-Auth-User SEL_<account> (or
// the bare account id) with the main password, <account>_<login> with a
// sub-user's; a wrong password and another account's prefix are refused.
func TestSwiftLogins_SelectelV1(t *testing.T) {
	t.Parallel()
	swcTool(t)
	e := Start(t)
	acct := uniqueName(t, "swl", 64)
	main := e.AccountNamed(t, acct, "") // an admin key without a login: the main login's password
	sub := swlSubUser(t, e, acct, "username", map[string]string{"*": "write"})
	other := uniqueName(t, "swl-other", 64)
	e.AccountNamed(t, other, "")

	// a login is unique in its account, and may be taken again in another
	e.Admin(t, "keycreate", map[string]any{"name": "dup", "account": acct, "login": "username"}, http.StatusConflict)
	swlSubUser(t, e, other, "username", nil)

	authURL := e.URL + "/auth/v1.0"
	sel := newSwcCLI(t, "-A", authURL, "-U", "SEL_"+acct, "-K", main.Value)
	if storage, _ := sel.authEnv(); storage != e.URL+"/v1/"+acct {
		t.Fatalf("swift auth as SEL_%s: storage URL %q", acct, storage)
	}
	sel.must("post", "docs") // the main login administers the account: it creates containers
	swlUpload(t, sel, "docs", "by-main.txt", []byte("main\n"), "by-main.txt")
	subCLI := newSwcCLI(t, "-A", authURL, "-U", acct+"_username", "-K", sub.Value)
	swlUpload(t, subCLI, "docs", "by-sub.txt", []byte("sub\n"), "by-main.txt", "by-sub.txt")
	if got := newSwcCLI(t, "-A", authURL, "-U", acct, "-K", main.Value).lines("list", "docs"); !slices.Equal(got, []string{"by-main.txt", "by-sub.txt"}) {
		t.Fatalf("swift list as %s: %q", acct, got)
	}
	newSwcCLI(t, "-A", authURL, "-U", "SEL_"+acct, "-K", main.Value+"x").fails("Unauthorized", "stat")

	// every wrong pairing is the same 401 as a wrong password
	want := swaV1(t, e, "/auth/v1.0", "SEL_"+acct, main.Value+"x")
	swWantErr(t, "a wrong password", want, http.StatusUnauthorized)
	for _, tc := range []struct{ what, user, key string }{
		{"the main password for a sub-user", acct + "_username", main.Value},
		{"a sub-user under another account", other + "_username", sub.Value},
		{"another account's main login", "SEL_" + other, main.Value},
		{"a sub-user's password for the main login", acct, sub.Value},
		{"an unknown account", "SEL_nobody-" + acct, main.Value},
	} {
		r := swaV1(t, e, "/auth/v1.0", tc.user, tc.key)
		swWantErr(t, tc.what, r, http.StatusUnauthorized)
		if !bytes.Equal(r.Body, want.Body) || r.Header.Get("X-Auth-Token") != "" {
			t.Errorf("%s: %q, a wrong password gets %q", tc.what, r.Body, want.Body)
		}
	}

	// ncw/swift: the sub-user through v1, v2 and v3, the main login through v1
	ctx := context.Background()
	for v := 1; v <= 3; v++ {
		c := e.Swift(t, acct+"_username", sub.Value, v)
		name := "ncw-v" + string(rune('0'+v)) + ".txt"
		if err := c.ObjectPutBytes(ctx, "docs", name, []byte(name), "text/plain"); err != nil {
			t.Fatalf("ncw/swift v%d as %s_username: put: %v", v, acct, err)
		}
		if b, err := c.ObjectGetBytes(ctx, "docs", name); err != nil || string(b) != name {
			t.Fatalf("ncw/swift v%d: get %q, %v", v, b, err)
		}
	}
	names, err := e.Swift(t, "SEL_"+acct, main.Value, 1).ObjectNames(ctx, "docs", nil)
	if want := []string{"by-main.txt", "by-sub.txt", "ncw-v1.txt", "ncw-v2.txt", "ncw-v3.txt"}; err != nil || !slices.Equal(names, want) {
		t.Fatalf("ncw/swift as SEL_%s: list %q, %v; want %q", acct, names, err, want)
	}
}

// The Selectel document's advice for v2/v3 clients, --os-region-name ru-1,
// works against a server configured with swift_region ru-1; a region the
// catalog does not name is not found.
func TestSwiftLogins_Region(t *testing.T) {
	t.Parallel()
	swcTool(t)
	swcKeystone(t)
	e := Start(t, func(c *server.Config) { c.SwiftRegion = "ru-1" })
	acct := uniqueName(t, "swl-ru", 64)
	main := e.AccountNamed(t, acct, "")
	sub := swlSubUser(t, e, acct, "username", map[string]string{"*": "write"})

	v2 := []string{"--auth-version", "2.0", "--os-auth-url", e.URL + "/v2.0", "--os-username", acct + "_username",
		"--os-password", sub.Value, "--os-tenant-name", "SEL_" + acct}
	v3 := []string{"--auth-version", "3", "--os-auth-url", e.URL + "/v3", "--os-username", "SEL_" + acct,
		"--os-user-domain-name", "Default", "--os-password", main.Value, "--os-project-name", acct,
		"--os-project-domain-name", "Default"}
	mainCLI := newSwcCLI(t, append(v3, "--os-region-name", "ru-1")...)
	mainCLI.must("post", "ru")
	swlUpload(t, mainCLI, "ru", "v3.txt", []byte("v3\n"), "v3.txt")
	swlUpload(t, newSwcCLI(t, append(v2, "--os-region-name", "ru-1")...), "ru", "v2.txt", []byte("v2\n"), "v2.txt", "v3.txt")
	newSwcCLI(t, append(v3, "--os-region-name", "RegionOne")...).fails("Endpoint for object-store not found", "stat")

	// ncw/swift asks for the region too
	ctx := context.Background()
	for _, tc := range []struct {
		version     int
		url, region string
		ok          bool
	}{{2, "/v2.0", "ru-1", true}, {3, "/v3", "ru-1", true}, {2, "/v2.0", "RegionOne", false}} {
		c := &swift.Connection{UserName: acct + "_username", ApiKey: sub.Value, AuthUrl: e.URL + tc.url, AuthVersion: tc.version,
			Domain: "Default", Region: tc.region, Retries: 1, Timeout: time.Minute}
		err := c.Authenticate(ctx)
		if !tc.ok {
			if err == nil {
				t.Errorf("ncw/swift v%d asking for region %s: authenticated", tc.version, tc.region)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ncw/swift v%d in region %s: %v", tc.version, tc.region, err)
		}
		if b, err := c.ObjectGetBytes(ctx, "ru", "v2.txt"); err != nil || !bytes.Equal(b, []byte("v2\n")) {
			t.Fatalf("ncw/swift v%d in region %s: get %q, %v", tc.version, tc.region, b, err)
		}
	}
}

// A key with no direct access reads a container only once the container's
// owner names it in X-Container-Read (by its account and login), in its
// own account and from another; the grant never lets it write.
func TestSwiftLogins_ACLOnlyKey(t *testing.T) {
	t.Parallel()
	swcTool(t)
	e := Start(t)
	ctx := context.Background()
	acct, owner := e.Account(t)
	viewer := swlSubUser(t, e, acct, "viewer", nil)
	outside, _ := e.Account(t)
	guest := swlSubUser(t, e, outside, "guest", nil)

	oc := e.Swift(t, owner.ID, owner.Value, 1)
	if err := oc.ContainerCreate(ctx, "shared", nil); err != nil {
		t.Fatal(err)
	}
	if err := oc.ObjectPutBytes(ctx, "shared", "report.txt", []byte("numbers"), "text/plain"); err != nil {
		t.Fatal(err)
	}

	vc := e.Swift(t, acct+"_viewer", viewer.Value, 1)
	_, err := vc.ObjectGetBytes(ctx, "shared", "report.txt")
	swWantClientErr(t, "the ACL-only key before the grant", err, http.StatusForbidden)
	storage := e.URL + "/v1/" + acct
	authURL := e.URL + "/auth/v1.0"
	// the other account's key asks at the owner's storage URL
	gcli := newSwcCLI(t, "-A", authURL, "-U", outside+"_guest", "-K", guest.Value, "--os-storage-url", storage)
	gcli.fails("403", "download", "shared", "report.txt", "-o", "-")

	if err := oc.ContainerUpdate(ctx, "shared", swift.Headers{"X-Container-Read": acct + ":viewer," + outside + ":guest"}); err != nil {
		t.Fatal(err)
	}
	if b, err := vc.ObjectGetBytes(ctx, "shared", "report.txt"); err != nil || string(b) != "numbers" {
		t.Fatalf("the ACL-only key after the grant: %q, %v", b, err)
	}
	if names, err := vc.ObjectNames(ctx, "shared", nil); err != nil || !slices.Equal(names, []string{"report.txt"}) {
		t.Fatalf("the ACL-only key lists after the grant: %q, %v", names, err)
	}
	if got := gcli.must("download", "shared", "report.txt", "-o", "-"); got != "numbers" {
		t.Fatalf("the other account's key after the grant: %q", got)
	}
	swWantClientErr(t, "a read grant does not write", vc.ObjectPutBytes(ctx, "shared", "x.txt", []byte("x"), "text/plain"), http.StatusForbidden)
	gcli.fails("403", "delete", "shared", "report.txt")
	if b, err := oc.ObjectGetBytes(ctx, "shared", "report.txt"); err != nil || string(b) != "numbers" {
		t.Fatalf("after the refused writes the object reads %q, %v", b, err)
	}
}
