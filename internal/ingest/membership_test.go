package ingest_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/ingest"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/store"
)

// pass lets d of simulated time pass: the syncs it brings, then whatever
// the poll check finds due (polls, probes).
func (e *env) pass(d time.Duration) {
	e.t.Helper()
	e.sim.AdvanceClock(d)
	e.sim.WaitNotifications()
	e.waitIdle(5 * time.Minute)
	if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.waitIdle(5 * time.Minute)
}

// TestPausedConnection: Oura refusing a user's data mid-sync (403 for a
// lapsed membership, 426 for an app too old) pauses that connection with
// one lifecycle event and a bounded number of requests, none more until
// the probe PauseProbe later; a probe while still refused costs one
// request and changes nothing; after the renewal (or update) the next
// probe resumes the connection and it catches up. The other user syncs
// throughout.
func TestPausedConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		refuse func(s *ourasim.Server, user int, on bool) error
	}{
		{"membership lapsed", store.StatusSubscriptionRequired, (*ourasim.Server).SetMembershipLapsed},
		{"app too old", store.StatusAppUpdateRequired, (*ourasim.Server).SetAppUpdateRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const seed = 23
			// A probe interval longer than a day, so that a whole day's
			// sync (which reveals a day whatever the time it runs) fits
			// before the first probe.
			const probe = 36 * time.Hour
			e := newEnv(t, envOptions{users: 2, seed: seed, backfillDays: 3, engine: func(c *ingest.Config) { c.PauseProbe = probe }})
			e.subscribe()
			conns := []store.Connection{e.link(0), e.link(1)}
			e.waitBackfill(3*time.Minute, conns...)
			e.waitIdle(5 * time.Minute)
			p, _ := e.eng.Providers().Lookup("oura")
			notifiedColls := 0
			for _, c := range p.Collections() {
				if c.Notified {
					notifiedColls++
				}
			}
			requests := func(user int) int {
				n := 0
				for _, c := range e.sim.RequestCounts()[user] {
					n += c
				}
				return n
			}
			conn := func(i int) store.Connection {
				c, err := e.st.GetConnection(e.ctx, conns[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			wantEvents := []string{fmt.Sprintf("%d:%s", conns[0].ID, tc.status)}
			checkPaused := func(when string) {
				t.Helper()
				if c := conn(0); c.Status != tc.status {
					t.Fatalf("%s: user 0's connection is %q (%s), want %q", when, c.Status, c.LastError, tc.status)
				}
				if c := conn(1); c.Status != store.StatusActive {
					t.Fatalf("%s: user 1's connection is %q (%s)", when, c.Status, c.LastError)
				}
				if got := e.events.list(); !slices.Equal(got, wantEvents) {
					t.Fatalf("%s: lifecycle events %v, want %v", when, got, wantEvents)
				}
			}
			day := e.pass

			// The refusal starts while the day's sync reads: the first
			// read is held until it is in force.
			held := e.gate.hold("/v2/usercollection/")
			e.sim.AdvanceClock(24 * time.Hour)
			select {
			case <-held:
			case <-time.After(5 * time.Minute): // generous: the race detector slows SQLite down many times
				t.Fatal("the day's sync made no request")
			}
			if err := tc.refuse(e.sim, 0, true); err != nil {
				t.Fatal(err)
			}
			e.sim.ResetRequestCounts()
			e.gate.release()
			e.sim.WaitNotifications()
			e.waitIdle(5 * time.Minute)
			checkPaused("after the sync")
			afterLapse := requests(0)
			t.Logf("requests for user 0 after the refusal began: %d (%v); notified collections: %d", afterLapse, e.sim.RequestCounts()[0], notifiedColls)
			if afterLapse > notifiedColls {
				t.Fatalf("%d requests for the refused user, more than the %d collections one sync reads: a retry storm", afterLapse, notifiedColls)
			}
			newest1 := conn(1).Cursors["newest_day"]

			// A day's sync before the probe is due: nothing for user 0;
			// user 1 syncs.
			day(24 * time.Hour)
			if n := requests(0); n != afterLapse {
				t.Fatalf("%d requests for the paused user before its probe was due, want none (%v)", n-afterLapse, e.sim.RequestCounts()[0])
			}
			checkPaused("before the probe")
			if got := conn(1).Cursors["newest_day"]; got <= newest1 {
				t.Fatalf("user 1 stopped syncing: newest day %s, was %s", got, newest1)
			}

			// The probe while still refused: one request, no event.
			day(probe - 24*time.Hour + time.Hour)
			if n := requests(0); n != afterLapse+1 {
				t.Fatalf("the probe made %d requests, want 1 (%v)", n-afterLapse, e.sim.RequestCounts()[0])
			}
			checkPaused("after a refused probe")

			// Renewed: nothing until the next probe, which resumes.
			if err := tc.refuse(e.sim, 0, false); err != nil {
				t.Fatal(err)
			}
			day(time.Hour)
			if n := requests(0); n != afterLapse+1 {
				t.Fatalf("%d requests for the paused user before its next probe, want none", n-afterLapse-1)
			}
			day(probe)
			if c := conn(0); c.Status != store.StatusActive || c.LastError != "" {
				t.Fatalf("after the renewal and a probe: status %q, last error %q", c.Status, c.LastError)
			}
			if got := e.events.list(); !slices.Equal(got, wantEvents) {
				t.Fatalf("lifecycle events %v, want %v", got, wantEvents)
			}
			e.checkComplete(seed, 2, conns)
		})
	}
}

// TestPausedDuringBackfill: a membership that lapses while the backfill
// reads pauses the connection with the backfill unfinished; the probe
// after the renewal enqueues the rest of it, and the next day's sync
// brings the days since.
func TestPausedDuringBackfill(t *testing.T) {
	const seed = 29
	e := newEnv(t, envOptions{users: 1, seed: seed, backfillDays: 45})
	e.subscribe()
	// Link reads the account and the rings, never sleep: the first sleep
	// read is the backfill's.
	held := e.gate.hold("/v2/usercollection/sleep")
	conn := e.link(0)
	select {
	case <-held:
	case <-time.After(5 * time.Minute): // generous: the race detector slows SQLite down many times
		t.Fatal("the backfill read no sleep")
	}
	if err := e.sim.SetMembershipLapsed(0, true); err != nil {
		t.Fatal(err)
	}
	e.gate.release()
	e.waitIdle(5 * time.Minute)
	c, err := e.st.GetConnection(e.ctx, conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != store.StatusSubscriptionRequired || c.Cursors["backfill_done"] != "" {
		t.Fatalf("after the lapse: status %q, backfill done %q", c.Status, c.Cursors["backfill_done"])
	}
	if err := e.sim.SetMembershipLapsed(0, false); err != nil {
		t.Fatal(err)
	}
	e.pass(25 * time.Hour) // the probe resumes the backfill
	e.pass(24 * time.Hour) // the next sync reads the days since
	if c, err = e.st.GetConnection(e.ctx, conn.ID); err != nil {
		t.Fatal(err)
	}
	if c.Status != store.StatusActive || c.Cursors["backfill_done"] == "" {
		t.Fatalf("after the renewal: status %q, backfill done %q", c.Status, c.Cursors["backfill_done"])
	}
	if got, want := e.events.list(), []string{fmt.Sprintf("%d:%s", conn.ID, store.StatusSubscriptionRequired)}; !slices.Equal(got, want) {
		t.Fatalf("lifecycle events %v, want %v", got, want)
	}
	e.checkComplete(seed, 1, []store.Connection{conn})
}
