package e2e

// Helpers for the OpenStack Swift dialect tests: raw requests, the
// dialect's error shape, listings. Connections, accounts and keys come
// from the harness (Env.Swift, Env.Account, Env.CreateKey). Every name
// starts with "sw" so it cannot collide with helpers of other e2e files.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ncw/swift/v2"
)

// swCtx is the context of every client call.
var swCtx = context.Background()

// swHTTP sends the raw requests of swDo. Transparent gzip is off, so a
// stored Content-Encoding comes back with the bytes as stored.
var swHTTP = &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32}}

// swToken authenticates through auth v1 with X-Auth-User <keyid> and
// returns the token, failing the test unless the answer is 204.
func swToken(t testing.TB, env *Env, k Key) string {
	t.Helper()
	r := swDo(t, env, http.MethodGet, "/auth/v1.0", "", map[string]string{"X-Auth-User": k.ID, "X-Auth-Key": k.Value}, nil)
	swWant(t, "auth v1 as "+k.ID, r, http.StatusNoContent)
	tok := r.Header.Get("X-Auth-Token")
	if tok == "" {
		t.Fatalf("auth v1 as %s: no X-Auth-Token", k.ID)
	}
	return tok
}

// swStart is the target of a Swift test (Start), a fresh account acct
// with an account admin key k, and a connection c authenticated as k
// through auth version authVersion (its token is c.AuthToken).
func swStart(t testing.TB, authVersion int) (e *Env, acct string, k Key, c *swift.Connection) {
	t.Helper()
	e = Start(t)
	acct, k = e.Account(t)
	return e, acct, k, e.Swift(t, k.ID, k.Value, authVersion)
}

// swName is a fresh container name for t.
func swName(t testing.TB) string {
	return uniqueName(t, "c", 60)
}

// swContainer creates a fresh container through conn and returns its name.
func swContainer(t testing.TB, conn *swift.Connection) string {
	t.Helper()
	name := swName(t)
	if err := conn.ContainerCreate(swCtx, name, nil); err != nil {
		t.Fatalf("ContainerCreate %s: %v", name, err)
	}
	return name
}

// swPath is /v1/<acct>[/<container>[/<object>]], each part escaped for a
// URL path (an object's slashes stay slashes).
func swPath(acct string, parts ...string) string {
	p := "/v1/" + url.PathEscape(acct)
	for _, s := range parts {
		p += "/" + (&url.URL{Path: s}).EscapedPath()
	}
	return p
}

// swDo sends one raw request and reads the whole answer. path is a path
// on env (with an optional "?query") or an absolute URL. token, when not
// "", goes in X-Auth-Token. hdr is sent with the names exactly as given
// (so a test can send non-canonical casing). It fails the test on a
// transport error, and reports (without stopping) a response that has no
// X-Trans-Id, which the contract puts on every response.
func swDo(t testing.TB, env *Env, method, path, token string, hdr map[string]string, body io.Reader) *Resp {
	t.Helper()
	r, err := swSend(env, method, path, token, hdr, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Header.Get("X-Trans-Id") == "" {
		t.Errorf("%s %s -> %d: no X-Trans-Id header", method, path, r.Status)
	}
	return r
}

// swSend is swDo for goroutines: no testing.T, the transport error
// returned, no header checked.
func swSend(env *Env, method, path, token string, hdr map[string]string, body io.Reader) (*Resp, error) {
	u := path
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = env.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	return readResp(swHTTP, req)
}

// swWant fails the test unless r has one of the statuses.
func swWant(t testing.TB, what string, r *Resp, status ...int) {
	t.Helper()
	if !slices.Contains(status, r.Status) {
		t.Fatalf("%s: status %d, want %v: %.300s", what, r.Status, status, r.Body)
	}
}

// swWantErr fails the test unless r (an answer to a request other than
// HEAD) is a Swift error with the status: an HTML body whose heading is
// the status text, like <html><h1>Not Found</h1><p>...</p></html>.
func swWantErr(t testing.TB, what string, r *Resp, status int) {
	t.Helper()
	swWant(t, what, r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: error Content-Type %q, want text/html", what, ct)
	}
	if h1 := "<h1>" + http.StatusText(status) + "</h1>"; !strings.Contains(string(r.Body), h1) {
		t.Errorf("%s: error body %q has no %s", what, r.Body, h1)
	}
}

// swStatus is the HTTP status of an ncw/swift error (0 if it has none).
func swStatus(err error) int {
	var se *swift.Error
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}

// swWantClientErr fails the test unless err is an ncw/swift error with
// the status.
func swWantClientErr(t testing.TB, what string, err error, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %d", what, status)
	}
	if got := swStatus(err); got != status {
		t.Fatalf("%s: status %d, want %d (%v)", what, got, status, err)
	}
}

// swContainerEntry is one container of an account listing in JSON.
type swContainerEntry struct {
	Name         string `json:"name"`
	Count        int64  `json:"count"`
	Bytes        int64  `json:"bytes"`
	LastModified string `json:"last_modified"`
}

// swObjectEntry is one entry of a container listing in JSON: an object,
// or with a delimiter a subdir.
type swObjectEntry struct {
	Name         string `json:"name"`
	Hash         string `json:"hash"`
	Bytes        int64  `json:"bytes"`
	ContentType  string `json:"content_type"`
	LastModified string `json:"last_modified"`
	Subdir       string `json:"subdir"`
}

// swLastModifiedRe is a listing's last_modified: UTC without a zone, with
// microseconds, like 2026-11-27T08:20:49.123456.
var swLastModifiedRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

// swListJSON GETs a listing (account or container path) with format=json
// and the query pairs in kv, wants 200 and decodes it into out.
func swListJSON(t testing.TB, env *Env, path, token string, out any, kv ...string) *Resp {
	t.Helper()
	q := Q(kv...)
	q.Set("format", "json")
	r := swDo(t, env, http.MethodGet, path+"?"+q.Encode(), token, nil, nil)
	swWant(t, "GET "+path+" json "+q.Encode(), r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s json: Content-Type %q", path, ct)
	}
	r.JSON(t, out)
	return r
}

// swListPlain GETs a listing in plain text with the query pairs in kv and
// returns its lines; an empty listing must be 204 with no body.
func swListPlain(t testing.TB, env *Env, path, token string, kv ...string) []string {
	t.Helper()
	q := Q(kv...).Encode()
	r := swDo(t, env, http.MethodGet, path+"?"+q, token, nil, nil)
	if r.Status == http.StatusNoContent {
		if len(r.Body) != 0 {
			t.Errorf("GET %s plain %s: 204 with a body %q", path, q, r.Body)
		}
		return nil
	}
	swWant(t, "GET "+path+" plain "+q, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET %s plain: Content-Type %q", path, ct)
	}
	body := string(r.Body)
	if !strings.HasSuffix(body, "\n") {
		t.Errorf("GET %s plain %s: body %q does not end with a newline", path, q, body)
	}
	return strings.Split(strings.TrimSuffix(body, "\n"), "\n")
}

// swObjectNames is the names of a JSON container listing, a subdir by its
// subdir, checking that a subdir entry carries nothing else.
func swObjectNames(t testing.TB, entries []swObjectEntry) []string {
	t.Helper()
	var out []string
	for _, e := range entries {
		if e.Subdir != "" {
			if e.Name != "" || e.Hash != "" || e.Bytes != 0 || e.ContentType != "" {
				t.Errorf("subdir entry with object fields: %+v", e)
			}
			out = append(out, e.Subdir)
			continue
		}
		out = append(out, e.Name)
	}
	return out
}

// swEq fails the test unless got and want hold the same strings in order.
func swEq(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: %q, want %q", what, got, want)
	}
}

// swSorted is a sorted copy of names, the order of Swift listings.
func swSorted(names ...string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return out
}
