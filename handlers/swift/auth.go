package swift

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// login checks a user and password. The password is a key's value, which
// alone finds the key (by its hash, as every dialect does); the user must
// then name that key in one of the forms Swift clients send:
//
//   - its key id, alone or in tempauth's "account:user" form, where the
//     user may also be the key's login;
//   - the account's main login: the account id (or Selectel's "SEL_<id>"),
//     which an account admin key without a login of its own answers to;
//   - a Selectel sub-user "<account>_<login>" (the seed's 12345_username);
//   - the key's login alone, when the request names the account otherwise
//     (scope: a v2 tenant, a v3 user domain; "" when it does not).
//
// Every failure is the same 401: a wrong password and a user naming
// another key are not told apart.
func (c *req) login(user, password, scope string) (*access.Principal, error) {
	p, err := c.h.d.Auth.ByValue(c.ctx(), password)
	if err != nil {
		if schema.IsKind(err, schema.KindUnauthorized) {
			return nil, errUnauthorized
		}
		return nil, err
	}
	if !userNames(user, scope, p) {
		return nil, errUnauthorized
	}
	c.p = p
	httpx.InfoOf(c.ctx()).KeyID = p.KeyID
	return p, nil
}

// selPrefix is Selectel's prefix of an account's login and storage path
// ("SEL_12345" for account 12345).
const selPrefix = "SEL_"

// namesAccount reports whether name, from a login or a tenant, names
// account: the account id, with or without Selectel's "SEL_" prefix on
// either side (an account created as "SEL_12345" answers to "12345" too).
func namesAccount(name, account string) bool {
	return name != "" && (name == account || selPrefix+name == account || name == selPrefix+account)
}

// userNames reports whether user names p's key, in the forms login
// describes.
func userNames(user, scope string, p *access.Principal) bool {
	if user == "" {
		return false
	}
	if user == p.KeyID {
		return true
	}
	login := p.Login()
	if acct, u, pair := strings.Cut(user, ":"); pair {
		return namesAccount(acct, p.Account) && (u == p.KeyID || (login != "" && u == login))
	}
	if login == "" {
		// The main login: an account admin key, not the server's, that has
		// no login of its own. Every such key answers to it, each with its
		// own value, so no key has to be singled out as "the" main one.
		return p.Admin && !p.Server && namesAccount(user, p.Account)
	}
	if acct, ok := strings.CutSuffix(user, "_"+login); ok && namesAccount(acct, p.Account) {
		return true
	}
	return user == login && namesAccount(scope, p.Account)
}

// issue returns the principal's token and the storage URL of its account.
func (c *req) issue(p *access.Principal) (token string, expires time.Time, storage string, err error) {
	token, expires, err = c.h.d.Core.IssueToken(c.ctx(), c.origin(), p.KeyID, p.Account)
	return token, expires, c.baseURL() + "/v1/" + url.PathEscape(p.Account), err
}

// baseURL is the configured public URL, else the request's scheme and host.
func (c *req) baseURL() string {
	if c.h.d.PublicURL != "" {
		return c.h.d.PublicURL
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host
}

// authV1 is tempauth's GET /auth/v1.0 with X-Auth-User and X-Auth-Key
// (or X-Storage-User / X-Storage-Pass).
func authV1(c *req) error {
	user, key := c.r.Header.Get("X-Auth-User"), c.r.Header.Get("X-Auth-Key")
	if user == "" {
		user = c.r.Header.Get("X-Storage-User")
	}
	if key == "" {
		key = c.r.Header.Get("X-Storage-Pass")
	}
	p, err := c.login(user, key, "")
	if err != nil {
		return err
	}
	token, expires, storage, err := c.issue(p)
	if err != nil {
		return err
	}
	hd := c.w.Header()
	hd.Set("X-Auth-Token", token)
	hd.Set("X-Storage-Token", token)
	hd.Set("X-Storage-Url", storage)
	left := strconv.FormatInt(int64(expires.Sub(c.now())/time.Second), 10)
	hd.Set("X-Expire-Auth-Token", left)  // Selectel's name
	hd.Set("X-Auth-Token-Expires", left) // tempauth's, which swiftclient reads
	hd.Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// readJSON decodes a small JSON body; anything unreadable is a 401 like a
// wrong password (an auth request says nothing about what was wrong).
func readJSON(c *req, v any) error {
	if err := json.NewDecoder(io.LimitReader(c.r.Body, 64<<10)).Decode(v); err != nil {
		return errUnauthorized
	}
	return nil
}

func writeJSON(c *req, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(status)
	_, err = c.w.Write(b)
	return err
}

// DefaultRegion is the region of the object-store endpoint in the v2 and
// v3 catalogs unless Deps.Region names another (clients that ask for a
// region, as swift --os-region-name does, look for its name there).
const DefaultRegion = "RegionOne"

// authV2 is Keystone v2's POST /v2.0/tokens with password credentials.
func authV2(c *req) error {
	var body struct {
		Auth struct {
			PasswordCredentials struct {
				Username string `json:"username"`
				Password string `json:"password"`
			} `json:"passwordCredentials"`
			TenantName string `json:"tenantName"`
			TenantID   string `json:"tenantId"`
		} `json:"auth"`
	}
	if err := readJSON(c, &body); err != nil {
		return err
	}
	a := body.Auth
	tenant := a.TenantName
	if tenant == "" {
		tenant = a.TenantID
	}
	p, err := c.login(a.PasswordCredentials.Username, a.PasswordCredentials.Password, tenant)
	if err != nil {
		return err
	}
	// a tenant, when named, must be the key's account
	if (a.TenantName != "" && !namesAccount(a.TenantName, p.Account)) || (a.TenantID != "" && !namesAccount(a.TenantID, p.Account)) {
		return errUnauthorized
	}
	token, expires, storage, err := c.issue(p)
	if err != nil {
		return err
	}
	c.w.Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, map[string]any{"access": map[string]any{
		"token": map[string]any{"id": token, "expires": isoTime(expires),
			"issued_at": isoTime(expires.Add(-events.TokenTTL)), "tenant": map[string]string{"id": p.Account, "name": p.Account}},
		"user": map[string]any{"id": p.KeyID, "name": p.KeyID, "roles": []map[string]string{{"name": role(p)}}},
		"serviceCatalog": []map[string]any{{"type": "object-store", "name": "swift", "endpoints": []map[string]string{{
			"region": c.h.d.Region, "tenantId": p.Account, "publicURL": storage, "internalURL": storage, "adminURL": storage}}}},
	}})
}

// authV3 is Keystone v3's POST /v3/auth/tokens with the password method;
// the token travels in X-Subject-Token.
func authV3(c *req) error {
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						ID       string `json:"id"`
						Name     string `json:"name"`
						Password string `json:"password"`
						Domain   struct {
							ID   string `json:"id"`
							Name string `json:"name"`
						} `json:"domain"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	if err := readJSON(c, &body); err != nil {
		return err
	}
	id := body.Auth.Identity
	hasPassword := false
	for _, m := range id.Methods {
		hasPassword = hasPassword || m == "password"
	}
	if !hasPassword {
		return errUnauthorized
	}
	u := id.Password.User
	user := u.ID
	if user == "" {
		user = u.Name
	}
	// The user's domain is Keystone's namespace of user names: one naming
	// an account lets its logins appear alone, as in Keystone installations
	// that give each customer account a domain. Any other domain, "Default"
	// included, is Cairn's one domain and changes nothing.
	userDomain := u.Domain.Name
	if userDomain == "" {
		userDomain = u.Domain.ID
	}
	p, err := c.login(user, u.Password, userDomain)
	if err != nil {
		return err
	}
	// a project scope, when named, must be the key's account
	if pr := body.Auth.Scope.Project; (pr.ID != "" && !namesAccount(pr.ID, p.Account)) || (pr.Name != "" && !namesAccount(pr.Name, p.Account)) {
		return errUnauthorized
	}
	token, expires, storage, err := c.issue(p)
	if err != nil {
		return err
	}
	endpoints := []map[string]string{}
	for _, iface := range []string{"public", "internal", "admin"} {
		endpoints = append(endpoints, map[string]string{"id": iface, "interface": iface, "url": storage,
			"region": c.h.d.Region, "region_id": c.h.d.Region})
	}
	domain := map[string]string{"id": "default", "name": "Default"}
	hd := c.w.Header()
	hd.Set("X-Subject-Token", token)
	hd.Set("Cache-Control", "no-store")
	// 201 as Keystone answers (the seed shows 200; clients accept either).
	return writeJSON(c, http.StatusCreated, map[string]any{"token": map[string]any{
		"methods":    []string{"password"},
		"expires_at": isoTime(expires),
		"issued_at":  isoTime(expires.Add(-events.TokenTTL)),
		"user":       map[string]any{"id": p.KeyID, "name": p.KeyID, "domain": domain},
		"project":    map[string]any{"id": p.Account, "name": p.Account, "domain": domain},
		"roles":      []map[string]string{{"id": role(p), "name": role(p)}},
		"catalog": []map[string]any{{"type": "object-store", "name": "swift", "id": "swift",
			"endpoints": endpoints}},
	}})
}

// isoTime is Keystone's time format (UTC, microseconds).
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// role names what a key may do in its account, for clients that show it.
func role(p *access.Principal) string {
	if p.Admin {
		return "admin"
	}
	return "member"
}
