package swift

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// Metadata limits, as Swift's defaults (GET /info shows them).
const (
	maxMetaNameLength   = 128
	maxMetaValueLength  = 256
	maxMetaCount        = 90
	maxMetaOverallSize  = 4096
	maxHeaderSize       = 8192
	maxObjectNameLength = schema.MaxPathBytes
	maxContainerName    = 256
	listingLimit        = 10000
)

// storedHeaders are the standard headers kept with an object (and as
// container defaults through X-Container-Meta-{Header}) and sent back on
// GET and HEAD: Selectel's CDN list and the ones S3 keeps, so what either
// dialect stored comes back in both.
var storedHeaders = []string{
	"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires", "Link",
	"Access-Control-Allow-Origin", "Access-Control-Max-Age", "Access-Control-Allow-Methods",
	"Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Access-Control-Allow-Headers",
}

// containerOnlyHeaders are container defaults with no object form.
var containerOnlyHeaders = []string{"Strict-Transport-Security"}

// readMeta collects the metadata headers with prefix ("X-Object-Meta-")
// into names lower-cased and values, with the removals: an empty value or
// X-Remove-{Kind}-Meta-{Name} ("X-Remove-Object-Meta-"). Limits are
// Swift's; a breach is a 400.
func readMeta(hd http.Header, prefix, removePrefix string) (set map[string]string, remove []string, err error) {
	lp, lr := strings.ToLower(prefix), strings.ToLower(removePrefix)
	size := 0
	set = map[string]string{}
	for name, vals := range hd {
		ln := strings.ToLower(name)
		if k, ok := strings.CutPrefix(ln, lr); ok && k != "" {
			remove = append(remove, k)
			continue
		}
		k, ok := strings.CutPrefix(ln, lp)
		if !ok || k == "" {
			continue
		}
		v := strings.Join(vals, ",")
		if v == "" {
			remove = append(remove, k)
			continue
		}
		if len(k) > maxMetaNameLength {
			return nil, nil, swiftErr(http.StatusBadRequest, "Metadata name too long; max "+strconv.Itoa(maxMetaNameLength))
		}
		if len(v) > maxMetaValueLength {
			return nil, nil, swiftErr(http.StatusBadRequest, "Metadata value longer than "+strconv.Itoa(maxMetaValueLength))
		}
		set[k] = v
		size += len(k) + len(v)
	}
	if len(set) > maxMetaCount {
		return nil, nil, swiftErr(http.StatusBadRequest, "Too many metadata items; max "+strconv.Itoa(maxMetaCount))
	}
	if size > maxMetaOverallSize {
		return nil, nil, swiftErr(http.StatusBadRequest, "Total metadata too large; max "+strconv.Itoa(maxMetaOverallSize))
	}
	return set, remove, nil
}

// readStored collects the stored headers a write sends (lower-case names).
func readStored(hd http.Header) map[string]string {
	var out map[string]string
	for _, name := range storedHeaders {
		if v := hd.Get(name); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[strings.ToLower(name)] = v
		}
	}
	return out
}

// maxDeleteAt is the latest expiry Swift records: it normalizes every
// delete-at into 0..9999999999 (utils.normalize_delete_at_timestamp), so
// a larger X-Delete-At or X-Delete-After expires then instead of
// overflowing.
const maxDeleteAt = 9999999999

// deleteAt reads X-Delete-After (seconds; it wins when both are sent) or
// X-Delete-At (unix seconds) as Swift's check_delete_headers does: a value
// that is not an integer is 400 "Non-integer ...", one that lands at or
// before now is 400 "... in past", and a time past maxDeleteAt is
// maxDeleteAt. ok is false when neither was sent.
func deleteAt(hd http.Header, now time.Time) (at int64, ok bool, err error) {
	if v := hd.Get("X-Delete-After"); v != "" {
		n, big, perr := swiftInt(v)
		if perr != nil {
			return 0, false, swiftErr(http.StatusBadRequest, "Non-integer X-Delete-After")
		}
		switch {
		case big > 0 || n > maxDeleteAt-now.Unix():
			at = maxDeleteAt
		case big < 0 || n <= 0:
			return 0, false, swiftErr(http.StatusBadRequest, "X-Delete-After in past")
		default:
			at = now.Unix() + n
		}
		return at, true, nil
	}
	if v := hd.Get("X-Delete-At"); v != "" {
		n, big, perr := swiftInt(v)
		if perr != nil {
			return 0, false, swiftErr(http.StatusBadRequest, "Non-integer X-Delete-At")
		}
		if big > 0 || n > maxDeleteAt {
			n = maxDeleteAt
		}
		if big < 0 || n <= now.Unix() {
			return 0, false, swiftErr(http.StatusBadRequest, "X-Delete-At in past")
		}
		return n, true, nil
	}
	return 0, false, nil
}

// swiftInt parses an integer as Python's int() does for Swift's headers
// (surrounding spaces and a sign allowed, no fraction or exponent). big
// is 1 or -1 when the value is an integer beyond int64, n is 0 then.
func swiftInt(v string) (n int64, big int, err error) {
	v = strings.TrimSpace(v)
	n, err = strconv.ParseInt(v, 10, 64)
	var ne *strconv.NumError
	if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
		if strings.HasPrefix(v, "-") {
			return 0, -1, nil
		}
		return 0, 1, nil
	}
	return n, 0, err
}

// timestamp is Swift's X-Timestamp: unix seconds with five decimals.
func timestamp(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 5, 64)
}

// listingTime is the last_modified of listings: ISO 8601 with
// microseconds and no zone, as Swift writes it.
func listingTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// canonical turns a lower-case metadata name into a header name part
// ("color" → "Color", "my-key" → "My-Key").
func canonical(k string) string { return http.CanonicalHeaderKey(k) }
