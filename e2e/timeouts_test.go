package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/schema"
)

// Timeouts and limits (issue 16, finding 4): raw TCP clients that do what
// the Go and SDK clients never do: idle, trickle, stall, declare too much,
// send too little.

// shortTimeouts makes every transfer timeout short: a stall of 500ms, and
// rate a test chooses.
func shortTimeouts(rate int64) func(*server.Config) {
	return func(c *server.Config) {
		c.IdleTimeout = server.Duration(500 * time.Millisecond)
		c.BodyTimeout = server.Duration(500 * time.Millisecond)
		c.MinTransferRate = rate
	}
}

// rawDial opens a TCP connection to the server.
func rawDial(t testing.TB, e *Env) net.Conn {
	t.Helper()
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawHead writes a request line and headers (Host first); the body is the
// caller's to write.
func rawHead(t testing.TB, c net.Conn, method, target string, hdr http.Header) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, c.RemoteAddr())
	for k, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
}

// rawResponse reads one response (within a minute) with its whole body.
func rawResponse(t testing.TB, c net.Conn, br *bufio.Reader, method string) (*http.Response, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, body
}

// nativeHeader is what a native call with key sends.
func nativeHeader(key string, kv ...string) http.Header {
	h := http.Header{"X-Owncdn-Key": {key}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// s3Header signs a bodiless-for-signing (UNSIGNED-PAYLOAD) S3 request of
// the declared length with the admin key and returns its headers.
func s3Header(t testing.TB, e *Env, method, target string, length int64, kv ...string) http.Header {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	req.ContentLength = length
	req.Header.Set("Content-Length", strconv.FormatInt(length, 10))
	req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: e.AdminKeyID, SecretAccessKey: e.AdminKey}
	noDoubleEscape := func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now(), noDoubleEscape); err != nil {
		t.Fatal(err)
	}
	req.Header.Del("Host")
	return req.Header
}

// An idle keep-alive connection is closed after idle_timeout.
func TestTimeouts_IdleConnectionClosed(t *testing.T) {
	e := StartLocal(t, "sets short timeouts", shortTimeouts(1024))
	c := rawDial(t, e)
	br := bufio.NewReader(c)
	rawHead(t, c, http.MethodGet, "/openapi.json", nil)
	if resp, _ := rawResponse(t, c, br, http.MethodGet); resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json: %d", resp.StatusCode)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := br.Read(make([]byte, 1))
	if !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %d bytes, err %v; want EOF (closed by the server after its 500ms idle timeout)", n, err)
	}
}

// A body trickling one byte every 20ms (50 bytes/s) is cut off once it
// falls under min_transfer_rate, and answered 400 in the native dialect,
// although no single pause reaches body_timeout.
func TestTimeouts_SlowBodyCutOff(t *testing.T) {
	e := StartLocal(t, "sets short timeouts", shortTimeouts(1000))
	sid := e.WithService(t)
	const size = 500 // 10s at this pace: a server that waits it out answers 201
	c := rawDial(t, e)
	br := bufio.NewReader(c)
	rawHead(t, c, http.MethodPut, "/uploadfile?sid="+sid+"&path=slow", nativeHeader(e.AdminKey, "Content-Length", strconv.Itoa(size)))
	type answer struct {
		resp *http.Response
		body []byte
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodPut})
		if err != nil {
			got <- answer{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		got <- answer{resp, body, err}
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	var a answer
send:
	for {
		select {
		case a = <-got:
			break send
		case <-tick.C:
			if sent < size {
				if _, err := c.Write([]byte{'x'}); err == nil {
					sent++
				}
			}
		}
	}
	if a.err != nil {
		t.Fatalf("after %d of %d bytes: no response: %v", sent, size, a.err)
	}
	if a.resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(a.body), "invalid_argument") {
		t.Fatalf("after %d of %d bytes: %d %s, want 400 invalid_argument", sent, size, a.resp.StatusCode, a.body)
	}
	if sent >= size {
		t.Errorf("the whole body was sent before the answer")
	}
	r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", "slow")})
	natWant(t, "getfile after the cut-off upload", r, http.StatusNotFound)
}

// A client that stops reading a large GET is cut off: the server's write
// stops within body_timeout and the handler returns, having sent less than
// the Content-Length (reqlist records it).
func TestTimeouts_StalledReaderCutOff(t *testing.T) {
	e := StartLocal(t, "sets short timeouts", shortTimeouts(1<<20))
	sid := e.WithService(t)
	const size = 32 << 20 // more than loopback's socket buffers hold
	natWant(t, "upload", natPut(t, e, e.AdminKey, sid, "big", bytes.Repeat([]byte("z"), size), nil), http.StatusCreated)
	c := rawDial(t, e)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	br := bufio.NewReaderSize(c, 4096)
	rawHead(t, c, http.MethodGet, "/getfile?sid="+sid+"&path=big", nativeHeader(e.AdminKey))
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size {
		t.Fatalf("getfile: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	// the client reads nothing more until the server has given up
	eventually(t, 30*time.Second, func() error {
		r, err := e.Send(Req{Fn: "reqlist", Key: e.AdminKey, Query: Q("sid", sid, "limit", "100")})
		if err != nil {
			return err
		}
		var page struct {
			Requests []schema.Request `json:"requests"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			return err
		}
		for _, q := range page.Requests {
			if q.Function == "getfile" {
				if q.Bytes >= size {
					return fmt.Errorf("the stalled reader was sent all %d bytes", q.Bytes)
				}
				return nil
			}
		}
		return errors.New("the getfile to the stalled reader has not ended")
	})
	// not resp.Body.Close: it would drain the body; the connection is
	// closed at cleanup
}

// An upload declaring more than max_object_size is refused in each
// dialect before its body is read: the client that sent Expect:
// 100-continue gets the error and never 100 Continue.
func TestTimeouts_HundredContinueRefused(t *testing.T) {
	e := StartLocal(t, "reads raw responses", func(c *server.Config) {})
	sid := e.WithService(t)
	bucket := e.Bucket(t)
	acct, k := e.Account(t)
	tok := swToken(t, e, k)
	sw := e.Swift(t, k.ID, k.Value, 1)
	cont := swContainer(t, sw)
	const huge = 10 << 30
	cases := []struct {
		name   string
		target string
		hdr    http.Header
		status int
		code   string
	}{
		{"native", "/uploadfile?sid=" + sid + "&path=huge", nativeHeader(e.AdminKey), http.StatusRequestEntityTooLarge, "too_large"},
		{"s3", "/" + bucket + "/huge", s3Header(t, e, http.MethodPut, "/"+bucket+"/huge", huge), http.StatusBadRequest, "EntityTooLarge"},
		{"swift", swPath(acct, cont, "huge"), http.Header{"X-Auth-Token": {tok}}, http.StatusRequestEntityTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, e)
			br := bufio.NewReader(c)
			tc.hdr.Set("Content-Length", strconv.Itoa(huge))
			tc.hdr.Set("Expect", "100-continue")
			rawHead(t, c, http.MethodPut, tc.target, tc.hdr)
			_ = c.SetReadDeadline(time.Now().Add(time.Minute))
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if want := "HTTP/1.1 " + strconv.Itoa(tc.status); !strings.HasPrefix(line, want) {
				t.Fatalf("first status line %q, want %s (never 100 Continue)", strings.TrimSpace(line), want)
			}
			resp, body := rawResponse(t, c, bufio.NewReader(io.MultiReader(strings.NewReader(line), br)), http.MethodPut)
			if !strings.Contains(string(body), tc.code) {
				t.Errorf("%d %s, want code %q", resp.StatusCode, body, tc.code)
			}
		})
	}
}

// A body shorter than its Content-Length (the client half-closes early)
// or with a broken chunked encoding is a client error in each dialect, not
// a 500, and stores nothing.
func TestTimeouts_ShortBody(t *testing.T) {
	e := StartLocal(t, "reads raw responses", func(c *server.Config) {})
	sid := e.WithService(t)
	bucket := e.Bucket(t)
	acct, k := e.Account(t)
	tok := swToken(t, e, k)
	sw := e.Swift(t, k.ID, k.Value, 1)
	cont := swContainer(t, sw)
	type dialect struct {
		name   string
		target func(path string) string
		hdr    func(target string, length int64) http.Header
		short  int    // status for a short body
		code   string // in the body
	}
	dialects := []dialect{
		{"native", func(p string) string { return "/uploadfile?sid=" + sid + "&path=" + p },
			func(string, int64) http.Header { return nativeHeader(e.AdminKey) }, http.StatusBadRequest, "invalid_argument"},
		{"s3", func(p string) string { return "/" + bucket + "/" + p },
			func(target string, n int64) http.Header { return s3Header(t, e, http.MethodPut, target, n) }, http.StatusBadRequest, "IncompleteBody"},
		{"swift", func(p string) string { return swPath(acct, cont, p) },
			func(string, int64) http.Header { return http.Header{"X-Auth-Token": {tok}} }, 499, "Client Disconnect"},
	}
	for _, d := range dialects {
		for _, size := range []int{100, 200 << 10} { // inline and blob
			t.Run(fmt.Sprintf("%s/short-%d", d.name, size), func(t *testing.T) {
				c := rawDial(t, e)
				br := bufio.NewReader(c)
				path := fmt.Sprintf("short-%d", size)
				target := d.target(path)
				hdr := d.hdr(target, int64(size))
				hdr.Set("Content-Length", strconv.Itoa(size))
				rawHead(t, c, http.MethodPut, target, hdr)
				if _, err := c.Write(bytes.Repeat([]byte("s"), size/2)); err != nil {
					t.Fatal(err)
				}
				if err := c.(*net.TCPConn).CloseWrite(); err != nil {
					t.Fatal(err)
				}
				resp, body := rawResponse(t, c, br, http.MethodPut)
				if resp.StatusCode != d.short || !strings.Contains(string(body), d.code) {
					t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, d.short, d.code)
				}
				if d.name == "native" {
					r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", path)})
					natWant(t, "getfile after the short upload", r, http.StatusNotFound)
				}
			})
		}
		if d.name == "s3" {
			continue // S3 takes no chunked transfer encoding without a length (411 before any read)
		}
		t.Run(d.name+"/broken-chunked", func(t *testing.T) {
			c := rawDial(t, e)
			br := bufio.NewReader(c)
			target := d.target("chunked")
			hdr := d.hdr(target, -1)
			hdr.Set("Transfer-Encoding", "chunked")
			rawHead(t, c, http.MethodPut, target, hdr)
			if _, err := io.WriteString(c, "5\r\nhello\r\nzz-not-hex\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, body := rawResponse(t, c, br, http.MethodPut)
			if resp.StatusCode != d.short || !strings.Contains(string(body), d.code) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, d.short, d.code)
			}
		})
	}
}

// A long poll that waits longer than the idle and body timeouts still
// answers: no deadline runs while it waits.
func TestTimeouts_LongPollOutlivesTimeouts(t *testing.T) {
	e := StartLocal(t, "sets short timeouts", shortTimeouts(1<<20))
	sid := e.WithService(t)
	start := time.Now()
	p := natSync(t, e, e.AdminKey, sid, "wait", "2")
	if len(p.Updates) != 0 {
		t.Fatalf("updates on an empty service: %+v", p.Updates)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("the long poll answered after %v: it did not wait past the 500ms timeouts", waited)
	}
}

// Connections without credentials are capped: past max_anonymous_conns
// the one idle longest is closed, while a connection that authenticated
// is not counted and keeps working.
func TestTimeouts_AnonymousConnectionCap(t *testing.T) {
	e := StartLocal(t, "sets the cap", func(c *server.Config) { c.MaxAnonymousConns = 2 })
	get := func(c net.Conn, br *bufio.Reader, hdr http.Header, fn string) int {
		t.Helper()
		rawHead(t, c, http.MethodGet, "/"+fn, hdr)
		resp, _ := rawResponse(t, c, br, http.MethodGet)
		return resp.StatusCode
	}
	authed := rawDial(t, e)
	abr := bufio.NewReader(authed)
	if s := get(authed, abr, nativeHeader(e.AdminKey), "servicelist"); s != http.StatusOK {
		t.Fatalf("servicelist: %d", s)
	}
	var anon []net.Conn
	var readers []*bufio.Reader
	for i := 0; i < 3; i++ { // the third pushes the first out
		c := rawDial(t, e)
		br := bufio.NewReader(c)
		if s := get(c, br, nil, "openapi.json"); s != http.StatusOK {
			t.Fatalf("anonymous %d: %d", i, s)
		}
		anon, readers = append(anon, c), append(readers, br)
	}
	_ = anon[0].SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := readers[0].Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the oldest anonymous connection: read %d, %v; want EOF (closed to keep the cap)", n, err)
	}
	if s := get(anon[2], readers[2], nil, "openapi.json"); s != http.StatusOK {
		t.Fatalf("the newest anonymous connection: %d", s)
	}
	if s := get(authed, abr, nativeHeader(e.AdminKey), "servicelist"); s != http.StatusOK {
		t.Fatalf("the authenticated connection: %d", s)
	}
}
