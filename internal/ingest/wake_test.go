package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/store"
)

// Every write of health documents tells the delivery pump, once its
// transaction has committed: the outbox records are visible to another
// reader when the pump hears of them. The backfill's writes do, and so
// does the fetch that follows a notification.
func TestOutboxWrittenAfterCommit(t *testing.T) {
	type outboxReader interface {
		Outbox(context.Context) ([]store.OutboxRecord, error)
	}
	wakes := make(chan int, 10000)
	e := newEnv(t, envOptions{users: 1, backfillDays: 3, engine: func(c *ingest.Config) {
		ob := c.Store.(outboxReader)
		c.OutboxWritten = func() {
			recs, err := ob.Outbox(context.Background())
			if err != nil {
				t.Error(err)
			}
			select {
			case wakes <- len(recs):
			default:
				t.Error("more wakes than the test holds")
			}
		}
	}})
	e.subscribe()
	conn := e.link(0)
	e.waitBackfill(5*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	seen := 0
	for len(wakes) > 0 {
		n := <-wakes
		if n == 0 {
			t.Fatal("woken before the outbox records were committed")
		}
		seen = max(seen, n)
	}
	if seen == 0 {
		t.Fatal("the backfill wrote health documents without a wake")
	}

	if _, err := e.sim.AddDay(0); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-wakes:
		if n <= seen {
			t.Fatalf("woken with %d outbox records, want more than the %d before the notification", n, seen)
		}
	case <-time.After(5 * time.Minute):
		e.dumpJobs()
		t.Fatal("the notification's fetch wrote no health documents, or did not wake")
	}
	e.sim.WaitNotifications()
	e.waitIdle(5 * time.Minute)
}
