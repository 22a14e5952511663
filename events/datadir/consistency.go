package datadir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnhq/cairn/projections"
)

// The projections must never run ahead of the log. They can: a log that
// lost its tail (a power loss under a sync interval, a damaged disk, a
// block file cut short) still has projections that applied the lost
// events. Served as they are, they name sequences the log now gives to
// other events (an inline object's bytes are read from its event), and the
// runner, which follows the log from the projections' sequence on, never
// folds the new events at the sequences they claim: one service's new
// bytes are served under another's old name, and an acknowledged upload
// answers 404. So a server folds from the log only projections at or
// behind it (OpenProjections), and rebuilds the others.

// AheadError reports projections that applied events the log no longer
// holds.
type AheadError struct {
	// Applied is the projections' applied sequence, LogLast the log's
	// newest event.
	Applied, LogLast uint64
}

// Lost is how many events the log lost: those from LogLast+1 to Applied.
func (e *AheadError) Lost() uint64 { return e.Applied - e.LogLast }

func (e *AheadError) Error() string {
	return fmt.Sprintf("the projections are ahead of the log: they applied events up to %d, the log ends at %d "+
		"(it lost %d events, from sequence %d on)", e.Applied, e.LogLast, e.Lost(), e.LogLast+1)
}

// CheckBehind returns an *AheadError when projections applied up to
// applied are ahead of a log whose newest event is logLast, else nil.
func CheckBehind(applied, logLast uint64) error {
	if applied > logLast {
		return &AheadError{Applied: applied, LogLast: logLast}
	}
	return nil
}

// Reopened says why OpenProjections set a projections file aside.
type Reopened struct {
	// Aside is where the old file went (PATH.broken-UNIX for one that
	// could not be read, PATH.ahead-UNIX for one ahead of the log).
	Aside string
	// Err is why: the error opening it, or an *AheadError.
	Err error
}

// LastSeqer is what OpenProjections reads of the log.
type LastSeqer interface {
	LastSeq(ctx context.Context) (uint64, error)
}

// OpenProjections opens the projections file at path for a server that
// folds log into it (not read-only). A file that cannot be read, that an
// older version wrote in another key layout, or whose
// applied sequence is past the log's last event, is moved aside (kept, for
// inspection) and fresh projections are opened in its place, which the
// caller brings up to the log (projections.Store.CatchUp). The returned
// *Reopened is nil when the file was used as it was.
func OpenProjections(ctx context.Context, path string, log LastSeqer) (*projections.Store, *Reopened, error) {
	last, err := log.LastSeq(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := projections.Open(path, projections.Options{})
	suffix := "broken"
	if le := (*projections.LayoutError)(nil); errors.As(err, &le) {
		suffix = "layout-" + le.Have // written by an older version: rebuilt, kept aside
	}
	if err == nil {
		if err = CheckBehind(st.Applied(), last); err == nil {
			return st, nil, nil
		}
		suffix = "ahead"
		if cerr := st.Close(); cerr != nil {
			return nil, nil, fmt.Errorf("%w; closing them: %v", err, cerr)
		}
	}
	re := &Reopened{Aside: fmt.Sprintf("%s.%s-%d", path, suffix, time.Now().Unix()), Err: err}
	if rerr := os.Rename(path, re.Aside); rerr != nil {
		return nil, nil, fmt.Errorf("%w; moving them aside: %v", err, rerr)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, nil, err
	}
	st, err = projections.Open(path, projections.Options{})
	if err != nil {
		return nil, nil, err
	}
	return st, re, nil
}
