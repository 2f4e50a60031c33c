// Package simkit holds what the providers' simulators share and is not
// provider behaviour: the clock their simulated world runs on, serving on a
// port, buffered responses, webhook posting, the books of their OAuth
// servers, the control routes' parsing and the start-up banner. Paths,
// field names, error bodies, token rules, rate limits and signatures stay
// in each simulator.
package simkit

import (
	"sync"
	"time"
)

// Clock is a simulator's notion of "now". Simulated time runs at Factor
// times real time from Start (0 freezes it, 1440 makes a day pass per real
// minute) and can be pushed forward by hand with Advance. What the world
// reveals, token lifetimes and subscription expiry follow it; rate-limit
// windows, webhook timestamps and authorization-code validity follow real
// time (Real), because they are about how fast real clients and people act.
type Clock struct {
	mu        sync.Mutex
	real      func() time.Time
	start     time.Time
	realStart time.Time
	factor    float64
	offset    time.Duration
}

// NewClock returns a clock that reads start now and then runs factor times
// faster than real. real is the real-time source (nil: time.Now); a zero
// start means the current real time.
func NewClock(start time.Time, factor float64, real func() time.Time) *Clock {
	if real == nil {
		real = time.Now
	}
	rs := real()
	if start.IsZero() {
		start = rs
	}
	if factor < 0 {
		factor = 0
	}
	return &Clock{real: real, start: start, realStart: rs, factor: factor}
}

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	elapsed := c.real().Sub(c.realStart)
	return c.start.Add(time.Duration(float64(elapsed)*c.factor) + c.offset)
}

// Real is the real time, as the clock's real-time source reports it.
func (c *Clock) Real() time.Time { return c.real() }

// Advance moves simulated time forward by d (negative values are ignored: the
// world never un-reveals data).
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Factor is how many simulated seconds pass per real second.
func (c *Clock) Factor() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.factor
}

// SetFactor changes the speed from now on without a jump in simulated time.
func (c *Clock) SetFactor(f float64) {
	if f < 0 {
		f = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.nowLocked()
	c.start, c.realStart, c.offset, c.factor = now, c.real(), 0, f
}
