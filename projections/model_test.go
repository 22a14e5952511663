package projections

import (
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// The model test: random sequences of object events (put, delete, copy,
// metadata change, expiry, plus the odd service deletion and re-creation,
// event for a missing service and checkpoint, which the fold ignores) are
// folded into a store and into a naive in-memory model written from the
// documented semantics; every query must agree with the model.
//
// FuzzFold's seed corpus (fixed seeds, so `go test` runs the same
// sequences every time) runs as part of the normal tests; explore further
// with: go test ./projections -run '^$' -fuzz FuzzFold -fuzztime 1m

var (
	modelServices = []string{"s1", "s2"}
	modelPaths    = []string{"a", "a/", "a/b", "a/c/d", "ab", "b", "ü/x", "*", "> x"}
	modelDigests  = []string{digestOf("d1"), digestOf("d2"), digestOf("d3")}
	modelPrefixes = []string{"", "a", "a/", "ü/", "zz"}
)

// model is the naive state: per service, every version of every path.
type model struct {
	services map[string]*modelService
	created  map[string]time.Time // creation times of existing services
	// accountServices and accountBytes are the account's counters.
	accountServices int64
	accountBytes    int64
}

type modelService struct {
	lastSeq  uint64
	versions map[string][]*schema.Version // per path, oldest first
	changes  []*schema.Version            // by sync id, from 1
}

func newModel() *model {
	return &model{services: map[string]*modelService{}, created: map[string]time.Time{}}
}

// head returns the newest version of a path, or nil.
func (ms *modelService) head(path string) *schema.Version {
	vs := ms.versions[path]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// live returns the live version of a path (not a tombstone), or nil.
func (ms *modelService) live(path string) *schema.Version {
	if h := ms.head(path); h != nil && !h.Deleted {
		return h
	}
	return nil
}

func (ms *modelService) record(ev *schema.Event, v *schema.Version) {
	v.Service, v.Path, v.Seq, v.Time, v.Actor = ev.Service, ev.Path, ev.Seq, ev.Time, ev.Actor.KeyID
	v.SyncID = uint64(len(ms.changes) + 1)
	ms.versions[ev.Path] = append(ms.versions[ev.Path], v)
	ms.changes = append(ms.changes, v)
	ms.lastSeq = ev.Seq
}

// usage sums the live versions of a service.
func (ms *modelService) usage() (files, bytes int64) {
	for p := range ms.versions {
		if v := ms.live(p); v != nil {
			files++
			bytes += v.Size
		}
	}
	return files, bytes
}

// refs counts, per blobstore digest, the versions that reference it.
func (m *model) refs() map[string]int64 {
	out := map[string]int64{}
	for _, ms := range m.services {
		for _, vs := range ms.versions {
			for _, v := range vs {
				if !v.Deleted && v.Blob.InSeq == 0 && v.Blob.SHA256 != "" {
					out[v.Blob.SHA256]++
				}
			}
		}
	}
	return out
}

// apply folds one event into the model.
func (m *model) apply(ev *schema.Event) {
	switch ev.Type {
	case schema.TypeServiceCreated:
		if _, ok := m.services[ev.Service]; !ok {
			m.services[ev.Service] = &modelService{lastSeq: ev.Seq, versions: map[string][]*schema.Version{}}
			m.created[ev.Service] = ev.Time
			m.accountServices++
		}
		return
	case schema.TypeServiceDeleted:
		if ms, ok := m.services[ev.Service]; ok {
			_, bytes := ms.usage()
			m.accountBytes -= bytes
			m.accountServices--
			delete(m.services, ev.Service)
			delete(m.created, ev.Service)
		}
		return
	}
	ms, ok := m.services[ev.Service]
	if !ok {
		return
	}
	_, before := ms.usage()
	switch ev.Type {
	case schema.TypeObjectPut:
		var p schema.ObjectPut
		mustDecode(ev, &p)
		blob := schema.BlobRef{SHA256: p.Blob.SHA256, InSeq: p.Blob.InSeq}
		if len(p.Blob.Inline) > 0 || p.Size == 0 {
			blob.InSeq = ev.Seq // the bytes travel in this event
		}
		ms.record(ev, &schema.Version{Version: p.Version, Op: schema.OpPut, Size: p.Size, ETag: p.ETag,
			ContentType: p.ContentType, Meta: p.Meta, DeleteAt: p.DeleteAt, Blob: blob})
	case schema.TypeObjectCopy:
		var p schema.ObjectCopy
		mustDecode(ev, &p)
		from := p.From
		ms.record(ev, &schema.Version{Version: p.Version, Op: schema.OpCopy, Size: p.Size, ETag: p.ETag,
			ContentType: p.ContentType, Meta: p.Meta, DeleteAt: p.DeleteAt, Blob: p.Blob, CopiedFrom: &from})
	case schema.TypeObjectMeta:
		var p schema.ObjectMeta
		mustDecode(ev, &p)
		if cur := ms.live(ev.Path); cur != nil {
			ms.record(ev, &schema.Version{Version: p.Version, Op: schema.OpMeta, Size: cur.Size, ETag: cur.ETag,
				ContentType: p.ContentType, Meta: p.Meta, DeleteAt: p.DeleteAt, Blob: cur.Blob})
		}
	case schema.TypeObjectDelete:
		var p schema.ObjectDelete
		mustDecode(ev, &p)
		if ms.live(ev.Path) != nil {
			ms.record(ev, &schema.Version{Version: p.Version, Op: schema.OpDelete, Deleted: true})
		}
	case schema.TypeObjectExpired:
		var p schema.ObjectExpired
		mustDecode(ev, &p)
		if cur := ms.live(ev.Path); cur != nil && cur.Version == p.Expired {
			ms.record(ev, &schema.Version{Version: p.Version, Op: schema.OpExpire, Deleted: true})
		}
	}
	_, after := ms.usage()
	m.accountBytes += after - before
}

func mustDecode(ev *schema.Event, v any) {
	if err := ev.Decode(v); err != nil {
		panic(err)
	}
}

// listing returns the entries (files and common prefixes) a List with
// these options must give, at sync id asof (0: now) and hiding versions
// expired at now (zero: none).
func (ms *modelService) listing(prefix, delim string, asof uint64, now time.Time) (entries []string, files map[string]*schema.Version) {
	files = map[string]*schema.Version{}
	seen := map[string]bool{}
	for p, vs := range ms.versions {
		var v *schema.Version
		for _, x := range vs {
			if asof == 0 || x.SyncID <= asof {
				v = x
			}
		}
		if v == nil || v.Deleted || (!now.IsZero() && v.ExpiredAt(now)) || !strings.HasPrefix(p, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(p[len(prefix):], delim); i >= 0 {
				seen[p[:len(prefix)+i+len(delim)]] = true
				continue
			}
		}
		files[p] = v
		seen[p] = true
	}
	for e := range seen {
		entries = append(entries, e)
	}
	sort.Strings(entries)
	return entries, files
}

// gen turns fuzz bytes into events: each op reads a few bytes; missing
// bytes read as zero, so every input is a valid log.
type gen struct {
	data []byte
	b    *logBuilder
	m    *model // tracks the state to aim events at live objects
}

func (g *gen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	c := g.data[0]
	g.data = g.data[1:]
	return c
}

func (g *gen) pick(n int) int { return int(g.byte()) % n }

func (g *gen) deleteAt() int64 {
	switch g.pick(8) {
	case 0:
		return g.b.now.Unix() - 5 // already past
	case 1:
		return g.b.now.Unix() + 2
	case 2:
		return g.b.now.Unix() + int64(g.pick(20))
	}
	return 0
}

func (g *gen) meta() map[string]string {
	if g.pick(3) == 0 {
		return map[string]string{"k": strconv.Itoa(g.pick(3))}
	}
	return nil
}

// anyVersion returns some version id of the path, or a made-up one.
func (g *gen) anyVersion(ms *modelService, path string) string {
	if ms != nil && len(ms.versions[path]) > 0 {
		vs := ms.versions[path]
		return vs[g.pick(len(vs))].Version
	}
	return "nope"
}

// step appends one random event to the log.
func (g *gen) step() {
	b := g.b
	b.step = time.Duration(g.pick(3)) * time.Second // equal times happen
	svc := modelServices[g.pick(len(modelServices))]
	path := modelPaths[g.pick(len(modelPaths))]
	ms := g.m.services[svc]
	switch op := g.pick(20); {
	case op < 6:
		size := []int64{0, 1, 3, 100, 1000}[g.pick(5)]
		deleteAt, meta := g.deleteAt(), g.meta()
		p := schema.ObjectPut{Version: b.nextID(), Size: size, ContentType: "application/octet-stream",
			Meta: meta, DeleteAt: deleteAt}
		switch {
		case size == 0: // empty bodies travel inline (and are omitted)
			p.Blob = schema.BlobRef{SHA256: digestOf("")}
		case size < 100:
			data := []byte(strings.Repeat("x", int(size)))
			p.Blob = schema.BlobRef{SHA256: digestOf(string(data)), Inline: data}
		default:
			p.Blob = schema.BlobRef{SHA256: modelDigests[g.pick(len(modelDigests))]}
		}
		p.ETag = etagOf(p.Blob.SHA256)
		b.add(schema.TypeObjectPut, svc, path, p)
	case op < 9:
		b.del(svc, path)
	case op < 12:
		fromSvc := modelServices[g.pick(len(modelServices))]
		fromPath := modelPaths[g.pick(len(modelPaths))]
		var src *schema.Version
		if fs := g.m.services[fromSvc]; fs != nil {
			src = fs.live(fromPath)
		}
		if src == nil {
			src = &schema.Version{Service: fromSvc, Path: fromPath, Version: "nope", Size: 1000,
				ETag: "etag-nope", Blob: schema.BlobRef{SHA256: modelDigests[0]}}
		}
		b.copy(svc, path, src, g.deleteAt())
	case op < 15:
		b.meta(svc, path, []string{"text/plain", "image/png"}[g.pick(2)], g.meta(), g.deleteAt())
	case op < 18:
		var v string
		if ms != nil {
			if cur := ms.live(path); cur != nil && g.pick(3) > 0 {
				v = cur.Version // the live version: recorded
			}
		}
		if v == "" {
			v = g.anyVersion(ms, path) // stale or unknown: a no-op
		}
		b.expire(svc, path, v)
	case op == 18:
		switch g.pick(4) {
		case 0:
			if ms != nil {
				b.deleteService(svc)
			} else {
				b.service(svc)
			}
		case 1:
			b.put("missing", path, 100, modelDigests[0], 0)
		default:
			// a type the fold leaves alone (an unknown type stops it: see
			// TestStore_ApplyStops)
			b.add(schema.TypeCheckpoint, "", "", schema.Checkpoint{Seq: b.seq, Chain: "00", Key: "00", Sig: "00"})
		}
	default:
		if ms == nil {
			b.service(svc) // bring deleted services back
		} else {
			b.put(svc, path, 1000, modelDigests[g.pick(len(modelDigests))], 0)
		}
	}
	g.m.apply(b.events[len(b.events)-1])
}

// maxModelOps bounds one sequence, so fuzzing stays fast.
const maxModelOps = 120

func FuzzFold(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 1, 1, 1, 1})
	// Fixed pseudo-random seeds: the same corpus on every run.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		data := make([]byte, 50+r.IntN(700))
		for j := range data {
			data[j] = byte(r.UintN(256))
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newLog()
		b.account(schema.DefaultAccount)
		m := newModel()
		for _, svc := range modelServices {
			b.service(svc)
			m.apply(b.events[len(b.events)-1])
		}
		g := &gen{data: data, b: b, m: m}
		for i := 0; i < maxModelOps && len(g.data) > 0; i++ {
			g.step()
		}

		s := openMemory(t)
		// Fold in a few batches, checking the model after each.
		for from := 0; from < len(b.events); {
			to := min(len(b.events), from+1+int(b.events[from].Seq*7%13))
			apply(t, s, b.events[:to]) // re-sends what is applied: skipped
			from = to
		}
		checkModel(t, s, m, b)

		// One event per transaction gives the same indexes.
		single := openMemory(t)
		for _, ev := range b.events {
			apply(t, single, []*schema.Event{ev})
		}
		if digest(t, single) != digest(t, s) {
			t.Error("folding event by event gives other indexes than folding in batches")
		}
	})
}

// checkModel compares every query with the model.
func checkModel(t *testing.T, s *Store, m *model, b *logBuilder) {
	t.Helper()
	ctx := context.Background()
	now := b.now
	if got := s.Applied(); got != b.seq {
		t.Fatalf("Applied() = %d, want %d", got, b.seq)
	}
	acct, err := s.Account(ctx, schema.DefaultAccount)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Bytes != m.accountBytes || acct.Services != m.accountServices {
		t.Errorf("account bytes %d, services %d; model %d, %d", acct.Bytes, acct.Services, m.accountBytes, m.accountServices)
	}
	refs := m.refs()
	for _, d := range append(slices.Clone(modelDigests), digestOf(""), digestOf("x")) {
		if got := blobRefCount(t, s, d); got != refs[d] {
			t.Errorf("br:%s = %d, model %d", d[:8], got, refs[d])
		}
		ok, err := s.BlobReferenced(ctx, d)
		if err != nil || ok != (refs[d] > 0) {
			t.Errorf("BlobReferenced(%s) = %v, %v; model %d references", d[:8], ok, err, refs[d])
		}
	}

	var due []Expiring
	for _, svc := range append(slices.Clone(modelServices), "missing") {
		ms := m.services[svc]
		got, err := s.Service(ctx, svc)
		if ms == nil {
			if !schema.IsKind(err, schema.KindNotFound) {
				t.Errorf("Service(%s) = %+v, %v; the model has no such service", svc, got, err)
			}
			if res, err := s.List(ctx, svc, ListOptions{}); err != nil || len(res.Files) > 0 {
				t.Errorf("List of the missing service %s = %v, %v", svc, res, err)
			}
			if cs, err := s.Changes(ctx, svc, 0, 0); err != nil || len(cs) > 0 {
				t.Errorf("Changes of the missing service %s = %v, %v", svc, cs, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		files, bytes := ms.usage()
		if got.Files != files || got.Bytes != bytes || got.LastSyncID != uint64(len(ms.changes)) || got.LastSeq != ms.lastSeq {
			t.Errorf("%s: files %d bytes %d last_sync_id %d last_seq %d; model %d %d %d %d", svc,
				got.Files, got.Bytes, got.LastSyncID, got.LastSeq, files, bytes, len(ms.changes), ms.lastSeq)
		}
		if !got.Created.Equal(m.created[svc]) {
			t.Errorf("%s: created %v, model %v", svc, got.Created, m.created[svc])
		}

		// Versions, Head, Object and VersionAt of every path.
		for _, p := range append(slices.Clone(modelPaths), "never") {
			vs, err := s.Versions(ctx, svc, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(ms.versions[p])
			slices.Reverse(want)
			if g, w := jsonOf(vs), jsonOf(want); g != w {
				t.Errorf("Versions(%s, %q):\n got %s\nwant %s", svc, p, g, w)
			}
			obj, err := s.Object(ctx, svc, p)
			if live := ms.live(p); live == nil {
				if !schema.IsKind(err, schema.KindNotFound) {
					t.Errorf("Object(%s, %q) = %+v, %v; model: not live", svc, p, obj, err)
				}
			} else if err != nil || jsonOf(obj) != jsonOf(live) {
				t.Errorf("Object(%s, %q) = %s, %v; model %s", svc, p, jsonOf(obj), err, jsonOf(live))
			}
			if head := ms.head(p); head != nil {
				if got, err := s.Head(ctx, svc, p); err != nil || got.Version != head.Version {
					t.Errorf("Head(%s, %q) = %+v, %v; model %s", svc, p, got, err, head.Version)
				}
			}
			for i, v := range ms.versions[p] {
				got, err := s.VersionAt(ctx, svc, p, v.SyncID)
				if err != nil || got.Version != v.Version {
					t.Errorf("VersionAt(%s, %q, %d) = %+v, %v; want %s", svc, p, v.SyncID, got, err, v.Version)
				}
				if i == 0 {
					if _, err := s.VersionAt(ctx, svc, p, v.SyncID-1); !schema.IsKind(err, schema.KindNotFound) {
						t.Errorf("VersionAt(%s, %q) before its first version: err = %v, want not found", svc, p, err)
					}
				}
			}
			if live := ms.live(p); live != nil && live.DeleteAt > 0 {
				due = append(due, Expiring{DeleteAt: live.DeleteAt, Service: svc, Path: p, Version: live.Version})
			}
		}

		// The change index.
		cs, err := s.Changes(ctx, svc, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := jsonOf(cs), jsonOf(ms.changes); g != w {
			t.Errorf("Changes(%s):\n got %s\nwant %s", svc, g, w)
		}
		first, err := s.FirstSyncID(ctx, svc)
		if err != nil || (len(ms.changes) > 0) != (first == 1) || (len(ms.changes) == 0) != (first == 0) {
			t.Errorf("FirstSyncID(%s) = %d, %v with %d changes", svc, first, err, len(ms.changes))
		}
		for _, c := range ms.changes {
			n, err := s.SyncAt(ctx, svc, c.Time)
			want := c.SyncID
			for _, d := range ms.changes[c.SyncID:] {
				if d.Time.Equal(c.Time) {
					want = d.SyncID
				}
			}
			if err != nil || n != want {
				t.Errorf("SyncAt(%s, %v) = %d, %v; model %d", svc, c.Time, n, err, want)
			}
		}

		// Listings: now, hiding expired versions, at every past sync id,
		// with prefixes and a delimiter, whole and paged.
		r := rand.New(rand.NewPCG(uint64(len(ms.changes)), uint64(files)))
		for asof := uint64(0); asof <= uint64(len(ms.changes)); asof++ {
			for _, prefix := range modelPrefixes {
				for _, delim := range []string{"", "/"} {
					o := ListOptions{Prefix: prefix, Delimiter: delim, AsOf: asof}
					var hide time.Time
					if asof == 0 && r.IntN(2) == 0 {
						o.Now, hide = now, now
					}
					if asof > 0 && r.IntN(2) == 0 {
						o.AsOfTime = ms.changes[asof-1].Time
						hide = o.AsOfTime
					}
					want, wantFiles := ms.listing(prefix, delim, asof, hide)
					res, err := s.List(ctx, svc, o)
					if err != nil {
						t.Fatal(err)
					}
					if got := entries(t, res); !slices.Equal(got, want) || res.Truncated {
						t.Errorf("List(%s, %+v) = %q, model %q", svc, o, got, want)
						continue
					}
					for _, f := range res.Files {
						if jsonOf(f) != jsonOf(wantFiles[f.Path]) {
							t.Errorf("List(%s, %+v) file %s, model %s", svc, o, jsonOf(f), jsonOf(wantFiles[f.Path]))
						}
					}
					o.Limit = 1 + r.IntN(3)
					if got := listPages(t, s, svc, o); !slices.Equal(got, want) {
						t.Errorf("paging List(%s, %+v) = %q, model %q", svc, o, got, want)
					}
				}
			}
		}
	}

	// The expiry schedule: every live version with a delete_at.
	slices.SortFunc(due, func(x, y Expiring) int {
		return cmp.Or(cmp.Compare(x.DeleteAt, y.DeleteAt), strings.Compare(x.Service, y.Service), strings.Compare(x.Path, y.Path))
	})
	got, err := s.DueExpiries(ctx, now.Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, due) {
		t.Errorf("DueExpiries = %+v, model %+v", got, due)
	}
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// blobRefCount reads a blob's reference count from the index.
func blobRefCount(t *testing.T, s *Store, digest string) int64 {
	t.Helper()
	var n int64
	err := s.db.View(func(tx *buntdb.Tx) error {
		raw, err := tx.Get(schema.BlobRefKey(digest))
		if err == buntdb.ErrNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		n, err = strconv.ParseInt(raw, 10, 64)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
