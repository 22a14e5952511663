package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

func TestSubject(t *testing.T) {
	h, ph := schema.Hash("photos"), schema.Hash("2026/cat.jpg")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--sid", "photos"}, []string{"cairn.obj." + h + ".>", "cairn.svc." + h + ".>", "cairn.upl." + h + ".>"}},
		{[]string{"--sid", "photos", "--path", "2026/cat.jpg"}, []string{"cairn.obj." + h + "." + ph + ".*"}},
		{[]string{"--sid", "photos", "--op", "put"}, []string{"cairn.obj." + h + ".*.put"}},
		{[]string{"--sid", "photos", "--path", "2026/cat.jpg", "--op", "delete"}, []string{"cairn.obj." + h + "." + ph + ".delete"}},
		{[]string{"--account", "acme"}, []string{"cairn.acct." + schema.Hash("acme") + ".>"}},
	} {
		var out bytes.Buffer
		if err := run(t.Context(), append([]string{"subject"}, tc.args...), &out, &out, envOf(nil)); err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if got := strings.Fields(out.String()); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%v: printed %q, want %q", tc.args, got, tc.want)
		}
	}
	// what the core appends on is matched by what is printed
	ev := &schema.Event{Type: schema.TypeObjectPut, Service: "photos", Path: "2026/cat.jpg"}
	if got := schema.SubjectFor(ev); got != "cairn.obj."+h+"."+ph+".put" {
		t.Errorf("SubjectFor = %s", got)
	}
	for _, bad := range [][]string{{}, {"--path", "x"}, {"--sid", "s", "--op", "frob"}, {"--sid", "s", "--account", "a"}, {"--sid", "s", "extra"}} {
		var out bytes.Buffer
		if err := run(t.Context(), append([]string{"subject"}, bad...), &out, &out, envOf(nil)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
