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
	var derr error
	full := func() bool {
		if count >= o.Limit {
			res.Truncated = true
			return true
		}
		return false
	}
	now := o.Now
	if asof {
		now = o.AsOfTime
	}
	err := s.db.View(func(tx *buntdb.Tx) error {
		for {
			restart := ""
			resolved := "\x00" // the path whose visible version was decided (asof)
			err := tx.AscendGreaterOrEqual("", base+seek, func(k, raw string) bool {
				if !strings.HasPrefix(k, base) {
					return false
				}
				path := k[len(base):]
				if asof {
					p, syncID, ok := schema.SplitVersionKey(service, k)
					if !ok || p == resolved || syncID > o.AsOf {
						return true // older versions of a decided path, or newer than the moment
					}
					path, resolved = p, p
				}
				if !strings.HasPrefix(path, o.Prefix) {
					return false
				}
				var v schema.Version
				if derr = decodeJSON(raw, &v); derr != nil {
					return false
				}
				if v.Deleted || (!now.IsZero() && v.ExpiredAt(now)) {
					return true
				}
				if full() {
					return false
				}
				if o.Delimiter != "" {
					if i := strings.Index(path[len(o.Prefix):], o.Delimiter); i >= 0 {
						cp := path[:len(o.Prefix)+i+len(o.Delimiter)]
						res.Prefixes = append(res.Prefixes, cp)
						res.Next = cp
						count++
						restart = cp + "\xff"
						return false
					}
				}
				res.Files = append(res.Files, &v)
				res.Next = path
				count++
				return true
			})
			if derr != nil {
				return derr
			}
			if err != nil || restart == "" {
				return err
			}
			seek = restart
		}
	})
	if err != nil {
		return nil, schema.Wrap(schema.KindInternal, err, "list")
	}
	if !res.Truncated {
		res.Next = ""
	}
	return res, nil
}
