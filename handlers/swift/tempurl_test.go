package swift

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

// withTempURLKeys gives acct-a an account key and acct-a/private a
// container key.
func withTempURLKeys(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.st.UpdateAccount("acct-a", func(a *schema.Account) error {
		a.Meta = map[string]string{"temp-url-key": "acct-secret", "color": "blue"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpdateService("private", func(s *schema.Service) error {
		s.Settings.Meta = map[string]string{"temp-url-key-2": "cont-secret", "shape": "round"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// signTempURL signs method on path (or "prefix:" and a prefix path)
// until expires with key, as python-swiftclient's generate_temp_url does
// (hex, or base64 with the digest's name when b64), and returns the query
// string.
func signTempURL(newHash func() hash.Hash, key, method, path string, expires int64, b64 bool) string {
	m := hmac.New(newHash, []byte(key))
	fmt.Fprintf(m, "%s\n%d\n%s", method, expires, path)
	sig := hex.EncodeToString(m.Sum(nil))
	if b64 {
		name := map[int]string{sha1.Size: "sha1", sha256.Size: "sha256", sha512.Size: "sha512"}[m.Size()]
		sig = name + ":" + base64.URLEncoding.EncodeToString(m.Sum(nil))
	}
	return url.Values{"temp_url_sig": {sig}, "temp_url_expires": {strconv.FormatInt(expires, 10)}}.Encode()
}

func TestTempURL(t *testing.T) {
	e := newEnv(t)
	withTempURLKeys(t, e)
	later := e.core.now.Unix() + 60
	get := func(target string) string {
		return signTempURL(sha1.New, "acct-secret", http.MethodGet, target, later, false)
	}

	w := e.do(http.MethodGet, "/v1/acct-a/photos/cat?"+get("/v1/acct-a/photos/cat"), "", nil, "")
	if w.Code != http.StatusOK || w.Body.String() != "meow" {
		t.Fatalf("GET with an account key's temp URL: %d %q", w.Code, w.Body)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="cat"; filename*=UTF-8''cat` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if w.Header().Get("Expires") == "" {
		t.Errorf("no Expires header")
	}
	// HEAD passes with a GET signature; a container key opens its own
	// container only; SHA-256 and base64 SHA-512 signatures work too
	for name, c := range map[string]struct {
		method, target, query string
		want                  int
	}{
		"HEAD with GET's signature": {http.MethodHead, "/v1/acct-a/photos/cat", get("/v1/acct-a/photos/cat"), http.StatusOK},
		"container key": {http.MethodGet, "/v1/acct-a/private/x",
			signTempURL(sha256.New, "cont-secret", http.MethodGet, "/v1/acct-a/private/x", later, false), http.StatusOK},
		"sha512": {http.MethodGet, "/v1/acct-a/private/x",
			signTempURL(sha512.New, "acct-secret", http.MethodGet, "/v1/acct-a/private/x", later, true), http.StatusOK},
		"prefix": {http.MethodGet, "/v1/acct-a/photos/cat",
			signTempURL(sha1.New, "acct-secret", http.MethodGet, "prefix:/v1/acct-a/photos/c", later, false) + "&temp_url_prefix=c", http.StatusOK},
		"another container's key": {http.MethodGet, "/v1/acct-a/photos/cat",
			signTempURL(sha1.New, "cont-secret", http.MethodGet, "/v1/acct-a/photos/cat", later, false), http.StatusUnauthorized},
		"another object": {http.MethodGet, "/v1/acct-a/private/x", get("/v1/acct-a/photos/cat"), http.StatusUnauthorized},
		"another method": {http.MethodDelete, "/v1/acct-a/photos/cat", get("/v1/acct-a/photos/cat"), http.StatusUnauthorized},
		"expired": {http.MethodGet, "/v1/acct-a/photos/cat",
			signTempURL(sha1.New, "acct-secret", http.MethodGet, "/v1/acct-a/photos/cat", e.core.now.Unix()-1, false), http.StatusUnauthorized},
		"wrong key": {http.MethodGet, "/v1/acct-a/photos/cat",
			signTempURL(sha1.New, "guess", http.MethodGet, "/v1/acct-a/photos/cat", later, false), http.StatusUnauthorized},
		"another account's key": {http.MethodGet, "/v1/acct-b/theirs/t",
			signTempURL(sha1.New, "acct-secret", http.MethodGet, "/v1/acct-b/theirs/t", later, false), http.StatusUnauthorized},
		"a container": {http.MethodGet, "/v1/acct-a/photos", get("/v1/acct-a/photos"), http.StatusUnauthorized},
		"the prefix not the object's": {http.MethodGet, "/v1/acct-a/photos/cat",
			signTempURL(sha1.New, "acct-secret", http.MethodGet, "prefix:/v1/acct-a/photos/d", later, false) + "&temp_url_prefix=d", http.StatusUnauthorized},
	} {
		if w := e.do(c.method, c.target+"?"+c.query, "", nil, ""); w.Code != c.want {
			t.Errorf("%s: %s %s: %d, want %d (%q)", name, c.method, c.target, w.Code, c.want, w.Body)
		}
	}

	// a PUT URL writes that object, and may not make it a manifest
	put := signTempURL(sha1.New, "acct-secret", http.MethodPut, "/v1/acct-a/photos/up", later, false)
	if w := e.do(http.MethodPut, "/v1/acct-a/photos/up?"+put, "", map[string]string{"X-Object-Manifest": "photos/c"}, ""); w.Code != http.StatusBadRequest {
		t.Errorf("PUT temp URL with X-Object-Manifest: %d, want 400", w.Code)
	}
	if w := e.do(http.MethodPut, "/v1/acct-a/photos/up?"+put, "", nil, "uploaded"); w.Code != http.StatusCreated {
		t.Fatalf("PUT with a temp URL: %d %q", w.Code, w.Body)
	}
	if w := e.do(http.MethodGet, "/v1/acct-a/photos/up", tkRead, nil, ""); w.Body.String() != "uploaded" {
		t.Errorf("after the temp URL PUT: %d %q", w.Code, w.Body)
	}
	// a GET URL does not write
	if w := e.do(http.MethodPut, "/v1/acct-a/photos/cat?"+get("/v1/acct-a/photos/cat"), "", nil, "x"); w.Code != http.StatusUnauthorized {
		t.Errorf("PUT with a GET temp URL: %d, want 401", w.Code)
	}
}

// A temp URL's answer hides the object's metadata but X-Object-Meta-Public-*.
func TestTempURL_HidesObjectMeta(t *testing.T) {
	e := newEnv(t)
	withTempURLKeys(t, e)
	if w := e.do(http.MethodPut, "/v1/acct-a/photos/m", tkWrite, map[string]string{"X-Object-Meta-Owner": "alice", "X-Object-Meta-Public-Tag": "t"}, "m"); w.Code != http.StatusCreated {
		t.Fatalf("PUT: %d", w.Code)
	}
	q := signTempURL(sha1.New, "acct-secret", http.MethodGet, "/v1/acct-a/photos/m", e.core.now.Unix()+60, false)
	w := e.do(http.MethodGet, "/v1/acct-a/photos/m?"+q+"&inline", "", nil, "")
	if w.Code != http.StatusOK || w.Header().Get("X-Object-Meta-Owner") != "" || w.Header().Get("X-Object-Meta-Public-Tag") != "t" {
		t.Errorf("GET with a temp URL: %d, headers %v", w.Code, w.Header())
	}
	if cd := w.Header().Get("Content-Disposition"); cd != "inline" {
		t.Errorf("Content-Disposition with inline: %q", cd)
	}
}

// Temp URL keys are shown on account and container HEAD/GET only to
// those who administer the account or container; others get the rest of
// the metadata.
func TestMetaSecrets_ShownToOwnersOnly(t *testing.T) {
	e := newEnv(t)
	withTempURLKeys(t, e)
	for _, c := range []struct {
		token, target, header, secret, other string
		owner                                bool
	}{
		{tkAdmin, "/v1/acct-a", "X-Account-Meta-Temp-Url-Key", "acct-secret", "X-Account-Meta-Color", true},
		{tkServer, "/v1/acct-a", "X-Account-Meta-Temp-Url-Key", "acct-secret", "X-Account-Meta-Color", true},
		{tkRead, "/v1/acct-a", "X-Account-Meta-Temp-Url-Key", "acct-secret", "X-Account-Meta-Color", false},
		{tkNone, "/v1/acct-a", "X-Account-Meta-Temp-Url-Key", "acct-secret", "X-Account-Meta-Color", false},
		{tkAdmin, "/v1/acct-a/private", "X-Container-Meta-Temp-Url-Key-2", "cont-secret", "X-Container-Meta-Shape", true},
	} {
		for _, method := range []string{http.MethodHead, http.MethodGet} {
			w := e.do(method, c.target, c.token, nil, "")
			if w.Code/100 != 2 {
				t.Fatalf("%s %s as %s: %d", method, c.target, c.token, w.Code)
			}
			if got := w.Header().Get(c.header); (got == c.secret) != c.owner || (!c.owner && got != "") {
				t.Errorf("%s %s as %s: %s = %q (owner %v)", method, c.target, c.token, c.header, got, c.owner)
			}
			if w.Header().Get(c.other) == "" {
				t.Errorf("%s %s as %s: %s missing: the other metadata is for everyone", method, c.target, c.token, c.other)
			}
		}
	}
	// a key with read access to a container sees its metadata without
	// the key
	if _, err := e.st.UpdateService("photos", func(s *schema.Service) error {
		s.Settings.Meta = map[string]string{"temp-url-key": "photos-secret", "shape": "square"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w := e.do(http.MethodHead, "/v1/acct-a/photos", tkRead, nil, "")
	if w.Code != http.StatusNoContent || w.Header().Get("X-Container-Meta-Shape") != "square" {
		t.Fatalf("HEAD photos as a reader: %d %v", w.Code, w.Header())
	}
	for name, vals := range w.Header() {
		if strings.Contains(strings.Join(vals, ","), "photos-secret") {
			t.Errorf("HEAD photos as a reader shows the container's temp URL key in %s", name)
		}
	}
}
