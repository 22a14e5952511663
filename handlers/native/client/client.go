package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// maxAnswer bounds a JSON answer read into memory (a feed page of 1,000
// large events fits many times over).
const maxAnswer = 1 << 30

// Client calls one server's native API with one key.
type Client struct {
	base string
	key  string
	http *http.Client
}

// New returns a client of the server at baseURL that sends key with every
// request. hc nil means a client without an overall timeout: a call ends
// with its context, and a long poll with the wait it asks for.
func New(baseURL, key string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), key: key, http: hc}
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base }

// Error is a server's error answer: its HTTP status and, when the body is
// a native error body (schema.ErrorBody), its wire code, message and
// request id. It unwraps to a *schema.Error of the kind the code stands
// for, so schema.KindOf and schema.IsKind work on it.
type Error struct {
	Status     int    // HTTP status code
	StatusText string // HTTP status line, "403 Forbidden"
	Code       string // wire code, "" when the body was not a native error
	Message    string
	RequestID  string
}

// Error says the status, and the server's message and code when it sent
// them: "409 Conflict: service is not empty (conflict)".
func (e *Error) Error() string {
	if e.Code == "" {
		return e.StatusText
	}
	return fmt.Sprintf("%s: %s (%s)", e.StatusText, e.Message, e.Code)
}

// Kind is the error's kind: the one its wire code stands for, or, when
// the body carried no code, the kind its status usually means.
func (e *Error) Kind() schema.Kind {
	if e.Code != "" {
		return schema.KindOfNativeCode(e.Code)
	}
	switch e.Status {
	case http.StatusNotFound:
		return schema.KindNotFound
	case http.StatusUnauthorized:
		return schema.KindUnauthorized
	case http.StatusForbidden:
		return schema.KindForbidden
	case http.StatusBadRequest:
		return schema.KindInvalidArgument
	case http.StatusMethodNotAllowed:
		return schema.KindMethodNotAllowed
	case http.StatusConflict:
		return schema.KindConflict
	case http.StatusGone:
		return schema.KindHistoryTruncated
	case http.StatusRequestEntityTooLarge:
		return schema.KindTooLarge
	case http.StatusNotImplemented:
		return schema.KindNotImplemented
	case http.StatusServiceUnavailable:
		return schema.KindUnavailable
	}
	return schema.KindInternal
}

// Unwrap returns the error as a *schema.Error of its kind.
func (e *Error) Unwrap() error {
	msg := e.Message
	if msg == "" {
		msg = e.StatusText
	}
	return &schema.Error{Kind: e.Kind(), Msg: msg}
}

// decodeError reads a non-2xx answer into an *Error.
func decodeError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, StatusText: resp.Status}
	if e.StatusText == "" {
		e.StatusText = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	var body schema.ErrorBody
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.RequestID = body.Error.Code, body.Error.Message, body.RequestID
	}
	return e
}

// Do sends one request to path (a native function such as "filelist", or
// another path of the server such as "audit/log") with query q, body and
// the extra headers h, and returns the response when its status is 2xx;
// the caller closes its body. Any other status is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, body io.Reader, h http.Header) (*http.Response, error) {
	u := c.base + "/" + strings.TrimLeft(path, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set(schema.KeyHeader, c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// getJSON calls fn with GET and decodes its answer into v.
func (c *Client) getJSON(ctx context.Context, fn string, q url.Values, v any) error {
	resp, err := c.Do(ctx, http.MethodGet, fn, q, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", fn, err)
	}
	return nil
}

// Call calls a function that takes a JSON body (the admin functions:
// servicecreate, keycreate, restore, ...) and returns its JSON answer as
// sent. body nil sends none.
func (c *Client) Call(ctx context.Context, method, fn string, body any) (json.RawMessage, error) {
	var rd io.Reader
	var h http.Header
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd, h = bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}
	}
	resp, err := c.Do(ctx, method, fn, nil, rd, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
}

// ServiceList returns the services the key may see.
func (c *Client) ServiceList(ctx context.Context) ([]schema.ServiceEntry, error) {
	var l schema.ServiceList
	if err := c.getJSON(ctx, "servicelist", nil, &l); err != nil {
		return nil, err
	}
	return l.Services, nil
}

// listQuery is the query string of filelist.
func listQuery(sid string, o schema.FileListQuery) url.Values {
	q := url.Values{"sid": {sid}}
	for k, v := range map[string]string{"prefix": o.Prefix, "delimiter": o.Delimiter, "after": o.After, "asof": o.AsOf} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// FileList returns one page of a service's files.
func (c *Client) FileList(ctx context.Context, sid string, o schema.FileListQuery) (*schema.FileList, error) {
	var l schema.FileList
	if err := c.getJSON(ctx, "filelist", listQuery(sid, o), &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// EachFile calls fn with every file of the listing o asks for, page after
// page, from o.After on; an error from fn ends the walk with that error.
func (c *Client) EachFile(ctx context.Context, sid string, o schema.FileListQuery, fn func(schema.FileEntry) error) error {
	for {
		page, err := c.FileList(ctx, sid, o)
		if err != nil {
			return err
		}
		for _, f := range page.Files {
			if err := fn(f); err != nil {
				return err
			}
		}
		if page.Next == nil || *page.Next == "" {
			return nil
		}
		o.After = *page.Next
	}
}

// VersionList returns every version of a file, newest first.
func (c *Client) VersionList(ctx context.Context, sid, path string) (*schema.VersionList, error) {
	var l schema.VersionList
	if err := c.getJSON(ctx, "versionlist", url.Values{"sid": {sid}, "path": {path}}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetFile returns the bytes of a file: of one version when version is
// not "", else of the live one. The caller closes the response's body.
func (c *Client) GetFile(ctx context.Context, sid, path, version string) (*http.Response, error) {
	q := url.Values{"sid": {sid}, "path": {path}}
	if version != "" {
		q.Set("version", version)
	}
	return c.Do(ctx, http.MethodGet, "getfile", q, nil, nil)
}

// SyncNext returns the service's changes after sync id after, at most
// limit (0: the server's default), waiting up to wait (whole seconds, at
// most a minute) for the first when there is none yet. A replica that
// asks for history the server no longer keeps gets an error of kind
// schema.KindHistoryTruncated.
func (c *Client) SyncNext(ctx context.Context, sid string, after uint64, limit int, wait time.Duration) (*schema.SyncPage, error) {
	q := url.Values{"sid": {sid}, "after": {strconv.FormatUint(after, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", strconv.Itoa(int(wait/time.Second)))
	}
	var p schema.SyncPage
	if err := c.getJSON(ctx, "syncnext", q, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UploadOptions are the optional headers of uploadfile.
type UploadOptions struct {
	ContentType string
	// Meta is sent as x-owncdn-meta-NAME headers.
	Meta map[string]string
	// IfMatch and IfNoneMatch make the upload conditional.
	IfMatch, IfNoneMatch string
}

// UploadFile writes body as the new version of a file.
func (c *Client) UploadFile(ctx context.Context, sid, path string, body io.Reader, o UploadOptions) (*schema.Uploaded, error) {
	h := http.Header{}
	for k, v := range map[string]string{"Content-Type": o.ContentType, "If-Match": o.IfMatch, "If-None-Match": o.IfNoneMatch} {
		if v != "" {
			h.Set(k, v)
		}
	}
	for k, v := range o.Meta {
		h.Set("x-owncdn-meta-"+k, v)
	}
	resp, err := c.Do(ctx, http.MethodPut, "uploadfile", url.Values{"sid": {sid}, "path": {path}}, body, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var u schema.Uploaded
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
		return nil, fmt.Errorf("uploadfile: %w", err)
	}
	return &u, nil
}

// DeleteFile deletes a file (a delete marker in its history).
func (c *Client) DeleteFile(ctx context.Context, sid, path string) (*schema.Deleted, error) {
	resp, err := c.Do(ctx, http.MethodDelete, "deletefile", url.Values{"sid": {sid}, "path": {path}}, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var d schema.Deleted
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return nil, fmt.Errorf("deletefile: %w", err)
	}
	return &d, nil
}

// FeedQuery is a request of the change feed (the events function); ""
// and zero leave a parameter out.
type FeedQuery struct {
	// SID is the service; the server admin key may leave it out (every
	// service).
	SID, Type, Path string
	// After is the sequence to continue after; Since, when set, starts at
	// the first event at or after that moment instead (whichever is later).
	After uint64
	Since time.Time
	Limit int
	// Wait is how long the server may wait for a first event (whole
	// seconds, at most a minute).
	Wait time.Duration
}

// Events returns one page of the change feed.
func (c *Client) Events(ctx context.Context, fq FeedQuery) (*schema.FeedPage, error) {
	q := url.Values{"after": {strconv.FormatUint(fq.After, 10)}}
	for k, v := range map[string]string{"sid": fq.SID, "type": fq.Type, "path": fq.Path} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !fq.Since.IsZero() {
		q.Set("since", fq.Since.Format(time.RFC3339Nano))
	}
	if fq.Limit > 0 {
		q.Set("limit", strconv.Itoa(fq.Limit))
	}
	if fq.Wait > 0 {
		q.Set("wait", strconv.Itoa(int(fq.Wait/time.Second)))
	}
	var p schema.FeedPage
	if err := c.getJSON(ctx, "events", q, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
