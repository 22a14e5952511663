// Package datadir owns a Cairn data directory as a whole: its layout (the
// log in jetstream/, the blobs in blobs/, projections.db, the key files),
// the lock that keeps two processes out of one directory, and the offline
// operations on the directory of a stopped server: Rebuild (refold the
// projections from the log), RebuildUntil (a new directory holding the
// server as it was at a moment, for a read-only server), Recover (a new
// directory holding a damaged log's events before the damage), VerifyDir, and
// what a read-only server needs to serve such a copy (PointInTime, Moment,
// CappedFeed).
//
// It lives under events, not projections, because it composes the three
// stores of a directory (the log, the blobstore and the projections)
// while projections may import only schema; it is not part of the core,
// which never sees a directory. cmd/server calls it for start-up checks;
// cmd/cairn for `cairn rebuild` and `cairn verify`.
//
// Invariants: projections a server folds are never ahead of the log
// (OpenProjections rebuilds them), and a log missing events in its middle
// is refused with a *DamageError naming the file and `cairn recover`; an operation on a directory holds its lock for its whole
// length; a source directory is never written; every file it makes is
// fsynced, and so is every directory it adds an entry to; a point-in-time
// copy carries PointInTimeFile from before its projections exist, so no
// server but a read-only one ever folds the events after its moment.
package datadir
