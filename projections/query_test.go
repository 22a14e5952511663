package projections

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// entries merges a page's files and common prefixes into one list in the
// order a client sees them, checking that the page is in byte order.
func entries(t *testing.T, res *ListResult) []string {
	t.Helper()
	var out []string
	for _, f := range res.Files {
		out = append(out, f.Path)
	}
	if !slices.IsSorted(out) {
		t.Errorf("files not in byte order: %q", out)
	}
	if !slices.IsSorted(res.Prefixes) {
		t.Errorf("prefixes not in byte order: %q", res.Prefixes)
	}
	out = append(out, res.Prefixes...)
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		t.Errorf("a page repeats an entry: %q", out)
	}
	return out
}

func list(t *testing.T, s *Store, service string, o ListOptions) []string {
	t.Helper()
	res, err := s.List(context.Background(), service, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Truncated || res.Next != "" {
		t.Fatalf("listing of %+v was cut short (limit %d): next %q", o, o.Limit, res.Next)
	}
	return entries(t, res)
}

// listPages pages through a listing with o.Limit entries per page, passing
// each page's Next back as After, and returns every entry in order.
func listPages(t *testing.T, s *Store, service string, o ListOptions) []string {
	t.Helper()
	var all []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("paging %+v does not end", o)
		}
		res, err := s.List(context.Background(), service, o)
		if err != nil {
			t.Fatal(err)
		}
		page := entries(t, res)
		if len(page) > o.Limit {
			t.Fatalf("page of %d entries with limit %d", len(page), o.Limit)
		}
		all = append(all, page...)
		if !res.Truncated {
			if res.Next != "" {
				t.Errorf("last page has next %q", res.Next)
			}
			return all
		}
		if len(page) != o.Limit {
			t.Fatalf("truncated page of %d entries with limit %d", len(page), o.Limit)
		}
		if res.Next != page[len(page)-1] {
			t.Fatalf("next %q is not the last entry of the page %q", res.Next, page)
		}
		o.After = res.Next
	}
}

func paths(vs []*schema.Version) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Path)
	}
	return out
}

func versionIDs(vs []*schema.Version) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Version)
	}
	return out
}

func TestStore_List(t *testing.T) {
	ctx := context.Background()
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	b.service("s2")
	expiresAt := baseTime.Add(time.Hour).Unix()
	for _, p := range []string{"a", "a/", "a/1", "a/2", "a/b/3", "a/b/4", "a.txt", "b", "b/", "c/x", "c/y/z", "d", "ü/x", "\x01", "~"} {
		b.put("s", p, 1, digestOf(p), 0)
	}
	b.put("s", "e", 1, digestOf("e"), expiresAt)
	b.put("s", "gone", 1, digestOf("gone"), 0)
	b.del("s", "gone")
	b.put("s2", "a", 1, digestOf("a"), 0) // another service: never listed with s
	s := openMemory(t)
	apply(t, s, b.events)

	all := []string{"\x01", "a", "a.txt", "a/", "a/1", "a/2", "a/b/3", "a/b/4", "b", "b/", "c/x", "c/y/z", "d", "e", "~", "ü/x"}
	cases := []struct {
		name string
		o    ListOptions
		want []string
	}{
		{"All", ListOptions{}, all},
		{"Prefix", ListOptions{Prefix: "a/"}, []string{"a/", "a/1", "a/2", "a/b/3", "a/b/4"}},
		{"PrefixNoMatch", ListOptions{Prefix: "zz"}, nil},
		{"Delimiter", ListOptions{Delimiter: "/"}, []string{"\x01", "a", "a.txt", "a/", "b", "b/", "c/", "d", "e", "~", "ü/"}},
		{"PrefixDelimiter", ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/", "a/1", "a/2", "a/b/"}},
		{"PrefixDelimiterNested", ListOptions{Prefix: "c/", Delimiter: "/"}, []string{"c/x", "c/y/"}},
		{"MultiByteDelimiter", ListOptions{Delimiter: "/b/"}, []string{"\x01", "a", "a.txt", "a/", "a/1", "a/2", "a/b/", "b", "b/", "c/x", "c/y/z", "d", "e", "~", "ü/x"}},
		{"Start", ListOptions{Start: "b"}, []string{"b", "b/", "c/x", "c/y/z", "d", "e", "~", "ü/x"}},
		{"After", ListOptions{After: "b"}, []string{"b/", "c/x", "c/y/z", "d", "e", "~", "ü/x"}},
		{"AfterCommonPrefix", ListOptions{After: "c/", Delimiter: "/"}, []string{"d", "e", "~", "ü/"}},
		{"NowBeforeExpiry", ListOptions{Prefix: "e", Now: time.Unix(expiresAt-1, 0)}, []string{"e"}},
		{"NowAtExpiry", ListOptions{Prefix: "e", Now: time.Unix(expiresAt, 0)}, nil},
		{"NowAfterExpiry", ListOptions{Now: time.Unix(expiresAt+1, 0)}, slices.DeleteFunc(slices.Clone(all), func(p string) bool { return p == "e" })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := list(t, s, "s", c.o); !slices.Equal(got, c.want) {
				t.Errorf("List(%+v) = %q, want %q", c.o, got, c.want)
			}
			// Paging with every small limit gives the same entries, once each.
			for limit := 1; limit <= len(c.want)+1; limit++ {
				o := c.o
				o.Limit = limit
				if got := listPages(t, s, "s", o); !slices.Equal(got, c.want) {
					t.Errorf("paging List(%+v) with limit %d = %q, want %q", c.o, limit, got, c.want)
				}
			}
		})
	}

	t.Run("LiveVersions", func(t *testing.T) {
		res, err := s.List(ctx, "s", ListOptions{Prefix: "a"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Files {
			if f.Service != "s" || f.Deleted || f.Version == "" || f.Size != 1 || f.SyncID == 0 {
				t.Errorf("listed file %+v is not the live version of s", f)
			}
		}
	})
	t.Run("MissingService", func(t *testing.T) {
		if got := list(t, s, "nope", ListOptions{}); len(got) != 0 {
			t.Errorf("List of a missing service = %q, want nothing", got)
		}
	})
	t.Run("AsOf", testListAsOf)
	t.Run("ServiceIsolation", func(t *testing.T) {
		if got := list(t, s, "s2", ListOptions{}); !slices.Equal(got, []string{"a"}) {
			t.Errorf("List(s2) = %q, want [a]", got)
		}
	})
}

// testListAsOf lists a service as it was at past sync ids.
func testListAsOf(t *testing.T) {
	ctx := context.Background()
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	expiresAt := baseTime.Add(time.Hour).Unix()
	b.put("s", "a", 1, digestOf("a1"), 0)          // sync 1
	b.put("s", "b", 2, digestOf("b"), 0)           // sync 2
	b.del("s", "a")                                // sync 3
	b.put("s", "a", 3, digestOf("a2"), 0)          // sync 4
	b.put("s", "c/x", 4, digestOf("c"), expiresAt) // sync 5
	b.put("s", "c/", 5, digestOf("marker"), 0)     // sync 6
	b.meta("s", "b", "text/plain", nil, 0)         // sync 7
	b.put("s", "d", 6, digestOf("d"), 0)           // sync 8
	b.put("s", "a\x01", 7, digestOf("a\x01"), 0)   // sync 9
	b.del("s", "d")                                // sync 10
	b.put("s", "ab", 8, digestOf("ab"), 0)         // sync 11
	b.put("s", "a", 9, digestOf("a3"), 0)          // sync 12
	s := openMemory(t)
	apply(t, s, b.events)

	type entry struct{ path, version string }
	cases := []struct {
		name string
		o    ListOptions
		want []entry
	}{
		{"Sync1", ListOptions{AsOf: 1}, []entry{{"a", "e3"}}},
		{"Sync2", ListOptions{AsOf: 2}, []entry{{"a", "e3"}, {"b", "e4"}}},
		{"Sync3", ListOptions{AsOf: 3}, []entry{{"b", "e4"}}},
		{"Sync4", ListOptions{AsOf: 4}, []entry{{"a", "e6"}, {"b", "e4"}}},
		{"Sync7", ListOptions{AsOf: 7}, []entry{{"a", "e6"}, {"b", "e9"}, {"c/", "e8"}, {"c/x", "e7"}}},
		{"Sync10", ListOptions{AsOf: 10}, []entry{{"a", "e6"}, {"a\x01", "e11"}, {"b", "e9"}, {"c/", "e8"}, {"c/x", "e7"}}},
		{"Sync12", ListOptions{AsOf: 12}, []entry{{"a", "e14"}, {"a\x01", "e11"}, {"ab", "e13"}, {"b", "e9"}, {"c/", "e8"}, {"c/x", "e7"}}},
		{"Future", ListOptions{AsOf: 99}, []entry{{"a", "e14"}, {"a\x01", "e11"}, {"ab", "e13"}, {"b", "e9"}, {"c/", "e8"}, {"c/x", "e7"}}},
		{"Prefix", ListOptions{AsOf: 10, Prefix: "a"}, []entry{{"a", "e6"}, {"a\x01", "e11"}}},
		{"Delimiter", ListOptions{AsOf: 10, Delimiter: "/"}, []entry{{"a", "e6"}, {"a\x01", "e11"}, {"b", "e9"}, {"c/", ""}}},
		{"PrefixDelimiter", ListOptions{AsOf: 10, Prefix: "c/", Delimiter: "/"}, []entry{{"c/", "e8"}, {"c/x", "e7"}}},
		{"ExpiredAtThatTime", ListOptions{AsOf: 10, AsOfTime: time.Unix(expiresAt, 0)}, []entry{{"a", "e6"}, {"a\x01", "e11"}, {"b", "e9"}, {"c/", "e8"}}},
		{"NotYetExpired", ListOptions{AsOf: 10, AsOfTime: time.Unix(expiresAt-1, 0)}, []entry{{"a", "e6"}, {"a\x01", "e11"}, {"b", "e9"}, {"c/", "e8"}, {"c/x", "e7"}}},
		// expired since: gone, but to the service's administrators
		{"ExpiredSinceHidden", ListOptions{AsOf: 10, Now: time.Unix(expiresAt+1, 0)}, []entry{{"a", "e6"}, {"a\x01", "e11"}, {"b", "e9"}, {"c/", "e8"}}},
		{"ExpiredSinceShownToAdmins", ListOptions{AsOf: 10, Now: time.Unix(expiresAt+1, 0), ShowExpired: true}, []entry{{"a", "e6"}, {"a\x01", "e11"}, {"b", "e9"}, {"c/", "e8"}, {"c/x", "e7"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.List(ctx, "s", c.o)
			if err != nil {
				t.Fatal(err)
			}
			var got []entry
			for _, f := range res.Files {
				got = append(got, entry{f.Path, f.Version})
			}
			for _, p := range res.Prefixes {
				got = append(got, entry{p, ""})
			}
			slices.SortFunc(got, func(x, y entry) int { return strings.Compare(x.path, y.path) })
			if !slices.Equal(got, c.want) {
				t.Errorf("List(%+v) = %q, want %q", c.o, got, c.want)
			}
			var want []string
			for _, e := range c.want {
				want = append(want, e.path)
			}
			for limit := 1; limit <= len(c.want)+1; limit++ {
				o := c.o
				o.Limit = limit
				if got := listPages(t, s, "s", o); !slices.Equal(got, want) {
					t.Errorf("paging List(%+v) with limit %d = %q, want %q", c.o, limit, got, want)
				}
			}
		})
	}
}

func TestStore_Versions(t *testing.T) {
	ctx := context.Background()
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	v1 := b.put("s", "a", 10, digestOf("a1"), 0) // sync 1
	b.put("s", "a/b", 1, digestOf("ab"), 0)      // sync 2: shares the prefix "a"
	b.put("s", "ab", 1, digestOf("ab"), 0)       // sync 3
	v2 := b.meta("s", "a", "text/plain", map[string]string{"k": "v"}, 0)
	v3 := b.del("s", "a") // sync 5
	b.put("s", "b", 1, digestOf("b"), 0)
	v4 := b.putInline("s", "a", []byte("hi"), 0) // sync 7
	s := openMemory(t)
	apply(t, s, b.events)

	t.Run("NewestFirst", func(t *testing.T) {
		vs, err := s.Versions(ctx, "s", "a", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := versionIDs(vs), []string{v4, v3, v2, v1}; !slices.Equal(got, want) {
			t.Fatalf("Versions = %q, want %q", got, want)
		}
		var syncs []uint64
		var ops []string
		for _, v := range vs {
			syncs, ops = append(syncs, v.SyncID), append(ops, v.Op)
		}
		if want := []uint64{7, 5, 4, 1}; !slices.Equal(syncs, want) {
			t.Errorf("sync ids = %v, want %v", syncs, want)
		}
		if want := []string{schema.OpPut, schema.OpDelete, schema.OpMeta, schema.OpPut}; !slices.Equal(ops, want) {
			t.Errorf("ops = %q, want %q", ops, want)
		}
		if !vs[1].Deleted || vs[0].Deleted || vs[2].Size != 10 || vs[2].Meta["k"] != "v" || vs[2].Blob.SHA256 != digestOf("a1") {
			t.Errorf("versions hold the wrong contents: %+v %+v %+v", vs[0], vs[1], vs[2])
		}
		if vs[0].Blob.InSeq != 9 {
			t.Errorf("inline version blob = %+v, want in_seq 9", vs[0].Blob)
		}
	})
	t.Run("Limit", func(t *testing.T) {
		vs, err := s.Versions(ctx, "s", "a", 2)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := versionIDs(vs), []string{v4, v3}; !slices.Equal(got, want) {
			t.Errorf("Versions(limit 2) = %q, want %q", got, want)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		vs, err := s.Versions(ctx, "s", "nope", 0)
		if err != nil || len(vs) != 0 {
			t.Errorf("Versions of an unknown path = %v, %v; want none", vs, err)
		}
	})

	t.Run("Version", func(t *testing.T) {
		for _, id := range []string{v1, v2, v3, v4} {
			v, err := s.Version(ctx, "s", "a", id)
			if err != nil || v.Version != id || v.Path != "a" {
				t.Errorf("Version(%s) = %+v, %v", id, v, err)
			}
		}
		if _, err := s.Version(ctx, "s", "a", "e4"); !schema.IsKind(err, schema.KindNotFound) { // a version of a/b
			t.Errorf("Version of another path's version: err = %v, want not found", err)
		}
		if _, err := s.Version(ctx, "s", "zz", v1); !schema.IsKind(err, schema.KindNotFound) {
			t.Errorf("Version of an unknown path: err = %v, want not found", err)
		}
	})

	t.Run("VersionAt", func(t *testing.T) {
		for _, c := range []struct {
			asof uint64
			want string
		}{{1, v1}, {2, v1}, {3, v1}, {4, v2}, {5, v3}, {6, v3}, {7, v4}, {100, v4}} {
			v, err := s.VersionAt(ctx, "s", "a", c.asof)
			if err != nil || v.Version != c.want {
				t.Errorf("VersionAt(%d) = %+v, %v; want %s", c.asof, v, err, c.want)
			}
		}
		if _, err := s.VersionAt(ctx, "s", "b", 5); !schema.IsKind(err, schema.KindNotFound) {
			t.Errorf("VersionAt before the first version: err = %v, want not found", err)
		}
	})

	t.Run("Head", func(t *testing.T) {
		if v, err := s.Head(ctx, "s", "a"); err != nil || v.Version != v4 {
			t.Errorf("Head(a) = %+v, %v; want %s", v, err, v4)
		}
		if _, err := s.Head(ctx, "s", "zz"); !schema.IsKind(err, schema.KindNotFound) {
			t.Errorf("Head of an unknown path: err = %v, want not found", err)
		}
		// A tombstone is the head of a deleted object; Object says it is gone.
		b.del("s", "b")
		apply(t, s, b.events)
		v, err := s.Head(ctx, "s", "b")
		if err != nil || !v.Deleted || v.Op != schema.OpDelete {
			t.Errorf("Head of a deleted object = %+v, %v; want its tombstone", v, err)
		}
		if _, err := s.Object(ctx, "s", "b"); !schema.IsKind(err, schema.KindNotFound) {
			t.Errorf("Object of a deleted object: err = %v, want not found", err)
		}
		if v, err := s.Object(ctx, "s", "a"); err != nil || v.Version != v4 {
			t.Errorf("Object(a) = %+v, %v; want %s", v, err, v4)
		}
	})
}

func TestStore_Changes(t *testing.T) {
	ctx := context.Background()
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	b.service("t")
	b.put("s", "a", 1, digestOf("a"), 0) // s sync 1
	b.put("t", "x", 1, digestOf("x"), 0) // t sync 1
	b.put("s", "b", 1, digestOf("b"), 0) // s sync 2
	b.del("s", "a")                      // s sync 3
	b.del("s", "a")                      // skipped: no change
	b.meta("s", "b", "text/plain", nil, 0)
	b.put("s", "a", 1, digestOf("a"), 0) // s sync 5
	s := openMemory(t)
	apply(t, s, b.events)

	type change struct {
		sync uint64
		path string
		op   string
	}
	all := []change{{1, "a", "put"}, {2, "b", "put"}, {3, "a", "delete"}, {4, "b", "meta"}, {5, "a", "put"}}
	get := func(after uint64, limit int) []change {
		t.Helper()
		vs, err := s.Changes(ctx, "s", after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []change
		for _, v := range vs {
			out = append(out, change{v.SyncID, v.Path, v.Op})
		}
		return out
	}
	for after := uint64(0); after <= 6; after++ {
		for limit := 0; limit <= 6; limit++ {
			want := all[min(int(after), len(all)):]
			if limit > 0 && len(want) > limit {
				want = want[:limit]
			}
			if got := get(after, limit); !slices.Equal(got, want) {
				t.Errorf("Changes(after %d, limit %d) = %v, want %v", after, limit, got, want)
			}
		}
	}
	if vs, err := s.Changes(ctx, "t", 0, 0); err != nil || len(vs) != 1 || vs[0].Path != "x" {
		t.Errorf("Changes(t) = %v, %v; want one change of x", vs, err)
	}
	if vs, err := s.Changes(ctx, "nope", 0, 0); err != nil || len(vs) != 0 {
		t.Errorf("Changes of a missing service = %v, %v; want none", vs, err)
	}
}

func TestStore_FirstSyncID(t *testing.T) {
	ctx := context.Background()
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	s := openMemory(t)
	apply(t, s, b.events)
	first := func(service string) uint64 {
		t.Helper()
		n, err := s.FirstSyncID(ctx, service)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := first("s"); n != 0 {
		t.Errorf("FirstSyncID of an empty service = %d, want 0", n)
	}
	b.put("s", "a", 1, digestOf("a"), 0)
	b.put("s", "b", 1, digestOf("b"), 0)
	apply(t, s, b.events)
	if n := first("s"); n != 1 {
		t.Errorf("FirstSyncID = %d, want 1", n)
	}
	if n := first("missing"); n != 0 {
		t.Errorf("FirstSyncID of a missing service = %d, want 0", n)
	}
	// A re-created service starts a new history.
	b.deleteService("s")
	apply(t, s, b.events)
	if n := first("s"); n != 0 {
		t.Errorf("FirstSyncID of a deleted service = %d, want 0", n)
	}
	b.service("s")
	b.put("s", "c", 1, digestOf("c"), 0)
	apply(t, s, b.events)
	if n := first("s"); n != 1 {
		t.Errorf("FirstSyncID of a re-created service = %d, want 1", n)
	}
}

func TestStore_SyncAt(t *testing.T) {
	ctx := context.Background()
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	b.service("empty")
	// Changes at irregular times, some at the same instant.
	var times []time.Time // times[i] is the time of sync id i+1
	for i, step := range []time.Duration{time.Second, 0, 3 * time.Second, time.Millisecond, 0, 0, time.Hour, time.Nanosecond, time.Second} {
		b.step = step
		b.put("s", "p", int64(i), digestOf("p"), 0)
		times = append(times, b.now)
	}
	s := openMemory(t)
	apply(t, s, b.events)

	// The reference: the largest sync id whose change happened at or before t.
	naive := func(at time.Time) uint64 {
		var n uint64
		for i, ct := range times {
			if !ct.After(at) {
				n = uint64(i + 1)
			}
		}
		return n
	}
	var probes []time.Time
	for _, ct := range times {
		probes = append(probes, ct.Add(-time.Nanosecond), ct, ct.Add(time.Nanosecond))
	}
	probes = append(probes, time.Time{}, baseTime, times[len(times)-1].Add(time.Hour))
	for _, at := range probes {
		got, err := s.SyncAt(ctx, "s", at)
		if err != nil {
			t.Fatal(err)
		}
		if want := naive(at); got != want {
			t.Errorf("SyncAt(%s) = %d, want %d", at.Format(time.RFC3339Nano), got, want)
		}
	}
	if n, err := s.SyncAt(ctx, "empty", times[0]); err != nil || n != 0 {
		t.Errorf("SyncAt of a service without changes = %d, %v; want 0", n, err)
	}
	if _, err := s.SyncAt(ctx, "missing", times[0]); !schema.IsKind(err, schema.KindNotFound) {
		t.Errorf("SyncAt of a missing service: err = %v, want not found", err)
	}
	for i, ct := range times {
		got, err := s.ChangeTime(ctx, "s", uint64(i+1))
		if err != nil || !got.Equal(ct) {
			t.Errorf("ChangeTime(%d) = %v, %v; want %v", i+1, got, err, ct)
		}
	}
	if _, err := s.ChangeTime(ctx, "s", uint64(len(times)+1)); !schema.IsKind(err, schema.KindNotFound) {
		t.Errorf("ChangeTime past the last change: err = %v, want not found", err)
	}
}

func TestStore_DueExpiries(t *testing.T) {
	ctx := context.Background()
	at := func(d time.Duration) int64 { return baseTime.Add(d).Unix() }
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	b.service("t")
	vl := b.put("s", "late", 1, digestOf("late"), at(3*time.Hour))
	vn := b.put("s", "soon", 1, digestOf("soon"), at(time.Hour))
	vt := b.put("t", "soon", 1, digestOf("soon"), at(time.Hour))
	b.put("s", "never", 1, digestOf("never"), 0)
	b.put("s", "moved", 1, digestOf("moved"), at(time.Hour))
	vm := b.meta("s", "moved", "text/plain", nil, at(2*time.Hour)) // rescheduled
	b.put("s", "cleared", 1, digestOf("cleared"), at(time.Hour))
	b.put("s", "cleared", 1, digestOf("cleared"), 0) // overwritten without expiry
	b.put("s", "deleted", 1, digestOf("deleted"), at(time.Hour))
	b.del("s", "deleted")
	vs := b.put("s", "soon2", 1, digestOf("soon2"), at(time.Hour))
	ve := b.put("s", "expired", 1, digestOf("expired"), at(time.Hour))
	b.expire("s", "expired", ve) // recorded, so unscheduled
	s := openMemory(t)
	apply(t, s, b.events)
	if v, err := s.Head(ctx, "s", "expired"); err != nil || v.Op != schema.OpExpire {
		t.Fatalf("the fixture's expiry did not apply: %+v, %v", v, err)
	}

	due := func(now time.Time, limit int) []Expiring {
		t.Helper()
		out, err := s.DueExpiries(ctx, now, limit)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	hour := []Expiring{
		{DeleteAt: at(time.Hour), Service: "s", Path: "soon", Version: vn},
		{DeleteAt: at(time.Hour), Service: "s", Path: "soon2", Version: vs},
		{DeleteAt: at(time.Hour), Service: "t", Path: "soon", Version: vt},
	}
	if got := due(time.Unix(at(time.Hour)-1, 0), 100); len(got) != 0 {
		t.Errorf("DueExpiries before any is due = %+v, want none", got)
	}
	if got := due(time.Unix(at(time.Hour), 0), 100); !slices.Equal(got, hour) {
		t.Errorf("DueExpiries at the hour = %+v, want %+v", got, hour)
	}
	if got := due(time.Unix(at(time.Hour), 0), 2); !slices.Equal(got, hour[:2]) {
		t.Errorf("DueExpiries(limit 2) = %+v, want %+v", got, hour[:2])
	}
	all := append(slices.Clone(hour),
		Expiring{DeleteAt: at(2 * time.Hour), Service: "s", Path: "moved", Version: vm},
		Expiring{DeleteAt: at(3 * time.Hour), Service: "s", Path: "late", Version: vl})
	if got := due(time.Unix(at(10*time.Hour), 0), 100); !slices.Equal(got, all) {
		t.Errorf("DueExpiries later = %+v, want %+v", got, all)
	}
	// Deleting a service unschedules its files.
	b.deleteService("t")
	apply(t, s, b.events)
	if got := due(time.Unix(at(time.Hour), 0), 100); !slices.Equal(got, hour[:2]) {
		t.Errorf("DueExpiries after deleting t = %+v, want %+v", got, hour[:2])
	}
}

func TestStore_BlobReferenced(t *testing.T) {
	ctx := context.Background()
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	b.service("t")
	s := openMemory(t)
	referenced := func(digest string) bool {
		t.Helper()
		apply(t, s, b.events)
		ok, err := s.BlobReferenced(ctx, digest)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	d1, d2, d3 := digestOf("one"), digestOf("two"), digestOf("three")
	if referenced(d1) {
		t.Error("a blob no event mentions is referenced")
	}
	b.put("s", "a", 100, d1, 0)
	if !referenced(d1) {
		t.Error("a put's blob is not referenced")
	}
	b.putInline("s", "inline", []byte("two"), 0)
	if referenced(digestOf("two")) {
		t.Error("an inline object's digest is referenced as a blobstore blob")
	}
	b.put("s", "a", 100, d2, 0) // overwrite: the old version still needs d1
	b.del("s", "a")
	if !referenced(d1) || !referenced(d2) {
		t.Error("blobs of older versions and tombstoned objects must stay referenced")
	}
	b.put("s", "c", 100, d3, 0)
	apply(t, s, b.events)
	src, err := s.Object(ctx, "s", "c")
	if err != nil {
		t.Fatal(err)
	}
	b.copy("t", "c", src, 0)
	b.deleteService("s")
	if !referenced(d3) {
		t.Error("a copy in another service keeps its blob referenced after the source service is deleted")
	}
	if referenced(d1) || referenced(d2) {
		t.Error("blobs of a deleted service are still referenced")
	}
	b.deleteService("t")
	if referenced(d3) {
		t.Error("blob still referenced after every version went")
	}
}

func TestStore_Wait(t *testing.T) {
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	b.put("s", "a", 1, digestOf("a"), 0)
	s := openMemory(t)

	t.Run("ReturnsWhenApplied", func(t *testing.T) {
		type result struct {
			err     error
			applied uint64
		}
		done := make(chan result, 1)
		go func() {
			err := s.Wait(context.Background(), 3)
			done <- result{err, s.Applied()}
		}()
		apply(t, s, b.events[:2])
		apply(t, s, b.events[2:])
		r := <-done // the test's deadline bounds this
		if r.err != nil {
			t.Fatalf("Wait = %v", r.err)
		}
		if r.applied < 3 {
			t.Errorf("Wait(3) returned when only %d was applied", r.applied)
		}
	})
	t.Run("AlreadyApplied", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // an applied sequence wins over an ended context
		for seq := uint64(0); seq <= 3; seq++ {
			if err := s.Wait(ctx, seq); err != nil {
				t.Errorf("Wait(%d) after it was applied = %v", seq, err)
			}
		}
	})
	t.Run("ContextEnds", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Wait(ctx, 4) }()
		cancel()
		err := <-done
		if !schema.IsKind(err, schema.KindUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("Wait with an ended context = %v, want unavailable wrapping context.Canceled", err)
		}
		if got := s.Applied(); got != 3 {
			t.Errorf("Applied() = %d, want 3", got)
		}
	})
	t.Run("Deadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
		defer cancel()
		if err := s.Wait(ctx, 100); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait past its deadline = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestStore_ListVersions(t *testing.T) {
	ctx := context.Background()
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	a1 := b.put("s", "a", 1, digestOf("a1"), 0)
	a2 := b.put("s", "a", 1, digestOf("a2"), 0)
	a3 := b.del("s", "a")
	ab := b.put("s", "a/b", 1, digestOf("ab"), 0)
	ac := b.put("s", "a/c", 1, digestOf("ac"), 0)
	c1 := b.put("s", "c", 1, digestOf("c1"), 0)
	s := openMemory(t)
	apply(t, s, b.events)

	type entry = string // "path@version*" (* when latest) or "prefix/"
	flat := func(r *VersionListResult) []entry {
		var out []entry
		for _, v := range r.Versions {
			e := v.Path + "@" + v.Version.Version
			if v.Latest {
				e += "*"
			}
			out = append(out, e)
		}
		return append(out, r.Prefixes...)
	}
	all := []entry{"a@" + a3 + "*", "a@" + a2, "a@" + a1, "a/b@" + ab + "*", "a/c@" + ac + "*", "c@" + c1 + "*"}
	res, err := s.ListVersions(ctx, "s", VersionListOptions{})
	if err != nil || res.Truncated || !slices.Equal(flat(res), all) {
		t.Fatalf("all = %q (truncated %v, %v), want %q", flat(res), res.Truncated, err, all)
	}
	if !res.Versions[0].Deleted {
		t.Error("the delete marker is not marked deleted")
	}
	// one entry per page, resuming with the markers, walks the same list
	var walked []entry
	o := VersionListOptions{Limit: 1}
	for i := 0; i < 10; i++ {
		r, err := s.ListVersions(ctx, "s", o)
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, flat(r)...)
		if !r.Truncated {
			break
		}
		o.KeyMarker, o.VersionMarker = r.NextKey, r.NextVersion
	}
	if !slices.Equal(walked, []entry{"a@" + a3 + "*", "a@" + a2, "a@" + a1, "a/b@" + ab + "*", "a/c@" + ac + "*", "c@" + c1 + "*"}) {
		t.Fatalf("paged walk = %q", walked)
	}
	cases := []struct {
		name string
		o    VersionListOptions
		want []entry
	}{
		{"Prefix", VersionListOptions{Prefix: "a/"}, []entry{"a/b@" + ab + "*", "a/c@" + ac + "*"}},
		{"Delimiter", VersionListOptions{Delimiter: "/"}, []entry{"a@" + a3 + "*", "a@" + a2, "a@" + a1, "c@" + c1 + "*", "a/"}},
		{"KeyMarker", VersionListOptions{KeyMarker: "a"}, []entry{"a/b@" + ab + "*", "a/c@" + ac + "*", "c@" + c1 + "*"}},
		{"VersionMarker", VersionListOptions{KeyMarker: "a", VersionMarker: a3}, []entry{"a@" + a2, "a@" + a1, "a/b@" + ab + "*", "a/c@" + ac + "*", "c@" + c1 + "*"}},
		{"PrefixMarkerSkipsIt", VersionListOptions{KeyMarker: "a/", Delimiter: "/"}, []entry{"c@" + c1 + "*"}},
	}
	for _, c := range cases {
		r, err := s.ListVersions(ctx, "s", c.o)
		if err != nil || !slices.Equal(flat(r), c.want) {
			t.Errorf("%s: %q (%v), want %q", c.name, flat(r), err, c.want)
		}
	}
}

// Service answers from a cache that every applied batch keeps current:
// usage, deletion and re-creation show at once.
func TestStore_ServiceCacheFollowsTheLog(t *testing.T) {
	ctx := context.Background()
	s := openMemory(t)
	b := newLog()
	b.account(schema.DefaultAccount)
	b.service("s")
	apply(t, s, b.events)
	files := func() int64 {
		t.Helper()
		svc, err := s.Service(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		return svc.Files
	}
	if files() != 0 {
		t.Fatal("new service has files")
	}
	svc, _ := s.Service(ctx, "s")
	svc.Files = 99 // a caller's change never reaches the cache
	b.events = nil
	b.put("s", "a", 1, digestOf("a"), 0)
	b.put("s", "b", 1, digestOf("b"), 0)
	apply(t, s, b.events)
	if got := files(); got != 2 {
		t.Fatalf("files after two puts = %d, want 2", got)
	}
	b.events = nil
	b.del("s", "a")
	b.del("s", "b")
	b.deleteService("s")
	apply(t, s, b.events)
	if _, err := s.Service(ctx, "s"); !schema.IsKind(err, schema.KindNotFound) {
		t.Fatalf("deleted service still answered: %v", err)
	}
	b.events = nil
	b.service("s")
	apply(t, s, b.events)
	if got := files(); got != 0 {
		t.Fatalf("re-created service has %d files", got)
	}
}
