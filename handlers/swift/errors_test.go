package swift

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

// Every kind has a Swift status; internal causes and credential details
// never reach the client.
func TestErrors_EveryKindMapped(t *testing.T) {
	for _, k := range schema.Kinds {
		if s, ok := statusOf[k]; !ok || s < 400 {
			t.Errorf("kind %v has no Swift status", k)
		}
	}
	if status, msg := classify(schema.Wrap(schema.KindInternal, errors.New("db password is hunter2"), "boom")); status != 500 || strings.Contains(msg, "hunter2") {
		t.Errorf("internal error leaks or is mis-mapped: %d %q", status, msg)
	}
	s1, m1 := classify(schema.Errorf(schema.KindUnauthorized, "unknown key"))
	s2, m2 := classify(schema.Errorf(schema.KindUnauthorized, "wrong password"))
	if s1 != http.StatusUnauthorized || s1 != s2 || m1 != m2 {
		t.Errorf("401s differ: %d %q / %d %q", s1, m1, s2, m2)
	}
	if status, _ := classify(schema.Errorf(schema.KindQuotaExceeded, "full")); status != http.StatusRequestEntityTooLarge {
		t.Errorf("quota: %d, want 413", status)
	}
}
