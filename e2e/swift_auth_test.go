package e2e

// Swift dialect authentication, end to end with plain net/http: auth v1
// (tempauth style), v2 and v3 (Keystone style), the token life cycle on an
// injected clock, and what every wrong credential or token gets. Every name
// starts with "swa" so it cannot collide with helpers of other e2e files.

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
)

// swaTokenLife and swaReuse are the contract's token lifetime (valid 24 h
// from issue) and reuse window (the same token for 12 h).
const (
	swaTokenLife = 24 * time.Hour
	swaReuse     = 12 * time.Hour
)

// swaDo sends one request to the URL u and reads the whole answer. Every
// Swift response, 401s included, must carry a non-empty X-Trans-Id, the
// same as its X-Openstack-Request-Id.
func swaDo(t testing.TB, e *Env, method, u string, hdr map[string]string, body []byte) *Resp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	canon := make(map[string]string, len(hdr))
	for k, v := range hdr {
		canon[http.CanonicalHeaderKey(k)] = v
	}
	r := swDo(t, e, method, u, "", canon, rd)
	swaTransID(t, method+" "+u, r)
	return r
}

// swaTransID fails the test unless r carries a transaction id, and the
// same one as X-Openstack-Request-Id (Swift's proxy sets both to its txn id).
func swaTransID(t testing.TB, what string, r *Resp) string {
	t.Helper()
	id := r.Header.Get("X-Trans-Id")
	if id == "" {
		t.Errorf("%s (%d): no X-Trans-Id header", what, r.Status)
	}
	if rid := r.Header.Get("X-Openstack-Request-Id"); rid != id {
		t.Errorf("%s (%d): X-Openstack-Request-Id %q, X-Trans-Id %q", what, r.Status, rid, id)
	}
	return id
}

// swaKey creates a key of account; a non-admin key may read everything.
func swaKey(t testing.TB, e *Env, account string, admin bool) Key {
	t.Helper()
	s := KeySpec{Name: "swa-" + account, Account: account, Admin: admin}
	if !admin {
		s.Access = map[string]string{"*": "read"}
	}
	return e.CreateKey(t, s)
}

// swaCred is what an authentication returned.
type swaCred struct {
	Token string
	URL   string // storage URL
	Left  int64  // v1: seconds the token has left
}

// swaV1 asks for a token at path with the tempauth headers ("" sends none).
func swaV1(t testing.TB, e *Env, path, user, key string) *Resp {
	t.Helper()
	hdr := map[string]string{}
	if user != "" {
		hdr["X-Auth-User"] = user
	}
	if key != "" {
		hdr["X-Auth-Key"] = key
	}
	return swaDo(t, e, http.MethodGet, e.URL+path, hdr, nil)
}

// swaV1OK authenticates with v1 and checks the answer's shape.
func swaV1OK(t testing.TB, e *Env, path, user, key string) swaCred {
	t.Helper()
	r := swaV1(t, e, path, user, key)
	swWant(t, "auth v1 "+path+" as "+user, r, http.StatusNoContent)
	c := swaCred{Token: r.Header.Get("X-Auth-Token"), URL: r.Header.Get("X-Storage-Url")}
	if c.Token == "" || c.URL == "" {
		t.Fatalf("auth v1 %s: X-Auth-Token %q, X-Storage-Url %q", path, c.Token, c.URL)
	}
	if st := r.Header.Get("X-Storage-Token"); st != c.Token {
		t.Errorf("auth v1 %s: X-Storage-Token %q, X-Auth-Token %q", path, st, c.Token)
	}
	left, err := strconv.ParseInt(r.Header.Get("X-Expire-Auth-Token"), 10, 64)
	if err != nil {
		t.Fatalf("auth v1 %s: X-Expire-Auth-Token %q: %v", path, r.Header.Get("X-Expire-Auth-Token"), err)
	}
	// tempauth itself names this header X-Auth-Token-Expires; when it is sent
	// too it must say the same
	if alt := r.Header.Get("X-Auth-Token-Expires"); alt != "" && alt != strconv.FormatInt(left, 10) {
		t.Errorf("auth v1 %s: X-Auth-Token-Expires %q, X-Expire-Auth-Token %d", path, alt, left)
	}
	c.Left = left
	return c
}

// swaV2Body is a v2 password request (tenant "" leaves tenantName out).
func swaV2Body(user, password, tenant string) []byte {
	auth := map[string]any{"passwordCredentials": map[string]any{"username": user, "password": password}}
	if tenant != "" {
		auth["tenantName"] = tenant
	}
	return mustJSON(map[string]any{"auth": auth})
}

// swaV2 posts a v2 token request.
func swaV2(t testing.TB, e *Env, body []byte) *Resp {
	t.Helper()
	return swaDo(t, e, http.MethodPost, e.URL+"/v2.0/tokens", map[string]string{"Content-Type": "application/json"}, body)
}

type swaV2Endpoint struct {
	PublicURL   string `json:"publicURL"`
	InternalURL string `json:"internalURL"`
	AdminURL    string `json:"adminURL"`
	Region      string `json:"region"`
}

type swaV2Access struct {
	Access struct {
		Token struct {
			ID      string `json:"id"`
			Expires string `json:"expires"`
			Tenant  struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"tenant"`
		} `json:"token"`
		User struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		ServiceCatalog []struct {
			Type      string          `json:"type"`
			Name      string          `json:"name"`
			Endpoints []swaV2Endpoint `json:"endpoints"`
		} `json:"serviceCatalog"`
	} `json:"access"`
}

// swaV2OK authenticates with v2 as the key k of account and checks the
// answer's shape; it returns the token, its storage URL and its expiry.
func swaV2OK(t testing.TB, e *Env, body []byte, k Key, account string) (swaCred, time.Time) {
	t.Helper()
	r := swaV2(t, e, body)
	swWant(t, "auth v2", r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("auth v2: Content-Type %q", ct)
	}
	natHasMembers(t, "auth v2", r.Body, "access")
	var a swaV2Access
	r.JSON(t, &a)
	tok := a.Access.Token
	if tok.ID == "" {
		t.Fatalf("auth v2: no access.token.id: %s", r.Body)
	}
	// the storage URL is /v1/<account>: the tenant id is the account, as
	// Swift's keystoneauth puts the project id into the storage URL
	if tok.Tenant.ID != account {
		t.Errorf("auth v2: token.tenant.id %q, want %q: %s", tok.Tenant.ID, account, r.Body)
	}
	if u := a.Access.User; u.ID == "" || (u.ID != k.ID && u.Name != k.ID) {
		t.Errorf("auth v2: user %+v does not name the key %s (python-keystoneclient needs user.id)", u, k.ID)
	}
	exp, err := time.Parse(time.RFC3339, tok.Expires)
	if err != nil {
		t.Fatalf("auth v2: token.expires %q: %v", tok.Expires, err)
	}
	var url string
	n := 0
	for _, s := range a.Access.ServiceCatalog {
		if s.Type != "object-store" {
			continue
		}
		n++
		if s.Name != "swift" || len(s.Endpoints) == 0 {
			t.Errorf("auth v2: object-store entry %+v", s)
		}
		for _, ep := range s.Endpoints {
			if ep.Region != "RegionOne" || ep.PublicURL == "" || ep.InternalURL == "" || ep.AdminURL == "" {
				t.Errorf("auth v2: object-store endpoint %+v", ep)
			}
			if url == "" {
				url = ep.PublicURL
			}
		}
	}
	if n != 1 || url == "" {
		t.Fatalf("auth v2: %d object-store entries in serviceCatalog: %s", n, r.Body)
	}
	return swaCred{Token: tok.ID, URL: url}, exp
}

// swaV3Body is a v3 password request naming the user by field ("id" or
// "name"); extra members go into the user object ("domain") or next to
// identity ("scope").
func swaV3Body(field, user, password string, domain, scope any) []byte {
	u := map[string]any{field: user, "password": password}
	if domain != nil {
		u["domain"] = domain
	}
	auth := map[string]any{"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": u}}}
	if scope != nil {
		auth["scope"] = scope
	}
	return mustJSON(map[string]any{"auth": auth})
}

// swaV3 posts a v3 token request.
func swaV3(t testing.TB, e *Env, body []byte) *Resp {
	t.Helper()
	return swaDo(t, e, http.MethodPost, e.URL+"/v3/auth/tokens", map[string]string{"Content-Type": "application/json"}, body)
}

type swaV3Token struct {
	Token struct {
		ExpiresAt string   `json:"expires_at"`
		IssuedAt  string   `json:"issued_at"`
		Methods   []string `json:"methods"`
		User      struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		Project struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"project"`
		Catalog []struct {
			Type      string `json:"type"`
			Name      string `json:"name"`
			Endpoints []struct {
				Interface string `json:"interface"`
				URL       string `json:"url"`
				Region    string `json:"region"`
				RegionID  string `json:"region_id"`
			} `json:"endpoints"`
		} `json:"catalog"`
	} `json:"token"`
}

// swaV3OK authenticates with v3 as the key k of account and checks the
// answer's shape; it returns the token, its public storage URL and the
// token's issue and expiry times.
func swaV3OK(t testing.TB, e *Env, body []byte, k Key, account string) (swaCred, time.Time, time.Time) {
	t.Helper()
	r := swaV3(t, e, body)
	swWant(t, "auth v3", r, http.StatusCreated)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("auth v3: Content-Type %q", ct)
	}
	tokID := r.Header.Get("X-Subject-Token")
	if tokID == "" {
		t.Fatalf("auth v3: no X-Subject-Token")
	}
	natHasMembers(t, "auth v3", r.Body, "token")
	var v swaV3Token
	r.JSON(t, &v)
	tok := v.Token
	if !slices.Equal(tok.Methods, []string{"password"}) {
		t.Errorf("auth v3: methods %q, want [password]", tok.Methods)
	}
	if tok.User.ID == "" || (tok.User.ID != k.ID && tok.User.Name != k.ID) {
		t.Errorf("auth v3: user %+v does not name the key %s (python-keystoneclient needs user.id)", tok.User, k.ID)
	}
	// as for v2: the project id is the account of the storage URL
	if tok.Project.ID != account {
		t.Errorf("auth v3: project.id %q, want %q: %s", tok.Project.ID, account, r.Body)
	}
	issued, err := time.Parse(time.RFC3339, tok.IssuedAt)
	if err != nil {
		t.Fatalf("auth v3: issued_at %q: %v", tok.IssuedAt, err)
	}
	exp, err := time.Parse(time.RFC3339, tok.ExpiresAt)
	if err != nil {
		t.Fatalf("auth v3: expires_at %q: %v", tok.ExpiresAt, err)
	}
	if d := exp.Sub(issued); d != swaTokenLife {
		t.Errorf("auth v3: expires_at - issued_at = %v, want %v", d, swaTokenLife)
	}
	var url string
	n := 0
	for _, s := range tok.Catalog {
		if s.Type != "object-store" {
			continue
		}
		n++
		if s.Name != "swift" || len(s.Endpoints) == 0 {
			t.Errorf("auth v3: object-store entry %+v", s)
		}
		for _, ep := range s.Endpoints {
			if ep.Region != "RegionOne" || ep.RegionID != "RegionOne" || ep.URL == "" ||
				!slices.Contains([]string{"public", "internal", "admin"}, ep.Interface) {
				t.Errorf("auth v3: object-store endpoint %+v", ep)
			}
			if ep.Interface == "public" {
				if url != "" {
					t.Errorf("auth v3: two public object-store endpoints")
				}
				url = ep.URL
			}
		}
	}
	if n != 1 || url == "" {
		t.Fatalf("auth v3: %d object-store entries, public url %q: %s", n, url, r.Body)
	}
	return swaCred{Token: tokID, URL: url}, issued, exp
}

// swaHead sends HEAD u with the token ("" sends none).
func swaHead(t testing.TB, e *Env, u, token string) *Resp {
	t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["X-Auth-Token"] = token
	}
	return swaDo(t, e, http.MethodHead, u, hdr, nil)
}

// swaWantAccount fails the test unless r is a 204 account HEAD with the
// counts (-1: any number).
func swaWantAccount(t testing.TB, what string, r *Resp, containers, objects, bytes int64) {
	t.Helper()
	swWant(t, what, r, http.StatusNoContent)
	for h, want := range map[string]int64{"X-Account-Container-Count": containers, "X-Account-Object-Count": objects,
		"X-Account-Bytes-Used": bytes} {
		v := r.Header.Get(h)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || (want >= 0 && n != want) {
			t.Errorf("%s: %s %q, want %d", what, h, v, want)
		}
	}
	if r.Header.Get("X-Timestamp") == "" {
		t.Errorf("%s: no X-Timestamp", what)
	}
}

// swaWant401 fails the test unless r is a Swift-shaped 401 (with a body
// unless it answers a HEAD) that gives nothing of the account away.
func swaWant401(t testing.TB, what string, r *Resp, head bool) {
	t.Helper()
	swWant(t, what, r, http.StatusUnauthorized)
	if v := r.Header.Get("X-Account-Container-Count"); v != "" {
		t.Errorf("%s: a 401 carries X-Account-Container-Count %q", what, v)
	}
	if head {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: 401 Content-Type %q, want text/html", what, ct)
	}
	if !bytes.Contains(r.Body, []byte("<h1>Unauthorized</h1>")) {
		t.Errorf("%s: 401 body %q", what, r.Body)
	}
}

// swaNear reports whether a and b are less than a second apart: a token's
// issue time is the log's time of its event, which may be a little after
// the clock's reading.
func swaNear(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Second && d < time.Second
}

// swaFlip changes the last character of s.
func swaFlip(s string) string {
	if s == "" {
		return "x"
	}
	last := byte('A')
	if s[len(s)-1] == 'A' {
		last = 'B'
	}
	return s[:len(s)-1] + string(last)
}

func TestSwiftAuth_V1(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	k := e.AccountNamed(t, "acme", "")
	e.Admin(t, "accountcreate", map[string]any{"id": "beta"}, http.StatusCreated)
	want := e.URL + "/v1/acme"

	var tok string
	for _, path := range []string{"/auth/v1.0", "/auth/v1.0/", "/auth/"} {
		for _, user := range []string{k.ID, "acme:" + k.ID} {
			c := swaV1OK(t, e, path, user, k.Value)
			if c.URL != want {
				t.Errorf("auth v1 %s as %s: X-Storage-Url %q, want %q", path, user, c.URL, want)
			}
			if c.Left <= 0 || c.Left > int64(swaTokenLife/time.Second) {
				t.Errorf("auth v1 %s: X-Expire-Auth-Token %d", path, c.Left)
			}
			if tok == "" {
				tok = c.Token
			} else if c.Token != tok {
				t.Errorf("auth v1 %s as %s: token %q, the first answer gave %q (one token per key for 12 h)", path, user, c.Token, tok)
			}
		}
	}
	swaWantAccount(t, "HEAD the account with the v1 token", swaHead(t, e, want, tok), 0, 0, 0)
	r := swaDo(t, e, http.MethodHead, want, map[string]string{"X-Storage-Token": tok}, nil)
	swaWantAccount(t, "HEAD the account with X-Storage-Token", r, 0, 0, 0)
	r = swaDo(t, e, http.MethodGet, want, map[string]string{"X-Auth-Token": tok}, nil)
	swWant(t, "GET the empty account", r, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("GET the empty account: body %q", r.Body)
	}
	// the token is acme's: another account answers 403
	swWant(t, "HEAD another account", swaHead(t, e, e.URL+"/v1/beta", tok), http.StatusForbidden)

	// the server admin key belongs to account default and may act on every account
	adm := swaV1OK(t, e, "/auth/v1.0", e.AdminKeyID, e.AdminKey)
	if adm.URL != e.URL+"/v1/default" {
		t.Errorf("server admin key: X-Storage-Url %q, want %q", adm.URL, e.URL+"/v1/default")
	}
	if adm.Token == tok {
		t.Errorf("two keys got the same token %q", tok)
	}
	if c := swaV1OK(t, e, "/auth/v1.0", "default:"+e.AdminKeyID, e.AdminKey); c.Token != adm.Token || c.URL != adm.URL {
		t.Errorf("server admin key as default:<id>: %+v, want %+v", c, adm)
	}
	swaWantAccount(t, "server admin HEAD its account", swaHead(t, e, adm.URL, adm.Token), 0, 0, 0)
	swaWantAccount(t, "server admin HEAD acme", swaHead(t, e, want, adm.Token), 0, 0, 0)

	// a non-admin key of acme authenticates to acme too
	rk := swaKey(t, e, "acme", false)
	rc := swaV1OK(t, e, "/auth/v1.0", "acme:"+rk.ID, rk.Value)
	if rc.URL != want || rc.Token == tok || rc.Token == adm.Token {
		t.Errorf("non-admin key of acme: %+v (admin key's token %q)", rc, tok)
	}
	swaWantAccount(t, "non-admin key HEAD its account", swaHead(t, e, want, rc.Token), 0, 0, 0)
}

func TestSwiftAuth_V2(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	k := e.AccountNamed(t, "acme", "")
	want := e.URL + "/v1/acme"
	before := time.Now()
	c, exp := swaV2OK(t, e, swaV2Body(k.ID, k.Value, ""), k, "acme")
	if c.URL != want {
		t.Errorf("auth v2: object-store publicURL %q, want %q", c.URL, want)
	}
	if exp.Before(before.Add(swaTokenLife-time.Minute)) || exp.After(time.Now().Add(swaTokenLife+time.Minute)) {
		t.Errorf("auth v2: token expires %v, want 24 h from now", exp)
	}
	swaWantAccount(t, "HEAD the account with the v2 token", swaHead(t, e, c.URL, c.Token), 0, 0, 0)

	// tenantName is optional; naming the key's account changes nothing
	c2, exp2 := swaV2OK(t, e, swaV2Body(k.ID, k.Value, "acme"), k, "acme")
	if c2 != c || !exp2.Equal(exp) {
		t.Errorf("auth v2 with tenantName: %+v expiring %v, without: %+v expiring %v", c2, exp2, c, exp)
	}
	// one token per key, whichever protocol asks
	if v1 := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value); v1.Token != c.Token || v1.URL != c.URL {
		t.Errorf("auth v1 after v2: %+v, v2 gave %+v", v1, c)
	}
	// the server admin key: account default
	adm, _ := swaV2OK(t, e, swaV2Body(e.AdminKeyID, e.AdminKey, ""), Key{ID: e.AdminKeyID}, "default")
	if adm.URL != e.URL+"/v1/default" || adm.Token == c.Token {
		t.Errorf("auth v2 as the server admin key: %+v", adm)
	}
}

func TestSwiftAuth_V3(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	k := e.AccountNamed(t, "acme", "")
	want := e.URL + "/v1/acme"
	before := time.Now().Truncate(time.Second)
	c, issued, exp := swaV3OK(t, e, swaV3Body("id", k.ID, k.Value, nil, nil), k, "acme")
	if c.URL != want {
		t.Errorf("auth v3: public object-store url %q, want %q", c.URL, want)
	}
	if issued.Before(before.Add(-time.Second)) || issued.After(time.Now().Add(time.Second)) {
		t.Errorf("auth v3: issued_at %v, now is %v", issued, time.Now())
	}
	swaWantAccount(t, "HEAD the account with the v3 token", swaHead(t, e, c.URL, c.Token), 0, 0, 0)

	// by name, with a domain (ignored) and with the project scope that
	// python-swiftclient and ncw/swift send (Keystone accepts it)
	for name, body := range map[string][]byte{
		"user name":             swaV3Body("name", k.ID, k.Value, nil, nil),
		"user name, domain":     swaV3Body("name", k.ID, k.Value, map[string]any{"name": "Default"}, nil),
		"user id, any domain":   swaV3Body("id", k.ID, k.Value, map[string]any{"id": "whatever"}, nil),
		"project scope by name": swaV3Body("name", k.ID, k.Value, map[string]any{"name": "Default"}, map[string]any{"project": map[string]any{"name": "acme", "domain": map[string]any{"name": "Default"}}}),
		"project scope by id":   swaV3Body("id", k.ID, k.Value, nil, map[string]any{"project": map[string]any{"id": "acme"}}),
	} {
		c2, issued2, exp2 := swaV3OK(t, e, body, k, "acme")
		if c2 != c || !issued2.Equal(issued) || !exp2.Equal(exp) {
			t.Errorf("auth v3 (%s): %+v issued %v expiring %v, want %+v issued %v expiring %v", name, c2, issued2, exp2, c, issued, exp)
		}
	}
	if v1 := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value); v1.Token != c.Token || v1.URL != c.URL {
		t.Errorf("auth v1 after v3: %+v, v3 gave %+v", v1, c)
	}
	v2, exp2 := swaV2OK(t, e, swaV2Body(k.ID, k.Value, ""), k, "acme")
	if v2 != c || !swaNear(exp2, exp) { // v2's expires may have whole seconds only, as Keystone v2's has
		t.Errorf("auth v2 after v3: %+v expiring %v, v3 gave %+v expiring %v", v2, exp2, c, exp)
	}
}

func TestSwiftAuth_PublicURL(t *testing.T) {
	t.Parallel()
	const base = "https://cdn.example.test"
	e := Start(t, func(c *server.Config) { c.PublicURL = base })
	k := e.AccountNamed(t, "acme", "")
	want := base + "/v1/acme"
	c := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value)
	if c.URL != want {
		t.Errorf("auth v1 with PublicURL: X-Storage-Url %q, want %q", c.URL, want)
	}
	if c2, _ := swaV2OK(t, e, swaV2Body(k.ID, k.Value, ""), k, "acme"); c2.URL != want {
		t.Errorf("auth v2 with PublicURL: publicURL %q, want %q", c2.URL, want)
	}
	if c3, _, _ := swaV3OK(t, e, swaV3Body("id", k.ID, k.Value, nil, nil), k, "acme"); c3.URL != want {
		t.Errorf("auth v3 with PublicURL: url %q, want %q", c3.URL, want)
	}
	// the public host is not this server: the same path here takes the token
	swaWantAccount(t, "HEAD the storage URL's path", swaHead(t, e, e.URL+strings.TrimPrefix(c.URL, base), c.Token), 0, 0, 0)
}

func TestSwiftAuth_Rejections(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	k := e.AccountNamed(t, "acme", "")
	e.Admin(t, "accountcreate", map[string]any{"id": "beta"}, http.StatusCreated)
	gone := swaKey(t, e, "acme", true)
	goneTok := swaV1OK(t, e, "/auth/v1.0", gone.ID, gone.Value).Token
	e.Admin(t, "keyrevoke", map[string]any{"id": gone.ID}, http.StatusOK)
	const unknownID = "ABCDEFGHJKMNPQRSTVWX" // the shape of a key id, but no key's
	wrong := swaFlip(k.Value)

	// every failed authentication of one protocol answers 401 with the same
	// body and Content-Type, and no token or storage URL
	same := func(t *testing.T, proto string, cases []string, send func(i int) *Resp) {
		t.Helper()
		var first *Resp
		for i, name := range cases {
			r := send(i)
			what := proto + " " + name
			swWant(t, what, r, http.StatusUnauthorized)
			for _, h := range []string{"X-Auth-Token", "X-Storage-Token", "X-Storage-Url", "X-Subject-Token"} {
				if v := r.Header.Get(h); v != "" {
					t.Errorf("%s: 401 carries %s %q", what, h, v)
				}
			}
			if first == nil {
				first = r
				continue
			}
			if !bytes.Equal(r.Body, first.Body) || r.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
				t.Errorf("%s: 401 %q (%s), %s %s: %q (%s): a failure must not say what was wrong", what, r.Body,
					r.Header.Get("Content-Type"), proto, cases[0], first.Body, first.Header.Get("Content-Type"))
			}
		}
	}

	t.Run("v1", func(t *testing.T) {
		type cred struct{ name, user, key string }
		cases := []cred{
			{"wrong password", k.ID, wrong},
			{"longer password", k.ID, k.Value + "x"},
			{"no password", k.ID, ""},
			{"unknown key id", unknownID, k.Value},
			{"unknown user", "nobody", k.Value},
			{"another account's prefix", "beta:" + k.ID, k.Value},
			{"unknown account prefix", "nosuch:" + k.ID, k.Value},
			{"empty account prefix", ":" + k.ID, k.Value},
			{"revoked key", gone.ID, gone.Value},
			{"revoked key with its account", "acme:" + gone.ID, gone.Value},
			{"id and value swapped", k.Value, k.ID},
			{"no credentials", "", ""},
		}
		names := make([]string, len(cases))
		for i, c := range cases {
			names[i] = c.name
		}
		same(t, "auth v1", names, func(i int) *Resp { return swaV1(t, e, "/auth/v1.0", cases[i].user, cases[i].key) })
	})

	t.Run("v2", func(t *testing.T) {
		type body struct {
			name string
			b    []byte
		}
		cases := []body{
			{"wrong password", swaV2Body(k.ID, wrong, "")},
			{"unknown user", swaV2Body(unknownID, k.Value, "")},
			{"revoked key", swaV2Body(gone.ID, gone.Value, "")},
			// Keystone refuses a tenant the user has no role on
			{"another account as tenantName", swaV2Body(k.ID, k.Value, "beta")},
			{"empty password", swaV2Body(k.ID, "", "")},
			{"no password", mustJSON(map[string]any{"auth": map[string]any{"passwordCredentials": map[string]any{"username": k.ID}}})},
			{"password not a string", []byte(`{"auth":{"passwordCredentials":{"username":"` + k.ID + `","password":12}}}`)},
			{"no passwordCredentials", []byte(`{"auth":{}}`)},
			{"empty object", []byte(`{}`)},
			{"array", []byte(`[]`)},
			{"truncated JSON", []byte(`{"auth":{"passwordCredentials":`)},
			{"not JSON", []byte("username=" + k.ID + "&password=" + k.Value)},
			{"empty body", []byte{}},
		}
		names := make([]string, len(cases))
		for i, c := range cases {
			names[i] = c.name
		}
		same(t, "auth v2", names, func(i int) *Resp { return swaV2(t, e, cases[i].b) })
	})

	t.Run("v3", func(t *testing.T) {
		type body struct {
			name string
			b    []byte
		}
		cases := []body{
			{"wrong password by id", swaV3Body("id", k.ID, wrong, nil, nil)},
			{"wrong password by name", swaV3Body("name", k.ID, wrong, map[string]any{"name": "Default"}, nil)},
			{"unknown user id", swaV3Body("id", unknownID, k.Value, nil, nil)},
			{"revoked key", swaV3Body("id", gone.ID, gone.Value, nil, nil)},
			// Keystone refuses a project the user has no role on
			{"another account as project", swaV3Body("id", k.ID, k.Value, nil, map[string]any{"project": map[string]any{"id": "beta"}})},
			{"empty password", swaV3Body("id", k.ID, "", nil, nil)},
			{"token method only", mustJSON(map[string]any{"auth": map[string]any{"identity": map[string]any{
				"methods": []string{"token"}, "token": map[string]any{"id": goneTok}}}})},
			{"no user", []byte(`{"auth":{"identity":{"methods":["password"],"password":{}}}}`)},
			{"no identity", []byte(`{"auth":{}}`)},
			{"empty object", []byte(`{}`)},
			{"truncated JSON", []byte(`{"auth":{"identity":`)},
			{"empty body", []byte{}},
		}
		names := make([]string, len(cases))
		for i, c := range cases {
			names[i] = c.name
		}
		same(t, "auth v3", names, func(i int) *Resp { return swaV3(t, e, cases[i].b) })
	})

	// none of that disturbed the key: it still authenticates
	c := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value)
	swaWantAccount(t, "HEAD after the failures", swaHead(t, e, c.URL, c.Token), 0, 0, 0)
}

func TestSwiftAuth_TokenLifetime(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	e := Start(t, func(c *server.Config) { c.Clock = clk.Now })
	k := e.AccountNamed(t, "acme", "")
	other := swaKey(t, e, "acme", false)
	u := e.URL + "/v1/acme"
	day := int64(swaTokenLife / time.Second)
	t0 := clk.Now()

	c1 := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value)
	if c1.Left != day {
		t.Errorf("a new token: X-Expire-Auth-Token %d, want %d", c1.Left, day)
	}
	o1 := swaV1OK(t, e, "/auth/v1.0", other.ID, other.Value)
	if o1.Token == c1.Token {
		t.Fatalf("two keys got the same token %q", c1.Token)
	}

	// within 12 h every protocol returns the same token, with its first expiry
	clk.Advance(time.Hour)
	if c := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value); c.Token != c1.Token || c.Left != day-3600 {
		t.Errorf("v1 after 1 h: token %q with %d s left, want %q with %d", c.Token, c.Left, c1.Token, day-3600)
	}
	c2, exp := swaV2OK(t, e, swaV2Body(k.ID, k.Value, ""), k, "acme")
	if c2.Token != c1.Token || !swaNear(exp, t0.Add(swaTokenLife)) {
		t.Errorf("v2 after 1 h: token %q expiring %v, want %q expiring %v", c2.Token, exp, c1.Token, t0.Add(swaTokenLife))
	}
	c3, issued, exp := swaV3OK(t, e, swaV3Body("id", k.ID, k.Value, nil, nil), k, "acme")
	if c3.Token != c1.Token || !swaNear(issued, t0) || !swaNear(exp, t0.Add(swaTokenLife)) {
		t.Errorf("v3 after 1 h: token %q issued %v expiring %v, want %q issued %v", c3.Token, issued, exp, c1.Token, t0)
	}
	clk.Advance(swaReuse - time.Hour - time.Second) // t0 + 12 h - 1 s
	if c := swaV1OK(t, e, "/auth/v1.0", "acme:"+k.ID, k.Value); c.Token != c1.Token {
		t.Errorf("v1 at 12 h - 1 s: a new token %q, want still %q", c.Token, c1.Token)
	}

	// after 12 h: the old token works until a new one is issued, then never again
	clk.Advance(2 * time.Second) // t0 + 12 h + 1 s
	swaWantAccount(t, "the first token at 12 h + 1 s", swaHead(t, e, u, c1.Token), 0, 0, 0)
	n1 := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value)
	t1 := clk.Now()
	if n1.Token == c1.Token || n1.Token == o1.Token || n1.Left != day {
		t.Fatalf("v1 at 12 h + 1 s: token %q with %d s left, want a new one (old %q) with %d", n1.Token, n1.Left, c1.Token, day)
	}
	swaWant401(t, "the replaced token", swaHead(t, e, u, c1.Token), true)
	swaWant401(t, "the replaced token (GET)", swaDo(t, e, http.MethodGet, u, map[string]string{"X-Auth-Token": c1.Token}, nil), false)
	swaWantAccount(t, "the new token", swaHead(t, e, u, n1.Token), 0, 0, 0)
	if c, issued, _ := swaV3OK(t, e, swaV3Body("id", k.ID, k.Value, nil, nil), k, "acme"); c.Token != n1.Token || !swaNear(issued, t1) {
		t.Errorf("v3 right after the new token: %q issued %v, want %q issued %v", c.Token, issued, n1.Token, t1)
	}
	// the other key's token (issued at t0) is untouched by k's new one
	swaWantAccount(t, "the other key's token at 12 h + 1 s", swaHead(t, e, u, o1.Token), 0, 0, 0)

	// a token dies 24 h after its issue without any new authentication
	clk.Advance(swaReuse - 2*time.Second) // t0 + 24 h - 1 s
	swaWantAccount(t, "the other key's token at 24 h - 1 s", swaHead(t, e, u, o1.Token), 0, 0, 0)
	clk.Advance(2 * time.Second) // t0 + 24 h + 1 s
	swaWant401(t, "the other key's token at 24 h + 1 s", swaHead(t, e, u, o1.Token), true)
	swaWantAccount(t, "the new token 12 h after its issue", swaHead(t, e, u, n1.Token), 0, 0, 0)
	if c, _ := swaV2OK(t, e, swaV2Body(other.ID, other.Value, ""), other, "acme"); c.Token == o1.Token || c.Token == n1.Token {
		t.Errorf("v2 for the other key after its token expired: %q", c.Token)
	} else {
		swaWantAccount(t, "the other key's new token", swaHead(t, e, u, c.Token), 0, 0, 0)
	}
	clk.Advance(swaReuse - time.Second) // t1 + 24 h - 1 s
	swaWantAccount(t, "the second token at 24 h - 1 s", swaHead(t, e, u, n1.Token), 0, 0, 0)
	clk.Advance(2 * time.Second) // t1 + 24 h + 1 s
	swaWant401(t, "the second token at 24 h + 1 s", swaHead(t, e, u, n1.Token), true)
	n2 := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value)
	if n2.Token == n1.Token || n2.Token == c1.Token || n2.Left != day {
		t.Errorf("v1 after the token expired: %+v", n2)
	}
	swaWantAccount(t, "the third token", swaHead(t, e, u, n2.Token), 0, 0, 0)
}

func TestSwiftAuth_TokenSurvivesRestart(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	e := Start(t, func(c *server.Config) { c.Clock = clk.Now })
	k := e.AccountNamed(t, "acme", "")
	day := int64(swaTokenLife / time.Second)
	t0 := clk.Now()
	c1 := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value)

	clk.Advance(time.Hour)
	e.Restart(t) // keeps e.Config, so the clock too
	u := e.URL + "/v1/acme"
	swaWantAccount(t, "the token after a restart", swaHead(t, e, u, c1.Token), 0, 0, 0)
	if c := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value); c.Token != c1.Token || c.URL != u || c.Left != day-3600 {
		t.Errorf("v1 after a restart: %+v, want token %q, URL %q, %d s left", c, c1.Token, u, day-3600)
	}
	if c, issued, _ := swaV3OK(t, e, swaV3Body("id", k.ID, k.Value, nil, nil), k, "acme"); c.Token != c1.Token || !swaNear(issued, t0) {
		t.Errorf("v3 after a restart: %q issued %v, want %q issued %v", c.Token, issued, c1.Token, t0)
	}

	// the 12 h reuse window counts from the first issue, across the restart
	clk.Advance(swaReuse - time.Hour + time.Second) // t0 + 12 h + 1 s
	c2, _ := swaV2OK(t, e, swaV2Body(k.ID, k.Value, ""), k, "acme")
	if c2.Token == c1.Token {
		t.Fatalf("v2 at 12 h + 1 s after a restart: still the first token")
	}
	e.Restart(t)
	u = e.URL + "/v1/acme"
	swaWant401(t, "the replaced token after a restart", swaHead(t, e, u, c1.Token), true)
	swaWantAccount(t, "the new token after a restart", swaHead(t, e, u, c2.Token), 0, 0, 0)
	if c := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value); c.Token != c2.Token {
		t.Errorf("v1 after the second restart: %q, want %q", c.Token, c2.Token)
	}
}

func TestSwiftAuth_RevokedKey(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "restarts the server")
	k := e.AccountNamed(t, "acme", "")
	keep := swaKey(t, e, "acme", false)
	u := e.URL + "/v1/acme"
	tok := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value).Token
	keepTok := swaV1OK(t, e, "/auth/v1.0", keep.ID, keep.Value).Token
	swaWantAccount(t, "before the revocation", swaHead(t, e, u, tok), 0, 0, 0)

	e.Admin(t, "keyrevoke", map[string]any{"id": k.ID}, http.StatusOK)
	swaWant401(t, "a revoked key's token", swaHead(t, e, u, tok), true)
	swaWant401(t, "a revoked key's token (GET)", swaDo(t, e, http.MethodGet, u, map[string]string{"X-Auth-Token": tok}, nil), false)
	swaWant401(t, "a revoked key's token on a container", swaDo(t, e, http.MethodGet, u+"/c", map[string]string{"X-Auth-Token": tok}, nil), false)
	swaWantAccount(t, "another key's token", swaHead(t, e, u, keepTok), 0, 0, 0)
	swWant(t, "auth v1 with the revoked key", swaV1(t, e, "/auth/v1.0", k.ID, k.Value), http.StatusUnauthorized)
	swWant(t, "auth v2 with the revoked key", swaV2(t, e, swaV2Body(k.ID, k.Value, "")), http.StatusUnauthorized)
	swWant(t, "auth v3 with the revoked key", swaV3(t, e, swaV3Body("id", k.ID, k.Value, nil, nil)), http.StatusUnauthorized)

	e.Restart(t)
	u = e.URL + "/v1/acme"
	swaWant401(t, "a revoked key's token after a restart", swaHead(t, e, u, tok), true)
	swaWantAccount(t, "another key's token after a restart", swaHead(t, e, u, keepTok), 0, 0, 0)
}

func TestSwiftAuth_BadTokens(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	k := e.AccountNamed(t, "acme", "")
	c := swaV1OK(t, e, "/auth/v1.0", k.ID, k.Value)
	u := e.URL + "/v1/acme"
	ids := map[string]string{}
	seen := func(what string, r *Resp) {
		id := r.Header.Get("X-Trans-Id")
		if prev, dup := ids[id]; dup && id != "" {
			t.Errorf("%s: X-Trans-Id %q again (first on %s)", what, id, prev)
		}
		ids[id] = what
	}
	bad := map[string]map[string]string{
		"no token":                 {},
		"empty X-Auth-Token":       {"X-Auth-Token": ""},
		"garbage":                  {"X-Auth-Token": "garbage"},
		"token with a byte more":   {"X-Auth-Token": c.Token + "x"},
		"token with a byte less":   {"X-Auth-Token": c.Token[:len(c.Token)-1]},
		"token with its last byte": {"X-Auth-Token": swaFlip(c.Token)},
		"the key's value":          {"X-Auth-Token": k.Value},
		"the key's id":             {"X-Auth-Token": k.ID},
		"garbage X-Storage-Token":  {"X-Storage-Token": "garbage"},
		"Bearer token":             {"Authorization": "Bearer " + c.Token},
	}
	for name, hdr := range bad {
		for _, p := range []string{"", "/c", "/c/o"} {
			what := name + " on " + "/v1/acme" + p
			r := swaDo(t, e, http.MethodHead, u+p, hdr, nil)
			seen("HEAD "+what, r)
			swaWant401(t, "HEAD "+what, r, true)
			r = swaDo(t, e, http.MethodGet, u+p, hdr, nil)
			seen("GET "+what, r)
			swaWant401(t, "GET "+what, r, false)
		}
		r := swaDo(t, e, http.MethodPut, u+"/c", hdr, nil)
		seen("PUT container: "+name, r)
		swaWant401(t, "PUT a container with "+name, r, false)
	}
	r := swaHead(t, e, u, c.Token)
	seen("HEAD with the token", r)
	swaWantAccount(t, "HEAD with the token after the bad ones", r, 0, 0, 0)
	r = swaV1(t, e, "/auth/v1.0", k.ID, "wrong")
	seen("auth v1 with a wrong key", r)
	swWant(t, "auth v1 with a wrong key", r, http.StatusUnauthorized)
}
