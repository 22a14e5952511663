package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/swift"
	"github.com/cairnhq/cairn/schema"
)

// Config is the whole server configuration. Zero values take the defaults
// of Default(); flags, CAIRN_* environment variables and a JSON config file
// all write into it.
type Config struct {
	Data   string `json:"data"`   // data directory
	Listen string `json:"listen"` // HTTP address
	// AdminKeyID and AdminKey are the server admin key; when both are
	// empty one is generated on first start and kept in Data/admin.json.
	AdminKeyID string `json:"admin_key_id"`
	AdminKey   string `json:"admin_key"`
	// Sync is "always" (fsync every event before acknowledging it: an
	// acknowledged write survives power loss) or a Go duration such as
	// "1s": JetStream then syncs on that interval, faster but a power
	// failure can lose the last interval's acknowledged writes.
	Sync string `json:"sync"`
	// InlineMax: objects up to this many bytes travel inside their event.
	InlineMax int64 `json:"inline_max"`
	// MaxObjectSize bounds one object's size.
	MaxObjectSize int64 `json:"max_object_size"`
	// ReapInterval is how often the reaper looks for due expiries.
	ReapInterval Duration `json:"reap_interval"`
	// GCInterval and GCGrace drive the orphan-blob collector.
	GCInterval Duration `json:"gc_interval"`
	GCGrace    Duration `json:"gc_grace"`
	// CheckpointInterval is how often a signed checkpoint of the hash
	// chain is written (when anything was appended since the last one).
	CheckpointInterval Duration `json:"checkpoint_interval"`
	// RetainInterval is how often old versions past a service's
	// keep_versions are purged.
	RetainInterval Duration `json:"retain_interval"`
	// ReplicationWait is how long a replica's syncnext long poll waits on
	// its primary when nothing is new (a change ends it at once).
	ReplicationWait Duration `json:"replication_wait"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// PublicURL is the base of the Swift storage URLs auth hands out
	// ("https://cdn.example.com"); empty: each request's own scheme and host.
	PublicURL string `json:"public_url"`
	// SwiftRegion is the region of the object-store endpoint in the Swift
	// v2 and v3 catalogs: what clients that ask for a region
	// (--os-region-name) must name ("ru-1" for Selectel's documents).
	SwiftRegion string `json:"swift_region"`
	// Name tells servers in one process apart (NATS server name).
	Name string `json:"name"`
	// NATSListen, when set, is the HOST:PORT (port 0 picks one) where the
	// embedded NATS server takes clients: change-feed consumers, user
	// "consumer" with the password kept in Data/nats.json. Empty: no
	// listener.
	NATSListen string `json:"nats_listen"`
	// ReadOnly serves the data directory for inspection (readonly.go):
	// reads work in every dialect, every change is refused, the
	// projections stay where they are and no background writer runs.
	ReadOnly bool `json:"read_only"`

	// UploadMaxAge: an open multipart upload initiated longer ago than
	// this is aborted by the upload reaper (an upload.aborted event; its
	// parts become garbage for the collector), as a lifecycle rule's
	// AbortIncompleteMultipartUpload does. 0 keeps uploads open forever.
	UploadMaxAge Duration `json:"upload_max_age"`
	// UploadReapInterval is how often the upload reaper looks.
	UploadReapInterval Duration `json:"upload_reap_interval"`
	// CheckpointOnStop signs a checkpoint of the hash chain at a clean
	// shutdown, after the last write, so a server restarted more often
	// than CheckpointInterval still signs its log. It appends one event
	// per stop.
	CheckpointOnStop bool `json:"checkpoint_on_stop"`

	// IdleTimeout closes a keep-alive connection that sends no new request
	// for this long.
	IdleTimeout Duration `json:"idle_timeout"`
	// HeaderTimeout is how long a client has to send a request's line and
	// headers.
	HeaderTimeout Duration `json:"header_timeout"`
	// BodyTimeout is the longest a request body may stall (no byte
	// arrives) and the longest a response write may wait on a client that
	// does not read, beyond what MinTransferRate allows for its size; it
	// is also the grace before MinTransferRate applies. Long polls are not
	// affected: no deadline runs while a handler waits to write.
	BodyTimeout Duration `json:"body_timeout"`
	// MinTransferRate (bytes per second) is the slowest average a request
	// body may keep after its first BodyTimeout, and the rate each
	// response write must at least reach; 0 turns the rate check off
	// (BodyTimeout still bounds stalls).
	MinTransferRate int64 `json:"min_transfer_rate"`
	// MaxAnonymousConns caps the connections that have not yet made an
	// authenticated request: past it the idle one whose last request began
	// earliest is closed (httpx.Anonymous).
	MaxAnonymousConns int `json:"max_anonymous_conns"`

	// ScrubInterval is how often the scrubber starts a pass verifying
	// every blob's size and SHA-256 (damaged blobs are quarantined and
	// reported by blobhealth); 0 turns it off. A read-only server never
	// scrubs.
	ScrubInterval Duration `json:"scrub_interval"`
	// ScrubRate bounds how many bytes per second a scrub pass reads; 0
	// reads as fast as the disk goes.
	ScrubRate int64 `json:"scrub_rate"`

	// DiskReserve is the free space, in bytes, that uploads never use on
	// the data directory's disk: an upload that would leave less is
	// refused with 507 before its body is read (or as soon as it crosses
	// the mark), so deletes and the events they append always fit. Below
	// a quarter of it every write is refused, before the log or the
	// projections could fail a write themselves (blobstore.Space).
	DiskReserve int64 `json:"disk_reserve"`

	// Clock replaces time.Now (tests).
	Clock func() time.Time `json:"-"`
}

// Duration is a time.Duration written as a Go duration string in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// minDiskReserve is the smallest disk_reserve: its quarter, the floor
// below which every write is refused, must still hold a whole event (up
// to the log's 8 MiB payload limit) and the projections it changes.
const minDiskReserve = 16 << 20

// Default returns the embedded defaults: data in ./cairn-data, HTTP on
// 127.0.0.1:8700, sync always.
func Default() Config {
	return Config{
		Data:               "cairn-data",
		Listen:             "127.0.0.1:8700",
		Sync:               "always",
		InlineMax:          64 << 10,
		MaxObjectSize:      5 << 30,
		ReapInterval:       Duration(time.Second),
		GCInterval:         Duration(time.Hour),
		GCGrace:            Duration(time.Hour),
		CheckpointInterval: Duration(time.Minute),
		ReplicationWait:    Duration(20 * time.Second),
		RetainInterval:     Duration(time.Minute),
		LogLevel:           "info",
		SwiftRegion:        swift.DefaultRegion,
		UploadMaxAge:       Duration(7 * 24 * time.Hour),
		UploadReapInterval: Duration(time.Hour),
		ScrubInterval:      Duration(24 * time.Hour),
		ScrubRate:          16 << 20,
		DiskReserve:        256 << 20,
		CheckpointOnStop:   true,
		Name:               "cairn",
		IdleTimeout:        Duration(2 * time.Minute),
		HeaderTimeout:      Duration(30 * time.Second),
		BodyTimeout:        Duration(time.Minute),
		MinTransferRate:    1024,
		MaxAnonymousConns:  512,
	}
}

// LoadFile merges a JSON config file into c.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// LoadEnv merges CAIRN_* environment variables into c.
func (c *Config) LoadEnv(getenv func(string) string) error {
	str := map[string]*string{
		"CAIRN_DATA": &c.Data, "CAIRN_LISTEN": &c.Listen, "CAIRN_ADMIN_KEY_ID": &c.AdminKeyID,
		"CAIRN_ADMIN_KEY": &c.AdminKey, "CAIRN_SYNC": &c.Sync, "CAIRN_LOG_LEVEL": &c.LogLevel,
		"CAIRN_PUBLIC_URL": &c.PublicURL, "CAIRN_NATS_LISTEN": &c.NATSListen, "CAIRN_SWIFT_REGION": &c.SwiftRegion,
	}
	for name, p := range str {
		if v := getenv(name); v != "" {
			*p = v
		}
	}
	if v := getenv("CAIRN_READ_ONLY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("CAIRN_READ_ONLY: %w", err)
		}
		c.ReadOnly = b
	}
	if v := getenv("CAIRN_INLINE_MAX"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("CAIRN_INLINE_MAX: %w", err)
		}
		c.InlineMax = n
	}
	return nil
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("data directory is empty"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	if c.NATSListen != "" {
		if _, _, err := events.ParseNATSListen(c.NATSListen); err != nil {
			errs = append(errs, err)
		}
		if c.ReadOnly {
			errs = append(errs, errors.New("nats_listen is not available in read-only mode (NATS consumers would read past the moment served)"))
		}
	}
	if (c.AdminKeyID == "") != (c.AdminKey == "") {
		errs = append(errs, errors.New("set both CAIRN_ADMIN_KEY_ID and CAIRN_ADMIN_KEY, or neither"))
	}
	if c.AdminKeyID != "" && !schema.ValidKeyID(c.AdminKeyID) {
		errs = append(errs, errors.New("admin key id must be 16-32 upper-case letters or digits"))
	}
	if c.AdminKey != "" && len(c.AdminKey) < 16 {
		errs = append(errs, errors.New("admin key must be at least 16 characters"))
	}
	if _, err := c.syncInterval(); err != nil {
		errs = append(errs, err)
	}
	if c.InlineMax < 0 || c.InlineMax > 1<<20 {
		errs = append(errs, errors.New("inline_max must be between 0 and 1 MiB"))
	}
	if w := time.Duration(c.ReplicationWait); w < time.Second || w > time.Minute {
		errs = append(errs, errors.New("replication_wait must be between 1s and 1m"))
	}
	if c.RetainInterval <= 0 {
		errs = append(errs, errors.New("retain_interval must be positive"))
	}
	if c.CheckpointInterval <= 0 {
		errs = append(errs, errors.New("checkpoint_interval must be positive"))
	}
	if c.UploadMaxAge < 0 {
		errs = append(errs, errors.New("upload_max_age must be 0 (never) or positive"))
	}
	if c.UploadReapInterval <= 0 {
		errs = append(errs, errors.New("upload_reap_interval must be positive"))
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"idle_timeout", c.IdleTimeout}, {"header_timeout", c.HeaderTimeout}, {"body_timeout", c.BodyTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.name))
		}
	}
	if c.ScrubInterval < 0 {
		errs = append(errs, errors.New("scrub_interval must be 0 (off) or positive"))
	}
	if c.ScrubRate < 0 {
		errs = append(errs, errors.New("scrub_rate must be 0 (unbounded) or a positive number of bytes per second"))
	}
	if c.ScrubInterval == 0 && c.ScrubRate > 0 && c.ScrubRate != Default().ScrubRate {
		errs = append(errs, errors.New("scrub_rate is set but scrub_interval is 0 (the scrubber is off): set scrub_interval too"))
	}
	if c.DiskReserve < minDiskReserve {
		errs = append(errs, fmt.Errorf("disk_reserve must be at least %d bytes (16 MiB): a quarter of it must hold the largest event the log takes", minDiskReserve))
	}
	if c.MinTransferRate < 0 {
		errs = append(errs, errors.New("min_transfer_rate must be 0 (off) or a positive number of bytes per second"))
	}
	if c.MaxAnonymousConns <= 0 {
		errs = append(errs, errors.New("max_anonymous_conns must be positive"))
	}
	if c.MaxObjectSize <= 0 {
		errs = append(errs, errors.New("max_object_size must be positive"))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("public_url %q: want an absolute http(s) URL", c.PublicURL))
		}
	}
	if !validRegion(c.SwiftRegion) {
		errs = append(errs, fmt.Errorf("swift_region %q: want 1-64 letters, digits, '-', '_' or '.'", c.SwiftRegion))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// validRegion reports whether r may name a region: 1-64 letters, digits,
// '-', '_' and '.', as clients compare it as a plain string and it travels
// in JSON and on command lines.
func validRegion(r string) bool {
	if len(r) == 0 || len(r) > 64 {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// syncInterval returns 0 for "always", else the interval.
func (c *Config) syncInterval() (time.Duration, error) {
	if c.Sync == "always" || c.Sync == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(c.Sync)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf(`sync %q: want "always" or a positive duration like "1s"`, c.Sync)
	}
	return d, nil
}
