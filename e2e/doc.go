// Package e2e holds Cairn's black-box tests: real clients (plain net/http
// for the native API; the S3 and Swift SDKs as those dialects arrive)
// against a complete in-process server, or against a real child process
// for the kill -9 durability tests. harness_test.go starts servers and
// gives each test its own service, so tests run in parallel.
package e2e
