package e2e

// Expiry values out of range (issue 16, diagnosis): an X-Delete-After of
// 2^63-1 used to overflow and drop the expiry silently. Swift answers as
// its check_delete_headers does (non-integers and times not in the future
// are 400, times past 9999999999 are normalized to it); the native API
// refuses anything outside its documented range with 400.

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/ncw/swift/v2"
)

func TestSwiftExpiry_OutOfRange(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	a := sxNewAcct(t, e)
	cont := swContainer(t, a.Conn)
	now := clk.Now().Unix()
	put := func(name string, hdr swift.Headers) error {
		_, err := a.Conn.ObjectPut(swCtx, cont, name, bytes.NewReader([]byte(name)), false, "", "text/plain", hdr)
		return err
	}
	const ceiling = 9999999999 // Swift's normalize_delete_at_timestamp
	for name, hdr := range map[string]swift.Headers{
		"after-max-int64":  {"X-Delete-After": "9223372036854775807"},
		"after-beyond-i64": {"X-Delete-After": "99999999999999999999999"},
		"after-to-ceiling": {"X-Delete-After": strconv.FormatInt(ceiling-now+1, 10)},
		"at-max-int64":     {"X-Delete-At": "9223372036854775807"},
		"at-beyond-i64":    {"X-Delete-At": "99999999999999999999999"},
	} {
		if err := put(name, hdr); err != nil {
			t.Fatalf("PUT %s %v: %v", name, hdr, err)
		}
		sxWantDeleteAt(t, e, a.Tok, a.ID, cont, name, ceiling)
	}
	for name, hdr := range map[string]swift.Headers{
		"after-zero":         {"X-Delete-After": "0"},
		"after-negative":     {"X-Delete-After": "-1"},
		"after-min-int64":    {"X-Delete-After": "-9223372036854775808"},
		"after-below-i64":    {"X-Delete-After": "-99999999999999999999999"},
		"after-fraction":     {"X-Delete-After": "60.5"},
		"after-not-a-number": {"X-Delete-After": "soon"},
		"at-fraction":        {"X-Delete-At": strconv.FormatInt(now+100, 10) + ".5"},
		"at-negative":        {"X-Delete-At": "-9223372036854775808"},
		"at-below-i64":       {"X-Delete-At": "-99999999999999999999999"},
	} {
		swWantClientErr(t, "PUT "+name, put(name, hdr), http.StatusBadRequest)
		swWant(t, "HEAD "+name+" after a refused PUT", swDo(t, e, http.MethodHead, swPath(a.ID, cont, name), a.Tok, nil, nil), http.StatusNotFound)
	}
	// the raw answer is Swift's: 400 with the reason in the body
	r := swDo(t, e, http.MethodPut, swPath(a.ID, cont, "raw"), a.Tok, map[string]string{"X-Delete-After": "-5"}, bytes.NewReader(nil))
	swWantErr(t, "PUT with a negative X-Delete-After", r, http.StatusBadRequest)
	if !bytes.Contains(r.Body, []byte("X-Delete-After in past")) {
		t.Errorf("negative X-Delete-After: body %q does not say it is in the past", r.Body)
	}

	// POST takes the same rules
	sxPut(t, e, a.Tok, a.ID, cont, "p", []byte("p"), nil)
	if err := a.Conn.ObjectUpdate(swCtx, cont, "p", swift.Headers{"X-Delete-After": "9223372036854775807"}); err != nil {
		t.Fatal(err)
	}
	sxWantDeleteAt(t, e, a.Tok, a.ID, cont, "p", ceiling)
	swWantClientErr(t, "POST X-Delete-After 0", a.Conn.ObjectUpdate(swCtx, cont, "p", swift.Headers{"X-Delete-After": "0"}), http.StatusBadRequest)
	sxWantDeleteAt(t, e, a.Tok, a.ID, cont, "p", ceiling)
}

func TestNative_ExpiryOutOfRange(t *testing.T) {
	t.Parallel()
	e, clk := natStartClock(t)
	sid := e.WithService(t)
	now := clk.Now().Unix()
	const ceiling = 9999999999
	for _, bad := range []struct{ h, v string }{
		{"x-owncdn-delete-after", "9223372036854775807"},
		{"x-owncdn-delete-after", "99999999999999999999999"},
		{"x-owncdn-delete-after", strconv.FormatInt(ceiling-now+1, 10)},
		{"x-owncdn-delete-after", "-1"},
		{"x-owncdn-delete-after", "0"},
		{"x-owncdn-delete-at", "9223372036854775807"},
		{"x-owncdn-delete-at", strconv.FormatInt(ceiling+1, 10)},
		{"x-owncdn-delete-at", "-9223372036854775808"},
	} {
		r := natPut(t, e, e.AdminKey, sid, "x", []byte("x"), map[string]string{bad.h: bad.v})
		natWantErr(t, bad.h+": "+bad.v, r, http.StatusBadRequest, "invalid_argument")
	}
	natWantErr(t, "nothing stored", natGet(t, e, e.AdminKey, sid, "x"), http.StatusNotFound, "not_found")
	// the edges of the range are accepted
	e.Upload(t, e.AdminKey, sid, "last-second", []byte("x"), map[string]string{"x-owncdn-delete-after": strconv.FormatInt(ceiling-now, 10)})
	e.Upload(t, e.AdminKey, sid, "at-ceiling", []byte("x"), map[string]string{"x-owncdn-delete-at": strconv.FormatInt(ceiling, 10)})
}
