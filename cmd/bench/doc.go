// Package bench is Cairn's S3 load generator: it drives any S3 endpoint
// with the AWS SDK (PUT, GET, LIST, DELETE or a mix), one target after
// another with the same workload, and reports ops/s, MiB/s, latency
// percentiles and errors as text or JSON, so Cairn can be compared with
// other S3 servers in one run. `cairn bench` is its command line; the e2e
// benchmarks call Run against an in-process server.
//
// Invariants: every operation a run issues is counted once, as done or as
// failed (with its S3 error code in the sample); operations cut off by the
// run's deadline are not counted; retries are off so the server's errors
// are never hidden. Runs hold no package-level state.
package bench
