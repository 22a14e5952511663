// Package projections is Cairn's read side: deterministic folds of events
// into buntdb indexes (listing, versions, usage and quotas, the expiry
// schedule, per-service sync ids and change index, services, accounts, keys,
// open multipart uploads and their parts, blob reference counts),
// the runner that applies the log in order, and the query API every dialect
// reads.
//
// Invariants: a fold uses only the event and the current index state (no
// clock, randomness or I/O), so replaying a log gives byte-identical indexes;
// the last applied sequence is written in the same transaction as the
// changes, and events at or below it are skipped, so restart and rebuild are
// the same code; Wait(seq) gives read-your-writes. The in-memory service
// cache is replaced from each committed batch, so it never answers with a
// state older than the last applied sequence.
package projections
