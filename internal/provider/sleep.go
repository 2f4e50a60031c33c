package provider

import (
	"context"
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
