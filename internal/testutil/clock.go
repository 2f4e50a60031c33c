package testutil

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock is a test clock that moves only when told: inject its Now where a
// package takes a clock. The zero value reads the zero time; safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// OffsetClock is real time shifted by what the test has advanced it, for
// tests whose other parts (a browser, River) keep running on real time.
// The zero value is real time.
type OffsetClock struct{ off atomic.Int64 }

// Now returns real time plus the offset.
func (c *OffsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Advance adds d to the offset.
func (c *OffsetClock) Advance(d time.Duration) { c.off.Add(int64(d)) }
