package sim

import (
	"sync"
	"time"
)

// Clock is the simulator's "now". Simulated time runs at a factor of the
// real-time source from a start and can be pushed forward with Advance.
// Record visibility, score delays and token lifetimes follow simulated time
// (Now); rate-limit windows and webhook timestamps follow the real-time
// source (Real), because they are about how fast real clients act. Tests
// inject both through NewClock.
type Clock struct {
	mu        sync.Mutex
	real      func() time.Time
	start     time.Time
	realStart time.Time
	factor    float64
	offset    time.Duration
}

// NewClock returns a clock that reads start now and then runs factor times
// faster than real (0 freezes it). real is the real-time source (nil:
// time.Now); a zero start means the current real time.
func NewClock(start time.Time, factor float64, real func() time.Time) *Clock {
	if real == nil {
		real = time.Now
	}
	rs := real()
	if start.IsZero() {
		start = rs
	}
	return &Clock{real: real, start: start, realStart: rs, factor: max(factor, 0)}
}

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.real().Sub(c.realStart)
	return c.start.Add(time.Duration(float64(el)*c.factor) + c.offset)
}

// Real is the time of the real-time source.
func (c *Clock) Real() time.Time { return c.real() }

// Advance moves simulated time forward by d (d <= 0 is ignored: data once
// shown is never taken back by time).
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Factor is the number of simulated seconds per real second.
func (c *Clock) Factor() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.factor
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
