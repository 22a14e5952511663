package e2e

// Black-box tests of every native function (schema/native.openapi.json)
// with plain net/http against the in-process server.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

func TestNative_ServiceList(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, ownServer)
	a, b, c := e.WithService(t), e.WithService(t), e.WithService(t)
	e.Upload(t, e.AdminKey, a, "one", []byte("12345"), nil)
	e.Upload(t, e.AdminKey, a, "two", []byte("1234567"), nil)
	e.Upload(t, e.AdminKey, b, "x", []byte("abc"), nil)

	k := e.NewKey(t, map[string]string{a: "write", b: "read"})
	got := natServices(t, e, k.Value)
	if len(got) != 2 {
		t.Fatalf("servicelist with a key for %s and %s: %v", a, b, got)
	}
	if _, ok := got[c]; ok {
		t.Errorf("servicelist shows %s, which the key may not read", c)
	}
	if s := got[a]; s.Access != "write" || s.Files != 2 || s.Bytes != 12 || s.LastSyncID != 2 ||
		s.Type != "storage" || s.Name != a || s.Replica != nil {
		t.Errorf("service a: %+v", s)
	}
	if s := got[b]; s.Access != "read" || s.Files != 1 || s.Bytes != 3 || s.LastSyncID != 1 {
		t.Errorf("service b: %+v", s)
	}

	// a deletion is a change: files and bytes go down, last_sync_id up
	r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: k.Value, Query: Q("sid", a, "path", "two")})
	natWant(t, "deletefile", r, http.StatusOK)
	if s := natServices(t, e, k.Value)[a]; s.Files != 1 || s.Bytes != 5 || s.LastSyncID != 3 {
		t.Errorf("service a after a delete: %+v", s)
	}

	all := e.NewKey(t, map[string]string{"*": "read"})
	got = natServices(t, e, all.Value)
	for _, sid := range []string{a, b, c} {
		if got[sid].Access != "read" {
			t.Errorf("\"*\":read key: service %s has access %q", sid, got[sid].Access)
		}
	}
	got = natServices(t, e, e.AdminKey)
	for _, sid := range []string{a, b, c} {
		if got[sid].Access != "write" {
			t.Errorf("admin key: service %s has access %q", sid, got[sid].Access)
		}
	}

	// a key of another account sees none of the default account's services
	e.Admin(t, "accountcreate", map[string]any{"id": "other", "name": "Other"}, http.StatusCreated)
	var ok Key
	e.Admin(t, "keycreate", map[string]any{"name": "other", "account": "other", "access": map[string]string{"*": "write"}},
		http.StatusCreated).JSON(t, &ok)
	if got := natServices(t, e, ok.Value); len(got) != 0 {
		t.Errorf("key of another account sees %v", got)
	}
}

func TestNative_FileList(t *testing.T) {
	t.Parallel()
	e := Start(t)

	t.Run("fields_prefix_delimiter", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		ups := map[string]UploadResult{}
		for _, p := range []string{"a.txt", "dir/x", "dir/y", "dir/sub/z", "dis", "e"} {
			ups[p] = e.Upload(t, e.AdminKey, sid, p, []byte("content of "+p), map[string]string{"Content-Type": "text/x-" + p[:1]})
		}
		page := natList(t, e, e.AdminKey, sid)
		if len(page.Files) != 6 || page.Next != nil || len(page.Prefixes) != 0 {
			t.Fatalf("filelist: %+v", page)
		}
		for _, f := range page.Files {
			u := ups[f.Path]
			if f.Size != u.Size || f.ETag != u.ETag || f.Version != u.Version || f.ContentType != "text/x-"+f.Path[:1] {
				t.Errorf("file %q: %+v, uploaded %+v", f.Path, f, u)
			}
			if _, err := time.Parse(time.RFC3339, f.Modified); err != nil {
				t.Errorf("file %q: modified %q: %v", f.Path, f.Modified, err)
			}
		}
		check := func(what string, p schema.FileList, files, prefixes []string) {
			t.Helper()
			var got []string
			for _, f := range p.Files {
				got = append(got, f.Path)
			}
			if natf("%q", got) != natf("%q", files) || natf("%q", p.Prefixes) != natf("%q", prefixes) {
				t.Errorf("%s: files %q prefixes %q, want %q and %q", what, got, p.Prefixes, files, prefixes)
			}
		}
		check("prefix dir/", natList(t, e, e.AdminKey, sid, "prefix", "dir/"), []string{"dir/sub/z", "dir/x", "dir/y"}, []string{})
		check("prefix di", natList(t, e, e.AdminKey, sid, "prefix", "di"), []string{"dir/sub/z", "dir/x", "dir/y", "dis"}, []string{})
		check("delimiter /", natList(t, e, e.AdminKey, sid, "delimiter", "/"), []string{"a.txt", "dis", "e"}, []string{"dir/"})
		check("prefix dir/ delimiter /", natList(t, e, e.AdminKey, sid, "prefix", "dir/", "delimiter", "/"),
			[]string{"dir/x", "dir/y"}, []string{"dir/sub/"})
		check("prefix nothing", natList(t, e, e.AdminKey, sid, "prefix", "nothing"), []string{}, []string{})
	})

	t.Run("paging", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		// paths whose byte order differs from other plausible orders
		paths := []string{"B", "a", "a-b", "a/b", "a0", "a/b/c", "Z", "ä", "é/x", "z", "~", " space", "a.b", "A",
			"ab", "aa", "a/a", "dir/1", "dir/2", "dir/3", "dir/sub/1", "dir0", "dir-", "\u00ff", "日本"}
		for _, p := range paths {
			e.Upload(t, e.AdminKey, sid, p, []byte(p), nil)
		}
		want := append([]string(nil), paths...)
		sort.Strings(want) // byte order
		for _, limit := range []int{1, 2, 3, 7, 25, 1000} {
			files, prefixes, _ := natListAll(t, e, e.AdminKey, sid, limit)
			var got []string
			for _, f := range files {
				got = append(got, f.Path)
			}
			if natf("%q", got) != natf("%q", want) || len(prefixes) != 0 {
				t.Errorf("limit %d: pages gave %q (prefixes %q), want %q", limit, got, prefixes, want)
			}
		}
		// with a delimiter a common prefix counts as one entry and paging
		// continues after everything under it
		wantTop := map[string]bool{}
		for _, p := range paths {
			if i := bytes.IndexByte([]byte(p), '/'); i >= 0 {
				wantTop[p[:i+1]] = true
			} else {
				wantTop[p] = true
			}
		}
		var wantOrder []string
		for p := range wantTop {
			wantOrder = append(wantOrder, p)
		}
		sort.Strings(wantOrder)
		for _, limit := range []int{1, 2, 5} {
			_, _, order := natListAll(t, e, e.AdminKey, sid, limit, "delimiter", "/")
			sorted := append([]string(nil), order...)
			sort.Strings(sorted)
			if natf("%q", sorted) != natf("%q", wantOrder) {
				t.Errorf("delimiter, limit %d: entries %q, want %q", limit, order, wantOrder)
			}
		}
	})

	t.Run("marker_files", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		// "dir/" is a file (a directory marker) as well as a prefix
		for _, p := range []string{"dir/", "dir/a", "dir/b/c", "dir/b/d", "dir/c", "dir0"} {
			e.Upload(t, e.AdminKey, sid, p, []byte(p), nil)
		}
		for _, c := range []struct {
			prefix string
			want   []string
		}{
			{"", []string{"dir/", "dir0"}},
			{"dir/", []string{"dir/", "dir/a", "dir/b/", "dir/c"}},
			{"dir/b/", []string{"dir/b/c", "dir/b/d"}},
		} {
			for _, limit := range []int{1, 2, 100} {
				_, _, order := natListAll(t, e, e.AdminKey, sid, limit, "prefix", c.prefix, "delimiter", "/")
				sort.Strings(order)
				if natf("%q", order) != natf("%q", c.want) {
					t.Errorf("prefix %q delimiter / limit %d: %q, want %q", c.prefix, limit, order, c.want)
				}
			}
		}
	})

	t.Run("limit_bounds", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		for i := 0; i < 3; i++ {
			e.Upload(t, e.AdminKey, sid, strconv.Itoa(i), []byte("x"), nil)
		}
		for _, bad := range []string{"0", "-1", "10001", "ten", "1.5"} {
			r := e.Do(t, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid, "limit", bad)})
			natWantErr(t, "filelist limit="+bad, r, http.StatusBadRequest, "invalid_argument")
		}
		if p := natList(t, e, e.AdminKey, sid, "limit", "10000"); len(p.Files) != 3 || p.Next != nil {
			t.Errorf("limit=10000: %+v", p)
		}
		if p := natList(t, e, e.AdminKey, sid); len(p.Files) != 3 || p.Next != nil {
			t.Errorf("default limit: %+v", p)
		}
		p := natList(t, e, e.AdminKey, sid, "limit", "2")
		if len(p.Files) != 2 || p.Next == nil {
			t.Fatalf("limit=2 of 3: %+v", p)
		}
		p = natList(t, e, e.AdminKey, sid, "limit", "2", "after", *p.Next)
		if len(p.Files) != 1 || p.Files[0].Path != "2" || p.Next != nil {
			t.Errorf("second page: %+v", p)
		}
		// the raw JSON has "next": null at the end
		r := e.Do(t, Req{Fn: "filelist", Key: e.AdminKey, Query: Q("sid", sid)})
		var raw map[string]json.RawMessage
		r.JSON(t, &raw)
		if string(raw["next"]) != "null" {
			t.Errorf("next at the end: %s, want null", raw["next"])
		}
	})
}

// TestNative_AsOf lists and reads the past, by sync id and by time; it has
// its own server so the clock moves only for it.
func TestNative_AsOf(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	sid := e.WithService(t)
	key := e.AdminKey
	t0 := clk.Now()
	a1 := e.Upload(t, key, sid, "a", []byte("a-one"), nil) // sync 1 at t0
	clk.Advance(10 * time.Second)
	b1 := e.Upload(t, key, sid, "b", []byte("b-one"), nil) // sync 2 at t0+10s
	clk.Advance(10 * time.Second)
	a2 := e.Upload(t, key, sid, "a", []byte("a-two!"), nil) // sync 3 at t0+20s
	clk.Advance(10 * time.Second)
	r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: key, Query: Q("sid", sid, "path", "b")}) // sync 4 at t0+30s
	natWant(t, "deletefile", r, http.StatusOK)
	if a1.SyncID != 1 || b1.SyncID != 2 || a2.SyncID != 3 {
		t.Fatalf("sync ids %d %d %d", a1.SyncID, b1.SyncID, a2.SyncID)
	}

	type want map[string]string // path -> version
	check := func(asof string, w want) {
		t.Helper()
		p := natList(t, e, key, sid, "asof", asof)
		got := want{}
		for _, f := range p.Files {
			got[f.Path] = f.Version
		}
		if natf("%v", got) != natf("%v", w) {
			t.Errorf("filelist asof=%s: %v, want %v", asof, got, w)
		}
	}
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	check("sync:0", want{})
	check("sync:1", want{"a": a1.Version})
	check("sync:2", want{"a": a1.Version, "b": b1.Version})
	check("sync:3", want{"a": a2.Version, "b": b1.Version})
	check("sync:4", want{"a": a2.Version})
	check(at(-time.Hour), want{})
	check(at(5*time.Second), want{"a": a1.Version})
	check(t0.Add(15*time.Second).Format(time.RFC3339), want{"a": a1.Version, "b": b1.Version})
	check(t0.Add(15*time.Second).In(time.FixedZone("UTC+2", 2*3600)).Format(time.RFC3339), want{"a": a1.Version, "b": b1.Version})
	check(t0.Add(25*time.Second).In(time.FixedZone("UTC-5", -5*3600)).Format(time.RFC3339Nano), want{"a": a2.Version, "b": b1.Version})
	check(at(25*time.Second), want{"a": a2.Version, "b": b1.Version})
	check(at(time.Hour), want{"a": a2.Version})
	if p := natList(t, e, key, sid); len(p.Files) != 1 || p.Files[0].Version != a2.Version {
		t.Errorf("current listing: %+v", p)
	}

	// getfile as of a moment
	for _, c := range []struct {
		asof, path, body string
	}{
		{"sync:1", "a", "a-one"}, {"sync:3", "a", "a-two!"}, {"sync:3", "b", "b-one"},
		{at(5 * time.Second), "a", "a-one"}, {at(25 * time.Second), "b", "b-one"},
	} {
		r := natGet(t, e, key, sid, c.path, "asof", c.asof)
		natWant(t, "getfile asof="+c.asof, r, http.StatusOK)
		if string(r.Body) != c.body {
			t.Errorf("getfile %s asof=%s: %q, want %q", c.path, c.asof, r.Body, c.body)
		}
	}
	for _, c := range []struct{ asof, path string }{{"sync:1", "b"}, {"sync:4", "b"}, {at(-time.Hour), "a"}, {at(35 * time.Second), "b"}} {
		natWantErr(t, "getfile "+c.path+" asof="+c.asof, natGet(t, e, key, sid, c.path, "asof", c.asof), http.StatusNotFound, "not_found")
	}

	// paging through a past listing returns every file of that moment once
	for _, c := range []struct {
		asof string
		want []string
	}{{"sync:2", []string{"a", "b"}}, {"sync:4", []string{"a"}}, {at(25 * time.Second), []string{"a", "b"}}} {
		files, _, _ := natListAll(t, e, key, sid, 1, "asof", c.asof)
		var got []string
		for _, f := range files {
			got = append(got, f.Path)
		}
		if natf("%q", got) != natf("%q", c.want) {
			t.Errorf("paging filelist asof=%s limit=1: %q, want %q", c.asof, got, c.want)
		}
	}

	for _, bad := range []string{"yesterday", "sync:", "sync:x", "sync:-1", "sync:99", "2024-13-01T00:00:00Z", "1700000000"} {
		r := e.Do(t, Req{Fn: "filelist", Key: key, Query: Q("sid", sid, "asof", bad)})
		natWantErr(t, "filelist asof="+bad, r, http.StatusBadRequest, "invalid_argument")
		natWantErr(t, "getfile asof="+bad, natGet(t, e, key, sid, "a", "asof", bad), http.StatusBadRequest, "invalid_argument")
	}
}

func TestNative_GetFile(t *testing.T) {
	t.Parallel()
	e := Start(t)

	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		u := e.Upload(t, e.AdminKey, sid, "doc.txt", []byte("hello world"), map[string]string{"Content-Type": "text/plain; charset=utf-8"})
		r := natGet(t, e, e.AdminKey, sid, "doc.txt")
		natWant(t, "getfile", r, http.StatusOK)
		if string(r.Body) != "hello world" {
			t.Errorf("body %q", r.Body)
		}
		vs := natVersions(t, e, e.AdminKey, sid, "doc.txt")
		mod, err := time.Parse(time.RFC3339Nano, vs[0].Modified)
		if err != nil {
			t.Fatal(err)
		}
		for h, want := range map[string]string{
			"Content-Type":   "text/plain; charset=utf-8",
			"Content-Length": "11",
			"ETag":           `"` + u.ETag + `"`,
			"Last-Modified":  mod.UTC().Format(http.TimeFormat),
			"X-Version-Id":   u.Version,
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}

		// HEAD: the same headers, no body
		h := e.Do(t, Req{Method: http.MethodHead, Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "doc.txt")})
		natWant(t, "HEAD getfile", h, http.StatusOK)
		if len(h.Body) != 0 {
			t.Errorf("HEAD has a body: %q", h.Body)
		}
		for _, name := range []string{"Content-Type", "Content-Length", "ETag", "Last-Modified", "X-Version-Id"} {
			if h.Header.Get(name) != r.Header.Get(name) {
				t.Errorf("HEAD %s: %q, GET has %q", name, h.Header.Get(name), r.Header.Get(name))
			}
		}
		h = e.Do(t, Req{Method: http.MethodHead, Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "nope")})
		if h.Status != http.StatusNotFound || len(h.Body) != 0 {
			t.Errorf("HEAD of a missing file: %d %q", h.Status, h.Body)
		}

		// content type from the extension, else octet-stream
		e.Upload(t, e.AdminKey, sid, "data.json", []byte("{}"), nil)
		e.Upload(t, e.AdminKey, sid, "noext", []byte("{}"), nil)
		if ct := natGet(t, e, e.AdminKey, sid, "data.json").Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("data.json served as %q", ct)
		}
		if ct := natGet(t, e, e.AdminKey, sid, "noext").Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("noext served as %q", ct)
		}
	})

	t.Run("versions", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		v1 := e.Upload(t, e.AdminKey, sid, "f", []byte("first"), nil)
		v2 := e.Upload(t, e.AdminKey, sid, "f", []byte("second"), nil)
		for v, body := range map[string]string{v1.Version: "first", v2.Version: "second"} {
			r := natGet(t, e, e.AdminKey, sid, "f", "version", v)
			natWant(t, "getfile version", r, http.StatusOK)
			if string(r.Body) != body || r.Header.Get("X-Version-Id") != v {
				t.Errorf("version %s: %q (X-Version-Id %q), want %q", v, r.Body, r.Header.Get("X-Version-Id"), body)
			}
		}
		if r := natGet(t, e, e.AdminKey, sid, "f"); string(r.Body) != "second" || r.Header.Get("X-Version-Id") != v2.Version {
			t.Errorf("current: %q %q", r.Body, r.Header.Get("X-Version-Id"))
		}
		natWantErr(t, "unknown version", natGet(t, e, e.AdminKey, sid, "f", "version", "01ARZ3NDEKTSV4RRFFQ69G5FAV"), http.StatusNotFound, "not_found")
		natWantErr(t, "version of another path", natGet(t, e, e.AdminKey, sid, "g", "version", v1.Version), http.StatusNotFound, "not_found")
		r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "f")})
		natWant(t, "deletefile", r, http.StatusOK)
		var del struct{ Version string }
		r.JSON(t, &del)
		natWantErr(t, "deleted file", natGet(t, e, e.AdminKey, sid, "f"), http.StatusNotFound, "not_found")
		natWantErr(t, "tombstone version", natGet(t, e, e.AdminKey, sid, "f", "version", del.Version), http.StatusNotFound, "not_found")
		if r := natGet(t, e, e.AdminKey, sid, "f", "version", v1.Version); r.Status != http.StatusOK || string(r.Body) != "first" {
			t.Errorf("old version after delete: %d %q", r.Status, r.Body)
		}
	})

	t.Run("range", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		body := []byte("0123456789abcdef")
		big := make([]byte, 200<<10) // past the inline threshold: served from the blobstore
		if _, err := rand.Read(big); err != nil {
			t.Fatal(err)
		}
		e.Upload(t, e.AdminKey, sid, "small", body, nil)
		e.Upload(t, e.AdminKey, sid, "big", big, nil)
		for _, c := range []struct {
			path, rng, cr string
			want          []byte
		}{
			{"small", "bytes=2-5", "bytes 2-5/16", body[2:6]},
			{"small", "bytes=10-", "bytes 10-15/16", body[10:]},
			{"small", "bytes=-3", "bytes 13-15/16", body[13:]},
			{"small", "bytes=15-100", "bytes 15-15/16", body[15:]},
			{"big", "bytes=100000-100099", "bytes 100000-100099/204800", big[100000:100100]},
			{"big", "bytes=-10", "bytes 204790-204799/204800", big[204790:]},
		} {
			r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", c.path), Header: map[string]string{"Range": c.rng}})
			natWant(t, "Range "+c.rng, r, http.StatusPartialContent)
			if !bytes.Equal(r.Body, c.want) || r.Header.Get("Content-Range") != c.cr ||
				r.Header.Get("Content-Length") != strconv.Itoa(len(c.want)) {
				t.Errorf("%s Range %s: %d bytes, Content-Range %q, Content-Length %q; want %d bytes, %q",
					c.path, c.rng, len(r.Body), r.Header.Get("Content-Range"), r.Header.Get("Content-Length"), len(c.want), c.cr)
			}
		}
		r := natGet(t, e, e.AdminKey, sid, "big")
		if !bytes.Equal(r.Body, big) {
			t.Errorf("big file: %d bytes back, differing", len(r.Body))
		}
		for _, rng := range []string{"bytes=16-", "bytes=100-200"} {
			r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "small"), Header: map[string]string{"Range": rng}})
			natWantErr(t, "Range "+rng, r, http.StatusRequestedRangeNotSatisfiable, "")
			if cr := r.Header.Get("Content-Range"); cr != "bytes */16" {
				t.Errorf("Range %s: Content-Range %q, want bytes */16", rng, cr)
			}
		}
		// RFC 9110: a Range header that cannot be parsed is ignored.
		for _, rng := range []string{"bytes=abc-", "bytes=3-1", "items=0-1"} {
			r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "small"), Header: map[string]string{"Range": rng}})
			natWant(t, "Range "+rng, r, http.StatusOK)
			if len(r.Body) != 16 {
				t.Errorf("Range %s: %d bytes, want the whole 16", rng, len(r.Body))
			}
		}
		// If-Match compares strongly: a weak tag never matches (409, the
		// dialect's precondition status, with its JSON body).
		etag := natGet(t, e, e.AdminKey, sid, "small").Header.Get("ETag")
		r = e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "small"), Header: map[string]string{"If-Match": "W/" + etag}})
		natWantErr(t, "If-Match weak", r, http.StatusConflict, "precondition_failed")
	})

	t.Run("conditional", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		e.Upload(t, e.AdminKey, sid, "c", []byte("conditional"), nil)
		r := natGet(t, e, e.AdminKey, sid, "c")
		etag, lm := r.Header.Get("ETag"), r.Header.Get("Last-Modified")
		lmt, err := http.ParseTime(lm)
		if err != nil {
			t.Fatalf("Last-Modified %q: %v", lm, err)
		}
		for _, c := range []struct {
			name, value string
			status      int
		}{
			{"If-None-Match", etag, http.StatusNotModified},
			{"If-None-Match", `"other", ` + etag, http.StatusNotModified},
			{"If-None-Match", "*", http.StatusNotModified},
			{"If-None-Match", `"0123456789abcdef0123456789abcdef"`, http.StatusOK},
			{"If-Modified-Since", lm, http.StatusNotModified},
			{"If-Modified-Since", lmt.Add(time.Hour).Format(http.TimeFormat), http.StatusNotModified},
			{"If-Modified-Since", lmt.Add(-time.Second).Format(http.TimeFormat), http.StatusOK},
		} {
			r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "c"), Header: map[string]string{c.name: c.value}})
			natWant(t, c.name+": "+c.value, r, c.status)
			if c.status == http.StatusNotModified {
				if len(r.Body) != 0 {
					t.Errorf("304 with a body: %q", r.Body)
				}
				if r.Header.Get("ETag") != etag {
					t.Errorf("304 ETag %q, want %q", r.Header.Get("ETag"), etag)
				}
			} else if string(r.Body) != "conditional" {
				t.Errorf("%s: body %q", c.name, r.Body)
			}
		}
	})
}

func TestNative_UploadFile(t *testing.T) {
	t.Parallel()
	e := Start(t)

	t.Run("put_and_post", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		var last uint64
		for i, m := range []string{http.MethodPut, http.MethodPost} {
			body := []byte("body by " + m)
			r := e.Do(t, Req{Method: m, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "p/"+m),
				Body: bytes.NewReader(body)})
			natWant(t, m+" uploadfile", r, http.StatusCreated)
			natHasMembers(t, m+" uploadfile", r.Body, "path", "version", "size", "etag", "sync_id")
			var u UploadResult
			r.JSON(t, &u)
			if u.Path != "p/"+m || u.Size != int64(len(body)) || u.Version == "" || u.ETag == "" || u.SyncID != uint64(i+1) {
				t.Errorf("%s: %+v", m, u)
			}
			last = u.SyncID
			g := natGet(t, e, e.AdminKey, sid, "p/"+m)
			if !bytes.Equal(g.Body, body) || g.Header.Get("X-Version-Id") != u.Version || g.Header.Get("ETag") != `"`+u.ETag+`"` {
				t.Errorf("%s: read back %q, version %q, etag %q", m, g.Body, g.Header.Get("X-Version-Id"), g.Header.Get("ETag"))
			}
		}
		// a form content type does not make the server read the body as a form
		form := []byte("a=b&c=d")
		r := e.Do(t, Req{Method: http.MethodPost, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "form"),
			Body: bytes.NewReader(form), Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		natWant(t, "POST form body", r, http.StatusCreated)
		if g := natGet(t, e, e.AdminKey, sid, "form"); !bytes.Equal(g.Body, form) || g.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("form body read back as %q (%s)", g.Body, g.Header.Get("Content-Type"))
		}
		last++
		// a chunked body of unknown length, past the inline threshold
		big := make([]byte, 300<<10)
		if _, err := rand.Read(big); err != nil {
			t.Fatal(err)
		}
		r = e.Do(t, Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "chunked"),
			Body: io.MultiReader(bytes.NewReader(big[:1000]), bytes.NewReader(big[1000:]))})
		natWant(t, "chunked upload", r, http.StatusCreated)
		var cu UploadResult
		r.JSON(t, &cu)
		if cu.Size != int64(len(big)) {
			t.Errorf("chunked upload size %d, want %d", cu.Size, len(big))
		}
		if g := natGet(t, e, e.AdminKey, sid, "chunked"); !bytes.Equal(g.Body, big) {
			t.Errorf("chunked upload read back differs (%d bytes)", len(g.Body))
		}
		last++
		// an empty body is a file of size 0
		u := e.Upload(t, e.AdminKey, sid, "empty", nil, nil)
		if u.Size != 0 || u.SyncID != last+1 {
			t.Errorf("empty upload: %+v", u)
		}
		if g := natGet(t, e, e.AdminKey, sid, "empty"); g.Status != http.StatusOK || len(g.Body) != 0 || g.Header.Get("Content-Length") != "0" {
			t.Errorf("empty file: %d %q %q", g.Status, g.Body, g.Header.Get("Content-Length"))
		}
	})

	t.Run("meta", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		e.Upload(t, e.AdminKey, sid, "m", []byte("x"), map[string]string{
			"x-owncdn-meta-color": "blue", "X-Owncdn-Meta-Owner-Name": "Ana María",
		})
		r := natGet(t, e, e.AdminKey, sid, "m")
		if got := r.Header.Get("x-owncdn-meta-color"); got != "blue" {
			t.Errorf("x-owncdn-meta-color: %q", got)
		}
		if got := r.Header.Get("x-owncdn-meta-owner-name"); got != "Ana María" {
			t.Errorf("x-owncdn-meta-owner-name: %q", got)
		}
		p := natSync(t, e, e.AdminKey, sid, "after", "0")
		if len(p.Updates) != 1 || p.Updates[0].Meta["color"] != "blue" || p.Updates[0].Meta["owner-name"] != "Ana María" {
			t.Errorf("syncnext meta: %+v", p.Updates)
		}
		// a new version without meta headers has none
		e.Upload(t, e.AdminKey, sid, "m", []byte("y"), nil)
		if got := natGet(t, e, e.AdminKey, sid, "m").Header.Get("x-owncdn-meta-color"); got != "" {
			t.Errorf("meta survived a new version: %q", got)
		}
	})

	t.Run("conditions", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		v1 := e.Upload(t, e.AdminKey, sid, "c", []byte("one"), nil)

		r := natPut(t, e, e.AdminKey, sid, "c", []byte("nope"), map[string]string{"If-Match": `"0123456789abcdef0123456789abcdef"`})
		natWantErr(t, "If-Match another etag", r, http.StatusConflict, "precondition_failed")
		v2 := e.Upload(t, e.AdminKey, sid, "c", []byte("two"), map[string]string{"If-Match": `"` + v1.ETag + `"`})
		if v2.SyncID != v1.SyncID+1 {
			t.Errorf("If-Match success: %+v", v2)
		}
		r = natPut(t, e, e.AdminKey, sid, "c", []byte("stale"), map[string]string{"If-Match": `"` + v1.ETag + `"`})
		natWantErr(t, "If-Match a stale etag", r, http.StatusConflict, "precondition_failed")
		r = natPut(t, e, e.AdminKey, sid, "absent", []byte("x"), map[string]string{"If-Match": `"` + v1.ETag + `"`})
		natWantErr(t, "If-Match on an absent path", r, http.StatusConflict, "precondition_failed")

		r = natPut(t, e, e.AdminKey, sid, "c", []byte("again"), map[string]string{"If-None-Match": "*"})
		natWantErr(t, "If-None-Match: * on an existing path", r, http.StatusConflict, "precondition_failed")
		e.Upload(t, e.AdminKey, sid, "new", []byte("fresh"), map[string]string{"If-None-Match": "*"})

		if g := natGet(t, e, e.AdminKey, sid, "c"); string(g.Body) != "two" {
			t.Errorf("failed preconditions changed the file: %q", g.Body)
		}
		if vs := natVersions(t, e, e.AdminKey, sid, "c"); len(vs) != 2 {
			t.Errorf("versions of c: %+v", vs)
		}
		natWantErr(t, "absent stays absent", natGet(t, e, e.AdminKey, sid, "absent"), http.StatusNotFound, "not_found")

		// after a delete the path is free again for If-None-Match: *
		natWant(t, "deletefile", e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "c")}), http.StatusOK)
		e.Upload(t, e.AdminKey, sid, "c", []byte("three"), map[string]string{"If-None-Match": "*"})
	})

	t.Run("bad_expiry_headers", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		for h, v := range map[string]string{
			"x-owncdn-delete-after": "soon",
			"x-owncdn-delete-at":    "1", // long past
		} {
			r := natPut(t, e, e.AdminKey, sid, "x", []byte("x"), map[string]string{h: v})
			natWantErr(t, h+": "+v, r, http.StatusBadRequest, "invalid_argument")
		}
		natWantErr(t, "nothing stored", natGet(t, e, e.AdminKey, sid, "x"), http.StatusNotFound, "not_found")
	})
}

// TestNative_Expiry: an object past its delete-at is gone for readers the
// moment the clock passes it, and the reaper then records an expire op.
func TestNative_Expiry(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	sid := e.WithService(t)
	key := e.AdminKey

	a := e.Upload(t, key, sid, "a", []byte("expires in 60s"), map[string]string{"x-owncdn-delete-after": "60"})
	e.Upload(t, key, sid, "b", []byte("expires later"), map[string]string{"x-owncdn-delete-at": strconv.FormatInt(clk.Now().Unix()+3600, 10)})
	// c had an expiry but a newer version without one replaced it
	e.Upload(t, key, sid, "c", []byte("would expire"), map[string]string{"x-owncdn-delete-after": "30"})
	c2 := e.Upload(t, key, sid, "c", []byte("stays"), nil)
	for _, p := range []string{"a", "b", "c"} {
		natWant(t, "getfile "+p+" before expiry", natGet(t, e, key, sid, p), http.StatusOK)
	}

	clk.Advance(61 * time.Second)
	// reads do not wait for the reaper
	natWantErr(t, "expired a", natGet(t, e, key, sid, "a"), http.StatusNotFound, "not_found")
	natWantErr(t, "expired a by version", natGet(t, e, key, sid, "a", "version", a.Version), http.StatusNotFound, "not_found")
	r := e.Do(t, Req{Method: http.MethodHead, Fn: "getfile", Key: key, Query: Q("sid", sid, "path", "a")})
	if r.Status != http.StatusNotFound {
		t.Errorf("HEAD expired a: %d", r.Status)
	}
	natWant(t, "getfile b", natGet(t, e, key, sid, "b"), http.StatusOK)
	if g := natGet(t, e, key, sid, "c"); g.Status != http.StatusOK || string(g.Body) != "stays" {
		t.Errorf("c: %d %q", g.Status, g.Body)
	}
	p := natList(t, e, key, sid)
	if len(p.Files) != 2 || p.Files[0].Path != "b" || p.Files[1].Path != "c" {
		t.Errorf("listing after expiry: %+v", p.Files)
	}
	// an expired file is absent for deletefile too
	natWantErr(t, "deletefile of an expired file", e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: key,
		Query: Q("sid", sid, "path", "a")}), http.StatusNotFound, "not_found")

	expired := natWaitOp(t, e, key, sid, c2.SyncID, "expire", "a")
	if expired.SyncID <= c2.SyncID {
		t.Errorf("expire op: %+v", expired)
	}
	// b expires later: move past it and wait for its op too; by then every
	// earlier due expiry (c's replaced version) has been considered
	clk.Advance(time.Hour)
	natWantErr(t, "expired b", natGet(t, e, key, sid, "b"), http.StatusNotFound, "not_found")
	natWaitOp(t, e, key, sid, expired.SyncID, "expire", "b")
	all := natSync(t, e, key, sid, "after", "0", "limit", "1000")
	var ops []string
	for _, u := range all.Updates {
		ops = append(ops, u.Op+" "+u.Path)
	}
	if natf("%q", ops) != natf("%q", []string{"put a", "put b", "put c", "put c", "expire a", "expire b"}) {
		t.Errorf("syncnext ops: %q", ops)
	}
	if s := natServices(t, e, key)[sid]; s.Files != 1 || s.Bytes != 5 {
		t.Errorf("usage after expiry: %+v", s)
	}
	// the past still shows what was live then
	if g := natGet(t, e, key, sid, "a", "asof", "sync:"+strconv.FormatUint(a.SyncID, 10)); g.Status != http.StatusOK || string(g.Body) != "expires in 60s" {
		t.Errorf("getfile a as of its upload: %d %q", g.Status, g.Body)
	}
	if p := natList(t, e, key, sid, "asof", "sync:"+strconv.FormatUint(c2.SyncID, 10)); len(p.Files) != 3 {
		t.Errorf("filelist as of before the expiry: %+v", p.Files)
	}
	vs := natVersions(t, e, key, sid, "b")
	for _, v := range vs {
		if v.Current {
			t.Errorf("expired b has a current version: %+v", vs)
		}
	}
	// a path whose only version expired can be written again with If-None-Match: *
	e.Upload(t, key, sid, "a", []byte("again"), map[string]string{"If-None-Match": "*"})
}

// natWaitOp long-polls syncnext after a sync id until an update with op
// and path arrives, and returns it.
func natWaitOp(t *testing.T, e *Env, key, sid string, after uint64, op, path string) schema.Update {
	t.Helper()
	var found schema.Update
	eventually(t, 30*time.Second, func() error {
		p := natSync(t, e, key, sid, "after", strconv.FormatUint(after, 10), "wait", "5")
		for _, u := range p.Updates {
			if u.Op == op && u.Path == path {
				found = u
				return nil
			}
			after = u.SyncID
		}
		return fmt.Errorf("no %s op for %q in syncnext", op, path)
	})
	return found
}

func TestNative_DeleteFile(t *testing.T) {
	t.Parallel()
	e := Start(t)
	for _, method := range []string{http.MethodDelete, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			sid := e.WithService(t)
			u := e.Upload(t, e.AdminKey, sid, "d", []byte("doomed"), nil)
			e.Upload(t, e.AdminKey, sid, "keep", []byte("kept"), nil)
			r := e.Do(t, Req{Method: method, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "d")})
			natWant(t, "deletefile", r, http.StatusOK)
			natHasMembers(t, "deletefile", r.Body, "path", "version", "sync_id")
			var del struct {
				Path    string `json:"path"`
				Version string `json:"version"`
				SyncID  uint64 `json:"sync_id"`
			}
			r.JSON(t, &del)
			if del.Path != "d" || del.Version == "" || del.Version == u.Version || del.SyncID != 3 {
				t.Errorf("deletefile answer: %+v", del)
			}
			natWantErr(t, "getfile after delete", natGet(t, e, e.AdminKey, sid, "d"), http.StatusNotFound, "not_found")
			vs := natVersions(t, e, e.AdminKey, sid, "d")
			if len(vs) != 2 || vs[0].Version != del.Version || !vs[0].Deleted || vs[0].Current || vs[0].SyncID != del.SyncID ||
				vs[1].Version != u.Version || vs[1].Deleted || vs[1].Current || vs[1].SyncID != u.SyncID {
				t.Errorf("versionlist after delete: %+v", vs)
			}
			if p := natList(t, e, e.AdminKey, sid); len(p.Files) != 1 || p.Files[0].Path != "keep" {
				t.Errorf("filelist after delete: %+v", p.Files)
			}
			s := natSync(t, e, e.AdminKey, sid, "after", "2")
			if len(s.Updates) != 1 || s.Updates[0].Op != "delete" || s.Updates[0].Path != "d" || s.Updates[0].Version != del.Version {
				t.Errorf("syncnext after delete: %+v", s.Updates)
			}
			// absent: already deleted, never existed
			r = e.Do(t, Req{Method: method, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "d")})
			natWantErr(t, "delete again", r, http.StatusNotFound, "not_found")
			r = e.Do(t, Req{Method: method, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "never")})
			natWantErr(t, "delete a never-seen path", r, http.StatusNotFound, "not_found")
			if s := natServices(t, e, e.AdminKey)[sid]; s.LastSyncID != 3 || s.Files != 1 {
				t.Errorf("failed deletes changed the service: %+v", s)
			}
		})
	}

	t.Run("if_match", func(t *testing.T) {
		t.Parallel()
		sid := e.WithService(t)
		u := e.Upload(t, e.AdminKey, sid, "d", []byte("v1"), nil)
		r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "d"),
			Header: map[string]string{"If-Match": `"0123456789abcdef0123456789abcdef"`}})
		natWantErr(t, "delete with another etag", r, http.StatusConflict, "precondition_failed")
		natWant(t, "still there", natGet(t, e, e.AdminKey, sid, "d"), http.StatusOK)
		r = e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "d"),
			Header: map[string]string{"If-Match": `"` + u.ETag + `"`}})
		natWant(t, "delete with the current etag", r, http.StatusOK)
		natWantErr(t, "gone", natGet(t, e, e.AdminKey, sid, "d"), http.StatusNotFound, "not_found")
	})
}

func TestNative_VersionList(t *testing.T) {
	t.Parallel()
	e := Start(t)
	sid := e.WithService(t)
	var ups []UploadResult
	for i, body := range []string{"one", "two!", "three"} {
		ups = append(ups, e.Upload(t, e.AdminKey, sid, "v", []byte(body), nil))
		e.Upload(t, e.AdminKey, sid, "other"+strconv.Itoa(i), []byte("x"), nil) // interleaved sync ids
	}
	r := e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", "v")})
	natWant(t, "versionlist", r, http.StatusOK)
	var raw struct {
		Versions []json.RawMessage `json:"versions"`
	}
	r.JSON(t, &raw)
	for _, v := range raw.Versions {
		natHasMembers(t, "versionlist entry", v, "version", "modified", "size", "etag", "deleted", "current", "sync_id")
	}
	vs := natVersions(t, e, e.AdminKey, sid, "v")
	if len(vs) != 3 {
		t.Fatalf("versions: %+v", vs)
	}
	var prev time.Time
	for i, v := range vs {
		u := ups[len(ups)-1-i] // newest first
		if v.Version != u.Version || v.Size != u.Size || v.ETag != u.ETag || v.SyncID != u.SyncID || v.Deleted || v.Current != (i == 0) {
			t.Errorf("version %d: %+v, uploaded %+v", i, v, u)
		}
		mt, err := time.Parse(time.RFC3339Nano, v.Modified)
		if err != nil {
			t.Errorf("modified %q: %v", v.Modified, err)
		}
		if i > 0 && mt.After(prev) {
			t.Errorf("version %d is newer than version %d", i, i-1)
		}
		prev = mt
	}
	if vs[0].SyncID != 5 || vs[1].SyncID != 3 || vs[2].SyncID != 1 {
		t.Errorf("sync ids %d %d %d, want 5 3 1", vs[0].SyncID, vs[1].SyncID, vs[2].SyncID)
	}
	natWantErr(t, "never-seen path", e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", "nope")}),
		http.StatusNotFound, "not_found")
	natWantErr(t, "a prefix of a path is not the path", e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", "othe")}),
		http.StatusNotFound, "not_found")
	natWantErr(t, "missing path", e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid)}),
		http.StatusBadRequest, "invalid_argument")
}

func TestNative_SyncNext(t *testing.T) {
	t.Parallel()
	e := Start(t)
	sid := e.WithService(t)
	k := e.NewKey(t, map[string]string{sid: "read"})
	a := e.Upload(t, e.AdminKey, sid, "a", []byte("aaa"), map[string]string{"Content-Type": "text/plain", "x-owncdn-meta-k": "v"})
	b := e.Upload(t, e.AdminKey, sid, "b", []byte("bb"), nil)
	r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "a")})
	natWant(t, "deletefile", r, http.StatusOK)
	var del UploadResult
	r.JSON(t, &del)
	c := e.Upload(t, e.AdminKey, sid, "c", []byte("c"), nil)

	raw := e.Do(t, Req{Fn: "syncnext", Key: k.Value, Query: Q("sid", sid)})
	natWant(t, "syncnext", raw, http.StatusOK)
	var rawPage struct {
		Updates []json.RawMessage `json:"updates"`
	}
	raw.JSON(t, &rawPage)
	for _, u := range rawPage.Updates {
		natHasMembers(t, "syncnext update", u, "sync_id", "time", "op", "path", "version", "size", "etag",
			"content_type", "meta", "delete_at", "copied_from")
	}

	p := natSync(t, e, k.Value, sid, "after", "0")
	if p.LastSyncID != 4 || len(p.Updates) != 4 {
		t.Fatalf("syncnext: %+v", p)
	}
	want := []struct {
		op, path, version string
		size              int64
		etag              string
	}{
		{"put", "a", a.Version, 3, a.ETag}, {"put", "b", b.Version, 2, b.ETag},
		{"delete", "a", del.Version, 0, ""}, {"put", "c", c.Version, 1, c.ETag},
	}
	for i, u := range p.Updates {
		w := want[i]
		if u.SyncID != uint64(i+1) || u.Op != w.op || u.Path != w.path || u.Version != w.version {
			t.Errorf("update %d: %+v, want %+v", i, u, w)
		}
		if w.op == "put" && (u.Size != w.size || u.ETag != w.etag) {
			t.Errorf("update %d: size %d etag %q, want %d %q", i, u.Size, u.ETag, w.size, w.etag)
		}
		if _, err := time.Parse(time.RFC3339, u.Time); err != nil {
			t.Errorf("update %d: time %q: %v", i, u.Time, err)
		}
	}
	if u := p.Updates[0]; u.ContentType != "text/plain" || u.Meta["k"] != "v" {
		t.Errorf("first update: content type %q meta %v", u.ContentType, u.Meta)
	}
	// the replica fetches content by getfile with version
	if g := natGet(t, e, k.Value, sid, "a", "version", p.Updates[0].Version); g.Status != http.StatusOK || string(g.Body) != "aaa" {
		t.Errorf("getfile of a synced version: %d %q", g.Status, g.Body)
	}

	if p := natSync(t, e, k.Value, sid); len(p.Updates) != 4 {
		t.Errorf("no after (= 0): %d updates", len(p.Updates))
	}
	p = natSync(t, e, k.Value, sid, "after", "2")
	if len(p.Updates) != 2 || p.Updates[0].SyncID != 3 || p.Updates[1].SyncID != 4 || p.LastSyncID != 4 {
		t.Errorf("after=2: %+v", p)
	}
	p = natSync(t, e, k.Value, sid, "after", "0", "limit", "2")
	if len(p.Updates) != 2 || p.Updates[0].SyncID != 1 || p.Updates[1].SyncID != 2 || p.LastSyncID != 4 {
		t.Errorf("limit=2: %+v", p)
	}
	p = natSync(t, e, k.Value, sid, "after", "4")
	if len(p.Updates) != 0 || p.LastSyncID != 4 {
		t.Errorf("after=last: %+v", p)
	}
	for _, q := range [][]string{{"after", "x"}, {"after", "-1"}, {"limit", "0"}, {"limit", "1001"}, {"limit", "many"},
		{"wait", "61"}, {"wait", "-1"}, {"wait", "soon"}} {
		r := e.Do(t, Req{Fn: "syncnext", Key: k.Value, Query: Q("sid", sid, q[0], q[1])})
		natWantErr(t, "syncnext "+q[0]+"="+q[1], r, http.StatusBadRequest, "invalid_argument")
	}

	// wait with nothing new returns no updates
	p = natSync(t, e, k.Value, sid, "after", "4", "wait", "1")
	if len(p.Updates) != 0 || p.LastSyncID != 4 {
		t.Errorf("wait with nothing new: %+v", p)
	}

	// long poll: a request in flight returns the upload made meanwhile
	type result struct {
		page schema.SyncPage
		err  error
	}
	done := make(chan result, 1)
	wrote := make(chan struct{})
	go func() {
		var once sync.Once
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(wrote) }) }}
		ctx := httptrace.WithClientTrace(context.Background(), trace)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/syncnext?"+Q("sid", sid, "after", "4", "wait", "10").Encode(), nil)
		if err != nil {
			once.Do(func() { close(wrote) })
			done <- result{err: err}
			return
		}
		req.Header.Set("x-owncdn-key", k.Value)
		resp, err := e.Client.Do(req)
		once.Do(func() { close(wrote) })
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var res result
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = natErr("syncnext status %d: %s", resp.StatusCode, b)
		}
		if err == nil {
			err = json.Unmarshal(b, &res.page)
		}
		res.err = err
		done <- res
	}()
	<-wrote
	// a change to another service does not end the wait
	e.Upload(t, e.AdminKey, e.WithService(t), "elsewhere", []byte("x"), nil)
	d := e.Upload(t, e.AdminKey, sid, "d", []byte("during the wait"), nil)
	res := <-done
	if res.err != nil {
		t.Fatalf("long poll: %v", res.err)
	}
	if len(res.page.Updates) != 1 || res.page.Updates[0].SyncID != d.SyncID || res.page.Updates[0].Path != "d" ||
		res.page.Updates[0].Version != d.Version || res.page.LastSyncID != 5 {
		t.Errorf("long poll answer: %+v, want the upload %+v", res.page, d)
	}
}

type natError string

func (e natError) Error() string { return string(e) }

func natErr(format string, a ...any) error { return natError(natf(format, a...)) }

type natRequest struct {
	Time       string  `json:"time"`
	Method     string  `json:"method"`
	Function   string  `json:"function"`
	Path       string  `json:"path"`
	Status     int     `json:"status"`
	Bytes      int64   `json:"bytes"`
	DurationMS float64 `json:"duration_ms"`
	ClientIP   string  `json:"client_ip"`
	KeyID      string  `json:"key_id"`
	UserAgent  string  `json:"user_agent"`
}

func natReqList(t testing.TB, e *Env, key, sid string, kv ...string) ([]natRequest, *Resp) {
	t.Helper()
	r := e.Do(t, Req{Fn: "reqlist", Key: key, Query: Q(append([]string{"sid", sid}, kv...)...)})
	natWant(t, "reqlist", r, http.StatusOK)
	var out struct {
		Requests []natRequest `json:"requests"`
	}
	r.JSON(t, &out)
	if out.Requests == nil {
		t.Errorf("reqlist: requests is null or missing: %s", r.Body)
	}
	return out.Requests, r
}

func TestNative_ReqList(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "restarts the server")
	sid := e.WithService(t)
	other := e.WithService(t)
	k := e.NewKey(t, map[string]string{sid: "write"})
	ua := map[string]string{"User-Agent": "cairn-e2e/1.0"}
	do := func(method, fn, path string, body []byte, status int) {
		t.Helper()
		q := Q("sid", sid)
		if path != "" {
			q.Set("path", path)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		r := e.Do(t, Req{Method: method, Fn: fn, Key: k.Value, Query: q, Body: rd, Header: ua})
		natWant(t, method+" "+fn, r, status)
	}
	do(http.MethodPut, "uploadfile", "r/one.txt", []byte("hello"), http.StatusCreated)
	do(http.MethodGet, "getfile", "r/one.txt", nil, http.StatusOK)
	do(http.MethodGet, "getfile", "r/missing", nil, http.StatusNotFound)
	do(http.MethodHead, "getfile", "r/one.txt", nil, http.StatusOK)
	do(http.MethodGet, "filelist", "", nil, http.StatusOK)
	e.Upload(t, e.AdminKey, other, "elsewhere", []byte("x"), nil) // another service's log

	type entry struct {
		method, function, path string
		status                 int
	}
	want := []entry{ // newest first
		{"GET", "filelist", "", 200},
		{"HEAD", "getfile", "r/one.txt", 200},
		{"GET", "getfile", "r/missing", 404},
		{"GET", "getfile", "r/one.txt", 200},
		{"PUT", "uploadfile", "r/one.txt", 201},
	}
	check := func(what string, got []natRequest, want []entry) {
		t.Helper()
		var g []entry
		for _, r := range got {
			if r.Function != "reqlist" {
				g = append(g, entry{r.Method, r.Function, r.Path, r.Status})
			}
		}
		if natf("%v", g) != natf("%v", want) {
			t.Errorf("%s: %v, want %v", what, g, want)
		}
	}
	got, raw := natReqList(t, e, k.Value, sid)
	check("reqlist", got, want)
	if bytes.Contains(raw.Body, []byte(k.Value)) || bytes.Contains(raw.Body, []byte(e.AdminKey)) {
		t.Errorf("reqlist contains a key value: %s", raw.Body)
	}
	var prev time.Time
	for i, r := range got {
		tm, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			t.Errorf("entry %d: time %q: %v", i, r.Time, err)
		}
		if i > 0 && tm.After(prev) {
			t.Errorf("entry %d is newer than entry %d", i, i-1)
		}
		prev = tm
		if r.KeyID != k.ID || r.UserAgent != "cairn-e2e/1.0" || r.ClientIP != "127.0.0.1" || r.DurationMS < 0 {
			t.Errorf("entry %d: %+v", i, r)
		}
	}
	if got[3].Bytes != 5 || got[1].Bytes != 0 || got[2].Bytes == 0 {
		t.Errorf("bytes: getfile %d, HEAD %d, 404 %d", got[3].Bytes, got[1].Bytes, got[2].Bytes)
	}
	natHasMembers(t, "reqlist entry", natRawEntry(t, raw.Body, 3), "time", "method", "function", "path", "status", "bytes",
		"duration_ms", "client_ip", "key_id", "user_agent")

	// limit; the previous reqlist call is now the newest entry
	got, _ = natReqList(t, e, k.Value, sid, "limit", "2")
	if len(got) != 2 || got[0].Function != "reqlist" || got[1].Function != "filelist" {
		t.Errorf("limit=2: %+v", got)
	}
	for _, bad := range []string{"0", "1001", "x"} {
		natWantErr(t, "reqlist limit="+bad, e.Do(t, Req{Fn: "reqlist", Key: k.Value, Query: Q("sid", sid, "limit", bad)}),
			http.StatusBadRequest, "invalid_argument")
	}
	// another service's log holds only its own requests
	og, _ := natReqList(t, e, e.AdminKey, other)
	for _, r := range og {
		if r.Path == "r/one.txt" {
			t.Errorf("other service's reqlist has %+v", r)
		}
	}

	e.Restart(t)
	got, raw = natReqList(t, e, k.Value, sid, "limit", "1000")
	check("reqlist after restart", got, want)
	if bytes.Contains(raw.Body, []byte(k.Value)) || bytes.Contains(raw.Body, []byte(e.AdminKey)) {
		t.Errorf("reqlist contains a key value: %s", raw.Body)
	}
}

// natRawEntry returns the i-th entry of reqlist's requests as raw JSON.
func natRawEntry(t testing.TB, body []byte, i int) json.RawMessage {
	t.Helper()
	var out struct {
		Requests []json.RawMessage `json:"requests"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Requests) <= i {
		t.Fatalf("reqlist: no entry %d: %s", i, body)
	}
	return out.Requests[i]
}
