package swift

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/fakes"
	"github.com/cairnhq/cairn/schema"
)

// env is a Swift handler over fakes: two accounts and their keys, tokens
// already issued, containers of each kind and a few objects.
type env struct {
	st   *fakeState
	core *fakeCore
	reqs *fakes.Requests
	h    *Handler
}

// The tokens of the fixture's keys.
const (
	tkServer = "tk-server" // the server's admin key
	tkAdmin  = "tk-admin"  // acct-a's admin key
	tkRead   = "tk-read"   // acct-a, read on photos
	tkWrite  = "tk-write"  // acct-a, write on photos
	tkNone   = "tk-none"   // acct-a, no grants
	tkOther  = "tk-other"  // acct-b's admin key
	tkACL    = "tk-acl"    // acct-b, named by acct-a/shared's write ACL
	tkGone   = "tk-gone"   // acct-a, revoked
)

var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	st := newFakeState(base)
	core := &fakeCore{st: st, now: base.Add(time.Hour), tokens: map[string]string{
		tkServer: "ADMINID", tkAdmin: "KADMIN", tkRead: "KREAD", tkWrite: "KWRITE", tkNone: "KNONE",
		tkOther: "KOTHER", tkACL: "KACL", tkGone: "KGONE",
	}}
	key := func(id, account string, admin bool, access map[string]string) schema.Key {
		return schema.Key{ID: id, Account: account, Admin: admin, Access: access, Lookup: events.LookupHash("secret-" + id)}
	}
	for _, k := range []schema.Key{
		key("KADMIN", "acct-a", true, nil),
		key("KREAD", "acct-a", false, map[string]string{"photos": schema.AccessRead}),
		key("KWRITE", "acct-a", false, map[string]string{"photos": schema.AccessWrite}),
		key("KNONE", "acct-a", false, nil),
		key("KOTHER", "acct-b", true, nil),
		key("KACL", "acct-b", false, nil),
		key("KGONE", "acct-a", true, nil),
	} {
		k.Revoked = k.ID == "KGONE"
		st.PutKey(k)
	}
	for _, a := range []string{"acct-a", "acct-b"} {
		st.PutAccount(schema.Account{ID: a, Created: base})
	}
	svc := func(id, account, typ string, read, write []string) {
		st.PutService(schema.Service{ID: id, Account: account, Type: typ, Created: base,
			Settings: schema.ServiceSettings{ReadACL: read, WriteACL: write}})
	}
	svc("photos", "acct-a", schema.ServiceStorage, nil, nil)
	svc("private", "acct-a", schema.ServiceStorage, nil, nil)
	svc("edge", "acct-a", schema.ServiceCache, nil, nil)
	svc("shared", "acct-a", schema.ServiceStorage, nil, []string{"acct-b:KACL"})
	svc("public", "acct-b", schema.ServiceStorage, []string{schema.ACLPublicRead}, nil)
	svc("listed", "acct-b", schema.ServiceStorage, []string{schema.ACLPublicRead, schema.ACLListings}, nil)
	svc("theirs", "acct-b", schema.ServiceStorage, nil, nil)
	st.put("photos", "cat", "meow")
	st.put("private", "x", "secret")
	st.put("public", "p", "pub")
	st.put("listed", "l", "lst")
	st.put("theirs", "t", "t")
	reqs := &fakes.Requests{}
	h := New(Deps{Core: core, State: st, Auth: access.New(st, "ADMINID", "secret-ADMINID"), Requests: reqs})
	return &env{st: st, core: core, reqs: reqs, h: h}
}

// do serves one request: token "" sends none; hdr are more headers.
func (e *env) do(method, target, token string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if token != "" {
		r.Header.Set("X-Auth-Token", token)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// wantError checks a Swift error answer: the status and the short HTML
// body carrying msg (empty for HEAD).
func wantError(t *testing.T, what string, w *httptest.ResponseRecorder, status int, msg string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: status %d, want %d (body %q)", what, w.Code, status, w.Body)
	}
	if msg != "" && !strings.Contains(w.Body.String(), "<p>"+msg+"</p>") {
		t.Fatalf("%s: body %q, want the message %q", what, w.Body, msg)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func msgOf(err error) string { return err.(*Error).Message }

func TestHandler_Routing(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path  string
		token bool
		want  bool
	}{
		{"/v1/acct-a", false, true},
		{"/v1/acct-a/photos/a/b", false, true},
		{"/info", false, true},
		{"/auth/v1.0", false, true},
		{"/v2.0/tokens", false, true},
		{"/v3/auth/tokens", false, true},
		{"/photos/cat", false, false},
		{"/photos/cat", true, true},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.token {
			r.Header.Set("X-Storage-Token", tkRead)
		}
		if got := e.h.Handles(r); got != tc.want {
			t.Errorf("Handles(%s, token %v) = %v, want %v", tc.path, tc.token, got, tc.want)
		}
	}

	w := e.do(http.MethodGet, "/info", "", nil, "")
	var doc map[string]map[string]any
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &doc) != nil || doc["swift"]["max_file_size"] != float64(1<<20) {
		t.Fatalf("GET /info: %d %q", w.Code, w.Body)
	}
	if tx := w.Header().Get("X-Trans-Id"); !strings.HasPrefix(tx, "tx") {
		t.Errorf("GET /info: X-Trans-Id %q", tx)
	}
	if tu := doc["tempurl"]; tu == nil || len(tu["methods"].([]any)) != 5 { // temp URLs are served (tempurl.go): say so
		t.Errorf("GET /info: tempurl %v, want its methods", tu)
	}
	w = e.do(http.MethodPost, "/info", "", nil, "")
	wantError(t, "POST /info", w, http.StatusMethodNotAllowed, msgOf(errMethod))
	if w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /info: Allow %q", w.Header().Get("Allow"))
	}
	wantError(t, "a path outside /v1", e.do(http.MethodGet, "/photos/cat", tkRead, nil, ""), http.StatusNotFound, msgOf(errNotFound))
	wantError(t, "an invalid account", e.do(http.MethodGet, "/v1/bad!acct/photos", tkAdmin, nil, ""), http.StatusNotFound, msgOf(errNotFound))
	w = e.do("PATCH", "/v1/acct-a/photos/cat", tkAdmin, nil, "")
	wantError(t, "PATCH an object", w, http.StatusMethodNotAllowed, msgOf(errMethod))
	if !strings.Contains(w.Header().Get("Allow"), "COPY") {
		t.Errorf("PATCH an object: Allow %q", w.Header().Get("Allow"))
	}
	// account, container and object paths reach their operations
	if w := e.do(http.MethodHead, "/v1/acct-a", tkAdmin, nil, ""); w.Code != http.StatusNoContent || w.Header().Get("X-Account-Container-Count") != "4" {
		t.Errorf("HEAD account: %d, %s containers", w.Code, w.Header().Get("X-Account-Container-Count"))
	}
	if w := e.do(http.MethodHead, "/v1/acct-a/photos", tkAdmin, nil, ""); w.Code != http.StatusNoContent || w.Header().Get("X-Container-Object-Count") == "" {
		t.Errorf("HEAD container: %d %v", w.Code, w.Header())
	}
	if w := e.do(http.MethodGet, "/v1/acct-a/photos/cat", tkAdmin, nil, ""); w.Code != http.StatusOK || w.Body.String() != "meow" {
		t.Errorf("GET object: %d %q", w.Code, w.Body)
	}
}

func TestHandler_Authentication(t *testing.T) {
	e := newEnv(t)
	unauthorized := msgOf(errUnauthorized)
	for name, token := range map[string]string{"unknown token": "tk-nope", "revoked key": tkGone} {
		w := e.do(http.MethodGet, "/v1/acct-a/photos/cat", token, nil, "")
		wantError(t, name, w, http.StatusUnauthorized, unauthorized)
		if strings.Contains(strings.ToLower(w.Body.String()), "token") || strings.Contains(w.Body.String(), "revoked") {
			t.Errorf("%s: the body says what was wrong: %q", name, w.Body)
		}
	}
	login := func(user, key string) *httptest.ResponseRecorder {
		return e.do(http.MethodGet, "/auth/v1.0", "", map[string]string{"X-Auth-User": user, "X-Auth-Key": key}, "")
	}
	wantError(t, "auth v1, wrong key", login("KREAD", "secret-KWRITE"), http.StatusUnauthorized, unauthorized)
	wantError(t, "auth v1, another account", login("acct-b:KREAD", "secret-KREAD"), http.StatusUnauthorized, unauthorized)
	wantError(t, "auth v1, revoked", login("KGONE", "secret-KGONE"), http.StatusUnauthorized, unauthorized)
	w := login("acct-a:KREAD", "secret-KREAD")
	token := w.Header().Get("X-Auth-Token")
	if w.Code != http.StatusNoContent || token == "" || w.Header().Get("X-Storage-Url") != "http://example.com/v1/acct-a" {
		t.Fatalf("auth v1: %d %v", w.Code, w.Header())
	}
	if w := e.do(http.MethodGet, "/v1/acct-a/photos/cat", token, nil, ""); w.Code != http.StatusOK || w.Body.String() != "meow" {
		t.Fatalf("GET with the issued token: %d %q", w.Code, w.Body)
	}
	if w := e.do(http.MethodGet, "/v1/acct-a/private/x", token, nil, ""); w.Code != http.StatusForbidden {
		t.Fatalf("the issued token carries its key's rights only: GET private: %d", w.Code)
	}
}

// TestHandler_Access is the access table as Swift answers it: the status
// and the wire message of every kind of refusal, and that no refused
// request reaches the core.
func TestHandler_Access(t *testing.T) {
	var (
		notFound     = msgOf(errNotFound)
		forbidden    = msgOf(errForbidden)
		unauthorized = msgOf(errUnauthorized)
		method       = msgOf(errMethod)
		get, put     = http.MethodGet, http.MethodPut
		post, del    = http.MethodPost, http.MethodDelete
	)
	cases := []struct {
		name         string
		method, path string
		token        string
		status       int
		msg          string // the error's wire message
	}{
		{"read grant reads", get, "/v1/acct-a/photos/cat", tkRead, 200, ""},
		{"write grant reads", get, "/v1/acct-a/photos/cat", tkWrite, 200, ""},
		{"no grant: refused", get, "/v1/acct-a/photos/cat", tkNone, 403, forbidden},
		{"no grant: a missing container is not found to a key of the account", get, "/v1/acct-a/nope/x", tkNone, 404, notFound},
		{"another account's container is not in this account", get, "/v1/acct-a/theirs/t", tkAdmin, 404, notFound},
		{"another account's container is not in its key's own account either", get, "/v1/acct-b/photos/cat", tkOther, 404, notFound},
		{"outsider: an existing container is refused", get, "/v1/acct-a/photos/cat", tkOther, 403, forbidden},
		{"outsider: a missing container is refused the same", get, "/v1/acct-a/nope/x", tkOther, 403, forbidden},
		{"anonymous: an existing private container", get, "/v1/acct-a/photos/cat", "", 401, unauthorized},
		{"anonymous: a missing container", get, "/v1/acct-a/nope/x", "", 401, unauthorized},
		{"read grant cannot write: Swift's plain 403", put, "/v1/acct-a/photos/new", tkRead, 403, forbidden},
		{"read grant cannot delete", del, "/v1/acct-a/photos/cat", tkRead, 403, forbidden},
		{"read grant cannot change metadata", post, "/v1/acct-a/photos/cat", tkRead, 403, forbidden},
		{"anonymous reads a public container", get, "/v1/acct-b/public/p", "", 200, ""},
		{"anonymous cannot list without .rlistings", get, "/v1/acct-b/public", "", 401, unauthorized},
		{"anonymous lists with .rlistings", get, "/v1/acct-b/listed", "", 200, ""},
		{"anonymous never writes a public container", put, "/v1/acct-b/listed/x", "", 401, unauthorized},
		{"another account's key reads a public container", get, "/v1/acct-b/public/p", tkAdmin, 200, ""},
		{"another account's key cannot list without .rlistings", get, "/v1/acct-b/public", tkAdmin, 403, forbidden},
		{"a cache service is not a container", get, "/v1/acct-a/edge/x", tkAdmin, 405, method},
		{"an anonymous request learns nothing of a cache service", get, "/v1/acct-a/edge", "", 401, unauthorized},
		{"write ACL shares writes across accounts", put, "/v1/acct-a/shared/w", tkACL, 201, ""},
		{"write ACL does not share administration", post, "/v1/acct-a/shared", tkACL, 403, forbidden},
		{"ACL key learns nothing of other containers", get, "/v1/acct-a/nope/x", tkACL, 403, forbidden},
		{"server key reads any account's", get, "/v1/acct-b/theirs/t", tkServer, 200, ""},
		{"server key learns a container is missing", get, "/v1/acct-b/nope/x", tkServer, 404, notFound},
		{"write grant cannot administer its container", post, "/v1/acct-a/photos", tkWrite, 403, forbidden},
		{"write grant cannot delete its container", del, "/v1/acct-a/photos", tkWrite, 403, forbidden},
		{"account admin administers", post, "/v1/acct-a/photos", tkAdmin, 204, ""},
		{"account: another account's key", get, "/v1/acct-a", tkOther, 403, forbidden},
		{"account: anonymous", get, "/v1/acct-a", "", 401, unauthorized},
		{"account: metadata needs its admin", post, "/v1/acct-a", tkRead, 403, forbidden},
		{"account: containers are made by its admin", put, "/v1/acct-a/newc", tkWrite, 403, forbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(tc.method, tc.path, tc.token, nil, "body")
			if tc.msg == "" {
				if w.Code != tc.status {
					t.Fatalf("%s %s: %d, want %d (%q)", tc.method, tc.path, w.Code, tc.status, w.Body)
				}
				return
			}
			wantError(t, tc.method+" "+tc.path, w, tc.status, tc.msg)
			if writes := e.core.writes(); len(writes) > 0 {
				t.Fatalf("a refused request reached the core: %v", writes)
			}
		})
	}
}

// The account listing shows the containers of the URL's account that the
// key may read, and never another account's.
func TestHandler_AccountListing(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		token, account string
		want           string // "" = 204
	}{
		{tkAdmin, "acct-a", "photos\nprivate\nshared\n"},
		{tkRead, "acct-a", "photos\n"},
		{tkNone, "acct-a", ""},
		{tkOther, "acct-b", "listed\npublic\ntheirs\n"},
		{tkServer, "acct-b", "listed\npublic\ntheirs\n"},
	} {
		w := e.do(http.MethodGet, "/v1/"+tc.account, tc.token, nil, "")
		status := http.StatusOK
		if tc.want == "" {
			status = http.StatusNoContent
		}
		if w.Code != status || w.Body.String() != tc.want {
			t.Errorf("GET /v1/%s with %s: %d %q, want %d %q", tc.account, tc.token, w.Code, w.Body, status, tc.want)
		}
	}
}

// TestHandler_Versions: a read serves the live version, or the one of the
// X-Cairn-Asof moment; a deleted or expired object is a 404.
func TestHandler_Versions(t *testing.T) {
	e := newEnv(t)
	one := e.st.put("photos", "doc", "one")
	e.st.put("photos", "doc", "two")
	here := e.st.put("photos", "gone", "here")
	marker := e.st.remove("photos", "gone")
	expired := e.st.put("photos", "old", "stale")
	expired.DeleteAt = e.core.now.Add(-time.Minute).Unix()
	sync := func(n uint64) map[string]string {
		return map[string]string{AsOfHeader: "sync:" + strconv.FormatUint(n, 10)}
	}
	notFound := msgOf(errNotFound)
	for _, tc := range []struct {
		name   string
		method string
		target string
		hdr    map[string]string
		status int
		body   string
	}{
		{"live: the newest", http.MethodGet, "/v1/acct-a/photos/doc", nil, 200, "two"},
		{"as of a moment", http.MethodGet, "/v1/acct-a/photos/doc", sync(one.SyncID), 200, "one"},
		{"as of a moment, by query", http.MethodGet, "/v1/acct-a/photos/doc?asof=sync:" + strconv.FormatUint(one.SyncID, 10), nil, 200, "one"},
		{"as of before it existed", http.MethodGet, "/v1/acct-a/photos/doc", sync(one.SyncID - 1), 404, ""},
		{"as of the beginning", http.MethodGet, "/v1/acct-a/photos/doc", sync(0), 404, ""},
		{"live: a delete marker", http.MethodGet, "/v1/acct-a/photos/gone", nil, 404, ""},
		{"live: a delete marker, HEAD", http.MethodHead, "/v1/acct-a/photos/gone", nil, 404, ""},
		{"as of before the delete", http.MethodGet, "/v1/acct-a/photos/gone", sync(here.SyncID), 200, "here"},
		{"as of the delete", http.MethodGet, "/v1/acct-a/photos/gone", sync(marker.SyncID), 404, ""},
		{"live: expired", http.MethodGet, "/v1/acct-a/photos/old", nil, 404, ""},
		{"as of before it expired: gone to a reader", http.MethodGet, "/v1/acct-a/photos/old", sync(expired.SyncID), 404, ""},
		{"a bad moment", http.MethodGet, "/v1/acct-a/photos/doc", map[string]string{AsOfHeader: "yesterday"}, 400, ""},
	} {
		w := e.do(tc.method, tc.target, tkRead, tc.hdr, "")
		if w.Code != tc.status || (tc.status == 200 && w.Body.String() != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
		if tc.status == 404 && tc.method == http.MethodGet && !strings.Contains(w.Body.String(), notFound) {
			t.Errorf("%s: body %q, want Swift's 404", tc.name, w.Body)
		}
		if tc.method == http.MethodHead && w.Body.Len() != 0 {
			t.Errorf("%s: a HEAD answer has a body %q", tc.name, w.Body)
		}
	}
	// the container's administrators still read it as of a moment it was live
	if w := e.do(http.MethodGet, "/v1/acct-a/photos/old", tkAdmin, sync(expired.SyncID), ""); w.Code != 200 || w.Body.String() != "stale" {
		t.Errorf("as of before it expired, to the account's admin: %d %q", w.Code, w.Body)
	}
	// a container listing as of a moment
	w := e.do(http.MethodGet, "/v1/acct-a/photos", tkRead, sync(here.SyncID), "")
	if w.Code != http.StatusOK || w.Body.String() != "cat\ndoc\ngone\n" {
		t.Errorf("listing as of sync:%d: %d %q", here.SyncID, w.Code, w.Body)
	}
	w = e.do(http.MethodGet, "/v1/acct-a/photos", tkRead, nil, "")
	if w.Code != http.StatusOK || w.Body.String() != "cat\ndoc\n" {
		t.Errorf("live listing: %d %q", w.Code, w.Body)
	}
	// metadata changes only what is live
	wantError(t, "POST a deleted object", e.do(http.MethodPost, "/v1/acct-a/photos/gone", tkWrite, nil, ""), http.StatusNotFound, notFound)
}

// TestHandler_Conditionals: GET and HEAD evaluate If-Match (strong),
// If-None-Match (weak), If-Modified-Since and If-Unmodified-Since as RFC
// 9110 orders them.
func TestHandler_Conditionals(t *testing.T) {
	e := newEnv(t)
	v := e.st.put("photos", "c", "conditional")
	etag, mod := `"`+v.ETag+`"`, v.Time
	date := func(d time.Duration) string { return mod.Add(d).UTC().Format(http.TimeFormat) }
	const ok, notModified, failed = http.StatusOK, http.StatusNotModified, http.StatusPreconditionFailed
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"none", nil, ok},
		{"If-None-Match matches", map[string]string{"If-None-Match": etag}, notModified},
		{"If-None-Match matches weakly", map[string]string{"If-None-Match": "W/" + etag}, notModified},
		{"If-None-Match in a list", map[string]string{"If-None-Match": `"x", ` + etag}, notModified},
		{"If-None-Match *", map[string]string{"If-None-Match": "*"}, notModified},
		{"If-None-Match differs", map[string]string{"If-None-Match": `"x"`}, ok},
		{"If-Match matches", map[string]string{"If-Match": etag}, ok},
		{"If-Match unquoted", map[string]string{"If-Match": v.ETag}, ok},
		{"If-Match differs", map[string]string{"If-Match": `"x"`}, failed},
		{"If-Match weak never matches", map[string]string{"If-Match": "W/" + etag}, failed},
		{"If-Modified-Since now", map[string]string{"If-Modified-Since": date(0)}, notModified},
		{"If-Modified-Since before", map[string]string{"If-Modified-Since": date(-time.Second)}, ok},
		{"If-Unmodified-Since before", map[string]string{"If-Unmodified-Since": date(-time.Second)}, failed},
		{"If-Unmodified-Since now", map[string]string{"If-Unmodified-Since": date(0)}, ok},
		{"If-Unmodified-Since not a date", map[string]string{"If-Unmodified-Since": "soon"}, ok},
		{"If-Match wins over If-Unmodified-Since", map[string]string{"If-Match": etag, "If-Unmodified-Since": date(-time.Second)}, ok},
		{"If-None-Match wins over If-Modified-Since", map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": date(0)}, ok},
		{"If-Match fails before If-None-Match", map[string]string{"If-Match": `"x"`, "If-None-Match": etag}, failed},
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			w := e.do(method, "/v1/acct-a/photos/c", tkRead, tc.hdr, "")
			if w.Code != tc.want {
				t.Errorf("%s %s: %d, want %d", method, tc.name, w.Code, tc.want)
				continue
			}
			switch {
			case tc.want == failed && method == http.MethodGet:
				wantError(t, method+" "+tc.name, w, failed, "A precondition for this request was not met.")
			case tc.want == notModified && (w.Body.Len() != 0 || w.Header().Get("Etag") != v.ETag):
				t.Errorf("%s %s: 304 with body %q and Etag %q", method, tc.name, w.Body, w.Header().Get("Etag"))
			case tc.want == ok && method == http.MethodGet && w.Body.String() != "conditional":
				t.Errorf("%s %s: body %q", method, tc.name, w.Body)
			}
		}
	}
	// a missing object is a 404 whatever the conditions
	w := e.do(http.MethodGet, "/v1/acct-a/photos/none", tkRead, map[string]string{"If-None-Match": "*"}, "")
	wantError(t, "conditional GET of a missing object", w, http.StatusNotFound, msgOf(errNotFound))
}

func TestHandler_ObjectWrites(t *testing.T) {
	e := newEnv(t)
	w := e.do(http.MethodPut, "/v1/acct-a/photos/new", tkWrite, map[string]string{"Content-Type": "text/x-new"}, "hello")
	if w.Code != http.StatusCreated || w.Header().Get("Etag") != md5hex("hello") {
		t.Fatalf("PUT: %d %v", w.Code, w.Header())
	}
	if w := e.do(http.MethodGet, "/v1/acct-a/photos/new", tkRead, nil, ""); w.Code != http.StatusOK || w.Body.String() != "hello" ||
		w.Header().Get("Content-Type") != "text/x-new" {
		t.Fatalf("GET after PUT: %d %q %v", w.Code, w.Body, w.Header())
	}
	// a body that does not match its Etag is not stored
	w = e.do(http.MethodPut, "/v1/acct-a/photos/new", tkWrite, map[string]string{"Etag": md5hex("other")}, "changed")
	wantError(t, "PUT with a wrong Etag", w, http.StatusUnprocessableEntity, "Etag of the body does not match the Etag header")
	if v, _ := e.st.Object(t.Context(), "photos", "new"); v == nil || string(v.Blob.Inline) != "hello" {
		t.Fatalf("after a refused PUT: %+v", v)
	}
	// If-None-Match: * creates only
	wantError(t, "PUT If-None-Match: * over an object", e.do(http.MethodPut, "/v1/acct-a/photos/new", tkWrite,
		map[string]string{"If-None-Match": "*"}, "again"), http.StatusPreconditionFailed, "")
	if w := e.do(http.MethodPut, "/v1/acct-a/photos/fresh", tkWrite, map[string]string{"If-None-Match": "*"}, "x"); w.Code != http.StatusCreated {
		t.Fatalf("PUT If-None-Match: * of a new name: %d", w.Code)
	}
	wantError(t, "PUT If-None-Match with a tag", e.do(http.MethodPut, "/v1/acct-a/photos/new", tkWrite,
		map[string]string{"If-None-Match": `"abc"`}, "x"), http.StatusBadRequest, "If-None-Match only supports *")
	// metadata
	if w := e.do(http.MethodPost, "/v1/acct-a/photos/new", tkWrite, map[string]string{"X-Object-Meta-Color": "blue"}, ""); w.Code != http.StatusAccepted {
		t.Fatalf("POST metadata: %d", w.Code)
	}
	if w := e.do(http.MethodHead, "/v1/acct-a/photos/new", tkRead, nil, ""); w.Header().Get("X-Object-Meta-Color") != "blue" ||
		w.Header().Get("Content-Type") != "text/x-new" {
		t.Fatalf("HEAD after POST: %v", w.Header())
	}
	// server-side copy
	w = e.do("COPY", "/v1/acct-a/photos/new", tkWrite, map[string]string{"Destination": "photos/copy"}, "")
	if w.Code != http.StatusCreated || w.Header().Get("X-Copied-From") != "photos/new" {
		t.Fatalf("COPY: %d %v", w.Code, w.Header())
	}
	if w := e.do(http.MethodGet, "/v1/acct-a/photos/copy", tkRead, nil, ""); w.Body.String() != "hello" || w.Header().Get("X-Object-Meta-Color") != "blue" {
		t.Fatalf("GET the copy: %q %v", w.Body, w.Header())
	}
	// a copy's source is read with the reader's rights
	wantError(t, "COPY from a container the key may not read", e.do(http.MethodPut, "/v1/acct-a/photos/stolen", tkWrite,
		map[string]string{"X-Copy-From": "private/x"}, ""), http.StatusForbidden, msgOf(errForbidden))
	// delete
	if w := e.do(http.MethodDelete, "/v1/acct-a/photos/new", tkWrite, nil, ""); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", w.Code)
	}
	wantError(t, "GET after DELETE", e.do(http.MethodGet, "/v1/acct-a/photos/new", tkRead, nil, ""), http.StatusNotFound, "")
	wantError(t, "DELETE again", e.do(http.MethodDelete, "/v1/acct-a/photos/new", tkWrite, nil, ""), http.StatusNotFound, "")
	want := []string{"PutObject photos/new", "PutObject photos/new", "PutObject photos/new", "PutObject photos/fresh",
		"UpdateMeta photos/new", "CopyObject photos/copy", "DeleteObject photos/new", "DeleteObject photos/new"}
	if got := e.core.writes(); !slices.Equal(got, want) {
		t.Errorf("writes asked of the core:\n got %q\nwant %q", got, want)
	}
}

func TestHandler_ContainerWrites(t *testing.T) {
	e := newEnv(t)
	if w := e.do(http.MethodPut, "/v1/acct-a/newc", tkAdmin, map[string]string{"X-Container-Read": ".r:*"}, ""); w.Code != http.StatusCreated {
		t.Fatalf("PUT a container: %d %q", w.Code, w.Body)
	}
	if svc, _ := e.st.Service(t.Context(), "newc"); svc == nil || svc.Account != "acct-a" || !svc.PublicRead() {
		t.Fatalf("the new container: %+v", svc)
	}
	if w := e.do(http.MethodPut, "/v1/acct-a/newc", tkAdmin, nil, ""); w.Code != http.StatusAccepted {
		t.Fatalf("PUT it again: %d", w.Code)
	}
	// a name another account holds is this account's own container
	if w := e.do(http.MethodPut, "/v1/acct-a/theirs", tkAdmin, nil, ""); w.Code != http.StatusCreated {
		t.Fatalf("PUT a name another account holds: %d %q, want 201", w.Code, w.Body)
	}
	mine, err := e.st.ServiceByName(t.Context(), "acct-a", "theirs")
	if err != nil || mine.ID != "acct-a/theirs" {
		t.Fatalf("acct-a's container theirs: %+v, %v; want id acct-a/theirs", mine, err)
	}
	if other, err := e.st.Service(t.Context(), "theirs"); err != nil || other.Account == "acct-a" {
		t.Fatalf("the other account's theirs: %+v, %v", other, err)
	}
	wantError(t, "PUT over a cache service", e.do(http.MethodPut, "/v1/acct-a/edge", tkAdmin, nil, ""),
		http.StatusMethodNotAllowed, msgOf(errMethod))
	// versioned writes are not built: asking for them is refused, never
	// silently ignored, and changes nothing
	for _, h := range []string{"X-Versions-Location", "X-History-Location"} {
		for m, target := range map[string]string{http.MethodPut: "/v1/acct-a/vers", http.MethodPost: "/v1/acct-a/photos"} {
			w := e.do(m, target, tkAdmin, map[string]string{h: "archive"}, "")
			if w.Code != http.StatusNotImplemented {
				t.Errorf("%s %s with %s: %d %q, want 501", m, target, h, w.Code, w.Body)
			}
		}
	}
	if _, err := e.st.ServiceByName(t.Context(), "acct-a", "vers"); err == nil {
		t.Error("a refused container PUT with X-Versions-Location made the container")
	}
	// ACLs show to the container's administrators only
	if w := e.do(http.MethodHead, "/v1/acct-a/shared", tkAdmin, nil, ""); w.Header().Get("X-Container-Write") != "acct-b:KACL" {
		t.Errorf("HEAD by the account admin: X-Container-Write %q", w.Header().Get("X-Container-Write"))
	}
	e.st.put("shared", "s", "s")
	if w := e.do(http.MethodHead, "/v1/acct-a/shared", tkACL, nil, ""); w.Code != http.StatusNoContent || w.Header().Get("X-Container-Write") != "" {
		t.Errorf("HEAD by a key the ACL names: %d, X-Container-Write %q", w.Code, w.Header().Get("X-Container-Write"))
	}
	wantError(t, "DELETE a container with objects", e.do(http.MethodDelete, "/v1/acct-a/photos", tkAdmin, nil, ""),
		http.StatusConflict, "")
	if w := e.do(http.MethodDelete, "/v1/acct-a/newc", tkAdmin, nil, ""); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE an empty container: %d", w.Code)
	}
}

// TestHandler_BulkDelete: each path is found as a single delete finds it;
// a cache service is not a container to delete. Before access.Lookup the
// bulk delete did not check the service type, and deleted a cache service
// of the account named in its body (a DELETE of the same name was a 405).
func TestHandler_BulkDelete(t *testing.T) {
	e := newEnv(t)
	body := "photos/cat\nnope/x\ntheirs/t\nedge\nprivate\nphotos/missing\n"
	w := e.do(http.MethodPost, "/v1/acct-a?bulk-delete", tkAdmin, map[string]string{"Accept": "application/json"}, body)
	var res struct {
		Deleted  int         `json:"Number Deleted"`
		NotFound int         `json:"Number Not Found"`
		Status   string      `json:"Response Status"`
		Errors   [][2]string `json:"Errors"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &res) != nil {
		t.Fatalf("bulk delete: %d %q", w.Code, w.Body)
	}
	// private holds an object: a conflict
	wantErrs := [][2]string{{"edge", "405 Method Not Allowed"}, {"private", "409 Conflict"}}
	if res.Deleted != 1 || res.NotFound != 3 || res.Status != "400 Bad Request" || !slices.Equal(res.Errors, wantErrs) {
		t.Fatalf("bulk delete: %+v", res)
	}
	if svc, err := e.st.Service(t.Context(), "edge"); err != nil || svc.Type != schema.ServiceCache {
		t.Fatalf("the cache service after a bulk delete: %v, %v", svc, err)
	}
	if slices.Contains(e.core.writes(), "DeleteService edge") {
		t.Fatalf("the bulk delete asked the core to delete a cache service: %v", e.core.writes())
	}
	wantError(t, "bulk delete by a key that does not own the account", e.do(http.MethodPost, "/v1/acct-a?bulk-delete", tkWrite, nil, body),
		http.StatusForbidden, msgOf(errForbidden))
}

// TestHandler_LargeSegmentsHidden: an SLO's segments are read with the
// writer's rights, and a key from another account (here one the write
// ACL names) learns nothing of the account's container names: a missing
// container is refused exactly as one it may not read. Before
// access.Lookup the missing one was passed to the core and reported as
// "404 Not Found", so such a key could probe container names.
func TestHandler_LargeSegmentsHidden(t *testing.T) {
	e := newEnv(t)
	manifest := `[{"path": "/nope/x"}, {"path": "/private/x"}, {"path": "/shared/seg"}]`
	e.st.put("shared", "seg", "segment")
	w := e.do(http.MethodPut, "/v1/acct-a/shared/slo?multipart-manifest=put", tkACL, nil, manifest)
	wantError(t, "an SLO by an ACL key", w, http.StatusBadRequest, "/nope/x, 403 Forbidden\n/private/x, 403 Forbidden")
	if writes := e.core.writes(); len(writes) != 0 {
		t.Fatalf("a refused manifest reached the core: %v", writes)
	}
	// a key of the account learns a container is missing: the core
	// reports it with every other bad segment
	w = e.do(http.MethodPut, "/v1/acct-a/photos/slo?multipart-manifest=put", tkAdmin, nil,
		`[{"path": "/nope/x"}, {"path": "/photos/gone"}, {"path": "/photos/cat"}]`)
	wantError(t, "an SLO by the account's admin", w, http.StatusBadRequest, "/nope/x, 404 Not Found\n/photos/gone, 404 Not Found")
	w = e.do(http.MethodPut, "/v1/acct-a/photos/slo?multipart-manifest=put", tkWrite, nil, `[{"path": "/private/x"}]`)
	wantError(t, "an SLO over a container the key may not read", w, http.StatusBadRequest, "/private/x, 403 Forbidden")
	w = e.do(http.MethodPut, "/v1/acct-a/photos/slo?multipart-manifest=put", tkWrite, nil, `[{"path": "/photos/cat"}]`)
	if w.Code != http.StatusCreated || w.Header().Get("Etag") != `"`+md5hex(md5hex("meow"))+`"` {
		t.Fatalf("a good SLO: %d %v %q", w.Code, w.Header(), w.Body)
	}
}

// The request log keeps a container's requests, refused ones included,
// and none for a container that is not the URL account's.
func TestHandler_RequestLog(t *testing.T) {
	e := newEnv(t)
	e.do(http.MethodGet, "/v1/acct-a/photos/cat", tkRead, nil, "")
	e.do(http.MethodGet, "/v1/acct-a/photos/cat", tkNone, nil, "")
	e.do(http.MethodGet, "/v1/acct-a/photos/cat", "", nil, "")
	e.do(http.MethodGet, "/v1/acct-a/theirs/t", tkAdmin, nil, "")
	e.do(http.MethodGet, "/v1/acct-a/nope/x", tkAdmin, nil, "")
	e.do(http.MethodGet, "/v1/acct-a/edge/x", tkAdmin, nil, "")
	want := []string{"photos 200", "photos 403", "photos 401"}
	if got := statuses(e.reqs); !slices.Equal(got, want) {
		t.Errorf("request log: %q, want %q", got, want)
	}
}
