package schema

import (
	"net/http"
	"strings"
	"time"
)

// Conditions are a request's preconditions on the current version of an
// object (RFC 9110, section 13.1): entity tags and dates as the client sent
// them. Every dialect reads its own header names into one Conditions (S3's
// x-amz-copy-source-if-* are the same four conditions on a copy's source)
// and every decision is made by Evaluate, so the three dialects and the
// core cannot disagree on the rules.
type Conditions struct {
	IfMatch           string // entity-tag list or "*"; strong comparison
	IfNoneMatch       string // entity-tag list or "*"; weak comparison
	IfModifiedSince   string // HTTP date; GET and HEAD only
	IfUnmodifiedSince string // HTTP date
}

// ConditionsFrom reads the four conditional headers through get (an
// http.Header's Get, or a dialect's own lookup with prefixed names).
func ConditionsFrom(get func(name string) string) Conditions {
	return Conditions{
		IfMatch:           get("If-Match"),
		IfNoneMatch:       get("If-None-Match"),
		IfModifiedSince:   get("If-Modified-Since"),
		IfUnmodifiedSince: get("If-Unmodified-Since"),
	}
}

// Any reports whether c holds any condition.
func (c Conditions) Any() bool {
	return c.IfMatch != "" || c.IfNoneMatch != "" || c.IfModifiedSince != "" || c.IfUnmodifiedSince != ""
}

// Verdict is the outcome of evaluating Conditions.
type Verdict int

const (
	// Proceed: every condition holds (or none was given).
	Proceed Verdict = iota
	// NotModified: a GET or HEAD's If-None-Match or If-Modified-Since
	// says the client's copy is current (304).
	NotModified
	// PreconditionFailed: the request must not be performed (412).
	PreconditionFailed
)

// Target is what conditions are evaluated against: the current version
// of the object, or none.
type Target struct {
	Exists   bool
	ETag     string    // the current version's entity tag, quoted or not; always strong
	Modified time.Time // its last modification (compared at one-second precision)
}

// TargetOf returns the Target for v (nil: no current version).
func TargetOf(v *Version) Target {
	if v == nil {
		return Target{}
	}
	return Target{Exists: true, ETag: v.ETag, Modified: v.Time}
}

// Evaluate decides c for a request on t, in RFC 9110's order (section
// 13.2.2). read is true for GET and HEAD (and for a copy's source, which
// is read). It returns the verdict and, when it is not Proceed, the name
// of the header that decided it.
//
//  1. If-Match: false when there is no current version or no tag in the
//     list matches it by strong comparison (a weak tag W/"x" never
//     matches; "*" matches any current version) -> PreconditionFailed.
//  2. Without If-Match, If-Unmodified-Since: a valid date earlier than the
//     version's modification time -> PreconditionFailed. An invalid date,
//     or no current version, is ignored.
//  3. If-None-Match: true when a tag in the list matches by weak
//     comparison ("*": any current version) -> NotModified for a read,
//     PreconditionFailed otherwise.
//  4. Without If-None-Match, for a read only, If-Modified-Since: a valid
//     date not earlier than the modification time -> NotModified. An
//     invalid date is ignored.
func (c Conditions) Evaluate(t Target, read bool) (Verdict, string) {
	mod := t.Modified.Truncate(time.Second)
	if c.IfMatch != "" {
		if !t.Exists || !ETagListMatches(c.IfMatch, t.ETag, true) {
			return PreconditionFailed, "If-Match"
		}
	} else if c.IfUnmodifiedSince != "" && t.Exists {
		if d, err := http.ParseTime(c.IfUnmodifiedSince); err == nil && mod.After(d) {
			return PreconditionFailed, "If-Unmodified-Since"
		}
	}
	if c.IfNoneMatch != "" {
		if t.Exists && ETagListMatches(c.IfNoneMatch, t.ETag, false) {
			if read {
				return NotModified, "If-None-Match"
			}
			return PreconditionFailed, "If-None-Match"
		}
	} else if c.IfModifiedSince != "" && read && t.Exists {
		if d, err := http.ParseTime(c.IfModifiedSince); err == nil && !mod.After(d) {
			return NotModified, "If-Modified-Since"
		}
	}
	return Proceed, ""
}

// Check evaluates c for a write on cur (nil when the object has no live
// version) and returns a KindPreconditionFailed error naming the header
// when the write must not happen.
func (c Conditions) Check(cur *Version) error {
	switch verdict, header := c.Evaluate(TargetOf(cur), false); {
	case verdict == Proceed:
		return nil
	case header == "If-None-Match":
		return Errorf(KindPreconditionFailed, "If-None-Match: the file exists")
	case header == "If-Match":
		return Errorf(KindPreconditionFailed, "If-Match: the file does not match")
	default:
		return Errorf(KindPreconditionFailed, "%s: the condition does not hold", header)
	}
}

// ETagListMatches reports whether an If-Match or If-None-Match list
// matches etag: "*" matches any tag; strong comparison (If-Match) never
// matches a weak tag W/"..."; weak comparison (If-None-Match) ignores the
// W/ prefix. Tags are compared without their quotes, so both "abc" and
// abc match the stored abc.
func ETagListMatches(list, etag string, strong bool) bool {
	etag = strings.Trim(etag, `"`)
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if rest, weak := strings.CutPrefix(part, "W/"); weak {
			if strong {
				continue
			}
			part = rest
		}
		if part == "*" || strings.Trim(part, `"`) == etag {
			return true
		}
	}
	return false
}
