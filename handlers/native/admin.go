package native

import (
	"context"
	"net/http"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// adminFunctions are Cairn's own functions for the server admin key (and,
// for the feedcred functions, for account admin keys too).
var adminFunctions = map[string]function{
	"servicecreate": {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).serviceCreate},
	"serviceupdate": {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).serviceUpdate},
	"servicedelete": {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).serviceDelete},
	"keycreate":     {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).keyCreate},
	"keylist":       {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).keyList},
	"keyrevoke":     {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).keyRevoke},
	"accountcreate": {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).accountCreate},
	"accountupdate": {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).accountUpdate},
	"accountlist":   {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).accountList},
	"accountdelete": {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).accountDelete},
	"restore":       {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).restore},
	"sourcecreate":  {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).sourceCreate},
	"sourcelist":    {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).sourceList},
	"sourcedelete":  {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).sourceDelete},
	"blobhealth":    {methods: []string{http.MethodPost}, admin: true, serve: (*Handler).blobHealth},
	// the feed credential functions also serve an account's admin keys
	"feedcredcreate": {methods: []string{http.MethodPost}, noSID: true, serve: (*Handler).feedCredCreate},
	"feedcredlist":   {methods: []string{http.MethodPost}, noSID: true, serve: (*Handler).feedCredList},
	"feedcredrevoke": {methods: []string{http.MethodPost}, noSID: true, serve: (*Handler).feedCredRevoke},
}

// blobHealth answers what the scrubber found: its last pass and the
// damaged blobs with the versions that reference them.
func (h *Handler) blobHealth(c *call) error {
	if err := decodeBody(c, &struct{}{}); err != nil {
		return err
	}
	if h.d.Blobs == nil {
		return schema.Errorf(schema.KindNotImplemented, "blobhealth is not available on this server")
	}
	writeJSON(c.w, http.StatusOK, h.d.Blobs.Health(c.r.Context()))
	return nil
}

type adminService struct {
	ID           string       `json:"id"`
	Account      string       `json:"account"`
	Name         string       `json:"name"`
	Type         string       `json:"type"`
	KeepVersions string       `json:"keep_versions"`
	Versioning   string       `json:"versioning,omitempty"`
	Replica      *replicaJSON `json:"replica"`
	Cache        *cacheJSON   `json:"cache"`
	Files        int64        `json:"files"`
	Bytes        int64        `json:"bytes"`
	LastSyncID   uint64       `json:"last_sync_id"`
	Created      string       `json:"created"`
}

func (h *Handler) toAdminService(s *schema.Service) adminService {
	kv := s.Settings.KeepVersions
	if kv == "" {
		kv = "forever"
	}
	out := adminService{ID: s.ID, Account: s.Account, Name: s.Name, Type: s.Type, KeepVersions: kv,
		Versioning: s.Settings.Versioning, Replica: h.replicaOf(s), Files: s.Files, Bytes: s.Bytes, LastSyncID: s.LastSyncID,
		Created: rfc3339(s.Created)}
	if out.Cache = h.cacheState(s, true); out.Cache != nil {
		out.Files, out.Bytes = out.Cache.Files, out.Cache.Bytes
	}
	return out
}

type serviceBody struct {
	ID           string            `json:"id"`
	Account      string            `json:"account"`
	Name         *string           `json:"name"`
	Type         string            `json:"type"`
	KeepVersions *string           `json:"keep_versions"`
	Replica      *schema.ReplicaOf `json:"replica"`
	QuotaBytes   *int64            `json:"quota_bytes"`
	QuotaCount   *int64            `json:"quota_count"`
	// A cache's settings (schema.CacheSettings), flat as the spec has them.
	Source       *schema.CacheSource `json:"source"`
	SourcePath   *string             `json:"source_path"`
	Refresh      *string             `json:"refresh"`
	ExpireUnused *string             `json:"expire_unused"`
	MaxBytes     *int64              `json:"max_bytes"`
	NegativeTTL  *string             `json:"negative_ttl"`
}

func (h *Handler) serviceCreate(c *call) error {
	var b serviceBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if !schema.ValidServiceID(b.ID) {
		return schema.Errorf(schema.KindInvalidArgument, "id must be 3-63 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit")
	}
	in := events.ServiceInput{ID: b.ID, Account: b.Account, Type: b.Type}
	in.Settings.Replica = b.Replica
	if b.Name != nil {
		in.Name = *b.Name
	}
	if b.KeepVersions != nil {
		in.Settings.KeepVersions = *b.KeepVersions
	}
	setCache(&in.Settings, b.Source, b.SourcePath, b.Refresh, b.ExpireUnused, b.MaxBytes, b.NegativeTTL)
	if b.Type == schema.ServiceCache && (b.QuotaBytes != nil || b.QuotaCount != nil) {
		return errCacheQuota
	}
	svc, err := h.d.Core.CreateService(c.r.Context(), c.origin(), in)
	if err != nil {
		return err
	}
	if b.QuotaBytes != nil || b.QuotaCount != nil {
		if svc, err = h.d.Core.SetServiceQuota(c.r.Context(), c.origin(), svc.ID, deref(b.QuotaBytes), deref(b.QuotaCount)); err != nil {
			return err
		}
	}
	writeJSON(c.w, http.StatusCreated, h.toAdminService(svc))
	return nil
}

var errCacheQuota = schema.Errorf(schema.KindInvalidArgument, "a cache is bounded by max_bytes, not quotas")

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// serviceUpdateBody is serviceBody with what changes a replica: Promote
// makes it a primary (it stops following and accepts writes), Follow makes
// a primary a replica (re-attaching an old primary after a failover).
type serviceUpdateBody struct {
	serviceBody
	Promote bool              `json:"promote"`
	Follow  *schema.ReplicaOf `json:"follow"`
}

func (h *Handler) serviceUpdate(c *call) error {
	var b serviceUpdateBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.ID == "" {
		return schema.Errorf(schema.KindInvalidArgument, "missing id")
	}
	if b.Type != "" || b.Replica != nil || b.Account != "" {
		return schema.Errorf(schema.KindInvalidArgument, "type, account and replica are set at creation only (promote and follow change a replica)")
	}
	if b.Promote && b.Follow != nil {
		return schema.Errorf(schema.KindInvalidArgument, "promote or follow, not both")
	}
	ctx := c.r.Context()
	svc, err := h.d.Core.UpdateService(ctx, c.origin(), b.ID, func(s *schema.Service) error {
		if b.Name != nil {
			s.Name = *b.Name
		}
		if b.KeepVersions != nil {
			s.Settings.KeepVersions = *b.KeepVersions
		}
		setCache(&s.Settings, b.Source, b.SourcePath, b.Refresh, b.ExpireUnused, b.MaxBytes, b.NegativeTTL)
		if s.Type == schema.ServiceCache && (b.QuotaBytes != nil || b.QuotaCount != nil) {
			return errCacheQuota
		}
		switch {
		case b.Promote:
			if s.Settings.Replica == nil {
				return schema.Errorf(schema.KindConflict, "service %q is not a replica", s.ID)
			}
			s.Settings.Replica = nil
		case b.Follow != nil:
			if s.Settings.Replica != nil {
				return schema.Errorf(schema.KindConflict, "service %q already follows a source (promote it first)", s.ID)
			}
			s.Settings.Replica = b.Follow
		}
		return nil
	})
	if err != nil {
		return err
	}
	if b.QuotaBytes != nil || b.QuotaCount != nil {
		qb, qc := svc.QuotaBytes, svc.QuotaCount
		if b.QuotaBytes != nil {
			qb = *b.QuotaBytes
		}
		if b.QuotaCount != nil {
			qc = *b.QuotaCount
		}
		if svc, err = h.d.Core.SetServiceQuota(ctx, c.origin(), b.ID, qb, qc); err != nil {
			return err
		}
	}
	writeJSON(c.w, http.StatusOK, h.toAdminService(svc))
	return nil
}

type idBody struct {
	ID string `json:"id"`
}

// byID serves an admin function whose body names one id: it runs do with
// that id and answers an empty object.
func byID(c *call, do func(ctx context.Context, o events.Origin, id string) error) error {
	var b idBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.ID == "" {
		return schema.Errorf(schema.KindInvalidArgument, "missing id")
	}
	if err := do(c.r.Context(), c.origin(), b.ID); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, struct{}{})
	return nil
}

func (h *Handler) serviceDelete(c *call) error {
	return byID(c, func(ctx context.Context, o events.Origin, id string) error {
		if err := h.d.Core.DeleteService(ctx, o, id); err != nil {
			return err
		}
		if h.d.Caches != nil { // a cache's copies go with it (a no-op for other services)
			if err := h.d.Caches.Remove(id); err != nil {
				h.d.Log.Error("servicedelete: removing the cache's copies", "service", id, "err", err)
			}
		}
		return nil
	})
}

type keyJSON struct {
	ID      string            `json:"id"`
	Value   string            `json:"value,omitempty"`
	Name    string            `json:"name"`
	Account string            `json:"account"`
	Admin   bool              `json:"admin"`
	Access  map[string]string `json:"access"`
	Login   string            `json:"login,omitempty"`
	Created string            `json:"created"`
}

func (h *Handler) keyCreate(c *call) error {
	var b struct {
		Name    string            `json:"name"`
		Account string            `json:"account"`
		Admin   bool              `json:"admin"`
		Access  map[string]string `json:"access"`
		Login   string            `json:"login"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	k, value, err := h.d.Core.CreateKey(c.r.Context(), c.origin(), events.KeyInput{Account: b.Account, Name: b.Name, Admin: b.Admin,
		Access: b.Access, Login: b.Login})
	if err != nil {
		return err
	}
	c.w.Header().Set("Cache-Control", "no-store")
	writeJSON(c.w, http.StatusCreated, keyJSON{ID: k.ID, Value: value, Name: k.Name, Account: k.Account, Admin: k.Admin,
		Access: k.Access, Login: k.Login, Created: rfc3339(k.Created)})
	return nil
}

func (h *Handler) keyList(c *call) error {
	if err := decodeBody(c, &struct{}{}); err != nil {
		return err
	}
	keys, err := h.d.State.Keys(c.r.Context())
	if err != nil {
		return err
	}
	out := []keyJSON{}
	for _, k := range keys {
		if !k.Revoked {
			out = append(out, keyJSON{ID: k.ID, Name: k.Name, Account: k.Account, Admin: k.Admin, Access: k.Access,
				Login: k.Login, Created: rfc3339(k.Created)})
		}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"keys": out})
	return nil
}

func (h *Handler) keyRevoke(c *call) error { return byID(c, h.d.Core.RevokeKey) }

type accountJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Services   int64  `json:"services"`
	Bytes      int64  `json:"bytes"`
	QuotaBytes int64  `json:"quota_bytes"`
	Created    string `json:"created"`
}

func toAccountJSON(a *schema.Account) accountJSON {
	return accountJSON{ID: a.ID, Name: a.Name, Services: a.Services, Bytes: a.Bytes, QuotaBytes: a.QuotaBytes, Created: a.Created.UTC().Format(time.RFC3339Nano)}
}

func (h *Handler) accountCreate(c *call) error {
	var b struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	a, err := h.d.Core.CreateAccount(c.r.Context(), c.origin(), b.ID, b.Name)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, toAccountJSON(a))
	return nil
}

func (h *Handler) accountUpdate(c *call) error {
	var b struct {
		ID         string  `json:"id"`
		Name       *string `json:"name"`
		QuotaBytes *int64  `json:"quota_bytes"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.ID == "" {
		return schema.Errorf(schema.KindInvalidArgument, "missing id")
	}
	ctx := c.r.Context()
	a, err := h.d.State.Account(ctx, b.ID)
	if err != nil {
		return err
	}
	if b.Name != nil {
		if a, err = h.d.Core.UpdateAccount(ctx, c.origin(), b.ID, func(a *schema.Account) error {
			a.Name = *b.Name
			return nil
		}); err != nil {
			return err
		}
	}
	if b.QuotaBytes != nil {
		if a, err = h.d.Core.SetAccountQuota(ctx, c.origin(), b.ID, *b.QuotaBytes); err != nil {
			return err
		}
	}
	writeJSON(c.w, http.StatusOK, toAccountJSON(a))
	return nil
}

func (h *Handler) accountList(c *call) error {
	if err := decodeBody(c, &struct{}{}); err != nil {
		return err
	}
	all, err := h.d.State.Accounts(c.r.Context())
	if err != nil {
		return err
	}
	out := make([]accountJSON, 0, len(all))
	for _, a := range all {
		out = append(out, toAccountJSON(a))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"accounts": out})
	return nil
}

func (h *Handler) accountDelete(c *call) error { return byID(c, h.d.Core.DeleteAccount) }

// Feed credentials: NATS logins of one account's change-feed consumers
// (events/feedcreds.go). Unlike the other admin functions they serve the
// server admin key and the admin keys of the credential's account, so
// their table entries are not marked admin and each checks the caller
// itself (mayAdminister).

// FeedCredAdmin creates and revokes feed credentials: the write side of
// the feedcred functions (*events.Core).
type FeedCredAdmin interface {
	CreateFeedCredential(ctx context.Context, o events.Origin, account, name string) (*schema.FeedCredential, string, error)
	RevokeFeedCredential(ctx context.Context, o events.Origin, user string) error
}

// FeedCredReader reads feed credentials: the read side of the feedcred
// functions (*projections.Store).
type FeedCredReader interface {
	FeedCredential(ctx context.Context, user string) (*schema.FeedCredential, error)
	FeedCredentials(ctx context.Context, account string) ([]*schema.FeedCredential, error)
}

var (
	_ FeedCredAdmin  = (*events.Core)(nil)
	_ FeedCredReader = (*projections.Store)(nil)
)

// mayAdminister reports whether the caller administers account: the
// server admin key, or an admin key of that account.
func (c *call) mayAdminister(account string) bool {
	return c.p.Server || (c.p.Admin && c.p.Account == account)
}

// ownAccount is the account a feedcred body's empty account means: the
// caller's own (the default account for the server admin key).
func (c *call) ownAccount(account string) string {
	if account != "" {
		return account
	}
	return c.p.Account
}

type feedCredJSON struct {
	User     string `json:"user"`
	Password string `json:"password,omitempty"`
	Account  string `json:"account"`
	Name     string `json:"name"`
	Created  string `json:"created"`
}

func toFeedCredJSON(fc *schema.FeedCredential) feedCredJSON {
	return feedCredJSON{User: fc.User, Account: fc.Account, Name: fc.Name, Created: rfc3339(fc.Created)}
}

var errFeedCredAdmin = schema.Errorf(schema.KindForbidden, "feed credentials need the admin key or an admin key of their account")

func (h *Handler) feedCredCreate(c *call) error {
	var b struct {
		Account string `json:"account"`
		Name    string `json:"name"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	w := h.d.Core
	account := c.ownAccount(b.Account)
	if !c.mayAdminister(account) {
		return errFeedCredAdmin
	}
	fc, password, err := w.CreateFeedCredential(c.r.Context(), c.origin(), account, b.Name)
	if err != nil {
		return err
	}
	out := toFeedCredJSON(fc)
	out.Password = password
	c.w.Header().Set("Cache-Control", "no-store")
	writeJSON(c.w, http.StatusCreated, out)
	return nil
}

func (h *Handler) feedCredList(c *call) error {
	var b struct {
		Account string `json:"account"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	r := h.d.State
	account := b.Account
	if !c.p.Server { // the server admin key lists every account's without one
		account = c.ownAccount(account)
		if !c.mayAdminister(account) {
			return errFeedCredAdmin
		}
	}
	all, err := r.FeedCredentials(c.r.Context(), account)
	if err != nil {
		return err
	}
	out := []feedCredJSON{}
	for _, fc := range all {
		if !fc.Revoked {
			out = append(out, toFeedCredJSON(fc))
		}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"credentials": out})
	return nil
}

func (h *Handler) feedCredRevoke(c *call) error {
	var b struct {
		User string `json:"user"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.User == "" {
		return schema.Errorf(schema.KindInvalidArgument, "missing user")
	}
	w, r := h.d.Core, h.d.State
	if !c.p.Admin {
		return errFeedCredAdmin
	}
	ctx := c.r.Context()
	// another account's credential is answered as a missing one, so an
	// account admin cannot probe which users exist
	if fc, err := r.FeedCredential(ctx, b.User); err != nil || fc.Revoked || !c.mayAdminister(fc.Account) {
		return schema.Errorf(schema.KindNotFound, "feed credential not found")
	}
	if err := w.RevokeFeedCredential(ctx, c.origin(), b.User); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, struct{}{})
	return nil
}
