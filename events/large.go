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

// MaxManifestDepth bounds how deeply SLOs nest (Swift's
// max_slo_recursion_depth, 10): an SLO named as a segment is stored as one
// reference to its version, never flattened, so an SLO's event and
// projection hold at most MaxSegments entries whatever it nests, and a
// read expands the references as it streams, holding at most one manifest
// per level. A manifest of plain segments is 1 deep; one that names SLOs
// is 1 deeper than the deepest of them.
const MaxManifestDepth = 10

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
	// object's account. The core no longer reports it (such a segment is
	// SegmentMissing, so another account's services cannot be probed);
	// it stays for the dialects' wording of their own refusals.
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
// itself an SLO is stored as one reference to its version (Swift's
// sub_slo), which the projections keep while referenced; a manifest that
// would nest more than MaxManifestDepth deep is refused as soon as the
// segment that takes it there is looked up. The ETag is Swift's: the MD5
// of the segments' ETags concatenated (a nested SLO's is its own ETag).
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
	depth := 1
	now := s.opts.Clock()
	// Entries often repeat an object (a segment used many times, a nested
	// SLO named in every entry): each is looked up once, and an SLO is kept
	// without its segments, which a reference to it does not need (one
	// empty entry keeps it a large object for segmentOf and Depth).
	type found struct {
		v   *schema.Version
		err error
	}
	seen := map[[2]string]found{}
	lookup := func(service, path string) (*schema.Version, error) {
		key := [2]string{service, path}
		if f, ok := seen[key]; ok {
			return f.v, f.err
		}
		v, err := s.state.Object(ctx, service, path)
		if err == nil && len(v.Segments) > 0 {
			v.ManifestDepth, v.Segments = v.Depth(), []schema.Segment{{}}
		}
		seen[key] = found{v, err}
		return v, err
	}
	for i, in := range in.Segments {
		bad1 := func(p SegmentProblem) {
			bad = append(bad, BadSegment{Index: i, Service: in.Service, Path: in.Path, Problem: p})
		}
		// First: another account's objects are never looked at, and its
		// service is answered as one that does not exist (missing, as
		// access.Lookup answers for a service of another account), so
		// neither its objects nor the service itself can be probed.
		if s.otherAccount(ctx, m.svc, in.Service) {
			bad1(SegmentMissing)
			continue
		}
		v, err := lookup(in.Service, in.Path)
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
			// refused as soon as a segment nests too deep, before anything
			// more is looked up or held
			if d := v.Depth() + 1; d > MaxManifestDepth {
				return nil, schema.Errorf(schema.KindInvalidArgument,
					"Max recursion depth exceeded: static large objects nest at most %d deep; segment %d (%s/%s) is a large object %d deep",
					MaxManifestDepth, i, in.Service, in.Path, v.Depth())
			} else if d > depth {
				depth = d
			}
			if len(bad) == 0 { // a refused manifest keeps nothing
				segs = append(segs, segmentOf(v))
			}
		}
	}
	if len(bad) > 0 {
		return nil, &SegmentsError{Bad: bad}
	}
	p := schema.ObjectPut{ContentType: in.ContentType, Meta: in.Meta, Headers: in.Headers, DeleteAt: in.DeleteAt,
		Segments: segs, ManifestDepth: depth}
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

// segmentOf returns the segment a version is in a large object: itself,
// pinned by its bytes, or, when it is an SLO, a reference to it (its size
// and ETag are the SLO's, as its readers see them).
func segmentOf(v *schema.Version) schema.Segment {
	sg := schema.Segment{Service: v.Service, Path: v.Path, Version: v.Version, Size: v.Size, ETag: v.ETag,
		ContentType: v.ContentType}
	if len(v.Segments) > 0 {
		sg.Manifest = true
	} else {
		sg.Blob = v.Blob
	}
	return sg
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
	// segments come only from a container of the manifest's own account,
	// named as that account names it
	if svc, err := s.state.ServiceByName(ctx, own.Account, container); err == nil {
		if !canRead(svc) {
			return nil, schema.Errorf(schema.KindForbidden, "the large object's segments are in a container this key may not read")
		}
		after := ""
		for {
			page, err := s.state.List(ctx, svc.ID, projections.ListOptions{Prefix: prefix, After: after,
				Limit: 1000, Now: s.opts.Clock()})
			if err != nil {
				return nil, err
			}
			for _, f := range page.Files {
				if f.Headers[ManifestHeader] == "" { // a manifest among the segments adds nothing
					out.Segments = append(out.Segments, segmentOf(f))
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
// segments, opening one segment at a time and expanding references to
// other large objects as it reaches them, depth first: it holds one
// manifest per level (the root's and the referenced one being read at each
// depth below), never the flattened whole, so memory stays bounded by
// MaxManifestDepth x MaxSegments entries whatever the size. A read at an
// offset skips whole referenced manifests by their recorded size without
// loading them.
type segmentReader struct {
	ctx  context.Context
	s    *Core
	size int64

	mu     sync.Mutex
	pos    int64
	frames []*manifestFrame // [0] the root; [d] the manifest last read at depth d
	leaf   schema.Segment   // the open plain segment
	rd     blobstore.Reader
}

// manifestFrame is one manifest being read: its segments and where each
// starts, and the reference it was loaded for (zero for the root).
type manifestFrame struct {
	ref  schema.ObjectRef
	segs []schema.Segment
	offs []int64
}

func newFrame(ref schema.ObjectRef, segs []schema.Segment) (*manifestFrame, int64) {
	f := &manifestFrame{ref: ref, segs: segs, offs: make([]int64, len(segs))}
	var size int64
	for i, sg := range segs {
		f.offs[i] = size
		size += sg.Size
	}
	return f, size
}

func (s *Core) openSegments(ctx context.Context, segs []schema.Segment) *segmentReader {
	root, size := newFrame(schema.ObjectRef{}, segs)
	return &segmentReader{ctx: ctx, s: s, size: size, frames: []*manifestFrame{root}}
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
		sg, within, err := r.locate(off)
		if err != nil {
			return n, err
		}
		if err := r.open(sg); err != nil {
			return n, err
		}
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

// locate returns the plain segment holding byte off of the large object
// and the offset of that byte within it, descending through references.
func (r *segmentReader) locate(off int64) (schema.Segment, int64, error) {
	f := r.frames[0]
	for depth := 1; ; depth++ {
		i := f.segment(off)
		sg := f.segs[i]
		off -= f.offs[i]
		if !sg.Manifest {
			return sg, off, nil
		}
		var err error
		if f, err = r.child(depth, sg); err != nil {
			return schema.Segment{}, 0, err
		}
	}
}

// child returns the manifest that reference sg names, read at depth: the
// one already held there when it is the same, else loaded in its place
// (the levels below it go).
func (r *segmentReader) child(depth int, sg schema.Segment) (*manifestFrame, error) {
	ref := schema.ObjectRef{Service: sg.Service, Path: sg.Path, Version: sg.Version}
	if depth < len(r.frames) && r.frames[depth].ref == ref {
		return r.frames[depth], nil
	}
	if depth > MaxManifestDepth { // never stored (PutLarge refuses it); a guard against a damaged projection
		return nil, schema.Errorf(schema.KindInternal, "Max recursion depth exceeded reading a large object through %s/%s", sg.Service, sg.Path)
	}
	v, err := r.s.state.Referenced(r.ctx, sg.Service, sg.Path, sg.Version)
	if schema.IsKind(err, schema.KindNotFound) {
		// as for a segment whose blob is gone: the large object is listed,
		// its content is not all there
		return nil, &schema.Error{Kind: schema.KindInternal, Reason: schema.ReasonDataMissing,
			Msg: "data missing: a large object this one references is not in the projections",
			Err: fmt.Errorf("version %s of %s/%s: %w", sg.Version, sg.Service, sg.Path, err)}
	}
	if err != nil {
		return nil, err
	}
	f, size := newFrame(ref, v.Segments)
	if v.Deleted || len(v.Segments) == 0 || size != sg.Size {
		return nil, schema.Errorf(schema.KindInternal, "large object %s/%s version %s is not the %d-byte large object referenced",
			sg.Service, sg.Path, sg.Version, sg.Size)
	}
	r.frames = append(r.frames[:depth], f)
	return f, nil
}

// segment returns the index of the segment holding byte off.
func (f *manifestFrame) segment(off int64) int {
	lo, hi := 0, len(f.segs)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if f.offs[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for lo < len(f.segs)-1 && f.segs[lo].Size == 0 { // empty segments hold no byte
		lo++
	}
	return lo
}

// open makes sg the open plain segment (kept open while reads stay in it,
// or in another segment of the same bytes).
func (r *segmentReader) open(sg schema.Segment) error {
	if r.rd != nil && r.leaf.Service == sg.Service && r.leaf.Path == sg.Path && r.leaf.Version == sg.Version &&
		r.leaf.Size == sg.Size && r.leaf.Blob.SHA256 == sg.Blob.SHA256 && r.leaf.Blob.InSeq == sg.Blob.InSeq {
		return nil
	}
	if r.rd != nil {
		r.rd.Close()
		r.rd = nil
	}
	rd, err := r.s.Open(r.ctx, &schema.Version{Service: sg.Service, Path: sg.Path, Size: sg.Size, Blob: sg.Blob})
	if err != nil {
		return err
	}
	r.rd, r.leaf = rd, sg
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
		r.rd = nil
		return err
	}
	return nil
}
