package e2e

// The OpenStack Swift dialect (/tmp/swift/CONTRACT.md) driven with the
// ncw/swift/v2 client, and with raw requests where the client does not
// show what the contract fixes (exact statuses, X-Trans-Id, OPTIONS,
// multi-range, ?filename=).

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/ncw/swift/v2"
)

// TestSwift_Auth: auth v1, v2 and v3 each give a token and a storage URL
// in the key's account that works, and the same token while it is young.
func TestSwift_Auth(t *testing.T) {
	t.Parallel()
	e := Start(t)
	acct, k := e.Account(t)
	want := e.URL + "/v1/" + acct
	var tokens, made []string
	for _, v := range []int{1, 2, 3} {
		c := e.Swift(t, k.ID, k.Value, v)
		if c.StorageUrl != want {
			t.Errorf("auth v%d: storage URL %q, want %q", v, c.StorageUrl, want)
		}
		tokens = append(tokens, c.AuthToken)
		// the URL works: the account holds what the earlier versions made,
		// a container each with one 2-byte object
		info, h, err := c.Account(swCtx)
		if n := int64(len(made)); err != nil || info.Containers != n || info.Objects != n || info.BytesUsed != 2*n {
			t.Fatalf("auth v%d: account HEAD = %+v, %v", v, info, err)
		}
		if h["X-Trans-Id"] == "" || h["X-Timestamp"] == "" {
			t.Errorf("auth v%d: account HEAD headers %v", v, h)
		}
		made = append(made, swContainer(t, c))
		names, err := c.ContainerNames(swCtx, nil)
		if err != nil {
			t.Fatalf("auth v%d: ContainerNames: %v", v, err)
		}
		swEq(t, fmt.Sprintf("auth v%d: containers", v), names, swSorted(made...))
		if err := c.ObjectPutString(swCtx, made[len(made)-1], "o", "v"+strconv.Itoa(v), ""); err != nil {
			t.Fatalf("auth v%d: ObjectPutString: %v", v, err)
		}
		if got, err := c.ObjectGetString(swCtx, made[len(made)-1], "o"); err != nil || got != "v"+strconv.Itoa(v) {
			t.Fatalf("auth v%d: ObjectGetString = %q, %v", v, got, err)
		}
	}
	// asked again within 12 hours, any protocol answers with the same token
	if tokens[0] != tokens[1] || tokens[1] != tokens[2] {
		t.Errorf("tokens of v1, v2, v3 differ: %q", tokens)
	}
	// the server admin key lands in the default account
	if c := e.Swift(t, e.AdminKeyID, e.AdminKey, 1); c.StorageUrl != e.URL+"/v1/default" {
		t.Errorf("server admin key: storage URL %q", c.StorageUrl)
	}

	t.Run("v1_raw", func(t *testing.T) {
		for _, p := range []string{"/auth/v1.0", "/auth/v1.0/", "/auth/"} {
			for _, user := range []string{k.ID, acct + ":" + k.ID} {
				r := swDo(t, e, http.MethodGet, p, "", map[string]string{"X-Auth-User": user, "X-Auth-Key": k.Value}, nil)
				swWant(t, "GET "+p+" as "+user, r, http.StatusNoContent)
				if r.Header.Get("X-Auth-Token") != tokens[0] || r.Header.Get("X-Storage-Token") != tokens[0] ||
					r.Header.Get("X-Storage-Url") != want {
					t.Errorf("GET %s as %s: headers %v", p, user, r.Header)
				}
				left, err := strconv.Atoi(r.Header.Get("X-Expire-Auth-Token"))
				if err != nil || left <= 0 || left > 24*3600 {
					t.Errorf("GET %s: X-Expire-Auth-Token %q", p, r.Header.Get("X-Expire-Auth-Token"))
				}
			}
		}
		other, _ := e.Account(t)
		bad := map[string]map[string]string{
			"wrong password":      {"X-Auth-User": k.ID, "X-Auth-Key": k.Value + "x"},
			"unknown user":        {"X-Auth-User": "CK000000000000000000", "X-Auth-Key": k.Value},
			"account not the key": {"X-Auth-User": other + ":" + k.ID, "X-Auth-Key": k.Value},
			"no key":              {"X-Auth-User": k.ID},
		}
		var first []byte
		for name, hdr := range bad {
			r := swDo(t, e, http.MethodGet, "/auth/v1.0", "", hdr, nil)
			swWant(t, "auth v1 "+name, r, http.StatusUnauthorized)
			if r.Header.Get("X-Auth-Token") != "" {
				t.Errorf("auth v1 %s: a token was given", name)
			}
			if first == nil {
				first = r.Body
			} else if !bytes.Equal(first, r.Body) {
				t.Errorf("auth v1 %s: body %q differs from %q", name, r.Body, first)
			}
		}
	})

	t.Run("v2_raw", func(t *testing.T) {
		body := `{"auth":{"passwordCredentials":{"username":"` + k.ID + `","password":"` + k.Value + `"},"tenantName":"` + acct + `"}}`
		r := swDo(t, e, http.MethodPost, "/v2.0/tokens", "", map[string]string{"Content-Type": "application/json"}, strings.NewReader(body))
		swWant(t, "POST /v2.0/tokens", r, http.StatusOK)
		var out swaV2Access
		r.JSON(t, &out)
		a := out.Access
		exp, err := time.Parse(time.RFC3339, a.Token.Expires)
		if a.Token.ID != tokens[0] || err != nil || time.Until(exp) < 23*time.Hour || time.Until(exp) > 25*time.Hour ||
			a.Token.Tenant.ID != acct || a.User.ID == "" { // the tenant is the key's account
			t.Errorf("v2 token: %s", r.Body)
		}
		if len(a.ServiceCatalog) != 1 || a.ServiceCatalog[0].Type != "object-store" || a.ServiceCatalog[0].Name != "swift" ||
			len(a.ServiceCatalog[0].Endpoints) != 1 || a.ServiceCatalog[0].Endpoints[0].PublicURL != want ||
			a.ServiceCatalog[0].Endpoints[0].InternalURL == "" || a.ServiceCatalog[0].Endpoints[0].AdminURL == "" ||
			a.ServiceCatalog[0].Endpoints[0].Region != "RegionOne" {
			t.Errorf("v2 catalog: %s", r.Body)
		}
		body = `{"auth":{"passwordCredentials":{"username":"` + k.ID + `","password":"wrong"}}}`
		swWant(t, "v2 wrong password", swDo(t, e, http.MethodPost, "/v2.0/tokens", "", nil, strings.NewReader(body)), http.StatusUnauthorized)
		swWant(t, "v2 malformed", swDo(t, e, http.MethodPost, "/v2.0/tokens", "", nil, strings.NewReader("{")), http.StatusUnauthorized)
	})

	t.Run("v3_raw", func(t *testing.T) {
		for _, user := range []string{`"id":"` + k.ID + `"`, `"name":"` + k.ID + `","domain":{"name":"Default"}`} {
			body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{` + user + `,"password":"` + k.Value + `"}}}}}`
			r := swDo(t, e, http.MethodPost, "/v3/auth/tokens", "", map[string]string{"Content-Type": "application/json"}, strings.NewReader(body))
			swWant(t, "POST /v3/auth/tokens "+user, r, http.StatusCreated)
			if r.Header.Get("X-Subject-Token") != tokens[0] {
				t.Errorf("v3 %s: X-Subject-Token %q, want %q", user, r.Header.Get("X-Subject-Token"), tokens[0])
			}
			var out swaV3Token
			r.JSON(t, &out)
			exp, err := time.Parse(time.RFC3339, out.Token.ExpiresAt)
			_, ierr := time.Parse(time.RFC3339, out.Token.IssuedAt)
			if err != nil || ierr != nil || time.Until(exp) < 23*time.Hour || !slices.Equal(out.Token.Methods, []string{"password"}) ||
				out.Token.User.ID == "" || out.Token.Project.ID != acct || len(out.Token.Catalog) != 1 ||
				out.Token.Catalog[0].Type != "object-store" || out.Token.Catalog[0].Name != "swift" {
				t.Errorf("v3 token: %s", r.Body)
				continue
			}
			ifaces := map[string]string{}
			for _, ep := range out.Token.Catalog[0].Endpoints {
				if ep.Region != "RegionOne" || ep.RegionID != "RegionOne" {
					t.Errorf("v3 endpoint region: %+v", ep)
				}
				ifaces[ep.Interface] = ep.URL
			}
			if ifaces["public"] != want || ifaces["internal"] == "" || ifaces["admin"] == "" {
				t.Errorf("v3 endpoints: %v", ifaces)
			}
		}
		body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"` + k.ID + `","password":"no"}}}}}`
		r := swDo(t, e, http.MethodPost, "/v3/auth/tokens", "", nil, strings.NewReader(body))
		swWant(t, "v3 wrong password", r, http.StatusUnauthorized)
		if r.Header.Get("X-Subject-Token") != "" {
			t.Errorf("v3 wrong password gave a token")
		}
	})
}

// TestSwift_Account: counts and bytes, listings in three formats with
// their parameters, and account metadata.
func TestSwift_Account(t *testing.T) {
	t.Parallel()
	e, acct, _, c := swStart(t, 1)
	tok := c.AuthToken
	ap := swPath(acct)

	info, h, err := c.Account(swCtx)
	if err != nil || info != (swift.Account{}) || h["X-Timestamp"] == "" {
		t.Fatalf("empty account: %+v %v %v", info, h, err)
	}
	if got := swListPlain(t, e, ap, tok); len(got) != 0 {
		t.Errorf("empty account plain listing: %q", got)
	}
	r := swDo(t, e, http.MethodGet, ap+"?format=json", tok, nil, nil)
	swWant(t, "empty account json", r, http.StatusOK)
	if strings.TrimSpace(string(r.Body)) != "[]" {
		t.Errorf("empty account json: %q", r.Body)
	}

	// four containers, objects in two; another account's container is not listed
	base := swName(t)
	names := []string{base + "-a", base + "-b", base + "-c", base + "-d"}
	for _, n := range names {
		if err := c.ContainerCreate(swCtx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, ok := e.Account(t)
	oc := e.Swift(t, ok.ID, ok.Value, 1)
	if err := oc.ContainerCreate(swCtx, base+"-e", nil); err != nil {
		t.Fatal(err)
	}
	put := func(cont, name, body string) {
		t.Helper()
		if err := c.ObjectPutString(swCtx, cont, name, body, "text/x-test"); err != nil {
			t.Fatalf("put %s/%s: %v", cont, name, err)
		}
	}
	put(names[0], "hello", "hello")
	put(names[0], "world", "world!")
	put(names[1], "abc", "abc")

	info, h, err = c.Account(swCtx)
	if err != nil || info.Containers != 4 || info.Objects != 3 || info.BytesUsed != 14 {
		t.Errorf("account HEAD = %+v, %v", info, err)
	}
	r = swDo(t, e, http.MethodGet, ap, tok, nil, nil)
	swWant(t, "account GET", r, http.StatusOK)
	if r.Header.Get("X-Account-Container-Count") != "4" || r.Header.Get("X-Account-Object-Count") != "3" ||
		r.Header.Get("X-Account-Bytes-Used") != "14" || r.Header.Get("X-Timestamp") == "" {
		t.Errorf("account GET headers: %v", r.Header)
	}
	if string(r.Body) != strings.Join(names, "\n")+"\n" {
		t.Errorf("account GET body %q", r.Body)
	}

	t.Run("json", func(t *testing.T) {
		var got []swContainerEntry
		swListJSON(t, e, ap, tok, &got)
		wantCounts := map[string][2]int64{names[0]: {2, 11}, names[1]: {1, 3}, names[2]: {0, 0}, names[3]: {0, 0}}
		if len(got) != 4 {
			t.Fatalf("json listing: %+v", got)
		}
		for i, ce := range got {
			if ce.Name != names[i] || [2]int64{ce.Count, ce.Bytes} != wantCounts[ce.Name] || !swLastModifiedRe.MatchString(ce.LastModified) {
				t.Errorf("json entry %d: %+v", i, ce)
			}
		}
		// Accept: application/json is format=json
		r := swDo(t, e, http.MethodGet, ap, tok, map[string]string{"Accept": "application/json"}, nil)
		swWant(t, "account GET Accept json", r, http.StatusOK)
		var viaAccept []swContainerEntry
		r.JSON(t, &viaAccept)
		if len(viaAccept) != 4 || viaAccept[3].Name != names[3] {
			t.Errorf("Accept: application/json listing: %s", r.Body)
		}
		// the client reads the same
		cs, err := c.Containers(swCtx, &swift.ContainersOpts{Prefix: base})
		if err != nil || len(cs) != 4 || cs[0].Name != names[0] || cs[0].Count != 2 || cs[0].Bytes != 11 {
			t.Errorf("Containers = %+v, %v", cs, err)
		}
	})

	t.Run("xml", func(t *testing.T) {
		r := swDo(t, e, http.MethodGet, ap+"?format=xml", tok, nil, nil)
		swWant(t, "account xml", r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
			t.Errorf("xml Content-Type %q", ct)
		}
		var doc struct {
			XMLName    xml.Name `xml:"account"`
			Name       string   `xml:"name,attr"`
			Containers []struct {
				Name         string `xml:"name"`
				Count        int64  `xml:"count"`
				Bytes        int64  `xml:"bytes"`
				LastModified string `xml:"last_modified"`
			} `xml:"container"`
		}
		if err := xml.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("account xml: %v: %s", err, r.Body)
		}
		if doc.Name != acct || len(doc.Containers) != 4 || doc.Containers[0].Name != names[0] || doc.Containers[0].Count != 2 ||
			doc.Containers[0].Bytes != 11 || doc.Containers[1].Bytes != 3 || doc.Containers[0].LastModified == "" {
			t.Errorf("account xml: %s", r.Body)
		}
	})

	t.Run("parameters", func(t *testing.T) {
		cases := []struct {
			kv   []string
			want []string
		}{
			{[]string{"limit", "2"}, names[:2]},
			{[]string{"marker", names[1]}, names[2:]},
			{[]string{"end_marker", names[2]}, names[:2]},
			{[]string{"marker", names[0], "end_marker", names[3]}, names[1:3]},
			{[]string{"prefix", names[2]}, names[2:3]},
			{[]string{"prefix", base + "-", "limit", "1", "marker", names[2]}, names[3:]},
			{[]string{"prefix", "zzz"}, nil},
		}
		for _, tc := range cases {
			what := fmt.Sprintf("account %q", tc.kv)
			swEq(t, what+" plain", swListPlain(t, e, ap, tok, tc.kv...), tc.want)
			var got []swContainerEntry
			swListJSON(t, e, ap, tok, &got, tc.kv...)
			var gotNames []string
			for _, ce := range got {
				gotNames = append(gotNames, ce.Name)
			}
			swEq(t, what+" json", gotNames, tc.want)
		}
		got, err := c.ContainerNames(swCtx, &swift.ContainersOpts{Marker: names[0], EndMarker: names[2]})
		if err != nil {
			t.Fatal(err)
		}
		swEq(t, "ContainerNames marker/end_marker", got, names[1:2])
	})

	t.Run("metadata", func(t *testing.T) {
		r := swDo(t, e, http.MethodPost, ap, tok, map[string]string{"X-Account-Meta-Color": "blue", "X-Account-Meta-Size": "big",
			"X-Account-Meta-Shape": "round"}, nil)
		swWant(t, "account POST", r, http.StatusNoContent)
		_, h, err := c.Account(swCtx)
		if err != nil {
			t.Fatal(err)
		}
		if m := h.AccountMetadata(); m["color"] != "blue" || m["size"] != "big" || m["shape"] != "round" {
			t.Errorf("account metadata after POST: %v", m)
		}
		// replace one, remove one with X-Remove-, one with an empty value
		if err := c.AccountUpdate(swCtx, swift.Headers{"X-Account-Meta-Color": "green", "X-Remove-Account-Meta-Size": "x",
			"X-Account-Meta-Shape": ""}); err != nil {
			t.Fatal(err)
		}
		r = swDo(t, e, http.MethodHead, ap, tok, nil, nil)
		swWant(t, "account HEAD", r, http.StatusOK, http.StatusNoContent)
		if r.Header.Get("X-Account-Meta-Color") != "green" || r.Header.Values("X-Account-Meta-Size") != nil ||
			r.Header.Values("X-Account-Meta-Shape") != nil {
			t.Errorf("account metadata after update: %v", r.Header)
		}
		// a key that is not an account admin may not
		plain := e.CreateKey(t, KeySpec{Account: acct, Admin: false, Access: map[string]string{"*": "write"}})
		r = swDo(t, e, http.MethodPost, ap, swToken(t, e, plain), map[string]string{"X-Account-Meta-Color": "red"}, nil)
		swWantErr(t, "account POST by a non-admin key", r, http.StatusForbidden)
		if _, h, _ := c.Account(swCtx); h["X-Account-Meta-Color"] != "green" {
			t.Errorf("a refused POST changed the metadata: %v", h)
		}
	})
}

// TestSwift_Container: create and re-create, metadata, type, policy, ACL
// headers, listings with every parameter, and deletion.
func TestSwift_Container(t *testing.T) {
	t.Parallel()
	e, acct, _, c := swStart(t, 2)
	tok := c.AuthToken

	t.Run("create_metadata", func(t *testing.T) {
		t.Parallel()
		name := swName(t)
		p := swPath(acct, name)
		r := swDo(t, e, http.MethodPut, p, tok, map[string]string{"X-Container-Meta-Color": "red", "X-Container-Read": "elsewhere"}, nil)
		swWant(t, "container PUT", r, http.StatusCreated)
		r = swDo(t, e, http.MethodPut, p, tok, map[string]string{"X-Container-Meta-Size": "big"}, nil)
		swWant(t, "container PUT again", r, http.StatusAccepted)
		r = swDo(t, e, http.MethodHead, p, tok, nil, nil)
		swWant(t, "container HEAD", r, http.StatusOK, http.StatusNoContent)
		hd := r.Header
		if hd.Get("X-Container-Object-Count") != "0" || hd.Get("X-Container-Bytes-Used") != "0" || hd.Get("X-Container-Meta-Type") != "private" ||
			hd.Get("X-Storage-Policy") != "Policy-0" || hd.Get("X-Timestamp") == "" || hd.Get("X-Container-Meta-Color") != "red" ||
			hd.Get("X-Container-Meta-Size") != "big" || hd.Get("X-Container-Read") != "elsewhere" {
			t.Errorf("container HEAD headers: %v", hd)
		}
		// POST sets, replaces and removes
		if err := c.ContainerUpdate(swCtx, name, swift.Headers{"X-Container-Meta-Color": "green", "X-Container-Meta-Shape": "round"}); err != nil {
			t.Fatal(err)
		}
		_, h, err := c.Container(swCtx, name)
		if m := h.ContainerMetadata(); err != nil || m["color"] != "green" || m["shape"] != "round" || m["size"] != "big" {
			t.Errorf("after POST: %v %v", m, err)
		}
		r = swDo(t, e, http.MethodPost, p, tok, map[string]string{"X-Remove-Container-Meta-Color": "x", "X-Container-Meta-Size": "",
			"X-Remove-Container-Read": "x"}, nil)
		swWant(t, "container POST", r, http.StatusNoContent)
		_, h, err = c.Container(swCtx, name)
		if m := h.ContainerMetadata(); err != nil || m["color"] != "" || m["size"] != "" || m["shape"] != "round" || h["X-Container-Read"] != "" {
			t.Errorf("after removal: %v %v", h, err)
		}
		if _, ok := h["X-Container-Meta-Color"]; ok {
			t.Errorf("removed metadata still sent: %v", h)
		}
	})

	t.Run("type_policy", func(t *testing.T) {
		t.Parallel()
		// a policy /info lists other than the default one is kept; the
		// contract says only "kept", so, as in real Swift, the name must be
		// one /info lists, and an unknown one is refused with 400
		var info struct {
			Swift struct {
				Policies []struct {
					Name    string `json:"name"`
					Default bool   `json:"default"`
				} `json:"policies"`
			} `json:"swift"`
		}
		r := swDo(t, e, http.MethodGet, "/info", "", nil, nil)
		swWant(t, "GET /info", r, http.StatusOK)
		r.JSON(t, &info)
		policy := "Policy-0"
		for _, p := range info.Swift.Policies {
			if !p.Default && p.Name != "" {
				policy = p.Name
			}
		}
		name := swName(t)
		if err := c.ContainerCreate(swCtx, name, swift.Headers{"X-Container-Meta-Type": "public", "X-Storage-Policy": policy}); err != nil {
			t.Fatal(err)
		}
		_, h, err := c.Container(swCtx, name)
		if err != nil || h["X-Container-Meta-Type"] != "public" || h["X-Storage-Policy"] != policy {
			t.Errorf("public container with policy %s: %v %v", policy, h, err)
		}
		if err := c.ContainerUpdate(swCtx, name, swift.Headers{"X-Container-Meta-Type": "private"}); err != nil {
			t.Fatal(err)
		}
		_, h, err = c.Container(swCtx, name)
		if err != nil || h["X-Container-Meta-Type"] != "private" || h["X-Storage-Policy"] != policy {
			t.Errorf("made private: %v %v", h, err)
		}
		r = swDo(t, e, http.MethodPut, swPath(acct, swName(t)+"-nopolicy"), tok, map[string]string{"X-Storage-Policy": "no-such-policy"}, nil)
		swWantErr(t, "PUT with an unknown policy", r, http.StatusBadRequest)
		if policy != "Policy-0" { // real Swift: a container's policy is fixed when it is made
			r = swDo(t, e, http.MethodPut, swPath(acct, name), tok, map[string]string{"X-Storage-Policy": "Policy-0"}, nil)
			swWantErr(t, "PUT changing the policy", r, http.StatusConflict)
		}
	})

	t.Run("listing", func(t *testing.T) {
		t.Parallel()
		name := swContainer(t, c)
		p := swPath(acct, name)
		var empty []swObjectEntry
		r := swListJSON(t, e, p, tok, &empty) // real Swift: an empty json listing is 200 []
		if len(empty) != 0 || strings.TrimSpace(string(r.Body)) != "[]" {
			t.Errorf("empty container json: %q", r.Body)
		}
		if got := swListPlain(t, e, p, tok); got != nil {
			t.Errorf("empty container plain: %q", got)
		}
		objs := []string{"a.txt", "b/1", "b/2", "b/c/3", "d", "e/1"}
		var total int64
		for _, o := range objs {
			if err := c.ObjectPutString(swCtx, name, o, "body of "+o, ""); err != nil {
				t.Fatal(err)
			}
			total += int64(len("body of " + o))
		}
		info, _, err := c.Container(swCtx, name)
		if err != nil || info.Count != 6 || info.Bytes != total {
			t.Errorf("container HEAD = %+v, %v (want 6, %d)", info, err, total)
		}
		var all []swObjectEntry
		swListJSON(t, e, p, tok, &all)
		swEq(t, "json listing", swObjectNames(t, all), objs)
		for _, o := range all {
			if o.Hash != md5hex([]byte("body of "+o.Name)) || o.Bytes != int64(len("body of "+o.Name)) || !swLastModifiedRe.MatchString(o.LastModified) {
				t.Errorf("json entry %+v", o)
			}
		}
		if len(all) < 2 || all[0].ContentType != "text/plain; charset=utf-8" || all[1].ContentType != "application/octet-stream" {
			t.Errorf("json content types: %+v", all)
		}
		cases := []struct {
			kv   []string
			want []string
		}{
			{nil, objs},
			{[]string{"limit", "2"}, objs[:2]},
			{[]string{"marker", "b/1"}, objs[2:]},
			{[]string{"end_marker", "d"}, objs[:4]},
			{[]string{"marker", "a.txt", "end_marker", "b/c/3"}, []string{"b/1", "b/2"}},
			{[]string{"prefix", "b/"}, []string{"b/1", "b/2", "b/c/3"}},
			{[]string{"delimiter", "/"}, []string{"a.txt", "b/", "d", "e/"}},
			{[]string{"prefix", "b/", "delimiter", "/"}, []string{"b/1", "b/2", "b/c/"}},
			{[]string{"delimiter", "/", "limit", "2"}, []string{"a.txt", "b/"}},
			{[]string{"delimiter", "/", "marker", "b/"}, []string{"d", "e/"}},
			{[]string{"path", "b"}, []string{"b/1", "b/2", "b/c/"}}, // the contract: path = prefix "b/" + delimiter "/"
			{[]string{"prefix", "x"}, nil},
		}
		for _, tc := range cases {
			what := fmt.Sprintf("container %q", tc.kv)
			swEq(t, what+" plain", swListPlain(t, e, p, tok, tc.kv...), tc.want)
			var got []swObjectEntry
			swListJSON(t, e, p, tok, &got, tc.kv...)
			swEq(t, what+" json", swObjectNames(t, got), tc.want)
		}
		// the client's view of the same
		os, err := c.Objects(swCtx, name, &swift.ObjectsOpts{Delimiter: '/'})
		if err != nil || len(os) != 4 || !os[1].PseudoDirectory || os[1].Name != "b/" || os[0].Hash != md5hex([]byte("body of a.txt")) {
			t.Errorf("Objects delimiter / = %+v, %v", os, err)
		}
		ns, err := c.ObjectNames(swCtx, name, &swift.ObjectsOpts{Prefix: "b/", Marker: "b/1"})
		if err != nil {
			t.Fatal(err)
		}
		swEq(t, "ObjectNames prefix+marker", ns, []string{"b/2", "b/c/3"})
		// the subdir entry in JSON is {"subdir": "..."} alone
		var raw []map[string]any
		r = swDo(t, e, http.MethodGet, p+"?format=json&delimiter=/", tok, nil, nil)
		r.JSON(t, &raw)
		if len(raw) != 4 || len(raw[3]) != 1 || raw[3]["subdir"] != "e/" {
			t.Errorf("json with delimiter: %s", r.Body)
		}
		// xml
		r = swDo(t, e, http.MethodGet, p+"?format=xml&delimiter=/", tok, nil, nil)
		swWant(t, "container xml", r, http.StatusOK)
		var doc struct {
			XMLName xml.Name `xml:"container"`
			Name    string   `xml:"name,attr"`
			Objects []struct {
				Name        string `xml:"name"`
				Hash        string `xml:"hash"`
				Bytes       int64  `xml:"bytes"`
				ContentType string `xml:"content_type"`
			} `xml:"object"`
			Subdirs []struct {
				Name string `xml:"name,attr"`
			} `xml:"subdir"`
		}
		if err := xml.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("container xml: %v: %s", err, r.Body)
		}
		if doc.Name != name || len(doc.Objects) != 2 || doc.Objects[0].Name != "a.txt" || doc.Objects[1].Name != "d" ||
			doc.Objects[1].Hash != md5hex([]byte("body of d")) || doc.Objects[1].Bytes != 9 || len(doc.Subdirs) != 2 ||
			doc.Subdirs[0].Name != "b/" || doc.Subdirs[1].Name != "e/" {
			t.Errorf("container xml: %s", r.Body)
		}
		// limit bounds
		swWant(t, "limit 10000", swDo(t, e, http.MethodGet, p+"?limit=10000", tok, nil, nil), http.StatusOK)
		swWantErr(t, "limit 10001", swDo(t, e, http.MethodGet, p+"?limit=10001", tok, nil, nil), http.StatusPreconditionFailed)
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		name := swContainer(t, c)
		p := swPath(acct, name)
		if err := c.ObjectPutString(swCtx, name, "x", "x", ""); err != nil {
			t.Fatal(err)
		}
		swWantErr(t, "DELETE a container with objects", swDo(t, e, http.MethodDelete, p, tok, nil, nil), http.StatusConflict)
		swWantClientErr(t, "ContainerDelete with objects", c.ContainerDelete(swCtx, name), http.StatusConflict)
		if err := c.ObjectDelete(swCtx, name, "x"); err != nil {
			t.Fatal(err)
		}
		swWant(t, "DELETE empty container", swDo(t, e, http.MethodDelete, p, tok, nil, nil), http.StatusNoContent)
		swWantErr(t, "DELETE it again", swDo(t, e, http.MethodDelete, p, tok, nil, nil), http.StatusNotFound)
		swWant(t, "HEAD deleted container", swDo(t, e, http.MethodHead, p, tok, nil, nil), http.StatusNotFound)
		swWantErr(t, "GET deleted container", swDo(t, e, http.MethodGet, p, tok, nil, nil), http.StatusNotFound)
		swWantErr(t, "PUT object in deleted container", swDo(t, e, http.MethodPut, p+"/y", tok, nil, strings.NewReader("y")), http.StatusNotFound)
		swWantClientErr(t, "ContainerDelete absent", c.ContainerDelete(swCtx, name), http.StatusNotFound)
		if names, err := c.ContainerNames(swCtx, nil); err != nil || slices.Contains(names, name) {
			t.Errorf("deleted container still listed: %q %v", names, err)
		}
	})
}

// TestSwift_TransID: every response carries a non-empty X-Trans-Id, the
// same X-Openstack-Request-Id, and a new one each time, errors and 401s
// included.
func TestSwift_TransID(t *testing.T) {
	t.Parallel()
	e := Start(t)
	acct, k := e.Account(t)
	tok := swToken(t, e, k)
	cont := swName(t)
	etag := md5hex([]byte("t"))
	steps := []struct {
		method, path, token string
		hdr                 map[string]string
		body                string
		status              int
	}{
		{"GET", "/info", "", nil, "", 200},
		{"GET", "/auth/v1.0", "", map[string]string{"X-Auth-User": k.ID, "X-Auth-Key": k.Value}, "", 204},
		{"GET", "/auth/v1.0", "", map[string]string{"X-Auth-User": k.ID, "X-Auth-Key": "wrong"}, "", 401},
		{"POST", "/v2.0/tokens", "", nil, `{"auth":{}}`, 401},
		{"POST", "/v3/auth/tokens", "", nil, `{}`, 401},
		{"PUT", swPath(acct, cont), tok, nil, "", 201},
		{"PUT", swPath(acct, cont), tok, nil, "", 202},
		{"PUT", swPath(acct, cont, "t"), tok, nil, "t", 201},
		{"PUT", swPath(acct, cont, "bad"), tok, map[string]string{"Etag": md5hex(nil)}, "t", 422},
		{"GET", swPath(acct, cont, "t"), tok, nil, "", 200},
		{"HEAD", swPath(acct, cont, "t"), tok, nil, "", 200},
		{"GET", swPath(acct, cont, "t"), tok, map[string]string{"If-None-Match": `"` + etag + `"`}, "", 304},
		{"GET", swPath(acct, cont, "t"), tok, map[string]string{"If-Match": `"nope"`}, "", 412},
		{"GET", swPath(acct, cont, "t"), tok, map[string]string{"Range": "bytes=5-9"}, "", 416},
		{"GET", swPath(acct, cont, "absent"), tok, nil, "", 404},
		{"HEAD", swPath(acct, cont, "absent"), tok, nil, "", 404},
		{"GET", swPath(acct, cont, "t"), "", nil, "", 401},
		{"GET", swPath(acct, cont, "t"), "AUTH_tk0000000000000000", nil, "", 401},
		{"HEAD", swPath(acct), "", nil, "", 401},
		{"OPTIONS", swPath(acct, cont, "t"), "", map[string]string{"Origin": "https://x.example", "Access-Control-Request-Method": "GET"}, "", 401},
		{"GET", swPath(acct, cont) + "?limit=10001", tok, nil, "", 412},
		{"DELETE", swPath(acct, cont), tok, nil, "", 409},
		{"GET", swPath("default"), tok, nil, "", 403},
		{"POST", swPath(acct, cont, "t"), tok, map[string]string{"X-Object-Meta-X": "y"}, "", 202},
		{"DELETE", swPath(acct, cont, "t"), tok, nil, "", 204},
		{"DELETE", swPath(acct, cont, "t"), tok, nil, "", 404},
		{"DELETE", swPath(acct, cont), tok, nil, "", 204},
	}
	seen := map[string]string{}
	for i, s := range steps {
		what := fmt.Sprintf("step %d: %s %s", i, s.method, s.path)
		var body io.Reader
		if s.body != "" {
			body = strings.NewReader(s.body)
		}
		r := swDo(t, e, s.method, s.path, s.token, s.hdr, body)
		swWant(t, what, r, s.status)
		id := r.Header.Get("X-Trans-Id")
		if id == "" || r.Header.Get("X-Openstack-Request-Id") != id { // Swift sends the same value in both
			t.Errorf("%s: X-Trans-Id %q, X-Openstack-Request-Id %q", what, id, r.Header.Get("X-Openstack-Request-Id"))
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s: X-Trans-Id %q already given to %s", what, id, prev)
		}
		seen[id] = what
		if s.status >= 400 && s.method != "HEAD" && !strings.HasPrefix(s.path, "/auth") && !strings.HasPrefix(s.path, "/v2.0") &&
			!strings.HasPrefix(s.path, "/v3") && s.method != "OPTIONS" {
			swWantErr(t, what, r, s.status)
		}
	}
}

// TestSwift_Public: a public container (or .r:*) serves objects without a
// token but not its listing (unless .rlistings); a private one serves
// nothing without a token.
func TestSwift_Public(t *testing.T) {
	t.Parallel()
	e, acct, _, c := swStart(t, 1)
	pub, priv, rr := swName(t)+"-pub", swName(t)+"-priv", swName(t)+"-rr"
	for cn, h := range map[string]swift.Headers{pub: {"X-Container-Meta-Type": "public"}, priv: nil, rr: {"X-Container-Read": ".r:*"}} {
		if err := c.ContainerCreate(swCtx, cn, h); err != nil {
			t.Fatal(err)
		}
		if err := c.ObjectPutString(swCtx, cn, "doc.txt", "public? "+cn, ""); err != nil {
			t.Fatal(err)
		}
	}
	anon := func(method, path string) *Resp { return swDo(t, e, method, path, "", nil, nil) }
	for _, cn := range []string{pub, rr} {
		r := anon(http.MethodGet, swPath(acct, cn, "doc.txt"))
		swWant(t, "anonymous GET in "+cn, r, http.StatusOK)
		if string(r.Body) != "public? "+cn || r.Header.Get("Etag") != md5hex([]byte("public? "+cn)) {
			t.Errorf("anonymous GET in %s: %q %v", cn, r.Body, r.Header)
		}
		r = anon(http.MethodHead, swPath(acct, cn, "doc.txt"))
		swWant(t, "anonymous HEAD in "+cn, r, http.StatusOK)
		if r.Header.Get("Content-Length") != strconv.Itoa(len("public? "+cn)) {
			t.Errorf("anonymous HEAD: %v", r.Header)
		}
		swWantErr(t, "anonymous GET of an absent object in "+cn, anon(http.MethodGet, swPath(acct, cn, "absent")), http.StatusNotFound)
		swWantErr(t, "anonymous listing of "+cn, anon(http.MethodGet, swPath(acct, cn)), http.StatusUnauthorized)
		swWantErr(t, "anonymous PUT in "+cn, swDo(t, e, http.MethodPut, swPath(acct, cn, "new"), "", nil, strings.NewReader("x")), http.StatusUnauthorized)
		swWantErr(t, "anonymous DELETE in "+cn, anon(http.MethodDelete, swPath(acct, cn, "doc.txt")), http.StatusUnauthorized)
	}
	swWantErr(t, "anonymous GET in a private container", anon(http.MethodGet, swPath(acct, priv, "doc.txt")), http.StatusUnauthorized)
	swWant(t, "anonymous HEAD in a private container", anon(http.MethodHead, swPath(acct, priv, "doc.txt")), http.StatusUnauthorized)
	swWantErr(t, "anonymous account listing", anon(http.MethodGet, swPath(acct)), http.StatusUnauthorized)
	swWant(t, "GET with a token in a private container", swDo(t, e, http.MethodGet, swPath(acct, priv, "doc.txt"), c.AuthToken, nil, nil), http.StatusOK)

	// .rlistings opens the listing too
	if err := c.ContainerUpdate(swCtx, rr, swift.Headers{"X-Container-Read": ".r:*,.rlistings"}); err != nil {
		t.Fatal(err)
	}
	if got := swListPlain(t, e, swPath(acct, rr), ""); !slices.Equal(got, []string{"doc.txt"}) {
		t.Errorf("anonymous listing with .rlistings: %q", got)
	}
	// made private again, the public container serves nothing anonymously
	if err := c.ContainerUpdate(swCtx, pub, swift.Headers{"X-Container-Meta-Type": "private"}); err != nil {
		t.Fatal(err)
	}
	swWantErr(t, "anonymous GET after making it private", anon(http.MethodGet, swPath(acct, pub, "doc.txt")), http.StatusUnauthorized)
}

// TestSwift_ACL: keys of another account use a container through the
// owner's account URL as X-Container-Read / -Write allow, and not without.
func TestSwift_ACL(t *testing.T) {
	t.Parallel()
	e := Start(t)
	owner, ok := e.Account(t)
	oc := e.Swift(t, ok.ID, ok.Value, 1)
	guest, gadm := e.Account(t)
	g1 := e.CreateKey(t, KeySpec{Account: guest, Admin: false, Access: map[string]string{"*": "write"}})
	g2 := e.CreateKey(t, KeySpec{Account: guest, Admin: false, Access: map[string]string{"*": "write"}})
	tok1, tok2, tokAdm := swToken(t, e, g1), swToken(t, e, g2), swToken(t, e, gadm)
	cont := swContainer(t, oc)
	if err := oc.ObjectPutString(swCtx, cont, "shared.txt", "shared", ""); err != nil {
		t.Fatal(err)
	}
	obj := swPath(owner, cont, "shared.txt")
	setACL := func(h swift.Headers) {
		t.Helper()
		if err := oc.ContainerUpdate(swCtx, cont, h); err != nil {
			t.Fatal(err)
		}
	}
	canRead := func(what, tok string, want bool) {
		t.Helper()
		r := swDo(t, e, http.MethodGet, obj, tok, nil, nil)
		if want {
			if r.Status != 200 || string(r.Body) != "shared" {
				t.Errorf("%s: GET %d %q, want 200", what, r.Status, r.Body)
			}
			var l []swObjectEntry
			swListJSON(t, e, swPath(owner, cont), tok, &l)
			if len(l) == 0 || l[0].Name != "shared.txt" {
				t.Errorf("%s: listing %+v", what, l)
			}
			return
		}
		// real Swift answers 403 to an authenticated key without a grant
		swWantErr(t, what+": GET", r, http.StatusForbidden)
		swWant(t, what+": HEAD", swDo(t, e, http.MethodHead, obj, tok, nil, nil), http.StatusForbidden)
		swWantErr(t, what+": listing", swDo(t, e, http.MethodGet, swPath(owner, cont), tok, nil, nil), http.StatusForbidden)
	}
	canWrite := func(what, tok string, want bool) {
		t.Helper()
		p := swPath(owner, cont, "from-guest")
		r := swDo(t, e, http.MethodPut, p, tok, nil, strings.NewReader("guest"))
		if !want {
			swWantErr(t, what+": PUT", r, http.StatusForbidden)
			swWantErr(t, what+": DELETE", swDo(t, e, http.MethodDelete, obj, tok, nil, nil), http.StatusForbidden)
			return
		}
		swWant(t, what+": PUT", r, http.StatusCreated)
		if got, err := oc.ObjectGetString(swCtx, cont, "from-guest"); err != nil || got != "guest" {
			t.Errorf("%s: owner reads %q, %v", what, got, err)
		}
		swWant(t, what+": DELETE", swDo(t, e, http.MethodDelete, p, tok, nil, nil), http.StatusNoContent)
	}

	canRead("no ACL", tok1, false)
	canRead("no ACL, guest account admin", tokAdm, false)
	canWrite("no ACL", tok1, false)
	swWantErr(t, "guest on the owner's account", swDo(t, e, http.MethodGet, swPath(owner), tok1, nil, nil), http.StatusForbidden)

	// the account id: every key of the guest account reads, none writes
	setACL(swift.Headers{"X-Container-Read": guest})
	canRead("read ACL by account", tok1, true)
	canRead("read ACL by account, other key", tok2, true)
	canRead("read ACL by account, its admin", tokAdm, true)
	canWrite("read ACL only", tok1, false)
	r := swDo(t, e, http.MethodHead, swPath(owner, cont), tok1, nil, nil)
	swWant(t, "guest HEAD of the container", r, http.StatusOK, http.StatusNoContent)
	if r.Header.Get("X-Container-Read") != "" || r.Header.Get("X-Container-Object-Count") != "1" {
		t.Errorf("guest HEAD: %v (ACLs go to the account admin only)", r.Header)
	}
	if _, h, err := oc.Container(swCtx, cont); err != nil || h["X-Container-Read"] != guest {
		t.Errorf("owner HEAD: %v %v", h, err)
	}
	// the client through the owner's URL
	gc := e.Swift(t, g1.ID, g1.Value, 3)
	gc.StorageUrl = e.URL + swPath(owner)
	if got, err := gc.ObjectGetString(swCtx, cont, "shared.txt"); err != nil || got != "shared" {
		t.Errorf("client through the owner's URL: %q %v", got, err)
	}
	swWantClientErr(t, "client PUT with read only", gc.ObjectPutString(swCtx, cont, "no", "no", ""), http.StatusForbidden)
	// a key with a read grant still may not change the container
	swWantErr(t, "guest POST on the container", swDo(t, e, http.MethodPost, swPath(owner, cont), tok1,
		map[string]string{"X-Container-Meta-X": "y"}, nil), http.StatusForbidden)

	// <account>:* is the same; <account>:<keyid> and a bare key id are that key only
	for _, acl := range []string{guest + ":*", guest + ":" + g1.ID, g1.ID} {
		setACL(swift.Headers{"X-Container-Read": acl})
		canRead("read ACL "+acl, tok1, true)
		canRead("read ACL "+acl+", other key", tok2, acl == guest+":*")
	}

	// write implies read
	setACL(swift.Headers{"X-Remove-Container-Read": "x", "X-Container-Write": guest + ":" + g1.ID})
	canWrite("write ACL", tok1, true)
	canRead("write ACL", tok1, true)
	canWrite("write ACL, other key", tok2, false)
	if err := gc.ObjectPutString(swCtx, cont, "via-client", "c", ""); err != nil {
		t.Errorf("client PUT with the write ACL: %v", err)
	}
	setACL(swift.Headers{"X-Remove-Container-Write": "x"})
	canRead("ACLs removed", tok1, false)
	canWrite("ACLs removed", tok1, false)
}

// TestSwift_NonAdmin: keys that are not account admins use objects as
// their grants allow and never create, change or delete containers.
func TestSwift_NonAdmin(t *testing.T) {
	t.Parallel()
	e, acct, _, c := swStart(t, 1)
	c1, c2 := swContainer(t, c), swName(t)+"-two"
	if err := c.ContainerCreate(swCtx, c2, nil); err != nil {
		t.Fatal(err)
	}
	for _, cn := range []string{c1, c2} {
		if err := c.ObjectPutString(swCtx, cn, "o", "in "+cn, ""); err != nil {
			t.Fatal(err)
		}
	}
	w := swToken(t, e, e.CreateKey(t, KeySpec{Account: acct, Admin: false, Access: map[string]string{"*": "write"}}))
	rd := swToken(t, e, e.CreateKey(t, KeySpec{Account: acct, Admin: false, Access: map[string]string{c1: "read"}}))

	swWantErr(t, "non-admin container PUT", swDo(t, e, http.MethodPut, swPath(acct, swName(t)+"-new"), w, nil, nil), http.StatusForbidden)
	swWantErr(t, "non-admin container PUT of an existing one", swDo(t, e, http.MethodPut, swPath(acct, c1), w,
		map[string]string{"X-Container-Meta-X": "y"}, nil), http.StatusForbidden)
	swWantErr(t, "non-admin container POST", swDo(t, e, http.MethodPost, swPath(acct, c1), w, map[string]string{"X-Container-Meta-X": "y"}, nil), http.StatusForbidden)
	swWantErr(t, "non-admin container DELETE", swDo(t, e, http.MethodDelete, swPath(acct, c2), w, nil, nil), http.StatusForbidden)
	if _, h, err := c.Container(swCtx, c1); err != nil || h["X-Container-Meta-X"] != "" {
		t.Errorf("refused requests changed the container: %v %v", h, err)
	}
	if names, err := c.ContainerNames(swCtx, nil); err != nil || len(names) != 2 {
		t.Errorf("containers after refused requests: %q %v", names, err)
	}
	// objects as granted
	swWant(t, "write key PUT", swDo(t, e, http.MethodPut, swPath(acct, c2, "w"), w, nil, strings.NewReader("w")), http.StatusCreated)
	swWant(t, "write key GET", swDo(t, e, http.MethodGet, swPath(acct, c2, "w"), w, nil, nil), http.StatusOK)
	swWant(t, "write key DELETE", swDo(t, e, http.MethodDelete, swPath(acct, c2, "w"), w, nil, nil), http.StatusNoContent)
	r := swDo(t, e, http.MethodGet, swPath(acct, c1, "o"), rd, nil, nil)
	if r.Status != 200 || string(r.Body) != "in "+c1 {
		t.Errorf("read key GET: %d %q", r.Status, r.Body)
	}
	swWantErr(t, "read key PUT", swDo(t, e, http.MethodPut, swPath(acct, c1, "r"), rd, nil, strings.NewReader("r")), http.StatusForbidden)
	swWantErr(t, "read key DELETE", swDo(t, e, http.MethodDelete, swPath(acct, c1, "o"), rd, nil, nil), http.StatusForbidden)
	swWantErr(t, "read key GET elsewhere", swDo(t, e, http.MethodGet, swPath(acct, c2, "o"), rd, nil, nil), http.StatusForbidden)
	swWantErr(t, "read key listing elsewhere", swDo(t, e, http.MethodGet, swPath(acct, c2), rd, nil, nil), http.StatusForbidden)
	swEq(t, "read key container listing", swListPlain(t, e, swPath(acct, c1), rd), []string{"o"})
	// the account listing shows only what the key may read
	var l []swContainerEntry
	swListJSON(t, e, swPath(acct), rd, &l)
	if len(l) != 1 || l[0].Name != c1 {
		t.Errorf("read key account listing: %+v", l)
	}
	swEq(t, "write key account listing", swListPlain(t, e, swPath(acct), w), swSorted(c1, c2))
}

// TestSwift_Isolation: accounts do not see each other's containers; only
// the server admin key crosses accounts.
func TestSwift_Isolation(t *testing.T) {
	t.Parallel()
	e := Start(t)
	a, ka := e.Account(t)
	b, kb := e.Account(t)
	ca, cb := e.Swift(t, ka.ID, ka.Value, 1), e.Swift(t, kb.ID, kb.Value, 2)
	contA, contB := swContainer(t, ca), swContainer(t, cb)
	for _, x := range []struct {
		c    *swift.Connection
		cont string
	}{{ca, contA}, {cb, contB}} {
		if err := x.c.ObjectPutString(swCtx, x.cont, "o", "in "+x.cont, ""); err != nil {
			t.Fatal(err)
		}
	}
	ta, tb := ca.AuthToken, cb.AuthToken

	// B's key on A's account
	swWant(t, "HEAD other account", swDo(t, e, http.MethodHead, swPath(a), tb, nil, nil), http.StatusForbidden)
	swWantErr(t, "GET other account", swDo(t, e, http.MethodGet, swPath(a), tb, nil, nil), http.StatusForbidden)
	swWantErr(t, "POST other account", swDo(t, e, http.MethodPost, swPath(a), tb, map[string]string{"X-Account-Meta-X": "y"}, nil), http.StatusForbidden)
	swWantErr(t, "PUT container in other account", swDo(t, e, http.MethodPut, swPath(a, swName(t)+"-x"), tb, nil, nil), http.StatusForbidden)
	swWantErr(t, "GET object in other account", swDo(t, e, http.MethodGet, swPath(a, contA, "o"), tb, nil, nil), http.StatusForbidden)

	// B's container under A's own URL does not exist for A
	swWant(t, "HEAD B's container under A", swDo(t, e, http.MethodHead, swPath(a, contB), ta, nil, nil), http.StatusNotFound)
	swWantErr(t, "GET B's container under A", swDo(t, e, http.MethodGet, swPath(a, contB), ta, nil, nil), http.StatusNotFound)
	swWantErr(t, "GET B's object under A", swDo(t, e, http.MethodGet, swPath(a, contB, "o"), ta, nil, nil), http.StatusNotFound)
	swWantErr(t, "PUT object in B's container under A", swDo(t, e, http.MethodPut, swPath(a, contB, "n"), ta, nil, strings.NewReader("n")), http.StatusNotFound)
	swWantErr(t, "DELETE B's object under A", swDo(t, e, http.MethodDelete, swPath(a, contB, "o"), ta, nil, nil), http.StatusNotFound)
	swWantErr(t, "DELETE B's container under A", swDo(t, e, http.MethodDelete, swPath(a, contB), ta, nil, nil), http.StatusNotFound)
	swWantErr(t, "POST B's container under A", swDo(t, e, http.MethodPost, swPath(a, contB), ta, map[string]string{"X-Container-Meta-X": "y"}, nil), http.StatusNotFound)
	// container names belong to their account: A's container of B's
	// container's name is A's own, and leaves B's alone
	swWant(t, "PUT B's container name under A", swDo(t, e, http.MethodPut, swPath(a, contB), ta, nil, nil), http.StatusCreated)
	swWant(t, "HEAD A's own container of that name", swDo(t, e, http.MethodHead, swPath(a, contB), ta, nil, nil), http.StatusNoContent)
	if got, err := cb.ObjectGetString(swCtx, contB, "o"); err != nil || got != "in "+contB {
		t.Errorf("B's object after A's attempts: %q %v", got, err)
	}
	swWant(t, "DELETE A's own container of that name", swDo(t, e, http.MethodDelete, swPath(a, contB), ta, nil, nil), http.StatusNoContent)
	names, err := ca.ContainerNames(swCtx, nil)
	if err != nil {
		t.Fatal(err)
	}
	swEq(t, "A's containers", names, []string{contA})

	// the server admin key acts on every account
	adm := swToken(t, e, Key{ID: e.AdminKeyID, Value: e.AdminKey})
	swEq(t, "admin lists A", swListPlain(t, e, swPath(a), adm), []string{contA})
	swEq(t, "admin lists B", swListPlain(t, e, swPath(b), adm), []string{contB})
	r := swDo(t, e, http.MethodGet, swPath(b, contB, "o"), adm, nil, nil)
	if r.Status != 200 || string(r.Body) != "in "+contB {
		t.Errorf("admin GET in B: %d %q", r.Status, r.Body)
	}
	swWant(t, "admin POST on A", swDo(t, e, http.MethodPost, swPath(a), adm, map[string]string{"X-Account-Meta-By": "admin"}, nil), http.StatusNoContent)
	if _, h, err := ca.Account(swCtx); err != nil || h["X-Account-Meta-By"] != "admin" {
		t.Errorf("A after the admin's POST: %v %v", h, err)
	}
	swWantErr(t, "unknown account", swDo(t, e, http.MethodGet, swPath(a+"-nope", contA), ta, nil, nil), http.StatusForbidden)
}

// TestSwift_Info: GET /info without a token describes the cluster.
func TestSwift_Info(t *testing.T) {
	t.Parallel()
	e := Start(t)
	r := swDo(t, e, http.MethodGet, "/info", "", nil, nil)
	swWant(t, "GET /info", r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("/info Content-Type %q", ct)
	}
	var info struct {
		Swift struct {
			Version                string            `json:"version"`
			MaxFileSize            int64             `json:"max_file_size"`
			MaxObjectNameLength    int64             `json:"max_object_name_length"`
			ContainerListingLimit  int64             `json:"container_listing_limit"`
			AccountListingLimit    int64             `json:"account_listing_limit"`
			MaxMetaNameLength      int64             `json:"max_meta_name_length"`
			MaxMetaValueLength     int64             `json:"max_meta_value_length"`
			MaxMetaCount           int64             `json:"max_meta_count"`
			MaxMetaOverallSize     int64             `json:"max_meta_overall_size"`
			MaxHeaderSize          int64             `json:"max_header_size"`
			MaxContainerNameLength int64             `json:"max_container_name_length"`
			Policies               []json.RawMessage `json:"policies"`
			StrictCORSMode         *bool             `json:"strict_cors_mode"`
		} `json:"swift"`
		Tempauth json.RawMessage `json:"tempauth"`
	}
	r.JSON(t, &info)
	s := info.Swift
	if s.Version == "" || s.MaxFileSize <= 0 || s.MaxObjectNameLength != 1024 || s.ContainerListingLimit != 10000 ||
		s.AccountListingLimit != 10000 || s.MaxMetaNameLength <= 0 || s.MaxMetaValueLength <= 0 || s.MaxMetaCount <= 0 ||
		s.MaxMetaOverallSize <= 0 || s.MaxHeaderSize <= 0 || s.MaxContainerNameLength != 256 || len(s.Policies) == 0 ||
		s.StrictCORSMode == nil || !*s.StrictCORSMode || len(info.Tempauth) == 0 {
		t.Errorf("/info: %s", r.Body)
	}
	// the client finds it next to the storage URL
	c := e.Swift(t, e.AdminKeyID, e.AdminKey, 1)
	qi, err := c.QueryInfo(swCtx)
	if err != nil {
		t.Fatalf("QueryInfo: %v", err)
	}
	sw, _ := qi["swift"].(map[string]any)
	if sw == nil || sw["max_object_name_length"] != float64(1024) {
		t.Errorf("QueryInfo: %v", qi)
	}
}

// TestSwift_Expiry: X-Delete-At / X-Delete-After come back on HEAD and GET,
// and past that time the object reads 404 at once (a test clock).
func TestSwift_Expiry(t *testing.T) {
	t.Parallel()
	clk := newTestClock(time.Time{})
	e := Start(t, func(c *server.Config) { c.Clock = clk.Now })
	acct, k := e.Account(t)
	c := e.Swift(t, k.ID, k.Value, 1)
	tok := c.AuthToken
	cont := swContainer(t, c)
	now := clk.Now().Unix()
	put := func(name string, hdr map[string]string) {
		t.Helper()
		swWant(t, "PUT "+name, swDo(t, e, http.MethodPut, swPath(acct, cont, name), tok, hdr, strings.NewReader("body of "+name)), http.StatusCreated)
	}
	deleteAt := func(name string) string {
		t.Helper()
		r := swDo(t, e, http.MethodHead, swPath(acct, cont, name), tok, nil, nil)
		swWant(t, "HEAD "+name, r, http.StatusOK)
		g := swDo(t, e, http.MethodGet, swPath(acct, cont, name), tok, nil, nil)
		if g.Header.Get("X-Delete-At") != r.Header.Get("X-Delete-At") {
			t.Errorf("%s: X-Delete-At on GET %q, on HEAD %q", name, g.Header.Get("X-Delete-At"), r.Header.Get("X-Delete-At"))
		}
		return r.Header.Get("X-Delete-At")
	}
	put("after", map[string]string{"X-Delete-After": "60"})
	put("at", map[string]string{"X-Delete-At": strconv.FormatInt(now+3600, 10)})
	put("both", map[string]string{"X-Delete-At": strconv.FormatInt(now+30, 10), "X-Delete-After": "600"}) // After wins
	put("never", nil)
	for name, want := range map[string]string{"after": strconv.FormatInt(now+60, 10), "at": strconv.FormatInt(now+3600, 10),
		"both": strconv.FormatInt(now+600, 10), "never": ""} {
		if got := deleteAt(name); got != want {
			t.Errorf("%s: X-Delete-At %q, want %q", name, got, want)
		}
	}
	// POST sets and removes it
	swWant(t, "POST X-Delete-After", swDo(t, e, http.MethodPost, swPath(acct, cont, "never"), tok, map[string]string{"X-Delete-After": "120"}, nil), http.StatusAccepted)
	if got := deleteAt("never"); got != strconv.FormatInt(now+120, 10) {
		t.Errorf("after POST X-Delete-After: %q", got)
	}
	swWant(t, "POST X-Remove-Delete-At", swDo(t, e, http.MethodPost, swPath(acct, cont, "never"), tok, map[string]string{"X-Remove-Delete-At": "x"}, nil), http.StatusAccepted)
	if got := deleteAt("never"); got != "" {
		t.Errorf("after X-Remove-Delete-At: %q", got)
	}

	clk.Advance(61 * time.Second)
	swWantErr(t, "GET expired", swDo(t, e, http.MethodGet, swPath(acct, cont, "after"), tok, nil, nil), http.StatusNotFound)
	swWant(t, "HEAD expired", swDo(t, e, http.MethodHead, swPath(acct, cont, "after"), tok, nil, nil), http.StatusNotFound)
	_, err := c.ObjectGetBytes(swCtx, cont, "after")
	swWantClientErr(t, "client GET expired", err, http.StatusNotFound)
	for _, name := range []string{"at", "both", "never"} {
		swWant(t, "GET "+name+" before its time", swDo(t, e, http.MethodGet, swPath(acct, cont, name), tok, nil, nil), http.StatusOK)
	}
	clk.Advance(2 * time.Hour)
	for _, name := range []string{"at", "both"} {
		swWantErr(t, "GET "+name+" after its time", swDo(t, e, http.MethodGet, swPath(acct, cont, name), tok, nil, nil), http.StatusNotFound)
	}
	r := swDo(t, e, http.MethodGet, swPath(acct, cont, "never"), tok, nil, nil)
	if r.Status != 200 || string(r.Body) != "body of never" {
		t.Errorf("the object whose expiry was removed: %d %q", r.Status, r.Body)
	}
}
