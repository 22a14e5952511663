// Package schema is Cairn's vocabulary: identifiers and their validation, the
// event envelope and payload types with explicit versioned type names
// ("object.put.v1"), the typed domain error, the subject layout of the log and
// the key layout of the buntdb projections. It imports nothing of Cairn's
// own, so every other package can depend on it.
//
// Invariants: a type name once published never changes shape (add a new
// version instead); subjects never carry user-chosen strings, only hashes, so
// any object path is safe in a subject.
package schema
