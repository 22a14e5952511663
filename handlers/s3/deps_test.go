package s3

import (
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/projections"
)

// The concrete core and projections the server wires in provide what the
// dialect declares it needs.
var (
	_ Core  = (*events.Core)(nil)
	_ State = (*projections.Store)(nil)
)
