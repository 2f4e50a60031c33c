package sim

import (
	"sync"
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

// ManualTime is a real-time source for tests that moves only when told.
type ManualTime struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualTime starts a manual source at t.
func NewManualTime(t time.Time) *ManualTime { return &ManualTime{t: t} }

// Now reads the source.
func (m *ManualTime) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t
}

// Add moves the source forward.
func (m *ManualTime) Add(d time.Duration) {
	m.mu.Lock()
	m.t = m.t.Add(d)
	m.mu.Unlock()
}
