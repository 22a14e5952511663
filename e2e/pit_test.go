package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
)

// The point-in-time extension reads the same past in the native API (asof),
// S3 (x-cairn-asof) and Swift (X-Cairn-Asof or ?asof); restore and fork
// bring it back by appending events; retention refuses moments it no
// longer reaches, naming the oldest one.
func TestPointInTime_Dialects(t *testing.T) {
	clk := newTestClock(time.Time{})
	e := Start(t, func(c *server.Config) { c.Clock = clk.Now })
	sid := e.WithService(t)
	e.Upload(t, e.AdminKey, sid, "doc.txt", []byte("first"), nil)
	e.Upload(t, e.AdminKey, sid, "gone.txt", []byte("here"), nil)
	clk.Advance(time.Minute)
	then := clk.Now().Format(time.RFC3339Nano) // both files, doc.txt = first
	clk.Advance(time.Minute)
	e.Upload(t, e.AdminKey, sid, "doc.txt", []byte("second"), nil)
	if r := e.Do(t, Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", "gone.txt")}); r.Status != http.StatusOK {
		t.Fatalf("deletefile: %d", r.Status)
	}
	e.Upload(t, e.AdminKey, sid, "new.txt", []byte("new"), nil)

	// native
	if r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "doc.txt", "asof", then)}); string(r.Body) != "first" {
		t.Fatalf("native asof: %d %q", r.Status, r.Body)
	}
	// S3, by header and by query parameter
	r := s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodGet, "/"+sid+"/doc.txt", nil, map[string]string{"x-cairn-asof": then}, "")
	if r.Status != http.StatusOK || string(r.Body) != "first" {
		t.Fatalf("S3 asof header: %d %q", r.Status, r.Body)
	}
	r = s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodGet, "/"+sid+"/gone.txt?x-cairn-asof="+then, nil, nil, "")
	if r.Status != http.StatusOK || string(r.Body) != "here" {
		t.Fatalf("S3 asof query: %d %q", r.Status, r.Body)
	}
	r = s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodGet, "/"+sid+"/new.txt", nil, map[string]string{"x-cairn-asof": then}, "")
	s3WantXMLError(t, "S3 asof of a later file", r, http.StatusNotFound, "NoSuchKey")
	r = s3Do(t, e, e.AdminKeyID, e.AdminKey, http.MethodGet, "/"+sid+"?list-type=2", nil, map[string]string{"x-cairn-asof": then}, "")
	if body := string(r.Body); r.Status != http.StatusOK || !strings.Contains(body, "<Key>gone.txt</Key>") || strings.Contains(body, "new.txt") {
		t.Fatalf("S3 asof listing: %d %s", r.Status, body)
	}
	// Swift
	tok := swToken(t, e, Key{ID: e.AdminKeyID, Value: e.AdminKey})
	sr := swDo(t, e, http.MethodGet, "/v1/default/"+sid+"/doc.txt", tok, map[string]string{"X-Cairn-Asof": then}, nil)
	if sr.Status != http.StatusOK || string(sr.Body) != "first" {
		t.Fatalf("Swift asof: %d %q", sr.Status, sr.Body)
	}
	names := swListPlain(t, e, "/v1/default/"+sid, tok, "asof", then)
	if strings.Join(names, ",") != "doc.txt,gone.txt" {
		t.Fatalf("Swift asof listing: %v", names)
	}

	// a fork of the moment, then a restore in place, both by events
	var res struct {
		Actions []map[string]string `json:"actions"`
	}
	e.Admin(t, "restore", map[string]any{"sid": sid, "to": then, "into": "fork-" + sid}, http.StatusOK).JSON(t, &res)
	if len(res.Actions) != 2 {
		t.Fatalf("fork actions: %v", res.Actions)
	}
	e.Admin(t, "restore", map[string]any{"sid": sid, "to": then, "dry_run": true}, http.StatusOK).JSON(t, &res)
	if len(res.Actions) != 3 { // doc.txt and gone.txt back, new.txt deleted
		t.Fatalf("dry run actions: %v", res.Actions)
	}
	if r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "new.txt")}); r.Status != http.StatusOK {
		t.Fatalf("a dry run changed the service: %d", r.Status)
	}
	e.Admin(t, "restore", map[string]any{"sid": sid, "to": then}, http.StatusOK)
	for svc, want := range map[string]map[string]string{sid: {"doc.txt": "first", "gone.txt": "here", "new.txt": ""},
		"fork-" + sid: {"doc.txt": "first", "gone.txt": "here", "new.txt": ""}} {
		for path, body := range want {
			r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", svc, "path", path)})
			if (body == "" && r.Status != http.StatusNotFound) || (body != "" && string(r.Body) != body) {
				t.Fatalf("%s/%s after restore: %d %q, want %q", svc, path, r.Status, r.Body, body)
			}
		}
	}
	// the restore is in the history, with its actor
	var vl struct {
		Versions []struct {
			Op    string `json:"op"`
			Actor string `json:"actor"`
		} `json:"versions"`
	}
	e.Do(t, Req{Fn: "versionlist", Key: e.AdminKey, Query: Q("sid", sid, "path", "doc.txt")}).JSON(t, &vl)
	if len(vl.Versions) != 3 || vl.Versions[0].Op != "copy" || vl.Versions[0].Actor != e.AdminKeyID {
		t.Fatalf("doc.txt history after the restore: %+v", vl.Versions)
	}

	// retention: keep versions one hour; two hours later the past before
	// the horizon is refused with the oldest reachable moment
	e.Admin(t, "serviceupdate", map[string]any{"id": sid, "keep_versions": "1h"}, http.StatusOK)
	clk.Advance(2 * time.Hour)
	if n, err := e.Srv.Core.RetainOnce(t.Context()); err != nil || n == 0 {
		t.Fatalf("retention: %d %v", n, err)
	}
	nr := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "doc.txt", "asof", then)})
	if nr.Status != http.StatusGone || nr.ErrorCode() != "history_truncated" || !strings.Contains(string(nr.Body), "oldest reachable moment") {
		t.Fatalf("asof before the horizon: %d %s", nr.Status, nr.Body)
	}
	rr := e.Do(t, Req{Method: http.MethodPost, Fn: "restore", Key: e.AdminKey, Body: strings.NewReader(`{"sid":"` + sid + `","to":"` + then + `"}`)})
	if rr.Status != http.StatusGone {
		t.Fatalf("restore before the horizon: %d %s", rr.Status, rr.Body)
	}
	if r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "doc.txt")}); string(r.Body) != "first" {
		t.Fatalf("the live file after retention: %d %q", r.Status, r.Body)
	}
}

// A public container (.r:*) opens what is there now to anyone, never its
// history: after an object is deleted, an anonymous request cannot read it
// back with X-Cairn-Asof or ?asof (401), nor list the past (issue 18, item
// 2); a key that reads the container itself still can.
func TestPointInTime_PublicContainerKeepsHistoryPrivate(t *testing.T) {
	clk := newTestClock(time.Time{})
	e := Start(t, func(c *server.Config) { c.Clock = clk.Now })
	acct, admin := e.Account(t)
	tok := swToken(t, e, admin)
	cont := swName(t)
	swWant(t, "PUT public container", swDo(t, e, http.MethodPut, swPath(acct, cont), tok,
		map[string]string{"X-Container-Read": ".r:*,.rlistings"}, nil), http.StatusCreated)
	swWant(t, "PUT object", swDo(t, e, http.MethodPut, swPath(acct, cont, "secret.txt"), tok, nil,
		strings.NewReader("was public")), http.StatusCreated)
	clk.Advance(time.Minute)
	then := clk.Now().Format(time.RFC3339Nano)
	clk.Advance(time.Minute)
	swWant(t, "DELETE object", swDo(t, e, http.MethodDelete, swPath(acct, cont, "secret.txt"), tok, nil, nil), http.StatusNoContent)

	swWantErr(t, "anonymous GET of the deleted object", swDo(t, e, http.MethodGet, swPath(acct, cont, "secret.txt"), "", nil, nil), http.StatusNotFound)
	for what, r := range map[string]*Resp{
		"anonymous GET with X-Cairn-Asof":  swDo(t, e, http.MethodGet, swPath(acct, cont, "secret.txt"), "", map[string]string{"X-Cairn-Asof": then}, nil),
		"anonymous GET with ?asof":         swDo(t, e, http.MethodGet, swPath(acct, cont, "secret.txt")+"?asof="+url.QueryEscape(then), "", nil, nil),
		"anonymous HEAD with X-Cairn-Asof": swDo(t, e, http.MethodHead, swPath(acct, cont, "secret.txt"), "", map[string]string{"X-Cairn-Asof": then}, nil),
		"anonymous listing with ?asof":     swDo(t, e, http.MethodGet, swPath(acct, cont)+"?asof="+url.QueryEscape(then), "", nil, nil),
	} {
		if r.Status != http.StatusUnauthorized || strings.Contains(string(r.Body), "was public") || strings.Contains(string(r.Body), "secret.txt") {
			t.Errorf("%s: %d %q, want 401 and nothing of the past", what, r.Status, r.Body)
		}
	}
	// the container's own reader still reads its history
	r := swDo(t, e, http.MethodGet, swPath(acct, cont, "secret.txt"), tok, map[string]string{"X-Cairn-Asof": then}, nil)
	if r.Status != http.StatusOK || string(r.Body) != "was public" {
		t.Fatalf("the account admin's as-of read: %d %q", r.Status, r.Body)
	}
}

// Once an object's delete-at passes it is gone in every read form of
// every dialect, as-of reads included, for everyone but the service's
// administrators (issue 18, item 4).
func TestPointInTime_ExpiredIsGoneButToAdmins(t *testing.T) {
	clk := newTestClock(time.Time{})
	e := Start(t, func(c *server.Config) { c.Clock = clk.Now })
	sid := e.WithService(t)
	e.Upload(t, e.AdminKey, sid, "brief.txt", []byte("short-lived"),
		map[string]string{"x-owncdn-delete-at": strconv.FormatInt(clk.Now().Add(5*time.Minute).Unix(), 10)})
	clk.Advance(time.Minute)
	then := clk.Now().Format(time.RFC3339Nano)
	clk.Advance(9 * time.Minute) // expired now (and within SigV4's 15 minutes of skew)
	reader := e.NewKey(t, map[string]string{sid: "read"})

	reads := func(key Key) map[string]*Resp {
		tok := swToken(t, e, key)
		return map[string]*Resp{
			"native getfile asof": e.Do(t, Req{Fn: "getfile", Key: key.Value, Query: Q("sid", sid, "path", "brief.txt", "asof", then)}),
			"S3 GetObject asof":   s3Do(t, e, key.ID, key.Value, http.MethodGet, "/"+sid+"/brief.txt", nil, map[string]string{"x-cairn-asof": then}, ""),
			"Swift GET asof":      swDo(t, e, http.MethodGet, "/v1/default/"+sid+"/brief.txt", tok, map[string]string{"X-Cairn-Asof": then}, nil),
		}
	}
	for what, r := range reads(reader) {
		if r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "short-lived") {
			t.Errorf("%s by a reader after the expiry: %d %q, want 404", what, r.Status, r.Body)
		}
	}
	for what, r := range reads(Key{ID: e.AdminKeyID, Value: e.AdminKey}) {
		if r.Status != http.StatusOK || string(r.Body) != "short-lived" {
			t.Errorf("%s by the administrator: %d %q, want the bytes of then", what, r.Status, r.Body)
		}
	}
	// listings as of then: the reader sees nothing of it either
	r := e.Do(t, Req{Fn: "filelist", Key: reader.Value, Query: Q("sid", sid, "asof", then)})
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), "brief.txt") {
		t.Errorf("native filelist asof by a reader: %d %s", r.Status, r.Body)
	}
}
