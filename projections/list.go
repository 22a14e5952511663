package projections

import (
	"context"
	"strings"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// ListOptions selects part of a service's listing.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// Start is where the listing begins: the first path (or common prefix)
	// returned is >= Start.
	Start string
	// After: only entries strictly after this path or common prefix
	// (a common prefix also skips everything under it).
	After string
	Limit int // entries (files plus prefixes); <= 0 means 1000
	// AsOf, when non-zero, lists the service as it was at this sync id,
	// with AsOfTime that change's time (for expiry).
	AsOf     uint64
	AsOfTime time.Time
	// Now hides versions whose expiry has passed.
	Now time.Time
	// ShowExpired lets an as-of listing show files live at AsOf whose
	// expiry has passed since (Now): for the service's administrators.
	ShowExpired bool
}

// ListResult is one page of a listing, in byte order of path.
type ListResult struct {
	Files    []*schema.Version
	Prefixes []string
	// Next is the last entry returned when the listing was cut short by
	// Limit ("" when complete); pass it back as After.
	Next      string
	Truncated bool
}

// afterKey returns where a listing resumes after the entry "after": past
// every path under it when it is a common prefix of this listing (it starts
// with prefix and the delimiter first occurs in the rest at its end; a file
// named like the prefix, such as a "dir/" marker, is not one), else just
// past the path itself and its version keys (path + NUL + sync id).
func afterKey(after, prefix, delim string) string {
	if rest, ok := strings.CutPrefix(after, prefix); ok && delim != "" {
		if i := strings.Index(rest, delim); i >= 0 && i == len(rest)-len(delim) {
			return after + "\xff" // 0xff never occurs in UTF-8: past every path under it
		}
	}
	return after + "\x01" // paths hold no NUL: the smallest path after it
}

// commonPrefix returns the common prefix path rolls up into in a listing
// by prefix and delimiter (path up to the first delimiter after prefix),
// or false when path is listed as itself.
func commonPrefix(path, prefix, delim string) (string, bool) {
	if delim == "" {
		return "", false
	}
	i := strings.Index(path[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return path[:len(prefix)+i+len(delim)], true
}

// scan walks the keys from start in order, as tx.AscendGreaterOrEqual does,
// calling visit for each until it answers more == false or an error. A
// non-empty skip (given with more) continues the walk at that key instead
// of the next one: past every key under a common prefix.
func scan(tx *buntdb.Tx, start string, visit func(k, raw string) (skip string, more bool, err error)) error {
	for {
		var skip string
		var verr error
		err := tx.AscendGreaterOrEqual("", start, func(k, raw string) bool {
			var more bool
			skip, more, verr = visit(k, raw)
			return more && skip == "" && verr == nil
		})
		if verr != nil {
			return verr
		}
		if err != nil || skip == "" {
			return err
		}
		start = skip
	}
}

// List returns a page of the live files of a service (or, with AsOf, of
// the files as they were).
func (s *Store) List(_ context.Context, service string, o ListOptions) (*ListResult, error) {
	if o.Limit <= 0 {
		o.Limit = 1000
	}
	asof := o.AsOf > 0
	base := schema.ObjectPrefix(service)
	if asof {
		base = schema.VersionPrefix(service)
	}
	seek := o.Prefix
	if o.Start > seek {
		seek = o.Start
	}
	if o.After != "" {
		if a := afterKey(o.After, o.Prefix, o.Delimiter); a > seek {
			seek = a
		}
	}
	res := &ListResult{}
	count := 0
	now := o.Now
	if asof {
		now = o.AsOfTime
	}
	err := s.db.View(func(tx *buntdb.Tx) error {
		resolved := "\x00" // the path whose visible version was decided (asof)
		return scan(tx, base+seek, func(k, raw string) (string, bool, error) {
			if !strings.HasPrefix(k, base) {
				return "", false, nil
			}
			path := k[len(base):]
			if asof {
				p, syncID, ok := schema.SplitVersionKey(service, k)
				if !ok || p == resolved || syncID > o.AsOf {
					return "", true, nil // older versions of a decided path, or newer than the moment
				}
				path, resolved = p, p
			}
			if !strings.HasPrefix(path, o.Prefix) {
				return "", false, nil
			}
			var v schema.Version
			if err := decodeJSON(raw, &v); err != nil {
				return "", false, err
			}
			if v.Deleted || (!now.IsZero() && v.ExpiredAt(now)) || (asof && !o.ShowExpired && !o.Now.IsZero() && v.ExpiredAt(o.Now)) {
				return "", true, nil
			}
			if count >= o.Limit {
				res.Truncated = true
				return "", false, nil
			}
			count++
			if cp, ok := commonPrefix(path, o.Prefix, o.Delimiter); ok {
				res.Prefixes = append(res.Prefixes, cp)
				res.Next = cp
				return base + cp + "\xff", true, nil
			}
			res.Files = append(res.Files, &v)
			res.Next = path
			return "", true, nil
		})
	})
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "list")
	}
	if !res.Truncated {
		res.Next = ""
	}
	return res, nil
}

// VersionListOptions selects a page of every version of a service's
// objects (S3's ListObjectVersions).
type VersionListOptions struct {
	Prefix    string
	Delimiter string
	// KeyMarker and VersionMarker: the page starts after this version of
	// this path (after every version of it when VersionMarker is empty,
	// after everything under it when it is a common prefix).
	KeyMarker     string
	VersionMarker string
	Limit         int // versions plus prefixes; <= 0 means 1000
}

// VersionEntry is one version in a version listing.
type VersionEntry struct {
	*schema.Version
	Latest bool // the object's newest version
}

// VersionListResult is one page of a version listing: by path in byte
// order, each path's versions newest first.
type VersionListResult struct {
	Versions  []VersionEntry
	Prefixes  []string
	Truncated bool
	// NextKey and NextVersion resume the listing (as the markers) when it
	// was cut short; NextVersion is "" when the page ended on a prefix.
	NextKey     string
	NextVersion string
}

// ListVersions returns a page of a service's versions.
func (s *Store) ListVersions(_ context.Context, service string, o VersionListOptions) (*VersionListResult, error) {
	if o.Limit <= 0 {
		o.Limit = 1000
	}
	base := schema.VersionPrefix(service)
	seek := o.Prefix
	skipUntil := "" // resuming inside a path: skip its versions up to this one
	if o.KeyMarker != "" {
		if o.VersionMarker != "" && o.KeyMarker >= o.Prefix {
			seek, skipUntil = o.KeyMarker+"\x00", o.VersionMarker
		} else if a := afterKey(o.KeyMarker, o.Prefix, o.Delimiter); a > seek {
			seek = a
		}
	}
	res := &VersionListResult{}
	count := 0
	err := s.db.View(func(tx *buntdb.Tx) error {
		prev := "\x00" // the path of the previous version seen
		return scan(tx, base+seek, func(k, raw string) (string, bool, error) {
			if !strings.HasPrefix(k, base) || len(k) < len(base)+17 {
				return "", false, nil
			}
			path := k[len(base) : len(k)-17]
			if !strings.HasPrefix(path, o.Prefix) {
				return "", false, nil
			}
			latest := path != prev && skipUntil == ""
			prev = path
			if skipUntil != "" {
				if path != o.KeyMarker {
					skipUntil = "" // the marker's version is gone: go on with the next path
					latest = true
				} else {
					var v struct {
						Version string `json:"version"`
					}
					if decodeJSON(raw, &v) == nil && v.Version == skipUntil {
						skipUntil = ""
					}
					return "", true, nil
				}
			}
			if count >= o.Limit {
				res.Truncated = true
				return "", false, nil
			}
			count++
			if cp, ok := commonPrefix(path, o.Prefix, o.Delimiter); ok {
				res.Prefixes = append(res.Prefixes, cp)
				res.NextKey, res.NextVersion = cp, ""
				return base + cp + "\xff", true, nil
			}
			v := new(schema.Version)
			if err := decodeJSON(raw, v); err != nil {
				return "", false, err
			}
			res.Versions = append(res.Versions, VersionEntry{Version: v, Latest: latest})
			res.NextKey, res.NextVersion = path, v.Version
			return "", true, nil
		})
	})
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "read projection")
	}
	if !res.Truncated {
		res.NextKey, res.NextVersion = "", ""
	}
	return res, nil
}
