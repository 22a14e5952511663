// Package e2e holds Cairn's black-box tests of the three dialects with real
// clients: plain net/http for the native API; aws-sdk-go-v2, minio-go and
// the aws CLI, rclone and s3cmd for S3; ncw/swift and the swift CLI for
// Swift; and round trips from one dialect to another. They run against a
// complete in-process server, against the external server CAIRN_E2E_URL
// names, or, for the kill -9 durability tests, against a real child
// process. harness_test.go is the one harness: it starts (or finds) the
// target and gives each test its own service and clients, so tests run in
// parallel.
//
// # Against an external server
//
// With CAIRN_E2E_URL set (for example http://127.0.0.1:8700) and
// CAIRN_E2E_ADMIN_KEY_ID and CAIRN_E2E_ADMIN_KEY set to the admin key id
// and key that `cairn serve` prints, the black-box tests run against that
// server instead of an in-process one (Start). Their names carry a tag of
// the run, so the same server can take several runs. Tests that need the
// server in this process skip, saying why (StartLocal, skipExternal): kill
// -9 and restarts, a second server (replication), reading the data
// directory or the log, an injected clock, a configuration of their own,
// or fixed names and listings of everything the server holds.
//
// # Real-clock tests
//
// A test that depends on the real clock or on timing calls realClock(t)
// first; it runs by default (CI covers it) and skips under -short or with
// CAIRN_E2E_REAL_CLOCK=0. They are TestSwiftExpiry_RealClock (waits for
// a wall-clock second to pass), TestRpFailover_PrimaryStopsWhileFollowed
// (a shutdown within 5 s), TestRpKill_Replica and TestRpKill_Primary
// (uploads at a rate, kills mid-stream) and TestSwiftLarge_StreamingMemory
// (samples memory every 20 ms). Every other wait polls a condition with
// eventually (wait_test.go); none sleeps.
//
// # Command-line clients
//
// The CLI tests run exactly the clients .ci/run installs from Debian
// (/usr/bin/aws, /usr/bin/rclone, /usr/bin/s3cmd, /usr/bin/swift), never
// another one found on PATH; without them they skip, naming what they
// found, except under CI, where they fail.
package e2e
