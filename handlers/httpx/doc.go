// Package httpx is the HTTP plumbing the dialects share: request ids, the
// structured access log, client addresses, read preconditions and ranges,
// and serving object bytes. It knows nothing of any dialect's wire format.
package httpx
