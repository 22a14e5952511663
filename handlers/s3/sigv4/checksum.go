package sigv4

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"net/http"
	"strings"
)

// checksumPrefix starts the names of the x-amz-checksum-* headers.
const checksumPrefix = "x-amz-checksum-"

// checksums lists the algorithms verified, by x-amz-checksum-* suffix,
// with the size of their digest.
var checksums = map[string]struct {
	size int
	new  func() hash.Hash
}{
	"crc32":     {4, func() hash.Hash { return crc32.NewIEEE() }},
	"crc32c":    {4, func() hash.Hash { return crc32.New(castagnoli) }},
	"crc64nvme": {8, newCRC64NVME},
	"sha1":      {sha1.Size, sha1.New},
	"sha256":    {sha256.Size, sha256.New},
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// digests are the payload digests a request declares, checked at the end
// of the payload: Content-MD5 and one x-amz-checksum-* (from a header, or
// declared in x-amz-trailer and sent as a trailer).
type digests struct {
	md5     hash.Hash
	md5Want [16]byte

	sum       hash.Hash
	sumName   string // x-amz-checksum-<alg>
	sumSize   int
	sumWant   string // base64, from the header or the trailer
	inTrailer bool

	buf [64]byte // room for a digest's Sum, so it does not allocate
}

// active reports whether any digest is to be checked.
func (d *digests) active() bool { return d.md5 != nil || d.sum != nil }

func (d *digests) write(p []byte) {
	if d.md5 != nil {
		d.md5.Write(p)
	}
	if d.sum != nil {
		d.sum.Write(p)
	}
}

// setup reads Content-MD5 and the x-amz-checksum-* header; trailer is the
// checksum named in x-amz-trailer, if any. verifyHeader is false for
// requests whose checksum header is not a digest of the body
// (CompleteMultipartUpload).
func (d *digests) setup(r *http.Request, trailer string, verifyHeader bool) *Error {
	if vs, ok := r.Header["Content-Md5"]; ok {
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		var buf [18]byte
		if len(vs) != 1 || len(v) != 24 {
			return fail(CodeInvalidDigest, "The Content-MD5 you specified was invalid.")
		}
		if n, err := base64.StdEncoding.Decode(buf[:], []byte(v)); err != nil || n != 16 {
			return fail(CodeInvalidDigest, "The Content-MD5 you specified was invalid.")
		}
		copy(d.md5Want[:], buf[:16])
		d.md5 = md5.New()
	}
	if trailer != "" {
		if err := d.use(trailer); err != nil {
			return err
		}
		d.inTrailer = true
	}
	for k, vs := range r.Header {
		if !verifyHeader || len(k) <= len(checksumPrefix) || !strings.EqualFold(k[:len(checksumPrefix)], checksumPrefix) {
			continue
		}
		name := strings.ToLower(k)
		if _, known := checksums[name[len(checksumPrefix):]]; !known {
			continue // x-amz-checksum-type, -algorithm, or an algorithm not verified here
		}
		if d.sum != nil {
			return fail(CodeInvalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		if err := d.use(name); err != nil {
			return err
		}
		d.sumWant = vs[0]
		if err := d.checkEncoding(d.sumWant); err != nil {
			return err
		}
	}
	return nil
}

// use arms the checksum named (x-amz-checksum-<alg>).
func (d *digests) use(name string) *Error {
	c, ok := checksums[strings.TrimPrefix(name, checksumPrefix)]
	if !ok || !strings.HasPrefix(name, checksumPrefix) {
		return fail(CodeInvalidRequest, "The value specified in the x-amz-trailer header is not supported")
	}
	d.sum, d.sumName, d.sumSize = c.new(), name, c.size
	return nil
}

// checkEncoding checks v is base64 of a digest of the armed size.
func (d *digests) checkEncoding(v string) *Error {
	var buf [66]byte
	if len(v) != base64.StdEncoding.EncodedLen(d.sumSize) {
		return fail(CodeInvalidRequest, "Value for %s header is invalid.", d.sumName)
	}
	n, err := base64.StdEncoding.Decode(buf[:], []byte(v))
	if err != nil || n != d.sumSize {
		return fail(CodeInvalidRequest, "Value for %s header is invalid.", d.sumName)
	}
	return nil
}

// verify compares the digests of the payload read with those declared.
func (d *digests) verify() *Error {
	if d.md5 != nil {
		if !bytes.Equal(d.md5.Sum(d.buf[:0]), d.md5Want[:]) {
			return fail(CodeBadDigest, "The Content-MD5 you specified did not match what we received.")
		}
	}
	if d.sum != nil {
		if d.inTrailer && d.sumWant == "" {
			return fail(CodeMalformedTrailer, "The request contained trailing data that was not well-formed or did not conform to our published schema.")
		}
		var want [66]byte
		n, _ := base64.StdEncoding.Decode(want[:], []byte(d.sumWant))
		if !bytes.Equal(d.sum.Sum(d.buf[:0]), want[:n]) {
			return fail(CodeBadDigest, "The %s you specified did not match the calculated checksum.", d.sumName)
		}
	}
	return nil
}

// crc64NVME is CRC-64/NVME: polynomial 0xad93d23594c93659 (reflected
// 0x9a6c9329ac4bc9b5), initial value and final xor all ones. It is computed
// slicing-by-8.
var crc64NVME = func() *[8][256]uint64 {
	const poly = 0x9a6c9329ac4bc9b5
	t := new([8][256]uint64)
	for i := range 256 {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for j := 1; j < 8; j++ {
			c = t[0][c&0xff] ^ c>>8
			t[j][i] = c
		}
	}
	return t
}()

type crcNVME struct{ crc uint64 }

func newCRC64NVME() hash.Hash { return &crcNVME{} }

func (c *crcNVME) Write(p []byte) (int, error) {
	n := len(p)
	crc := ^c.crc
	t := crc64NVME
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	c.crc = ^crc
	return n, nil
}

func (c *crcNVME) Sum(b []byte) []byte { return binary.BigEndian.AppendUint64(b, c.crc) }
func (c *crcNVME) Reset()              { c.crc = 0 }
func (c *crcNVME) Size() int           { return 8 }
func (c *crcNVME) BlockSize() int      { return 1 }
