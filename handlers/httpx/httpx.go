package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/schema"
)

type ctxKey int

const (
	keyInfo ctxKey = iota
)

// Info is per-request state the middleware and the dialect share.
type Info struct {
	ID        string
	Dialect   string
	Operation string
	KeyID     string
	Service   string
	Path      string
	Start     time.Time
}

// InfoOf returns the request's Info (a fresh one outside the middleware).
func InfoOf(ctx context.Context) *Info {
	if i, ok := ctx.Value(keyInfo).(*Info); ok {
		return i
	}
	return &Info{}
}

// NewRequestID returns a new request id: 12 random bytes (96 bits, so two
// requests never share one in practice) as 24 upper-case hex digits, the
// X-Request-Id and request_id clients see.
func NewRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// Recorder captures the status and body size of a response.
type Recorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

// WriteHeader implements http.ResponseWriter.
func (r *Recorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.Bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (r *Recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the original writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Done is called after each request with its Info and outcome.
type Done func(r *http.Request, info *Info, rec *Recorder, d time.Duration)

// Middleware assigns a request id, records the outcome and writes one
// structured log line per request (never headers, secrets or contents).
func Middleware(log *slog.Logger, next http.Handler, done ...Done) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &Info{ID: NewRequestID(), Start: time.Now()}
		rec := &Recorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), keyInfo, info))
		next.ServeHTTP(rec, r)
		drainRefused(r, rec.Status)
		if info.KeyID != "" { // the connection carries credentials: out of the Anonymous cap
			authenticated(r.Context())
		}
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		d := time.Since(info.Start)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("id", info.ID), slog.String("dialect", info.Dialect),
			slog.String("op", info.Operation), slog.String("method", r.Method),
			slog.String("service", info.Service), slog.Int("status", rec.Status),
			slog.Int64("bytes", rec.Bytes), slog.Duration("duration", d),
			slog.String("key_id", info.KeyID), slog.String("client", ClientIP(r)))
		for _, fn := range done {
			fn(r, info, rec, d)
		}
	})
}

// drainRefusedMax bounds the body drainRefused reads.
const drainRefusedMax = 16 << 20

// drainRefused reads and discards what is left of the body of a request
// answered with an error before its body was read (a 507 or 413 decided on
// the declared length, an auth failure), when the client did not ask for
// 100 Continue and so is sending the body anyway. The error is still in
// the response buffer then, and goes out after: a client that writes its
// whole body before reading (most do) gets the error, not a connection
// reset that the kernel sends when a server closes on unread bytes, which
// can destroy the answer too. net/http drains only 256 KiB itself. A
// body declared larger than drainRefusedMax is not read at all, and a
// chunked one only up to it: past that the connection is closed after the
// answer, as before.
func drainRefused(r *http.Request, status int) {
	if status < http.StatusBadRequest || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 ||
		r.ContentLength > drainRefusedMax || r.Header.Get("Expect") != "" {
		return
	}
	_, _ = io.CopyN(io.Discard, r.Body, drainRefusedMax)
}

// ClientIP returns the client's address (the connection's peer).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Precondition evaluates a read's conditional headers against a version's
// ETag and modification time with the one evaluator (schema.Conditions). It
// returns 0 to go on, http.StatusNotModified or
// http.StatusPreconditionFailed.
func Precondition(r *http.Request, etag string, mod time.Time) int {
	verdict, _ := schema.ConditionsFrom(r.Header.Get).Evaluate(schema.Target{Exists: true, ETag: etag, Modified: mod}, true)
	switch verdict {
	case schema.NotModified:
		return http.StatusNotModified
	case schema.PreconditionFailed:
		return http.StatusPreconditionFailed
	}
	return 0
}

// ParseRange reads a Range header against a size. valid is false when
// there is no header or it cannot be parsed (another unit, a malformed or
// reversed range): RFC 9110 says such a header is ignored and the whole
// representation served. satisfiable is true when at least one range
// overlaps the size.
func ParseRange(header string, size int64) (valid, satisfiable bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !ok || strings.TrimSpace(spec) == "" {
		return false, false
	}
	for _, part := range strings.Split(spec, ",") {
		first, last, found := strings.Cut(strings.TrimSpace(part), "-")
		if !found {
			return false, false
		}
		if first == "" { // suffix: the last N bytes
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil || n < 0 {
				return false, false
			}
			satisfiable = satisfiable || (n > 0 && size > 0)
			continue
		}
		start, err := strconv.ParseInt(first, 10, 64)
		if err != nil || start < 0 {
			return false, false
		}
		if last != "" {
			end, err := strconv.ParseInt(last, 10, 64)
			if err != nil || end < start {
				return false, false
			}
		}
		satisfiable = satisfiable || start < size
	}
	return true, satisfiable
}

// Quote returns an ETag in quotes.
func Quote(etag string) string { return `"` + strings.Trim(etag, `"`) + `"` }

// SingleRange returns the bytes a one-range Range header selects of size
// bytes (clamped to the end), or ok false when the header is not exactly
// one valid, satisfiable range.
func SingleRange(header string, size int64) (start, length int64, ok bool) {
	valid, satisfiable := ParseRange(header, size)
	spec := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(header), "bytes="))
	if !valid || !satisfiable || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	first, last, _ := strings.Cut(spec, "-")
	if first == "" {
		n, _ := strconv.ParseInt(last, 10, 64)
		n = min(n, size)
		return size - n, n, true
	}
	start, _ = strconv.ParseInt(first, 10, 64)
	end := size - 1
	if last != "" {
		e, _ := strconv.ParseInt(last, 10, 64)
		end = min(e, size-1)
	}
	return start, end - start + 1, true
}

// ContentType returns the stored content type for an upload: the header,
// else a guess from the name's extension, else application/octet-stream.
func ContentType(header, name string) string {
	if header != "" {
		return header
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// ByteRange is one satisfiable range of a Range header: Length bytes from
// Start.
type ByteRange struct {
	Start, Length int64
}

// ContentRange is the Content-Range value of r within size bytes.
func (r ByteRange) ContentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.Start, 10) + "-" + strconv.FormatInt(r.Start+r.Length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

// Ranges returns the satisfiable ranges of a Range header over size bytes,
// clamped to the end, in the order asked. valid is false when there is no
// header or it cannot be parsed (serve the whole representation); valid
// with no ranges means none is satisfiable (416).
func Ranges(header string, size int64) (ranges []ByteRange, valid bool) {
	if ok, _ := ParseRange(header, size); !ok {
		return nil, false
	}
	spec := strings.TrimPrefix(strings.TrimSpace(header), "bytes=")
	for _, part := range strings.Split(spec, ",") {
		first, last, _ := strings.Cut(strings.TrimSpace(part), "-")
		if first == "" { // the last N bytes
			n, _ := strconv.ParseInt(last, 10, 64)
			if n = min(n, size); n > 0 {
				ranges = append(ranges, ByteRange{size - n, n})
			}
			continue
		}
		start, _ := strconv.ParseInt(first, 10, 64)
		if start >= size {
			continue
		}
		end := size - 1
		if last != "" {
			e, _ := strconv.ParseInt(last, 10, 64)
			end = min(e, size-1)
		}
		ranges = append(ranges, ByteRange{start, end - start + 1})
	}
	return ranges, true
}

// ReaderAtCloser is an object's bytes being served.
type ReaderAtCloser interface {
	io.ReaderAt
	io.Closer
}

// ServeBytes answers status with length bytes from start of what open
// opens (the caller has set every header, Content-Length included); a HEAD
// request gets the status alone. A failure to open is returned before
// anything is written; one while writing (the client went) is only logged;
// one while reading the stored bytes (damage found while streaming) aborts
// the response (Abort): the client sees a failed transfer, never a success.
func ServeBytes(w http.ResponseWriter, r *http.Request, status int, start, length int64,
	open func() (ReaderAtCloser, error), log *slog.Logger) error {
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	rd, err := open()
	if err != nil {
		return err
	}
	defer rd.Close()
	w.WriteHeader(status)
	src := &TrackedReader{ReadSeeker: io.NewSectionReader(rd, start, length)}
	if _, err := io.Copy(w, src); err != nil {
		if src.Err != nil {
			Abort(r, log, src.Err)
		}
		log.Debug("body write", "request_id", InfoOf(r.Context()).ID, "err", err)
	}
	return nil
}

// TrackedReader remembers the first error other than io.EOF its reader
// returned, so a server can tell a failed read of the stored bytes from a
// client that went away.
type TrackedReader struct {
	io.ReadSeeker
	Err error
}

// Read implements io.Reader.
func (t *TrackedReader) Read(p []byte) (int, error) {
	n, err := t.ReadSeeker.Read(p)
	if err != nil && err != io.EOF && t.Err == nil {
		t.Err = err
	}
	return n, err
}

// Abort ends a response whose headers are out but whose body cannot be
// completed (the stored bytes failed to read or to verify): it logs why
// (with the request id; the access-log line of the request is not
// written) and panics with http.ErrAbortHandler, so net/http closes the
// connection without completing the body. A client then sees a short body
// or a broken chunked encoding, never a success.
func Abort(r *http.Request, log *slog.Logger, err error) {
	log.Error("response aborted: reading the stored content failed",
		"request_id", InfoOf(r.Context()).ID, "err", err)
	panic(http.ErrAbortHandler)
}

// RequestLog keeps each service's recent requests (the native reqlist).
type RequestLog interface {
	RecordRequest(service string, r schema.Request)
}

// RecordRequest adds a finished request on service to log (nil: none),
// in every dialect's terms: the operation, the object path and the key.
func RecordRequest(log RequestLog, service string, r *http.Request, rec *Recorder, operation, path, keyID string) {
	if log == nil {
		return
	}
	info := InfoOf(r.Context())
	status := rec.Status
	if status == 0 {
		status = http.StatusOK
	}
	log.RecordRequest(service, schema.Request{
		Time: info.Start.UTC(), Method: r.Method, Function: operation, Path: path,
		Status: status, Bytes: rec.Bytes, DurationMS: float64(time.Since(info.Start).Microseconds()) / 1000,
		ClientIP: ClientIP(r), KeyID: keyID, UserAgent: r.UserAgent(), Dialect: info.Dialect,
	})
}
