package s3

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/handlers/s3/sigv4"
	"github.com/cairnhq/cairn/schema"
)

// Deps are what the S3 dialect calls.
type Deps struct {
	Core     Core
	State    State
	Auth     *access.Authenticator
	Requests httpx.RequestLog
	Log      *slog.Logger
}

// Handler serves the S3 API, path-style: /{bucket}/{key...}.
type Handler struct {
	d    Deps
	sigs *sigv4.Verifier // this handler's own: no signing key is shared with another server
}

// New returns the S3 handler.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{d: d, sigs: sigv4.NewVerifier()}
}

// Handles reports whether r is an S3 request: SigV4 (or V2) credentials in
// the Authorization header or the query, or any x-amz-* header.
func (h *Handler) Handles(r *http.Request) bool {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "AWS4-") || strings.HasPrefix(a, "AWS ") {
		return true
	}
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != "" || q.Get("X-Amz-Credential") != "" || q.Get("AWSAccessKeyId") != "" {
		return true
	}
	for name := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-") {
			return true
		}
	}
	return false
}

// req is one S3 request being served.
type req struct {
	w http.ResponseWriter
	r *http.Request
	h *Handler
	p *access.Principal
	// bucket is the bucket's service id once bucketAccess found it (the
	// core and the projections name services by id); name is the bucket
	// as the request named it, for answers.
	bucket string
	name   string
	key    string
	q      url.Values
	svc    *schema.Service // the bucket, access checked (bucket and object operations)
	auth   *sigv4.Result
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := httpx.InfoOf(r.Context())
	info.Dialect = "s3"
	rec := &httpx.Recorder{ResponseWriter: w}
	rec.Header().Set("x-amz-request-id", info.ID)
	rec.Header().Set("x-amz-id-2", info.ID)
	c := &req{w: rec, r: r, h: h, q: r.URL.Query()}
	c.bucket, c.key = splitPath(r.URL.Path)
	c.name = c.bucket
	info.Service, info.Path = c.bucket, c.key
	op, err := h.serve(c)
	info.Operation = op
	if err != nil {
		writeError(rec, r, h.d.Log, err)
	}
	if c.svc != nil && h.d.Requests != nil {
		httpx.RecordRequest(h.d.Requests, c.svc.ID, r, rec, op, c.key, c.p.KeyID)
	}
}

// MaxHeaderSize bounds a request's headers, as S3 does (8 KiB; user
// metadata within them is bounded by MaxMetaSize).
const MaxHeaderSize = 8 << 10

func headerSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// splitPath returns the bucket and key of a path-style request path.
func splitPath(p string) (bucket, key string) {
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// serve authenticates, routes and runs one request; it returns the
// operation's name (for the log) and its error.
func (h *Handler) serve(c *req) (string, error) {
	if headerSize(c.r.Header) > MaxHeaderSize {
		return "CheckHeaders", s3Errorf("RequestHeaderSectionTooLarge", http.StatusBadRequest,
			"Your request header section exceeds the maximum allowed size (%d bytes).", MaxHeaderSize)
	}
	if err := h.authenticate(c); err != nil {
		return "Authenticate", err
	}
	op := route(c)
	if op.name == "" {
		return "Unknown", s3Errorf("NotImplemented", http.StatusNotImplemented, "this operation is not implemented")
	}
	if op.run == nil {
		return op.name, s3Errorf(op.code, op.status, "%s", op.message)
	}
	if c.bucket != "" && !op.create {
		if err := h.bucketAccess(c, op.write); err != nil {
			return op.name, err
		}
	}
	if c.key != "" {
		if err := schema.CheckPath(c.key); err != nil {
			return op.name, err
		}
	}
	return op.name, op.run(c)
}

// authenticate verifies the request's SigV4 signature and finds the key.
func (h *Handler) authenticate(c *req) error {
	if !sigv4.Signed(c.r) {
		if strings.HasPrefix(c.r.Header.Get("Authorization"), "AWS ") || c.q.Get("AWSAccessKeyId") != "" {
			return s3Errorf("InvalidRequest", http.StatusBadRequest, "Signature Version 2 is not supported; please use AWS4-HMAC-SHA256")
		}
		return s3Errorf("AccessDenied", http.StatusForbidden, "Access Denied")
	}
	var p *access.Principal
	res, err := h.sigs.Verify(c.r, h.d.Core.Now(), func(ctx context.Context, id string) (string, error) {
		var secret string
		var err error
		p, secret, err = h.d.Auth.ByID(ctx, id, h.d.Core.KeySecret)
		if schema.IsKind(err, schema.KindUnauthorized) {
			return "", s3Errorf("InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records.")
		}
		return secret, err
	})
	if err != nil {
		return err
	}
	c.p, c.auth = p, res
	httpx.InfoOf(c.r.Context()).KeyID = p.KeyID
	return nil
}

// bucketAccess finds the request's bucket and checks the principal may
// read (or write) it; S3 serves storage services only.
func (h *Handler) bucketAccess(c *req, write bool) error {
	want := access.Want{Level: access.Read, StorageOnly: true}
	if write {
		want.Level = access.Write
	}
	svc, err := c.lookup(c.bucket, want)
	if err != nil {
		return err
	}
	c.svc, c.bucket = svc, svc.ID
	httpx.InfoOf(c.r.Context()).Service = svc.ID
	return nil
}

// lookup asks the one access lookup (access.Lookup) for bucket name and
// answers its refusals as S3 does: NoSuchBucket to a key that may learn
// the bucket does not exist, AccessDenied for everything else a key may
// not do (a bucket it cannot see answers exactly as a missing one, so
// keys cannot probe other accounts' bucket names), MethodNotAllowed for a
// cache service to a key that may use it (Lookup checks the type after
// the rights, so a key without rights learns nothing of it).
//
// Bucket names belong to accounts (ARCHITECTURE.md, names per account):
// name is a bucket of the caller's account (of the default account for an
// anonymous request), or "tenant:bucket" names another account's, which
// its ACLs may share.
func (c *req) lookup(name string, want access.Want) (*schema.Service, error) {
	account, bucket := schema.DefaultAccount, name
	if c.p != nil {
		account = c.p.Account
	}
	if t, b, ok := strings.Cut(name, ":"); ok {
		account, bucket = t, b
	}
	svc, err := access.LookupName(c.ctx(), c.h.d.State, c.p, account, bucket, want)
	switch {
	case err == nil:
		return svc, nil
	case schema.ReasonOf(err) == schema.ReasonNoSuchService:
		return nil, noSuchBucket()
	case schema.IsKind(err, schema.KindForbidden), schema.IsKind(err, schema.KindUnauthorized):
		return nil, accessDenied()
	case schema.IsKind(err, schema.KindMethodNotAllowed):
		return nil, s3Errorf("MethodNotAllowed", http.StatusMethodNotAllowed, "the bucket is a cache service; S3 serves storage services only")
	}
	return nil, err
}

func (c *req) origin() events.Origin {
	return c.p.Origin("s3", httpx.ClientIP(c.r), httpx.InfoOf(c.r.Context()).ID)
}

func (c *req) ctx() context.Context { return c.r.Context() }

func noSuchBucket() error {
	return s3Errorf("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist")
}

func accessDenied() error { return s3Errorf("AccessDenied", http.StatusForbidden, "Access Denied") }

// has reports whether the query names a sub-resource (?acl, ?uploads, ...).
func (c *req) has(name string) bool {
	_, ok := c.q[name]
	return ok
}
