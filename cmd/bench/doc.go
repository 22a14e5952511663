// Invariants: every operation a run issues is counted once, as done or as
// failed (with its S3 error code in the sample); operations cut off by the
// run's deadline are not counted; retries are off so the server's errors
// are never hidden. Runs hold no package-level state.
package bench
