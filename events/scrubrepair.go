package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// RepairSource reaches the server of a replication source for a good copy
// of a damaged blob. The events package may not import the handlers, so
// cmd/server wires the native client here, as it does the replication
// follower's Primary.
type RepairSource interface {
	// GetFile returns the bytes of one version of a file of service sid on
	// the server of src, reached with key (the source's key value, in
	// clear). A version that server does not hold is an error of kind
	// schema.KindNotFound.
	GetFile(ctx context.Context, src *schema.Source, key, sid, path, version string) (io.ReadCloser, error)
}

// maxRepairAttempts bounds the attempts one repair makes (a blob used by
// many versions, asked of many sources) and those a damaged blob's report
// keeps.
const maxRepairAttempts = 20

// repairFrom is one place a good copy of a blob may come from: a version
// that holds the blob as its own bytes (or a segment's), and a source
// whose server holds that version under its service id there.
type repairFrom struct {
	local *schema.Service // the service of the version on this server
	src   *schema.Source
	ref   schema.ObjectRef // the version as the source names it
	size  int64            // the blob's size, as the version says
}

// tryRepair repairs the damaged blob digest from a replication source,
// when the scrubber has a RepairSource and the core is not read-only,
// and notes the attempts in the blob's report; a repaired blob leaves the
// report and is counted.
func (s *Scrubber) tryRepair(ctx context.Context, digest string) {
	if s.opts.Repair == nil || s.core.opts.ReadOnly {
		return
	}
	attempts, ok := s.repair(ctx, digest)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.repaired++
		s.forget(digest)
		return
	}
	if d := s.damaged[digest]; d != nil {
		d.Repairs = append(d.Repairs, attempts...)
		if n := len(d.Repairs) - maxRepairAttempts; n > 0 {
			d.Repairs = append([]schema.RepairAttempt{}, d.Repairs[n:]...)
		}
	}
}

// repair asks every place a good copy of the blob may come from, in turn,
// until one gives bytes of the blob's digest and size; it stores them
// (healing the blob) and records the repair as a blob.repaired.v1 event.
// It returns the attempts made and whether the blob was repaired.
func (s *Scrubber) repair(ctx context.Context, digest string) ([]schema.RepairAttempt, bool) {
	var out []schema.RepairAttempt
	note := func(a schema.RepairAttempt) {
		a.Time = s.core.opts.Clock().UTC().Format(time.RFC3339Nano)
		out = append(out, a)
	}
	froms, err := s.repairFroms(ctx, digest)
	if err != nil {
		note(schema.RepairAttempt{Result: schema.RepairFailed, Error: err.Error()})
		return out, false
	}
	if len(froms) == 0 {
		note(schema.RepairAttempt{Result: schema.RepairFailed,
			Error: "no replication source to repair from: no version here is a replica's or has a source to ask"})
		return out, false
	}
	for _, f := range froms {
		if len(out) >= maxRepairAttempts || ctx.Err() != nil {
			break
		}
		ref := f.ref
		a := schema.RepairAttempt{Source: f.src.Name, From: &ref}
		refused, err := s.fetchBlob(ctx, f, digest)
		switch {
		case refused:
			a.Result, a.Error = schema.RepairRefused, err.Error()
		case err != nil:
			a.Result, a.Error = schema.RepairFailed, err.Error()
		default:
			a.Result = schema.RepairRepaired
			// The blob is whole again whatever happens to the event: an
			// append that fails is reported with the repair.
			if err := s.core.recordRepair(ctx, f.local.ID, schema.BlobRepaired{SHA256: digest, Size: f.size,
				Source: f.src.Name, From: f.ref}); err != nil {
				a.Error = "the blob is repaired, but recording it failed: " + err.Error()
			}
			note(a)
			return out, true
		}
		note(a)
	}
	return out, false
}

// repairFroms lists where a good copy of the blob may come from: for each
// version that references it (as its own bytes or a segment's), the
// primary of a replica service, or else every source defined here (one of
// them may hold a follower of the service, under the same id).
func (s *Scrubber) repairFroms(ctx context.Context, digest string) ([]repairFrom, error) {
	users, err := s.core.state.BlobUsers(ctx, digest, maxBlobUsers)
	if err != nil {
		return nil, err
	}
	type holder struct {
		ref  schema.ObjectRef
		size int64
	}
	var holders []holder
	seen := map[schema.ObjectRef]bool{}
	add := func(r schema.ObjectRef, size int64) {
		if !seen[r] {
			seen[r] = true
			holders = append(holders, holder{r, size})
		}
	}
	for _, u := range users {
		v, err := s.core.state.Version(ctx, u.Service, u.Path, u.Version)
		if err != nil || v.Deleted {
			continue
		}
		if len(v.Segments) == 0 && v.Blob.InSeq == 0 && v.Blob.SHA256 == digest {
			add(u, v.Size)
		}
		// a large object's getfile answers all its segments: ask for the
		// segment's own version instead
		for _, sg := range v.Segments {
			if sg.Blob.InSeq == 0 && sg.Blob.SHA256 == digest {
				add(schema.ObjectRef{Service: sg.Service, Path: sg.Path, Version: sg.Version}, sg.Size)
			}
		}
	}
	var all []*schema.Source // every source, read once
	var out []repairFrom
	for _, h := range holders {
		svc, err := s.core.state.Service(ctx, h.ref.Service)
		if err != nil {
			continue
		}
		if r := svc.Settings.Replica; r != nil {
			// a replica keeps its primary's version ids
			src, err := s.core.state.Source(ctx, r.Source)
			if err != nil {
				continue
			}
			out = append(out, repairFrom{local: svc, src: src, size: h.size,
				ref: schema.ObjectRef{Service: r.SID, Path: h.ref.Path, Version: h.ref.Version}})
			continue
		}
		if all == nil {
			if all, err = s.core.state.Sources(ctx); err != nil {
				return nil, err
			}
		}
		for _, src := range all {
			out = append(out, repairFrom{local: svc, src: src, size: h.size, ref: h.ref})
		}
	}
	return out, nil
}

// fetchBlob fetches f's version from its source and stores the bytes in
// the blobstore, whose Put replaces the damaged or missing blob. The bytes
// are checked against the blob's digest and size as they stream into
// Put: a copy that does not match fails Put, so nothing of it is stored,
// and is reported as refused.
func (s *Scrubber) fetchBlob(ctx context.Context, f repairFrom, digest string) (refused bool, err error) {
	key, err := s.core.SourceKey(f.src)
	if err != nil {
		return false, err
	}
	rc, err := s.opts.Repair.GetFile(ctx, f.src, key, f.ref.Service, f.ref.Path, f.ref.Version)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	cr := &checkedReader{r: rc, h: sha256.New(), digest: digest, size: f.size}
	info, err := s.core.blobs.Put(ctx, cr, f.size)
	switch {
	case cr.mismatch != nil:
		return true, cr.mismatch
	case schema.IsKind(err, schema.KindTooLarge):
		return true, fmt.Errorf("the source sent more than the blob's %d bytes", f.size)
	case err != nil:
		return false, err
	case info.SHA256 != digest || info.Size != f.size: // checkedReader saw to it; never trust a copy unchecked
		return true, fmt.Errorf("the source sent %d bytes of digest %s, want %d of %s", info.Size, info.SHA256, f.size, digest)
	}
	return false, nil
}

// checkedReader passes r through while hashing it, and fails the read
// that ends it (or that goes past size) unless the bytes are exactly size
// bytes of digest; mismatch then says how they differ.
type checkedReader struct {
	r        io.Reader
	h        hash.Hash
	digest   string
	size, n  int64
	mismatch error
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.mismatch != nil {
		return 0, c.mismatch
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	switch {
	case c.n > c.size:
		c.mismatch = fmt.Errorf("the source sent more than the blob's %d bytes", c.size)
	case errors.Is(err, io.EOF) && c.n != c.size:
		c.mismatch = fmt.Errorf("the source sent %d bytes, the blob has %d", c.n, c.size)
	case errors.Is(err, io.EOF):
		if got := hex.EncodeToString(c.h.Sum(nil)); got != c.digest {
			c.mismatch = fmt.Errorf("the source sent bytes of digest %s, want %s", got, c.digest)
		}
	}
	if c.mismatch != nil {
		return n, c.mismatch
	}
	return n, err
}

// recordRepair appends blob.repaired.v1 on the subject of service sid,
// whose version the copy was fetched for, as the system (dialect
// "scrubber").
func (s *Core) recordRepair(ctx context.Context, sid string, p schema.BlobRepaired) error {
	_, err := s.commitOn(ctx, schema.ServiceSubject(sid, "repaired"), func() (*schema.Event, error) {
		svc, err := s.state.Service(ctx, sid)
		if err != nil {
			return nil, err
		}
		o := Origin{Actor: schema.Actor{KeyID: schema.ActorSystem, Dialect: "scrubber"}}
		return s.newEvent(o, schema.TypeBlobRepaired, svc.Account, svc.ID, "", p)
	})
	return err
}
