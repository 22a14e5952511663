package native

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// RequestLog keeps each service's recent requests (reqlist).
type RequestLog interface {
	httpx.RequestLog
	// Requests returns the service's newest requests, up to limit, newest
	// first: every one when keyID is "", else those made with that key.
	Requests(ctx context.Context, service string, limit int, keyID string) ([]schema.Request, error)
}

// Deps are what the native dialect calls (deps.go declares the
// interfaces).
type Deps struct {
	Core     Core
	State    State
	Auth     *access.Authenticator
	Requests RequestLog
	Log      *slog.Logger
	// Replicas reports replicas' lag (servicelist, admin functions).
	Replicas ReplicaStatus
	// Caches serves cache services; without it (nil) their file
	// functions answer 503.
	Caches Caches
	// Feed serves the change feed (events); without it events is 501.
	Feed Feed
	// Blobs reports the scrubber's findings (blobhealth); without it
	// blobhealth is 501.
	Blobs BlobHealth
	// Stop, closed when the server begins to shut down, ends the feed's
	// long polls and streams so that HTTP can drain.
	Stop <-chan struct{}
}

// Handler serves the native API.
type Handler struct {
	d     Deps
	funcs map[string]function
	// queried, when set (by tests), sees every query parameter a function
	// reads through call.query.
	queried func(fn, param string)
	// keepAlive is the longest an event stream stays silent (tests
	// shorten it); 0 means defaultKeepAlive.
	keepAlive time.Duration
}

// function is one entry of the function table. The table is what the
// OpenAPI document (schema.NativeOpenAPI) describes; a test keeps the two
// in step: paths, methods and query parameters.
type function struct {
	methods []string
	// params are the query parameters the function reads, sid included.
	// call.query refuses any other, so the declaration cannot drift.
	params []string
	write  bool // needs write access (else read)
	admin  bool // server admin key only; JSON body
	noSID  bool
	anySID bool // the server admin key may omit sid: every service
	public bool // served without a key (the OpenAPI document)
	// storage: the function serves storage services only (405 for any
	// other), except cache services when cache is set.
	storage bool
	serve   func(h *Handler, c *call) error
	// cache, when set, serves the function on a cache service instead of
	// serve.
	cache func(h *Handler, c *call) error
}

// call is one request being served.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	p      *access.Principal
	svc    *schema.Service // the sid's service, access checked
	fn     string
	params []string // the function's declared query parameters
	h      *Handler
}

// New returns the native API handler.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	get, put := []string{http.MethodGet, http.MethodHead}, []string{http.MethodPut, http.MethodPost}
	post := []string{http.MethodPost}
	h := &Handler{d: d, funcs: map[string]function{
		"servicelist":  {methods: get, noSID: true, serve: (*Handler).serviceList},
		"filelist":     {methods: get, params: []string{"sid", "prefix", "delimiter", "after", "limit", "asof"}, storage: true, serve: (*Handler).fileList, cache: (*Handler).cacheFileList},
		"getfile":      {methods: get, params: []string{"sid", "path", "version", "asof"}, storage: true, serve: (*Handler).getFile, cache: (*Handler).cacheGetFile},
		"uploadfile":   {methods: put, params: []string{"sid", "path"}, write: true, storage: true, serve: (*Handler).uploadFile, cache: (*Handler).cacheUploadFile},
		"deletefile":   {methods: []string{http.MethodDelete, http.MethodPost}, params: []string{"sid", "path"}, write: true, storage: true, serve: (*Handler).deleteFile, cache: (*Handler).cacheDeleteFile},
		"flush":        {methods: post, params: []string{"sid"}, write: true, serve: (*Handler).flush},
		"versionlist":  {methods: get, params: []string{"sid", "path"}, storage: true, serve: (*Handler).versionList},
		"syncnext":     {methods: get, params: []string{"sid", "after", "limit", "wait"}, storage: true, serve: (*Handler).syncNext},
		"reqlist":      {methods: get, params: []string{"sid", "limit"}, serve: (*Handler).reqList},
		"events":       {methods: []string{http.MethodGet}, params: []string{"sid", "after", "limit", "wait", "since", "type", "path"}, anySID: true, serve: (*Handler).events},
		"openapi.json": {methods: get, noSID: true, public: true, serve: (*Handler).openAPI},
	}}
	for name, fn := range adminFunctions {
		h.funcs[name] = fn
	}
	return h
}

// Function returns the native function a URL path names ("" if none):
// matched case-insensitively, trailing slash ignored.
func Function(path string) string {
	return strings.ToLower(strings.Trim(path, "/"))
}

// Handles reports whether r is a native request: it carries x-owncdn-key
// or its path names a native function.
func (h *Handler) Handles(r *http.Request) bool {
	if r.Header.Get(schema.KeyHeader) != "" {
		return true
	}
	_, ok := h.funcs[Function(r.URL.Path)]
	return ok
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := httpx.InfoOf(r.Context())
	info.Dialect = "native"
	name := Function(r.URL.Path)
	info.Operation = name
	rec := recorder(w)
	c := &call{w: rec, r: r, fn: name, h: h}
	err := h.serve(c)
	if err != nil {
		writeError(rec, r, h.d.Log, err)
	}
	if c.svc != nil && h.d.Requests != nil {
		httpx.RecordRequest(h.d.Requests, c.svc.ID, r, rec, name, r.URL.Query().Get("path"), c.p.KeyID)
	}
}

// recorder returns the recorder of w's status and size: w itself when
// httpx.Middleware already records it (as it does for every request the
// server serves), so one recorder feeds both the access log and reqlist.
func recorder(w http.ResponseWriter) *httpx.Recorder {
	if rec, ok := w.(*httpx.Recorder); ok {
		return rec
	}
	return &httpx.Recorder{ResponseWriter: w}
}

func (h *Handler) serve(c *call) error {
	fn, ok := h.funcs[c.fn]
	if !ok {
		return schema.Errorf(schema.KindNotFound, "unknown function %q", c.fn)
	}
	c.params = fn.params
	if fn.public {
		if err := allowMethod(c, fn); err != nil {
			return err
		}
		return fn.serve(h, c)
	}
	p, err := h.d.Auth.ByValue(c.r.Context(), c.r.Header.Get(schema.KeyHeader))
	if err != nil {
		return err
	}
	c.p = p
	info := httpx.InfoOf(c.r.Context())
	info.KeyID = p.KeyID
	if err := allowMethod(c, fn); err != nil {
		return err
	}
	if fn.admin {
		if !p.Server {
			return schema.Errorf(schema.KindForbidden, "%s needs the admin key", c.fn)
		}
		return fn.serve(h, c)
	}
	if !fn.noSID {
		sid := c.query("sid")
		if sid == "" && fn.anySID && p.Server {
			return fn.serve(h, c)
		}
		if sid == "" {
			return schema.Errorf(schema.KindInvalidArgument, "missing parameter sid")
		}
		want := access.Want{Level: access.Read}
		if fn.write {
			want.Level = access.Write
		}
		svc, err := access.Lookup(c.r.Context(), h.d.State, p, sid, want)
		if err != nil {
			return err
		}
		c.svc = svc
		info.Service = svc.ID
		switch {
		case svc.Type == schema.ServiceCache && fn.cache != nil:
			return fn.cache(h, c)
		case fn.storage && svc.Type != schema.ServiceStorage:
			return schema.Errorf(schema.KindMethodNotAllowed, "%s works on storage services only", c.fn)
		}
	}
	return fn.serve(h, c)
}

func (c *call) origin() events.Origin {
	return c.p.Origin("native", httpx.ClientIP(c.r), httpx.InfoOf(c.r.Context()).ID)
}

// allowMethod fails with 405 (and an Allow header) unless fn accepts the
// request's method.
func allowMethod(c *call, fn function) error {
	if slices.Contains(fn.methods, c.r.Method) {
		return nil
	}
	c.w.Header().Set("Allow", strings.Join(fn.methods, ", "))
	return schema.Errorf(schema.KindMethodNotAllowed, "%s does not accept %s", c.fn, c.r.Method)
}

// query returns a query parameter the function declared in its params.
// An undeclared one (which the OpenAPI document would not list) reads as
// absent, and the slip is logged, so a function cannot quietly depend on
// a parameter the table and the document do not show; the live OpenAPI
// test also fails on any undeclared read.
func (c *call) query(name string) string {
	if c.h.queried != nil {
		c.h.queried(c.fn, name)
	}
	if !slices.Contains(c.params, name) {
		c.h.d.Log.Error("native: function reads an undeclared query parameter", "function", c.fn, "param", name)
		return ""
	}
	return c.r.URL.Query().Get(name)
}

// decodeBody reads a JSON request body strictly (unknown fields are errors).
func decodeBody(c *call, v any) error {
	dec := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF {
		return schema.Errorf(schema.KindInvalidArgument, "invalid JSON body: %v", err)
	}
	return nil
}
