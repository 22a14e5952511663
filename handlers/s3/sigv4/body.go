package sigv4

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strings"
	"sync"
)

// verifier is implemented by the bodies Verify installs.
type verifier interface {
	io.ReadCloser
	failure() *Error
	checksum() (name, value string)
}

// outcome is the end state of a verifying body, shared by both kinds.
type outcome struct {
	err    error  // sticky: io.EOF, an *Error, or the source's error
	bad    *Error // the *Error reported, if any
	digest digests
	done   bool // the payload verified completely
}

// stop records err as the reader's final result and returns it.
func (o *outcome) stop(err error) error {
	if e, ok := err.(*Error); ok {
		o.bad = e
	}
	if err == io.EOF {
		o.done = true
	}
	o.err = err
	return err
}

func (o *outcome) failure() *Error { return o.bad }

func (o *outcome) checksum() (name, value string) {
	if !o.done || o.digest.sum == nil {
		return "", ""
	}
	return o.digest.sumName, o.digest.sumWant
}

// plainBody verifies a payload sent as is: its sha256 (when signed), its
// length and its digests.
type plainBody struct {
	outcome
	src  io.ReadCloser
	sha  hash.Hash // nil for UNSIGNED-PAYLOAD
	want [32]byte
	n    int64
	size int64 // expected length, -1 if unknown
}

func (b *plainBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.src.Read(p)
	if n > 0 {
		if b.sha != nil {
			b.sha.Write(p[:n])
		}
		b.digest.write(p[:n])
		b.n += int64(n)
	}
	switch {
	case err == io.EOF:
		return n, b.stop(b.finish())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, b.stop(errIncomplete())
	case err != nil:
		return n, b.stop(err)
	}
	return n, nil
}

// finish checks the whole payload; it returns io.EOF when it verifies.
func (b *plainBody) finish() error {
	if b.size >= 0 && b.n != b.size {
		return errIncomplete()
	}
	if b.sha != nil {
		if !bytes.Equal(b.sha.Sum(b.digest.buf[:0]), b.want[:]) {
			return fail(CodeXAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	if err := b.digest.verify(); err != nil {
		return err
	}
	return io.EOF
}

func (b *plainBody) Close() error { return b.src.Close() }

// Bounds on aws-chunked framing, so that no input makes the decoder
// allocate or buffer without limit.
const (
	maxChunk        = 16 << 20 // data bytes in one chunk
	lineBuffer      = 4 << 10  // a chunk header or trailer line, CRLF included
	maxTrailerLines = 64
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// chunkedBody decodes an aws-chunked payload, verifying each chunk's
// signature in the chain (signed forms), the trailer (and its signature),
// the decoded length and the digests.
type chunkedBody struct {
	outcome
	src    *bufio.Reader
	pool   *sync.Pool // where src goes back once the body is done
	closer io.Closer

	signed  bool     // chunks (and trailer) carry signatures
	trailer bool     // trailer section expected
	key     [32]byte // signing key
	prefix  []byte   // "<amzdate>\n<scope>\n" of the strings to sign
	prev    [32]byte // previous signature in the chain
	sig     [32]byte // signature of the current chunk
	sha     hash.Hash
	scratch []byte

	inChunk bool
	left    int64 // data bytes left in the current chunk
	decoded int64
	want    int64 // x-amz-decoded-content-length
	name    string
}

// newBuffered returns a buffered reader of r, taken from pool (the
// Verifier's recycled chunk-decoder readers) when it holds one.
func newBuffered(pool *sync.Pool, r io.Reader) *bufio.Reader {
	br, _ := pool.Get().(*bufio.Reader)
	if br == nil {
		return bufio.NewReaderSize(r, lineBuffer)
	}
	br.Reset(r)
	return br
}

// stop records the final result and gives the buffered reader back: no
// read reaches the source after it.
func (c *chunkedBody) stop(err error) error {
	if c.src != nil {
		c.src.Reset(nil)
		c.pool.Put(c.src)
		c.src = nil
	}
	return c.outcome.stop(err)
}

func (c *chunkedBody) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if err := c.next(); err != nil {
			return 0, c.stop(err)
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.src.Read(p)
	c.left -= int64(n)
	c.decoded += int64(n)
	if c.signed {
		c.sha.Write(p[:n])
	}
	c.digest.write(p[:n])
	if err == nil && c.left == 0 {
		err = c.endChunk()
	}
	if err == io.EOF {
		err = errIncomplete()
	}
	if err != nil {
		return n, c.stop(err)
	}
	return n, nil
}

// next reads the next chunk header; at the final chunk it verifies the
// rest of the body and returns io.EOF or the failure.
func (c *chunkedBody) next() error {
	size, err := c.header()
	if err != nil {
		return err
	}
	if size > 0 {
		if c.decoded+size > c.want {
			return errIncomplete()
		}
		c.left, c.inChunk = size, true
		if c.signed {
			c.sha.Reset()
		}
		return nil
	}
	if c.signed {
		c.sha.Reset()
		if err := c.checkChunk(); err != nil {
			return err
		}
	}
	if err := c.tail(); err != nil {
		return err
	}
	if c.decoded != c.want {
		return errIncomplete()
	}
	if err := c.digest.verify(); err != nil {
		return err
	}
	return io.EOF
}

// header parses "<hex size>[;chunk-signature=<sig>]\r\n".
func (c *chunkedBody) header() (int64, error) {
	line, err := c.line()
	if err != nil {
		return 0, err
	}
	sizeHex, ext, _ := bytes.Cut(line, []byte(";"))
	size, ok := parseHex(sizeHex)
	if !ok {
		return 0, errChunked("invalid chunk size %q", sizeHex)
	}
	if size > maxChunk {
		return 0, errChunked("chunk of %d bytes exceeds the %d-byte limit", size, maxChunk)
	}
	if !c.signed {
		return size, nil
	}
	sig, ok := bytes.CutPrefix(ext, []byte("chunk-signature="))
	if !ok || len(sig) != 64 {
		return 0, errChunked("missing chunk-signature")
	}
	if _, err := hex.Decode(c.sig[:], sig); err != nil {
		return 0, errChunked("invalid chunk-signature")
	}
	return size, nil
}

// line reads one CRLF- (or LF-) terminated line, without its terminator.
func (c *chunkedBody) line() ([]byte, error) {
	line, err := c.src.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, errChunked("line longer than %d bytes", lineBuffer)
	case err == io.EOF:
		return nil, errIncomplete()
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		if n > maxChunk {
			return n, true // already too large; the caller rejects it
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// endChunk consumes the CRLF after a chunk's data and checks its signature.
func (c *chunkedBody) endChunk() error {
	c.inChunk = false
	for _, want := range []byte("\r\n") {
		b, err := c.src.ReadByte()
		if err == io.EOF {
			return errIncomplete()
		}
		if err != nil {
			return err
		}
		if b != want {
			return errChunked("chunk data not followed by CRLF")
		}
	}
	if c.signed {
		return c.checkChunk()
	}
	return nil
}

// checkChunk verifies the current chunk's signature and advances the chain.
func (c *chunkedBody) checkChunk() error {
	var sum [32]byte
	copy(sum[:], c.sha.Sum(c.digest.buf[:0]))
	return c.chain("AWS4-HMAC-SHA256-PAYLOAD\n", emptySHA256+"\n", sum, c.sig)
}

// chain computes HMAC(key, alg + prefix + hex(prev) + "\n" + extra +
// hex(sum)), compares it with got and makes it the previous signature.
func (c *chunkedBody) chain(alg, extra string, sum, got [32]byte) error {
	var sts [512]byte
	msg := append(sts[:0], alg...)
	msg = append(msg, c.prefix...)
	msg = hex.AppendEncode(msg, c.prev[:])
	msg = append(msg, '\n')
	msg = append(msg, extra...)
	msg = hex.AppendEncode(msg, sum[:])
	var sig [32]byte
	sig, c.scratch = hmacSHA256(c.key[:], msg, c.scratch)
	if subtle.ConstantTimeCompare(sig[:], got[:]) != 1 {
		return errSignature()
	}
	c.prev = sig
	return nil
}

// tail reads what follows the final chunk up to the end of the body: in
// trailer forms the trailer lines (and, signed, x-amz-trailer-signature),
// else nothing but blank lines. Blank lines are ignored anywhere, since
// clients differ on where they put them.
func (c *chunkedBody) tail() error {
	var tsha hash.Hash
	if c.signed && c.trailer {
		tsha = sha256.New()
	}
	var tsig [32]byte
	seen, signed := false, false
	for i := 0; ; i++ {
		line, err := c.src.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || i == maxTrailerLines {
			return malformedTrailer()
		}
		if err != nil && err != io.EOF {
			return err
		}
		last := err == io.EOF
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 {
			if !c.trailer {
				return errChunked("data after the final chunk")
			}
			if signed {
				return malformedTrailer() // nothing may follow the signature
			}
			name, value, ok := strings.Cut(string(line), ":")
			name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
			switch {
			case !ok:
				return malformedTrailer()
			case name == "x-amz-trailer-signature" && tsha != nil:
				if len(value) != 64 {
					return malformedTrailer()
				}
				if _, err := hex.Decode(tsig[:], []byte(value)); err != nil {
					return malformedTrailer()
				}
				signed = true
			case name == c.name && !seen:
				seen = true
				c.digest.sumWant = value
				if tsha != nil {
					tsha.Write([]byte(name + ":" + value + "\n"))
				}
			default:
				return malformedTrailer()
			}
		}
		if last {
			break
		}
	}
	if c.name != "" && !seen {
		return malformedTrailer()
	}
	if tsha != nil {
		if !signed {
			return malformedTrailer()
		}
		var sum [32]byte
		tsha.Sum(sum[:0])
		if err := c.chain("AWS4-HMAC-SHA256-TRAILER\n", "", sum, tsig); err != nil {
			return err
		}
	}
	if seen {
		if err := c.digest.checkEncoding(c.digest.sumWant); err != nil {
			return err
		}
	}
	return nil
}

func malformedTrailer() *Error {
	return fail(CodeMalformedTrailer, "The request contained trailing data that was not well-formed or did not conform to our published schema.")
}

func (c *chunkedBody) Close() error { return c.closer.Close() }
