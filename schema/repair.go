package schema

// TypeBlobRepaired is the event the scrubber appends when it replaced a
// damaged or missing blob with a good copy fetched from a replication
// source: the repair changes no object (the versions that reference the
// blob keep their digest), so the event is the audit trail of what was
// repaired, when and from where. It is stored on the subject of the
// service whose version led to the copy (cairn.svc.<hash>.repaired).
const TypeBlobRepaired = "blob.repaired.v1"

// BlobRepaired records one repaired blob. The envelope's service is the
// local service whose version the copy was fetched for, its actor the
// system (dialect "scrubber"). No URL or key of the source is recorded:
// sources are named, and their definitions stay out of the feed.
type BlobRepaired struct {
	// SHA256 and Size are the blob's digest and size: the fetched bytes
	// matched both before they were stored.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Source is the name of the replication source the copy came from.
	Source string `json:"source"`
	// From is the version fetched there (getfile): the service as the
	// source names it, the path and the version id.
	From ObjectRef `json:"from"`
}

// Results of a repair attempt (RepairAttempt.Result).
const (
	// RepairRepaired: a good copy was fetched, stored and recorded.
	RepairRepaired = "repaired"
	// RepairFailed: the source could not be reached, did not hold the
	// version, or there was no source to ask.
	RepairFailed = "failed"
	// RepairRefused: the source answered bytes that do not match the
	// blob's digest or size; they were discarded.
	RepairRefused = "refused"
)

// RepairAttempt is one try of the scrubber to repair a damaged blob from
// one source, as blobhealth reports it.
type RepairAttempt struct {
	Time   string `json:"time"`   // RFC 3339
	Result string `json:"result"` // RepairRepaired, RepairFailed or RepairRefused
	// Source is the replication source asked ("" when there was none).
	Source string `json:"source"`
	// From is the version asked for there (absent when there was no
	// source).
	From *ObjectRef `json:"from,omitempty"`
	// Error says why the attempt failed or was refused ("" on success).
	Error string `json:"error,omitempty"`
}
