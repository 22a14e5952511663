package cache

import (
	"slices"
	"strings"
)

// Page is one page of a cache's listing, in byte order of path.
type Page struct {
	Files    []Entry
	Prefixes []string
	// Next is the last entry returned when the page was cut short by the
	// limit (pass it back as after); Truncated says so.
	Next      string
	Truncated bool
}

// List returns the copies whose path starts with prefix and comes after
// after (a common prefix as after skips everything under it), with paths
// that hold delimiter past the prefix rolled up into common prefixes, at
// most limit entries (files plus prefixes; <= 0: 1000). Listing does not
// mark copies used. The index is a map, so a page costs a pass over the
// copies and a sort of those after the cursor: fine for the thousands to
// low millions of copies a cache holds.
func (s *Store) List(prefix, delimiter, after string, limit int) Page {
	if limit <= 0 {
		limit = 1000
	}
	skipUnder := ""
	if rest, ok := strings.CutPrefix(after, prefix); ok && delimiter != "" && after != "" {
		if i := strings.Index(rest, delimiter); i >= 0 && i == len(rest)-len(delimiter) {
			skipUnder = after // a common prefix: everything under it was listed
		}
	}
	s.mu.Lock()
	var match []Entry
	for path, el := range s.index {
		if strings.HasPrefix(path, prefix) && path > after && (skipUnder == "" || !strings.HasPrefix(path, skipUnder)) {
			match = append(match, *el.Value.(*Entry))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(match, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	var p Page
	count := 0
	for _, e := range match {
		entry, isPrefix := e.Path, false
		if delimiter != "" {
			if i := strings.Index(e.Path[len(prefix):], delimiter); i >= 0 {
				entry, isPrefix = e.Path[:len(prefix)+i+len(delimiter)], true
				if n := len(p.Prefixes); n > 0 && p.Prefixes[n-1] == entry {
					continue
				}
			}
		}
		if count == limit {
			p.Truncated = true
			break
		}
		count++
		p.Next = entry
		if isPrefix {
			p.Prefixes = append(p.Prefixes, entry)
		} else {
			p.Files = append(p.Files, e)
		}
	}
	if !p.Truncated {
		p.Next = ""
	}
	return p
}
