package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// errCaughtUp ends the Follow of CatchUp once until is applied.
var errCaughtUp = errors.New("projections: caught up")

// CatchUp applies src's events after the store's checkpoint up to and
// including sequence until, in order, and nothing after it; then it
// returns. It is the one "fold the log up to N": server start-up folds up
// to the log's last event before serving, an offline rebuild the whole log,
// a point-in-time rebuild up to its moment. A store already at or past
// until is left as it is.
//
// progress, if set, is called about once a second and once at the end
// with the applied sequence and until. The log must hold until: if it
// ends before (its Follow returns without an error), CatchUp fails.
func (s *Store) CatchUp(ctx context.Context, src Source, until uint64, progress func(applied, until uint64)) error {
	if s.Applied() >= until {
		return nil
	}
	told := time.Now()
	err := src.Follow(ctx, s.Applied()+1, func(batch []*schema.Event) error {
		n := 0
		for n < len(batch) && batch[n].Seq <= until {
			n++
		}
		if err := s.Apply(batch[:n]); err != nil {
			return err
		}
		if progress != nil && time.Since(told) >= time.Second {
			progress(s.Applied(), until)
			told = time.Now()
		}
		if n < len(batch) || s.Applied() >= until {
			return errCaughtUp
		}
		return nil
	})
	switch {
	case errors.Is(err, errCaughtUp):
	case err == nil:
		return fmt.Errorf("projections: the log ended at sequence %d, before %d", s.Applied(), until)
	default:
		return err
	}
	if progress != nil {
		progress(s.Applied(), until)
	}
	return nil
}
