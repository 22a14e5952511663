// Package server wires a complete Cairn server from a Config: the embedded
// NATS log, the projections and their runner, the blobstore, the core, the
// HTTP dialects, and the background loops (reaper, checkpoints, retention,
// blob collector, replication follower), with ordered start-up and
// shutdown. It holds wiring only: the loops live in events and
// events/replication, folding the log in projections (Store.CatchUp), and
// the data directory's layout, lock and offline operations (rebuild,
// rebuild --until, verify, read-only serving) in events/datadir. It holds
// no package-level state, so tests can run several servers (a primary and
// its replicas) in one process.
package server
