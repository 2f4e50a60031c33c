package testutil

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("now %v, want %v", c.Now(), t0)
	}
	c.Advance(90 * time.Minute)
	if want := t0.Add(90 * time.Minute); !c.Now().Equal(want) {
		t.Fatalf("after advance %v, want %v", c.Now(), want)
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("after set %v", c.Now())
	}
	var o OffsetClock
	before := time.Now()
	o.Advance(48 * time.Hour)
	if got := o.Now(); got.Before(before.Add(48*time.Hour)) || got.After(time.Now().Add(48*time.Hour)) {
		t.Fatalf("offset clock %v, want real time + 48h", got)
	}
}
