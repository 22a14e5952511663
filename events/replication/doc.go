// Package replication keeps a server's replica services following their
// primaries. A Follower watches the projections for services whose
// settings make them replicas, runs one loop per replica, and stops it
// when the service stops being one (promoted, deleted). Each loop
// long-polls the primary's syncnext, fetches content with getfile by
// version, and hands each change to the core (events.Core.ApplyChange) in
// order; when the histories diverged, or the primary no longer holds the
// history the replica needs (a schema.KindHistoryTruncated answer), it
// brings the replica to the primary's current files (events.Core.Resync).
//
// The follower talks to a primary only through the Primary interface,
// which the native client (handlers/native/client) implements; the command
// wires it in (Options.Connect), since events may not import handlers. What it
// knows of the lag is kept in memory (ReplicaStatus, shown by
// servicelist); where a replica stands is its own last_sync_id in the
// projections, so a restart resumes exactly there.
package replication
