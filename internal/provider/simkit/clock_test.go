package simkit

import (
	"testing"
	"time"
)

// fakeReal is a real-time source that moves only when told.
type fakeReal struct{ t time.Time }

func (f *fakeReal) now() time.Time { return f.t }

func TestClock(t *testing.T) {
	real := &fakeReal{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	start := time.Date(2022, 10, 31, 12, 0, 0, 0, time.UTC)
	c := NewClock(start, 60, real.now)
	real.t = real.t.Add(time.Minute)
	if got, want := c.Now(), start.Add(time.Hour); !got.Equal(want) {
		t.Fatalf("after a real minute at x60: %v, want %v", got, want)
	}
	c.Advance(24 * time.Hour)
	c.Advance(-48 * time.Hour) // ignored: what was shown is never taken back
	if got, want := c.Now(), start.Add(25*time.Hour); !got.Equal(want) {
		t.Fatalf("after advancing a day: %v, want %v", got, want)
	}
	c.SetFactor(0)
	real.t = real.t.Add(time.Hour)
	if got, want := c.Now(), start.Add(25*time.Hour); !got.Equal(want) {
		t.Fatalf("frozen: %v, want %v", got, want)
	}
	if !c.Real().Equal(real.t) {
		t.Fatalf("real %v, want %v", c.Real(), real.t)
	}
}
