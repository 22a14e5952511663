// Package cache holds the copies a cache service keeps of its source's
// files: the Store (an index in memory and one content file per copy under
// the cache's own directory, DATA/caches/<sid>/), the Cache that fills it
// from a Source (an HTTP origin, or a storage service through the core)
// with one fetch per path however many requests miss at once, and the
// HTTP origin itself.
//
// Cached copies are not history. They are never in the log, never
// referenced by the projections, and never in the main blobstore, so the
// blob collector cannot see or delete them and a rebuild does not touch
// them. What the log holds of a cache is its settings (service.created and
// service.updated) and each flush (cache.flushed.v1, appended by the core).
//
// Invariants: a content file is written whole (temp file, fsync, rename)
// before the index names it, and never changes after; each copy has a
// file of its own, named by a random id, so evicting or replacing a copy
// never touches another's bytes, and a reader that opened a file keeps
// reading it after the copy is evicted. The index survives a clean Close
// (a snapshot written last, read and removed by the next Open); after a
// crash the next Open finds no snapshot and starts empty, removing every
// file, so a copy the index does not describe is never served.
package cache
