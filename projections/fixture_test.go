package projections

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/<scenario>/want.json from the current fold")

// Fixture format
//
// Each scenario is a folder testdata/<scenario>/ holding:
//
//   - events.jsonl: the log, one event per line. schema.Event does not carry
//     its stream sequence in JSON (Seq is json:"-"), so every line wraps the
//     event with it: {"seq":N,"event":{...schema.Event...}}. Sequences must
//     grow strictly from line to line. Unknown fields are rejected so that a
//     typo in a fixture cannot silently fold as a zero value (the event's
//     "data" is kept raw, as the log keeps it).
//   - want-error.txt (only in a scenario whose log holds an event the fold
//     cannot decode): the error the fold stops with, as FoldError prints it.
//     The events before it are applied; nothing from it on.
//   - want.json: the projections after folding every event (or, with
//     want-error.txt, every event before the one it names), as a JSON object
//     from buntdb key to value, in key (byte) order. Records (accounts,
//     services, keys, live and past versions) are shown decoded and
//     indented; every other value (counters, checkpoints, paths of the
//     change index, version ids of the expiry schedule) as a JSON string. Keys keep their NUL
//     separators as \u0000; a version key ends with the sync id inverted
//     (math.MaxUint64 - id, in hex), so fffffffffffffffe is sync id 1.
//
// Regenerate with: go test ./projections -run TestStore_Apply -update
// and review the diff of want.json by eye before keeping it.

// fixtureLine is one line of events.jsonl.
type fixtureLine struct {
	Seq   uint64        `json:"seq"`
	Event *schema.Event `json:"event"`
}

func loadFixture(t *testing.T, file string) []*schema.Event {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*schema.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var l fixtureLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("%s:%d: %v", file, n, err)
		}
		if l.Event == nil || l.Event.Type == "" {
			t.Fatalf("%s:%d: no event", file, n)
		}
		if len(out) > 0 && l.Seq <= out[len(out)-1].Seq || l.Seq == 0 {
			t.Fatalf("%s:%d: seq %d does not grow", file, n, l.Seq)
		}
		l.Event.Seq = l.Seq
		out = append(out, l.Event)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no events", file)
	}
	return out
}

// render returns the golden form of a store: see "Fixture format".
func render(t *testing.T, s *Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("{")
	first := true
	err := s.db.View(func(tx *buntdb.Tx) error {
		var ferr error
		err := tx.Ascend("", func(k, v string) bool {
			if !first {
				buf.WriteString(",")
			}
			first = false
			buf.WriteString("\n  ")
			buf.Write(jsonString(k))
			buf.WriteString(": ")
			if isRecord(k) {
				var ind bytes.Buffer
				if ferr = json.Indent(&ind, []byte(v), "  ", "  "); ferr != nil {
					ferr = fmt.Errorf("key %q: %w", k, ferr)
					return false
				}
				buf.Write(ind.Bytes())
			} else {
				buf.Write(jsonString(v))
			}
			return true
		})
		if ferr != nil {
			return ferr
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\n}\n")
	return buf.Bytes()
}

// isRecord reports whether a key holds a JSON record (see schema/keys.go);
// every other value is a plain string, even one that looks like JSON (a
// path in the change index may be "{}").
func isRecord(key string) bool {
	for _, p := range []string{"acct:", "svc:", "key:", "o:", "v:", "pv:"} {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// jsonString encodes s as a JSON string without HTML escaping, so ">" and
// "&" in paths stay readable.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // a string always encodes
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func openMemory(t testing.TB) *Store {
	t.Helper()
	s, err := Open(":memory:", Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func apply(t testing.TB, s *Store, evs []*schema.Event) {
	t.Helper()
	if err := s.Apply(evs); err != nil {
		t.Fatal(err)
	}
}

func digest(t testing.TB, s *Store) string {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func scenarios(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 11 {
		t.Fatalf("found %d scenarios in testdata, want at least 11", len(dirs))
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

// TestStore_Apply folds every fixture and checks the golden dump, that a
// replay changes nothing, and that stopping anywhere, reopening and
// continuing gives the same indexes as one straight fold.
func TestStore_Apply(t *testing.T) {
	for _, dir := range scenarios(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			all := loadFixture(t, filepath.Join(dir, "events.jsonl"))
			straight := openMemory(t)
			evs := applyFixture(t, dir, straight, all) // the events that fold
			last := uint64(0)
			if len(evs) > 0 {
				last = evs[len(evs)-1].Seq
			}
			want := digest(t, straight)

			t.Run("golden", func(t *testing.T) {
				got := render(t, straight)
				golden := filepath.Join(dir, "want.json")
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				exp, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(got, exp) {
					t.Errorf("fold differs from %s (rerun with -update and review the diff):\n%s", golden, lineDiff(string(exp), string(got)))
				}
				if !json.Valid(got) {
					t.Errorf("golden rendering is not valid JSON")
				}
			})

			t.Run("replay", func(t *testing.T) {
				s := openMemory(t)
				apply(t, s, evs)
				apply(t, s, evs) // at or below the checkpoint: all skipped
				if got := s.Applied(); got != last {
					t.Errorf("Applied() = %d, want %d", got, last)
				}
				if got := digest(t, s); got != want {
					t.Errorf("digest after replaying into the same store = %s, want %s", got, want)
				}
				fresh := openMemory(t)
				apply(t, fresh, evs)
				if got := digest(t, fresh); got != want {
					t.Errorf("digest of a second fresh fold = %s, want %s", got, want)
				}
				// Batch boundaries do not matter: one event per transaction.
				single := openMemory(t)
				for _, ev := range evs {
					apply(t, single, []*schema.Event{ev})
				}
				if got := digest(t, single); got != want {
					t.Errorf("digest of an event-by-event fold = %s, want %s", got, want)
				}
			})

			t.Run("resume", func(t *testing.T) {
				for k := 0; k <= len(evs); k++ {
					file := filepath.Join(t.TempDir(), "proj.db")
					s, err := Open(file, Options{NoSync: true})
					if err != nil {
						t.Fatal(err)
					}
					apply(t, s, evs[:k])
					before := digest(t, s)
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s, err = Open(file, Options{NoSync: true})
					if err != nil {
						t.Fatal(err)
					}
					wantApplied := uint64(0)
					if k > 0 {
						wantApplied = evs[k-1].Seq
					}
					if got := s.Applied(); got != wantApplied {
						t.Errorf("k=%d: Applied() after reopen = %d, want %d", k, got, wantApplied)
					}
					if got := digest(t, s); got != before {
						t.Errorf("k=%d: reopening changed the digest", k)
					}
					apply(t, s, evs[:k]) // already applied: skipped
					if got := digest(t, s); got != before {
						t.Errorf("k=%d: re-sending applied events changed the digest", k)
					}
					apply(t, s, evs) // re-sends evs[:k] again, then the rest
					if got := digest(t, s); got != want {
						t.Errorf("k=%d: stop, reopen and continue gives digest %s, want %s", k, got, want)
					}
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
				}
			})
		})
	}
}

// applyFixture applies a scenario's events to s. When the scenario has a
// want-error.txt, the fold must stop with that FoldError, at the event it
// names, having applied the events before it; they (the events that fold)
// are returned, and the stop is checked again one event at a time and on
// a reopened file.
func applyFixture(t *testing.T, dir string, s *Store, evs []*schema.Event) []*schema.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "want-error.txt"))
	if errors.Is(err, fs.ErrNotExist) {
		apply(t, s, evs)
		return evs
	}
	if err != nil {
		t.Fatal(err)
	}
	wantErr := strings.TrimSpace(string(raw))
	stopsAt := func(t *testing.T, s *Store, err error) *FoldError {
		t.Helper()
		var fe *FoldError
		if !errors.As(err, &fe) {
			t.Fatalf("fold error = %v, want a *FoldError: %s", err, wantErr)
		}
		if fe.Error() != wantErr {
			t.Fatalf("fold error = %q, want %q", fe.Error(), wantErr)
		}
		if got := s.Applied(); got != fe.Seq-1 {
			t.Fatalf("Applied() = %d after stopping at %d, want %d", got, fe.Seq, fe.Seq-1)
		}
		return fe
	}
	fe := stopsAt(t, s, s.Apply(evs))
	good := evs[:0:0]
	for _, ev := range evs {
		if ev.Seq < fe.Seq {
			good = append(good, ev)
		}
	}
	want := digest(t, s)
	t.Run("stops", func(t *testing.T) {
		// again: the same error, nothing applied
		stopsAt(t, s, s.Apply(evs[len(good):]))
		if got := digest(t, s); got != want {
			t.Errorf("a second Apply after the stop changed the indexes")
		}
		// one event per transaction stops at the same place
		single := openMemory(t)
		var err error
		for _, ev := range evs {
			if err = single.Apply([]*schema.Event{ev}); err != nil {
				break
			}
		}
		stopsAt(t, single, err)
		if got := digest(t, single); got != want {
			t.Errorf("event-by-event fold stopped with other indexes than one batch")
		}
		// a reopened file resumes after the last good event and stops again
		file := filepath.Join(t.TempDir(), "proj.db")
		f, err := Open(file, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		stopsAt(t, f, f.Apply(evs))
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if f, err = Open(file, Options{NoSync: true}); err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stopsAt(t, f, f.Apply(evs))
		if got := digest(t, f); got != want {
			t.Errorf("reopened store stopped with other indexes")
		}
	})
	return good
}

// lineDiff shows the lines of want and got that differ, with a little
// context, for a readable failure.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl == gl {
			continue
		}
		fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		if shown++; shown == 20 {
			b.WriteString("  ...\n")
			break
		}
	}
	return b.String()
}
