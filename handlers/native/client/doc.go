// Package client is the one Go client of Cairn's native API: typed calls
// for the functions the CLI, the replication follower and the tests use
// (servicelist, filelist with paging, versionlist, getfile by version,
// syncnext with its long poll, uploadfile, deletefile, the change feed,
// and any admin function by name), the key sent in schema.KeyHeader, and
// every error answer decoded into an *Error that unwraps to a
// *schema.Error of the kind the server reported.
//
// It imports only schema and the standard library, so anything may use it
// without pulling in the server. It holds no state but its configuration:
// one Client is safe for concurrent use.
package client
