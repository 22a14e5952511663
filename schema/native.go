package schema

import "encoding/json"

// The native API's wire shapes, defined once: the server (handlers/native)
// encodes them, the client (handlers/native/client) decodes them, and the
// replication follower and the CLI read them through the client. Field
// names and encodings are those of native.openapi.json; times are RFC 3339
// strings in UTC with nanoseconds, as the server has always written them.

// KeyHeader is the request header that carries a native key value.
const KeyHeader = "x-owncdn-key"

// Native wire codes: the "code" of a native error body, one per Kind.
const (
	CodeInternal            = "internal_error"
	CodeNotFound            = "not_found"
	CodeAlreadyExists       = "already_exists"
	CodeConflict            = "conflict"
	CodePreconditionFailed  = "precondition_failed"
	CodeInvalidArgument     = "invalid_argument"
	CodeQuotaExceeded       = "quota_exceeded"
	CodeTooLarge            = "too_large"
	CodeUnauthorized        = "unauthorized"
	CodeForbidden           = "forbidden"
	CodeNotImplemented      = "not_implemented"
	CodeUnavailable         = "unavailable"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeHistoryTruncated    = "history_truncated"
	CodeRangeNotSatisfiable = "invalid_range"
	CodeInsufficientStorage = "insufficient_storage"
)

// NativeCode is the native wire code of kind k.
func (k Kind) NativeCode() string {
	switch k {
	case KindNotFound:
		return CodeNotFound
	case KindAlreadyExists:
		return CodeAlreadyExists
	case KindConflict:
		return CodeConflict
	case KindPreconditionFailed:
		return CodePreconditionFailed
	case KindInvalidArgument:
		return CodeInvalidArgument
	case KindQuotaExceeded:
		return CodeQuotaExceeded
	case KindTooLarge:
		return CodeTooLarge
	case KindUnauthorized:
		return CodeUnauthorized
	case KindForbidden:
		return CodeForbidden
	case KindNotImplemented:
		return CodeNotImplemented
	case KindUnavailable:
		return CodeUnavailable
	case KindMethodNotAllowed:
		return CodeMethodNotAllowed
	case KindHistoryTruncated:
		return CodeHistoryTruncated
	case KindRangeNotSatisfiable:
		return CodeRangeNotSatisfiable
	case KindInsufficientStorage:
		return CodeInsufficientStorage
	}
	return CodeInternal
}

// KindOfNativeCode is the kind a native wire code stands for: the inverse
// of Kind.NativeCode. An unknown code is KindInternal.
func KindOfNativeCode(code string) Kind {
	for _, k := range Kinds {
		if k.NativeCode() == code {
			return k
		}
	}
	return KindInternal
}

// ErrorBody is the body of every native error answer.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"request_id"`
}

// ErrorDetail is the error of an ErrorBody: a wire code and a message safe
// to show.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// FileEntry is one row of filelist: the live (or as-of) version of a file.
type FileEntry struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	ETag        string `json:"etag"`
	ContentType string `json:"content_type"`
	Modified    string `json:"modified"` // RFC 3339, UTC
	Version     string `json:"version"`
}

// FileList is the answer of filelist. Next, when not nil, is the after
// of the following page. The fields are in key order, as the server has
// always written them.
type FileList struct {
	Files    []FileEntry `json:"files"`
	Next     *string     `json:"next"`
	Prefixes []string    `json:"prefixes"`
}

// VersionEntry is one row of versionlist, newest first.
type VersionEntry struct {
	Version  string `json:"version"`
	Modified string `json:"modified"` // RFC 3339, UTC
	Size     int64  `json:"size"`
	ETag     string `json:"etag"`
	Deleted  bool   `json:"deleted"`
	Current  bool   `json:"current"`
	SyncID   uint64 `json:"sync_id"`
	Op       string `json:"op"`
	Actor    string `json:"actor"`
}

// VersionList is the answer of versionlist.
type VersionList struct {
	Path     string         `json:"path"`
	Versions []VersionEntry `json:"versions"`
}

// Update is one row of syncnext: one change of a service, with what a
// replica needs to apply it.
type Update struct {
	SyncID      uint64            `json:"sync_id"`
	Time        string            `json:"time"` // RFC 3339, UTC
	Op          string            `json:"op"`
	Path        string            `json:"path"`
	Version     string            `json:"version"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"`
	ContentType string            `json:"content_type"`
	Meta        map[string]string `json:"meta"`
	DeleteAt    int64             `json:"delete_at"`
	CopiedFrom  *ObjectRef        `json:"copied_from"`
	PartSizes   []int64           `json:"part_sizes,omitempty"`
	Segments    []UpdateSegment   `json:"segments,omitempty"`
	Headers     map[string]string `json:"headers"`
	Null        bool              `json:"null"`
	SHA256      string            `json:"sha256"`
	Purged      string            `json:"purged,omitempty"`
	Actor       string            `json:"actor"`
}

// UpdateSegment is one segment of a static large object in an Update, so
// a replica holding the segment keeps the object large too.
type UpdateSegment struct {
	Service     string `json:"service"`
	Path        string `json:"path"`
	Version     string `json:"version"`
	Size        int64  `json:"size"`
	ETag        string `json:"etag"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
}

// SyncPage is the answer of syncnext: the changes after a sync id and the
// service's newest sync id. The fields are in key order, as the server
// has always written them.
type SyncPage struct {
	LastSyncID uint64   `json:"last_sync_id"`
	Updates    []Update `json:"updates"`
}

// FeedPage is the answer of the events function (GET /events): each event
// as stored, with its sequence first, and the sequence to continue after.
type FeedPage struct {
	Events []json.RawMessage `json:"events"`
	Last   uint64            `json:"last"`
}

// ReplicaEntry is a replica's setting and lag, in servicelist and the
// admin functions.
type ReplicaEntry struct {
	Source          string  `json:"source"`
	SID             string  `json:"sid"`
	Behind          uint64  `json:"behind"`
	OldestUnapplied float64 `json:"oldest_unapplied_seconds"`
	PrimarySyncID   uint64  `json:"primary_sync_id"`
	LastSync        string  `json:"last_sync"`
	LastResult      string  `json:"last_result"`
	Resyncs         int     `json:"resyncs"`
}

// ServiceEntry is one row of servicelist: a service the key may see, with
// the key's access level to it.
type ServiceEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Account and Container: whose it is, and what that account's Swift
	// container and S3 bucket of it are called (unique in the account).
	Account    string        `json:"account"`
	Container  string        `json:"container"`
	Type       string        `json:"type"`
	Replica    *ReplicaEntry `json:"replica"`
	Cache      *CacheEntry   `json:"cache"`
	Access     string        `json:"access"`
	Files      int64         `json:"files"`
	Bytes      int64         `json:"bytes"`
	LastSyncID uint64        `json:"last_sync_id"`
}

// ServiceList is the answer of servicelist.
type ServiceList struct {
	Services []ServiceEntry `json:"services"`
}

// CacheEntry is a cache service's state in servicelist and the admin
// answers: what it holds, its counters since the server started and, for
// admin keys, its settings.
type CacheEntry struct {
	Settings     *CacheSettings `json:"settings,omitempty"`
	Files        int64          `json:"files"`
	Bytes        int64          `json:"bytes"`
	Hits         int64          `json:"hits"`
	Misses       int64          `json:"misses"`
	NegativeHits int64          `json:"negative_hits"`
	Fetches      int64          `json:"fetches"`
	Revalidated  int64          `json:"revalidated"`
	Evicted      int64          `json:"evicted"`
	Expired      int64          `json:"expired"`
	BytesServed  int64          `json:"bytes_served"`
	BytesFetched int64          `json:"bytes_fetched"`
	Waiting      int64          `json:"waiting"`
}

// Uploaded is the answer of uploadfile (201): the version written. The
// fields are in key order, as the server has always written them.
type Uploaded struct {
	ETag    string `json:"etag"`
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	SyncID  uint64 `json:"sync_id"`
	Version string `json:"version"`
}

// Deleted is the answer of deletefile: the delete marker's version and
// sync id.
type Deleted struct {
	Path    string `json:"path"`
	SyncID  uint64 `json:"sync_id"`
	Version string `json:"version"`
}

// FileListQuery is the parameters of filelist ("" and 0 leave one out).
type FileListQuery struct {
	Prefix, Delimiter string
	// After is where the page starts: a previous page's Next.
	After string
	Limit int
	// AsOf lists the files as they were at a moment: an RFC 3339 time or
	// "sync:N".
	AsOf string
}

// BlobHealth is the answer of blobhealth: what the scrubber (a background
// job verifying every blob's size and digest at a configured rate) found
// since the server started.
type BlobHealth struct {
	// Enabled: the scrubber runs on this server (scrub_interval > 0 and
	// not read-only).
	Enabled bool `json:"enabled"`
	// Interval is how often a pass starts (a Go duration; "0s": off).
	Interval string `json:"interval"`
	// BytesPerSecond bounds how fast a pass reads (0: unbounded).
	BytesPerSecond int64 `json:"bytes_per_second"`
	// Passes counts the passes completed since the server started.
	Passes int64 `json:"passes"`
	// Running: a pass is under way.
	Running bool `json:"running"`
	// LastStarted and LastFinished are RFC 3339 times ("" before the
	// first pass).
	LastStarted  string `json:"last_started"`
	LastFinished string `json:"last_finished"`
	// Checked and CheckedBytes count the blobs (and their bytes) the last
	// completed pass verified; Damaged how many of them it found damaged.
	Checked      int64 `json:"checked"`
	CheckedBytes int64 `json:"checked_bytes"`
	Damaged      int64 `json:"damaged"`
	// Quarantined is how many damaged blobs the blobstore moved aside
	// since the server started, by the scrubber or by reads.
	Quarantined int64 `json:"quarantined"`
	// Repaired is how many damaged or missing blobs the scrubber replaced
	// with a good copy from a replication source since the server started
	// (each recorded as a blob.repaired.v1 event).
	Repaired int64 `json:"repaired"`
	// Blobs are the damaged blobs the scrubber found and that neither an
	// upload of the same bytes nor a repair has healed since.
	Blobs []DamagedBlob `json:"blobs"`
}

// DamagedBlob is a blob the scrubber found damaged.
type DamagedBlob struct {
	Digest string `json:"digest"` // SHA-256, hex
	Size   int64  `json:"size"`   // the file's size when found
	// Reason says how it was damaged, as the blobstore reported it.
	Reason string `json:"reason"`
	Found  string `json:"found"` // RFC 3339
	// Quarantined: the file was moved into the blobstore's quarantine
	// folder (reads of it fail until the bytes are uploaded again).
	Quarantined bool `json:"quarantined"`
	// Objects are the versions that reference the blob (up to 100).
	Objects []ObjectRef `json:"objects"`
	// Repairs are the scrubber's latest attempts to repair the blob from
	// a replication source, oldest first (up to 20).
	Repairs []RepairAttempt `json:"repairs"`
}
