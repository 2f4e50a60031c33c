package ingest_test

import (
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// TestResync: a requested re-read reads every collection of the days
// again and, Oura's data being the same, writes no new versions.
func TestResync(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 5})
	conn := e.link(0)
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	before := e.stored(conn)
	outbox, _ := e.st.Outbox(e.ctx)
	c, _ := e.st.GetConnection(e.ctx, conn.ID)
	from, to := planOf(t, c)
	e.sim.ResetRequestCounts()
	n, err := e.eng.Resync(e.ctx, c, from, to)
	if err != nil || n != 18 {
		t.Fatalf("Resync: %d jobs, %v", n, err)
	}
	e.waitIdle(5 * time.Minute)
	total := 0
	for _, v := range e.sim.RequestCounts()[0] {
		total += v
	}
	if total < 18 {
		t.Fatalf("%d requests for 18 collections", total)
	}
	if d := diff(before, e.stored(conn)); d != "" {
		t.Fatalf("documents changed:\n%s", d)
	}
	if after, _ := e.st.Outbox(e.ctx); len(after) != len(outbox) {
		t.Fatalf("outbox grew from %d to %d records with nothing changed", len(outbox), len(after))
	}
	if _, err := e.eng.Resync(e.ctx, c, to, from); err == nil && from != to {
		t.Fatal("a reversed range was accepted")
	}
	c.Status = store.StatusReauthRequired
	if _, err := e.eng.Resync(e.ctx, c, from, to); err == nil {
		t.Fatal("resync of an inactive connection was accepted")
	}
}
