package events

import (
	"context"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// An object mutation (a put, copy, metadata change, delete, expiry or
// purge of one object, a completed multipart upload, a static large
// object, each path of a restore) goes one way through the layers:
//
//  1. prepare checks the path and the read-only switch, and loads, once,
//     the state the mutation decides on: the service, its account and the
//     object's newest version, with the expectation that makes a decision
//     on that state atomic in the log (a mutation).
//  2. The mutation checks its conditions on that state and writes its
//     bytes, if it has any (blob first).
//  3. commitObject appends the one event with that expectation and waits
//     until the local projections have applied it.
//  4. The reply is the version the projections recorded (applied).
//
// The state is loaded again only when the log refuses the expectation
// (another writer changed what it covers) or when a refusal was decided on
// a state the log has moved past; the mutation then decides again on the
// new state.

// maxAttempts bounds how often a mutation retries after losing races.
const maxAttempts = 50

// scope is what a mutation's expectation covers, narrowest first.
type scope int

const (
	// scopeNone: no expectation, the last writer wins (a put or copy with
	// no conditions and no quota to respect).
	scopeNone scope = iota
	// scopeObject: no other event of the object since the state was read.
	scopeObject
	// scopeService: no other object event of the service (a service
	// quota: writes to other services go on in parallel).
	scopeService
	// scopeLog: no other event at all (an account quota: the account's
	// services share it, and no one subject covers them).
	scopeLog
)

// mutation is the state one object mutation decides on, read once per
// attempt by load.
type mutation struct {
	service, path string
	// quota: the mutation stores a version that counts against the
	// service's and the account's quotas.
	quota bool
	// client: a client's write, refused on a replica (only its replicator
	// changes it).
	client bool

	svc   *schema.Service // a storage service
	acct  *schema.Account // the service's account; nil when it has none
	head  *schema.Version // the newest version, tombstones included; nil when the object never existed
	scope scope
	seq   uint64 // the newest event the expectation covers (0: none)
}

// prepare begins a client's mutation of path in a storage service: it
// checks the path and the read-only switch, then loads the state (load)
// and refuses a replica. atLeast is the narrowest expectation the
// mutation needs; quota marks a mutation that stores a version.
func (s *Core) prepare(ctx context.Context, service, path string, atLeast scope, quota bool) (*mutation, error) {
	if err := schema.CheckPath(path); err != nil {
		return nil, err
	}
	if err := s.refuseReadOnly(); err != nil {
		return nil, err
	}
	m := &mutation{service: service, path: path, scope: atLeast, quota: quota, client: true}
	if err := s.load(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// load reads the state m decides on, once: the service (a storage
// service), its account and the object's newest version. The projections
// have applied the newest event m's expectation covers before the part of
// the state it protects is read, so an append with m.expect() succeeds
// only while that state is still the log's. A mutation that stores a
// version under a quota widens its expectation to the service's objects
// (a service quota) or to the whole log (an account quota), so concurrent
// writers check the quota one after the other and usage never passes it.
//
// The service and account are read before the expectation is known (the
// quotas decide it); when the projections had not yet applied the
// expected event at that moment and the expectation covers usage, they
// are read again once the projections have.
func (s *Core) load(ctx context.Context, m *mutation) error {
	waited, waitedScope := false, scopeNone
	for {
		applied := s.state.Applied()
		svc, err := s.storage(ctx, m.service)
		if err != nil {
			return err
		}
		if m.client {
			if err := refuseReplica(svc); err != nil {
				return err
			}
		}
		acct, err := s.state.Account(ctx, svc.Account)
		if schema.IsKind(err, schema.KindNotFound) {
			acct, err = nil, nil
		}
		if err != nil {
			return err
		}
		if m.quota {
			m.scope = max(m.scope, quotaScope(svc, acct))
		}
		if !waited || waitedScope != m.scope {
			if m.seq, err = s.scopeSeq(ctx, m); err != nil {
				return err
			}
			if m.seq > applied {
				if err := s.state.Wait(ctx, m.seq); err != nil {
					return err
				}
				waited, waitedScope = true, m.scope
				if m.scope >= scopeService {
					continue // the usage read above may predate the expected event
				}
			}
		}
		head, err := s.state.Head(ctx, m.service, m.path)
		if schema.IsKind(err, schema.KindNotFound) {
			head, err = nil, nil
		}
		if err != nil {
			return err
		}
		m.svc, m.acct, m.head = svc, acct, head
		return nil
	}
}

// quotaScope is the expectation a write that adds usage to svc needs.
func quotaScope(svc *schema.Service, acct *schema.Account) scope {
	switch {
	case acct != nil && acct.QuotaBytes > 0:
		return scopeLog
	case svc.QuotaBytes > 0 || svc.QuotaCount > 0:
		return scopeService
	}
	return scopeNone
}

// scopeSeq asks the log for the newest event m's expectation covers.
func (s *Core) scopeSeq(ctx context.Context, m *mutation) (uint64, error) {
	switch m.scope {
	case scopeObject:
		return s.log.LastSubjectSeq(ctx, schema.ObjectFilter(m.service, m.path))
	case scopeService:
		return s.log.LastSubjectSeq(ctx, schema.ServiceObjectsFilter(m.service))
	case scopeLog:
		return s.log.LastSeq(ctx)
	}
	return 0, nil
}

// expect is the expectation of m's next append.
func (m *mutation) expect() Expect {
	switch m.scope {
	case scopeObject:
		return Expect{Filter: schema.ObjectFilter(m.service, m.path), FilterSeq: m.seq}
	case scopeService:
		return Expect{Filter: schema.ServiceObjectsFilter(m.service), FilterSeq: m.seq}
	case scopeLog:
		return Expect{Global: true, LastSeq: m.seq}
	}
	return Expect{}
}

// live returns the object's live version at now (nil when it has none).
func (m *mutation) live(now time.Time) *schema.Version {
	if m.head == nil || !m.head.Live(now) {
		return nil
	}
	return m.head
}

// stale reports whether the log has moved past the state m holds, in
// what m's expectation covers: a refusal decided on that state must then
// be decided again.
func (s *Core) stale(ctx context.Context, m *mutation) (bool, error) {
	if m.scope == scopeNone {
		return false, nil
	}
	seq, err := s.scopeSeq(ctx, m)
	return seq != m.seq, err
}

// commitObject appends the event build makes from the state m holds, with
// m's expectation, and returns it once the local projections have applied
// it. When the log refuses the expectation, or build refused the state
// prepare loaded and the log has since moved past it, m loads again and
// build decides again.
func (s *Core) commitObject(ctx context.Context, m *mutation, build func(*mutation) (*schema.Event, error)) (*schema.Event, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := s.load(ctx, m); err != nil {
				return nil, err
			}
		}
		ev, err := build(m)
		if err != nil {
			// prepare may have loaded the state long before (a body was
			// read since): a refusal is decided again on the current
			// state; a reloaded state is as current as a check can be
			if attempt == 0 {
				if stale, serr := s.stale(ctx, m); serr != nil {
					return nil, serr
				} else if stale {
					continue
				}
			}
			return nil, err
		}
		retry, err := s.publish(ctx, ev, m.expect())
		if err != nil {
			return nil, err
		}
		if !retry {
			return ev, nil
		}
	}
	return nil, schema.Errorf(schema.KindConflict, "too many concurrent changes; retry")
}

// checkQuota fails with KindQuotaExceeded when storing size bytes at m's
// path would take the service or its account past a byte or file-count
// quota. An overwrite replaces the current version's usage.
func (m *mutation) checkQuota(size int64) error {
	svc, acct := m.svc, m.acct
	if acct != nil && acct.QuotaBytes == 0 {
		acct = nil
	}
	if svc.QuotaBytes == 0 && svc.QuotaCount == 0 && acct == nil {
		return nil
	}
	files, bytes := int64(1), size
	if m.head != nil && !m.head.Deleted { // the version the usage counts (live or not yet reaped)
		files, bytes = 0, size-m.head.Size
	}
	if svc.QuotaBytes > 0 && bytes > 0 && svc.Bytes+bytes > svc.QuotaBytes {
		return schema.Errorf(schema.KindQuotaExceeded, "service %q quota of %d bytes would be exceeded (%d used)", svc.ID, svc.QuotaBytes, svc.Bytes)
	}
	if svc.QuotaCount > 0 && files > 0 && svc.Files+files > svc.QuotaCount {
		return schema.Errorf(schema.KindQuotaExceeded, "service %q quota of %d files would be exceeded", svc.ID, svc.QuotaCount)
	}
	if acct != nil && bytes > 0 && acct.Bytes+bytes > acct.QuotaBytes {
		return schema.Errorf(schema.KindQuotaExceeded, "account quota of %d bytes would be exceeded (%d used)", acct.QuotaBytes, acct.Bytes)
	}
	return nil
}

// applied returns the version an applied object event created: the
// reply of a mutation.
func (s *Core) applied(ctx context.Context, ev *schema.Event) (*schema.Version, error) {
	v, err := s.state.Version(ctx, ev.Service, ev.Path, ev.ID)
	if schema.IsKind(err, schema.KindNotFound) {
		// the service went away between the checks and the append
		return nil, schema.Errorf(schema.KindNotFound, "service not found")
	}
	return v, err
}
