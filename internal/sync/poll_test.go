package sync_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// checkComplete fails unless every document of the user's visible days
// (time series up to their cursors) is stored.
func (e *env) checkComplete(seed int64, users int, conns []store.Connection) {
	e.t.Helper()
	clean := newCleanSim(e.t, seed, users, e.sim.Clock().Now())
	var other []string
	for _, c := range oura.Collections() {
		if c.Range != oura.RangeDateTime {
			other = append(other, c.Name)
		}
	}
	for i, c := range conns {
		c, _ = e.st.GetConnection(e.ctx, c.ID)
		from, _ := planOf(e.t, c)
		last := string(e.sim.World().LastDay(e.sim.World().Users()[i]))
		want := clean.docs(e.t, i, from, last, other...)
		for _, coll := range []string{oura.CollHeartRate, oura.CollRingBatteryLevel} {
			for k, v := range clean.docs(e.t, i, from, c.Cursors["to:"+coll], coll) {
				want[k] = v
			}
		}
		if bad := compareDocs(e.t, "user "+strconv.Itoa(i), want, e.storedDocs(c)); bad > 0 {
			e.t.Errorf("user %d: %d of %d documents missing or different (newest day %s)", i, bad, len(want), last)
		}
	}
}

// TestSilentWebhooksReconcile: with every notification lost (no
// subscription at all), the reconciliation pass notices the silence and
// reads what the days brought.
func TestSilentWebhooksReconcile(t *testing.T) {
	const seed = 9
	e := newEnv(t, envOptions{users: 1, seed: seed, backfillDays: 5})
	conn := e.link(0)
	e.waitBackfill(20*time.Second, conn)
	e.waitIdle(10 * time.Second)
	e.sim.ResetRequestCounts()
	if n, err := e.eng.EnqueueDuePolls(e.ctx); err != nil || n != 0 {
		t.Fatalf("polls due right after the backfill: %d %v", n, err)
	}
	for d := 0; d < 3; d++ {
		e.sim.AdvanceClock(24 * time.Hour)
		if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.waitIdle(10 * time.Second)
	}
	e.checkComplete(seed, 1, []store.Connection{conn})
	t.Logf("3 silent days cost %v", e.sim.RequestCounts()[0])
}

// TestRelinkCatchesUp: linking a connection again after its backfill reads
// every collection from where it stopped.
func TestRelinkCatchesUp(t *testing.T) {
	const seed = 13
	e := newEnv(t, envOptions{users: 1, seed: seed, backfillDays: 4})
	conn := e.link(0)
	e.waitBackfill(20*time.Second, conn)
	e.waitIdle(10 * time.Second)
	e.sim.AdvanceClock(30 * time.Hour) // a day or two, unannounced
	e.link(0)
	e.waitIdle(10 * time.Second)
	e.checkComplete(seed, 1, []store.Connection{conn})
}
