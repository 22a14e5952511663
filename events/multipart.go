package events

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/cairnhq/cairn/schema"
)

// Uploads is the core's family of multipart uploads: each step is an
// event, and the completion is the object's put.
type Uploads interface {
	CreateUpload(ctx context.Context, o Origin, in UploadInput) (*schema.Upload, error)
	Upload(ctx context.Context, service, id string) (*schema.Upload, error)
	PutPart(ctx context.Context, o Origin, service, upload string, n int, body io.Reader) (*schema.Part, error)
	Parts(ctx context.Context, service, upload string) ([]*schema.Part, error)
	CompleteUpload(ctx context.Context, o Origin, service, upload string, list []CompletePart, cond Conditions) (*schema.Version, error)
	AbortUpload(ctx context.Context, o Origin, service, upload string) error
}

var _ Uploads = (*Core)(nil)

// Multipart upload limits (S3's).
const (
	MaxParts    = 10000
	MinPartSize = 5 << 20 // every part but the last
)

// UploadInput opens a multipart upload; the object's content type,
// metadata and headers are fixed when it opens.
type UploadInput struct {
	Service     string
	Path        string
	ContentType string
	Meta        map[string]string
	Headers     map[string]string
}

// CreateUpload opens a multipart upload of a path in a storage service.
func (s *Core) CreateUpload(ctx context.Context, o Origin, in UploadInput) (*schema.Upload, error) {
	if err := schema.CheckPath(in.Path); err != nil {
		return nil, err
	}
	svc, err := s.writable(ctx, in.Service)
	if err != nil {
		return nil, err
	}
	ev, err := s.commit(ctx, func() (*schema.Event, Expect, error) {
		ev, err := s.newEvent(o, schema.TypeUploadCreated, svc.Account, in.Service, in.Path, nil)
		if err != nil {
			return nil, Expect{}, err
		}
		ev.Data, err = json.Marshal(schema.UploadCreated{Upload: ev.ID, ContentType: in.ContentType, Meta: in.Meta, Headers: in.Headers})
		return ev, Expect{}, err
	})
	if err != nil {
		return nil, err
	}
	return s.Upload(ctx, in.Service, ev.ID)
}

// Upload returns an open upload; a malformed or unknown id is KindNotFound
// with ReasonNoSuchUpload.
func (s *Core) Upload(ctx context.Context, service, id string) (*schema.Upload, error) {
	if _, err := ulid.ParseStrict(id); err != nil {
		return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchUpload, "upload not found")
	}
	return s.state.Upload(ctx, service, id)
}

// PutPart stores part n of an open upload, replacing an earlier part n.
// Part bytes always go to the blobstore (they are concatenated later).
func (s *Core) PutPart(ctx context.Context, o Origin, service, upload string, n int, body io.Reader) (*schema.Part, error) {
	if n < 1 || n > MaxParts {
		return nil, schema.Errorf(schema.KindInvalidArgument, "part number must be an integer between 1 and %d", MaxParts)
	}
	svc, err := s.writable(ctx, service)
	if err != nil {
		return nil, err
	}
	u, err := s.Upload(ctx, service, upload)
	if err != nil {
		return nil, err
	}
	info, err := s.blobs.Put(ctx, body, s.opts.MaxObjectSize)
	if err != nil {
		return nil, err
	}
	p := schema.UploadPart{Upload: upload, Number: n, Size: info.Size, ETag: info.MD5, SHA256: info.SHA256}
	ev, err := s.commit(ctx, func() (*schema.Event, Expect, error) {
		ev, err := s.newEvent(o, schema.TypeUploadPart, svc.Account, service, u.Path, p)
		return ev, Expect{}, err
	})
	if err != nil {
		return nil, err
	}
	// an abort or completion that won the race makes the part a no-op
	if _, err := s.state.Upload(ctx, service, upload); err != nil {
		return nil, err
	}
	return &schema.Part{Number: n, Size: info.Size, ETag: info.MD5, SHA256: info.SHA256, Modified: ev.Time}, nil
}

// Parts returns the stored parts of an open upload, by number.
func (s *Core) Parts(ctx context.Context, service, upload string) ([]*schema.Part, error) {
	if _, err := s.Upload(ctx, service, upload); err != nil {
		return nil, err
	}
	return s.state.Parts(ctx, service, upload)
}

// CompletePart names a part, by number and ETag, for CompleteUpload.
type CompletePart struct {
	Number int
	ETag   string
}

// CompleteUpload writes the object of an upload from the listed parts (in
// strictly ascending order, each stored with that ETag, all but the last
// at least MinPartSize) as one put event that also closes the upload. The
// ETag is S3's: MD5 of the parts' binary MD5s, "-", the number of parts.
func (s *Core) CompleteUpload(ctx context.Context, o Origin, service, upload string, list []CompletePart, cond Conditions) (*schema.Version, error) {
	if err := s.refuseReadOnly(); err != nil {
		return nil, err
	}
	u, err := s.Upload(ctx, service, upload)
	if schema.IsKind(err, schema.KindNotFound) {
		// no such upload: a service that is missing or may not be
		// written says so first
		if _, serr := s.writable(ctx, service); serr != nil {
			return nil, serr
		}
	}
	if err != nil {
		return nil, err
	}
	m := &mutation{service: service, path: u.Path, scope: condScope(cond), quota: true, client: true}
	if err := s.load(ctx, m); err != nil {
		return nil, err
	}
	stored, err := s.state.Parts(ctx, service, upload)
	if err != nil {
		return nil, err
	}
	parts, err := chooseParts(list, stored)
	if err != nil {
		return nil, err
	}
	// fail fast before concatenating; checked again on the state the
	// append expects
	if err := cond.Check(m.live(s.opts.Clock())); err != nil {
		return nil, err
	}
	sums := md5.New()
	done := &schema.MultipartDone{Upload: upload}
	for _, p := range parts {
		raw, _ := hex.DecodeString(p.ETag)
		sums.Write(raw)
		done.Parts = append(done.Parts, schema.PartDone{Number: p.Number, Size: p.Size, ETag: p.ETag})
	}
	body := &partsReader{ctx: ctx, s: s, parts: parts}
	put, err := s.storeBody(ctx, body)
	body.close()
	if err != nil {
		return nil, err
	}
	put.ETag = fmt.Sprintf("%s-%d", hex.EncodeToString(sums.Sum(nil)), len(parts))
	put.ContentType, put.Meta, put.Headers, put.Multipart = u.ContentType, u.Meta, u.Headers, done
	v, err := s.commitVersion(ctx, o, m, schema.TypeObjectPut, put.Size, cond,
		func(m *mutation, version string) any { put.Version, put.Null = version, m.svc.Suspended(); return put })
	if schema.IsKind(err, schema.KindNotFound) {
		// the completion lost a race with an abort or another completion
		return nil, schema.Reasonf(schema.KindNotFound, schema.ReasonNoSuchUpload, "upload not found")
	}
	return v, err
}

// chooseParts checks a completion list against the stored parts.
func chooseParts(list []CompletePart, stored []*schema.Part) ([]*schema.Part, error) {
	if len(list) == 0 {
		return nil, schema.Errorf(schema.KindInvalidArgument, "a completion must list at least one part")
	}
	if len(list) > MaxParts {
		return nil, schema.Errorf(schema.KindInvalidArgument, "a completion lists at most %d parts", MaxParts)
	}
	byNum := make(map[int]*schema.Part, len(stored))
	for _, p := range stored {
		byNum[p.Number] = p
	}
	out := make([]*schema.Part, 0, len(list))
	for i, c := range list {
		if i > 0 && c.Number <= list[i-1].Number {
			return nil, schema.Reasonf(schema.KindInvalidArgument, schema.ReasonInvalidPartOrder,
				"the list of parts was not in ascending order (part %d after part %d)", c.Number, list[i-1].Number)
		}
		p := byNum[c.Number]
		if p == nil || !strings.EqualFold(strings.Trim(c.ETag, `"`), p.ETag) {
			return nil, schema.Reasonf(schema.KindInvalidArgument, schema.ReasonInvalidPart,
				"part %d was not found or its ETag does not match", c.Number)
		}
		out = append(out, p)
	}
	for _, p := range out[:len(out)-1] {
		if p.Size < MinPartSize {
			return nil, schema.Reasonf(schema.KindInvalidArgument, schema.ReasonEntityTooSmall,
				"part %d is %d bytes; every part but the last must be at least %d bytes", p.Number, p.Size, MinPartSize)
		}
	}
	return out, nil
}

// AbortUpload closes an upload without writing the object.
func (s *Core) AbortUpload(ctx context.Context, o Origin, service, upload string) error {
	svc, err := s.writable(ctx, service)
	if err != nil {
		return err
	}
	u, err := s.Upload(ctx, service, upload)
	if err != nil {
		return err
	}
	_, err = s.commit(ctx, func() (*schema.Event, Expect, error) {
		ev, err := s.newEvent(o, schema.TypeUploadAborted, svc.Account, service, u.Path, schema.UploadAborted{Upload: upload})
		return ev, Expect{}, err
	})
	return err
}

// partsReader reads the parts' blobs one after another, holding one open.
type partsReader struct {
	ctx   context.Context
	s     *Core
	parts []*schema.Part
	cur   io.ReadCloser
}

func (r *partsReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if len(r.parts) == 0 {
				return 0, io.EOF
			}
			b, err := r.s.blobs.Open(r.ctx, r.parts[0].SHA256)
			if err != nil {
				return 0, err
			}
			r.cur, r.parts = b, r.parts[1:]
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.close()
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (r *partsReader) close() {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
}
