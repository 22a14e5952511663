package schema

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The buntdb key layout of the projections. Names and paths may hold any
// byte but NUL, so NUL separates the parts and byte order of keys is byte
// order of paths.
//
//	m:applied                              last applied stream sequence (the checkpoint)
//	acct:<account>                         Account
//	svc:<service>                          Service (with usage and last_sync_id)
//	key:<key-id>                           Key
//	keyh:<sha256 of value>                 key id (lookup by x-owncdn-key)
//	fc:<feed-user>                         FeedCredential (a NATS feed login of one account)
//	pg:<service>\x00<sync-id>                a purge change (Version with Op purge, Purged set)
//	src:<name>                             replication Source
//	tok:<key-id>                           Token: the key's current auth token (Swift)
//	tokh:<sha256 of token>                 key id (lookup by X-Auth-Token)
//	o:<service>\x00<path>                  current live Version (listing)
//	v:<service>\x00<path>\x00<inv-sync>    every Version, newest first per path
//	c:<service>\x00<sync-id>               path of the change with that sync id
//	x:<delete-at>\x00<service>\x00<path>   expiry schedule: version id
//	br:<sha256>                            number of versions and parts referencing a blob
//	rf:<service>\x00<path>\x00<version>     number of version records referencing a large object's version
//	pv:<service>\x00<path>\x00<version>     a referenced Version that left the history (hidden, pinned)
//	sn:<account>\x00<container>            the id of the account's service of that container name
//	u:<service>\x00<upload-id>             open multipart Upload
//	p:<service>\x00<upload-id>\x00<05d>     Part of an open upload
const (
	KeyApplied = "m:applied"
	// KeyLayout holds the layout of the projections' keys (Layout) that
	// wrote them; a store of another layout is rebuilt from the log.
	KeyLayout = "m:layout"
	sep       = "\x00"
)

// Layout is the projections' key layout this version writes. It changes
// when a fold writes keys or values that an older fold did not (2: the
// per-account container name index, sn:).
const Layout = "2"

// ServiceNameKey is the key of the index from an account's container name
// to its service's id.
func ServiceNameKey(account, container string) string { return "sn:" + account + sep + container }

// AccountKey is the key of an account record.
func AccountKey(id string) string { return "acct:" + id }

// ServiceKey is the key of a service record.
func ServiceKey(id string) string { return "svc:" + id }

// KeyKey is the key of an API key record.
func KeyKey(id string) string { return "key:" + id }

// KeyLookupKey is the key of a value-hash to key-id entry.
func KeyLookupKey(lookup string) string { return "keyh:" + lookup }

// PurgeKey is the key of a purge change of a service (its sync id).
func PurgeKey(service string, syncID uint64) string {
	return fmt.Sprintf("pg:%s%s%016x", service, sep, syncID)
}

// SourceKey is the key of a replication source.
func SourceKey(name string) string { return "src:" + name }

// TokenKey is the key of a key's current auth token.
func TokenKey(keyID string) string { return "tok:" + keyID }

// TokenLookupKey is the key of an auth token's lookup entry.
func TokenLookupKey(lookup string) string { return "tokh:" + lookup }

// ObjectKey is the key of the live version of an object.
func ObjectKey(service, path string) string { return "o:" + service + sep + path }

// ObjectPrefix is the prefix of every live object of a service.
func ObjectPrefix(service string) string { return "o:" + service + sep }

// VersionKey is the key of one version; newer versions sort first.
func VersionKey(service, path string, syncID uint64) string {
	return VersionPathPrefix(service, path) + fmt.Sprintf("%016x", math.MaxUint64-syncID)
}

// VersionPathPrefix is the prefix of every version of one object.
func VersionPathPrefix(service, path string) string { return "v:" + service + sep + path + sep }

// VersionPrefix is the prefix of every version in a service.
func VersionPrefix(service string) string { return "v:" + service + sep }

// SplitVersionKey returns the path and sync id of a version key of service.
func SplitVersionKey(service, key string) (path string, syncID uint64, ok bool) {
	rest, ok := strings.CutPrefix(key, VersionPrefix(service))
	if !ok || len(rest) < 17 || rest[len(rest)-17] != 0 {
		return "", 0, false
	}
	inv, err := strconv.ParseUint(rest[len(rest)-16:], 16, 64)
	if err != nil {
		return "", 0, false
	}
	return rest[:len(rest)-17], math.MaxUint64 - inv, true
}

// ChangeKey is the key of the change with a sync id in a service.
func ChangeKey(service string, syncID uint64) string {
	return ChangePrefix(service) + fmt.Sprintf("%016x", syncID)
}

// ChangePrefix is the prefix of a service's change index.
func ChangePrefix(service string) string { return "c:" + service + sep }

// ExpiryKey is the key of an expiry schedule entry.
func ExpiryKey(deleteAt int64, service, path string) string {
	return fmt.Sprintf("x:%020d", deleteAt) + sep + service + sep + path
}

// SplitExpiryKey returns the parts of an expiry key.
func SplitExpiryKey(key string) (deleteAt int64, service, path string, ok bool) {
	rest, ok := strings.CutPrefix(key, "x:")
	if !ok {
		return 0, "", "", false
	}
	parts := strings.SplitN(rest, sep, 3)
	if len(parts) != 3 {
		return 0, "", "", false
	}
	at, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return 0, "", "", false
	}
	return at, parts[1], parts[2], true
}

// BlobRefKey is the key of a blob's reference count.
func BlobRefKey(digest string) string { return "br:" + digest }

// RefCountKey is the key of the number of version records (visible or
// pinned) whose segments reference one version of a static large object.
func RefCountKey(service, path, version string) string {
	return "rf:" + service + sep + path + sep + version
}

// PinnedKey is the key of a static large object's version that left its
// history (purged, retired, its service deleted) while a manifest still
// references it: only reads through a reference see it.
func PinnedKey(service, path, version string) string {
	return "pv:" + service + sep + path + sep + version
}

// UploadKey is the key of an open multipart upload.
func UploadKey(service, id string) string { return "u:" + service + sep + id }

// UploadPrefix covers every open upload of a service.
func UploadPrefix(service string) string { return "u:" + service + sep }

// PartKey is the key of one part of an upload.
func PartKey(service, upload string, n int) string {
	return fmt.Sprintf("p:%s%s%s%s%05d", service, sep, upload, sep, n)
}

// PartPrefix covers every part of an upload.
func PartPrefix(service, upload string) string { return "p:" + service + sep + upload + sep }

// ServicePartPrefix covers every part of every upload of a service.
func ServicePartPrefix(service string) string { return "p:" + service + sep }
