// Package handlers is Cairn's HTTP edge: the router, wrapped in the shared
// middleware of httpx (request id, access log), that gives each request to
// the first dialect claiming it — S3 (SigV4 or x-amz-* requests, package
// s3), Swift (its auth paths, /v1/ and token headers, package swift), the
// audit endpoints under /audit/ (package audit) — and every other request
// to the native JSON API (package native). Dialects translate only: the
// core and the projections do the work, and access decisions come from
// package access. Package fakes holds the in-memory stand-ins of the
// projections that the dialects' unit tests share.
package handlers
