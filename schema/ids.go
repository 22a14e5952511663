package schema

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"github.com/oklog/ulid/v2"
)

// MaxPathBytes is the longest object path accepted, in bytes of UTF-8.
const MaxPathBytes = 1024

// DefaultAccount is the account that exists from the first start.
const DefaultAccount = "default"

var (
	serviceIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipLikeRe    = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
	accountRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	keyIDRe     = regexp.MustCompile(`^[A-Z0-9]{16,32}$`)
	loginRe     = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)
)

// ValidServiceID reports whether id follows S3 bucket naming: 3–63
// lower-case letters, digits, '-' and '.', starting and ending with a letter
// or digit, no "..", not shaped like an IP address.
func ValidServiceID(id string) bool {
	return serviceIDRe.MatchString(id) && !strings.Contains(id, "..") && !ipLikeRe.MatchString(id)
}

// ValidContainerName reports whether name is acceptable as a Swift container:
// 1–256 bytes of UTF-8 without '/' or NUL, and not "." or ".." (URL dot
// segments, which clients remove before a request is sent: such a
// container could not be addressed). Every S3-valid id is also valid here.
func ValidContainerName(name string) bool {
	return len(name) >= 1 && len(name) <= 256 && utf8.ValidString(name) &&
		!strings.ContainsAny(name, "/\x00") && name != "." && name != ".."
}

// ValidSID reports whether id can be a service's id (a native sid): a
// container name, or "<account>/<container>", the id a container gets
// when another service already had its name (names are per account).
func ValidSID(id string) bool {
	if ValidContainerName(id) {
		return true
	}
	account, name, ok := strings.Cut(id, "/")
	return ok && ValidAccountID(account) && ValidContainerName(name)
}

// ValidAccountID reports whether id is an acceptable account id.
func ValidAccountID(id string) bool { return accountRe.MatchString(id) }

// ValidKeyID reports whether id has the shape of a key id.
func ValidKeyID(id string) bool { return keyIDRe.MatchString(id) }

// ValidLogin reports whether login is an acceptable login name of a key:
// 1-64 letters, digits, '_', '-', '.' and '@'. None of them is ':', so
// "account:login" names one key in an ACL or a tempauth user.
func ValidLogin(login string) bool { return loginRe.MatchString(login) }

// ValidPath reports whether p is an acceptable object path: 1–1024 bytes of
// valid UTF-8 without NUL. Everything else ("..", "*", ">", spaces, leading
// slashes) is allowed: paths never reach the filesystem or a subject.
func ValidPath(p string) bool {
	return len(p) >= 1 && len(p) <= MaxPathBytes && utf8.ValidString(p) && !strings.ContainsRune(p, 0)
}

// CheckPath returns an InvalidArgument error for an unacceptable path.
func CheckPath(p string) error {
	if !ValidPath(p) {
		return Errorf(KindInvalidArgument, "path must be 1-%d bytes of UTF-8 without NUL", MaxPathBytes)
	}
	return nil
}

// Validator returns a validator with Cairn's custom tags registered:
// serviceid, container, account, keyid, objpath, access.
func Validator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	must := func(tag string, fn func(string) bool) {
		if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool { return fn(fl.Field().String()) }); err != nil {
			panic(err)
		}
	}
	must("serviceid", ValidServiceID)
	must("container", ValidContainerName)
	must("account", ValidAccountID)
	must("keyid", ValidKeyID)
	must("objpath", ValidPath)
	must("access", func(s string) bool { return s == AccessRead || s == AccessWrite })
	return v
}

// IDs makes ULIDs, monotonic within one generator. Safe for concurrent use.
type IDs struct {
	mu      sync.Mutex
	entropy io.Reader
}

// NewIDs returns a ULID generator using crypto/rand.
func NewIDs() *IDs { return &IDs{entropy: ulid.Monotonic(rand.Reader, 0)} }

// New returns a new ULID string for time t.
func (g *IDs) New(t time.Time) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), g.entropy).String()
}

// Hash returns the 128-bit truncated SHA-256 of s in hex: the subject token
// for any user-chosen name (service ids, object paths, accounts).
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// ValidDigest reports whether d is a lower-case hex SHA-256 digest.
func ValidDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
