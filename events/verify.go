package events

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/schema"
)

// VerifySource is the log verify walks: a local store or a remote server.
type VerifySource interface {
	LastSeq(ctx context.Context) (uint64, error)
	// Raw returns the event at seq, or a KindNotFound error.
	Raw(ctx context.Context, seq uint64) (*RawEvent, error)
}

// BlobSource opens a blob by digest (a KindNotFound error when absent).
type BlobSource interface {
	OpenBlob(ctx context.Context, digest string) (io.ReadCloser, error)
}

// StoreBlobs is the BlobSource of a local blobstore.
type StoreBlobs struct{ Store blobstore.Store }

// OpenBlob opens the blob with digest from the store.
func (b StoreBlobs) OpenBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	return b.Store.Open(ctx, digest)
}

// Break is one place where the log or its blobs are not what the chain,
// the checkpoints or the events say.
type Break struct {
	Seq  uint64 `json:"seq"`
	What string `json:"what"`
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Events      uint64  `json:"events"`
	LastSeq     uint64  `json:"last_seq"`
	Unchained   uint64  `json:"unchained"` // events written before chains existed
	Checkpoints int     `json:"checkpoints"`
	LastSigned  uint64  `json:"last_signed"` // the newest sequence a valid checkpoint covers
	Blobs       int     `json:"blobs"`
	Breaks      []Break `json:"breaks"`
	// Projections compares a data directory's projections with a fresh
	// fold of its log (datadir.VerifyDir); a remote verify, which cannot
	// read the server's projections file, notes that it did not compare.
	Projections *ProjectionsReport `json:"projections,omitempty"`
}

// OK reports whether nothing was broken.
func (r *VerifyReport) OK() bool {
	return len(r.Breaks) == 0 && (r.Projections == nil || r.Projections.OK())
}

// ProjectionsReport is what comparing the projections file with a fresh
// fold of the log up to the file's applied sequence found.
type ProjectionsReport struct {
	Applied  uint64 `json:"applied"`  // the file's applied sequence: the fold's target
	Compared bool   `json:"compared"` // false when Note or Problem says why not
	Keys     int    `json:"keys"`     // keys compared (both sides, once each)
	Missing  int    `json:"missing"`  // in the fold, not in the file
	Stray    int    `json:"stray"`    // in the file, not in the fold
	Changed  int    `json:"changed"`  // in both, with other values
	// Diffs are the first differing keys, in key order.
	Diffs []ProjectionDiff `json:"diffs"`
	// Note says what is worth knowing but not wrong (no file yet, a file
	// behind the log); Problem what is wrong with the file as a whole.
	Note    string `json:"note,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// OK reports whether the file is what the log folds to.
func (p *ProjectionsReport) OK() bool {
	return p.Problem == "" && p.Missing+p.Stray+p.Changed == 0
}

// ProjectionDiff is one key where the file and the fold differ; a value
// is cut short past a kilobyte.
type ProjectionDiff struct {
	Key  string `json:"key"`
	What string `json:"what"` // "missing", "stray" or "changed"
	File string `json:"file,omitempty"`
	Fold string `json:"fold,omitempty"`
}

// Verify walks the whole log in order and checks every link of the hash
// chain, every checkpoint's signature (against pub when given, else the
// key the first checkpoint names) and the chain value it signed, and that
// every blob an event still references exists and hashes to its digest.
// It reports each break with the sequence where it is, in order: the first
// one is where the log stops being what was written.
func Verify(ctx context.Context, src VerifySource, blobs BlobSource, pub ed25519.PublicKey) (*VerifyReport, error) {
	last, err := src.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{LastSeq: last}
	refs := newBlobRefs()
	prev := zeroLink
	chained := false
	for seq := uint64(1); seq <= last; seq++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		raw, err := src.Raw(ctx, seq)
		if schema.IsKind(err, schema.KindNotFound) {
			rep.Breaks = append(rep.Breaks, Break{seq, "event missing: deleted or lost from the log"})
			prev = nil // the next link cannot be checked; its stored value is the new baseline
			continue
		}
		if err != nil {
			return nil, err
		}
		rep.Events++
		switch stored, derr := hex.DecodeString(raw.Chain); {
		case raw.Chain == "" && !chained:
			rep.Unchained++
			prev = zeroLink
		case raw.Chain == "" || derr != nil || len(stored) != sha256.Size:
			rep.Breaks = append(rep.Breaks, Break{seq, "chain value missing or malformed"})
			prev = nil
		default:
			chained = true
			if prev != nil && !bytes.Equal(Link(prev, raw.Data), stored) {
				rep.Breaks = append(rep.Breaks, Break{seq, "content does not match its chain link: the event was changed, replaced or moved"})
			}
			prev = stored
		}
		ev, err := decode(raw.Data, seq)
		if err != nil {
			rep.Breaks = append(rep.Breaks, Break{seq, "not a readable event"})
			continue
		}
		if ev.Type == schema.TypeCheckpoint {
			rep.Checkpoints++
			if what := checkCheckpoint(ctx, src, ev, &pub); what != "" {
				rep.Breaks = append(rep.Breaks, Break{seq, what})
			} else {
				var cp schema.Checkpoint
				_ = ev.Decode(&cp)
				rep.LastSigned = cp.Seq
			}
			continue
		}
		refs.fold(ev)
	}
	// every blob still referenced exists and is what its digest says
	for _, d := range refs.sorted() {
		rep.Blobs++
		if what := checkBlob(ctx, blobs, d); what != "" {
			rep.Breaks = append(rep.Breaks, Break{refs.seq[d], what})
		}
	}
	sort.SliceStable(rep.Breaks, func(i, j int) bool { return rep.Breaks[i].Seq < rep.Breaks[j].Seq })
	return rep, nil
}

// checkCheckpoint checks a checkpoint's key, signature and the chain value
// it signed against the one stored with the event it covers.
func checkCheckpoint(ctx context.Context, src VerifySource, ev *schema.Event, pub *ed25519.PublicKey) string {
	var cp schema.Checkpoint
	if err := ev.Decode(&cp); err != nil {
		return "checkpoint is not readable"
	}
	key, err := hex.DecodeString(cp.Key)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return "checkpoint names no valid key"
	}
	if *pub == nil {
		*pub = key // trust the first key seen, as no key was given
	}
	if !bytes.Equal(key, *pub) {
		return "checkpoint signed by another key than " + hex.EncodeToString(*pub)
	}
	sig, err := hex.DecodeString(cp.Sig)
	if err != nil || !ed25519.Verify(*pub, schema.CheckpointMessage(cp.Seq, cp.Chain), sig) {
		return "checkpoint signature is not valid"
	}
	covered, err := src.Raw(ctx, cp.Seq)
	if err != nil {
		return fmt.Sprintf("checkpoint covers event %d, which is missing", cp.Seq)
	}
	if covered.Chain != cp.Chain {
		return fmt.Sprintf("checkpoint signed chain %s… at event %d, the log holds %.12s…: the log before it was rewritten",
			cp.Chain[:12], cp.Seq, covered.Chain)
	}
	return ""
}

// checkBlob re-reads a blob and compares its SHA-256 with its digest.
func checkBlob(ctx context.Context, blobs BlobSource, digest string) string {
	// A local store verifies as it opens and reads (and quarantines what
	// does not match): its ErrDamaged is the mismatch found here.
	damaged := func(err error) string {
		return "blob " + digest + " does not match its digest (" + err.Error() + "; moved to the blobstore's quarantine/)"
	}
	rd, err := blobs.OpenBlob(ctx, digest)
	if err != nil {
		if schema.IsKind(err, schema.KindNotFound) {
			return "blob " + digest + " is missing"
		}
		if errors.Is(err, blobstore.ErrDamaged) {
			return damaged(err)
		}
		return "blob " + digest + " cannot be read: " + err.Error()
	}
	defer rd.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rd); err != nil {
		if errors.Is(err, blobstore.ErrDamaged) {
			return damaged(err)
		}
		return "blob " + digest + " cannot be read: " + err.Error()
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return "blob " + digest + " does not match its digest (it hashes to " + got + ")"
	}
	return ""
}

// blobRefs follows which blobs the log still references, as the
// projections do: versions (their blob and segments) until purged, replaced
// as a null version, or their service deleted; upload parts while their
// upload is open.
type blobRefs struct {
	versions map[string][]string // service \x00 version -> digests
	byPath   map[string]string   // service \x00 path -> its null version's key
	live     map[string]string   // service \x00 path -> its newest version's key
	uploads  map[string]map[int]string
	seq      map[string]uint64 // digest -> the newest event referencing it
	// every version ever put (service \x00 version -> digests) and the
	// large object versions each references: a referenced version keeps
	// its blobs after it leaves its history, while a manifest naming it
	// is still there (the projections pin it the same way)
	all  map[string][]string
	refs map[string][]string
}

func newBlobRefs() *blobRefs {
	return &blobRefs{versions: map[string][]string{}, byPath: map[string]string{}, live: map[string]string{},
		uploads: map[string]map[int]string{},
		seq:     map[string]uint64{}, all: map[string][]string{}, refs: map[string][]string{}}
}

func (b *blobRefs) fold(ev *schema.Event) {
	vkey := func(v string) string { return ev.Service + "\x00" + v }
	switch ev.Type {
	case schema.TypeObjectPut, schema.TypeObjectCopy:
		var p struct {
			Version  string           `json:"version"`
			Size     int64            `json:"size"`
			Blob     schema.BlobRef   `json:"blob"`
			Segments []schema.Segment `json:"segments"`
			Null     bool             `json:"null"`
			Multi    *struct {
				Upload string `json:"upload"`
			} `json:"multipart"`
		}
		if ev.Decode(&p) != nil {
			return
		}
		var ds []string
		// an empty object (a DLO manifest, a folder marker) has no bytes
		// to store: its digest names nothing in the blobstore (the fold
		// reads it as carried by its event, as it does)
		if p.Blob.SHA256 != "" && len(p.Blob.Inline) == 0 && p.Blob.InSeq == 0 && p.Size > 0 {
			ds = append(ds, p.Blob.SHA256)
		}
		var refs []string
		for _, sg := range p.Segments {
			if sg.Blob.SHA256 != "" && sg.Blob.InSeq == 0 {
				ds = append(ds, sg.Blob.SHA256)
			}
			if sg.Manifest {
				refs = append(refs, sg.Service+"\x00"+sg.Version)
			}
		}
		b.all[vkey(p.Version)] = ds
		if len(refs) > 0 {
			b.refs[vkey(p.Version)] = refs
		}
		if p.Null {
			pk := ev.Service + "\x00" + ev.Path
			delete(b.versions, b.byPath[pk])
			b.byPath[pk] = vkey(p.Version)
		}
		if p.Multi != nil {
			delete(b.uploads, ev.Service+"\x00"+p.Multi.Upload)
		}
		b.versions[vkey(p.Version)] = ds
		b.live[ev.Service+"\x00"+ev.Path] = vkey(p.Version)
		for _, d := range ds {
			b.seq[d] = ev.Seq
		}
	case schema.TypeObjectDelete, schema.TypeObjectMeta, schema.TypeObjectExpired:
		var p struct {
			Version string `json:"version"`
			Null    bool   `json:"null"`
		}
		if ev.Decode(&p) != nil {
			return
		}
		pk := ev.Service + "\x00" + ev.Path
		cur := b.versions[b.live[pk]] // a metadata change keeps the live version's bytes
		if p.Null {                   // a null delete marker or change replaces the null version
			delete(b.versions, b.byPath[pk])
			delete(b.byPath, pk)
		}
		if ev.Type != schema.TypeObjectMeta {
			delete(b.live, pk)
			return
		}
		b.versions[vkey(p.Version)] = cur
		b.all[vkey(p.Version)] = cur
		if r := b.refs[b.live[pk]]; len(r) > 0 {
			b.refs[vkey(p.Version)] = r
		}
		b.live[pk] = vkey(p.Version)
		if p.Null {
			b.byPath[pk] = vkey(p.Version)
		}
	case schema.TypeObjectPurged:
		var p schema.ObjectPurged
		if ev.Decode(&p) == nil {
			delete(b.versions, vkey(p.Purged))
		}
	case schema.TypeServiceDeleted, schema.TypeServiceResynced: // a resync starts a replica over
		for k := range b.versions {
			if len(k) > len(ev.Service) && k[:len(ev.Service)+1] == ev.Service+"\x00" {
				delete(b.versions, k)
			}
		}
		for k := range b.uploads {
			if len(k) > len(ev.Service) && k[:len(ev.Service)+1] == ev.Service+"\x00" {
				delete(b.uploads, k)
			}
		}
	case schema.TypeUploadPart:
		var p schema.UploadPart
		if ev.Decode(&p) == nil {
			k := ev.Service + "\x00" + p.Upload
			if b.uploads[k] == nil {
				b.uploads[k] = map[int]string{}
			}
			b.uploads[k][p.Number] = p.SHA256
			b.seq[p.SHA256] = ev.Seq
		}
	case schema.TypeUploadAborted:
		var p schema.UploadAborted
		if ev.Decode(&p) == nil {
			delete(b.uploads, ev.Service+"\x00"+p.Upload)
		}
	}
}

// sorted returns every referenced digest, once, in order.
func (b *blobRefs) sorted() []string {
	set := map[string]bool{}
	for _, ds := range b.versions {
		for _, d := range ds {
			set[d] = true
		}
	}
	// the versions the remaining ones reference, through every level,
	// whether or not they are still in their own history
	seen := map[string]bool{}
	var pending []string
	for k := range b.versions {
		pending = append(pending, b.refs[k]...)
	}
	for len(pending) > 0 {
		k := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, d := range b.all[k] {
			set[d] = true
		}
		pending = append(pending, b.refs[k]...)
	}
	for _, parts := range b.uploads {
		for _, d := range parts {
			set[d] = true
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
