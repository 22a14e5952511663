package fakes

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

var _ blobstore.Reader = Reader{}

// Reader is bytes as a blobstore.Reader.
type Reader struct{ *bytes.Reader }

// NewReader returns a Reader of b.
func NewReader(b []byte) Reader { return Reader{bytes.NewReader(b)} }

// Close does nothing.
func (Reader) Close() error { return nil }

// Requests is a request log (httpx.RequestLog) that keeps every request
// it is given.
type Requests struct {
	mu   sync.Mutex
	seen []request
}

type request struct {
	service string
	r       schema.Request
}

// RecordRequest keeps r as a request of service.
func (l *Requests) RecordRequest(service string, r schema.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, request{service, r})
}

// Requests are service's newest limit requests, newest first: every one
// when keyID is "", else those made with that key.
func (l *Requests) Requests(_ context.Context, service string, limit int, keyID string) ([]schema.Request, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []schema.Request
	for _, s := range slices.Backward(l.seen) {
		if s.service == service && len(out) < limit && (keyID == "" || s.r.KeyID == keyID) {
			out = append(out, s.r)
		}
	}
	return out, nil
}

// Each calls fn with every request kept, oldest first.
func (l *Requests) Each(fn func(service string, r schema.Request)) {
	l.mu.Lock()
	seen := slices.Clone(l.seen)
	l.mu.Unlock()
	for _, s := range seen {
		fn(s.service, s.r)
	}
}
