package ingest_test

import (
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider/oura"
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
	e.waitBackfill(3*time.Minute, conns...)
	e.waitIdle(5 * time.Minute)
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

// TestBackfillReadsAhead: the first job of a date collection reads the
// older windows too, so 3 windows cost one request per date collection,
// while time series still go window by window; every document arrives.
func TestBackfillReadsAhead(t *testing.T) {
	t.Parallel()
	const seed = 23
	e := newEnv(t, envOptions{users: 1, seed: seed, backfillDays: 15,
		engine: func(c *ingest.Config) { c.WindowDays = 5 }})
	e.sim.ResetRequestCounts()
	conn := e.link(0)
	e.waitBackfill(3*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	got := e.sim.RequestCounts()[0]
	for _, coll := range []string{oura.CollDailyReadiness, oura.CollSleep, oura.CollDailyActivity, oura.CollWorkout} {
		if got[coll] != 1 {
			t.Errorf("%s read %d times for 3 windows, want 1", coll, got[coll])
		}
	}
	if got[oura.CollHeartRate] < 3 {
		t.Errorf("heartrate read %d times for 3 windows, want one or more a window", got[oura.CollHeartRate])
	}
	e.checkComplete(seed, 1, []store.Connection{conn})
}
