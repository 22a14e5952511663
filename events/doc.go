// Package events is Cairn's write side. Log is the append-only event log
// (embedded NATS JetStream, file storage); Core is the single core every
// dialect calls for mutations: it validates, checks preconditions against the
// projections, writes blobs first, appends one event per mutation with the
// log's expected-sequence checks (so conditional writes are atomic in the
// log, never check-then-write in memory), and replies only after the local
// projections applied the event (read your writes).
//
// An object mutation reads the state it decides on (the service, its
// account and the object's newest version) once, in prepare, and goes
// one way: dialect, core, log, projections, reply (mutation.go). Core's
// methods come in families by concern, each an interface declared next to
// them: ObjectWriter (objects.go), ObjectReader (content.go), Uploads
// (multipart.go), ServiceAdmin (admin.go: services and accounts),
// KeyAdmin (keys.go, tokens.go), Replication (replica.go), PointInTime
// (restore.go) and Maintenance (maintenance.go, checkpoint.go); the core
// plumbing is in service.go.
//
// Multipart uploads are events too (upload.created, upload.part, and an
// object put that completes them or upload.aborted); part bytes and a
// completed object's concatenated bytes are in the blobstore, fsynced,
// before their event. Removing one version is object.purged. The content
// cache holds only bytes of immutable events, so it is never stale.
//
// Auth tokens (Swift) are token.issued events holding the key id and the
// SHA-256 of the token, never the token: the core derives it from the key
// id and the event's time with the server's secret, so the log stays free
// of secrets and a token survives restarts and rebuilds.
//
// JetStream.Read is the change feed for consumers without NATS (GET
// /events): the events after a sequence on some subjects, long-polling for
// the first, each call through an ephemeral consumer it deletes; without
// filters only the public families (objects, services, accounts, uploads),
// never key and token events, replication sources or checkpoints.
//
// With NATSOptions.Listen the embedded server also takes NATS clients
// (natsauth.go): change-feed consumers log in as FeedUser (the server
// admin's, every account) or with an account's feed credential
// (feedcreds.go: feedcred.created.v1, only a verifier in the log), each in
// a NATS account of its own that holds no streams, and read the log only
// through pull consumers of their own filtered on cairn.obj, svc, acct and
// upl, a credential's on its own account's services and account only;
// they can never write to it or read key, token, source or checkpoint
// events. A credential dies with its account.
//
// Caches serves cache services (caches.go): their copies live in
// blobstore/cache stores of their own, outside the log, the projections
// and the main blobstore; a cache's settings are in service.created and
// service.updated, and each flush is a cache.flushed.v1 event. A cache's
// source is an HTTP origin or a storage service of its account, read
// through the projections and Open like a getfile (cachesource.go).
//
// No other package appends events.
package events
