package sync_test

import (
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// TestBackfillMatchesOfflineNormalize is the acceptance: link 3
// users, backfill 90 days, and the stored health documents equal what
// `wearlink normalize` produces offline from the same raw documents.
func TestBackfillMatchesOfflineNormalize(t *testing.T) {
	t.Parallel()
	days := 90
	if raceEnabled {
		days = 14 // the race detector slows SQLite down about eight times
	}
	e := newEnv(t, envOptions{users: 3, backfillDays: days})
	start := time.Now()
	conns := make([]store.Connection, 3)
	for i := range conns {
		conns[i] = e.link(i)
	}
	e.waitBackfill(45*time.Second, conns...)
	e.waitIdle(10 * time.Second)
	t.Logf("3 users x %d days backfilled and normalized in %s", days, time.Since(start).Round(time.Millisecond))
	for i, c := range conns {
		tz := e.sim.Tokens()[i].TimeZone
		want := e.offline(c, tz, e.asOf(c, tz))
		got := e.stored(c)
		if len(want) < days*5 {
			t.Fatalf("user %d: only %d documents offline", i, len(want))
		}
		if len(want) != len(got) || diff(want, got) != "" {
			t.Errorf("user %d: %d documents offline, %d stored\n%s", i, len(want), len(got), diff(want, got))
		}
		raws, _ := e.st.CountRawDocuments(e.ctx, c.ID)
		t.Logf("user %d: %d health documents, raw %v", i, len(got), raws)
	}
}
