package schema

import (
	"slices"
	"time"
)

// Service types.
const (
	ServiceStorage = "storage"
	ServiceCache   = "cache"
)

// Access levels of a key on a service.
const (
	AccessRead  = "read"
	AccessWrite = "write"
)

// AllServices is the access map key granting access to every service of the
// key's account.
const AllServices = "*"

// ServiceSettings are the type settings of a service.
type ServiceSettings struct {
	// KeepVersions is "forever" (or empty) or a Go duration.
	KeepVersions string `json:"keep_versions,omitempty"`
	// Versioning is "Enabled" (default) or "Suspended" (S3).
	Versioning string `json:"versioning,omitempty"`
	// Meta holds dialect metadata (Swift container metadata, ...).
	Meta map[string]string `json:"meta,omitempty"`
	// ReadACL and WriteACL share the service beyond its account (Swift's
	// X-Container-Read / X-Container-Write): each element is an account
	// id, "<account>:*", "<account>:<key id>", a key id, ".r:*" (anyone may
	// read objects without credentials) or ".rlistings" (with ".r:*", the
	// listing too). Write implies read.
	ReadACL  []string `json:"read_acl,omitempty"`
	WriteACL []string `json:"write_acl,omitempty"`
	// Policy is the Swift storage policy the container was made with; it
	// is kept and shown, every policy stores alike.
	Policy string `json:"policy,omitempty"`
	// Replica makes the service a read-only replica following a service
	// of another instance (nil: a primary, written by clients).
	Replica *ReplicaOf `json:"replica,omitempty"`
	// Cache holds a cache service's settings (type "cache" only).
	Cache *CacheSettings `json:"cache,omitempty"`
}

// ReplicaOf names what a replica follows: a replication source of this
// instance and the service id there.
type ReplicaOf struct {
	Source string `json:"source"`
	SID    string `json:"sid"`
}

// ReplicaLag is how a replica follows its primary: changes it has not
// applied yet, how old the oldest of them is, when it last heard from the
// primary and how that went.
type ReplicaLag struct {
	Behind          uint64    `json:"behind"`
	OldestUnapplied float64   `json:"oldest_unapplied_seconds"`
	PrimarySyncID   uint64    `json:"primary_sync_id"`
	LastSync        time.Time `json:"last_sync"`
	LastResult      string    `json:"last_result"`
	Resyncs         int       `json:"resyncs"`
}

// Source is a replication source: another instance's API URL and a key
// there, sealed like key values (never in the log in clear).
type Source struct {
	Name    string    `json:"name"`
	URL     string    `json:"url"`
	Sealed  []byte    `json:"sealed"`
	Created time.Time `json:"created"`
}

// ACL elements with a meaning of their own.
const (
	ACLPublicRead = ".r:*"
	ACLListings   = ".rlistings"
)

// PublicRead reports whether anyone may read the service's objects without
// credentials: a ".r:*" read ACL, or Swift's X-Container-Meta-Type: public.
func (s *Service) PublicRead() bool {
	return s.Settings.Meta["type"] == "public" || slices.Contains(s.Settings.ReadACL, ACLPublicRead)
}

// PublicListing reports whether anyone may list the service without
// credentials (".r:*" with ".rlistings").
func (s *Service) PublicListing() bool {
	return s.PublicRead() && slices.Contains(s.Settings.ReadACL, ACLListings)
}

// Service is a service as the projections hold it.
type Service struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Name    string `json:"name"`
	// Container is the service's name among its account's containers and
	// buckets (Swift, S3): unique in the account. It is the id for a
	// service created before names were per account, or by the native API.
	Container  string          `json:"container"`
	Type       string          `json:"type"`
	Settings   ServiceSettings `json:"settings"`
	Created    time.Time       `json:"created"`
	Files      int64           `json:"files"`
	Bytes      int64           `json:"bytes"`
	QuotaBytes int64           `json:"quota_bytes,omitempty"`
	QuotaCount int64           `json:"quota_count,omitempty"`
	LastSyncID uint64          `json:"last_sync_id"`
	// LastSeq is the stream sequence of the service's newest event.
	LastSeq uint64 `json:"last_seq"`
	// ResyncedAt is the primary's sync id a replica was last
	// resynchronised to (its history before it is its own, not the
	// primary's).
	ResyncedAt uint64 `json:"resynced_at,omitempty"`
	// Horizon is the oldest moment point-in-time reads still reach
	// exactly: versions superseded before it were purged by retention
	// (zero: the whole history is kept).
	Horizon time.Time `json:"horizon,omitzero"`
}

// ContainerName is s's name among its account's containers and buckets.
func (s *Service) ContainerName() string {
	if s.Container != "" {
		return s.Container
	}
	return s.ID
}

// Suspended reports whether versioning is suspended (S3): new versions
// replace the object's null version instead of adding to its history.
func (s *Service) Suspended() bool { return s.Settings.Versioning == VersioningSuspended }

// Versioning states (S3).
const (
	VersioningEnabled   = "Enabled"
	VersioningSuspended = "Suspended"
)

// Key is an API key as the projections hold it (never the clear value).
type Key struct {
	ID      string            `json:"id"`
	Account string            `json:"account"`
	Name    string            `json:"name"`
	Admin   bool              `json:"admin,omitempty"`
	Access  map[string]string `json:"access"`
	// Login is the key's login name, unique among its account's unrevoked
	// keys (Swift's sub-user "<account>_<login>"); empty: none.
	Login   string    `json:"login,omitempty"`
	Sealed  []byte    `json:"sealed"`
	Lookup  string    `json:"lookup"`
	Created time.Time `json:"created"`
	Revoked bool      `json:"revoked,omitempty"`
}

// CanRead reports whether k may read service sid.
func (k *Key) CanRead(sid string) bool {
	if k.Revoked {
		return false
	}
	if k.Admin {
		return true
	}
	_, all := k.Access[AllServices]
	_, one := k.Access[sid]
	return all || one
}

// CanWrite reports whether k may write service sid.
func (k *Key) CanWrite(sid string) bool {
	if k.Revoked {
		return false
	}
	return k.Admin || k.Access[AllServices] == AccessWrite || k.Access[sid] == AccessWrite
}

// Account is a tenant as the projections hold it.
type Account struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Created    time.Time `json:"created"`
	QuotaBytes int64     `json:"quota_bytes,omitempty"`
	Services   int64     `json:"services"`
	Keys       int64     `json:"keys"`
	Bytes      int64     `json:"bytes"`
	// Meta is the account's metadata (Swift's X-Account-Meta-*).
	Meta map[string]string `json:"meta,omitempty"`
}

// Token is a key's current auth token (Swift), as the projections hold it:
// never the token, which only the server's secret can derive again.
type Token struct {
	KeyID   string    `json:"key_id"`
	Account string    `json:"account"`
	Lookup  string    `json:"lookup"`
	Issued  time.Time `json:"issued"`
}

// Version is one version of an object: content, metadata change, tombstone.
type Version struct {
	Service     string            `json:"service"`
	Path        string            `json:"path"`
	Version     string            `json:"version"`
	Seq         uint64            `json:"seq"`
	SyncID      uint64            `json:"sync_id"`
	Time        time.Time         `json:"time"`
	Op          string            `json:"op"`
	Deleted     bool              `json:"deleted,omitempty"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	DeleteAt    int64             `json:"delete_at,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Blob        BlobRef           `json:"blob"`
	CopiedFrom  *ObjectRef        `json:"copied_from,omitempty"`
	// Parts is the number of parts of a completed multipart upload.
	Parts int `json:"parts,omitempty"`
	// PartSizes are the sizes of a completed upload's parts, in order, so
	// a part can be read by its number.
	PartSizes []int64 `json:"part_sizes,omitempty"`
	// Null: written while versioning was suspended (S3's "null" version);
	// an object has at most one.
	Null  bool   `json:"null,omitempty"`
	Actor string `json:"actor,omitempty"`
	// Purged is, for a purge change (Op "purge"), the version it removed.
	Purged string `json:"purged,omitempty"`
	// Segments make the version a static large object: its content is
	// these pinned segments' bytes in order (Size is their sum; Blob is
	// empty). A segment marked Manifest is another large object's version,
	// read through its own segments.
	Segments []Segment `json:"segments,omitempty"`
	// ManifestDepth is how deeply a static large object nests: 1 when its
	// segments are plain objects, else 1 more than the deepest large
	// object it references (0 on versions of older events, whose segments
	// are all plain: see Depth). The core computes it at the put and the
	// event carries it, so the fold never looks the references up.
	ManifestDepth int `json:"manifest_depth,omitempty"`
}

// Depth is how deeply v nests as a static large object: 0 for any other
// object, at least 1 for a large object (older events recorded no depth;
// their segments were all plain, or flattened into plain ones).
func (v *Version) Depth() int {
	if len(v.Segments) == 0 {
		return 0
	}
	return max(v.ManifestDepth, 1)
}

// References returns the large objects' versions v's segments reference
// (the segments marked Manifest), in order, repeats included.
func (v *Version) References() []ObjectRef {
	if v.Deleted {
		return nil
	}
	var out []ObjectRef
	for _, sg := range v.Segments {
		if sg.Manifest {
			out = append(out, ObjectRef{Service: sg.Service, Path: sg.Path, Version: sg.Version})
		}
	}
	return out
}

// Digests returns the blobstore digests v references: its own blob and
// its segments' (bytes carried by events are not in the blobstore).
func (v *Version) Digests() []string {
	if v.Deleted {
		return nil
	}
	var out []string
	if v.Blob.InSeq == 0 && v.Blob.SHA256 != "" {
		out = append(out, v.Blob.SHA256)
	}
	for _, sg := range v.Segments {
		if sg.Blob.InSeq == 0 && sg.Blob.SHA256 != "" {
			out = append(out, sg.Blob.SHA256)
		}
	}
	return out
}

// Segment is one part of a static large object: a version of another
// object, pinned by its bytes, so the large object keeps its content when
// the segment object is later overwritten or deleted. With Manifest set it
// is a reference to another static large object's version (Swift's
// sub_slo): Size and ETag are that version's (its total size and its
// large-object ETag), Blob is empty, and the referenced version's record
// is kept, hidden if it leaves the history, while any version references
// it, so its segments stay pinned.
type Segment struct {
	Service     string  `json:"service"`
	Path        string  `json:"path"`
	Version     string  `json:"version"`
	Size        int64   `json:"size"`
	ETag        string  `json:"etag"`
	ContentType string  `json:"content_type,omitempty"`
	Blob        BlobRef `json:"blob"`
	Manifest    bool    `json:"manifest,omitempty"`
}

// ExpiredAt reports whether v has an expiry at or before now.
func (v *Version) ExpiredAt(now time.Time) bool {
	return v.DeleteAt > 0 && now.Unix() >= v.DeleteAt
}

// Live reports whether v is readable at now: not a tombstone, not expired.
func (v *Version) Live(now time.Time) bool { return !v.Deleted && !v.ExpiredAt(now) }

// Upload is an open multipart upload as the projections hold it.
type Upload struct {
	Service     string            `json:"service"`
	Path        string            `json:"path"`
	ID          string            `json:"id"`
	Account     string            `json:"account"`
	Initiated   time.Time         `json:"initiated"`
	Actor       string            `json:"actor,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

// Part is one stored part of an open upload.
type Part struct {
	Number   int       `json:"number"`
	Size     int64     `json:"size"`
	ETag     string    `json:"etag"`
	SHA256   string    `json:"sha256"`
	Modified time.Time `json:"modified"`
}
