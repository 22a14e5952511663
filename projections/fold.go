package projections

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// FoldError reports the event the projections could not fold, and stops
// the runner before it. Its cause (Err) is one of:
//
//   - a payload that does not decode into its type's shape (not a JSON
//     object, a field of the wrong JSON type), or that lacks a field the
//     fold keys its records on (the name of a source, the lookup of a
//     token);
//   - ErrUnknownEventType: a type this version does not fold, written by a
//     newer version;
//   - a failure of the index transaction while folding it.
//
// Store.Apply commits the events of the batch before Seq, keeps its
// checkpoint at the last of them and applies nothing at or after Seq: it
// answers every later batch, and Wait, with the same FoldError.
//
// Types that are in the log but not projected are listed in fold as
// explicit no-ops (log.checkpoint.v1); events that decode but do not apply
// to the current state are skipped as the folder's doc says. Neither is an
// error.
type FoldError struct {
	Seq  uint64 // the event's stream sequence
	Type string // the event's type
	Err  error
}

func (e *FoldError) Error() string {
	return fmt.Sprintf("fold event %d (%s): %v", e.Seq, e.Type, e.Err)
}

func (e *FoldError) Unwrap() error { return e.Err }

// ErrUnknownEventType is the cause of a FoldError for an event type this
// version does not fold. The safe answer to a log written by a newer
// version is to stop: skipping the event would move the checkpoint past it
// and leave indexes that differ from the newer version's, silently.
var ErrUnknownEventType = errors.New("unknown event type (written by a newer version of cairn?)")

// errMissing is the cause of a FoldError for a payload without a field the
// fold needs.
func errMissing(field string) error {
	return schema.Errorf(schema.KindInternal, "bad event payload: no %s", field)
}

// folder applies events inside one buntdb transaction. Events that do not
// apply to the current state (an object event for a missing service, a
// delete of an absent object) are skipped: the command side rejects them
// before appending, so they only appear after a lost race, and skipping them
// is deterministic. An event the folder cannot decode is never skipped: fold
// returns an error, which Store.Apply reports as a FoldError.
//
// Service and account records change with almost every event (usage, sync
// ids), so the folder keeps the ones it touched in memory for the whole
// batch and writes each back once, in flush: same final state, a fraction
// of the JSON work.
type folder struct {
	tx    *buntdb.Tx
	svcs  map[string]*schema.Service // nil: known absent
	accts map[string]*schema.Account // nil: known absent
	dirty map[string]bool            // buntdb keys to write back (or delete)
	// written keeps every key flush wrote in this batch (dirty is cleared).
	written map[string]bool
}

func newFolder(tx *buntdb.Tx) *folder {
	return &folder{tx: tx, svcs: map[string]*schema.Service{}, accts: map[string]*schema.Account{}, dirty: map[string]bool{},
		written: map[string]bool{}}
}

// touched reports whether the batch changed service id (its record is
// among those flush writes back).
func (f *folder) touched(id string) bool { return f.written[schema.ServiceKey(id)] }

// flush writes the touched service and account records back.
func (f *folder) flush() error {
	for key := range f.dirty {
		f.written[key] = true
		var v any
		if id, ok := strings.CutPrefix(key, "svc:"); ok {
			if s := f.svcs[id]; s != nil {
				v = s
			}
		} else if a := f.accts[strings.TrimPrefix(key, "acct:")]; a != nil {
			v = a
		}
		var err error
		if v == nil {
			err = del(f.tx, key)
		} else {
			err = setJSON(f.tx, key, v)
		}
		if err != nil {
			return err
		}
	}
	clear(f.dirty)
	return nil
}

func (f *folder) fold(ev *schema.Event) error {
	switch ev.Type {
	case schema.TypeObjectPut:
		// The inline bytes are not needed here (a version of an inline
		// object points back at its event), so they are not decoded.
		var p putView
		if err := json.Unmarshal(withoutInline(ev.Data), &p); err != nil {
			return schema.Wrap(schema.KindInternal, err, "bad event payload")
		}
		blob := schema.BlobRef{SHA256: p.Blob.SHA256, InSeq: p.Blob.InSeq}
		if len(p.Blob.Inline) > 0 || (blob.InSeq == 0 && p.Size == 0) {
			blob = schema.BlobRef{SHA256: p.Blob.SHA256, InSeq: ev.Seq}
		}
		if len(p.Segments) > 0 {
			blob = schema.BlobRef{}
		}
		v := schema.Version{
			Version: p.Version, Op: schema.OpPut, Size: p.Size, ETag: p.ETag,
			ContentType: p.ContentType, Meta: p.Meta, DeleteAt: p.DeleteAt, Headers: p.Headers, Blob: blob, Null: p.Null,
			Segments: p.Segments, ManifestDepth: p.ManifestDepth,
		}
		if p.Multipart == nil && len(p.PartSizes) > 0 { // a replicated completed upload
			v.Parts, v.PartSizes = len(p.PartSizes), p.PartSizes
		}
		if p.Multipart != nil {
			// a completion applies only to an upload still open: a lost
			// race with an abort or another completion is a no-op
			if ok, err := f.closeUpload(ev.Service, p.Multipart.Upload); err != nil || !ok {
				return err
			}
			v.Parts = len(p.Multipart.Parts)
			for _, part := range p.Multipart.Parts {
				v.PartSizes = append(v.PartSizes, part.Size)
			}
		}
		return f.putVersion(ev, v)
	case schema.TypeObjectCopy:
		var p schema.ObjectCopy
		if err := ev.Decode(&p); err != nil {
			return err
		}
		from := p.From
		blob := schema.BlobRef{SHA256: p.Blob.SHA256, InSeq: p.Blob.InSeq}
		if len(p.Blob.Inline) > 0 { // a replicated copy carries its bytes itself
			blob.InSeq = ev.Seq
		}
		return f.putVersion(ev, schema.Version{
			Version: p.Version, Op: schema.OpCopy, Size: p.Size, ETag: p.ETag,
			ContentType: p.ContentType, Meta: p.Meta, DeleteAt: p.DeleteAt, Headers: p.Headers,
			Blob: blob, CopiedFrom: &from, Null: p.Null,
			Segments: p.Segments, ManifestDepth: p.ManifestDepth,
		})
	case schema.TypeObjectMeta:
		var p schema.ObjectMeta
		if err := ev.Decode(&p); err != nil {
			return err
		}
		var cur schema.Version
		if ok, err := getJSON(f.tx, schema.ObjectKey(ev.Service, ev.Path), &cur); err != nil || !ok {
			return err
		}
		return f.putVersion(ev, schema.Version{
			Version: p.Version, Op: schema.OpMeta, Size: cur.Size, ETag: cur.ETag,
			ContentType: p.ContentType, Meta: p.Meta, DeleteAt: p.DeleteAt, Headers: p.Headers, Blob: cur.Blob,
			Parts: cur.Parts, PartSizes: cur.PartSizes, Null: p.Null, Segments: cur.Segments, ManifestDepth: cur.ManifestDepth,
		})
	case schema.TypeObjectDelete:
		var p schema.ObjectDelete
		if err := ev.Decode(&p); err != nil {
			return err
		}
		return f.tombstone(ev, p.Version, schema.OpDelete, "", p.Null)
	case schema.TypeObjectExpired:
		var p schema.ObjectExpired
		if err := ev.Decode(&p); err != nil {
			return err
		}
		return f.tombstone(ev, p.Version, schema.OpExpire, p.Expired, false)
	case schema.TypeObjectPurged:
		var p schema.ObjectPurged
		if err := ev.Decode(&p); err != nil {
			return err
		}
		if err := f.purge(ev, p.Purged); err != nil || p.Horizon == nil {
			return err
		}
		svc, ok, err := f.service(ev.Service)
		if err != nil || !ok {
			return err
		}
		if p.Horizon.After(svc.Horizon) {
			svc.Horizon = p.Horizon.UTC()
		}
		return f.putService(svc)
	case schema.TypeServiceCreated, schema.TypeServiceCreatedV2:
		return f.serviceCreated(ev)
	case schema.TypeServiceUpdated:
		return f.serviceUpdated(ev)
	case schema.TypeServiceDeleted:
		return f.serviceDeleted(ev)
	case schema.TypeQuotaSet:
		return f.quotaSet(ev)
	case schema.TypeKeyCreated:
		return f.keyCreated(ev)
	case schema.TypeKeyRevoked:
		return f.keyRevoked(ev)
	case schema.TypeAccountCreated:
		return f.accountCreated(ev)
	case schema.TypeAccountDeleted:
		return f.accountDeleted(ev)
	case schema.TypeAccountUpdated:
		return f.accountUpdated(ev)
	case schema.TypeTokenIssued:
		return f.tokenIssued(ev)
	case schema.TypeFeedCredCreated:
		return f.feedCredCreated(ev)
	case schema.TypeFeedCredRevoked:
		return f.feedCredRevoked(ev)
	case schema.TypeServiceResynced:
		var p schema.ServiceResynced
		if err := ev.Decode(&p); err != nil {
			return err
		}
		svc, ok, err := f.service(ev.Service)
		if err != nil || !ok {
			return err
		}
		if p.Skip { // ids the primary holds no change for any more
			// the primary's change index still has their entries (with no
			// version behind them); so does the replica's, so its history
			// starts where the primary's does
			for id := svc.LastSyncID + 1; id <= p.SyncID; id++ {
				if _, _, err := f.tx.Set(schema.ChangeKey(ev.Service, id), "", nil); err != nil {
					return err
				}
			}
			if p.SyncID > svc.LastSyncID {
				svc.LastSyncID = p.SyncID
			}
			svc.LastSeq = ev.Seq
			return f.putService(svc)
		}
		// the replica starts over: its own history goes, and the primary's
		// current files follow as puts up to the primary's sync id
		if err := f.clearObjects(ev.Service); err != nil {
			return err
		}
		if err := f.usage(svc, -svc.Files, -svc.Bytes); err != nil {
			return err
		}
		svc.LastSyncID, svc.ResyncedAt, svc.LastSeq = p.SyncID, p.ResyncedAt, ev.Seq
		return f.putService(svc)
	case schema.TypeCacheFlushed, schema.TypeBlobRepaired:
		// Cached copies are not projected, and a repaired blob (the
		// scrubber put its bytes back) changes no version: the versions
		// that reference it keep their digest. The service saw an event.
		svc, ok, err := f.service(ev.Service)
		if err != nil || !ok {
			return err
		}
		svc.LastSeq = ev.Seq
		return f.putService(svc)
	case schema.TypeSourceCreated:
		var p schema.SourceCreated
		if err := ev.Decode(&p); err != nil {
			return err
		}
		if p.Name == "" {
			return errMissing("name")
		}
		return setJSON(f.tx, schema.SourceKey(p.Name), &schema.Source{Name: p.Name, URL: p.URL, Sealed: p.Sealed, Created: ev.Time})
	case schema.TypeSourceDeleted:
		var p schema.SourceDeleted
		if err := ev.Decode(&p); err != nil {
			return err
		}
		return del(f.tx, schema.SourceKey(p.Name))
	case schema.TypeUploadCreated:
		return f.uploadCreated(ev)
	case schema.TypeUploadPart:
		return f.uploadPart(ev)
	case schema.TypeUploadAborted:
		var p schema.UploadAborted
		if err := ev.Decode(&p); err != nil {
			return err
		}
		_, err := f.closeUpload(ev.Service, p.Upload)
		return err
	case schema.TypeCheckpoint:
		// A signed checkpoint of the hash chain (events/checkpoint.go): the
		// chain's business, not the projections'.
		return nil
	}
	// A type this version does not know comes from a newer writer. Skipping
	// it would leave indexes that a newer version folds differently, with
	// the checkpoint already past the event, so the runner stops here.
	return ErrUnknownEventType
}

// service returns a service (the batch's copy: changes to it are kept by
// putService), or reports it absent.
func (f *folder) service(id string) (*schema.Service, bool, error) {
	return cached(f, f.svcs, id, schema.ServiceKey(id))
}

func (f *folder) putService(s *schema.Service) error {
	return keep(f, f.svcs, s.ID, schema.ServiceKey(s.ID), s)
}

func (f *folder) delService(id string) error { return keep(f, f.svcs, id, schema.ServiceKey(id), nil) }

// account returns an account (the batch's copy: changes to it are kept by
// putAccount), or reports it absent.
func (f *folder) account(id string) (*schema.Account, bool, error) {
	return cached(f, f.accts, id, schema.AccountKey(id))
}

func (f *folder) putAccount(a *schema.Account) error {
	return keep(f, f.accts, a.ID, schema.AccountKey(a.ID), a)
}

func (f *folder) delAccount(id string) error { return keep(f, f.accts, id, schema.AccountKey(id), nil) }

// cached returns the batch's copy of record id from m (nil there: known
// absent), reading it from key the first time.
func cached[T any](f *folder, m map[string]*T, id, key string) (*T, bool, error) {
	if v, seen := m[id]; seen {
		return v, v != nil, nil
	}
	v := new(T)
	ok, err := getJSON(f.tx, key, v)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		v = nil
	}
	m[id] = v
	return v, ok, nil
}

// keep makes v (nil: deleted) the batch's copy of record id in m, which
// flush writes back to key.
func keep[T any](f *folder, m map[string]*T, id, key string, v *T) error {
	m[id] = v
	f.dirty[key] = true
	return nil
}

// usage adds deltas to a service's and its account's usage.
func (f *folder) usage(svc *schema.Service, files, bytes int64) error {
	svc.Files += files
	svc.Bytes += bytes
	a, ok, err := f.account(svc.Account)
	if err != nil || !ok {
		return err
	}
	a.Bytes += bytes
	return f.putAccount(a)
}

// putVersion records a new live version v of ev's object.
func (f *folder) putVersion(ev *schema.Event, v schema.Version) error {
	svc, ok, err := f.service(ev.Service)
	if err != nil || !ok || svc.Type != schema.ServiceStorage {
		return err
	}
	if err := f.unlinkLive(svc, ev.Service, ev.Path); err != nil {
		return err
	}
	if v.Null {
		if err := f.dropNull(ev.Service, ev.Path); err != nil {
			return err
		}
	}
	svc.LastSyncID++
	svc.LastSeq = ev.Seq
	v.Service, v.Path, v.Seq, v.SyncID, v.Time, v.Actor = ev.Service, ev.Path, ev.Seq, svc.LastSyncID, ev.Time, ev.Actor.KeyID
	if err := f.usage(svc, 1, v.Size); err != nil {
		return err
	}
	if err := setJSON(f.tx, schema.ObjectKey(ev.Service, ev.Path), &v); err != nil {
		return err
	}
	if v.DeleteAt > 0 {
		if _, _, err := f.tx.Set(schema.ExpiryKey(v.DeleteAt, ev.Service, ev.Path), v.Version, nil); err != nil {
			return err
		}
	}
	for _, d := range v.Digests() {
		if err := f.blobRef(d, 1); err != nil {
			return err
		}
	}
	for _, r := range v.References() {
		if _, err := f.refCount(r, 1); err != nil {
			return err
		}
	}
	return f.record(svc, &v)
}

// tombstone records a deletion version of ev's object. When expired is set,
// only that live version is removed (an expiry racing a newer put is moot).
func (f *folder) tombstone(ev *schema.Event, version, op, expired string, null bool) error {
	svc, ok, err := f.service(ev.Service)
	if err != nil || !ok || svc.Type != schema.ServiceStorage {
		return err
	}
	var cur schema.Version
	live, err := getJSON(f.tx, schema.ObjectKey(ev.Service, ev.Path), &cur)
	if err != nil || !live || (expired != "" && cur.Version != expired) {
		return err
	}
	if err := f.unlinkLive(svc, ev.Service, ev.Path); err != nil {
		return err
	}
	if null {
		if err := f.dropNull(ev.Service, ev.Path); err != nil {
			return err
		}
	}
	svc.LastSyncID++
	svc.LastSeq = ev.Seq
	v := schema.Version{
		Service: ev.Service, Path: ev.Path, Version: version, Seq: ev.Seq, SyncID: svc.LastSyncID,
		Time: ev.Time, Op: op, Deleted: true, Actor: ev.Actor.KeyID, Null: null,
	}
	return f.record(svc, &v)
}

// unlinkLive removes the live version of an object from the listing, usage
// and expiry schedule (its version record stays).
func (f *folder) unlinkLive(svc *schema.Service, service, path string) error {
	var cur schema.Version
	ok, err := getJSON(f.tx, schema.ObjectKey(service, path), &cur)
	if err != nil || !ok {
		return err
	}
	if err := del(f.tx, schema.ObjectKey(service, path)); err != nil {
		return err
	}
	if cur.DeleteAt > 0 {
		if err := del(f.tx, schema.ExpiryKey(cur.DeleteAt, service, path)); err != nil {
			return err
		}
	}
	return f.usage(svc, -1, -cur.Size)
}

// record stores a version, its change-index entry and the service.
func (f *folder) record(svc *schema.Service, v *schema.Version) error {
	if err := setJSON(f.tx, schema.VersionKey(v.Service, v.Path, v.SyncID), v); err != nil {
		return err
	}
	if _, _, err := f.tx.Set(schema.ChangeKey(v.Service, v.SyncID), v.Path, nil); err != nil {
		return err
	}
	return f.putService(svc)
}

func (f *folder) blobRef(digest string, delta int64) error {
	key := schema.BlobRefKey(digest)
	n := int64(0)
	if raw, err := f.tx.Get(key); err == nil {
		n, _ = strconv.ParseInt(raw, 10, 64)
	} else if err != buntdb.ErrNotFound {
		return err
	}
	n += delta
	if n <= 0 {
		return del(f.tx, key)
	}
	_, _, err := f.tx.Set(key, strconv.FormatInt(n, 10), nil)
	return err
}

// refCount adds delta to the number of version records referencing large
// object version r and returns the new number.
func (f *folder) refCount(r schema.ObjectRef, delta int64) (int64, error) {
	key := schema.RefCountKey(r.Service, r.Path, r.Version)
	n := int64(0)
	if raw, err := f.tx.Get(key); err == nil {
		n, _ = strconv.ParseInt(raw, 10, 64)
	} else if err != buntdb.ErrNotFound {
		return 0, err
	}
	n += delta
	if n <= 0 {
		return 0, del(f.tx, key)
	}
	_, _, err := f.tx.Set(key, strconv.FormatInt(n, 10), nil)
	return n, err
}

// dropVersion removes version record key (holding v) from the history:
// this is the one place a version record goes (a purge, a replaced null
// version, a cleared service). A version that a large object still
// references moves to its hidden pinned record, keeping its blobs and its
// own references, so every manifest naming it still reads; any other
// releases them.
func (f *folder) dropVersion(key string, v *schema.Version) error {
	if err := del(f.tx, key); err != nil {
		return err
	}
	if _, err := f.tx.Get(schema.RefCountKey(v.Service, v.Path, v.Version)); err == nil {
		// A pinned record of the same version may already be there (a
		// replica's resync puts a version it had back, then loses it
		// again): that one keeps holding the references, this one's go.
		if _, err := f.tx.Get(schema.PinnedKey(v.Service, v.Path, v.Version)); err == buntdb.ErrNotFound {
			return setJSON(f.tx, schema.PinnedKey(v.Service, v.Path, v.Version), v)
		} else if err != nil {
			return err
		}
	} else if err != buntdb.ErrNotFound {
		return err
	}
	return f.release(v)
}

// release drops the references a version record held: one on each of its
// blobs and one on each large object version it references. A referenced
// version whose last reference goes and whose record already left the
// history (its pinned record) is released in turn; nesting is bounded by
// the manifests' depth.
func (f *folder) release(v *schema.Version) error {
	for _, d := range v.Digests() {
		if err := f.blobRef(d, -1); err != nil {
			return err
		}
	}
	for _, r := range v.References() {
		n, err := f.refCount(r, -1)
		if err != nil || n > 0 {
			if err != nil {
				return err
			}
			continue
		}
		key := schema.PinnedKey(r.Service, r.Path, r.Version)
		var pinned schema.Version
		if ok, err := getJSON(f.tx, key, &pinned); err != nil {
			return err
		} else if !ok {
			continue // still in its history, whose record holds its own references
		}
		if err := del(f.tx, key); err != nil {
			return err
		}
		if err := f.release(&pinned); err != nil {
			return err
		}
	}
	return nil
}

func (f *folder) serviceCreated(ev *schema.Event) error {
	var p schema.ServiceCreatedV2 // a v1 payload is the same without container
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if ev.Type == schema.TypeServiceCreated || p.Container == "" {
		p.Container = p.ID // what a v1 creation's name always was
	}
	if _, exists, err := f.service(p.ID); err != nil || exists {
		return err
	}
	a, ok, err := f.account(ev.Account)
	if err != nil || !ok {
		return err
	}
	a.Services++
	if err := f.putAccount(a); err != nil {
		return err
	}
	svc := schema.Service{ID: p.ID, Account: ev.Account, Name: p.Name, Container: p.Container, Type: p.Type,
		Settings: p.Settings, Created: ev.Time, LastSeq: ev.Seq}
	if _, _, err := f.tx.Set(schema.ServiceNameKey(ev.Account, p.Container), p.ID, nil); err != nil {
		return err
	}
	return f.putService(&svc)
}

func (f *folder) serviceUpdated(ev *schema.Event) error {
	var p schema.ServiceUpdated
	if err := ev.Decode(&p); err != nil {
		return err
	}
	svc, ok, err := f.service(p.ID)
	if err != nil || !ok {
		return err
	}
	svc.Name, svc.Settings, svc.LastSeq = p.Name, p.Settings, ev.Seq
	return f.putService(svc)
}

// serviceDeleted drops a service and its indexes (its history stays in the
// log). A re-created service with the same id starts a new history.
func (f *folder) serviceDeleted(ev *schema.Event) error {
	var p schema.ServiceDeleted
	if err := ev.Decode(&p); err != nil {
		return err
	}
	svc, ok, err := f.service(p.ID)
	if err != nil || !ok {
		return err
	}
	if err := f.clearObjects(p.ID); err != nil {
		return err
	}
	if err := del(f.tx, schema.ServiceNameKey(svc.Account, svc.ContainerName())); err != nil {
		return err
	}
	if err := f.usage(svc, -svc.Files, -svc.Bytes); err != nil {
		return err
	}
	if a, ok, err := f.account(svc.Account); err != nil {
		return err
	} else if ok {
		a.Services--
		if err := f.putAccount(a); err != nil {
			return err
		}
	}
	return f.delService(p.ID)
}

func (f *folder) quotaSet(ev *schema.Event) error {
	var p schema.QuotaSet
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if ev.Service != "" {
		svc, ok, err := f.service(ev.Service)
		if err != nil || !ok {
			return err
		}
		svc.QuotaBytes, svc.QuotaCount, svc.LastSeq = p.Bytes, p.Count, ev.Seq
		return f.putService(svc)
	}
	a, ok, err := f.account(ev.Account)
	if err != nil || !ok {
		return err
	}
	a.QuotaBytes = p.Bytes
	return f.putAccount(a)
}

func (f *folder) keyCreated(ev *schema.Event) error {
	var p schema.KeyCreated
	if err := ev.Decode(&p); err != nil {
		return err
	}
	var existing schema.Key
	if ok, err := getJSON(f.tx, schema.KeyKey(p.ID), &existing); err != nil || ok {
		return err
	}
	a, ok, err := f.account(ev.Account)
	if err != nil || !ok {
		return err
	}
	a.Keys++
	if err := f.putAccount(a); err != nil {
		return err
	}
	k := schema.Key{ID: p.ID, Account: ev.Account, Name: p.Name, Admin: p.Admin, Access: p.Access,
		Login: p.Login, Sealed: p.Sealed, Lookup: p.Lookup, Created: ev.Time}
	if err := setJSON(f.tx, schema.KeyKey(p.ID), &k); err != nil {
		return err
	}
	_, _, err = f.tx.Set(schema.KeyLookupKey(p.Lookup), p.ID, nil)
	return err
}

func (f *folder) keyRevoked(ev *schema.Event) error {
	var p schema.KeyRevoked
	if err := ev.Decode(&p); err != nil {
		return err
	}
	var k schema.Key
	if ok, err := getJSON(f.tx, schema.KeyKey(p.ID), &k); err != nil || !ok || k.Revoked {
		return err
	}
	k.Revoked = true
	if err := setJSON(f.tx, schema.KeyKey(p.ID), &k); err != nil {
		return err
	}
	if a, ok, err := f.account(k.Account); err != nil {
		return err
	} else if ok {
		a.Keys--
		if err := f.putAccount(a); err != nil {
			return err
		}
	}
	return del(f.tx, schema.KeyLookupKey(k.Lookup))
}

// feedCredCreated records a feed credential of an existing account; a
// second creation of one user changes nothing.
func (f *folder) feedCredCreated(ev *schema.Event) error {
	var p schema.FeedCredCreated
	if err := ev.Decode(&p); err != nil {
		return err
	}
	var existing schema.FeedCredential
	if ok, err := getJSON(f.tx, schema.FeedCredKey(p.User), &existing); err != nil || ok {
		return err
	}
	if _, ok, err := f.account(ev.Account); err != nil || !ok {
		return err
	}
	c := schema.FeedCredential{User: p.User, Account: ev.Account, Name: p.Name, Verifier: p.Verifier, Created: ev.Time}
	return setJSON(f.tx, schema.FeedCredKey(p.User), &c)
}

// feedCredRevoked marks a feed credential revoked; it stays listed in the
// projections, as revoked keys do, so its user is never given again.
func (f *folder) feedCredRevoked(ev *schema.Event) error {
	var p schema.FeedCredRevoked
	if err := ev.Decode(&p); err != nil {
		return err
	}
	var c schema.FeedCredential
	if ok, err := getJSON(f.tx, schema.FeedCredKey(p.User), &c); err != nil || !ok || c.Revoked {
		return err
	}
	c.Revoked = true
	return setJSON(f.tx, schema.FeedCredKey(p.User), &c)
}

func (f *folder) accountCreated(ev *schema.Event) error {
	var p schema.AccountCreated
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if _, ok, err := f.account(p.ID); err != nil || ok {
		return err
	}
	return f.putAccount(&schema.Account{ID: p.ID, Name: p.Name, Created: ev.Time})
}

func (f *folder) accountDeleted(ev *schema.Event) error {
	var p schema.AccountDeleted
	if err := ev.Decode(&p); err != nil {
		return err
	}
	a, ok, err := f.account(p.ID)
	if err != nil || !ok || a.Services > 0 || a.Keys > 0 {
		return err
	}
	return f.delAccount(p.ID)
}

// clearObjects forgets every object, version, change, purge, upload, part
// and expiry of a service, and the blob references they held (versions go
// through dropVersion: one a large object references stays pinned).
func (f *folder) clearObjects(id string) error {
	var keys []string
	var digests []string
	var vkeys []string
	var versions []*schema.Version
	for _, pfx := range []string{schema.ObjectPrefix(id), schema.VersionPrefix(id), schema.ChangePrefix(id),
		"pg:" + id + "\x00",
		schema.UploadPrefix(id), schema.ServicePartPrefix(id)} {
		err := f.tx.AscendGreaterOrEqual("", pfx, func(k, v string) bool {
			if !strings.HasPrefix(k, pfx) {
				return false
			}
			switch {
			case strings.HasPrefix(k, "v:"):
				ver := new(schema.Version)
				if decodeJSON(v, ver) == nil {
					vkeys, versions = append(vkeys, k), append(versions, ver)
				} else {
					keys = append(keys, k)
				}
				return true
			}
			keys = append(keys, k)
			switch {
			case strings.HasPrefix(k, "p:"):
				var part schema.Part
				if decodeJSON(v, &part) == nil {
					digests = append(digests, part.SHA256)
				}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	err := f.tx.AscendGreaterOrEqual("", "x:", func(k, _ string) bool {
		if !strings.HasPrefix(k, "x:") {
			return false
		}
		if _, s, _, ok := schema.SplitExpiryKey(k); ok && s == id {
			keys = append(keys, k)
		}
		return true
	})
	if err != nil {
		return err
	}
	for i, k := range vkeys {
		if err := f.dropVersion(k, versions[i]); err != nil {
			return err
		}
	}
	return f.forget(keys, digests)
}

// markPurge records a purge as a change of its own (replicas follow it),
// without a version: the purged version is no longer in the history.
func (f *folder) markPurge(svc *schema.Service, ev *schema.Event, version string) error {
	svc.LastSyncID++
	mark := schema.Version{Service: ev.Service, Path: ev.Path, Version: purgeVersion(ev), Seq: ev.Seq, SyncID: svc.LastSyncID,
		Time: ev.Time, Op: schema.OpPurge, Deleted: true, Actor: ev.Actor.KeyID, Purged: version}
	if err := setJSON(f.tx, schema.PurgeKey(ev.Service, svc.LastSyncID), &mark); err != nil {
		return err
	}
	if _, _, err := f.tx.Set(schema.ChangeKey(ev.Service, svc.LastSyncID), ev.Path, nil); err != nil {
		return err
	}
	return f.putService(svc)
}

// purgeVersion is the id of a purge event's own version.
func purgeVersion(ev *schema.Event) string {
	var p schema.ObjectPurged
	_ = ev.Decode(&p)
	return p.Version
}

func (f *folder) accountUpdated(ev *schema.Event) error {
	var p schema.AccountUpdated
	if err := ev.Decode(&p); err != nil {
		return err
	}
	a, ok, err := f.account(p.ID)
	if err != nil || !ok {
		return err
	}
	a.Name, a.Meta = p.Name, p.Meta
	return f.putAccount(a)
}

// tokenIssued makes the token the key's only one: the previous token's
// lookup entry goes, so it no longer finds the key.
func (f *folder) tokenIssued(ev *schema.Event) error {
	var p schema.TokenIssued
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if p.Lookup == "" {
		return errMissing("lookup")
	}
	var old schema.Token
	if ok, err := getJSON(f.tx, schema.TokenKey(p.ID), &old); err != nil {
		return err
	} else if ok {
		if err := del(f.tx, schema.TokenLookupKey(old.Lookup)); err != nil {
			return err
		}
	}
	t := schema.Token{KeyID: p.ID, Account: ev.Account, Lookup: p.Lookup, Issued: ev.Time}
	if err := setJSON(f.tx, schema.TokenKey(p.ID), &t); err != nil {
		return err
	}
	_, _, err := f.tx.Set(schema.TokenLookupKey(p.Lookup), p.ID, nil)
	return err
}

// uploadCreated opens a multipart upload of a storage service.
func (f *folder) uploadCreated(ev *schema.Event) error {
	var p schema.UploadCreated
	if err := ev.Decode(&p); err != nil {
		return err
	}
	svc, ok, err := f.service(ev.Service)
	if err != nil || !ok || svc.Type != schema.ServiceStorage {
		return err
	}
	return setJSON(f.tx, schema.UploadKey(ev.Service, p.Upload), &schema.Upload{
		Service: ev.Service, Path: ev.Path, ID: p.Upload, Account: ev.Account, Initiated: ev.Time,
		Actor: ev.Actor.KeyID, ContentType: p.ContentType, Meta: p.Meta, Headers: p.Headers,
	})
}

// uploadPart stores a part of an open upload, replacing a part with the
// same number; each stored part holds a reference on its blob.
func (f *folder) uploadPart(ev *schema.Event) error {
	var p schema.UploadPart
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if _, err := f.tx.Get(schema.UploadKey(ev.Service, p.Upload)); err == buntdb.ErrNotFound {
		return nil
	} else if err != nil {
		return err
	}
	key := schema.PartKey(ev.Service, p.Upload, p.Number)
	var old schema.Part
	if ok, err := getJSON(f.tx, key, &old); err != nil {
		return err
	} else if ok {
		if err := f.blobRef(old.SHA256, -1); err != nil {
			return err
		}
	}
	if err := f.blobRef(p.SHA256, 1); err != nil {
		return err
	}
	return setJSON(f.tx, key, &schema.Part{Number: p.Number, Size: p.Size, ETag: p.ETag, SHA256: p.SHA256, Modified: ev.Time})
}

// closeUpload removes an open upload and its parts (dropping their blob
// references) and reports whether it was open.
func (f *folder) closeUpload(service, upload string) (bool, error) {
	if _, err := f.tx.Get(schema.UploadKey(service, upload)); err == buntdb.ErrNotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	pfx := schema.PartPrefix(service, upload)
	var keys, digests []string
	err := f.tx.AscendGreaterOrEqual("", pfx, func(k, v string) bool {
		if !strings.HasPrefix(k, pfx) {
			return false
		}
		keys = append(keys, k)
		var part schema.Part
		if decodeJSON(v, &part) == nil {
			digests = append(digests, part.SHA256)
		}
		return true
	})
	if err != nil {
		return false, err
	}
	if err := f.forget(append(keys, schema.UploadKey(service, upload)), digests); err != nil {
		return false, err
	}
	return true, nil
}

// purge forgets one version of ev's object. If the newest version changes,
// the object's live state follows the newest remaining one.
func (f *folder) purge(ev *schema.Event, version string) error {
	svc, ok, err := f.service(ev.Service)
	if err != nil || !ok || svc.Type != schema.ServiceStorage {
		return err
	}
	// versions newest first, up to the purged one and the one after it
	pfx := schema.VersionPathPrefix(ev.Service, ev.Path)
	var vs []*schema.Version
	var keys []string
	at := -1
	err = f.tx.AscendGreaterOrEqual("", pfx, func(k, raw string) bool {
		if !strings.HasPrefix(k, pfx) || len(k) != len(pfx)+16 {
			return false
		}
		v := new(schema.Version)
		if decodeJSON(raw, v) != nil {
			return true
		}
		vs, keys = append(vs, v), append(keys, k)
		if v.Version == version {
			at = len(vs) - 1
		}
		return at < 0 || (at == 0 && len(vs) < 2)
	})
	if err != nil {
		return err
	}
	if at < 0 {
		// a version this projection never held (a replica that followed
		// its primary after the version was purged there): the purge is
		// still a change, numbered as on the primary
		svc.LastSeq = ev.Seq
		return f.markPurge(svc, ev, version)
	}
	gone, goneKey := vs[at], keys[at]
	var newest, next *schema.Version
	if at > 0 {
		newest = vs[0]
	} else if len(vs) > 1 {
		next = vs[1]
	}
	if err := f.dropVersion(goneKey, gone); err != nil {
		return err
	}
	svc.LastSeq = ev.Seq
	if err := f.markPurge(svc, ev, version); err != nil {
		return err
	}
	if newest != nil { // a non-newest version: the live state is unchanged
		return f.putService(svc)
	}
	// the newest version went: the next one (if any) decides
	if !gone.Deleted {
		if err := f.unlinkLive(svc, ev.Service, ev.Path); err != nil {
			return err
		}
	}
	if next != nil && !next.Deleted {
		if err := f.usage(svc, 1, next.Size); err != nil {
			return err
		}
		if err := setJSON(f.tx, schema.ObjectKey(ev.Service, ev.Path), next); err != nil {
			return err
		}
		if next.DeleteAt > 0 {
			if _, _, err := f.tx.Set(schema.ExpiryKey(next.DeleteAt, ev.Service, ev.Path), next.Version, nil); err != nil {
				return err
			}
		}
	}
	return f.putService(svc)
}

// dropNull forgets an object's null version, which a new null version
// replaces (versioning suspended: S3 keeps one null version per key).
func (f *folder) dropNull(service, path string) error {
	pfx := schema.VersionPathPrefix(service, path)
	var keys []string
	var versions []*schema.Version
	err := f.tx.AscendGreaterOrEqual("", pfx, func(k, raw string) bool {
		if !strings.HasPrefix(k, pfx) || len(k) != len(pfx)+16 {
			return false
		}
		if !strings.Contains(raw, `"null":true`) {
			return true
		}
		v := new(schema.Version)
		if decodeJSON(raw, v) == nil && v.Null {
			keys, versions = append(keys, k), append(versions, v)
		}
		return true
	})
	if err != nil {
		return err
	}
	for i, k := range keys {
		if err := f.dropVersion(k, versions[i]); err != nil {
			return err
		}
	}
	return nil
}

// blobInline is how an object.put.v1 payload writes inline bytes: the
// blob's digest, then the base64 bytes. `"blob":{` cannot occur inside a
// string (its quotes would be escaped) nor in meta or headers (their
// values are strings), so the match is the blob field itself.
var (
	blobKey    = []byte(`"blob":{"sha256":"`)
	inlineKey  = []byte(`","inline":"`)
	emptyValue = []byte(`","inline":"x"`)
)

// putView is the part of an object.put.v1 payload a fold decodes: the
// inline bytes stay raw JSON.
type putView struct {
	schema.ObjectPut
	Blob struct {
		SHA256 string          `json:"sha256"`
		Inline json.RawMessage `json:"inline"`
		InSeq  uint64          `json:"in_seq"`
	} `json:"blob"`
}

// withoutInline returns an object.put payload with its inline bytes (most
// of a small object's event) replaced by a one-character placeholder, so
// decoding it does not scan them: the fold only needs to know they are
// there. Payloads of another shape are returned as they are.
func withoutInline(data []byte) []byte {
	i := bytes.Index(data, blobKey)
	if i < 0 {
		return data
	}
	j := i + len(blobKey) + 64 // a SHA-256 in hex
	if j+len(inlineKey) > len(data) || !bytes.Equal(data[j:j+len(inlineKey)], inlineKey) {
		return data
	}
	start := j + len(inlineKey)
	end := bytes.IndexByte(data[start:], '"') // base64 holds no quotes or escapes
	if end <= 0 {
		return data
	}
	out := make([]byte, 0, len(data)-end+1)
	out = append(out, data[:j]...)
	out = append(out, emptyValue...)
	return append(out, data[start+end+1:]...)
}

// forget deletes keys and drops one reference from each blob digest.
func (f *folder) forget(keys, digests []string) error {
	for _, k := range keys {
		if err := del(f.tx, k); err != nil {
			return err
		}
	}
	for _, d := range digests {
		if err := f.blobRef(d, -1); err != nil {
			return err
		}
	}
	return nil
}
