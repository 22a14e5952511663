package e2e

// Error statuses, access rules and the admin functions of the native API
// (schema/native.openapi.json).

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNative_Errors checks every documented error status and the error
// body shape.
func TestNative_Errors(t *testing.T) {
	t.Parallel()
	e := Start(t)
	sid := e.WithService(t)
	other := e.WithService(t)
	full := e.WithService(t) // holds a file, so servicedelete refuses
	e.Upload(t, e.AdminKey, sid, "f", []byte("file"), nil)
	e.Upload(t, e.AdminKey, full, "f", []byte("file"), nil)
	read := e.NewKey(t, map[string]string{sid: "read"})
	write := e.NewKey(t, map[string]string{sid: "write"})
	otherKey := e.NewKey(t, map[string]string{other: "write"})
	revoked := e.NewKey(t, map[string]string{sid: "write"})
	e.Admin(t, "keyrevoke", map[string]any{"id": revoked.ID}, http.StatusOK)
	var acctAdmin Key // an account admin key is not the server admin key
	e.Admin(t, "keycreate", map[string]any{"name": "acct-admin", "admin": true}, http.StatusCreated).JSON(t, &acctAdmin)

	long := strings.Repeat("x", 1025)
	longUTF8 := strings.Repeat("x", 1023) + "é" // 1025 bytes, 1024 characters
	adm := e.AdminKey
	post, get, put, del := http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete
	type tc struct {
		name   string
		req    Req
		status int
		code   string
	}
	cases := []tc{
		// 400
		{"missing sid", Req{Fn: "getfile", Key: adm, Query: Q("path", "f")}, 400, "invalid_argument"},
		{"missing sid filelist", Req{Fn: "filelist", Key: adm}, 400, "invalid_argument"},
		{"missing sid uploadfile", Req{Method: put, Fn: "uploadfile", Key: adm, Query: Q("path", "f")}, 400, "invalid_argument"},
		{"missing path getfile", Req{Fn: "getfile", Key: adm, Query: Q("sid", sid)}, 400, "invalid_argument"},
		{"missing path uploadfile", Req{Method: put, Fn: "uploadfile", Key: adm, Query: Q("sid", sid)}, 400, "invalid_argument"},
		{"missing path deletefile", Req{Method: del, Fn: "deletefile", Key: adm, Query: Q("sid", sid)}, 400, "invalid_argument"},
		{"bad limit", Req{Fn: "filelist", Key: adm, Query: Q("sid", sid, "limit", "lots")}, 400, "invalid_argument"},
		{"limit too big", Req{Fn: "filelist", Key: adm, Query: Q("sid", sid, "limit", "10001")}, 400, "invalid_argument"},
		{"bad asof", Req{Fn: "filelist", Key: adm, Query: Q("sid", sid, "asof", "last tuesday")}, 400, "invalid_argument"},
		{"path too long getfile", Req{Fn: "getfile", Key: adm, Query: Q("sid", sid, "path", long)}, 400, "invalid_argument"},
		{"path too long uploadfile", Req{Method: put, Fn: "uploadfile", Key: adm, Query: Q("sid", sid, "path", long)}, 400, "invalid_argument"},
		{"path too long in bytes", Req{Method: put, Fn: "uploadfile", Key: adm, Query: Q("sid", sid, "path", longUTF8)}, 400, "invalid_argument"},
		{"invalid UTF-8 getfile", Req{Fn: "getfile", Key: adm, Query: Q("sid", sid, "path", "bad\xff\xfe")}, 400, "invalid_argument"},
		{"invalid UTF-8 uploadfile", Req{Method: put, Fn: "uploadfile", Key: adm, Query: Q("sid", sid, "path", "bad\xc3")}, 400, "invalid_argument"},
		{"invalid UTF-8 deletefile", Req{Method: del, Fn: "deletefile", Key: adm, Query: Q("sid", sid, "path", "\xff")}, 400, "invalid_argument"},
		{"NUL in path", Req{Method: put, Fn: "uploadfile", Key: adm, Query: Q("sid", sid, "path", "a\x00b")}, 400, "invalid_argument"},
		{"bad admin body", Req{Method: post, Fn: "servicecreate", Key: adm, Body: strings.NewReader("{not json")}, 400, "invalid_argument"},
		{"unknown admin field", Req{Method: post, Fn: "servicecreate", Key: adm, Body: natJSON(map[string]any{"id": "zzz-x", "colour": "red"})}, 400, "invalid_argument"},
		{"bad service id", Req{Method: post, Fn: "servicecreate", Key: adm, Body: natJSON(map[string]any{"id": "Bad_ID"})}, 400, "invalid_argument"},
		// 401
		{"no key getfile", Req{Fn: "getfile", Query: Q("sid", sid, "path", "f")}, 401, "unauthorized"},
		{"no key servicelist", Req{Fn: "servicelist"}, 401, "unauthorized"},
		{"no key uploadfile", Req{Method: put, Fn: "uploadfile", Query: Q("sid", sid, "path", "g")}, 401, "unauthorized"},
		{"no key admin", Req{Method: post, Fn: "keylist", Body: natJSON(map[string]any{})}, 401, "unauthorized"},
		{"unknown key", Req{Fn: "getfile", Key: "not-a-key-at-all-0123456789", Query: Q("sid", sid, "path", "f")}, 401, "unauthorized"},
		{"unknown key servicelist", Req{Fn: "servicelist", Key: strings.Repeat("A", 40)}, 401, "unauthorized"},
		{"revoked key", Req{Fn: "getfile", Key: revoked.Value, Query: Q("sid", sid, "path", "f")}, 401, "unauthorized"},
		{"revoked key servicelist", Req{Fn: "servicelist", Key: revoked.Value}, 401, "unauthorized"},
		{"key id instead of value", Req{Fn: "getfile", Key: write.ID, Query: Q("sid", sid, "path", "f")}, 401, "unauthorized"},
		// 403
		{"read key uploading", Req{Method: put, Fn: "uploadfile", Key: read.Value, Query: Q("sid", sid, "path", "g")}, 403, "forbidden"},
		{"read key deleting", Req{Method: del, Fn: "deletefile", Key: read.Value, Query: Q("sid", sid, "path", "f")}, 403, "forbidden"},
		{"read key flush", Req{Method: post, Fn: "flush", Key: read.Value, Query: Q("sid", sid)}, 403, "forbidden"},
		{"key for another service getfile", Req{Fn: "getfile", Key: otherKey.Value, Query: Q("sid", sid, "path", "f")}, 403, "forbidden"},
		{"key for another service filelist", Req{Fn: "filelist", Key: otherKey.Value, Query: Q("sid", sid)}, 403, "forbidden"},
		{"key for another service uploadfile", Req{Method: put, Fn: "uploadfile", Key: otherKey.Value, Query: Q("sid", sid, "path", "g")}, 403, "forbidden"},
		{"key for another service syncnext", Req{Fn: "syncnext", Key: otherKey.Value, Query: Q("sid", sid)}, 403, "forbidden"},
		{"key for another service reqlist", Req{Fn: "reqlist", Key: otherKey.Value, Query: Q("sid", sid)}, 403, "forbidden"},
		{"non-admin servicecreate", Req{Method: post, Fn: "servicecreate", Key: write.Value, Body: natJSON(map[string]any{"id": "nope-svc"})}, 403, "forbidden"},
		{"non-admin servicedelete", Req{Method: post, Fn: "servicedelete", Key: write.Value, Body: natJSON(map[string]any{"id": sid})}, 403, "forbidden"},
		{"non-admin keycreate", Req{Method: post, Fn: "keycreate", Key: write.Value, Body: natJSON(map[string]any{"name": "x", "access": map[string]string{"*": "write"}})}, 403, "forbidden"},
		{"non-admin keylist", Req{Method: post, Fn: "keylist", Key: read.Value, Body: natJSON(map[string]any{})}, 403, "forbidden"},
		{"non-admin keyrevoke", Req{Method: post, Fn: "keyrevoke", Key: write.Value, Body: natJSON(map[string]any{"id": read.ID})}, 403, "forbidden"},
		{"non-admin accountlist", Req{Method: post, Fn: "accountlist", Key: write.Value, Body: natJSON(map[string]any{})}, 403, "forbidden"},
		{"account admin servicecreate", Req{Method: post, Fn: "servicecreate", Key: acctAdmin.Value, Body: natJSON(map[string]any{"id": "nope-svc"})}, 403, "forbidden"},
		{"account admin keycreate", Req{Method: post, Fn: "keycreate", Key: acctAdmin.Value, Body: natJSON(map[string]any{"name": "x", "admin": true})}, 403, "forbidden"},
		// 404
		{"unknown service admin key", Req{Fn: "filelist", Key: adm, Query: Q("sid", "no-such-service")}, 404, "not_found"},
		{"unknown service getfile", Req{Fn: "getfile", Key: adm, Query: Q("sid", "no-such-service", "path", "f")}, 404, "not_found"},
		{"unknown service uploadfile", Req{Method: put, Fn: "uploadfile", Key: adm, Query: Q("sid", "no-such-service", "path", "f")}, 404, "not_found"},
		{"unknown file", Req{Fn: "getfile", Key: read.Value, Query: Q("sid", sid, "path", "nope")}, 404, "not_found"},
		{"unknown file versionlist", Req{Fn: "versionlist", Key: read.Value, Query: Q("sid", sid, "path", "nope")}, 404, "not_found"},
		{"unknown file deletefile", Req{Method: del, Fn: "deletefile", Key: write.Value, Query: Q("sid", sid, "path", "nope")}, 404, "not_found"},
		{"unknown function", Req{Fn: "nosuchfunction", Key: read.Value, Query: Q("sid", sid)}, 404, "not_found"},
		{"unknown function admin key", Req{Method: post, Fn: "servicedrop", Key: adm}, 404, "not_found"},
		{"unknown function no key", Req{Fn: "nosuchfunction"}, 404, "not_found"},
		{"servicedelete unknown", Req{Method: post, Fn: "servicedelete", Key: adm, Body: natJSON(map[string]any{"id": "no-such-service"})}, 404, "not_found"},
		{"serviceupdate unknown", Req{Method: post, Fn: "serviceupdate", Key: adm, Body: natJSON(map[string]any{"id": "no-such-service", "name": "x"})}, 404, "not_found"},
		{"keyrevoke unknown", Req{Method: post, Fn: "keyrevoke", Key: adm, Body: natJSON(map[string]any{"id": "ABCDEFGHIJKLMNOP"})}, 404, "not_found"},
		{"keyrevoke revoked", Req{Method: post, Fn: "keyrevoke", Key: adm, Body: natJSON(map[string]any{"id": revoked.ID})}, 404, "not_found"},
		{"accountdelete unknown", Req{Method: post, Fn: "accountdelete", Key: adm, Body: natJSON(map[string]any{"id": "nobody"})}, 404, "not_found"},
		// 405
		{"GET uploadfile", Req{Method: get, Fn: "uploadfile", Key: write.Value, Query: Q("sid", sid, "path", "f")}, 405, "method_not_allowed"},
		{"POST getfile", Req{Method: post, Fn: "getfile", Key: read.Value, Query: Q("sid", sid, "path", "f")}, 405, "method_not_allowed"},
		{"PUT filelist", Req{Method: put, Fn: "filelist", Key: read.Value, Query: Q("sid", sid)}, 405, "method_not_allowed"},
		{"DELETE servicelist", Req{Method: del, Fn: "servicelist", Key: read.Value}, 405, "method_not_allowed"},
		{"GET deletefile", Req{Method: get, Fn: "deletefile", Key: write.Value, Query: Q("sid", sid, "path", "f")}, 405, "method_not_allowed"},
		{"GET flush", Req{Method: get, Fn: "flush", Key: write.Value, Query: Q("sid", sid)}, 405, "method_not_allowed"},
		{"GET servicecreate", Req{Method: get, Fn: "servicecreate", Key: adm}, 405, "method_not_allowed"},
		{"flush on storage", Req{Method: post, Fn: "flush", Key: write.Value, Query: Q("sid", sid)}, 405, "method_not_allowed"},
		{"flush on storage admin", Req{Method: post, Fn: "flush", Key: adm, Query: Q("sid", sid)}, 405, "method_not_allowed"},
		// 409
		{"If-Match precondition", Req{Method: put, Fn: "uploadfile", Key: write.Value, Query: Q("sid", sid, "path", "f"),
			Body: strings.NewReader("x"), Header: map[string]string{"If-Match": `"0123456789abcdef0123456789abcdef"`}}, 409, "precondition_failed"},
		{"If-None-Match precondition", Req{Method: put, Fn: "uploadfile", Key: write.Value, Query: Q("sid", sid, "path", "f"),
			Body: strings.NewReader("x"), Header: map[string]string{"If-None-Match": "*"}}, 409, "precondition_failed"},
		{"servicedelete with files", Req{Method: post, Fn: "servicedelete", Key: adm, Body: natJSON(map[string]any{"id": full})}, 409, "conflict"},
		{"servicecreate existing", Req{Method: post, Fn: "servicecreate", Key: adm, Body: natJSON(map[string]any{"id": sid})}, 409, "already_exists"},
		{"accountcreate existing", Req{Method: post, Fn: "accountcreate", Key: adm, Body: natJSON(map[string]any{"id": "default"})}, 409, "already_exists"},
		{"accountdelete default", Req{Method: post, Fn: "accountdelete", Key: adm, Body: natJSON(map[string]any{"id": "default"})}, 409, "conflict"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			r := e.Do(t, c.req)
			natWantErr(t, c.name, r, c.status, c.code)
			if c.status == http.StatusMethodNotAllowed && c.req.Fn != "flush" && r.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
			if c.status == http.StatusUnauthorized || c.status == http.StatusForbidden {
				for _, secret := range []string{e.AdminKey, read.Value, write.Value, revoked.Value, otherKey.Value} {
					if bytes.Contains(r.Body, []byte(secret)) {
						t.Errorf("error body contains a key value: %s", r.Body)
					}
				}
			}
		})
	}
	// nothing above changed the services
	if s := natServices(t, e, adm); s[sid].LastSyncID != 1 || s[sid].Files != 1 || s[full].Files != 1 {
		t.Errorf("failed requests changed state: %+v %+v", s[sid], s[full])
	}
	if _, ok := natServices(t, e, adm)["nope-svc"]; ok {
		t.Errorf("a forbidden servicecreate created a service")
	}
	natWant(t, "the read key still reads", natGet(t, e, read.Value, sid, "f"), http.StatusOK)
}

// TestNative_FunctionNames: the function is the URL path, matched
// case-insensitively with a trailing slash ignored.
func TestNative_FunctionNames(t *testing.T) {
	t.Parallel()
	e := Start(t)
	sid := e.WithService(t)
	e.Upload(t, e.AdminKey, sid, "f", []byte("named"), nil)
	for _, fn := range []string{"getfile", "GetFile", "GETFILE", "getfile/", "GetFile/"} {
		r := e.Do(t, Req{Fn: fn, Key: e.AdminKey, Query: Q("sid", sid, "path", "f")})
		if r.Status != http.StatusOK || string(r.Body) != "named" {
			t.Errorf("/%s: %d %q", fn, r.Status, r.Body)
		}
	}
	for _, fn := range []string{"ServiceList", "servicelist/", "FileList/"} {
		natWant(t, "/"+fn, e.Do(t, Req{Fn: fn, Key: e.AdminKey, Query: Q("sid", sid)}), http.StatusOK)
	}
	r := e.Do(t, Req{Method: http.MethodPost, Fn: "KeyList/", Key: e.AdminKey, Body: natJSON(map[string]any{})})
	natWant(t, "/KeyList/", r, http.StatusOK)
}

// TestNative_Quota: an upload that would take a service past quota_bytes
// is refused with 413; overwrites count only the difference.
func TestNative_Quota(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	sid := e.WithService(t)
	var svc struct {
		ID string `json:"id"`
	}
	e.Admin(t, "serviceupdate", map[string]any{"id": sid, "quota_bytes": 10}, http.StatusOK).JSON(t, &svc)
	if svc.ID != sid {
		t.Fatalf("serviceupdate answered %+v", svc)
	}
	e.Upload(t, e.AdminKey, sid, "one", []byte("123456"), nil)
	r := natPut(t, e, e.AdminKey, sid, "two", []byte("123456"), nil)
	if r.Status == http.StatusCreated {
		t.Skip("quota enforcement pending")
	}
	natWantErr(t, "upload past the quota", r, http.StatusRequestEntityTooLarge, "quota_exceeded")
	natWantErr(t, "refused upload stored nothing", natGet(t, e, e.AdminKey, sid, "two"), http.StatusNotFound, "not_found")
	e.Upload(t, e.AdminKey, sid, "one", []byte("123456789"), nil) // 9 of 10 bytes: an overwrite replaces
	e.Upload(t, e.AdminKey, sid, "three", []byte("1"), nil)       // exactly 10
	natWantErr(t, "one byte too many", natPut(t, e, e.AdminKey, sid, "four", []byte("1"), nil), http.StatusRequestEntityTooLarge, "quota_exceeded")
	natWant(t, "deletefile", e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "one")}), http.StatusOK)
	e.Upload(t, e.AdminKey, sid, "four", []byte("123"), nil) // room again after a delete
	if s := natServices(t, e, e.AdminKey)[sid]; s.Bytes != 4 || s.Files != 2 {
		t.Errorf("usage: %+v", s)
	}
	// lifting the quota lifts the limit
	e.Admin(t, "serviceupdate", map[string]any{"id": sid, "quota_bytes": 0}, http.StatusOK)
	e.Upload(t, e.AdminKey, sid, "big", bytes.Repeat([]byte("x"), 100), nil)

	// a quota set at creation holds from the first upload
	e.Admin(t, "servicecreate", map[string]any{"id": "quota-at-birth", "quota_bytes": 5}, http.StatusCreated)
	natWantErr(t, "first upload past the quota", natPut(t, e, e.AdminKey, "quota-at-birth", "f", []byte("123456"), nil),
		http.StatusRequestEntityTooLarge, "quota_exceeded")
	e.Upload(t, e.AdminKey, "quota-at-birth", "f", []byte("12345"), nil)
	if s := natServices(t, e, e.AdminKey)["quota-at-birth"]; s.Bytes != 5 || s.LastSyncID != 1 {
		t.Errorf("usage: %+v", s)
	}
}

func TestNative_AccessRules(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	a, b := e.WithService(t), e.WithService(t)
	e.Upload(t, e.AdminKey, a, "f", []byte("in a"), nil)
	e.Upload(t, e.AdminKey, b, "f", []byte("in b"), nil)

	canRead := func(key, sid string) int { return natGet(t, e, key, sid, "f").Status }
	canWrite := func(key, sid, path string) int { return natPut(t, e, key, sid, path, []byte("w"), nil).Status }

	t.Run("star_read", func(t *testing.T) {
		k := e.NewKey(t, map[string]string{"*": "read"})
		for _, sid := range []string{a, b} {
			if s := canRead(k.Value, sid); s != http.StatusOK {
				t.Errorf("\"*\":read reading %s: %d", sid, s)
			}
			if s := canWrite(k.Value, sid, "star-read"); s != http.StatusForbidden {
				t.Errorf("\"*\":read writing %s: %d", sid, s)
			}
			for _, fn := range []string{"filelist", "syncnext", "reqlist"} {
				natWant(t, fn, e.Do(t, Req{Fn: fn, Key: k.Value, Query: Q("sid", sid)}), http.StatusOK)
			}
		}
	})
	t.Run("star_write", func(t *testing.T) {
		k := e.NewKey(t, map[string]string{"*": "write"})
		for _, sid := range []string{a, b} {
			if s := canWrite(k.Value, sid, "star-write"); s != http.StatusCreated {
				t.Errorf("\"*\":write writing %s: %d", sid, s)
			}
			if s := canRead(k.Value, sid); s != http.StatusOK {
				t.Errorf("\"*\":write reading %s: %d", sid, s)
			}
			r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.Value, Query: Q("sid", sid, "path", "star-write")})
			natWant(t, "\"*\":write deleting", r, http.StatusOK)
		}
		// "*" covers services created after the key
		c := e.WithService(t)
		if s := canWrite(k.Value, c, "later"); s != http.StatusCreated {
			t.Errorf("\"*\":write on a newer service: %d", s)
		}
		// but not admin functions
		r := e.Do(t, Req{Method: http.MethodPost, Fn: "servicecreate", Key: k.Value, Body: natJSON(map[string]any{"id": "star-made"})})
		natWantErr(t, "\"*\":write servicecreate", r, http.StatusForbidden, "forbidden")
	})
	t.Run("per_service", func(t *testing.T) {
		k := e.NewKey(t, map[string]string{a: "write", b: "read"})
		if s := canWrite(k.Value, a, "per-service"); s != http.StatusCreated {
			t.Errorf("write on a: %d", s)
		}
		if s := canRead(k.Value, b); s != http.StatusOK {
			t.Errorf("read on b: %d", s)
		}
		if s := canWrite(k.Value, b, "per-service"); s != http.StatusForbidden {
			t.Errorf("write on read-only b: %d", s)
		}
		only := e.NewKey(t, map[string]string{a: "read"})
		if s := canRead(only.Value, b); s != http.StatusForbidden {
			t.Errorf("key for a reading b: %d", s)
		}
		// a key for a service that does not exist yet works once it does
		later := e.NewKey(t, map[string]string{"tlater-svc": "write"})
		natWantErr(t, "key for a missing service", e.Do(t, Req{Fn: "filelist", Key: later.Value, Query: Q("sid", "tlater-svc")}), http.StatusNotFound, "not_found")
		e.Admin(t, "servicecreate", map[string]any{"id": "tlater-svc"}, http.StatusCreated)
		if s := canWrite(later.Value, "tlater-svc", "now"); s != http.StatusCreated {
			t.Errorf("key for a service created after it: %d", s)
		}
	})
	t.Run("account_admin", func(t *testing.T) {
		var k Key // admin of the default account: every service of it, no admin functions
		e.Admin(t, "keycreate", map[string]any{"name": "acct-admin", "admin": true}, http.StatusCreated).JSON(t, &k)
		got := natServices(t, e, k.Value)
		for _, sid := range []string{a, b} {
			if got[sid].Access != "write" {
				t.Errorf("account admin on %s: %+v", sid, got[sid])
			}
			if s := canWrite(k.Value, sid, "acct-admin"); s != http.StatusCreated {
				t.Errorf("account admin writing %s: %d", sid, s)
			}
		}
		r := e.Do(t, Req{Method: http.MethodPost, Fn: "keylist", Key: k.Value, Body: natJSON(map[string]any{})})
		natWantErr(t, "account admin keylist", r, http.StatusForbidden, "forbidden")
	})
	t.Run("no_key_unknown_key", func(t *testing.T) {
		natWantErr(t, "no key", natGet(t, e, "", a, "f"), http.StatusUnauthorized, "unauthorized")
		natWantErr(t, "unknown key", natGet(t, e, "x"+e.AdminKey, a, "f"), http.StatusUnauthorized, "unauthorized")
		natWantErr(t, "admin key id as value", natGet(t, e, e.AdminKeyID, a, "f"), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("revoke_at_once", func(t *testing.T) {
		k := e.NewKey(t, map[string]string{"*": "write"})
		if s := canWrite(k.Value, a, "before-revoke"); s != http.StatusCreated {
			t.Fatalf("before revoke: %d", s)
		}
		e.Admin(t, "keyrevoke", map[string]any{"id": k.ID}, http.StatusOK)
		// the very next request fails, for every function
		natWantErr(t, "read after revoke", natGet(t, e, k.Value, a, "f"), http.StatusUnauthorized, "unauthorized")
		natWantErr(t, "write after revoke", natPut(t, e, k.Value, a, "after-revoke", []byte("x"), nil), http.StatusUnauthorized, "unauthorized")
		natWantErr(t, "servicelist after revoke", e.Do(t, Req{Fn: "servicelist", Key: k.Value}), http.StatusUnauthorized, "unauthorized")
		natWantErr(t, "not written", natGet(t, e, e.AdminKey, a, "after-revoke"), http.StatusNotFound, "not_found")
	})
	t.Run("other_account", func(t *testing.T) {
		e.Admin(t, "accountcreate", map[string]any{"id": "acme"}, http.StatusCreated)
		var k Key
		e.Admin(t, "keycreate", map[string]any{"name": "acme", "account": "acme", "access": map[string]string{"*": "write", a: "write"}},
			http.StatusCreated).JSON(t, &k)
		// another account's service is not reachable, even if the access map names it
		if s := canRead(k.Value, a); s != http.StatusNotFound && s != http.StatusForbidden {
			t.Errorf("other account reading: %d", s)
		}
		if s := canWrite(k.Value, a, "acme-was-here"); s != http.StatusNotFound && s != http.StatusForbidden {
			t.Errorf("other account writing: %d", s)
		}
		natWantErr(t, "not written", natGet(t, e, e.AdminKey, a, "acme-was-here"), http.StatusNotFound, "not_found")
	})
}

// TestNative_ServiceExistenceHidden: a key must not learn whether a service
// it has no access to exists (handler.go: "do not reveal which services
// exist to keys without access"); the answer for a service of another
// account must be the same as for one that does not exist.
func TestNative_ServiceExistenceHidden(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	mine := e.WithService(t)
	e.Admin(t, "accountcreate", map[string]any{"id": "elsewhere"}, http.StatusCreated)
	e.Admin(t, "servicecreate", map[string]any{"id": "theirs-svc", "account": "elsewhere"}, http.StatusCreated)
	k := e.NewKey(t, map[string]string{mine: "write"})
	sameAcct := e.WithService(t)
	for _, fn := range []string{"filelist", "syncnext"} {
		missing := e.Do(t, Req{Fn: fn, Key: k.Value, Query: Q("sid", "never-created-svc")})
		theirs := e.Do(t, Req{Fn: fn, Key: k.Value, Query: Q("sid", "theirs-svc")})
		noAccess := e.Do(t, Req{Fn: fn, Key: k.Value, Query: Q("sid", sameAcct)})
		if missing.Status != theirs.Status || missing.ErrorCode() != theirs.ErrorCode() {
			t.Errorf("%s: a missing service gives %d %s, another account's service %d %s: the key learns it exists",
				fn, missing.Status, missing.ErrorCode(), theirs.Status, theirs.ErrorCode())
		}
		if missing.Status != noAccess.Status || missing.ErrorCode() != noAccess.ErrorCode() {
			t.Errorf("%s: a missing service gives %d %s, a service without access %d %s",
				fn, missing.Status, missing.ErrorCode(), noAccess.Status, noAccess.ErrorCode())
		}
	}
}

type natAdminService struct {
	ID           string `json:"id"`
	Account      string `json:"account"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	KeepVersions string `json:"keep_versions"`
	Files        int64  `json:"files"`
	LastSyncID   uint64 `json:"last_sync_id"`
}

type natAccount struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Services   int64  `json:"services"`
	Bytes      int64  `json:"bytes"`
	QuotaBytes int64  `json:"quota_bytes"`
}

func natAccounts(t testing.TB, e *Env) map[string]natAccount {
	t.Helper()
	r := e.Admin(t, "accountlist", map[string]any{}, http.StatusOK)
	var out struct {
		Accounts []json.RawMessage `json:"accounts"`
	}
	r.JSON(t, &out)
	m := map[string]natAccount{}
	for _, raw := range out.Accounts {
		natHasMembers(t, "accountlist entry", raw, "id", "name", "services", "bytes", "quota_bytes")
		var a natAccount
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		m[a.ID] = a
	}
	return m
}

type natKeyEntry struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Access  map[string]string `json:"access"`
	Created string            `json:"created"`
}

func natKeyList(t testing.TB, e *Env) (map[string]natKeyEntry, *Resp) {
	t.Helper()
	r := e.Admin(t, "keylist", map[string]any{}, http.StatusOK)
	var out struct {
		Keys []json.RawMessage `json:"keys"`
	}
	r.JSON(t, &out)
	m := map[string]natKeyEntry{}
	for _, raw := range out.Keys {
		natHasMembers(t, "keylist entry", raw, "id", "name", "access", "created")
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(raw, &fields)
		if _, ok := fields["value"]; ok {
			t.Errorf("keylist entry has a value: %s", raw)
		}
		var k natKeyEntry
		if err := json.Unmarshal(raw, &k); err != nil {
			t.Fatal(err)
		}
		m[k.ID] = k
	}
	return m, r
}

func TestNative_AdminServices(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	r := e.Admin(t, "servicecreate", map[string]any{"id": "adm-svc", "name": "Admin Service", "type": "storage", "keep_versions": "720h"}, http.StatusCreated)
	var s natAdminService
	r.JSON(t, &s)
	if s.ID != "adm-svc" || s.Name != "Admin Service" || s.Type != "storage" || s.KeepVersions != "720h" || s.Account != "default" {
		t.Errorf("servicecreate: %s", r.Body)
	}
	r = e.Admin(t, "servicecreate", map[string]any{"id": "adm-plain"}, http.StatusCreated)
	r.JSON(t, &s)
	if s.Name != "adm-plain" || s.Type != "storage" || s.KeepVersions != "forever" {
		t.Errorf("servicecreate defaults: %s", r.Body)
	}
	for _, bad := range []map[string]any{
		{"id": "ab"}, {"id": "UPPER"}, {"id": "-dash"}, {"id": "a..b"}, {"id": "192.168.1.1"}, {"id": "ok-id", "type": "tape"},
		{"id": "ok-id", "keep_versions": "sometimes"}, {},
	} {
		r := e.Do(t, Req{Method: http.MethodPost, Fn: "servicecreate", Key: e.AdminKey, Body: natJSON(bad)})
		natWantErr(t, natf("servicecreate %v", bad), r, http.StatusBadRequest, "invalid_argument")
	}
	if _, ok := natServices(t, e, e.AdminKey)["ok-id"]; ok {
		t.Errorf("an invalid servicecreate created ok-id")
	}

	r = e.Admin(t, "serviceupdate", map[string]any{"id": "adm-svc", "name": "Renamed"}, http.StatusOK)
	r.JSON(t, &s)
	if s.Name != "Renamed" || s.KeepVersions != "720h" {
		t.Errorf("serviceupdate: %s", r.Body)
	}
	if got := natServices(t, e, e.AdminKey)["adm-svc"]; got.Name != "Renamed" {
		t.Errorf("servicelist after rename: %+v", got)
	}
	r = e.Admin(t, "serviceupdate", map[string]any{"id": "adm-svc", "keep_versions": "forever"}, http.StatusOK)
	r.JSON(t, &s)
	if s.Name != "Renamed" || s.KeepVersions != "forever" {
		t.Errorf("serviceupdate keep_versions: %s", r.Body)
	}
	for _, bad := range []map[string]any{{"id": "adm-svc", "type": "cache"}, {"id": "adm-svc", "keep_versions": "-1h"}, {"name": "no id"}} {
		r := e.Do(t, Req{Method: http.MethodPost, Fn: "serviceupdate", Key: e.AdminKey, Body: natJSON(bad)})
		natWantErr(t, natf("serviceupdate %v", bad), r, http.StatusBadRequest, "invalid_argument")
	}

	e.Upload(t, e.AdminKey, "adm-svc", "f", []byte("x"), nil)
	r = e.Do(t, Req{Method: http.MethodPost, Fn: "servicedelete", Key: e.AdminKey, Body: natJSON(map[string]any{"id": "adm-svc"})})
	natWantErr(t, "servicedelete with a file", r, http.StatusConflict, "conflict")
	natWant(t, "file kept", natGet(t, e, e.AdminKey, "adm-svc", "f"), http.StatusOK)
	natWant(t, "deletefile", e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", "adm-svc", "path", "f")}), http.StatusOK)
	r = e.Admin(t, "servicedelete", map[string]any{"id": "adm-svc"}, http.StatusOK)
	if strings.TrimSpace(string(r.Body)) != "{}" {
		t.Errorf("servicedelete answered %s, want {}", r.Body)
	}
	if _, ok := natServices(t, e, e.AdminKey)["adm-svc"]; ok {
		t.Errorf("deleted service still listed")
	}
	natWantErr(t, "getfile on a deleted service", natGet(t, e, e.AdminKey, "adm-svc", "f"), http.StatusNotFound, "not_found")
	natWantErr(t, "filelist on a deleted service", e.Do(t, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", "adm-svc")}), http.StatusNotFound, "not_found")
	natWantErr(t, "servicedelete again", e.Do(t, Req{Method: http.MethodPost, Fn: "servicedelete", Key: e.AdminKey,
		Body: natJSON(map[string]any{"id": "adm-svc"})}), http.StatusNotFound, "not_found")
	// the id is free again
	e.Admin(t, "servicecreate", map[string]any{"id": "adm-svc"}, http.StatusCreated)
	if p := natList(t, e, e.AdminKey, "adm-svc"); len(p.Files) != 0 {
		t.Errorf("a re-created service shows old files: %+v", p.Files)
	}
}

func TestNative_AdminKeysAccounts(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	sid := e.WithService(t)
	r := e.Admin(t, "keycreate", map[string]any{"name": "reader", "access": map[string]string{sid: "read"}}, http.StatusCreated)
	natHasMembers(t, "keycreate", r.Body, "id", "value", "name", "access")
	var k struct {
		ID     string            `json:"id"`
		Value  string            `json:"value"`
		Name   string            `json:"name"`
		Access map[string]string `json:"access"`
	}
	r.JSON(t, &k)
	if k.ID == "" || k.Value == "" || k.Name != "reader" || k.Access[sid] != "read" || len(k.Access) != 1 || k.ID == k.Value {
		t.Errorf("keycreate: %s", r.Body)
	}
	natWant(t, "new key reads", natGet(t, e, k.Value, sid, "x"), http.StatusNotFound) // authenticated, file absent
	keys, raw := natKeyList(t, e)
	if got := keys[k.ID]; got.Name != "reader" || got.Access[sid] != "read" || got.Created == "" {
		t.Errorf("keylist entry: %+v", got)
	}
	if bytes.Contains(raw.Body, []byte(k.Value)) {
		t.Errorf("keylist contains a key value")
	}
	for _, bad := range []map[string]any{
		{"name": "bad login", "login": "a b"}, {"name": "bad level", "access": map[string]string{sid: "admin"}},
		{"name": "bad sid", "access": map[string]string{"a/b/c": "read"}}, {"name": "x", "account": "nobody", "access": map[string]string{"*": "read"}},
	} {
		r := e.Do(t, Req{Method: http.MethodPost, Fn: "keycreate", Key: e.AdminKey, Body: natJSON(bad)})
		if r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
			t.Errorf("keycreate %v: %d %s", bad, r.Status, r.Body)
		}
		natWantErr(t, natf("keycreate %v", bad), r, r.Status, "")
	}

	r = e.Admin(t, "keyrevoke", map[string]any{"id": k.ID}, http.StatusOK)
	if strings.TrimSpace(string(r.Body)) != "{}" {
		t.Errorf("keyrevoke answered %s", r.Body)
	}
	natWantErr(t, "revoked key", natGet(t, e, k.Value, sid, "x"), http.StatusUnauthorized, "unauthorized")
	if _, raw := natKeyList(t, e); bytes.Contains(raw.Body, []byte(k.Value)) {
		t.Errorf("keylist contains a revoked key's value")
	}

	// accounts
	r = e.Admin(t, "accountcreate", map[string]any{"id": "acme", "name": "Acme Inc"}, http.StatusCreated)
	var a natAccount
	r.JSON(t, &a)
	if a.ID != "acme" || a.Name != "Acme Inc" {
		t.Errorf("accountcreate: %s", r.Body)
	}
	natWantErr(t, "accountcreate again", e.Do(t, Req{Method: http.MethodPost, Fn: "accountcreate", Key: e.AdminKey,
		Body: natJSON(map[string]any{"id": "acme"})}), http.StatusConflict, "already_exists")
	natWantErr(t, "accountcreate bad id", e.Do(t, Req{Method: http.MethodPost, Fn: "accountcreate", Key: e.AdminKey,
		Body: natJSON(map[string]any{"id": "no spaces"})}), http.StatusBadRequest, "invalid_argument")
	accts := natAccounts(t, e)
	if accts["acme"].Name != "Acme Inc" || accts["acme"].Services != 0 || accts["acme"].Bytes != 0 {
		t.Errorf("accountlist acme: %+v", accts["acme"])
	}
	if _, ok := accts["default"]; !ok {
		t.Errorf("no default account: %v", accts)
	}

	// an account that owns a key cannot go
	var ak Key
	e.Admin(t, "keycreate", map[string]any{"name": "acme-key", "account": "acme", "access": map[string]string{"*": "write"}},
		http.StatusCreated).JSON(t, &ak)
	delAcme := func() *Resp {
		return e.Do(t, Req{Method: http.MethodPost, Fn: "accountdelete", Key: e.AdminKey, Body: natJSON(map[string]any{"id": "acme"})})
	}
	natWantErr(t, "accountdelete with a key", delAcme(), http.StatusConflict, "conflict")
	e.Admin(t, "keyrevoke", map[string]any{"id": ak.ID}, http.StatusOK)
	// nor one that owns a service
	e.Admin(t, "servicecreate", map[string]any{"id": "acme-files", "account": "acme"}, http.StatusCreated)
	e.Upload(t, e.AdminKey, "acme-files", "f", []byte("0123456789"), nil)
	if got := natAccounts(t, e)["acme"]; got.Services != 1 || got.Bytes != 10 {
		t.Errorf("accountlist acme with a service: %+v", got)
	}
	natWantErr(t, "accountdelete with a service", delAcme(), http.StatusConflict, "conflict")
	natWant(t, "deletefile", e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", "acme-files", "path", "f")}), http.StatusOK)
	e.Admin(t, "servicedelete", map[string]any{"id": "acme-files"}, http.StatusOK)
	r = e.Admin(t, "accountdelete", map[string]any{"id": "acme"}, http.StatusOK)
	if strings.TrimSpace(string(r.Body)) != "{}" {
		t.Errorf("accountdelete answered %s", r.Body)
	}
	if _, ok := natAccounts(t, e)["acme"]; ok {
		t.Errorf("deleted account still listed")
	}
	natWantErr(t, "accountdelete again", delAcme(), http.StatusNotFound, "not_found")
}

// TestNative_SecretsNeverShown: a key's value appears in keycreate's answer
// and nowhere else: no later response, not reqlist, not the data directory
// in clear.
func TestNative_SecretsNeverShown(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "reads its data directory")
	sid := e.WithService(t)
	k := e.NewKey(t, map[string]string{sid: "write"})
	var resps []*Resp
	add := func(r *Resp) { resps = append(resps, r) }
	add(natPut(t, e, k.Value, sid, "f", []byte("x"), nil))
	add(natGet(t, e, k.Value, sid, "f"))
	add(natGet(t, e, k.Value, sid, "missing"))
	add(e.Do(t, Req{Fn: "servicelist", Key: k.Value}))
	add(e.Do(t, Req{Fn: "servicelist", Key: e.AdminKey}))
	add(e.Do(t, Req{Fn: "filelist", Key: k.Value, Query: Q("sid", sid)}))
	add(e.Do(t, Req{Fn: "versionlist", Key: k.Value, Query: Q("sid", sid, "path", "f")}))
	add(e.Do(t, Req{Fn: "syncnext", Key: k.Value, Query: Q("sid", sid)}))
	add(e.Do(t, Req{Method: http.MethodPost, Fn: "keylist", Key: k.Value, Body: natJSON(map[string]any{})})) // 403
	add(e.Do(t, Req{Fn: "getfile", Key: k.Value + "x", Query: Q("sid", sid, "path", "f")}))                  // 401
	add(e.Admin(t, "keylist", map[string]any{}, http.StatusOK))
	add(e.Admin(t, "accountlist", map[string]any{}, http.StatusOK))
	add(e.Admin(t, "serviceupdate", map[string]any{"id": sid, "name": "renamed"}, http.StatusOK))
	add(e.Admin(t, "keycreate", map[string]any{"name": "another", "access": map[string]string{"*": "read"}}, http.StatusCreated))
	add(e.Do(t, Req{Fn: "reqlist", Key: k.Value, Query: Q("sid", sid)}))
	add(e.Do(t, Req{Fn: "reqlist", Key: e.AdminKey, Query: Q("sid", sid, "limit", "1000")}))
	e.Admin(t, "keyrevoke", map[string]any{"id": k.ID}, http.StatusOK)
	add(e.Admin(t, "keylist", map[string]any{}, http.StatusOK))
	add(e.Do(t, Req{Fn: "reqlist", Key: e.AdminKey, Query: Q("sid", sid, "limit", "1000")}))
	for i, r := range resps {
		if bytes.Contains(r.Body, []byte(k.Value)) {
			t.Errorf("response %d contains the key value: %s", i, r.Body)
		}
		if bytes.Contains(r.Body, []byte(e.AdminKey)) {
			t.Errorf("response %d contains the admin key value: %s", i, r.Body)
		}
		for name, vals := range r.Header {
			for _, v := range vals {
				if strings.Contains(v, k.Value) || strings.Contains(v, e.AdminKey) {
					t.Errorf("response %d header %s contains a key value", i, name)
				}
			}
		}
	}

	// the log and the projections hold the value sealed, never in clear
	err := filepath.WalkDir(e.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(k.Value)) {
			t.Errorf("%s holds the key value in clear", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
