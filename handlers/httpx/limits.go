package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// Errors a request body read through Deadlines fails with, each inside a
// *schema.Error of kind invalid_argument (so a dialect that knows no finer
// answer says 400) whose cause wraps the sentinel and the reader's error.
// Dialects with their own codes test for them with errors.Is: S3 answers
// IncompleteBody and RequestTimeout, Swift 499 Client Disconnect and 408.
var (
	// ErrIncompleteBody: the body ended before its Content-Length, or its
	// chunked encoding was broken.
	ErrIncompleteBody = errors.New("incomplete request body")
	// ErrBodyTimeout: the body stalled for longer than Transfer.Stall, or
	// came slower on average than Transfer.MinRate.
	ErrBodyTimeout = errors.New("request body timed out")
)

// Transfer bounds how long request and response bodies may take without
// capping their total time, so a slow-but-honest 5 GiB transfer finishes
// while a stalled or trickling one is cut off.
type Transfer struct {
	// Stall is the longest wait for the next bytes of a request body, and
	// the longest a response write may take beyond what MinRate allows
	// for its size.
	Stall time.Duration
	// MinRate (bytes per second; 0: no rate check) is the slowest a body
	// may move: a request body must keep an average of MinRate from its
	// first byte after a grace of Stall, and each response write of n
	// bytes must finish within Stall + n/MinRate.
	MinRate int64
}

// Deadlines applies t to every request through per-read and per-write
// connection deadlines (http.ResponseController), which extend while bytes
// flow. A handler that waits before writing (a long poll) has no write
// deadline while it waits: each write sets its own. The write deadline is
// cleared as a request starts, so none is inherited from the connection's
// previous request, and set to Stall when the handler returns, for what
// the server flushes after it.
func Deadlines(t Transfer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{}) // ErrNotSupported outside a server: nothing to bound
		if r.Body != nil && r.Body != http.NoBody {
			// a copy: the server's own request must keep its body, which
			// it inspects after the handler (100-continue, discarding)
			r = r.WithContext(r.Context())
			r.Body = &deadlineBody{src: r.Body, rc: rc, t: t, start: time.Now()}
		}
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, t: t}, r)
		_ = rc.SetWriteDeadline(time.Now().Add(t.Stall))
	})
}

// rateTime is how long n bytes take at the minimum rate.
func (t Transfer) rateTime(n int64) time.Duration {
	if t.MinRate <= 0 {
		return 0
	}
	return time.Duration(float64(n) / float64(t.MinRate) * float64(time.Second))
}

type deadlineBody struct {
	src   io.ReadCloser
	rc    *http.ResponseController
	t     Transfer
	start time.Time
	n     int64
	err   error
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	due := time.Now().Add(b.t.Stall)
	if b.t.MinRate > 0 {
		// the time the bytes read so far buy at the minimum rate
		if earned := b.start.Add(b.t.Stall + b.t.rateTime(b.n)); earned.Before(due) {
			due = earned
		}
	}
	_ = b.rc.SetReadDeadline(due)
	n, err := b.src.Read(p)
	b.n += int64(n)
	switch {
	case err == nil:
	case err == io.EOF:
		// No deadline left behind: the server's background read, which
		// notices a client going away during a long handler, must not
		// end the request when it fires.
		_ = b.rc.SetReadDeadline(time.Time{})
	case isTimeout(err):
		b.err = &schema.Error{Kind: schema.KindInvalidArgument, Err: fmt.Errorf("%w: %w", ErrBodyTimeout, err),
			Msg: fmt.Sprintf("the request body stalled or came slower than %d bytes/s: not read within the timeout", b.t.MinRate)}
		err = b.err
	case errors.Is(err, io.ErrUnexpectedEOF):
		b.err = &schema.Error{Kind: schema.KindInvalidArgument, Err: fmt.Errorf("%w: %w", ErrIncompleteBody, err),
			Msg: "the request body is shorter than its Content-Length"}
		err = b.err
	default:
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return n, err
		}
		b.err = &schema.Error{Kind: schema.KindInvalidArgument, Err: fmt.Errorf("%w: %w", ErrIncompleteBody, err),
			Msg: "the request body could not be read: malformed chunked encoding or an interrupted transfer"}
		err = b.err
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.src.Close() }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// deadlineWriter sets the connection's write deadline before each write.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	t  Transfer
}

func (w *deadlineWriter) arm(n int) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.t.Stall + w.t.rateTime(int64(n))))
}

// Write implements http.ResponseWriter.
func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.arm(len(p))
	return w.ResponseWriter.Write(p)
}

// flushSize is what a flush may send: net/http's buffers.
const flushSize = 8 << 10

// Flush implements http.Flusher.
func (w *deadlineWriter) Flush() {
	w.arm(flushSize)
	_ = w.rc.Flush()
}

// FlushError is what http.ResponseController.Flush calls.
func (w *deadlineWriter) FlushError() error {
	w.arm(flushSize)
	return w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the original writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Anonymous caps the connections that have not yet carried an
// authenticated request (one whose Info names a key): new connections,
// and ones that only made anonymous requests. When a new connection would
// pass the cap, the idle one whose last request began earliest (or, with
// none yet, that connected earliest) is closed; when none is waiting, every one being
// mid-request, the new connection is closed at once. A connection leaves
// the count for good with its first authenticated request, so clients
// with keys are never pushed out by anonymous ones.
//
// Wire it as http.Server's ConnState and ConnContext; Middleware reports
// authenticated requests to it.
type Anonymous struct {
	max   int
	mu    sync.Mutex
	conns map[net.Conn]*tracked
	// closed counts the connections closed to keep the cap.
	closed int64
}

type tracked struct {
	a      *Anonymous
	conn   net.Conn
	active bool
	// since is when its last request began (or when it connected): the
	// client's own order, where the moment the server marks it idle
	// again races with the client's next step
	since time.Time
}

type connKey struct{}

// NewAnonymous returns a cap of max connections without credentials.
func NewAnonymous(max int) *Anonymous {
	return &Anonymous{max: max, conns: map[net.Conn]*tracked{}}
}

// ConnContext is http.Server.ConnContext, called once as each connection
// is accepted: it counts the connection, making room as described above,
// and lets the connection's requests find its entry.
func (a *Anonymous) ConnContext(ctx context.Context, c net.Conn) context.Context {
	var closeConn net.Conn
	t := &tracked{a: a, conn: c, since: time.Now()}
	a.mu.Lock()
	if len(a.conns) >= a.max {
		var oldest *tracked
		for _, o := range a.conns {
			if !o.active && (oldest == nil || o.since.Before(oldest.since)) {
				oldest = o
			}
		}
		if oldest == nil {
			closeConn = c
		} else {
			closeConn = oldest.conn
			delete(a.conns, oldest.conn)
		}
		a.closed++
	}
	if closeConn != c {
		a.conns[c] = t
	}
	a.mu.Unlock()
	if closeConn != nil {
		_ = closeConn.Close()
	}
	return context.WithValue(ctx, connKey{}, t)
}

// ConnState is http.Server.ConnState: it tells waiting connections from
// busy ones.
func (a *Anonymous) ConnState(c net.Conn, s http.ConnState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch s {
	case http.StateActive:
		if t := a.conns[c]; t != nil {
			t.active, t.since = true, time.Now()
		}
	case http.StateIdle:
		if t := a.conns[c]; t != nil {
			t.active = false
		}
	case http.StateHijacked, http.StateClosed:
		delete(a.conns, c)
	}
}

// Count returns how many connections without credentials are open, and
// how many were closed to keep the cap.
func (a *Anonymous) Count() (open int, closed int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.conns), a.closed
}

// authenticated takes a request's connection out of the count.
func authenticated(ctx context.Context) {
	t, ok := ctx.Value(connKey{}).(*tracked)
	if !ok {
		return
	}
	t.a.mu.Lock()
	if t.a.conns[t.conn] == t {
		delete(t.a.conns, t.conn)
	}
	t.a.mu.Unlock()
}
