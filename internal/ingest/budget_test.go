package ingest_test

import (
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// TestRequestBudget: with webhooks working, a simulated week costs at most
// 12 Oura requests per user per day, and nothing the simulator produced in
// that week is missing.
func TestRequestBudget(t *testing.T) {
	t.Parallel()
	const seed = 5
	users, days := 3, 7
	if raceEnabled {
		users, days = 2, 4
	}
	e := newEnv(t, envOptions{users: users, seed: seed, backfillDays: 10,
		engine: func(c *ingest.Config) { c.FetchSettle = 50 * time.Millisecond }})
	e.subscribe()
	conns := make([]store.Connection, users)
	for i := range conns {
		conns[i] = e.link(i)
	}
	e.waitBackfill(3*time.Minute, conns...)
	e.waitIdle(5 * time.Minute)
	e.sim.ResetRequestCounts()

	start := time.Now()
	revealed := 0
	for d := 0; d < days; d++ {
		for _, ds := range e.sim.AdvanceClock(24 * time.Hour) {
			revealed += len(ds)
		}
		e.sim.WaitNotifications()
		e.waitIdle(5 * time.Minute)
		if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.waitIdle(5 * time.Minute)
	}
	t.Logf("%d simulated days (%d user-days revealed) in %s", days, revealed, time.Since(start).Round(time.Millisecond))
	if revealed < users*(days-1) {
		t.Fatalf("only %d user-days revealed", revealed)
	}

	counts := e.sim.RequestCounts()
	sum := 0.0
	for i := 0; i < users; i++ {
		total := 0
		var parts []string
		for coll, n := range counts[i] {
			total += n
			parts = append(parts, coll+":"+strconv.Itoa(n))
		}
		sort.Strings(parts)
		perDay := float64(total) / float64(days)
		sum += perDay
		t.Logf("user %d: %d requests in %d days = %.2f per day %v", i, total, days, perDay, parts)
		if perDay > 12 {
			t.Errorf("user %d: %.2f requests per day, budget 12", i, perDay)
		}
	}
	t.Logf("mean %.2f requests per user per day", sum/float64(users))

	// Nothing is missing: every document of the days revealed. Heart rate
	// and battery are complete up to their cursors; heart rate, read daily,
	// must have reached the day before the newest.
	clean := newCleanSim(t, seed, users, e.sim.Clock().Now())
	var other []string
	for _, c := range oura.Collections() {
		if c.Range != oura.RangeDateTime {
			other = append(other, c.Name)
		}
	}
	for i, c := range conns {
		c, _ = e.st.GetConnection(e.ctx, c.ID)
		from, _ := planOf(t, c)
		last := string(e.sim.World().LastDay(e.sim.World().Users()[i]))
		if hr := c.Cursors["to:"+oura.CollHeartRate]; hr < dayBefore(last) {
			t.Errorf("user %d: heart rate read up to %s, newest day %s", i, hr, last)
		}
		want := clean.docs(t, i, from, last, other...)
		for _, coll := range []string{oura.CollHeartRate, oura.CollInterbeatInterval, oura.CollRingBatteryLevel} {
			for k, v := range clean.docs(t, i, from, c.Cursors["to:"+coll], coll) {
				want[k] = v
			}
		}
		got := e.storedDocs(c)
		if bad := compareDocs(t, "user "+strconv.Itoa(i), want, got); bad > 0 {
			t.Errorf("user %d: %d of %d documents missing or different", i, bad, len(want))
		}
	}
}

func dayBefore(d string) string {
	t, _ := time.Parse(time.DateOnly, d)
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}
