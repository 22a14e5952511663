package swift

import (
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
)

// The real core and projections are what the dialect declares, so the
// server's wiring passes them as they are.
var (
	_ Core  = (*events.Core)(nil)
	_ State = (*projections.Store)(nil)
)
