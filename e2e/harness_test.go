package e2e

// The one harness of the e2e tests: Env is a running target (an in-process
// server, or the external server named by CAIRN_E2E_URL), with the ways to
// make what a test needs on it (services, buckets, accounts, keys) and the
// typed clients of the three dialects (native requests, aws-sdk-go-v2 and
// minio-go for S3, ncw/swift for Swift). Every test gets its target from
// Start (or StartLocal when it needs the server in this process) and its
// clients from the Env's methods.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	mcreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/ncw/swift/v2"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/schema"
)

// The variables that point the suite at an external server (see doc.go).
const (
	externalURLEnv   = "CAIRN_E2E_URL"
	externalKeyIDEnv = "CAIRN_E2E_ADMIN_KEY_ID"
	externalKeyEnv   = "CAIRN_E2E_ADMIN_KEY"
)

// Env is one running target. URL, AdminKeyID, AdminKey and Client are
// always set; Dir, Srv and Config only for an in-process server (External
// false), which is what StartLocal guarantees.
type Env struct {
	URL        string
	AdminKeyID string
	AdminKey   string
	Client     *http.Client
	// External is true when the target is the server of CAIRN_E2E_URL.
	External bool

	Dir    string
	Srv    *server.Server
	Config server.Config
}

// external describes the external target from the environment: its URL
// ("" when CAIRN_E2E_URL is not set), admin key, and a tag that makes this
// run's names differ from those of earlier runs against the same server.
type external struct {
	url, keyID, key, tag string
}

var externalTarget = sync.OnceValue(func() external {
	x := external{url: strings.TrimRight(os.Getenv(externalURLEnv), "/"),
		keyID: os.Getenv(externalKeyIDEnv), key: os.Getenv(externalKeyEnv)}
	if x.url != "" {
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		x.tag = fmt.Sprintf("%06x", b[:])
	}
	return x
})

// isExternal reports whether the tests run against an external server.
func isExternal() bool { return externalTarget().url != "" }

// Start returns the target of a black-box test: the external server when
// CAIRN_E2E_URL is set, else a complete in-process server on 127.0.0.1 with
// its data in a fresh temporary directory, closed when the test ends. edit
// may change the in-process server's configuration before it starts; a test
// that passes one cannot run against an external server and skips there.
func Start(t testing.TB, edit ...func(*server.Config)) *Env {
	t.Helper()
	if isExternal() {
		if len(edit) > 0 {
			t.Skipf("%s is set: this test needs an in-process server with its own configuration", externalURLEnv)
		}
		x := externalTarget()
		if x.keyID == "" || x.key == "" {
			t.Fatalf("%s is set without %s and %s (the admin key id and key the server prints)", externalURLEnv, externalKeyIDEnv, externalKeyEnv)
		}
		return &Env{URL: x.url, AdminKeyID: x.keyID, AdminKey: x.key, Client: &http.Client{Timeout: 90 * time.Second}, External: true}
	}
	dir := t.TempDir()
	cfg := server.Default()
	cfg.Data = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Name = fmt.Sprintf("e2e-%d", serverNo.Add(1))
	for _, fn := range edit {
		fn(&cfg)
	}
	return startIn(t, cfg)
}

// StartLocal is Start for a test that needs the server in this process
// (its data directory, its log, a restart, a second server, an injected
// clock): with an external target it skips, saying why (need).
func StartLocal(t testing.TB, need string, edit ...func(*server.Config)) *Env {
	t.Helper()
	skipExternal(t, need)
	return Start(t, edit...)
}

// skipExternal skips the test when it runs against an external server;
// need says what it needs that only an in-process server gives.
func skipExternal(t testing.TB, need string) {
	t.Helper()
	if isExternal() {
		t.Skipf("%s is set: this test %s, which only an in-process server allows", externalURLEnv, need)
	}
}

var serverNo atomic.Int64

func startIn(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("CAIRN_E2E_LOG") != "" { // a failing test's servers, told apart by port
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("test", t.Name())
	}
	srv, err := server.Open(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close(context.Background())
		t.Fatalf("Listen: %v", err)
	}
	go srv.Serve()
	e := &Env{URL: srv.URL(), AdminKeyID: srv.AdminKeyID, AdminKey: srv.AdminKey, Dir: cfg.Data, Srv: srv,
		Client: &http.Client{Timeout: 90 * time.Second}, Config: cfg}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("server.Close: %v", err)
		}
	})
	return e
}

// Restart shuts the in-process server down in order and starts it again on
// the same data directory (on a new port); e is updated in place.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	if e.Srv == nil {
		t.Fatalf("Restart: not an in-process server (start it with StartLocal)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatalf("server.Close: %v", err)
	}
	*e = *startIn(t, e.Config)
}

// Settled waits until the in-process server's projections have applied
// its whole log, and returns the log's last sequence and the projections'
// digest at that point.
func (e *Env) Settled(t testing.TB) (last uint64, digest string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	last, err := e.Srv.Log.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Srv.State.Wait(ctx, last); err != nil {
		t.Fatal(err)
	}
	if digest, err = e.Srv.State.Digest(); err != nil {
		t.Fatal(err)
	}
	return last, digest
}

// Resp is a response read whole.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// readResp sends req with client and reads the whole answer.
func readResp(client *http.Client, req *http.Request) (*Resp, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Resp{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Fetch sends a request with no credentials to the absolute URL u (a
// presigned URL, say) and reads the whole answer, failing the test on a
// transport error.
func (e *Env) Fetch(t testing.TB, method, u string, body io.Reader) *Resp {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	return e.DoRequest(t, req)
}

// DoRequest sends req with e's client and reads the whole answer, failing
// the test on a transport error.
func (e *Env) DoRequest(t testing.TB, req *http.Request) *Resp {
	t.Helper()
	r, err := readResp(e.Client, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return r
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Resp) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response (%d) is not JSON: %v: %q", r.Status, err, r.Body)
	}
}

// ErrorCode returns error.code of a native error body ("" if none).
func (r *Resp) ErrorCode() string {
	var e schema.ErrorBody
	if json.Unmarshal(r.Body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// Req describes one native API request.
type Req struct {
	Method string
	Fn     string     // function name: "getfile", ...
	Key    string     // x-owncdn-key value ("" sends none)
	Query  url.Values // query parameters
	Body   io.Reader
	Header map[string]string
}

// Do sends a native request and reads the whole response, failing the
// test on a transport error.
func (e *Env) Do(t testing.TB, r Req) *Resp {
	t.Helper()
	resp, err := e.Send(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Fn, err)
	}
	return resp
}

// Send is Do for goroutines: it returns the transport error instead of
// failing the test.
func (e *Env) Send(r Req) (*Resp, error) {
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	u := e.URL + "/" + r.Fn
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequest(r.Method, u, r.Body)
	if err != nil {
		return nil, err
	}
	if r.Key != "" {
		req.Header.Set("x-owncdn-key", r.Key)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	return readResp(e.Client, req)
}

// Admin calls an admin function with the admin key and a JSON body, and
// fails the test unless the status is want.
func (e *Env) Admin(t testing.TB, fn string, body any, want int) *Resp {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, Req{Method: http.MethodPost, Fn: fn, Key: e.AdminKey, Body: bytes.NewReader(b)})
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d: %s", fn, r.Status, want, r.Body)
	}
	return r
}

var serviceNo atomic.Int64

// uniqueName is a name for t (a service, bucket, container or account): the
// prefix, a number unique in this test binary (after a tag of this run when
// the target is external, whose earlier runs left their names behind) and
// t's name in lower case, [a-z0-9-] only, at most max characters.
func uniqueName(t testing.TB, prefix string, max int) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	s := strings.Trim(fmt.Sprintf("%s%s%d-%s", prefix, externalTarget().tag, serviceNo.Add(1), name), "-.")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	return s
}

// WithService creates a fresh storage service and returns its id.
func (e *Env) WithService(t testing.TB) string {
	t.Helper()
	sid := uniqueName(t, "t", 63)
	e.Admin(t, "servicecreate", map[string]any{"id": sid}, http.StatusCreated)
	return sid
}

// Bucket creates a fresh bucket through S3 CreateBucket with the admin key
// and returns its name.
func (e *Env) Bucket(t testing.TB) string {
	t.Helper()
	name := uniqueName(t, "b", 63)
	if _, err := e.S3(t, e.AdminKeyID, e.AdminKey).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
	return name
}

// Key is a created API key.
type Key struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// KeySpec is what keycreate takes.
type KeySpec struct {
	Name    string            // "" names the key after the test
	Account string            // "" is the default account
	Admin   bool              // an account admin key
	Access  map[string]string // {"<sid>": "read"|"write", "*": ...}; nil sends none
}

// CreateKey creates a key and returns its id and value.
func (e *Env) CreateKey(t testing.TB, s KeySpec) Key {
	t.Helper()
	if s.Name == "" {
		s.Name = t.Name()
	}
	body := map[string]any{"name": s.Name}
	if s.Account != "" {
		body["account"] = s.Account
		body["admin"] = s.Admin
	}
	if s.Access != nil {
		body["access"] = s.Access
	}
	var k Key
	e.Admin(t, "keycreate", body, http.StatusCreated).JSON(t, &k)
	if k.ID == "" || k.Value == "" {
		t.Fatalf("keycreate %s on %s: no id or value", s.Name, e.URL)
	}
	return k
}

// NewKey creates a key of the default account with the given access map
// ({"sid": "read"}, ...).
func (e *Env) NewKey(t testing.TB, access map[string]string) Key {
	t.Helper()
	return e.CreateKey(t, KeySpec{Access: access})
}

// Account creates a fresh account (its id from uniqueName) with an account
// admin key in it.
func (e *Env) Account(t testing.TB) (string, Key) {
	t.Helper()
	acct := uniqueName(t, "a", 64)
	return acct, e.AccountNamed(t, acct, "Swift "+acct)
}

// AccountNamed creates the account id (with a display name unless name is
// "") and returns an account admin key of it.
func (e *Env) AccountNamed(t testing.TB, id, name string) Key {
	t.Helper()
	body := map[string]any{"id": id}
	if name != "" {
		body["name"] = name
	}
	e.Admin(t, "accountcreate", body, http.StatusCreated)
	return e.CreateKey(t, KeySpec{Name: fmt.Sprintf("%s-key-%d", id, serviceNo.Add(1)), Account: id, Admin: true})
}

// S3 is an aws-sdk-go-v2 S3 client for e signing as keyID/secret:
// path-style addressing, region us-east-1, static credentials and retries
// off, so every error a test provokes is the one it sees. opt may change
// the options further.
func (e *Env) S3(t testing.TB, keyID, secret string, opt ...func(*s3.Options)) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(e.URL),
		UsePathStyle:               true,
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	}, opt...)
}

// Minio is a minio-go client for e signing as keyID/secret: plain HTTP,
// path-style bucket lookup, region us-east-1.
func (e *Env) Minio(t testing.TB, keyID, secret string) *minio.Client {
	t.Helper()
	mc, err := minio.New(strings.TrimPrefix(e.URL, "http://"), &minio.Options{
		Creds:        mcreds.NewStaticV4(keyID, secret, ""),
		Secure:       false,
		BucketLookup: minio.BucketLookupPath,
		Region:       "us-east-1",
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return mc
}

// SwiftAuthURL is the AuthUrl ncw/swift takes for an auth version.
func (e *Env) SwiftAuthURL(t testing.TB, authVersion int) string {
	t.Helper()
	switch authVersion {
	case 1:
		return e.URL + "/auth/v1.0"
	case 2:
		return e.URL + "/v2.0"
	case 3:
		return e.URL + "/v3"
	}
	t.Fatalf("no Swift auth version %d", authVersion)
	return ""
}

// Swift is an ncw/swift connection authenticated as user (a key id) with
// key (its value) through auth v1, v2 or v3. Retries are down to one, so a
// 401 is retried once after authenticating again and then reported. When
// the test ends it fails the test if any response the connection received
// had no X-Trans-Id.
func (e *Env) Swift(t testing.TB, user, key string, authVersion int) *swift.Connection {
	t.Helper()
	// ncw/swift sends Expect: 100-continue on uploads and, on its own
	// default transport, waits up to 5 s for the answer to it: so does
	// this one (a zero timeout would send every body at once)
	tr := &swTransport{base: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16, ExpectContinueTimeout: 5 * time.Second}}
	c := &swift.Connection{
		UserName:       user,
		ApiKey:         key,
		AuthUrl:        e.SwiftAuthURL(t, authVersion),
		AuthVersion:    authVersion,
		Retries:        1,
		ConnectTimeout: 60 * time.Second,
		Timeout:        60 * time.Second,
		Transport:      tr,
	}
	if authVersion == 3 {
		c.Domain = "Default" // the contract ignores the domain
	}
	if err := c.Authenticate(context.Background()); err != nil {
		t.Fatalf("swift auth v%d as %s: %v", authVersion, user, err)
	}
	if c.StorageUrl == "" || c.AuthToken == "" {
		t.Fatalf("swift auth v%d as %s: storage URL %q, token %q", authVersion, user, c.StorageUrl, c.AuthToken)
	}
	t.Cleanup(func() {
		tr.base.CloseIdleConnections()
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for _, m := range tr.missing {
			t.Errorf("swift client: response without X-Trans-Id: %s", m)
		}
	})
	return c
}

// swTransport is the transport of a Swift connection: it notes every
// response that came without an X-Trans-Id, so every request the client
// makes (auth, errors and retries included) is held to the contract.
type swTransport struct {
	base    *http.Transport
	mu      sync.Mutex
	missing []string
}

func (s *swTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err == nil && resp.Header.Get("X-Trans-Id") == "" {
		s.mu.Lock()
		s.missing = append(s.missing, fmt.Sprintf("%s %s -> %d", req.Method, req.URL.Path, resp.StatusCode))
		s.mu.Unlock()
	}
	return resp, err
}

// CloseIdleConnections lets the client flush keep-alive connections after
// authenticating, as it does with its own transport.
func (s *swTransport) CloseIdleConnections() { s.base.CloseIdleConnections() }

// UploadResult is uploadfile's answer.
type UploadResult struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Size    int64  `json:"size"`
	ETag    string `json:"etag"`
	SyncID  uint64 `json:"sync_id"`
}

// Upload puts body at path and returns the parsed 201 answer.
func (e *Env) Upload(t testing.TB, key, sid, path string, body []byte, hdr map[string]string) UploadResult {
	t.Helper()
	u, err := e.TryUpload(key, sid, path, body, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TryUpload is Upload for goroutines and loads: it returns an error
// instead of failing the test.
func (e *Env) TryUpload(key, sid, path string, body []byte, hdr map[string]string) (UploadResult, error) {
	var u UploadResult
	r, err := e.Send(Req{Method: http.MethodPut, Fn: "uploadfile", Key: key,
		Query: url.Values{"sid": {sid}, "path": {path}}, Body: bytes.NewReader(body), Header: hdr})
	if err != nil {
		return u, fmt.Errorf("uploadfile %q: %w", path, err)
	}
	if r.Status != http.StatusCreated {
		return u, fmt.Errorf("uploadfile %q: status %d: %s", path, r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &u); err != nil {
		return u, fmt.Errorf("uploadfile %q: response (%d) is not JSON: %v: %q", path, r.Status, err, r.Body)
	}
	return u, nil
}

// Q builds query values from pairs: Q("sid", sid, "path", p).
func Q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// ownServer is why a test that uses fixed names (an account "acme", a
// bucket of its own naming) or reads everything the server holds (every
// bucket, every account) takes a server of its own: on a shared external
// server other tests and earlier runs are there too.
const ownServer = "uses fixed names or reads all that the server holds, so it needs a server of its own"
