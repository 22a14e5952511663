// Package bench is Cairn's S3 load generator: it drives any S3 endpoint
// with the AWS SDK (PUT, GET, LIST, DELETE or a weighted mix), one target
// after another with the same workload, and reports per target and op the
// operations done and failed, ops/s, MiB/s and latency percentiles, as a
// side-by-side table or JSON, so Cairn can be compared with other S3
// servers in one run. `cairn bench` is its command line (Main); the e2e
// tests and benchmarks call Run against an in-process server.
//
// The client measures the server, not itself: path-style, static
// credentials, retries off, checksums only where an operation requires
// them (Options.SDKChecksums restores the SDK's defaults), a pool of
// Options.Concurrency HTTP/1.1 connections, and one buffer of random bytes
// per target for every PUT body.
//
// Invariants: every operation a run issues is counted once, as done or as
// failed (with its S3 error code and status in the sample); operations cut
// off by the run's end are not counted; the fill before get, delete and
// list runs is not measured; runs hold no package-level state and never
// exit the process.
package bench
