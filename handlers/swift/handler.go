package swift

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// Deps are what the Swift dialect calls.
type Deps struct {
	Core     Core
	State    State
	Auth     *access.Authenticator
	Requests httpx.RequestLog
	Log      *slog.Logger
	// PublicURL is the base of the storage URLs handed out by auth
	// ("https://cdn.example.com"); empty: the request's own scheme and host.
	PublicURL string
	// Region names the object-store endpoint's region in the v2 and v3
	// catalogs; empty: DefaultRegion.
	Region string
}

// Handler serves the Swift API.
type Handler struct {
	d Deps
}

// New returns the Swift handler.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	if d.Region == "" {
		d.Region = DefaultRegion
	}
	return &Handler{d: d}
}

// Handles reports whether r is a Swift request: its path is a Swift path
// (storage under /v1/, the auth endpoints, /info) or it carries a token.
func (h *Handler) Handles(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1/"), p == "/v1", p == "/info",
		p == "/auth" || strings.HasPrefix(p, "/auth/"),
		p == "/v2.0/tokens", p == "/v3/auth/tokens":
		return true
	}
	return r.Header.Get("X-Auth-Token") != "" || r.Header.Get("X-Storage-Token") != ""
}

// req is one Swift request being served.
type req struct {
	w         *httpx.Recorder
	r         *http.Request
	h         *Handler
	q         url.Values
	p         *access.Principal // nil: no token was sent
	account   string
	container string
	object    string
	svc       *schema.Service // the container, once found
}

func (c *req) ctx() context.Context { return c.r.Context() }

func (c *req) origin() events.Origin {
	return c.p.Origin("swift", httpx.ClientIP(c.r), httpx.InfoOf(c.ctx()).ID)
}

func (c *req) now() time.Time { return c.h.d.Core.Now() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := httpx.InfoOf(r.Context())
	info.Dialect = "swift"
	rec := &httpx.Recorder{ResponseWriter: w}
	// Swift's transaction id: "tx" and the request id, on every answer.
	rec.Header().Set("X-Trans-Id", "tx"+info.ID)
	rec.Header().Set("X-Openstack-Request-Id", "tx"+info.ID)
	c := &req{w: rec, r: r, h: h, q: r.URL.Query()}
	op, err := h.serve(c)
	info.Operation = op
	if err != nil {
		writeError(rec, r, h.d.Log, err)
	}
	if c.svc != nil && h.d.Requests != nil {
		keyID := ""
		if c.p != nil {
			keyID = c.p.KeyID
		}
		httpx.RecordRequest(h.d.Requests, c.svc.ID, r, rec, op, c.object, keyID)
	}
}

// serve routes one request and returns its operation's name (for the log).
func (h *Handler) serve(c *req) (string, error) {
	p := c.r.URL.Path
	switch {
	case p == "/info":
		return "Info", only(c, info, http.MethodGet, http.MethodHead)
	case p == "/auth" || strings.HasPrefix(p, "/auth/"):
		return "AuthV1", only(c, authV1, http.MethodGet)
	case p == "/v2.0/tokens":
		return "AuthV2", only(c, authV2, http.MethodPost)
	case p == "/v3/auth/tokens":
		return "AuthV3", only(c, authV3, http.MethodPost)
	case !strings.HasPrefix(p, "/v1/"):
		return "Unknown", errNotFound
	}
	// /v1/{account}[/{container}[/{object...}]]; the object name is
	// everything after the container, slashes included.
	rest := strings.TrimPrefix(p, "/v1/")
	c.account, rest, _ = strings.Cut(rest, "/")
	c.container, c.object, _ = strings.Cut(rest, "/")
	info := httpx.InfoOf(c.ctx())
	info.Service, info.Path = c.container, c.object
	if !schema.ValidAccountID(c.account) {
		return "Unknown", errNotFound
	}
	if c.r.Method == http.MethodOptions {
		return "Options", options(c)
	}
	if isTempURL(c.q) { // a temp URL's signature stands for a token (Swift's tempurl middleware)
		if err := tempURL(c); err != nil {
			return "TempURL", err
		}
	} else if err := h.authenticate(c); err != nil {
		return "Authenticate", err
	}
	switch {
	case c.container == "":
		return accountOp(c)
	case c.object == "":
		return containerOp(c)
	}
	return objectOp(c)
}

// only runs fn when the request's method is one of methods, else 405.
func only(c *req, fn func(*req) error, methods ...string) error {
	for _, m := range methods {
		if c.r.Method == m {
			return fn(c)
		}
	}
	c.w.Header().Set("Allow", strings.Join(methods, ", "))
	return errMethod
}

// authenticate finds the principal behind X-Auth-Token (or
// X-Storage-Token). No token leaves c.p nil: only public reads pass then.
func (h *Handler) authenticate(c *req) error {
	token := c.r.Header.Get("X-Auth-Token")
	if token == "" {
		token = c.r.Header.Get("X-Storage-Token")
	}
	if token == "" {
		return nil
	}
	keyID, _, err := h.d.Core.TokenKey(c.ctx(), token)
	if err != nil {
		return err
	}
	p, err := h.d.Auth.ByKeyID(c.ctx(), keyID)
	if err != nil {
		return err
	}
	c.p = p
	httpx.InfoOf(c.ctx()).KeyID = p.KeyID
	return nil
}

// denied is the answer to a request its principal may not make: 401
// without a token (Swift asks for credentials), 403 with one.
func (c *req) denied() error {
	if c.p == nil {
		return errUnauthorized
	}
	return errForbidden
}

// inAccount reports whether the principal acts for the URL's account: the
// server's admin key, or any key of that account.
func (c *req) inAccount() bool {
	return c.p != nil && (c.p.Server || c.p.Account == c.account)
}

// ownsAccount reports whether the principal administers the URL's account.
func (c *req) ownsAccount() bool {
	return c.p != nil && (c.p.Server || (c.p.Admin && c.p.Account == c.account))
}

// want is the access question of a Swift request at level: within the
// URL's account, storage services only, public containers open to reads
// (".r:*") and listings (".rlistings").
func (c *req) want(level access.Level) access.Want {
	return access.Want{Level: level, Account: c.account, StorageOnly: true, Public: true}
}

// findContainer finds the URL's container for a request at level with
// access.Lookup and answers a refusal in Swift's words (wireAccess). The
// container is kept for the request log even when the request is refused
// (a container of the URL's account that the principal may not use still
// logs the attempt).
func (c *req) findContainer(level access.Level) (*schema.Service, error) {
	read := &lastRead{Names: c.h.d.State}
	svc, err := access.LookupName(c.ctx(), read, c.p, c.account, c.container, c.want(level))
	if err != nil {
		if s := read.svc; s != nil && s.Account == c.account && s.Type == schema.ServiceStorage {
			c.svc = s
		}
		return nil, wireAccess(err)
	}
	c.svc = svc
	httpx.InfoOf(c.ctx()).Service = svc.ID
	return svc, nil
}

// wireAccess turns access.Lookup's refusals into Swift's answers: 404 for
// a container that is not there (to keys of the URL's account), 401 for
// an anonymous request and 403 for a key that may not do it (or may not
// know whether the container exists), 405 for a cache service. Other
// errors pass.
func wireAccess(err error) error {
	switch {
	case schema.IsKind(err, schema.KindNotFound):
		return errNotFound
	case schema.IsKind(err, schema.KindUnauthorized):
		return errUnauthorized
	case schema.IsKind(err, schema.KindForbidden):
		return errForbidden
	case schema.IsKind(err, schema.KindMethodNotAllowed):
		return errMethod
	}
	return err
}

// allows reports whether access.Lookup grants want on svc, a container
// already read (it is not read again); want.Account is the URL's.
func (c *req) allows(svc *schema.Service, want access.Want) bool {
	want.Account = c.account
	_, err := access.Lookup(c.ctx(), known{svc}, c.p, svc.ID, want)
	return err == nil
}

// lastRead passes container reads through and keeps the last one found.
type lastRead struct {
	access.Names
	svc *schema.Service
}

func (l *lastRead) ServiceByName(ctx context.Context, account, name string) (*schema.Service, error) {
	svc, err := l.Names.ServiceByName(ctx, account, name)
	if err == nil {
		l.svc = svc
	}
	return svc, err
}

// known serves one service already read.
type known struct{ svc *schema.Service }

func (k known) Service(_ context.Context, id string) (*schema.Service, error) {
	if k.svc.ID != id {
		return nil, schema.Errorf(schema.KindNotFound, "service %q not found", id)
	}
	return k.svc, nil
}
