// Package blobstore owns Cairn's content-addressed bytes: the Store interface,
// its filesystem backend (FS), the orphan collector (CollectOrphans) and, in
// blobstoretest, the conformance suite every backend must pass.
//
// Invariants: a blob is named by the lower-case hex SHA-256 of its bytes and
// nothing else, so a blob never changes once stored and storing the same bytes
// twice leaves one copy; every digest a caller supplies is validated before it
// touches storage; Put returns only once the bytes are durable, and a failed,
// oversized or cancelled Put leaves nothing visible. Blobs are written before
// the event that references them, so an unreferenced blob is garbage only once
// it is older than a grace period, and is collected outside the request path.
package blobstore
