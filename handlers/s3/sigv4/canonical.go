package sigv4

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

const upperHex = "0123456789ABCDEF"

// unreserved reports whether c is left as is by AWS URI encoding.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendEncoded appends s URI-encoded the AWS way: every byte but the
// unreserved ones (and '/' when keepSlash) as %XX with upper-case hex.
func appendEncoded(b []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || c == '/' && keepSlash {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return b
}

// encoded returns s URI-encoded the AWS way ('/' encoded too).
func encoded(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			return string(appendEncoded(make([]byte, 0, len(s)+16), s, false))
		}
	}
	return s
}

// pathForms returns the canonical URIs to try, best first: S3's single
// encoding of the decoded path, then (when they differ) the path exactly as
// the client escaped it, for clients that sign what they send.
func pathForms(r *http.Request) []string {
	first := string(appendEncoded(nil, r.URL.Path, true))
	if first == "" {
		first = "/"
	}
	forms := []string{first}
	add := func(p string) {
		if p == "" || p[0] != '/' {
			return
		}
		for _, f := range forms {
			if f == p {
				return
			}
		}
		forms = append(forms, p)
	}
	add(r.URL.EscapedPath())
	raw, _, _ := strings.Cut(r.RequestURI, "?")
	add(raw)
	return forms
}

// appendPath appends S3's canonical URI of r (the first of pathForms)
// without allocating.
func appendPath(b []byte, r *http.Request) []byte {
	if r.URL.Path == "" {
		return append(b, '/')
	}
	return appendEncoded(b, r.URL.Path, true)
}

// param is one decoded query parameter.
type param struct{ key, value string }

// parseQuery splits a raw query into decoded parameters in order. A pair
// that does not unescape is kept as sent.
func parseQuery(raw string) []param {
	if raw == "" {
		return nil
	}
	return parseQueryInto(make([]param, 0, strings.Count(raw, "&")+1), raw)
}

// parseQueryInto is parseQuery appending to ps.
func parseQueryInto(ps []param, raw string) []param {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		ps = append(ps, param{unescape(k), unescape(v)})
	}
	return ps
}

// appendQuery appends the canonical query of ps by the AWS rule: names and
// values URI-encoded, sorted by name then value, "k=v" joined by '&'.
// skip names a parameter left out.
func appendQuery(b []byte, ps []param, skip string) []byte {
	var arr [16]param
	enc := arr[:0]
	for _, p := range ps {
		if skip == "" || p.key != skip {
			enc = append(enc, param{encoded(p.key), encoded(p.value)})
		}
	}
	slices.SortFunc(enc, func(x, y param) int {
		if c := strings.Compare(x.key, y.key); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	})
	for i, p := range enc {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.key...)
		b = append(b, '=')
		b = append(b, p.value...)
	}
	return b
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// queryForms returns the canonical query strings to try, best first: the
// AWS rule (encoded names, then values, sorted), then, when it differs, the
// order of Go's url.Values.Encode (sorted by decoded name, values in request
// order) that some clients sign. skip names a parameter left out
// (X-Amz-Signature for presigned requests).
func queryForms(ps []param, skip string) []string {
	enc := make([]param, 0, len(ps))
	for _, p := range ps {
		if skip != "" && p.key == skip {
			continue
		}
		enc = append(enc, param{encoded(p.key), encoded(p.value)})
	}
	if len(enc) == 0 {
		return []string{""}
	}
	byKey := make([]param, len(enc))
	copy(byKey, enc)
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].key != enc[j].key {
			return enc[i].key < enc[j].key
		}
		return enc[i].value < enc[j].value
	})
	first := joinQuery(enc)
	decoded := make([]param, 0, len(ps))
	for _, p := range ps {
		if skip == "" || p.key != skip {
			decoded = append(decoded, p)
		}
	}
	idx := make([]int, len(decoded))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return decoded[idx[i]].key < decoded[idx[j]].key })
	ordered := make([]param, len(idx))
	for i, j := range idx {
		ordered[i] = byKey[j]
	}
	if second := joinQuery(ordered); second != first {
		return []string{first, second}
	}
	return []string{first}
}

func joinQuery(ps []param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// appendHeaders appends the canonical headers block (each "name:value\n")
// for the semicolon-separated signed header names, reconstructing the
// headers net/http moves out of r.Header.
func appendHeaders(b []byte, r *http.Request, signed string) []byte {
	for rest := signed; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		b = appendLower(b, name)
		b = append(b, ':')
		b = appendHeaderValue(b, r, name)
		b = append(b, '\n')
	}
	return b
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendHeaderValue appends the canonical value of header name: values
// trimmed, inner runs of spaces collapsed, several values joined by ','.
func appendHeaderValue(b []byte, r *http.Request, name string) []byte {
	vs := headerValues(r.Header, name)
	if len(vs) == 0 {
		switch {
		case strings.EqualFold(name, "host"):
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			return appendTrimmed(b, host)
		case strings.EqualFold(name, "content-length"):
			if r.ContentLength >= 0 {
				return strconv.AppendInt(b, r.ContentLength, 10)
			}
		case strings.EqualFold(name, "transfer-encoding"):
			return appendTrimmed(b, strings.Join(r.TransferEncoding, ","))
		}
		return b
	}
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b
}

// appendTrimmed appends v without leading and trailing white space and with
// each inner run of spaces collapsed to one.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return b
}

// headerValues returns the values of the header named (in any case) name,
// without allocating for ordinary names.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h[textproto.CanonicalMIMEHeaderKey(name)]
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 'a' - 'A'
			}
		case '0' <= c && c <= '9' || c == '-':
		default:
			return h[textproto.CanonicalMIMEHeaderKey(name)]
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])]
}
