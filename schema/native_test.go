package schema

import "testing"

func TestNativeCode_RoundTrip(t *testing.T) {
	seen := map[string]Kind{}
	for _, k := range Kinds {
		code := k.NativeCode()
		if prev, dup := seen[code]; dup {
			t.Errorf("kinds %v and %v share the code %q", prev, k, code)
		}
		seen[code] = k
		if got := KindOfNativeCode(code); got != k {
			t.Errorf("code %q reads back as %v, want %v", code, got, k)
		}
	}
	if KindOfNativeCode("no_such_code") != KindInternal {
		t.Errorf("an unknown code is not KindInternal")
	}
}
