package sigv4

import (
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	iso8601    = "20060102T150405Z"
	yyyymmdd   = "20060102"
	maxSkew    = 15 * time.Minute
	maxExpires = 7 * 24 * 60 * 60
)

// auth is the parsed credentials of a request, in either form.
type auth struct {
	keyID     string
	date      string // credential scope date, YYYYMMDD
	region    string
	signed    string // SignedHeaders as sent
	signature [32]byte
	amzDate   string    // request time, ISO 8601 basic, as signed
	t         time.Time // request time
	presigned bool
	expires   int64   // presigned only, seconds
	params    []param // presigned only: the decoded query
}

// malformedCode is the malformation code of the form being parsed.
func (a *auth) malformedCode() string {
	if a.presigned {
		return CodeAuthorizationQueryParams
	}
	return CodeAuthorizationHeaderMalform
}

func (a *auth) malformed(format string, args ...any) *Error {
	prefix := "The authorization header is malformed; "
	if a.presigned {
		prefix = ""
	}
	return fail(a.malformedCode(), prefix+format, args...)
}

// parseHeader parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." (spaces after the commas optional) into a.
func (a *auth) parseHeader(h string) *Error {
	rest, ok := strings.CutPrefix(h, algorithm)
	if !ok || rest == "" || rest[0] != ' ' {
		return a.malformed("the authorization header requires the algorithm %q", algorithm)
	}
	var cred, sig string
	var seen [3]bool
	for rest != "" {
		var field string
		field, rest, _ = strings.Cut(rest, ",")
		if field = strings.Trim(field, " "); field == "" {
			continue
		}
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return a.malformed("the authorization component %q is malformed.", field)
		}
		var i int
		switch k {
		case "Credential":
			i, cred = 0, v
		case "SignedHeaders":
			i, a.signed = 1, v
		case "Signature":
			i, sig = 2, v
		default:
			return a.malformed("the authorization component %q is malformed.", field)
		}
		if seen[i] {
			return a.malformed("the authorization component %q is repeated.", k)
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return a.malformed("the authorization header requires Credential, SignedHeaders and Signature.")
	}
	if err := a.setCredential(cred); err != nil {
		return err
	}
	if err := a.setSignature(sig); err != nil {
		return err
	}
	return a.checkSigned()
}

// setCredential parses AKID/YYYYMMDD/region/s3/aws4_request.
func (a *auth) setCredential(c string) *Error {
	var parts [5]string
	n := 0
	for rest, more := c, true; more; n++ {
		if n == len(parts) {
			n++
			break
		}
		parts[n], rest, more = strings.Cut(rest, "/")
	}
	if n != len(parts) || parts[0] == "" || parts[2] == "" {
		return a.malformed("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
	}
	if _, err := time.Parse(yyyymmdd, parts[1]); err != nil {
		return a.malformed("incorrect date format %q. This date in the credential must be in the format \"yyyyMMdd\".", parts[1])
	}
	if parts[3] != "s3" {
		return a.malformed("incorrect service %q. This endpoint belongs to \"s3\".", parts[3])
	}
	if parts[4] != "aws4_request" {
		return a.malformed("incorrect terminal %q. This endpoint uses \"aws4_request\".", parts[4])
	}
	a.keyID, a.date, a.region = parts[0], parts[1], parts[2]
	return nil
}

func (a *auth) setSignature(s string) *Error {
	if len(s) != 64 {
		return a.malformed("the Signature must be 64 hexadecimal characters.")
	}
	if _, err := hex.Decode(a.signature[:], []byte(s)); err != nil {
		return a.malformed("the Signature must be 64 hexadecimal characters.")
	}
	return nil
}

// checkSigned checks the signed header list is well formed and signs host.
func (a *auth) checkSigned() *Error {
	host := false
	for rest := a.signed; ; {
		var name string
		var more bool
		name, rest, more = strings.Cut(rest, ";")
		if name == "" {
			return a.malformed("the SignedHeaders list %q is malformed.", a.signed)
		}
		host = host || strings.EqualFold(name, "host")
		if !more {
			break
		}
	}
	if !host {
		return a.malformed("the SignedHeaders must include host.")
	}
	return nil
}

// setHeaderDate takes the request time from X-Amz-Date, else from Date.
func (a *auth) setHeaderDate(r *http.Request) *Error {
	bad := func() *Error {
		return fail(CodeAccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
	}
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(iso8601, v)
		if err != nil {
			return bad()
		}
		a.t, a.amzDate = t, v
		return nil
	}
	v := r.Header.Get("Date")
	if v == "" {
		return bad()
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return bad()
	}
	a.t, a.amzDate = t.UTC(), t.UTC().Format(iso8601)
	return nil
}

// checkScopeDate checks the credential's date is the request time's day.
func (a *auth) checkScopeDate() *Error {
	if day := a.amzDate[:8]; day != a.date {
		return a.malformed("Invalid credential date %q. This date is not the same as X-Amz-Date: %q.", a.date, day)
	}
	return nil
}

// parseQueryAuth parses the presigned-query form into a.
func (a *auth) parseQueryAuth(raw string) *Error {
	a.presigned, a.params = true, parseQuery(raw)
	get := func(name string) (string, bool) {
		for _, p := range a.params {
			if p.key == name {
				return p.value, true
			}
		}
		return "", false
	}
	alg, _ := get("X-Amz-Algorithm")
	if alg != algorithm {
		return a.malformed("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	cred, ok1 := get("X-Amz-Credential")
	date, ok2 := get("X-Amz-Date")
	exp, ok3 := get("X-Amz-Expires")
	signed, ok4 := get("X-Amz-SignedHeaders")
	sig, ok5 := get("X-Amz-Signature")
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return a.malformed("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	}
	if err := a.setCredential(cred); err != nil {
		return err
	}
	t, err := time.Parse(iso8601, date)
	if err != nil {
		return a.malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	a.t, a.amzDate = t, date
	if err := a.setExpires(exp); err != nil {
		return err
	}
	a.signed = signed
	if err := a.setSignature(sig); err != nil {
		return err
	}
	return a.checkSigned()
}

func (a *auth) setExpires(v string) *Error {
	n := int64(0)
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' || n > maxExpires {
			return a.malformed("X-Amz-Expires should be a number")
		}
		n = n*10 + int64(v[i]-'0')
	}
	switch {
	case v == "":
		return a.malformed("X-Amz-Expires should be a number")
	case n < 1:
		return a.malformed("X-Amz-Expires must be non-negative")
	case n > maxExpires:
		return a.malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800")
	}
	a.expires = n
	return nil
}

// checkTime checks the request time against the server's clock: within 15
// minutes for the header form; for presigned requests not expired and not
// more than 15 minutes in the future.
func (a *auth) checkTime(now time.Time) *Error {
	d := now.Sub(a.t)
	if a.presigned {
		if d < -maxSkew {
			return fail(CodeAccessDenied, "Request is not valid yet")
		}
		if d > time.Duration(a.expires)*time.Second {
			return fail(CodeAccessDenied, "Request has expired")
		}
		return nil
	}
	if d > maxSkew || d < -maxSkew {
		return fail(CodeRequestTimeTooSkewed, "The difference between the request time and the server's time is too large.")
	}
	return nil
}
