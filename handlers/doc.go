// Package handlers is Cairn's HTTP edge: the router that picks a dialect per
// request (native now; S3 and Swift join it), wrapped in the shared
// middleware of httpx. Dialects translate only; the core and the
// projections do the work.
package handlers
