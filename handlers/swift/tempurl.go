package swift

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// Temporary URLs (Swift's tempurl middleware): an object URL carrying
// temp_url_sig and temp_url_expires is served without a token when the
// signature is an HMAC of the method, the expiry and the object's path
// under one of the temp URL keys of the URL's account
// (X-Account-Meta-Temp-Url-Key, -Key-2) or container
// (X-Container-Meta-Temp-Url-Key, -Key-2). The keys are secrets: the core
// keeps them sealed in the log and the projections (events.SealMeta), and
// they are opened here, where a signature is checked, because checking an
// HMAC needs the key itself (a derived verifier could not recompute the
// signature a client made with the clear key).

// tempURLActor is the key id a temp URL's requests act as, in events and
// the request log: Swift's REMOTE_USER for them. No key has it (it is not
// a valid key id), so no grant or ACL names it.
const tempURLActor = ".tempurl"

var errTempURL = swiftErr(http.StatusUnauthorized, "Temp URL invalid")

// isTempURL reports whether a request is a temp URL request: it carries
// either of the signature's parameters.
func isTempURL(q map[string][]string) bool {
	_, sig := q["temp_url_sig"]
	_, exp := q["temp_url_expires"]
	return sig || exp
}

// tempURLKey is one temp URL key and what it opens: the account (every
// container of it) or its container only.
type tempURLKey struct {
	value   string
	account bool
}

// tempURL checks a temp URL request and, when its signature holds, makes
// c's principal one that may do the signed method on the URL's account
// (an account key) or container (a container key) and nothing more. Any
// failure is Swift's 401 "Temp URL invalid", whatever was wrong.
func tempURL(c *req) error {
	expires, ok := tempURLExpires(c.q.Get("temp_url_expires"), c.now())
	if !ok || c.container == "" || c.object == "" || !tempURLMethod(c.r.Method) {
		return errTempURL
	}
	mac, newHash, ok := tempURLSig(c.q.Get("temp_url_sig"))
	if !ok {
		return errTempURL
	}
	signed := "/v1/" + c.account + "/" + c.container + "/" + c.object
	if prefixes, ok := c.q["temp_url_prefix"]; ok {
		prefix := prefixes[0]
		if !strings.HasPrefix(c.object, prefix) {
			return errTempURL
		}
		signed = "prefix:/v1/" + c.account + "/" + c.container + "/" + prefix
	}
	ipRange := c.q.Get("temp_url_ip_range")
	if ipRange != "" && !inRange(ipRange, httpx.ClientIP(c.r)) {
		return errTempURL
	}
	keys, err := tempURLKeys(c)
	if err != nil {
		return err
	}
	// HEAD is allowed by a URL signed for GET, POST or PUT too (Swift).
	methods := []string{c.r.Method}
	if c.r.Method == http.MethodHead {
		methods = []string{http.MethodHead, http.MethodGet, http.MethodPost, http.MethodPut}
	}
	var found *tempURLKey
	for _, m := range methods {
		body := m + "\n" + strconv.FormatInt(expires, 10) + "\n" + signed
		if ipRange != "" {
			body = "ip=" + ipRange + "\n" + body
		}
		for i := range keys {
			h := hmac.New(newHash, []byte(keys[i].value))
			h.Write([]byte(body))
			if hmac.Equal(h.Sum(nil), mac) {
				found = &keys[i]
				break
			}
		}
		if found != nil {
			break
		}
	}
	if found == nil {
		return errTempURL
	}
	// Headers that would make the object a pointer to data the URL does
	// not open are refused (Swift's rule).
	for _, name := range []string{"X-Object-Manifest", "X-Symlink-Target"} {
		if c.r.Header.Get(name) != "" {
			return swiftErr(http.StatusBadRequest, "The header "+name+" is not allowed in this tempurl")
		}
	}
	level, scope := schema.AccessRead, c.container
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		level = schema.AccessWrite
	}
	if found.account {
		scope = schema.AllServices
	}
	c.p = &access.Principal{KeyID: tempURLActor, Account: c.account,
		Key: &schema.Key{ID: tempURLActor, Account: c.account, Access: map[string]string{scope: level}}}
	c.w.ResponseWriter = &tempURLWriter{ResponseWriter: c.w.ResponseWriter, c: c, expires: expires}
	return nil
}

// tempURLMethod reports whether a temp URL may sign method.
func tempURLMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete:
		return true
	}
	return false
}

// tempURLKeys returns the temp URL keys of the URL's account and
// container, opened. A container of another account has none here.
func tempURLKeys(c *req) ([]tempURLKey, error) {
	var keys []tempURLKey
	add := func(meta map[string]string, account bool) {
		meta = c.h.d.Core.RevealMeta(meta)
		for _, name := range []string{"temp-url-key", "temp-url-key-2"} {
			if v := meta[name]; v != "" {
				keys = append(keys, tempURLKey{value: v, account: account})
			}
		}
	}
	a, err := c.h.d.State.Account(c.ctx(), c.account)
	switch {
	case err == nil:
		add(a.Meta, true)
	case !schema.IsKind(err, schema.KindNotFound):
		return nil, err
	}
	svc, err := c.h.d.State.ServiceByName(c.ctx(), c.account, c.container)
	switch {
	case err == nil:
		add(svc.Settings.Meta, false)
	case err != nil && !schema.IsKind(err, schema.KindNotFound):
		return nil, err
	}
	return keys, nil
}

// tempURLExpires reads temp_url_expires (Unix seconds, or ISO 8601 UTC as
// "2006-01-02T15:04:05Z") and reports whether it is still ahead of now.
func tempURLExpires(raw string, now time.Time) (int64, bool) {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		t, err := time.Parse("2006-01-02T15:04:05Z", raw)
		if err != nil {
			return 0, false
		}
		n = t.Unix()
	}
	return n, n >= now.Unix()
}

// tempURLSig decodes temp_url_sig: hex HMAC-SHA1 (40 digits) or
// HMAC-SHA256 (64), or "sha1:", "sha256:" or "sha512:" and the HMAC in
// base64 (standard or URL-safe, padding optional).
func tempURLSig(raw string) ([]byte, func() hash.Hash, bool) {
	if algo, b64, ok := strings.Cut(raw, ":"); ok {
		var h func() hash.Hash
		switch algo {
		case "sha1":
			h = sha1.New
		case "sha256":
			h = sha256.New
		case "sha512":
			h = sha512.New
		default:
			return nil, nil, false
		}
		b64 = strings.TrimRight(strings.NewReplacer("-", "+", "_", "/").Replace(b64), "=")
		mac, err := base64.RawStdEncoding.DecodeString(b64)
		if err != nil || len(mac) != h().Size() {
			return nil, nil, false
		}
		return mac, h, true
	}
	mac, err := hex.DecodeString(raw)
	switch {
	case err != nil:
		return nil, nil, false
	case len(mac) == sha1.Size:
		return mac, sha1.New, true
	case len(mac) == sha256.Size:
		return mac, sha256.New, true
	}
	return nil, nil, false
}

// inRange reports whether ip is in ipRange (an address or a CIDR prefix).
func inRange(ipRange, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	if p, err := netip.ParsePrefix(ipRange); err == nil {
		return p.Contains(addr.Unmap())
	}
	a, err := netip.ParseAddr(ipRange)
	return err == nil && a.Unmap() == addr.Unmap()
}

// tempURLWriter shapes a temp URL's response as Swift's middleware does:
// the object's metadata is not shown (but X-Object-Meta-Public-*), and a
// successful GET or HEAD is an attachment named after the object (or
// ?filename=; ?inline shows it in place) that expires with the URL.
type tempURLWriter struct {
	http.ResponseWriter
	c       *req
	expires int64
	wrote   bool
}

func (w *tempURLWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.shape(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *tempURLWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *tempURLWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the original writer.
func (w *tempURLWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *tempURLWriter) shape(code int) {
	hd := w.Header()
	for name := range hd {
		if strings.HasPrefix(name, "X-Object-Meta-") && !strings.HasPrefix(name, "X-Object-Meta-Public-") {
			delete(hd, name)
		}
	}
	m := w.c.r.Method
	if (m != http.MethodGet && m != http.MethodHead) || code/100 != 2 {
		return
	}
	_, inline := w.c.q["inline"]
	filename := w.c.q.Get("filename")
	switch {
	case inline && filename != "":
		hd.Set("Content-Disposition", disposition("inline", filename))
	case inline:
		hd.Set("Content-Disposition", "inline")
	case filename != "":
		hd.Set("Content-Disposition", disposition("attachment", filename))
	case hd.Get("Content-Disposition") != "":
	default:
		hd.Set("Content-Disposition", disposition("attachment", path.Base(w.c.object)))
	}
	hd.Set("Expires", time.Unix(w.expires, 0).UTC().Format(http.TimeFormat))
}

// disposition is a Content-Disposition naming a file as Swift writes it:
// RFC 6266's filename and RFC 5987's filename* both.
func disposition(kind, name string) string {
	return kind + `; filename="` + pyQuote(name, " /") + `"; filename*=UTF-8''` + pyQuote(name, "/")
}

// pyQuote percent-encodes s as Python's urllib.parse.quote does with safe:
// letters, digits, "_.-~" and the safe characters stay.
func pyQuote(s, safe string) string {
	const upper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			strings.IndexByte("_.-~", ch) >= 0, strings.IndexByte(safe, ch) >= 0:
			b.WriteByte(ch)
		default:
			b.WriteByte('%')
			b.WriteByte(upper[ch>>4])
			b.WriteByte(upper[ch&15])
		}
	}
	return b.String()
}
