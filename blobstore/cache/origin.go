package cache

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// Origin is an HTTP origin (OwnCDN's "HTTP Fetcher"): a miss for path is a
// GET of the base URL, the source path and path, each segment
// path-escaped; a re-check sends If-None-Match and If-Modified-Since with
// the origin's own ETag and Last-Modified.
type Origin struct {
	client *http.Client
	base   string // scheme://host/path, no trailing slash
	prefix string // escaped source path, no leading or trailing slash
}

var _ Source = (*Origin)(nil)

// NewOrigin returns the origin at baseURL (http or https) with sourcePath
// before every path. client nil: http.DefaultClient.
func NewOrigin(client *http.Client, baseURL, sourcePath string) (*Origin, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, schema.Errorf(schema.KindInvalidArgument, "origin must be an http or https URL")
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Origin{client: client, base: strings.TrimRight(baseURL, "/"), prefix: escapePath(strings.Trim(sourcePath, "/"))}, nil
}

// URL returns the origin URL of path.
func (o *Origin) URL(path string) string {
	if o.prefix == "" {
		return o.base + "/" + escapePath(path)
	}
	return o.base + "/" + o.prefix + "/" + escapePath(path)
}

// escapePath escapes each segment of p, keeping the slashes.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// Fetch implements Source: 200 is the file, 304 not modified, 404 and 410
// not found, anything else (or no answer) an error.
func (o *Origin) Fetch(ctx context.Context, path string, have *Validators) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL(path), nil)
	if err != nil {
		return nil, schema.Wrap(schema.KindUnavailable, err, "the cache's origin URL is not valid")
	}
	req.Header.Set("User-Agent", "cairn-cache")
	if have != nil {
		if have.ETag != "" {
			req.Header.Set("If-None-Match", have.ETag)
		}
		if have.LastModified != "" {
			req.Header.Set("If-Modified-Since", have.LastModified)
		}
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, schema.Wrap(schema.KindUnavailable, err, "the cache's origin did not answer")
	}
	switch resp.StatusCode {
	case http.StatusOK:
		out := &Response{Body: resp.Body, ContentType: resp.Header.Get("Content-Type"),
			Validators: Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}}
		if t, err := http.ParseTime(out.Validators.LastModified); err == nil {
			out.Modified = t.UTC()
		}
		return out, nil
	case http.StatusNotModified:
		drain(resp.Body)
		if have == nil {
			return nil, schema.Errorf(schema.KindUnavailable, "the cache's origin answered 304 to an unconditional request")
		}
		return &Response{NotModified: true}, nil
	case http.StatusNotFound, http.StatusGone:
		drain(resp.Body)
		return nil, schema.Errorf(schema.KindNotFound, "file not found at the cache's origin")
	}
	drain(resp.Body)
	return nil, schema.Errorf(schema.KindUnavailable, "the cache's origin answered %d", resp.StatusCode)
}

// drain reads a little of an unwanted body so the connection can be
// reused, then closes it.
func drain(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}

// DefaultClient is a client for origins: it waits at most 30 s for an
// answer's headers and follows up to 10 redirects; a fill's whole time is
// bounded by its context.
func DefaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}
