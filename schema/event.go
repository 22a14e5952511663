package schema

import (
	"encoding/json"
	"strconv"
	"time"
)

// Event type names. The suffix is the payload version; a new shape gets a
// new name and both are folded forever.
const (
	TypeObjectPut      = "object.put.v1"
	TypeObjectDelete   = "object.delete.v1"
	TypeObjectCopy     = "object.copy.v1"
	TypeObjectMeta     = "object.meta.v1"
	TypeObjectExpired  = "object.expired.v1"
	TypeServiceCreated = "service.created.v1"
	// TypeServiceCreatedV2 adds the service's container name (unique in
	// its account); a v1 creation's container name is its id.
	TypeServiceCreatedV2 = "service.created.v2"
	TypeServiceUpdated   = "service.updated.v1"
	TypeServiceDeleted   = "service.deleted.v1"
	TypeQuotaSet         = "quota.set.v1"
	TypeKeyCreated       = "key.created.v1"
	TypeKeyRevoked       = "key.revoked.v1"
	TypeAccountCreated   = "account.created.v1"
	TypeAccountDeleted   = "account.deleted.v1"
	TypeObjectPurged     = "object.purged.v1"
	TypeUploadCreated    = "upload.created.v1"
	TypeUploadPart       = "upload.part.v1"
	TypeUploadAborted    = "upload.aborted.v1"
	TypeAccountUpdated   = "account.updated.v1"
	TypeTokenIssued      = "token.issued.v1"
	TypeCheckpoint       = "log.checkpoint.v1"
	TypeSourceCreated    = "source.created.v1"
	TypeSourceDeleted    = "source.deleted.v1"
	TypeServiceResynced  = "service.resynced.v1"
)

// EventTypes lists every event type with its payload's zero value, for the
// JSON Schema and the docs.
var EventTypes = map[string]any{
	TypeObjectPut:        ObjectPut{},
	TypeObjectDelete:     ObjectDelete{},
	TypeObjectCopy:       ObjectCopy{},
	TypeObjectMeta:       ObjectMeta{},
	TypeObjectExpired:    ObjectExpired{},
	TypeServiceCreated:   ServiceCreated{},
	TypeServiceCreatedV2: ServiceCreatedV2{},
	TypeServiceUpdated:   ServiceUpdated{},
	TypeServiceDeleted:   ServiceDeleted{},
	TypeQuotaSet:         QuotaSet{},
	TypeKeyCreated:       KeyCreated{},
	TypeKeyRevoked:       KeyRevoked{},
	TypeAccountCreated:   AccountCreated{},
	TypeAccountDeleted:   AccountDeleted{},
	TypeObjectPurged:     ObjectPurged{},
	TypeUploadCreated:    UploadCreated{},
	TypeUploadPart:       UploadPart{},
	TypeUploadAborted:    UploadAborted{},
	TypeAccountUpdated:   AccountUpdated{},
	TypeTokenIssued:      TokenIssued{},
	TypeCheckpoint:       Checkpoint{},
	TypeSourceCreated:    SourceCreated{},
	TypeSourceDeleted:    SourceDeleted{},
	TypeServiceResynced:  ServiceResynced{},
	TypeCacheFlushed:     CacheFlushed{},
	TypeBlobRepaired:     BlobRepaired{},
	TypeFeedCredCreated:  FeedCredCreated{},
	TypeFeedCredRevoked:  FeedCredRevoked{},
}

// Op names of object events, as syncnext shows them.
const (
	OpPut    = "put"
	OpDelete = "delete"
	OpCopy   = "copy"
	OpMeta   = "meta"
	OpExpire = "expire"
	OpPurge  = "purge"
)

// OpOf returns the syncnext op of an object event type, or "".
func OpOf(typ string) string {
	switch typ {
	case TypeObjectPut:
		return OpPut
	case TypeObjectDelete:
		return OpDelete
	case TypeObjectCopy:
		return OpCopy
	case TypeObjectMeta:
		return OpMeta
	case TypeObjectExpired:
		return OpExpire
	case TypeObjectPurged:
		return OpPurge
	}
	return ""
}

// Actor is who caused an event: the key id (or "admin", "reaper", "system"),
// the dialect it spoke and the client address.
type Actor struct {
	KeyID   string `json:"key_id"`
	Dialect string `json:"dialect,omitempty"`
	Addr    string `json:"addr,omitempty"`
}

// Well-known actors.
const (
	ActorAdmin  = "admin"
	ActorReaper = "reaper"
	ActorSystem = "system"
)

// Event is the envelope of every entry in the log. Seq is the stream
// sequence, set when read back; it is not part of the stored JSON.
type Event struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	Actor     Actor           `json:"actor"`
	RequestID string          `json:"request_id,omitempty"`
	Account   string          `json:"account"`
	Service   string          `json:"service,omitempty"`
	Path      string          `json:"path,omitempty"`
	Data      json.RawMessage `json:"data"`

	Seq uint64 `json:"-"`
}

// Encode returns the event's JSON, the same bytes json.Marshal gives, but
// without re-scanning the payload: encoding/json validates and compacts a
// RawMessage, which for an object carried inline is most of the event.
// Data must be compact JSON (what json.Marshal produced) or empty.
func (e *Event) Encode() ([]byte, error) {
	// The envelope alone ends in "data":null} (a nil RawMessage, the
	// last field written): splice the payload in place of that null.
	env := *e
	env.Data = nil
	head, err := json.Marshal(&env)
	if err != nil {
		return nil, err
	}
	data := []byte(e.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	head = head[:len(head)-len("null}")]
	out := make([]byte, 0, len(head)+len(data)+1)
	out = append(out, head...)
	out = append(out, data...)
	return append(out, '}'), nil
}

// Decode unmarshals the payload into v.
func (e *Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return Wrap(KindInternal, err, "bad event payload")
	}
	return nil
}

// BlobRef says where an object version's bytes are. Exactly one place holds
// them: the blobstore (SHA256 set, Inline and InSeq empty), the event itself
// (Inline, for small objects so one fsync makes both durable), or an earlier
// event of the log (InSeq, for copies and metadata changes of an inline
// object).
type BlobRef struct {
	SHA256 string `json:"sha256"`
	Inline []byte `json:"inline,omitempty"`
	InSeq  uint64 `json:"in_seq,omitempty"`
}

// ObjectPut stores a new version of an object.
type ObjectPut struct {
	Version     string            `json:"version"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"`
	ContentType string            `json:"content_type"`
	Meta        map[string]string `json:"meta,omitempty"`
	DeleteAt    int64             `json:"delete_at,omitempty"` // unix seconds; 0 = never
	Headers     map[string]string `json:"headers,omitempty"`
	Blob        BlobRef           `json:"blob"`
	// Multipart is set when the put completes a multipart upload: the
	// bytes are the upload's parts in order, the upload is closed.
	Multipart *MultipartDone `json:"multipart,omitempty"`
	// Null: written while the service's versioning was suspended; it
	// replaces the object's previous null version (S3's "null" version).
	Null bool `json:"null,omitempty"`
	// Segments make the object a static large object (Swift SLO): its
	// content is these segment versions' bytes in order; Blob is empty and
	// Size their sum. Segment blobs never travel inline (InSeq points at
	// the event that carries an inline segment). A segment marked Manifest
	// references another static large object's version.
	Segments []Segment `json:"segments,omitempty"`
	// ManifestDepth is the large object's nesting depth (Version's), set
	// with Segments.
	ManifestDepth int `json:"manifest_depth,omitempty"`
	// PartSizes keep a replicated completed multipart upload's part
	// sizes (a primary's put records them through Multipart).
	PartSizes []int64 `json:"part_sizes,omitempty"`
}

// MultipartDone records which upload a put completed, and its parts.
type MultipartDone struct {
	Upload string     `json:"upload"`
	Parts  []PartDone `json:"parts"`
}

// PartDone is one part of a completed upload.
type PartDone struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
}

// ObjectDelete adds a tombstone version.
type ObjectDelete struct {
	Version string `json:"version"`
	// Null: written while the service's versioning was suspended; it
	// replaces the object's previous null version (S3's "null" version).
	Null bool `json:"null,omitempty"`
}

// ObjectCopy stores a new version that shares the blob of a source version.
type ObjectCopy struct {
	Version     string            `json:"version"`
	From        ObjectRef         `json:"from"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"`
	ContentType string            `json:"content_type"`
	Meta        map[string]string `json:"meta,omitempty"`
	DeleteAt    int64             `json:"delete_at,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Blob        BlobRef           `json:"blob"`
	// Null: written while the service's versioning was suspended; it
	// replaces the object's previous null version (S3's "null" version).
	Null bool `json:"null,omitempty"`
	// Segments: the source was a static large object; the copy is one too,
	// sharing its segments (references to other large objects included).
	Segments []Segment `json:"segments,omitempty"`
	// ManifestDepth is the source's nesting depth, set with Segments.
	ManifestDepth int `json:"manifest_depth,omitempty"`
}

// ObjectRef names one version of one object.
type ObjectRef struct {
	Service string `json:"service"`
	Path    string `json:"path"`
	Version string `json:"version"`
}

// ObjectMeta stores a new version with the same bytes and new metadata.
type ObjectMeta struct {
	Version     string            `json:"version"`
	ContentType string            `json:"content_type"`
	Meta        map[string]string `json:"meta,omitempty"`
	DeleteAt    int64             `json:"delete_at,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	// Null: written while the service's versioning was suspended; it
	// replaces the object's previous null version (S3's "null" version).
	Null bool `json:"null,omitempty"`
}

// ObjectExpired adds a tombstone version because Expired's delete_at passed.
type ObjectExpired struct {
	Version string `json:"version"`
	Expired string `json:"expired"`
}

// ObjectPurged removes one version of an object from its history (S3's
// DeleteObject with a versionId). The log keeps the events that made it;
// the projections forget it. When it was the newest version, the newest
// remaining one decides whether the object is live.
type ObjectPurged struct {
	Version string `json:"version"`
	Purged  string `json:"purged"`
	// Horizon, set when retention purged the version, is the moment
	// before which the service's history is no longer exact.
	Horizon *time.Time `json:"horizon,omitempty"`
}

// ServiceCreated creates a service in an account.
type ServiceCreated struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Type     string          `json:"type"`
	Settings ServiceSettings `json:"settings"`
}

// ServiceCreatedV2 is ServiceCreated with the service's container name:
// its name among its account's containers and buckets, unique in the
// account (a v1 creation's is its id).
type ServiceCreatedV2 struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Container string          `json:"container"`
	Type      string          `json:"type"`
	Settings  ServiceSettings `json:"settings"`
}

// ServiceUpdated replaces a service's name and settings.
type ServiceUpdated struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Settings ServiceSettings `json:"settings"`
}

// ServiceDeleted removes an empty service.
type ServiceDeleted struct {
	ID string `json:"id"`
}

// QuotaSet changes the quota of a service (Service set) or an account.
// Zero means no limit.
type QuotaSet struct {
	Bytes int64 `json:"bytes"`
	Count int64 `json:"count"`
}

// KeyCreated creates an API key. The secret value never travels in clear:
// Sealed is the value encrypted with the server's secret key (AES-256-GCM),
// Lookup the SHA-256 of the value, used to find the key from x-owncdn-key.
type KeyCreated struct {
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Admin  bool              `json:"admin,omitempty"`
	Access map[string]string `json:"access"`
	// Login is the key's login name (empty: none; events written before
	// logins existed have none).
	Login  string `json:"login,omitempty"`
	Sealed []byte `json:"sealed"`
	Lookup string `json:"lookup"`
}

// KeyRevoked revokes a key.
type KeyRevoked struct {
	ID string `json:"id"`
}

// AccountCreated creates a tenant.
type AccountCreated struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AccountDeleted removes an account that owns nothing.
type AccountDeleted struct {
	ID string `json:"id"`
}

// UploadCreated opens a multipart upload of the envelope's object. The
// new object's metadata is fixed here; it is written by the completing put.
type UploadCreated struct {
	Upload      string            `json:"upload"`
	ContentType string            `json:"content_type"`
	Meta        map[string]string `json:"meta,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

// UploadPart stores (or replaces) one part of an open upload. Part bytes are
// always in the blobstore.
type UploadPart struct {
	Upload string `json:"upload"`
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
	SHA256 string `json:"sha256"`
}

// UploadAborted closes an upload without writing the object.
type UploadAborted struct {
	Upload string `json:"upload"`
}

// AccountUpdated replaces an account's name and metadata (Swift's
// X-Account-Meta-*).
type AccountUpdated struct {
	ID   string            `json:"id"`
	Name string            `json:"name"`
	Meta map[string]string `json:"meta,omitempty"`
}

// TokenIssued records that key ID was given a new auth token (Swift) at
// the event's time; the key's previous token stops working. The token
// itself is never in the log: it is derived from the key id and the issue
// time with the server's secret, and Lookup is the SHA-256 of it, by which
// a request's token finds its key.
type TokenIssued struct {
	ID     string `json:"id"`
	Lookup string `json:"lookup"`
}

// Checkpoint is the server's signature over the hash chain at Seq: Chain
// is the chain value stored with event Seq (hex), Key the server's ed25519
// public key (hex) and Sig its signature (hex) of CheckpointMessage(Seq,
// Chain). A rewrite of the log up to Seq cannot keep both the links and
// this signature.
type Checkpoint struct {
	Seq   uint64 `json:"seq"`
	Chain string `json:"chain"`
	Key   string `json:"key"`
	Sig   string `json:"sig"`
}

// CheckpointMessage is what a checkpoint signs.
func CheckpointMessage(seq uint64, chain string) []byte {
	return []byte("cairn checkpoint v1\n" + strconv.FormatUint(seq, 10) + "\n" + chain)
}

// SourceCreated defines a replication source: another instance's API URL
// and a key value there, sealed with the server's secret.
type SourceCreated struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Sealed []byte `json:"sealed"`
}

// SourceDeleted removes a replication source no replica uses.
type SourceDeleted struct {
	Name string `json:"name"`
}

// ServiceResynced starts a replica over after it could not follow its
// primary's history: the replica's objects and history are forgotten by
// the projections (the log keeps them), its sync id becomes SyncID, and
// the primary's current files follow as puts, ending at the primary's
// sync id ResyncedAt.
type ServiceResynced struct {
	ID         string `json:"id"`
	SyncID     uint64 `json:"sync_id"`
	ResyncedAt uint64 `json:"resynced_at"`
	// Skip only moves the replica's sync id to SyncID, keeping its
	// objects: the primary holds no change for the ids skipped (their
	// versions were purged since), and neither does the replica.
	Skip bool `json:"skip,omitempty"`
}
