package provider

import (
	"testing"
	"time"
)

// Every wait lies in (0, min(base·2^(attempt-1), max)], whatever the draw:
// the bound doubles per attempt and stops at the cap, even where the shift
// overflows.
func TestBackoffBounds(t *testing.T) {
	base, max := 500*time.Millisecond, 30*time.Second
	for _, tc := range []struct {
		attempt int
		bound   time.Duration
	}{{1, 500 * time.Millisecond}, {2, time.Second}, {3, 2 * time.Second}, {7, 30 * time.Second}, {70, 30 * time.Second}} {
		for range 200 {
			if d := Backoff(tc.attempt, base, max); d <= 0 || d > tc.bound {
				t.Fatalf("attempt %d: wait %v outside (0, %v]", tc.attempt, d, tc.bound)
			}
		}
	}
}
