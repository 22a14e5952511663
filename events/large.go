package events

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// Large objects (Swift's): a static large object (SLO) is a put whose
// content is a list of pinned segment versions; a dynamic large object
// (DLO) is an ordinary, usually empty, object whose stored header
// x-object-manifest names "container/prefix": its content is every live
// object under that prefix, in name order, at the time of the read. Every
// dialect reads both as their whole content through Resolve and Open.

// ManifestHeader is the stored header that makes an object a DLO.
const ManifestHeader = "x-object-manifest"

// MaxSegments bounds the segments one SLO manifest lists (Swift's
// max_manifest_segments, 1000 by default).
const MaxSegments = 1000

// MaxFlatSegments bounds the segments an SLO holds once the SLOs among
// its segments are flattened into it (each contributes its own segments).
// Swift keeps nested manifests as references and so has no such total; a
// Cairn SLO records every segment in its event and its projection, so the
// total is what bounds the event's size, the memory a put takes and the
// cost of every listing, read and copy of the object. It equals
// MaxSegments: a nested SLO composes, it never holds more than a flat one.
const MaxFlatSegments = MaxSegments

// SegmentInput names one segment of an SLO to be made: a live object, and
// optionally the ETag and size it must have.
type SegmentInput struct {
	Service string
	Path    string
	ETag    string // "" = not checked
	Size    int64  // < 0 = not checked
}

// SegmentProblem says what is wrong with one segment of a static large
// object. Each dialect words it in its own terms.
type SegmentProblem int

const (
	// SegmentMissing: no live object at the segment's path.
	SegmentMissing SegmentProblem = iota + 1
	// SegmentForeign: the segment's service is not one of the large
	// object's account.
	SegmentForeign
	// SegmentDynamic: the segment is a dynamic large object's manifest.
	SegmentDynamic
	// SegmentETagMismatch: the segment's ETag is not the one given.
	SegmentETagMismatch
	// SegmentSizeMismatch: the segment's size is not the one given.
	SegmentSizeMismatch
)

// Kind is the domain error kind of the problem on its own.
func (p SegmentProblem) Kind() schema.Kind {
	switch p {
	case SegmentMissing:
		return schema.KindNotFound
	case SegmentForeign:
		return schema.KindForbidden
	case SegmentETagMismatch, SegmentSizeMismatch:
		return schema.KindPreconditionFailed
	}
	return schema.KindInvalidArgument
}

func (p SegmentProblem) String() string {
	switch p {
	case SegmentMissing:
		return "not found"
	case SegmentForeign:
		return "in a service of another account"
	case SegmentDynamic:
		return "a dynamic large object"
	case SegmentETagMismatch:
		return "ETag mismatch"
	case SegmentSizeMismatch:
		return "size mismatch"
	}
	return "invalid"
}

// BadSegment is one refused segment of an SLO: its index in the list,
// where it points and what is wrong with it.
type BadSegment struct {
	Index   int
	Service string
	Path    string
	Problem SegmentProblem
}

// SegmentsError lists every bad segment of an SLO; it is an
// InvalidArgument.
type SegmentsError struct {
	Bad []BadSegment
}

func (e *SegmentsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad segments:", len(e.Bad))
	for _, s := range e.Bad {
		fmt.Fprintf(&b, " segment %d (%s/%s) %s;", s.Index, s.Service, s.Path, s.Problem)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap makes the error an InvalidArgument for every dialect.
func (e *SegmentsError) Unwrap() error {
	return schema.Errorf(schema.KindInvalidArgument, "%d bad segments", len(e.Bad))
}

// LargeInput makes an SLO at Service/Path from Segments.
type LargeInput struct {
	Service     string
	Path        string
	Segments    []SegmentInput
	ContentType string
	Meta        map[string]string
	Headers     map[string]string
	DeleteAt    int64
}

// PutLarge stores a static large object: each segment must be a live
// object matching the ETag and size given for it (a SegmentsError lists
// every one that is not); the version pins the segments' bytes, so later
// changes to the segment objects do not change it. A segment that is
// itself an SLO contributes its segments. The ETag is Swift's: the MD5 of
// the segments' ETags concatenated.
func (s *Core) PutLarge(ctx context.Context, o Origin, in LargeInput) (*schema.Version, error) {
	m, err := s.prepare(ctx, in.Service, in.Path, scopeNone, true)
	if err != nil {
		return nil, err
	}
	if len(in.Segments) == 0 || len(in.Segments) > MaxSegments {
		return nil, schema.Errorf(schema.KindInvalidArgument, "a manifest lists 1 to %d segments", MaxSegments)
	}
	var segs []schema.Segment
	var bad []BadSegment
	flat := 0 // the segments the large object would hold, bad ones aside
	now := s.opts.Clock()
	for i, in := range in.Segments {
		bad1 := func(p SegmentProblem) {
			bad = append(bad, BadSegment{Index: i, Service: in.Service, Path: in.Path, Problem: p})
		}
		if s.otherAccount(ctx, m.svc, in.Service) { // first: another account's objects are never looked at, so their existence cannot be probed
			bad1(SegmentForeign)
			continue
		}
		v, err := s.state.Object(ctx, in.Service, in.Path)
		if schema.IsKind(err, schema.KindNotFound) || (err == nil && !v.Live(now)) {
			bad1(SegmentMissing)
			continue
		} else if err != nil {
			return nil, err
		}
		switch {
		case v.Headers[ManifestHeader] != "":
			bad1(SegmentDynamic)
		case in.ETag != "" && !strings.EqualFold(strings.Trim(in.ETag, `"`), v.ETag):
			bad1(SegmentETagMismatch)
		case in.Size >= 0 && in.Size != v.Size:
			bad1(SegmentSizeMismatch)
		default:
			// refused as soon as the total passes the bound, before
			// anything more is looked up or held
			if flat += max(len(v.Segments), 1); flat > MaxFlatSegments {
				return nil, schema.Errorf(schema.KindInvalidArgument,
					"a static large object holds at most %d segments once the large objects among its segments are flattened; segment %d (%s/%s) brings it past that",
					MaxFlatSegments, i, in.Service, in.Path)
			}
			if len(bad) == 0 { // a refused manifest keeps nothing
				segs = append(segs, segmentsOf(v)...)
			}
		}
	}
	if len(bad) > 0 {
		return nil, &SegmentsError{Bad: bad}
	}
	p := schema.ObjectPut{ContentType: in.ContentType, Meta: in.Meta, Headers: in.Headers, DeleteAt: in.DeleteAt,
		Segments: segs}
	p.Size, p.ETag = sizeAndETag(segs)
	return s.commitVersion(ctx, o, m, schema.TypeObjectPut, p.Size, Conditions{},
		func(m *mutation, version string) any { p.Version, p.Null = version, m.svc.Suspended(); return p })
}

// otherAccount reports whether service id exists and belongs to another
// account than own (own itself, already read, is not read again). A
// service that does not exist is nobody's: its segments are missing.
func (s *Core) otherAccount(ctx context.Context, own *schema.Service, id string) bool {
	if id == own.ID {
		return false
	}
	svc, err := s.state.Service(ctx, id)
	return err == nil && svc.Account != own.Account
}

// segmentsOf returns the segments a version contributes to a large object:
// its own, when it is an SLO, else itself.
func segmentsOf(v *schema.Version) []schema.Segment {
	if len(v.Segments) > 0 {
		return v.Segments
	}
	return []schema.Segment{{Service: v.Service, Path: v.Path, Version: v.Version, Size: v.Size, ETag: v.ETag,
		ContentType: v.ContentType, Blob: v.Blob}}
}

// sizeAndETag sums the segments' sizes and computes Swift's large-object
// ETag: the MD5 of their ETags concatenated.
func sizeAndETag(segs []schema.Segment) (int64, string) {
	h := md5.New()
	var size int64
	for _, sg := range segs {
		size += sg.Size
		io.WriteString(h, sg.ETag)
	}
	return size, hex.EncodeToString(h.Sum(nil))
}

// Resolve returns the version as a reader of its content sees it: a DLO
// with its current segments, size and ETag (listed now); anything else as
// it is. canRead says whether the reader may read a service: a DLO's
// segments come from a container its reader must be able to read
// (KindForbidden otherwise), as in Swift, so a manifest never opens a
// container to those it is closed to.
func (s *Core) Resolve(ctx context.Context, v *schema.Version, canRead func(*schema.Service) bool) (*schema.Version, error) {
	m := v.Headers[ManifestHeader]
	if m == "" || v.Deleted {
		return v, nil
	}
	container, prefix, _ := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	out := *v
	out.Segments = nil
	own, err := s.state.Service(ctx, v.Service)
	if err != nil {
		return nil, err
	}
	// segments come only from a container of the manifest's own account
	if svc, err := s.state.Service(ctx, container); err == nil && svc.Account == own.Account {
		if !canRead(svc) {
			return nil, schema.Errorf(schema.KindForbidden, "the large object's segments are in a container this key may not read")
		}
		after := ""
		for {
			page, err := s.state.List(ctx, container, projections.ListOptions{Prefix: prefix, After: after,
				Limit: 1000, Now: s.opts.Clock()})
			if err != nil {
				return nil, err
			}
			for _, f := range page.Files {
				if f.Headers[ManifestHeader] == "" { // a manifest among the segments adds nothing
					out.Segments = append(out.Segments, segmentsOf(f)...)
				}
			}
			if !page.Truncated {
				break
			}
			after = page.Next
		}
	}
	out.Size, out.ETag = sizeAndETag(out.Segments)
	return &out, nil
}

// segmentReader reads the concatenated bytes of a large object's
// segments, opening one segment at a time, so memory stays small whatever
// the size.
type segmentReader struct {
	ctx  context.Context
	s    *Core
	segs []schema.Segment
	offs []int64 // where each segment starts
	size int64

	mu  sync.Mutex
	pos int64
	cur int // index of the open segment, -1 for none
	rd  blobstore.Reader
}

func (s *Core) openSegments(ctx context.Context, segs []schema.Segment) *segmentReader {
	r := &segmentReader{ctx: ctx, s: s, segs: segs, cur: -1}
	for _, sg := range segs {
		r.offs = append(r.offs, r.size)
		r.size += sg.Size
	}
	return r
}

func (r *segmentReader) Size() int64 { return r.size }

// ReadAt reads from the segments covering [off, off+len(p)).
func (r *segmentReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readAt(p, off)
}

func (r *segmentReader) readAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		if off >= r.size {
			return n, io.EOF
		}
		i := r.segment(off)
		if err := r.open(i); err != nil {
			return n, err
		}
		sg := r.segs[i]
		within := off - r.offs[i]
		want := min(int64(len(p)-n), sg.Size-within)
		m, err := r.rd.ReadAt(p[n:n+int(want)], within)
		n += m
		off += int64(m)
		if err != nil && !(err == io.EOF && int64(m) == want) {
			if err == io.EOF {
				err = schema.Errorf(schema.KindInternal, "segment %s/%s is shorter than recorded", sg.Service, sg.Path)
			}
			return n, err
		}
	}
	return n, nil
}

// segment returns the index of the segment holding byte off.
func (r *segmentReader) segment(off int64) int {
	lo, hi := 0, len(r.segs)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if r.offs[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for lo < len(r.segs)-1 && r.segs[lo].Size == 0 { // empty segments hold no byte
		lo++
	}
	return lo
}

func (r *segmentReader) open(i int) error {
	if r.cur == i {
		return nil
	}
	if r.rd != nil {
		r.rd.Close()
		r.rd = nil
	}
	sg := r.segs[i]
	rd, err := r.s.Open(r.ctx, &schema.Version{Service: sg.Service, Path: sg.Path, Size: sg.Size, Blob: sg.Blob})
	if err != nil {
		return err
	}
	r.rd, r.cur = rd, i
	return nil
}

func (r *segmentReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.readAt(p, r.pos)
	r.pos += int64(n)
	return n, err
}

func (r *segmentReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, schema.Errorf(schema.KindInvalidArgument, "seek before the start")
	}
	r.pos = offset
	return offset, nil
}

func (r *segmentReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rd != nil {
		err := r.rd.Close()
		r.rd, r.cur = nil, -1
		return err
	}
	return nil
}
