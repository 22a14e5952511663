package schema

import (
	"errors"
	"fmt"
)

// Kind is the closed set of domain error kinds. Each dialect maps every kind
// to its own status and wire code; a test fails when a kind has no mapping.
type Kind int

const (
	KindInternal Kind = iota
	KindNotFound
	KindAlreadyExists
	KindConflict
	KindPreconditionFailed
	KindInvalidArgument
	KindQuotaExceeded
	KindTooLarge
	KindUnauthorized
	KindForbidden
	KindNotImplemented
	KindUnavailable
	KindMethodNotAllowed
	KindHistoryTruncated
	KindRangeNotSatisfiable
	// KindInsufficientStorage: the data directory's disk has too little
	// free space for the write (an upload that would eat into the space
	// kept for deletes, or any write once even that is nearly gone).
	KindInsufficientStorage
)

// Kinds lists every kind, for mapping-completeness tests.
var Kinds = []Kind{KindInternal, KindNotFound, KindAlreadyExists, KindConflict,
	KindPreconditionFailed, KindInvalidArgument, KindQuotaExceeded, KindTooLarge,
	KindUnauthorized, KindForbidden, KindNotImplemented, KindUnavailable,
	KindMethodNotAllowed, KindHistoryTruncated, KindRangeNotSatisfiable, KindInsufficientStorage}

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not_found"
	case KindAlreadyExists:
		return "already_exists"
	case KindConflict:
		return "conflict"
	case KindPreconditionFailed:
		return "precondition_failed"
	case KindInvalidArgument:
		return "invalid_argument"
	case KindQuotaExceeded:
		return "quota_exceeded"
	case KindTooLarge:
		return "too_large"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindNotImplemented:
		return "not_implemented"
	case KindUnavailable:
		return "unavailable"
	case KindMethodNotAllowed:
		return "method_not_allowed"
	case KindHistoryTruncated:
		return "history_truncated"
	case KindRangeNotSatisfiable:
		return "range_not_satisfiable"
	case KindInsufficientStorage:
		return "insufficient_storage"
	}
	return "internal"
}

// Error is the one typed error of the domain. Msg is safe to show to a
// client; Err (the cause) is for logs only.
type Error struct {
	Kind Kind
	// Reason refines Kind where a dialect has finer codes (S3's InvalidPart
	// and InvalidPartOrder are both invalid arguments); "" when none.
	Reason string
	Msg    string
	Err    error
}

// Reasons refining a kind, for dialects with finer wire codes.
const (
	ReasonNoSuchUpload     = "no_such_upload"
	ReasonInvalidPart      = "invalid_part"
	ReasonInvalidPartOrder = "invalid_part_order"
	ReasonEntityTooSmall   = "entity_too_small"
	ReasonNoSuchVersion    = "no_such_version"
	ReasonNoSuchService    = "no_such_service"
	ReasonNotEmpty         = "not_empty"
	ReasonReadOnlyReplica  = "read_only_replica"
	// ReasonDataDamaged and ReasonDataMissing refine KindInternal: the
	// stored bytes of an object do not match its size and digest, or are
	// not in the blobstore. Their message is safe to show (it names no
	// path or cause), so MessageOf shows it.
	ReasonDataDamaged = "data_damaged"
	ReasonDataMissing = "data_missing"
)

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, &Error{Kind: k}) match by kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Err == nil && t.Reason == "" && t.Kind == e.Kind
}

// Errorf builds an Error of kind k with a client-safe message.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Reasonf builds an Error of kind k refined by reason.
func Reasonf(k Kind, reason, format string, args ...any) error {
	return &Error{Kind: k, Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the reason of err's first *Error, or "".
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Wrap builds an Error of kind k whose cause is err (kept out of responses).
func Wrap(k Kind, err error, msg string) error {
	return &Error{Kind: k, Msg: msg, Err: err}
}

// KindOf returns the kind of the first *Error in err's chain, or
// KindInternal when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// MessageOf returns the client-safe message of err's first *Error, or a
// generic text for internal errors so causes never reach clients (an
// internal error refined by a reason, such as ReasonDataMissing, has a
// message written for clients and shows it).
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && (e.Kind != KindInternal || e.Reason != "") {
		return e.Msg
	}
	return "internal error"
}

// IsKind reports whether err carries kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
