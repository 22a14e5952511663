package native

import (
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/fakes"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// The handler against fakes of its interfaces (fakes_test.go): routing,
// authentication, the access rules as this dialect answers them, the
// version a read serves, conditional reads and the write path.

const (
	fakeAdminID    = "ADMINKEYID0000000001"
	fakeAdminValue = "admin-secret"
)

// Key values of the fixture's principals.
const (
	readValue     = "read-value"     // account a, read grant on photos
	writeValue    = "write-value"    // account a, write grant on photos and edge
	acctAdmValue  = "acct-admin"     // account a's admin key
	allValue      = "all-value"      // account a, read grant on every service
	strangerValue = "stranger-value" // account c, a grant naming "photos" (account a's)
	revokedValue  = "revoked-value"  // account a, revoked
)

type fixture struct {
	h     http.Handler
	state *fakeState
	core  *fakeCore
	reqs  *fakes.Requests
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newFixture returns a handler over fakes holding services of accounts a
// and b (photos, logs and the cache edge in a; theirs and shared in b,
// shared naming account a's read key in its read ACL), each storage
// service with one file f.txt.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := newFakeState()
	for _, svc := range []schema.Service{
		{ID: "photos", Account: "a", Type: schema.ServiceStorage},
		{ID: "logs", Account: "a", Type: schema.ServiceStorage},
		{ID: "edge", Account: "a", Type: schema.ServiceCache},
		{ID: "theirs", Account: "b", Type: schema.ServiceStorage},
		{ID: "shared", Account: "b", Type: schema.ServiceStorage,
			Settings: schema.ServiceSettings{ReadACL: []string{"a:KREAD"}}},
	} {
		st.addService(svc)
	}
	st.addKey(schema.Key{ID: "KREAD", Account: "a", Access: map[string]string{"photos": schema.AccessRead}}, readValue)
	st.addKey(schema.Key{ID: "KWRITE", Account: "a", Access: map[string]string{"photos": schema.AccessWrite, "edge": schema.AccessWrite}}, writeValue)
	st.addKey(schema.Key{ID: "KADMIN", Account: "a", Admin: true}, acctAdmValue)
	st.addKey(schema.Key{ID: "KALL", Account: "a", Access: map[string]string{schema.AllServices: schema.AccessRead}}, allValue)
	st.addKey(schema.Key{ID: "KSTRANGER", Account: "c", Access: map[string]string{"photos": schema.AccessWrite}}, strangerValue)
	st.addKey(schema.Key{ID: "KREVOKED", Account: "a", Access: map[string]string{"photos": schema.AccessWrite}, Revoked: true}, revokedValue)
	core := newFakeCore(st, t0)
	f := &fixture{state: st, core: core, reqs: &fakes.Requests{}}
	h := New(Deps{Core: core, State: st, Auth: access.New(st, fakeAdminID, fakeAdminValue), Requests: f.reqs})
	f.h = httpx.Middleware(slog.New(slog.DiscardHandler), h)
	for _, sid := range []string{"photos", "logs", "theirs", "shared"} {
		f.upload(t, sid, "f.txt", "file of "+sid, nil)
	}
	return f
}

// do serves one request and returns the recorded response.
func (f *fixture) do(t *testing.T, method, fn, key string, q url.Values, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	target := "/" + fn
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		r.Header.Set(schema.KeyHeader, key)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// upload stores a file with the server admin key and returns its answer.
func (f *fixture) upload(t *testing.T, sid, path, body string, hdr map[string]string) schema.Uploaded {
	t.Helper()
	w := f.do(t, http.MethodPut, "uploadfile", fakeAdminValue, q("sid", sid, "path", path), body, hdr)
	if w.Code != http.StatusCreated {
		t.Fatalf("upload %s/%s: %d %s", sid, path, w.Code, w.Body)
	}
	var up schema.Uploaded
	if err := json.Unmarshal(w.Body.Bytes(), &up); err != nil {
		t.Fatal(err)
	}
	return up
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// wireError returns the error code and message of a native error body.
func wireError(t *testing.T, w *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d: the body is not a native error: %q", w.Code, w.Body)
	}
	if body.RequestID == "" {
		t.Errorf("error body without a request id: %s", w.Body)
	}
	return body.Error.Code, body.Error.Message
}

// expect checks a response's status and, for an error, its wire code.
func expect(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d (%s)", w.Code, status, w.Body)
	}
	if code != "" {
		if got, msg := wireError(t, w); got != code {
			t.Fatalf("code %q (%s), want %q", got, msg, code)
		}
	}
}

func TestHandler_Routing(t *testing.T) {
	f := newFixture(t)
	get := http.MethodGet

	expect(t, f.do(t, get, "nosuchfunction", fakeAdminValue, nil, "", nil), http.StatusNotFound, schema.CodeNotFound)
	w := f.do(t, http.MethodPost, "getfile", fakeAdminValue, q("sid", "photos", "path", "f.txt"), "", nil)
	expect(t, w, http.StatusMethodNotAllowed, schema.CodeMethodNotAllowed)
	if got := w.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow = %q, want GET, HEAD", got)
	}
	expect(t, f.do(t, get, "getfile", fakeAdminValue, q("path", "f.txt"), "", nil), http.StatusBadRequest, schema.CodeInvalidArgument)
	expect(t, f.do(t, get, "getfile", fakeAdminValue, q("sid", "photos"), "", nil), http.StatusBadRequest, schema.CodeInvalidArgument)
	expect(t, f.do(t, get, "getfile", fakeAdminValue, q("sid", "photos", "path", "bad\xff"), "", nil), http.StatusBadRequest, schema.CodeInvalidArgument)

	// A function's name is matched case-insensitively, a trailing slash
	// ignored.
	if w := f.do(t, get, "GetFile/", fakeAdminValue, q("sid", "photos", "path", "f.txt"), "", nil); w.Code != http.StatusOK || w.Body.String() != "file of photos" {
		t.Errorf("GetFile/: %d %q", w.Code, w.Body)
	}
	// The document needs no key; everything else does.
	if w := f.do(t, get, "openapi.json", "", nil, "", nil); w.Code != http.StatusOK || !json.Valid(w.Body.Bytes()) {
		t.Errorf("openapi.json without a key: %d", w.Code)
	}
	// Storage-only functions refuse a cache service.
	expect(t, f.do(t, get, "versionlist", fakeAdminValue, q("sid", "edge", "path", "f.txt"), "", nil), http.StatusMethodNotAllowed, schema.CodeMethodNotAllowed)
	expect(t, f.do(t, get, "syncnext", fakeAdminValue, q("sid", "edge"), "", nil), http.StatusMethodNotAllowed, schema.CodeMethodNotAllowed)
	// A cache's file functions answer 503 on a server without caches.
	expect(t, f.do(t, get, "getfile", writeValue, q("sid", "edge", "path", "f.txt"), "", nil), http.StatusServiceUnavailable, schema.CodeUnavailable)

	h := New(Deps{})
	for _, tc := range []struct {
		path, key string
		want      bool
	}{
		{"/getfile", "", true},
		{"/SERVICELIST/", "", true},
		{"/bucket/object", "", false},
		{"/bucket/object", "any", true}, // x-owncdn-key claims the request
	} {
		r := httptest.NewRequest(get, tc.path, nil)
		if tc.key != "" {
			r.Header.Set(schema.KeyHeader, tc.key)
		}
		if got := h.Handles(r); got != tc.want {
			t.Errorf("Handles(%s, key %q) = %v, want %v", tc.path, tc.key, got, tc.want)
		}
	}
}

func TestHandler_Authentication(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, method, fn, key string
		q                     url.Values
		status                int
		code                  string
	}{
		{"no key", http.MethodGet, "getfile", "", q("sid", "photos", "path", "f.txt"), http.StatusUnauthorized, schema.CodeUnauthorized},
		{"no key servicelist", http.MethodGet, "servicelist", "", nil, http.StatusUnauthorized, schema.CodeUnauthorized},
		{"unknown key", http.MethodGet, "getfile", "not-a-key", q("sid", "photos", "path", "f.txt"), http.StatusUnauthorized, schema.CodeUnauthorized},
		{"key id instead of value", http.MethodGet, "getfile", "KREAD", q("sid", "photos", "path", "f.txt"), http.StatusUnauthorized, schema.CodeUnauthorized},
		{"revoked key", http.MethodPut, "uploadfile", revokedValue, q("sid", "photos", "path", "x"), http.StatusUnauthorized, schema.CodeUnauthorized},
		{"no key, unknown service", http.MethodGet, "filelist", "", q("sid", "nope"), http.StatusUnauthorized, schema.CodeUnauthorized},
		{"no key admin", http.MethodPost, "keylist", "", nil, http.StatusUnauthorized, schema.CodeUnauthorized},
		{"account admin key is not the admin key", http.MethodPost, "keylist", acctAdmValue, nil, http.StatusForbidden, schema.CodeForbidden},
		{"grant is not the admin key", http.MethodPost, "servicedelete", writeValue, nil, http.StatusForbidden, schema.CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, f.do(t, tc.method, tc.fn, tc.key, tc.q, "{}", nil), tc.status, tc.code)
		})
	}
	// The admin key passes: keylist lists the unrevoked keys.
	w := f.do(t, http.MethodPost, "keylist", fakeAdminValue, nil, "{}", nil)
	expect(t, w, http.StatusOK, "")
	if strings.Contains(w.Body.String(), "KREVOKED") || !strings.Contains(w.Body.String(), "KREAD") {
		t.Errorf("keylist: %s", w.Body)
	}
}

// TestHandler_Access is the access table as the native dialect answers
// it: a key that may not know whether a service exists gets the same 403
// for a missing service as for one it may not read; a key that may know
// gets 404, for a missing service and for another account's alike.
func TestHandler_Access(t *testing.T) {
	f := newFixture(t)
	const (
		ok       = 0
		noAccess = "no access"
		readOnly = "read access only"
	)
	get, put := http.MethodGet, http.MethodPut
	for _, tc := range []struct {
		name, key, method, fn, sid string
		status                     int
		code, message              string
	}{
		{"read grant reads", readValue, get, "getfile", "photos", http.StatusOK, "", ""},
		{"read grant lists", readValue, get, "filelist", "photos", http.StatusOK, "", ""},
		{"read grant cannot upload", readValue, put, "uploadfile", "photos", http.StatusForbidden, schema.CodeForbidden, readOnly},
		{"read grant cannot delete", readValue, http.MethodDelete, "deletefile", "photos", http.StatusForbidden, schema.CodeForbidden, readOnly},
		{"no grant: the account's other service", readValue, get, "getfile", "logs", http.StatusForbidden, schema.CodeForbidden, noAccess},
		{"no grant: a missing service is the same 403", readValue, get, "getfile", "nope", http.StatusForbidden, schema.CodeForbidden, noAccess},
		{"no grant: another account's is the same 403", readValue, get, "getfile", "theirs", http.StatusForbidden, schema.CodeForbidden, noAccess},
		{"write grant uploads", writeValue, put, "uploadfile", "photos", http.StatusCreated, "", ""},
		{"write grant on a cache flushes", writeValue, http.MethodPost, "flush", "edge", http.StatusServiceUnavailable, schema.CodeUnavailable, ""},
		{"read grant on a cache cannot flush", readValue, http.MethodPost, "flush", "edge", http.StatusForbidden, schema.CodeForbidden, noAccess},
		{"account admin reads its account's", acctAdmValue, get, "getfile", "logs", http.StatusOK, "", ""},
		{"account admin writes its account's", acctAdmValue, put, "uploadfile", "logs", http.StatusCreated, "", ""},
		{"account admin: another account's is not found", acctAdmValue, get, "getfile", "theirs", http.StatusNotFound, schema.CodeNotFound, ""},
		{"account admin: a missing service is not found", acctAdmValue, get, "getfile", "nope", http.StatusNotFound, schema.CodeNotFound, ""},
		{"every-service grant reads the account's", allValue, get, "getfile", "logs", http.StatusOK, "", ""},
		{"every-service grant cannot write", allValue, put, "uploadfile", "logs", http.StatusForbidden, schema.CodeForbidden, readOnly},
		{"every-service grant: another account's is not found", allValue, get, "getfile", "theirs", http.StatusNotFound, schema.CodeNotFound, ""},
		{"every-service grant: a missing one is not found", allValue, get, "filelist", "nope", http.StatusNotFound, schema.CodeNotFound, ""},
		{"a grant names an id of its own account only", strangerValue, get, "getfile", "photos", http.StatusNotFound, schema.CodeNotFound, ""},
		{"read ACL shares across accounts", readValue, get, "getfile", "shared", http.StatusOK, "", ""},
		{"read ACL does not share writes", readValue, put, "uploadfile", "shared", http.StatusForbidden, schema.CodeForbidden, readOnly},
		{"server key reads any account's", fakeAdminValue, get, "getfile", "theirs", http.StatusOK, "", ""},
		{"server key learns a service is missing", fakeAdminValue, get, "getfile", "nope", http.StatusNotFound, schema.CodeNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(t, tc.method, tc.fn, tc.key, q("sid", tc.sid, "path", "f.txt"), "new", nil)
			expect(t, w, tc.status, tc.code)
			if tc.message != "" {
				if _, msg := wireError(t, w); !strings.Contains(msg, tc.message) {
					t.Errorf("message %q, want it to say %q", msg, tc.message)
				}
			}
		})
	}

	// servicelist shows a key what it may read, with its level, and
	// nothing else.
	for _, tc := range []struct {
		key  string
		want map[string]string
	}{
		{readValue, map[string]string{"photos": "read", "shared": "read"}},
		{writeValue, map[string]string{"photos": "write", "edge": "write"}},
		{acctAdmValue, map[string]string{"photos": "write", "logs": "write", "edge": "write"}},
		{strangerValue, map[string]string{}},
	} {
		w := f.do(t, http.MethodGet, "servicelist", tc.key, nil, "", nil)
		expect(t, w, http.StatusOK, "")
		var list struct {
			Services []schema.ServiceEntry `json:"services"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, s := range list.Services {
			got[s.ID] = s.Access
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("servicelist for %s = %v, want %v", tc.key, got, tc.want)
		}
	}
}

// TestHandler_Versions: the version getfile serves, by id, as of a moment
// or live, and what a deletion or an expiry does to each.
func TestHandler_Versions(t *testing.T) {
	f := newFixture(t)
	up1 := f.upload(t, "photos", "doc.txt", "one", nil)
	f.core.Advance(time.Minute)
	up2 := f.upload(t, "photos", "doc.txt", "two", nil)
	f.core.Advance(time.Minute)
	w := f.do(t, http.MethodDelete, "deletefile", writeValue, q("sid", "photos", "path", "doc.txt"), "", nil)
	expect(t, w, http.StatusOK, "")
	var del schema.Deleted
	if err := json.Unmarshal(w.Body.Bytes(), &del); err != nil {
		t.Fatal(err)
	}
	f.core.Advance(time.Minute)
	up4 := f.upload(t, "photos", "later.txt", "brief", map[string]string{"x-owncdn-delete-after": "60"})
	f.core.Advance(2 * time.Minute) // later.txt has expired

	sync := func(n uint64) string { return "sync:" + strconv.FormatUint(n, 10) }
	between := t0.Add(30 * time.Second).Format(time.RFC3339Nano) // after "one", before "two"
	for _, tc := range []struct {
		name    string
		query   url.Values
		status  int
		body    string // for 200
		version string // X-Version-Id for 200
	}{
		{"live: a deleted file is not found", q("path", "doc.txt"), http.StatusNotFound, "", ""},
		{"by id", q("path", "doc.txt", "version", up1.Version), http.StatusOK, "one", up1.Version},
		{"by id, the newer one", q("path", "doc.txt", "version", up2.Version), http.StatusOK, "two", up2.Version},
		{"by id: the deletion itself is not found", q("path", "doc.txt", "version", del.Version), http.StatusNotFound, "", ""},
		{"by id: an unknown id", q("path", "doc.txt", "version", "v999"), http.StatusNotFound, "", ""},
		{"as of a sync id", q("path", "doc.txt", "asof", sync(up1.SyncID)), http.StatusOK, "one", up1.Version},
		{"as of the next sync id", q("path", "doc.txt", "asof", sync(up2.SyncID)), http.StatusOK, "two", up2.Version},
		{"as of the deletion", q("path", "doc.txt", "asof", sync(del.SyncID)), http.StatusNotFound, "", ""},
		{"as of the empty start", q("path", "doc.txt", "asof", "sync:0"), http.StatusNotFound, "", ""},
		{"as of a time", q("path", "doc.txt", "asof", between), http.StatusOK, "one", up1.Version},
		{"a version id takes precedence over asof", q("path", "doc.txt", "version", up1.Version, "asof", sync(up2.SyncID)), http.StatusOK, "one", up1.Version},
		{"asof is not read with a version id", q("path", "doc.txt", "version", up2.Version, "asof", "last tuesday"), http.StatusOK, "two", up2.Version},
		{"an invalid asof", q("path", "doc.txt", "asof", "last tuesday"), http.StatusBadRequest, "", ""},
		{"live: an expired file is not found", q("path", "later.txt"), http.StatusNotFound, "", ""},
		{"by id: an expired version is not found", q("path", "later.txt", "version", up4.Version), http.StatusNotFound, "", ""},
		{"as of before its expiry: gone to a reader", q("path", "later.txt", "asof", sync(up4.SyncID)), http.StatusNotFound, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.query.Set("sid", "photos")
			w := f.do(t, http.MethodGet, "getfile", readValue, tc.query, "", nil)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if tc.status != http.StatusOK {
				return
			}
			if w.Body.String() != tc.body || w.Header().Get("X-Version-Id") != tc.version {
				t.Errorf("served %q (version %s), want %q (version %s)", w.Body, w.Header().Get("X-Version-Id"), tc.body, tc.version)
			}
		})
	}
	// The service's administrators still read an expired file as of a
	// moment it was live (within retention).
	if w := f.do(t, http.MethodGet, "getfile", acctAdmValue, q("sid", "photos", "path", "later.txt", "asof", sync(up4.SyncID)), "", nil); w.Code != http.StatusOK || w.Body.String() != "brief" {
		t.Errorf("as of before its expiry, to the account's admin: %d %q", w.Code, w.Body)
	}
	// A live read serves the newest version, with its sync id.
	f.core.Advance(time.Minute)
	up5 := f.upload(t, "photos", "doc.txt", "five", nil)
	w = f.do(t, http.MethodGet, "getfile", readValue, q("sid", "photos", "path", "doc.txt"), "", nil)
	if w.Code != http.StatusOK || w.Body.String() != "five" || w.Header().Get("X-Sync-Id") != strconv.FormatUint(up5.SyncID, 10) {
		t.Errorf("live: %d %q X-Sync-Id %s, want five at %d", w.Code, w.Body, w.Header().Get("X-Sync-Id"), up5.SyncID)
	}
}

// TestHandler_Conditions: conditional GET and HEAD. A failed precondition
// is 409 precondition_failed (the native document: "If-Match,
// If-Unmodified-Since: 409"), a current copy 304; If-Match compares
// strongly, If-None-Match weakly.
func TestHandler_Conditions(t *testing.T) {
	f := newFixture(t)
	up := f.upload(t, "photos", "c.txt", "conditional", nil)
	etag := `"` + up.ETag + `"`
	mod := t0 // the fake clock had not moved
	date := func(d time.Duration) string { return mod.Add(d).Format(http.TimeFormat) }
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"none", nil, http.StatusOK},
		{"If-None-Match the tag", map[string]string{"If-None-Match": etag}, http.StatusNotModified},
		{"If-None-Match a weak tag (weak comparison)", map[string]string{"If-None-Match": "W/" + etag}, http.StatusNotModified},
		{"If-None-Match in a list", map[string]string{"If-None-Match": `"other", ` + etag}, http.StatusNotModified},
		{"If-None-Match *", map[string]string{"If-None-Match": "*"}, http.StatusNotModified},
		{"If-None-Match another tag", map[string]string{"If-None-Match": `"other"`}, http.StatusOK},
		{"If-Match the tag", map[string]string{"If-Match": etag}, http.StatusOK},
		{"If-Match *", map[string]string{"If-Match": "*"}, http.StatusOK},
		{"If-Match another tag", map[string]string{"If-Match": `"other"`}, http.StatusConflict},
		{"If-Match a weak tag (strong comparison)", map[string]string{"If-Match": "W/" + etag}, http.StatusConflict},
		{"If-Modified-Since its time", map[string]string{"If-Modified-Since": date(0)}, http.StatusNotModified},
		{"If-Modified-Since before", map[string]string{"If-Modified-Since": date(-time.Hour)}, http.StatusOK},
		{"If-Modified-Since not a date", map[string]string{"If-Modified-Since": "yesterday"}, http.StatusOK},
		{"If-Unmodified-Since before", map[string]string{"If-Unmodified-Since": date(-time.Hour)}, http.StatusConflict},
		{"If-Unmodified-Since its time", map[string]string{"If-Unmodified-Since": date(0)}, http.StatusOK},
		{"If-Match decides over If-Unmodified-Since", map[string]string{"If-Match": etag, "If-Unmodified-Since": date(-time.Hour)}, http.StatusOK},
		{"If-None-Match decides over If-Modified-Since", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": date(0)}, http.StatusOK},
		{"If-Match failing before If-None-Match", map[string]string{"If-Match": `"other"`, "If-None-Match": etag}, http.StatusConflict},
		{"a range after the conditions", map[string]string{"If-Match": etag, "Range": "bytes=0-3"}, http.StatusPartialContent},
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(method+" "+tc.name, func(t *testing.T) {
				w := f.do(t, method, "getfile", readValue, q("sid", "photos", "path", "c.txt"), "", tc.hdr)
				if w.Code != tc.status {
					t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
				}
				switch {
				case method == http.MethodGet && tc.status == http.StatusConflict:
					if code, _ := wireError(t, w); code != schema.CodePreconditionFailed {
						t.Errorf("code %q, want %s", code, schema.CodePreconditionFailed)
					}
				case method == http.MethodHead || tc.status == http.StatusNotModified:
					if w.Body.Len() != 0 {
						t.Errorf("a body with %s %d: %q", method, w.Code, w.Body)
					}
				case tc.status == http.StatusPartialContent:
					if w.Body.String() != "cond" {
						t.Errorf("range served %q", w.Body)
					}
				default:
					if w.Body.String() != "conditional" {
						t.Errorf("served %q", w.Body)
					}
				}
				if tc.status == http.StatusOK || tc.status == http.StatusNotModified {
					if w.Header().Get("ETag") != etag || w.Header().Get("X-Version-Id") != up.Version {
						t.Errorf("headers %v", w.Header())
					}
				}
			})
		}
	}
}

// TestHandler_Write: uploadfile and deletefile with their conditions, and
// each request recorded once for reqlist.
func TestHandler_Write(t *testing.T) {
	f := newFixture(t)
	put, del := http.MethodPut, http.MethodDelete
	at := q("sid", "photos", "path", "w.txt")
	w := f.do(t, put, "uploadfile", writeValue, at, "hello", map[string]string{"Content-Type": "text/plain", "x-owncdn-meta-Color": "red"})
	expect(t, w, http.StatusCreated, "")
	firstBytes := int64(w.Body.Len())
	var up schema.Uploaded
	if err := json.Unmarshal(w.Body.Bytes(), &up); err != nil {
		t.Fatal(err)
	}
	if up.Path != "w.txt" || up.Size != 5 || up.ETag != "5d41402abc4b2a76b9719d911017c592" || up.Version == "" || up.SyncID == 0 {
		t.Errorf("uploadfile answered %+v", up)
	}
	g := f.do(t, http.MethodGet, "getfile", readValue, at, "", nil)
	if g.Body.String() != "hello" || g.Header().Get("x-owncdn-meta-color") != "red" || g.Header().Get("Content-Type") != "text/plain" {
		t.Errorf("getfile after upload: %q %v", g.Body, g.Header())
	}
	etag := `"` + up.ETag + `"`

	// Conditional uploads: 409 precondition_failed, and nothing written.
	for name, hdr := range map[string]map[string]string{
		"If-None-Match * on an existing file":     {"If-None-Match": "*"},
		"If-None-Match its tag":                   {"If-None-Match": etag},
		"If-Match another tag":                    {"If-Match": `"other"`},
		"If-Match a weak tag (strong comparison)": {"If-Match": "W/" + etag},
		"If-Match on a missing file":              {"If-Match": "*"},
	} {
		t.Run(name, func(t *testing.T) {
			target := at
			if strings.Contains(name, "missing") {
				target = q("sid", "photos", "path", "missing.txt")
			}
			before := len(f.state.History("photos", target.Get("path")))
			expect(t, f.do(t, put, "uploadfile", writeValue, target, "again", hdr), http.StatusConflict, schema.CodePreconditionFailed)
			if after := len(f.state.History("photos", target.Get("path"))); after != before {
				t.Errorf("a refused upload wrote a version (%d -> %d)", before, after)
			}
		})
	}
	// If-Unmodified-Since is a read's condition here: an upload ignores it.
	expect(t, f.do(t, put, "uploadfile", writeValue, q("sid", "photos", "path", "ius.txt"), "x",
		map[string]string{"If-Unmodified-Since": t0.Add(-time.Hour).Format(http.TimeFormat)}), http.StatusCreated, "")
	w = f.do(t, put, "uploadfile", writeValue, at, "hello again", map[string]string{"If-Match": etag})
	expect(t, w, http.StatusCreated, "")

	// Deletion: If-Match holds or 409; then 404, as the file is gone.
	expect(t, f.do(t, del, "deletefile", writeValue, at, "", map[string]string{"If-Match": etag}), http.StatusConflict, schema.CodePreconditionFailed)
	w = f.do(t, del, "deletefile", writeValue, at, "", nil)
	expect(t, w, http.StatusOK, "")
	var gone schema.Deleted
	if err := json.Unmarshal(w.Body.Bytes(), &gone); err != nil || gone.Path != "w.txt" || gone.Version == "" {
		t.Errorf("deletefile answered %s", w.Body)
	}
	expect(t, f.do(t, del, "deletefile", writeValue, at, "", nil), http.StatusNotFound, schema.CodeNotFound)
	expect(t, f.do(t, http.MethodGet, "getfile", readValue, at, "", nil), http.StatusNotFound, schema.CodeNotFound)
	if h := f.state.History("photos", "w.txt"); len(h) != 3 || !h[0].Deleted || h[0].Actor != "KWRITE" {
		t.Errorf("history after the writes: %d versions, newest %+v", len(h), h[0])
	}

	// reqlist: every request on the service (to the account's admin
	// key), once, with the status and size the client got.
	w = f.do(t, http.MethodGet, "reqlist", acctAdmValue, q("sid", "photos", "limit", "1000"), "", nil)
	expect(t, w, http.StatusOK, "")
	var list struct {
		Requests []struct {
			Function string `json:"function"`
			Status   int    `json:"status"`
			Bytes    int64  `json:"bytes"`
			KeyID    string `json:"key_id"`
			Method   string `json:"method"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	// newest first: the getfile 404, the deletefile 404, the deletefile
	// 200, the refused deletefile 409, ...
	var statuses []int
	for _, r := range list.Requests[:4] {
		statuses = append(statuses, r.Status)
	}
	if want := []int{404, 404, 200, 409}; !slices.Equal(statuses, want) {
		t.Errorf("the newest requests' statuses are %v, want %v (%s)", statuses, want, w.Body)
	}
	var uploads []int64 // the sizes of KWRITE's successful uploads' answers, newest first
	for _, r := range list.Requests {
		if r.Function == "uploadfile" && r.KeyID == "KWRITE" && r.Status == http.StatusCreated {
			uploads = append(uploads, r.Bytes)
		}
	}
	if len(uploads) != 3 || uploads[2] != firstBytes { // w.txt, ius.txt, w.txt again
		t.Errorf("successful uploads recorded with sizes %v, want 3, the first %d bytes: %s", uploads, firstBytes, w.Body)
	}
}

// The handler records its responses with the recorder httpx.Middleware
// already wraps every request in, rather than stacking a second one.
func TestRecorder_One(t *testing.T) {
	rec := &httpx.Recorder{ResponseWriter: httptest.NewRecorder()}
	if got := recorder(rec); got != rec {
		t.Errorf("recorder wrapped the middleware's recorder again")
	}
	plain := httptest.NewRecorder()
	if got := recorder(plain); got == nil || got.ResponseWriter != plain {
		t.Errorf("recorder(%T) = %v", plain, got)
	}
}
