package schema

import (
	"net/url"
	"strings"
	"time"
)

// TypeCacheFlushed is the event a flush of a cache service appends: the
// one change to a cache's contents that goes to the log (fills, refreshes,
// evictions, expiries and uploadfile/deletefile on a cache do not: cached
// copies are not history).
const TypeCacheFlushed = "cache.flushed.v1"

// CacheFlushed records that a cache service was emptied, and how many
// cached files that dropped. Who and why are the envelope's actor and
// request id.
type CacheFlushed struct {
	ID      string `json:"id"`
	Flushed int64  `json:"flushed"`
}

// Defaults of a cache service's settings, written into its
// service.created event when the request leaves them out.
const (
	DefaultCacheRefresh     = "1h"
	DefaultCacheNegativeTTL = "1m"
)

// Never is the value of refresh and expire_unused that turns them off.
const Never = "never"

// CacheSettings are the settings of a cache service (type "cache"): where
// a miss is filled from and how long copies stay.
type CacheSettings struct {
	// Source is what the cache is in front of: exactly one of a storage
	// service of the same account or an HTTP origin.
	Source CacheSource `json:"source"`
	// SourcePath is put before every requested path at the source: a
	// prefix of the source service's paths, or path segments after the
	// origin URL.
	SourcePath string `json:"source_path,omitempty"`
	// Refresh: a copy older than this is re-checked with the source (a
	// conditional request) before it is served; "0s" re-checks on every
	// request, "never" never.
	Refresh string `json:"refresh,omitempty"`
	// ExpireUnused drops a copy not served for this long (sliding);
	// empty or "never": copies stay until evicted or flushed.
	ExpireUnused string `json:"expire_unused,omitempty"`
	// MaxBytes bounds the bytes the cache holds; the least recently used
	// copies are evicted to make room. 0: no bound.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// NegativeTTL is how long a not-found or failed answer of the source
	// is remembered (and answered without asking again); "0s": not at all.
	NegativeTTL string `json:"negative_ttl,omitempty"`
}

// CacheSource names a cache's source: Service (a storage service id of
// the cache's account) or URL (an http or https origin), never both.
type CacheSource struct {
	Service string `json:"service,omitempty"`
	URL     string `json:"url,omitempty"`
}

// CacheTimes are a cache's durations, parsed.
type CacheTimes struct {
	Refresh      time.Duration // < 0: never re-checked
	ExpireUnused time.Duration // 0: never expires
	NegativeTTL  time.Duration // 0: not remembered
}

// WithDefaults returns c with the default refresh and negative TTL where
// they are empty.
func (c CacheSettings) WithDefaults() CacheSettings {
	if c.Refresh == "" {
		c.Refresh = DefaultCacheRefresh
	}
	if c.NegativeTTL == "" {
		c.NegativeTTL = DefaultCacheNegativeTTL
	}
	return c
}

// Times parses the durations (defaults for empty ones), or returns a
// KindInvalidArgument error naming the setting.
func (c CacheSettings) Times() (CacheTimes, error) {
	c = c.WithDefaults()
	var t CacheTimes
	var err error
	if c.Refresh == Never {
		t.Refresh = -1
	} else if t.Refresh, err = time.ParseDuration(c.Refresh); err != nil || t.Refresh < 0 {
		return t, Errorf(KindInvalidArgument, `refresh must be a duration like "10m" ("0s": re-check every time) or "never"`)
	}
	if c.ExpireUnused != "" && c.ExpireUnused != Never {
		if t.ExpireUnused, err = time.ParseDuration(c.ExpireUnused); err != nil || t.ExpireUnused <= 0 {
			return t, Errorf(KindInvalidArgument, `expire_unused must be a positive duration like "24h" or "never"`)
		}
	}
	if t.NegativeTTL, err = time.ParseDuration(c.NegativeTTL); err != nil || t.NegativeTTL < 0 {
		return t, Errorf(KindInvalidArgument, `negative_ttl must be a duration like "30s" ("0s": not remembered)`)
	}
	return t, nil
}

// Check validates the settings on their own (whether a source service
// exists is for the core to say): one source, an http(s) URL without
// query or fragment, a source path a path may follow, durations, a bound
// that is not negative.
func (c CacheSettings) Check() error {
	switch src := c.Source; {
	case (src.Service == "") == (src.URL == ""):
		return Errorf(KindInvalidArgument, `a cache needs a source: {"service": "<sid>"} or {"url": "http://origin/base"}, not both`)
	case src.Service != "" && !ValidContainerName(src.Service):
		return Errorf(KindInvalidArgument, "source.service is not a service id")
	case src.URL != "":
		u, err := url.Parse(src.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return Errorf(KindInvalidArgument, "source.url must be an http or https URL without credentials, query or fragment")
		}
	}
	if p := c.SourcePath; p != "" && (!ValidPath(p) || strings.Contains("/"+p+"/", "/../") || strings.Contains("/"+p+"/", "/./")) {
		return Errorf(KindInvalidArgument, "source_path must be a path without NUL, '.' or '..' segments")
	}
	if c.MaxBytes < 0 {
		return Errorf(KindInvalidArgument, "max_bytes must not be negative (0: no bound)")
	}
	_, err := c.Times()
	return err
}

// SourceKey returns where the source holds path: the source path and path
// joined by one slash.
func (c CacheSettings) SourceKey(path string) string {
	pre := strings.Trim(c.SourcePath, "/")
	if pre == "" {
		return path
	}
	return pre + "/" + path
}
