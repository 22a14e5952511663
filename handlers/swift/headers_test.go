package swift

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestDeleteAt follows Swift's check_delete_headers: integers only, a
// time at or before now is "in past", and every time past 9999999999 is
// normalized to it (it never overflows into no expiry).
func TestDeleteAt(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := now.Unix()
	for _, tc := range []struct {
		name, after, at string
		want            int64  // 0: no expiry sent
		err             string // the 400's message
	}{
		{name: "none"},
		{name: "after", after: "60", want: n + 60},
		{name: "after spaces and sign", after: " +60 ", want: n + 60},
		{name: "after wins", after: "60", at: strconv.FormatInt(n+999, 10), want: n + 60},
		{name: "after max int64", after: "9223372036854775807", want: maxDeleteAt},
		{name: "after beyond int64", after: "99999999999999999999", want: maxDeleteAt},
		{name: "after just past ceiling", after: strconv.FormatInt(maxDeleteAt-n+1, 10), want: maxDeleteAt},
		{name: "after to ceiling", after: strconv.FormatInt(maxDeleteAt-n, 10), want: maxDeleteAt},
		{name: "after zero", after: "0", err: "X-Delete-After in past"},
		{name: "after negative", after: "-1", err: "X-Delete-After in past"},
		{name: "after min int64", after: "-9223372036854775808", err: "X-Delete-After in past"},
		{name: "after below int64", after: "-99999999999999999999", err: "X-Delete-After in past"},
		{name: "after fraction", after: "60.1", err: "Non-integer X-Delete-After"},
		{name: "after word", after: "soon", err: "Non-integer X-Delete-After"},
		{name: "at", at: strconv.FormatInt(n+1, 10), want: n + 1},
		{name: "at now", at: strconv.FormatInt(n, 10), err: "X-Delete-At in past"},
		{name: "at max int64", at: "9223372036854775807", want: maxDeleteAt},
		{name: "at beyond int64", at: "99999999999999999999", want: maxDeleteAt},
		{name: "at below int64", at: "-99999999999999999999", err: "X-Delete-At in past"},
		{name: "at fraction", at: strconv.FormatInt(n+100, 10) + ".5", err: "Non-integer X-Delete-At"},
		{name: "at exponent", at: "1e10", err: "Non-integer X-Delete-At"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hd := http.Header{}
			if tc.after != "" {
				hd.Set("X-Delete-After", tc.after)
			}
			if tc.at != "" {
				hd.Set("X-Delete-At", tc.at)
			}
			at, ok, err := deleteAt(hd, now)
			if tc.err != "" {
				var se *Error
				if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.Message != tc.err {
					t.Fatalf("deleteAt = %d, %v, %v; want 400 %q", at, ok, err, tc.err)
				}
				return
			}
			if err != nil || at != tc.want || ok != (tc.want != 0) {
				t.Fatalf("deleteAt = %d, %v, %v; want %d", at, ok, err, tc.want)
			}
		})
	}
}
