package sim

import (
	"time"

	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// Clock is the simulator's "now" (simkit.Clock).
type Clock = simkit.Clock

// NewClock starts a clock at start running factor times faster than real
// (see simkit.NewClock).
func NewClock(start time.Time, factor float64, real func() time.Time) *Clock {
	return simkit.NewClock(start, factor, real)
}
