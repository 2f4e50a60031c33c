package provider

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits d or until ctx ends, whichever comes first, and says which:
// nil after d, ctx's error otherwise. Clients wait out a provider's
// Retry-After with it; d <= 0 returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the wait before retry attempt (1 for the first retry):
// exponential from base, capped at max, with full jitter, so that workers
// that failed together do not retry together.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base << (attempt - 1)
	if d > max || d <= 0 {
		d = max
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}
