package datadir

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// A damaged log: JetStream recovers a message block whose records do not
// check out by dropping them, so the log then misses a run of sequences in
// its middle (its last sequence stays). Folding past the hole would build
// projections without those events, and reading one of them answers
// "message not found". Servers and offline tools refuse such a log with a
// *DamageError naming the files and what to run: `cairn recover`, which
// makes a new data directory holding every event before the damage.

// DamageError reports events missing from the middle of a log.
type DamageError struct {
	// Dir is the data directory.
	Dir string
	// State is the log as JetStream recovered it.
	State events.LogState
	// Block is the message block file where the first missing event was,
	// "" when it cannot be told.
	Block string
}

// First is the first missing sequence.
func (e *DamageError) First() uint64 { return e.State.Gaps[0].From }

func (e *DamageError) Error() string {
	var runs []string
	for _, g := range e.State.Gaps {
		if g.From == g.To {
			runs = append(runs, strconv.FormatUint(g.From, 10))
		} else {
			runs = append(runs, fmt.Sprintf("%d-%d", g.From, g.To))
		}
	}
	where := filepath.Join(e.Dir, LogDir)
	if e.Block != "" {
		where = e.Block
	}
	keep := "no event before it survives"
	if e.First() > 1 {
		keep = fmt.Sprintf("it keeps events 1-%d", e.First()-1)
	}
	return fmt.Sprintf("the event log is damaged: %d of its %d events are missing (sequences %s; the first, %d, was in %s). "+
		"Stop every cairn on %s and run `cairn recover --data %s --out NEWDIR`: %s in a new data directory "+
		"(the events after the damage cannot be linked or folded without the missing ones); then serve NEWDIR. "+
		"%s is left as it is, for inspection",
		e.State.Missing, e.State.Last, strings.Join(runs, ", "), e.First(), where, e.Dir, e.Dir, keep, e.Dir)
}

// GapDamage is the DamageError of the gap a read of the log in order met
// (events.GapError) in the log of dir.
func GapDamage(dir string, g events.Gap) *DamageError {
	return &DamageError{Dir: dir, State: events.LogState{Missing: g.To - g.From + 1, Gaps: []events.Gap{g}},
		Block: blockOf(dir, g.From)}
}

// CheckLog returns a *DamageError when the log of dir (open as jl) misses
// events, as JetStream's recovered state shows them, else nil. A record
// damaged in place is not in that state: CheckLogFull finds it too, and a
// fold meeting it stops (events.GapError).
func CheckLog(ctx context.Context, dir string, jl *events.JetStream) error {
	st, err := jl.State(ctx)
	if err != nil {
		return err
	}
	return damageIn(dir, st)
}

// CheckLogFull is CheckLog reading every event back (events.ReadState):
// for the commands that read the whole log anyway.
func CheckLogFull(ctx context.Context, dir string, jl *events.JetStream) error {
	st, err := jl.ReadState(ctx)
	if err != nil {
		return err
	}
	return damageIn(dir, st)
}

func damageIn(dir string, st events.LogState) error {
	if st.Missing == 0 || len(st.Gaps) == 0 {
		return nil
	}
	return &DamageError{Dir: dir, State: st, Block: blockOf(dir, st.Gaps[0].From)}
}

// blockOf names the message block of the event stream that held seq: the
// one with the greatest first sequence at or below seq, read from each
// block's first record (a little-endian uint32 length, then the uint64
// sequence). "" when no block can be read.
func blockOf(dir string, seq uint64) string {
	blks, _ := filepath.Glob(filepath.Join(dir, LogDir, "jetstream", "*", "streams", schema.StreamName, "msgs", "*.blk"))
	num := func(p string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), ".blk"))
		return n
	}
	sort.Slice(blks, func(i, j int) bool { return num(blks[i]) < num(blks[j]) })
	best := ""
	for _, p := range blks {
		first, ok := firstSeq(p)
		if !ok {
			continue
		}
		if first > seq {
			break
		}
		best = p
	}
	return best
}

func firstSeq(path string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return 0, false
	}
	seq := binary.LittleEndian.Uint64(hdr[4:]) &^ (1 << 63) // the top bit marks an erased record
	return seq, seq > 0
}

// RecoverOptions configures Recover.
type RecoverOptions struct {
	// Source is the data directory of a stopped server, with a damaged
	// log; it is only read.
	Source string
	// Out is the new data directory: absent or empty.
	Out string
	// Logf, if set, is told each step.
	Logf func(format string, args ...any)
}

// RecoverStats reports Recover.
type RecoverStats struct {
	// Kept is how many events Out's log holds: 1..Kept of Source's.
	Kept uint64
	// LogLast and Missing describe Source's log.
	LogLast, Missing uint64
	Blobs, Linked    int
	Digest           string
	Elapsed          time.Duration
}

// Recover makes in o.Out a new, writable data directory holding every
// event of o.Source's log before its first missing one (a damaged block),
// stored as they were (the same bytes, sequences and chain values), its
// blobs (hard links where possible), its key files, and projections folded
// from those events. The events after the damage are not copied: they
// cannot be linked into the chain or folded without the missing ones; they
// stay in Source. A log without damage is copied whole. Source must be
// stopped, and is never written; when Recover fails, Out is left as it
// was found.
func Recover(ctx context.Context, o RecoverOptions) (st RecoverStats, err error) {
	start := time.Now()
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	src, out, done, err := lockPair(o.Source, o.Out, "stop it first")
	if err != nil {
		return st, err
	}
	defer func() { done(err != nil) }()

	// the source's log is opened in a copy, so Source is never written
	// (JetStream rewrites the index of a block it recovered)
	tmp, err := os.MkdirTemp(out, ".source-log-")
	if err != nil {
		return st, err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(filepath.Join(src, LogDir), filepath.Join(tmp, LogDir), func(int64) {}); err != nil {
		return st, fmt.Errorf("copy the log: %w", err)
	}
	from, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: tmp, SyncAlways: true, Name: "cairn-recover-source"})
	if err != nil {
		return st, err
	}
	defer from.Close()
	ls, err := from.ReadState(ctx) // every event read back: a record damaged in place counts too
	if err != nil {
		return st, err
	}
	st.LogLast, st.Missing, st.Kept = ls.Last, ls.Missing, ls.Last
	if len(ls.Gaps) > 0 {
		st.Kept = ls.Gaps[0].From - 1
		logf("%s misses %d events, the first at %d: keeping events 1-%d", src, ls.Missing, ls.Gaps[0].From, st.Kept)
	} else {
		logf("%s misses no event: keeping all %d", src, ls.Last)
	}

	if err := copyKeyFiles(src, out, logf); err != nil {
		return st, err
	}
	logf("copying events 1-%d into %s", st.Kept, filepath.Join(out, LogDir))
	to, err := events.OpenJetStream(ctx, events.NATSOptions{Dir: out, SyncInterval: time.Second, Name: "cairn-recover"})
	if err != nil {
		return st, err
	}
	toOpen := true
	defer func() {
		if toOpen {
			to.Close()
		}
	}()
	if err := to.CopyEvents(ctx, from, 1, st.Kept, nil); err != nil {
		return st, err
	}

	logf("linking the blobs of %s", filepath.Join(src, BlobsDir))
	var us UntilStats
	if err := linkBlobs(ctx, filepath.Join(src, BlobsDir), filepath.Join(out, BlobsDir), &us); err != nil {
		return st, fmt.Errorf("blobs: %w", err)
	}
	st.Blobs, st.Linked = us.Blobs, us.Linked

	logf("folding events 1-%d into the projections", st.Kept)
	store, err := projections.Open(filepath.Join(out, ProjectionsFile), projections.Options{})
	if err != nil {
		return st, err
	}
	folded, err := Fold(ctx, to, store, st.Kept, nil)
	if err != nil {
		store.Close()
		return st, err
	}
	st.Digest = folded.Digest
	if err := store.Close(); err != nil {
		return st, err
	}
	toOpen = false
	if err := to.Close(); err != nil { // JetStream writes what it holds at shutdown
		return st, err
	}
	if err := syncTree(out); err != nil {
		return st, err
	}
	st.Elapsed = time.Since(start)
	return st, nil
}
