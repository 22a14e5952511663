package main

import (
	"strings"
	"testing"
)

// The feed credential functions through cairn admin: the server admin key
// and an account's admin key create, list and revoke its credentials; the
// password is printed once.
func TestAdmin_FeedCredentials(t *testing.T) {
	ts := startServer(t)
	env := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": ts.key}
	adminJSON(t, env, nil, "accountcreate", "--id", "acme")
	var k adminKeyJSON
	adminJSON(t, env, &k, "keycreate", "--name", "acme admin", "--account", "acme", "--admin")
	acme := map[string]string{"CAIRN_URL": ts.url, "CAIRN_KEY": *k.Value}

	var fc struct {
		User, Password, Account, Name string
	}
	adminJSON(t, acme, &fc, "feedcredcreate", "--name", "indexer")
	if fc.User == "" || fc.Password == "" || fc.Account != "acme" || fc.Name != "indexer" {
		t.Fatalf("feedcredcreate with acme's admin key: %+v", fc)
	}
	var other struct{ User string }
	adminJSON(t, env, &other, "feedcredcreate", "--account", "default")
	if err := adminErr(t, acme, "feedcredcreate", "--account", "default"); !strings.Contains(err.Error(), "403") {
		t.Errorf("feedcredcreate in another account: %v, want a 403", err)
	}

	var list struct {
		Credentials []struct{ User, Account string } `json:"credentials"`
	}
	raw := adminJSON(t, acme, &list, "feedcredlist")
	if len(list.Credentials) != 1 || list.Credentials[0].User != fc.User || strings.Contains(raw, fc.Password) {
		t.Errorf("feedcredlist with acme's key:\n%s", raw)
	}
	if adminJSON(t, env, &list, "feedcredlist"); len(list.Credentials) != 2 {
		t.Errorf("feedcredlist with the admin key: %+v, want both accounts'", list.Credentials)
	}

	if err := adminErr(t, acme, "feedcredrevoke", "--user", other.User); !strings.Contains(err.Error(), "404") {
		t.Errorf("feedcredrevoke of another account's credential: %v, want a 404", err)
	}
	if err := adminErr(t, acme, "feedcredrevoke"); !strings.Contains(err.Error(), "--user") {
		t.Errorf("feedcredrevoke without --user: %v", err)
	}
	if out := adminJSON(t, acme, nil, "feedcredrevoke", "--user", fc.User); strings.TrimSpace(out) != "{}" {
		t.Errorf("feedcredrevoke printed %q, want {}", out)
	}
	if adminJSON(t, acme, &list, "feedcredlist"); len(list.Credentials) != 0 {
		t.Errorf("feedcredlist after the revocation: %+v", list.Credentials)
	}
}
