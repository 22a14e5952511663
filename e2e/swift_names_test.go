package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestSwiftNames_DotSegments: a container named "." or ".." (URL dot
// segments, which clients remove before sending) is refused with 400, as
// is one longer than Swift allows (256 bytes), and no
// such container appears. Object names keep their dot segments literally,
// as in Swift: "a/../b" is its own object, never "b", and names never reach
// the filesystem.
func TestSwiftNames_DotSegments(t *testing.T) {
	t.Parallel()
	e, acct, _, c := swStart(t, 1)
	tok := c.AuthToken
	for _, name := range []string{".", ".."} {
		swWantClientErr(t, "ContainerCreate "+name, c.ContainerCreate(swCtx, name, nil), http.StatusBadRequest)
		r := swDo(t, e, http.MethodPut, "/v1/"+acct+"/"+name, tok, nil, nil)
		swWantErr(t, "PUT container "+name, r, http.StatusBadRequest)
		swWant(t, "HEAD container "+name, swDo(t, e, http.MethodHead, "/v1/"+acct+"/"+name, tok, nil, nil), http.StatusNotFound)
		swWant(t, "PUT object in container "+name, swDo(t, e, http.MethodPut, "/v1/"+acct+"/"+name+"/o", tok, nil, strings.NewReader("x")), http.StatusNotFound)
	}
	swWantClientErr(t, "ContainerCreate of 257 bytes", c.ContainerCreate(swCtx, strings.Repeat("n", 257), nil), http.StatusBadRequest)
	names, err := c.ContainerNamesAll(swCtx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == "." || n == ".." || strings.Contains(n, "/") {
			t.Errorf("account lists a refused container %q", n)
		}
	}

	cont := swContainer(t, c)
	objs := []string{"..", ".", "a/../b", "a/./b", "../../../etc/passwd"}
	for _, o := range objs {
		if _, err := c.ObjectPut(swCtx, cont, o, bytes.NewReader([]byte("bytes of "+o)), false, "", "text/plain", nil); err != nil {
			t.Fatalf("ObjectPut %q: %v", o, err)
		}
	}
	for _, o := range objs {
		b, err := c.ObjectGetBytes(swCtx, cont, o)
		if err != nil || string(b) != "bytes of "+o {
			t.Errorf("ObjectGetBytes %q = %q, %v", o, b, err)
		}
	}
	swWant(t, "GET b (a/../b is its own name)", swDo(t, e, http.MethodGet, swPath(acct, cont, "b"), tok, nil, nil), http.StatusNotFound)
	listed, err := c.ObjectNamesAll(swCtx, cont, nil)
	if err != nil {
		t.Fatal(err)
	}
	swEq(t, "listing", listed, swSorted(objs...))
}
