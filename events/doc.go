// Package events is Cairn's write side. Log is the append-only event log
// (embedded NATS JetStream, file storage); Service is the single core every
// dialect calls for mutations: it validates, checks preconditions against the
// projections, writes blobs first, appends one event per mutation with the
// log's expected-sequence checks (so conditional writes are atomic in the
// log, never check-then-write in memory), and replies only after the local
// projections applied the event (read your writes).
//
// Multipart uploads are events too (upload.created, upload.part, and an
// object put that completes them or upload.aborted); part bytes and a
// completed object's concatenated bytes are in the blobstore, fsynced,
// before their event. Removing one version is object.purged. The content
// cache holds only bytes of immutable events, so it is never stale.
//
// No other package appends events.
package events
