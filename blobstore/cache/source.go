package cache

import (
	"context"
	"io"
	"time"
)

// Source is what a cache is in front of: an HTTP origin (Origin) or a
// storage service of the same instance (the core's).
type Source interface {
	// Fetch asks the source for path (the cache's source path already
	// put before it is the source's business). have, when not nil, holds
	// the validators of the cache's copy: a source that finds its copy
	// unchanged MUST answer NotModified without a body. A path the source
	// does not have MUST be a schema.KindNotFound error; any other failure
	// another error (the cache answers it as unavailable). The caller
	// closes Body.
	Fetch(ctx context.Context, path string, have *Validators) (*Response, error)
}

// Validators identify the source's copy for a conditional re-check: an
// origin's ETag and Last-Modified headers, a service's version id.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Version      string `json:"version,omitempty"`
}

// IsZero reports whether there is nothing to re-check with.
func (v Validators) IsZero() bool { return v == Validators{} }

// Response is the source's answer: not modified, or the file.
type Response struct {
	NotModified bool
	Body        io.ReadCloser
	ContentType string
	// ETag is the copy's ETag as the cache serves it; empty: the hex MD5
	// of the bytes.
	ETag string
	// Modified is served as Last-Modified; zero: when the copy was made.
	Modified time.Time
	// ID and SyncID are the source's version (empty: the cache makes an
	// id).
	ID     string
	SyncID uint64
	Meta   map[string]string
	// Validators are kept with the copy for the next re-check.
	Validators Validators
}
