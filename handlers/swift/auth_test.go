package swift

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/schema"
)

// loginEnv is the handler fixture with keys that have logins: acct-a's
// sub-user "username" (read on photos), an account admin key with a login
// of its own ("boss"), a key with no direct access ("viewer"), and
// acct-b's sub-user "username" too (logins are unique per account only).
func loginEnv(t *testing.T, region string) *env {
	t.Helper()
	e := newEnv(t)
	for _, k := range []schema.Key{
		{ID: "KSUB", Account: "acct-a", Login: "username", Access: map[string]string{"photos": schema.AccessRead}},
		{ID: "KBOSS", Account: "acct-a", Login: "boss", Admin: true},
		{ID: "KVIEWER", Account: "acct-a", Login: "viewer", Access: map[string]string{}},
		{ID: "KSUBB", Account: "acct-b", Login: "username", Access: map[string]string{"theirs": schema.AccessRead}},
	} {
		k.Lookup = events.LookupHash("secret-" + k.ID)
		e.st.PutKey(k)
	}
	e.h = New(Deps{Core: e.core, State: e.st, Auth: access.New(e.st, "ADMINID", "secret-ADMINID"), Requests: e.reqs, Region: region})
	return e
}

// v1 asks for a token with tempauth's headers.
func (e *env) v1(user, key string) *httptest.ResponseRecorder {
	return e.do(http.MethodGet, "/auth/v1.0", "", map[string]string{"X-Auth-User": user, "X-Auth-Key": key}, "")
}

// post sends a JSON body to path.
func (e *env) post(path string, body any) *httptest.ResponseRecorder {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return e.do(http.MethodPost, path, "", map[string]string{"Content-Type": "application/json"}, string(b))
}

// v2 asks Keystone v2 for a token; tenant "" names none.
func (e *env) v2(user, key, tenant string) *httptest.ResponseRecorder {
	auth := map[string]any{"passwordCredentials": map[string]string{"username": user, "password": key}}
	if tenant != "" {
		auth["tenantName"] = tenant
	}
	return e.post("/v2.0/tokens", map[string]any{"auth": auth})
}

// v3 asks Keystone v3 for a token as the user name in a user domain.
func (e *env) v3(user, domain, key string) *httptest.ResponseRecorder {
	return e.post("/v3/auth/tokens", map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{"name": user, "password": key,
			"domain": map[string]string{"name": domain}}}}}})
}

// tokenOf is the token an auth answer carries (v1 and v2 headers or body,
// v3's X-Subject-Token).
func tokenOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if tk := w.Header().Get("X-Auth-Token"); tk != "" {
		return tk
	}
	if tk := w.Header().Get("X-Subject-Token"); tk != "" {
		return tk
	}
	var v2 struct {
		Access struct {
			Token struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"access"`
	}
	if json.Unmarshal(w.Body.Bytes(), &v2) != nil || v2.Access.Token.ID == "" {
		t.Fatalf("no token in the answer: %d %v %q", w.Code, w.Header(), w.Body)
	}
	return v2.Access.Token.ID
}

// The login forms of auth v1, v2 and v3: each issues a token of the key
// the password belongs to, with that key's rights; every wrong pairing is
// the same 401 as a wrong password.
func TestAuth_Logins(t *testing.T) {
	e := loginEnv(t, "")
	unauthorized := msgOf(errUnauthorized)
	type attempt struct {
		name string
		w    func() *httptest.ResponseRecorder
		key  string // the key the token must belong to; "" = refused
	}
	for _, tc := range []attempt{
		{"v1 key id (as before)", func() *httptest.ResponseRecorder { return e.v1("KSUB", "secret-KSUB") }, "KSUB"},
		{"v1 tempauth account:keyid (as before)", func() *httptest.ResponseRecorder { return e.v1("acct-a:KSUB", "secret-KSUB") }, "KSUB"},
		{"v1 main login: the account id", func() *httptest.ResponseRecorder { return e.v1("acct-a", "secret-KADMIN") }, "KADMIN"},
		{"v1 main login: SEL_<account>", func() *httptest.ResponseRecorder { return e.v1("SEL_acct-a", "secret-KADMIN") }, "KADMIN"},
		{"v1 sub-user <account>_<login>", func() *httptest.ResponseRecorder { return e.v1("acct-a_username", "secret-KSUB") }, "KSUB"},
		{"v1 sub-user SEL_<account>_<login>", func() *httptest.ResponseRecorder { return e.v1("SEL_acct-a_username", "secret-KSUB") }, "KSUB"},
		{"v1 tempauth account:login", func() *httptest.ResponseRecorder { return e.v1("acct-a:username", "secret-KSUB") }, "KSUB"},
		{"v1 the other account's sub-user of the same login", func() *httptest.ResponseRecorder { return e.v1("acct-b_username", "secret-KSUBB") }, "KSUBB"},
		{"v1 admin key with a login: as its sub-user", func() *httptest.ResponseRecorder { return e.v1("acct-a_boss", "secret-KBOSS") }, "KBOSS"},

		{"v1 sub-user, wrong password", func() *httptest.ResponseRecorder { return e.v1("acct-a_username", "secret-KREAD") }, ""},
		{"v1 sub-user, another account's password", func() *httptest.ResponseRecorder { return e.v1("acct-a_username", "secret-KSUBB") }, ""},
		{"v1 sub-user named under another account", func() *httptest.ResponseRecorder { return e.v1("acct-b_username", "secret-KSUB") }, ""},
		{"v1 sub-user of an unknown account", func() *httptest.ResponseRecorder { return e.v1("nobody_username", "secret-KSUB") }, ""},
		{"v1 tempauth account:login of another account", func() *httptest.ResponseRecorder { return e.v1("acct-b:username", "secret-KSUB") }, ""},
		{"v1 a login alone", func() *httptest.ResponseRecorder { return e.v1("username", "secret-KSUB") }, ""},
		{"v1 main login, wrong password", func() *httptest.ResponseRecorder { return e.v1("acct-a", "secret-KADMIN-x") }, ""},
		{"v1 main login of an unknown account", func() *httptest.ResponseRecorder { return e.v1("nobody", "secret-KADMIN") }, ""},
		{"v1 main login of another account", func() *httptest.ResponseRecorder { return e.v1("acct-b", "secret-KADMIN") }, ""},
		{"v1 main login with a non-admin key", func() *httptest.ResponseRecorder { return e.v1("acct-a", "secret-KREAD") }, ""},
		{"v1 main login with an admin key that has a login", func() *httptest.ResponseRecorder { return e.v1("acct-a", "secret-KBOSS") }, ""},
		{"v1 main login with a revoked admin key", func() *httptest.ResponseRecorder { return e.v1("acct-a", "secret-KGONE") }, ""},
		{"v1 main login of the default account with the server key", func() *httptest.ResponseRecorder { return e.v1(schema.DefaultAccount, "secret-ADMINID") }, ""},
		{"v1 sub-user form with a key that has no login", func() *httptest.ResponseRecorder { return e.v1("acct-a_", "secret-KREAD") }, ""},

		{"v2 sub-user", func() *httptest.ResponseRecorder { return e.v2("acct-a_username", "secret-KSUB", "") }, "KSUB"},
		{"v2 sub-user with its tenant", func() *httptest.ResponseRecorder { return e.v2("acct-a_username", "secret-KSUB", "acct-a") }, "KSUB"},
		{"v2 main login with the SEL_ tenant", func() *httptest.ResponseRecorder { return e.v2("SEL_acct-a", "secret-KADMIN", "SEL_acct-a") }, "KADMIN"},
		{"v2 a login alone with its tenant", func() *httptest.ResponseRecorder { return e.v2("username", "secret-KSUB", "acct-a") }, "KSUB"},
		{"v2 sub-user with another tenant", func() *httptest.ResponseRecorder { return e.v2("acct-a_username", "secret-KSUB", "acct-b") }, ""},
		{"v2 a login alone with another tenant", func() *httptest.ResponseRecorder { return e.v2("username", "secret-KSUB", "acct-b") }, ""},
		{"v2 a login alone", func() *httptest.ResponseRecorder { return e.v2("username", "secret-KSUB", "") }, ""},
		{"v2 wrong password", func() *httptest.ResponseRecorder { return e.v2("acct-a_username", "nope", "") }, ""},

		{"v3 main login", func() *httptest.ResponseRecorder { return e.v3("acct-a", "Default", "secret-KADMIN") }, "KADMIN"},
		{"v3 sub-user", func() *httptest.ResponseRecorder { return e.v3("SEL_acct-a_username", "Default", "secret-KSUB") }, "KSUB"},
		{"v3 a login in its account's domain", func() *httptest.ResponseRecorder { return e.v3("username", "acct-a", "secret-KSUB") }, "KSUB"},
		{"v3 a login in the Default domain", func() *httptest.ResponseRecorder { return e.v3("username", "Default", "secret-KSUB") }, ""},
		{"v3 a login in another account's domain", func() *httptest.ResponseRecorder { return e.v3("username", "acct-b", "secret-KSUB") }, ""},
		{"v3 main login with a non-admin key", func() *httptest.ResponseRecorder { return e.v3("acct-a", "Default", "secret-KSUB") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w()
			if tc.key == "" {
				wantError(t, tc.name, w, http.StatusUnauthorized, unauthorized)
				if h := w.Header().Get("X-Auth-Token") + w.Header().Get("X-Subject-Token"); h != "" {
					t.Fatalf("a refused login got a token: %q", h)
				}
				return
			}
			if w.Code/100 != 2 {
				t.Fatalf("status %d: %q", w.Code, w.Body)
			}
			if got := e.core.tokens[tokenOf(t, w)]; got != tc.key {
				t.Fatalf("the token belongs to %q, want %q", got, tc.key)
			}
		})
	}
	// the main login's storage URL is the account's
	if w := e.v1("SEL_acct-a", "secret-KADMIN"); w.Header().Get("X-Storage-Url") != "http://example.com/v1/acct-a" {
		t.Errorf("main login: X-Storage-Url %q", w.Header().Get("X-Storage-Url"))
	}
}

// A sub-user's token carries its key's rights, and a key with no direct
// access reads a container only once an ACL names its login.
func TestAuth_LoginRights(t *testing.T) {
	e := loginEnv(t, "")
	sub := tokenOf(t, e.v1("acct-a_username", "secret-KSUB"))
	if w := e.do(http.MethodGet, "/v1/acct-a/photos/cat", sub, nil, ""); w.Code != http.StatusOK || w.Body.String() != "meow" {
		t.Fatalf("the sub-user reads photos: %d %q", w.Code, w.Body)
	}
	wantError(t, "the sub-user reads private", e.do(http.MethodGet, "/v1/acct-a/private/x", sub, nil, ""),
		http.StatusForbidden, msgOf(errForbidden))

	viewer := tokenOf(t, e.v1("acct-a_viewer", "secret-KVIEWER"))
	wantError(t, "no ACL yet", e.do(http.MethodGet, "/v1/acct-a/private/x", viewer, nil, ""), http.StatusForbidden, msgOf(errForbidden))
	w := e.do(http.MethodPost, "/v1/acct-a/private", tkAdmin, map[string]string{"X-Container-Read": "acct-a:viewer"}, "")
	if w.Code != http.StatusNoContent {
		t.Fatalf("the owner grants the login: %d %q", w.Code, w.Body)
	}
	if w := e.do(http.MethodGet, "/v1/acct-a/private/x", viewer, nil, ""); w.Code != http.StatusOK || w.Body.String() != "secret" {
		t.Fatalf("the ACL-only key reads after the grant: %d %q", w.Code, w.Body)
	}
	wantError(t, "a read ACL does not let it write", e.do(http.MethodPut, "/v1/acct-a/private/y", viewer, nil, "y"),
		http.StatusForbidden, msgOf(errForbidden))
	// acct-b's "username" is not named by acct-a's ACL of that login
	w = e.do(http.MethodPost, "/v1/acct-a/private", tkAdmin, map[string]string{"X-Container-Read": "acct-a:username"}, "")
	if w.Code != http.StatusNoContent {
		t.Fatalf("the owner grants acct-a:username: %d %q", w.Code, w.Body)
	}
	other := tokenOf(t, e.v1("acct-b_username", "secret-KSUBB"))
	wantError(t, "the same login in another account", e.do(http.MethodGet, "/v1/acct-a/private/x", other, nil, ""),
		http.StatusForbidden, msgOf(errForbidden))
}

// The v2 and v3 catalogs name the configured region, RegionOne by default.
func TestAuth_Region(t *testing.T) {
	for _, tc := range []struct{ configured, want string }{{"", "RegionOne"}, {"ru-1", "ru-1"}} {
		e := loginEnv(t, tc.configured)
		var v2 struct {
			Access struct {
				ServiceCatalog []struct {
					Type      string              `json:"type"`
					Endpoints []map[string]string `json:"endpoints"`
				} `json:"serviceCatalog"`
			} `json:"access"`
		}
		w := e.v2("acct-a_username", "secret-KSUB", "")
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &v2) != nil || len(v2.Access.ServiceCatalog) != 1 ||
			len(v2.Access.ServiceCatalog[0].Endpoints) == 0 {
			t.Fatalf("v2: %d %q", w.Code, w.Body)
		}
		for _, ep := range v2.Access.ServiceCatalog[0].Endpoints {
			if ep["region"] != tc.want {
				t.Errorf("region %q: v2 endpoint %v, want region %q", tc.configured, ep, tc.want)
			}
		}
		var v3 struct {
			Token struct {
				Catalog []struct {
					Endpoints []map[string]string `json:"endpoints"`
				} `json:"catalog"`
			} `json:"token"`
		}
		w = e.v3("acct-a", "Default", "secret-KADMIN")
		if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &v3) != nil || len(v3.Token.Catalog) != 1 ||
			len(v3.Token.Catalog[0].Endpoints) != 3 {
			t.Fatalf("v3: %d %q", w.Code, w.Body)
		}
		for _, ep := range v3.Token.Catalog[0].Endpoints {
			if ep["region"] != tc.want || ep["region_id"] != tc.want || !strings.HasSuffix(ep["url"], "/v1/acct-a") {
				t.Errorf("region %q: v3 endpoint %v, want region %q", tc.configured, ep, tc.want)
			}
		}
	}
}
