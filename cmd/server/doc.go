// Package server wires a complete Cairn server from a Config: the embedded
// NATS log, the projections and their runner, the blobstore, the core, the
// HTTP dialects, the reaper and the blob collector, with ordered start-up
// and shutdown. It holds no package-level state, so tests can run several
// servers (a primary and its replicas) in one process.
package server
