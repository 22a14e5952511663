package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Invariant 10: two complete servers in one process share nothing. Both
// are configured with the same admin key id and different secrets, so any
// state shared by key id (a signing-key or principal cache) would show.
func TestTwoServers_ShareNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const adminID = "CKTWOSERVERS00000001"
	one := startTwin(ctx, t, "twins-one", adminID, "server-one-admin-secret")
	two := startTwin(ctx, t, "twins-two", adminID, "server-two-admin-secret")

	// services, objects: each holds its own
	for _, s := range []*twin{one, two} {
		s.call(t, http.MethodPost, "/servicecreate", map[string]any{"id": s.name}, http.StatusCreated, nil)
		s.call(t, http.MethodPut, "/uploadfile?sid="+s.name+"&path=hello.txt", "from "+s.name, http.StatusCreated, nil)
	}
	for _, c := range []struct{ s, other *twin }{{one, two}, {two, one}} {
		var list struct {
			Services []struct {
				ID string `json:"id"`
			} `json:"services"`
		}
		c.s.call(t, http.MethodGet, "/servicelist", nil, http.StatusOK, &list)
		if len(list.Services) != 1 || list.Services[0].ID != c.s.name {
			t.Errorf("%s lists services %+v, want only %s", c.s.name, list.Services, c.s.name)
		}
		if got := c.s.call(t, http.MethodGet, "/getfile?sid="+c.s.name+"&path=hello.txt", nil, http.StatusOK, nil); got != "from "+c.s.name {
			t.Errorf("%s serves %q, want its own object", c.s.name, got)
		}
		c.s.call(t, http.MethodGet, "/getfile?sid="+c.other.name+"&path=hello.txt", nil, http.StatusNotFound, nil)
	}

	// S3: a request signed with server one's secret passes there only
	for _, c := range []struct {
		s      *twin
		status int
		want   string
	}{{one, http.StatusOK, "from twins-one"}, {two, http.StatusForbidden, "SignatureDoesNotMatch"}} {
		st, body := c.s.s3Get(t, "/"+one.name+"/hello.txt", adminID, one.secret)
		if st != c.status || !strings.Contains(body, c.want) {
			t.Errorf("S3 GET signed with twins-one's secret, on %s: %d %s, want %d %s", c.s.name, st, body, c.status, c.want)
		}
	}
	for _, s := range []*twin{one, two} {
		st, body := s.s3Get(t, "/", adminID, s.secret)
		if st != http.StatusOK || !strings.Contains(body, "<Name>"+s.name+"</Name>") || strings.Count(body, "<Name>") != 1 {
			t.Errorf("S3 ListBuckets on %s: %d %s, want only its own bucket", s.name, st, body)
		}
	}

	// keys and Swift tokens made on one are unknown to the other
	var key struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	one.call(t, http.MethodPost, "/keycreate", map[string]any{"name": "only-on-one", "admin": true}, http.StatusCreated, &key)
	for _, c := range []struct {
		s      *twin
		listed bool
	}{{one, true}, {two, false}} {
		got := c.s.call(t, http.MethodPost, "/keylist", map[string]any{}, http.StatusOK, nil)
		if strings.Contains(got, key.ID) != c.listed {
			t.Errorf("keylist on %s: %s; want key %s listed: %v", c.s.name, got, key.ID, c.listed)
		}
		st, _ := c.s.s3Get(t, "/", key.ID, key.Value)
		if (st == http.StatusOK) != c.listed {
			t.Errorf("S3 with the key made on twins-one, on %s: %d", c.s.name, st)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, two.url+"/servicelist", nil)
	req.Header.Set("x-owncdn-key", key.Value)
	if st, body := do(t, req); st != http.StatusUnauthorized && st != http.StatusForbidden {
		t.Errorf("native call on twins-two with a key of twins-one: %d %s, want 401 or 403", st, body)
	}
	token := one.swiftToken(t, key.ID, key.Value, http.StatusNoContent)
	two.swiftToken(t, key.ID, key.Value, http.StatusUnauthorized)
	for _, c := range []struct {
		s  *twin
		ok bool
	}{{one, true}, {two, false}} {
		req, _ := http.NewRequest(http.MethodGet, c.s.url+"/v1/default", nil)
		req.Header.Set("X-Auth-Token", token)
		st, body := do(t, req)
		if (st/100 == 2) != c.ok {
			t.Errorf("Swift account GET with twins-one's token on %s: %d %s", c.s.name, st, body)
		}
	}
}

// twin is one of the two servers.
type twin struct {
	name, url, adminID, secret string
}

func startTwin(ctx context.Context, t *testing.T, name, adminID, secret string) *twin {
	t.Helper()
	cfg := testConfig(t, name)
	cfg.AdminKeyID, cfg.AdminKey = adminID, secret
	s, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	if err := s.Listen(); err != nil {
		s.Close(ctx)
		t.Fatalf("Listen %s: %v", name, err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close %s: %v", name, err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve %s: %v", name, err)
		}
	})
	return &twin{name: name, url: s.URL(), adminID: adminID, secret: secret}
}

// call makes a native call with the admin key and checks its status; body
// is JSON-encoded unless it is a string. It decodes the answer into out
// (if set) and returns it.
func (s *twin) call(t *testing.T, method, path string, body any, status int, out any) string {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-owncdn-key", s.secret)
	st, got := do(t, req)
	if st != status {
		t.Fatalf("%s %s on %s: %d %s, want %d", method, path, s.name, st, got, status)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(got), out); err != nil {
			t.Fatalf("%s %s on %s: %v in %s", method, path, s.name, err, got)
		}
	}
	return got
}

// s3Get sends a GET of path to s, signed (SigV4) with the key id and secret.
func (s *twin) s3Get(t *testing.T, path, id, secret string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	empty := sha256.Sum256(nil)
	payload := hex.EncodeToString(empty[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	if err := signer.SignHTTP(context.Background(), creds, req, payload, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// swiftToken logs in with Swift's v1 auth and checks the status; it
// returns the token (empty on failure).
func (s *twin) swiftToken(t *testing.T, id, value string, status int) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+"/auth/v1.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-User", "default:"+id)
	req.Header.Set("X-Auth-Key", value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("Swift auth on %s: %d, want %d", s.name, resp.StatusCode, status)
	}
	return resp.Header.Get("X-Auth-Token")
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
