package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/nats-io/nats.go"
)

var natsLineRe = regexp.MustCompile(`(?m)^NATS change feed: (nats://\S+), user (\S+), password (\S+) \(kept in (\S+)\)`)

// `cairn serve --nats-listen` prints the feed's URL and credentials (kept
// in DATA/nats.json, mode 0600, the same on the next start), and a client
// logs in with them; without the flag nothing is printed.
func TestServe_NATSListen(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, nil, "--data", dir, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	m := natsLineRe.FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("no NATS line in the banner:\n%s", s.out)
	}
	url, user, password := m[1], m[2], m[3]
	if m[4] != filepath.Join(dir, "nats.json") {
		t.Errorf("credentials kept in %s", m[4])
	}
	fi, err := os.Stat(filepath.Join(dir, "nats.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("nats.json: %v, mode %v", err, fi.Mode())
	}
	nc, err := nats.Connect(url, nats.UserInfo(user, password))
	if err != nil {
		t.Fatalf("connect with the printed credentials: %v", err)
	}
	nc.Close()
	s.stop(t)

	s = startServe(t, map[string]string{"CAIRN_NATS_LISTEN": "127.0.0.1:0"}, "--data", dir, "--listen", "127.0.0.1:0")
	if m2 := natsLineRe.FindStringSubmatch(s.out.String()); m2 == nil || m2[3] != password {
		t.Errorf("second start (CAIRN_NATS_LISTEN) does not show the kept password:\n%s", s.out)
	}
	s.stop(t)

	s = startServe(t, nil, "--data", dir, "--listen", "127.0.0.1:0")
	if natsLineRe.MatchString(s.out.String()) {
		t.Errorf("a NATS line without --nats-listen:\n%s", s.out)
	}
	s.stop(t)
}
