package e2e

// The isolation matrix of issue 17 ("Done when"): three accounts, each
// with an admin, a writer, a reader and an ACL-only key, one bucket of the
// same name in each, and one container per account whose read ACL names
// the ACL-only key of the next account. Every principal runs every
// operation of the three dialects that touches data or metadata against
// the other accounts' resources; each refused call must answer in its
// dialect's own error format, exactly as it answers for a container that
// does not exist (so nothing can be probed), and change nothing (the
// stored state of every account is the same before and after). The one
// way in is the read ACL: the key it names reads that container, and
// only reads it. Every name starts with "iso" so it cannot collide with
// helpers of other e2e files.

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnhq/cairn/schema"
)

// isoSvc is one container / bucket of an account, as the matrix uses it.
type isoSvc struct {
	name    string // the container / bucket name, in its account
	sid     string // the native API's global service id
	obj     string // an object in it
	body    string // the object's bytes
	upload  string // an open multipart upload (of key isoUploadKey)
	version string // a version id of obj
}

// isoAcct is one account of the matrix: its keys and its two containers.
type isoAcct struct {
	id                             string
	admin, writer, reader, aclOnly Key
	shared                         isoSvc // the name every account has
	acl                            isoSvc // read ACL: the next account's ACL-only key
}

// isoWho is one principal: a key of an account, with its Swift token.
type isoWho struct {
	role  string
	acct  *isoAcct
	key   Key
	token string
}

func (w *isoWho) name() string { return w.acct.id + "/" + w.role }

// isoTarget is what one call names: an account and one of its containers
// (or, for the probes, an account or a container that is not there).
type isoTarget struct {
	acct   string
	svc    isoSvc
	keyID  string // a key of acct (keyrevoke's target)
	shared bool   // svc is the ACL-shared container
}

// isoCase is one operation of the matrix.
type isoCase struct {
	name    string
	dialect string // "native", "s3", "swift": the error format refusals must have
	// read: an operation a read ACL opens (on the container it is set on).
	read bool
	// content: the answer of an allowed call is the object's bytes.
	content bool
	// head: a HEAD request, whose refusal is its status alone.
	head bool
	// own: the request is made in the caller's own account and names the
	// target's container by its name only (copy sources, manifest
	// segments, bulk-delete paths, S3 plain bucket names); it runs on the
	// ACL-shared container, whose name no other account has, and is
	// compared with a name that no account has.
	own bool
	do  func(t *testing.T, w *isoWho, tg isoTarget) *Resp
}

// isoUploadKey is the object key of each container's open upload.
const isoUploadKey = "mpu"

// isoNoVersion is a well-formed version id that no version has.
const isoNoVersion = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

// TestIsolation_Matrix: every principal of each account against every
// other account's containers, in the three dialects (see the top of the
// file), with a snapshot of all four accounts before and after.
func TestIsolation_Matrix(t *testing.T) {
	t.Parallel()
	e := Start(t)
	accts, ghost := isoSetup(t, e)
	before := isoSnapshot(t, e, append(accts, ghost))

	var whos []*isoWho
	for _, a := range accts {
		for _, r := range []struct {
			role string
			k    Key
		}{{"admin", a.admin}, {"writer", a.writer}, {"reader", a.reader}, {"acl-only", a.aclOnly}} {
			whos = append(whos, &isoWho{role: r.role, acct: a, key: r.k, token: swToken(t, e, r.k)})
		}
	}
	// named reports whether the read ACL of y's shared container names w.
	named := func(w *isoWho, y *isoAcct) bool {
		i := slices.Index(accts, y)
		return w.role == "acl-only" && w.acct == accts[(i+1)%len(accts)]
	}
	cases := isoCases(e)

	t.Run("listings", func(t *testing.T) {
		for _, w := range whos {
			t.Run(w.name(), func(t *testing.T) {
				var sharedWith *isoAcct
				for _, y := range accts {
					if named(w, y) {
						sharedWith = y
					}
				}
				isoListings(t, e, w, accts, sharedWith)
			})
		}
	})

	t.Run("calls", func(t *testing.T) {
		for _, w := range whos {
			t.Run(w.name(), func(t *testing.T) {
				t.Parallel()
				probes := map[string]*Resp{} // answers for what is not there, by case and probe
				for _, y := range accts {
					if y == w.acct {
						continue
					}
					for _, tg := range []isoTarget{
						{acct: y.id, svc: y.shared, keyID: y.admin.ID},
						{acct: y.id, svc: y.acl, keyID: y.admin.ID, shared: true},
					} {
						for _, c := range cases {
							if c.own && !tg.shared {
								continue // by name in the caller's account, the common name is its own
							}
							what := "shared-name"
							if tg.shared {
								what = "acl-shared"
							}
							t.Run(c.dialect+"/"+c.name+"/"+y.id+"/"+what, func(t *testing.T) {
								knows := tg.shared && named(w, y)
								isoRun(t, w, tg, c, knows, ghost, probes)
							})
						}
					}
				}
			})
		}
	})

	after := isoSnapshot(t, e, append(accts, ghost))
	isoDiff(t, before, after)
}

// isoRun makes one call of the matrix and judges its answer. knows says
// the target's read ACL names w: it may then read the target (and only
// read it), and knows it exists.
func isoRun(t *testing.T, w *isoWho, tg isoTarget, c isoCase, knows bool, ghost *isoAcct, probes map[string]*Resp) {
	r := c.do(t, w, tg)
	if knows && c.read {
		if r.Status < 200 || r.Status > 299 {
			t.Fatalf("the key the read ACL names: status %d: %.300s", r.Status, r.Body)
		}
		if c.content && string(r.Body) != tg.svc.body {
			t.Fatalf("the key the read ACL names reads %q, want %q", r.Body, tg.svc.body)
		}
		return
	}
	if r.Status < 400 {
		t.Fatalf("a call across accounts succeeded: %d: %.300s", r.Status, r.Body)
	}
	isoErrFormat(t, c.dialect, c.head, r)
	for _, s := range []string{"secret-", "acl-bytes-", "acl-meta-"} {
		if strings.Contains(string(r.Body), s) {
			t.Fatalf("a refusal carries stored bytes or metadata: %.300s", r.Body)
		}
	}
	if knows && !c.own {
		return // it may learn that what it can read is there
	}
	// the answer is the one for what is not there: another account's
	// container answers as a container that does not exist, in an
	// account that exists (ghost) and in one that does not
	var missing []isoTarget
	if c.own {
		gone := tg.svc
		gone.name, gone.sid = "iso-never-"+tg.svc.name[:min(len(tg.svc.name), 40)], "iso-never-"+tg.svc.sid[:min(len(tg.svc.sid), 40)]
		gone.version = isoNoVersion
		missing = []isoTarget{{acct: tg.acct, svc: gone, keyID: tg.keyID, shared: tg.shared}}
	} else {
		gone := tg.svc
		gone.sid = "iso-no-such-service"
		missing = []isoTarget{{acct: ghost.id, svc: gone, keyID: ghost.admin.ID}, {acct: "iso-no-such-account", svc: gone, keyID: "ABCDEFGHIJKLMNOP"}}
	}
	for i, m := range missing {
		pk := fmt.Sprintf("%s/%s/%s/%d", c.dialect, c.name, m.svc.name, i)
		p := probes[pk]
		if p == nil {
			p = c.do(t, w, m)
			probes[pk] = p
		}
		if here, there := isoAnswer(c.dialect, r, tg), isoAnswer(c.dialect, p, m); p.Status != r.Status || here != there {
			t.Fatalf("%d %q here, %d %q for %s/%s (sid %s), which is not there: the answer tells them apart",
				r.Status, here, p.Status, there, m.acct, m.svc.name, m.svc.sid)
		}
	}
}

// isoAnswer is what a refusal says, with the names of the target it
// was about replaced by placeholders: the code and message of a native or
// S3 error, the text of a Swift one (which may list the paths a manifest
// or a bulk delete named).
func isoAnswer(dialect string, r *Resp, tg isoTarget) string {
	names := strings.NewReplacer(tg.svc.sid, "<sid>", tg.svc.name, "<container>", tg.acct, "<account>")
	switch dialect {
	case "native":
		var body schema.ErrorBody
		_ = json.Unmarshal(r.Body, &body)
		return body.Error.Code + " " + names.Replace(body.Error.Message)
	case "s3":
		var e s3XMLError
		_ = xml.Unmarshal(r.Body, &e)
		return e.Code + " " + names.Replace(e.Message)
	}
	return names.Replace(string(r.Body))
}

// isoErrFormat fails the test unless r is a refusal in the dialect's own
// format.
func isoErrFormat(t *testing.T, dialect string, head bool, r *Resp) {
	t.Helper()
	switch dialect {
	case "native":
		natWantErr(t, "native refusal", r, r.Status, "")
	case "s3":
		if r.Header.Get("x-amz-request-id") == "" {
			t.Fatalf("S3 refusal %d without x-amz-request-id: %.300s", r.Status, r.Body)
		}
		if !head { // a HEAD refusal is its status alone
			s3WantXMLError(t, "S3 refusal", r, r.Status, s3tErrCode(r))
		}
	case "swift":
		if r.Header.Get("X-Trans-Id") == "" {
			t.Fatalf("Swift refusal %d without X-Trans-Id: %.300s", r.Status, r.Body)
		}
		if !head {
			swWantErr(t, "Swift refusal", r, r.Status)
		}
	default:
		t.Fatalf("no dialect %q", dialect)
	}
}

// isoSetup makes the three accounts of the matrix and a fourth, ghost,
// that exists and holds nothing (the probes ask it for the same names).
func isoSetup(t *testing.T, e *Env) ([]*isoAcct, *isoAcct) {
	t.Helper()
	ctx := context.Background()
	common := uniqueName(t, "shared-name", 40)
	var accts []*isoAcct
	for i := 0; i < 3; i++ {
		id := uniqueName(t, "iso", 64)
		a := &isoAcct{id: id, admin: e.AccountNamed(t, id, "")}
		a.shared = isoSvc{name: common, obj: "obj", body: "secret-bytes-" + id}
		a.acl = isoSvc{name: uniqueName(t, "iso-acl", 63), obj: "doc.txt", body: "acl-bytes-" + id}
		accts = append(accts, a)
	}
	ghostID := uniqueName(t, "iso-ghost", 64)
	ghost := &isoAcct{id: ghostID, admin: e.AccountNamed(t, ghostID, "")}

	for i, a := range accts {
		next := accts[(i+1)%len(accts)]
		s3a := e.S3(t, a.admin.ID, a.admin.Value)
		tok := swToken(t, e, a.admin)
		// the common name through S3 (versioning on), two versions of obj
		if _, err := s3a.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(a.shared.name)}); err != nil {
			t.Fatalf("CreateBucket %s in %s: %v", a.shared.name, a.id, err)
		}
		s3tPut(t, s3a, a.shared.name, a.shared.obj, []byte("old "+a.shared.body))
		out := s3tPut(t, s3a, a.shared.name, a.shared.obj, []byte(a.shared.body), func(in *s3.PutObjectInput) {
			in.Metadata = map[string]string{"color": "secret-meta-" + a.id}
		})
		a.shared.version = aws.ToString(out.VersionId)
		// the ACL-shared container through Swift
		swWant(t, "PUT the ACL container", swDo(t, e, http.MethodPut, swPath(a.id, a.acl.name), tok,
			map[string]string{"X-Container-Read": next.id + ":aclonly", "X-Container-Meta-Color": "acl-meta-" + a.id}, nil), http.StatusCreated)
		swWant(t, "PUT the ACL container's object", swDo(t, e, http.MethodPut, swPath(a.id, a.acl.name, a.acl.obj), tok,
			map[string]string{"X-Object-Meta-Color": "acl-meta-" + a.id}, strings.NewReader(a.acl.body)), http.StatusCreated)
		swWant(t, "POST account metadata", swDo(t, e, http.MethodPost, swPath(a.id), tok,
			map[string]string{"X-Account-Meta-Color": "secret-meta-" + a.id, "X-Account-Meta-Temp-Url-Key": "secret-tuk-" + a.id}, nil),
			http.StatusNoContent)
		// an open upload with one part in each
		for _, s := range []*isoSvc{&a.shared, &a.acl} {
			cu, err := s3a.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.name), Key: aws.String(isoUploadKey)})
			if err != nil {
				t.Fatalf("CreateMultipartUpload in %s/%s: %v", a.id, s.name, err)
			}
			s.upload = aws.ToString(cu.UploadId)
			if _, err := s3a.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(s.name), Key: aws.String(isoUploadKey),
				UploadId: cu.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("part secret-" + a.id)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// the services' ids, as servicelist shows them to the server admin
	ids := map[[2]string]string{}
	for _, s := range isoServices(t, e) {
		ids[[2]string{s.Account, s.Container}] = s.ID
	}
	for i, a := range accts {
		a.shared.sid, a.acl.sid = ids[[2]string{a.id, a.shared.name}], ids[[2]string{a.id, a.acl.name}]
		if a.shared.sid == "" || a.acl.sid == "" {
			t.Fatalf("servicelist: no id for %s's %s or %s: %v", a.id, a.shared.name, a.acl.name, ids)
		}
		for _, s := range []*isoSvc{&a.shared, &a.acl} {
			s.version = isoVersion(t, e, s, s.version)
		}
		// The first two accounts' writers and readers are granted their
		// two services by id (the second's common name has an
		// "<account>/<name>" id); the third's by "*". Both kinds of grant
		// are in the matrix.
		grant := func(level string) map[string]string {
			if i < 2 {
				return map[string]string{a.shared.sid: level, a.acl.sid: level}
			}
			return map[string]string{"*": level}
		}
		a.writer = swlSubUser(t, e, a.id, "writer", grant("write"))
		a.reader = swlSubUser(t, e, a.id, "reader", grant("read"))
		a.aclOnly = swlSubUser(t, e, a.id, "aclonly", nil)
	}
	if accts[0].shared.sid == accts[1].shared.sid || accts[1].shared.sid == accts[2].shared.sid {
		t.Fatalf("the common name has one id in two accounts: %s %s %s", accts[0].shared.sid, accts[1].shared.sid, accts[2].shared.sid)
	}
	return accts, ghost
}

// isoVersion is have, or obj's live version id as versionlist shows it.
func isoVersion(t *testing.T, e *Env, s *isoSvc, have string) string {
	t.Helper()
	if have != "" {
		return have
	}
	vs := natVersions(t, e, e.AdminKey, s.sid, s.obj)
	if len(vs) == 0 {
		t.Fatalf("versionlist %s/%s: none", s.sid, s.obj)
	}
	return vs[0].Version
}

// isoServices is servicelist as the server admin sees it.
func isoServices(t *testing.T, e *Env) []schema.ServiceEntry {
	t.Helper()
	var list schema.ServiceList
	r := e.Do(t, Req{Fn: "servicelist", Key: e.AdminKey})
	natWant(t, "servicelist", r, http.StatusOK)
	r.JSON(t, &list)
	return list.Services
}

// isoNative is one native call as w.
func isoNative(t *testing.T, e *Env, w *isoWho, method, fn string, q url.Values, body io.Reader, hdr map[string]string) *Resp {
	t.Helper()
	return e.Do(t, Req{Method: method, Fn: fn, Key: w.key.Value, Query: q, Body: body, Header: hdr})
}

// isoAdminFn is a call of a native admin function as w.
func isoAdminFn(t *testing.T, e *Env, w *isoWho, fn string, body any) *Resp {
	t.Helper()
	return isoNative(t, e, w, http.MethodPost, fn, nil, natJSON(body), nil)
}

// isoBucket is the S3 name of tg's bucket for another account: tenant:bucket.
func isoBucket(tg isoTarget) string { return tg.acct + ":" + tg.svc.name }

// isoS3 is one S3 request signed as w; path is unescaped ("/bucket/key").
func isoS3(t *testing.T, e *Env, w *isoWho, method, path, query string, body []byte, hdr map[string]string) *Resp {
	t.Helper()
	esc := (&url.URL{Path: path}).EscapedPath()
	return s3tSend(t, e, w.key.ID, w.key.Value, s3Raw{method: method, path: esc, query: query, body: body, hdr: hdr})
}

// isoSSE opens the events stream of sid as w: a refusal is read whole; a
// stream is read up to its first event, which is the answer's body.
func isoSSE(t *testing.T, e *Env, w *isoWho, sid string) *Resp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/events?"+Q("sid", sid, "after", "0").Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(schema.KeyHeader, w.key.Value)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("events stream: %v", err)
	}
	defer resp.Body.Close()
	out := &Resp{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		out.Body, err = io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out.Body = []byte(data)
			return out
		}
	}
	t.Fatalf("events stream of %s ended without an event: %v", sid, sc.Err())
	return nil
}

// isoCases is every operation of the matrix.
func isoCases(e *Env) []isoCase {
	get, head, put, post, del := http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete
	// own is the caller's own bucket of the common name
	own := func(w *isoWho) isoSvc { return w.acct.shared }
	nat := func(name string, read bool, do func(t *testing.T, w *isoWho, tg isoTarget) *Resp) isoCase {
		return isoCase{name: name, dialect: "native", read: read, do: do}
	}
	s3c := func(name string, read bool, do func(t *testing.T, w *isoWho, tg isoTarget) *Resp) isoCase {
		return isoCase{name: name, dialect: "s3", read: read, do: do}
	}
	swc := func(name string, read bool, do func(t *testing.T, w *isoWho, tg isoTarget) *Resp) isoCase {
		return isoCase{name: name, dialect: "swift", read: read, do: do}
	}
	sw := func(t *testing.T, w *isoWho, method, path string, hdr map[string]string, body string) *Resp {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		return swDo(t, e, method, path, w.token, hdr, rd)
	}
	cases := []isoCase{
		// native: the service by its global id
		{name: "getfile", dialect: "native", read: true, content: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "getfile", Q("sid", tg.svc.sid, "path", tg.svc.obj), nil, nil)
		}},
		nat("getfile by version", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "getfile", Q("sid", tg.svc.sid, "path", tg.svc.obj, "version", tg.svc.version), nil, nil)
		}),
		nat("filelist", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "filelist", Q("sid", tg.svc.sid), nil, nil)
		}),
		nat("versionlist", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "versionlist", Q("sid", tg.svc.sid, "path", tg.svc.obj), nil, nil)
		}),
		nat("syncnext", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "syncnext", Q("sid", tg.svc.sid), nil, nil)
		}),
		nat("syncnext wait", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "syncnext", Q("sid", tg.svc.sid, "after", "0", "wait", "1"), nil, nil)
		}),
		nat("reqlist", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			r := isoNative(t, e, w, get, "reqlist", Q("sid", tg.svc.sid, "limit", "1000"), nil, nil)
			if r.Status == http.StatusOK { // another key's requests are not its to see
				var out struct {
					Requests []schema.Request `json:"requests"`
				}
				r.JSON(t, &out)
				for _, q := range out.Requests {
					if q.KeyID != w.key.ID {
						t.Errorf("reqlist shows %s a request of key %q", w.key.ID, q.KeyID)
					}
				}
			}
			return r
		}),
		nat("events", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "events", Q("sid", tg.svc.sid), nil, nil)
		}),
		nat("events wait", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "events", Q("sid", tg.svc.sid, "after", "0", "wait", "1"), nil, nil)
		}),
		nat("events stream", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoSSE(t, e, w, tg.svc.sid)
		}),
		nat("uploadfile", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, put, "uploadfile", Q("sid", tg.svc.sid, "path", tg.svc.obj), strings.NewReader("overwritten"), nil)
		}),
		nat("uploadfile new", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, put, "uploadfile", Q("sid", tg.svc.sid, "path", "iso-new"), strings.NewReader("new"), nil)
		}),
		nat("deletefile", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, del, "deletefile", Q("sid", tg.svc.sid, "path", tg.svc.obj), nil, nil)
		}),
		nat("flush", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, post, "flush", Q("sid", tg.svc.sid), nil, nil)
		}),
		{name: "getfile of own service by the other's version", dialect: "native", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoNative(t, e, w, get, "getfile", Q("sid", own(w).sid, "path", own(w).obj, "version", tg.svc.version), nil, nil)
		}},
		// native admin functions, naming the other account
		nat("keylist", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "keylist", map[string]any{})
		}),
		nat("keycreate admin in the account", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "keycreate", map[string]any{"name": "iso-intruder", "account": tg.acct, "admin": true})
		}),
		nat("keycreate with access to the service", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "keycreate", map[string]any{"name": "iso-intruder", "account": w.acct.id,
				"access": map[string]string{tg.svc.sid: "write"}})
		}),
		nat("keyrevoke", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "keyrevoke", map[string]any{"id": tg.keyID})
		}),
		nat("servicecreate in the account", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "servicecreate", map[string]any{"id": "iso-intruder-svc", "account": tg.acct})
		}),
		nat("serviceupdate", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "serviceupdate", map[string]any{"id": tg.svc.sid, "name": "renamed", "quota_bytes": 1})
		}),
		nat("servicedelete", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "servicedelete", map[string]any{"id": tg.svc.sid})
		}),
		nat("accountupdate", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "accountupdate", map[string]any{"id": tg.acct, "name": "renamed", "quota_bytes": 1})
		}),
		nat("accountdelete", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "accountdelete", map[string]any{"id": tg.acct})
		}),
		nat("accountlist", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoAdminFn(t, e, w, "accountlist", map[string]any{})
		}),

		// S3: another account's bucket as tenant:bucket
		s3c("HeadBucket", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, head, "/"+isoBucket(tg), "", nil, nil)
		}),
		s3c("GetBucketLocation", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg), "location=", nil, nil)
		}),
		s3c("GetBucketAcl", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg), "acl=", nil, nil)
		}),
		s3c("GetBucketVersioning", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg), "versioning=", nil, nil)
		}),
		s3c("ListObjects", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg), "", nil, nil)
		}),
		s3c("ListObjectsV2", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg), "list-type=2", nil, nil)
		}),
		s3c("ListObjectVersions", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg), "versions=", nil, nil)
		}),
		s3c("ListMultipartUploads", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg), "uploads=", nil, nil)
		}),
		{name: "GetObject", dialect: "s3", read: true, content: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg)+"/"+tg.svc.obj, "", nil, nil)
		}},
		s3c("GetObject by version", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg)+"/"+tg.svc.obj, "versionId="+url.QueryEscape(tg.svc.version), nil, nil)
		}),
		s3c("HeadObject", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, head, "/"+isoBucket(tg)+"/"+tg.svc.obj, "", nil, nil)
		}),
		s3c("GetObjectAcl", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg)+"/"+tg.svc.obj, "acl=", nil, nil)
		}),
		s3c("GetObjectTagging", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg)+"/"+tg.svc.obj, "tagging=", nil, nil)
		}),
		s3c("ListParts", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+isoBucket(tg)+"/"+isoUploadKey, "uploadId="+url.QueryEscape(tg.svc.upload), nil, nil)
		}),
		s3c("PutObject", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+isoBucket(tg)+"/"+tg.svc.obj, "", []byte("overwritten"), nil)
		}),
		s3c("PutObject new", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+isoBucket(tg)+"/iso-new", "", []byte("new"), nil)
		}),
		s3c("CopyObject into it", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+isoBucket(tg)+"/iso-copied", "", nil,
				map[string]string{"x-amz-copy-source": own(w).name + "/" + own(w).obj})
		}),
		s3c("CopyObject from it", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+own(w).name+"/iso-copied", "", nil,
				map[string]string{"x-amz-copy-source": url.PathEscape(isoBucket(tg)) + "/" + tg.svc.obj})
		}),
		s3c("UploadPartCopy from it", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+own(w).name+"/"+isoUploadKey, "partNumber=2&uploadId="+url.QueryEscape(own(w).upload), nil,
				map[string]string{"x-amz-copy-source": url.PathEscape(isoBucket(tg)) + "/" + tg.svc.obj})
		}),
		s3c("DeleteObject", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, del, "/"+isoBucket(tg)+"/"+tg.svc.obj, "", nil, nil)
		}),
		s3c("DeleteObject by version", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, del, "/"+isoBucket(tg)+"/"+tg.svc.obj, "versionId="+url.QueryEscape(tg.svc.version), nil, nil)
		}),
		s3c("DeleteObjects", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, post, "/"+isoBucket(tg), "delete=",
				[]byte(`<Delete><Object><Key>`+tg.svc.obj+`</Key></Object></Delete>`), nil)
		}),
		s3c("CreateMultipartUpload", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, post, "/"+isoBucket(tg)+"/iso-new", "uploads=", nil, nil)
		}),
		s3c("UploadPart", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+isoBucket(tg)+"/"+isoUploadKey, "partNumber=2&uploadId="+url.QueryEscape(tg.svc.upload), []byte("p"), nil)
		}),
		s3c("CompleteMultipartUpload", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, post, "/"+isoBucket(tg)+"/"+isoUploadKey, "uploadId="+url.QueryEscape(tg.svc.upload),
				[]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"0"</ETag></Part></CompleteMultipartUpload>`), nil)
		}),
		s3c("AbortMultipartUpload", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, del, "/"+isoBucket(tg)+"/"+isoUploadKey, "uploadId="+url.QueryEscape(tg.svc.upload), nil, nil)
		}),
		s3c("PutBucketVersioning", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+isoBucket(tg), "versioning=",
				[]byte(`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`), nil)
		}),
		s3c("DeleteBucket", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, del, "/"+isoBucket(tg), "", nil, nil)
		}),
		s3c("CreateBucket in the account", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+tg.acct+":iso-intruder-bucket", "", nil, nil)
		}),
		{name: "DeleteBucket by plain name", dialect: "s3", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, del, "/"+tg.svc.name, "", nil, nil)
		}},
		{name: "GetObject by plain name", dialect: "s3", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+tg.svc.name+"/"+tg.svc.obj, "", nil, nil)
		}},
		{name: "CopyObject from it by plain name", dialect: "s3", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, put, "/"+own(w).name+"/iso-copied", "", nil,
				map[string]string{"x-amz-copy-source": tg.svc.name + "/" + tg.svc.obj})
		}},
		{name: "GetObject of own bucket by the other's version", dialect: "s3", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return isoS3(t, e, w, get, "/"+own(w).name+"/"+own(w).obj, "versionId="+url.QueryEscape(tg.svc.version), nil, nil)
		}},

		// Swift: the other account's storage URL
		swc("account GET", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, get, swPath(tg.acct), nil, "")
		}),
		swc("account HEAD", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, head, swPath(tg.acct), nil, "")
		}),
		swc("account POST", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, post, swPath(tg.acct), map[string]string{"X-Account-Meta-Color": "changed"}, "")
		}),
		swc("container GET", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, get, swPath(tg.acct, tg.svc.name), nil, "")
		}),
		swc("container HEAD", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, head, swPath(tg.acct, tg.svc.name), nil, "")
		}),
		swc("container PUT", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(tg.acct, tg.svc.name), map[string]string{"X-Container-Meta-Color": "changed"}, "")
		}),
		swc("container PUT new", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(tg.acct, "iso-intruder-container"), nil, "")
		}),
		swc("container POST", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, post, swPath(tg.acct, tg.svc.name), map[string]string{"X-Container-Read": w.acct.id + ":*",
				"X-Container-Write": w.acct.id + ":*", "X-Container-Meta-Color": "changed"}, "")
		}),
		swc("container DELETE", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, del, swPath(tg.acct, tg.svc.name), nil, "")
		}),
		{name: "object GET", dialect: "swift", read: true, content: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, get, swPath(tg.acct, tg.svc.name, tg.svc.obj), nil, "")
		}},
		swc("object HEAD", true, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, head, swPath(tg.acct, tg.svc.name, tg.svc.obj), nil, "")
		}),
		swc("object PUT", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(tg.acct, tg.svc.name, tg.svc.obj), nil, "overwritten")
		}),
		swc("object PUT new", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(tg.acct, tg.svc.name, "iso-new"), nil, "new")
		}),
		swc("object POST", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, post, swPath(tg.acct, tg.svc.name, tg.svc.obj), map[string]string{"X-Object-Meta-Color": "changed"}, "")
		}),
		swc("object DELETE", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, del, swPath(tg.acct, tg.svc.name, tg.svc.obj), nil, "")
		}),
		swc("object COPY", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, "COPY", swPath(tg.acct, tg.svc.name, tg.svc.obj), map[string]string{"Destination": tg.svc.name + "/iso-copied"}, "")
		}),
		swc("object PUT X-Copy-From", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(tg.acct, tg.svc.name, "iso-copied"), map[string]string{"X-Copy-From": tg.svc.name + "/" + tg.svc.obj}, "")
		}),
		swc("object PUT SLO manifest", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(tg.acct, tg.svc.name, "iso-slo")+"?multipart-manifest=put", nil,
				string(mustJSON([]map[string]string{{"path": "/" + tg.svc.name + "/" + tg.svc.obj}})))
		}),
		swc("bulk delete", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, post, swPath(tg.acct)+"?bulk-delete", map[string]string{"Content-Type": "text/plain", "Accept": "application/json"},
				"/"+tg.svc.name+"/"+tg.svc.obj+"\n/"+tg.svc.name+"\n")
		}),
		swc("copy from the account with X-Copy-From-Account", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(w.acct.id, own(w).name, "iso-copied"),
				map[string]string{"X-Copy-From": "/" + tg.svc.name + "/" + tg.svc.obj, "X-Copy-From-Account": tg.acct}, "")
		}),
		swc("COPY into the account with Destination-Account", false, func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, "COPY", swPath(w.acct.id, own(w).name, own(w).obj),
				map[string]string{"Destination": "/" + tg.svc.name + "/iso-copied", "Destination-Account": tg.acct}, "")
		}),
		// Swift: names in the caller's own account
		{name: "X-Copy-From by name", dialect: "swift", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(w.acct.id, own(w).name, "iso-copied"), map[string]string{"X-Copy-From": "/" + tg.svc.name + "/" + tg.svc.obj}, "")
		}},
		{name: "COPY to the container by name", dialect: "swift", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, "COPY", swPath(w.acct.id, own(w).name, own(w).obj), map[string]string{"Destination": "/" + tg.svc.name + "/iso-copied"}, "")
		}},
		{name: "SLO manifest naming the object", dialect: "swift", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			return sw(t, w, put, swPath(w.acct.id, own(w).name, "iso-slo")+"?multipart-manifest=put", nil,
				string(mustJSON([]map[string]string{{"path": "/" + tg.svc.name + "/" + tg.svc.obj}})))
		}},
		{name: "bulk delete naming the container", dialect: "swift", own: true, do: func(t *testing.T, w *isoWho, tg isoTarget) *Resp {
			r := sw(t, w, post, swPath(w.acct.id)+"?bulk-delete", map[string]string{"Content-Type": "text/plain", "Accept": "application/json"},
				"/"+tg.svc.name+"/"+tg.svc.obj+"\n/"+tg.svc.name+"\n")
			return isoBulkAnswer(t, r)
		}},
	}
	for i := range cases { // the names say which are HEAD requests
		cases[i].head = strings.Contains(cases[i].name, "HEAD") || strings.HasPrefix(cases[i].name, "Head")
	}
	return cases
}

// isoBulkAnswer turns a bulk delete's 200 into the answer the matrix
// judges: its counts and per-path statuses decide, so a delete that
// removed nothing and found nothing answers as Swift's 404, and anything
// else is a call that did something (a 200 the matrix refuses).
func isoBulkAnswer(t *testing.T, r *Resp) *Resp {
	t.Helper()
	if r.Status != http.StatusOK {
		return r
	}
	var res struct {
		Deleted  int        `json:"Number Deleted"`
		NotFound int        `json:"Number Not Found"`
		Errors   [][]string `json:"Errors"`
	}
	r.JSON(t, &res)
	if res.Deleted == 0 && len(res.Errors) == 0 {
		hd := r.Header.Clone()
		hd.Set("Content-Type", "text/html; charset=UTF-8")
		return &Resp{Status: http.StatusNotFound, Header: hd,
			Body: []byte(fmt.Sprintf("<html><h1>Not Found</h1><p>bulk delete: %d not found</p></html>", res.NotFound))}
	}
	return r
}

// isoListings checks what w's listings show: its own account's
// containers, and of another account only the container whose read ACL
// names w (sharedWith, when one does), which must be there.
func isoListings(t *testing.T, e *Env, w *isoWho, accts []*isoAcct, sharedWith *isoAcct) {
	t.Helper()
	// native servicelist
	r := e.Do(t, Req{Fn: "servicelist", Key: w.key.Value})
	natWant(t, "servicelist", r, http.StatusOK)
	var list schema.ServiceList
	r.JSON(t, &list)
	sawShared := false
	for _, s := range list.Services {
		switch {
		case s.Account == w.acct.id:
		case sharedWith != nil && s.ID == sharedWith.acl.sid && s.Account == sharedWith.id && s.Access == schema.AccessRead:
			sawShared = true
		default:
			t.Errorf("servicelist shows %s a service of another account: %+v", w.name(), s)
		}
	}
	if sharedWith != nil && !sawShared {
		t.Errorf("servicelist does not show %s the container shared with it (%s)", w.name(), sharedWith.acl.sid)
	}
	// S3 ListBuckets: another account's bucket only as tenant:bucket, only the shared one
	r = isoS3(t, e, w, http.MethodGet, "/", "", nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("ListBuckets: %d %s", r.Status, r.Body)
	}
	var lb struct {
		Buckets []string `xml:"Buckets>Bucket>Name"`
	}
	if err := xml.Unmarshal(r.Body, &lb); err != nil {
		t.Fatal(err)
	}
	var want []string
	if w.role != "acl-only" {
		want = append(want, w.acct.acl.name, w.acct.shared.name)
	}
	if sharedWith != nil {
		want = append(want, sharedWith.id+":"+sharedWith.acl.name)
	}
	slices.Sort(want)
	slices.Sort(lb.Buckets)
	if !slices.Equal(lb.Buckets, want) {
		t.Errorf("ListBuckets as %s: %q, want %q", w.name(), lb.Buckets, want)
	}
	// Swift: its own account's listing holds none of another's containers
	r = swDo(t, e, http.MethodGet, swPath(w.acct.id)+"?format=json", w.token, nil, nil)
	if r.Status == http.StatusOK {
		var cs []swContainerEntry
		r.JSON(t, &cs)
		for _, c := range cs {
			if c.Name != w.acct.shared.name && c.Name != w.acct.acl.name {
				t.Errorf("the account listing of %s shows %q", w.name(), c.Name)
			}
		}
	} else if r.Status != http.StatusNoContent && r.Status != http.StatusForbidden {
		t.Errorf("the account listing of %s: %d", w.name(), r.Status)
	}
	// the feed without sid: refused, or its own account's events only
	r = e.Do(t, Req{Fn: "events", Key: w.key.Value, Query: Q("limit", "1000")})
	if r.Status == http.StatusOK {
		var page struct {
			Events []struct {
				Account string `json:"account"`
				Service string `json:"service"`
				Type    string `json:"type"`
			} `json:"events"`
		}
		r.JSON(t, &page)
		for _, ev := range page.Events {
			if ev.Account != w.acct.id && (sharedWith == nil || ev.Service != sharedWith.acl.sid) {
				t.Errorf("the feed without sid shows %s an event of account %q: %+v", w.name(), ev.Account, ev)
			}
		}
	} else if r.Status < 400 {
		t.Errorf("events without sid as %s: %d %s", w.name(), r.Status, r.Body)
	} else {
		natWantErr(t, "events without sid", r, r.Status, "")
	}
	for _, y := range accts {
		if y != w.acct && strings.Contains(string(r.Body), "secret-bytes-"+y.id) {
			t.Errorf("the feed shows %s account %s's bytes", w.name(), y.id)
		}
	}
}

// isoSnapshot is what the accounts hold, flattened to one line per fact:
// accounts, keys, services, each service's versions (delete markers too),
// live objects' bytes and metadata, containers' and accounts' metadata and
// ACLs, versioning, open uploads and their parts.
func isoSnapshot(t *testing.T, e *Env, accts []*isoAcct) map[string]string {
	t.Helper()
	ctx := context.Background()
	snap := map[string]string{}
	ours := map[string]bool{}
	for _, a := range accts {
		ours[a.id] = true
	}
	var al struct {
		Accounts []map[string]any `json:"accounts"`
	}
	e.Admin(t, "accountlist", map[string]any{}, http.StatusOK).JSON(t, &al)
	for _, a := range al.Accounts {
		if id, _ := a["id"].(string); ours[id] {
			snap["account "+id] = string(mustJSON(a))
		}
	}
	var kl struct {
		Keys []map[string]any `json:"keys"`
	}
	e.Admin(t, "keylist", map[string]any{}, http.StatusOK).JSON(t, &kl)
	for _, k := range kl.Keys {
		if acct, _ := k["account"].(string); ours[acct] {
			snap[fmt.Sprintf("key %v", k["id"])] = string(mustJSON(k))
		}
	}
	adm := e.S3(t, e.AdminKeyID, e.AdminKey)
	tok := swToken(t, e, Key{ID: e.AdminKeyID, Value: e.AdminKey})
	swHead := func(what, path string, prefixes ...string) {
		r := swDo(t, e, http.MethodHead, path, tok, nil, nil)
		var lines []string
		for k, v := range r.Header {
			for _, p := range prefixes {
				if strings.HasPrefix(k, p) {
					lines = append(lines, k+": "+strings.Join(v, ","))
				}
			}
		}
		sort.Strings(lines)
		snap[what] = fmt.Sprintf("%d %s", r.Status, strings.Join(lines, "; "))
	}
	for _, a := range accts {
		swHead("swift account "+a.id, swPath(a.id), "X-Account-")
	}
	for _, s := range isoServices(t, e) {
		if !ours[s.Account] {
			continue
		}
		snap["service "+s.ID] = string(mustJSON(s))
		bucket := aws.String(s.Account + ":" + s.Container)
		swHead("swift container "+s.ID, swPath(s.Account, s.Container), "X-Container-", "X-Versions-", "X-History-", "X-Storage-Policy")
		v, err := adm.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket})
		if err != nil {
			t.Fatalf("GetBucketVersioning %s: %v", *bucket, err)
		}
		snap["versioning "+s.ID] = string(v.Status)
		lv, err := adm.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: bucket})
		if err != nil {
			t.Fatalf("ListObjectVersions %s: %v", *bucket, err)
		}
		for _, ov := range lv.Versions {
			snap[fmt.Sprintf("version %s/%s/%s", s.ID, aws.ToString(ov.Key), aws.ToString(ov.VersionId))] =
				fmt.Sprintf("%s %d latest=%v", aws.ToString(ov.ETag), aws.ToInt64(ov.Size), aws.ToBool(ov.IsLatest))
		}
		for _, dm := range lv.DeleteMarkers {
			snap[fmt.Sprintf("delete marker %s/%s/%s", s.ID, aws.ToString(dm.Key), aws.ToString(dm.VersionId))] = fmt.Sprint(aws.ToBool(dm.IsLatest))
		}
		for _, f := range natList(t, e, e.AdminKey, s.ID, "limit", "10000").Files {
			r := natGet(t, e, e.AdminKey, s.ID, f.Path)
			snap[fmt.Sprintf("bytes %s/%s", s.ID, f.Path)] = fmt.Sprintf("%d %q", r.Status, r.Body)
			swHead(fmt.Sprintf("swift object %s/%s", s.ID, f.Path), swPath(s.Account, s.Container, f.Path),
				"X-Object-Meta-", "Etag", "Content-Type", "Content-Length", "X-Delete-At", "X-Static-Large-Object", "X-Object-Manifest")
		}
		lu, err := adm.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bucket})
		if err != nil {
			t.Fatalf("ListMultipartUploads %s: %v", *bucket, err)
		}
		for _, u := range lu.Uploads {
			lp, err := adm.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: u.Key, UploadId: u.UploadId})
			if err != nil {
				t.Fatalf("ListParts %s: %v", *bucket, err)
			}
			var parts []string
			for _, p := range lp.Parts {
				parts = append(parts, fmt.Sprintf("%d %s %d", aws.ToInt32(p.PartNumber), aws.ToString(p.ETag), aws.ToInt64(p.Size)))
			}
			snap[fmt.Sprintf("upload %s/%s/%s", s.ID, aws.ToString(u.Key), aws.ToString(u.UploadId))] = strings.Join(parts, "; ")
		}
	}
	return snap
}

// isoDiff fails the test for every fact that differs between two snapshots.
func isoDiff(t *testing.T, before, after map[string]string) {
	t.Helper()
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, okb := before[k]
		a, oka := after[k]
		switch {
		case !okb:
			t.Errorf("refused calls added %s: %s", k, a)
		case !oka:
			t.Errorf("refused calls removed %s (was %s)", k, b)
		case a != b:
			t.Errorf("refused calls changed %s:\n  before %s\n  after  %s", k, b, a)
		}
	}
	if len(before) == 0 {
		t.Errorf("the snapshot is empty")
	}
}

// A key's access map names services by id, and a container made in a
// second account with a name the first already has gets the id
// "<account>/<name>" (ARCHITECTURE.md, names per account): the second
// account's keys must be grantable that container by its id.
func TestIsolation_GrantByScopedID(t *testing.T) {
	t.Parallel()
	e := Start(t)
	name := uniqueName(t, "iso-grant", 40)
	var sid string
	for i := 0; i < 2; i++ {
		acct, admin := e.Account(t)
		swWant(t, "PUT container "+name+" in "+acct, swDo(t, e, http.MethodPut, swPath(acct, name), swToken(t, e, admin), nil, nil), http.StatusCreated)
		for _, s := range isoServices(t, e) {
			if s.Account == acct && s.Container == name {
				sid = s.ID
			}
		}
		if i == 0 {
			continue
		}
		if !strings.Contains(sid, "/") {
			t.Fatalf("the second account's %s has id %q, want <account>/<name>", name, sid)
		}
		r := e.Do(t, Req{Method: http.MethodPost, Fn: "keycreate", Key: e.AdminKey,
			Body: natJSON(map[string]any{"name": "iso-grant", "account": acct, "access": map[string]string{sid: "write"}})})
		natWant(t, "keycreate granting "+sid, r, http.StatusCreated)
		var k Key
		r.JSON(t, &k)
		e.Upload(t, k.Value, sid, "granted", []byte("by id"), nil)
		if got := natGet(t, e, k.Value, sid, "granted"); got.Status != http.StatusOK || string(got.Body) != "by id" {
			t.Fatalf("the granted key reads %d %q", got.Status, got.Body)
		}
	}
}
