package ingest_test

import (
	"context"
	"net/http"
	gosync "sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
)

// limiterClock is the Oura limiter's clock in a test: it stands still
// until the test moves it, and a wait on it lasts until the test has moved
// it far enough, as a long real wait would.
type limiterClock struct {
	mu    gosync.Mutex
	t     time.Time
	moved chan struct{}
	waits int
}

func newLimiterClock() *limiterClock {
	return &limiterClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), moved: make(chan struct{})}
}

func (c *limiterClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *limiterClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits++
	end := c.t.Add(d)
	for c.t.Before(end) {
		moved := c.moved
		c.mu.Unlock()
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

func (c *limiterClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	close(c.moved)
	c.moved = make(chan struct{})
}

func (c *limiterClock) waited() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waits
}

// tierCounts counts the Oura client's 429s by tier.
type tierCounts struct {
	mu gosync.Mutex
	n  map[string]int
}

func (c *tierCounts) add(tier string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[tier]++
}

func (c *tierCounts) get(tier string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[tier]
}

// TestTokenTierLimitHoldsOnlyItsUser: while Oura refuses user A's token
// (token-tier 429s), the backfills of users B and C run to the end, their
// documents stored and queued for delivery, on a single backfill worker:
// A's jobs snooze instead of waiting in the limiter on it. Once the
// limit is lifted and its window has passed, A's backfill completes too.
func TestTokenTierLimitHoldsOnlyItsUser(t *testing.T) {
	t.Parallel()
	lc := newLimiterClock()
	var tiers tierCounts
	// The limiter's clock stands still: A's 1 s Retry-After does not pass
	// until the test moves it, so every job of A finds a wait longer than
	// the 300 ms the client sits out.
	lim := oura.NewRateLimiter(oura.DefaultLimit(), oura.DefaultLimit(), oura.WithLimiterClock(lc.now, lc.sleep))
	e := newEnv(t, envOptions{users: 3, backfillDays: 10, limiter: lim, onRateLimited: tiers.add,
		engine: func(c *ingest.Config) { c.BackfillWorkers, c.FetchWorkers, c.PollWorkers = 1, 1, 1 }})
	tokA := "Bearer " + e.sim.Tokens()[0].AccessToken

	// A's backfill reads wait at the simulator until A is limited, so
	// that none is answered before; the link's own reads go through.
	held := e.gate.holdIf(func(r *http.Request) bool {
		c := oura.CollectionOf(r.URL.Path)
		return r.Header.Get("Authorization") == tokA && c != oura.CollPersonalInfo && c != oura.CollRingConfiguration
	})
	a := e.link(0)
	select {
	case <-held:
	case <-time.After(time.Minute):
		t.Fatal("no backfill read of user A reached the simulator")
	}
	e.sim.LimitUser(0, time.Second)
	e.gate.release()
	testutil.WaitFor(t, time.Minute, "a token-tier 429 for user A", func() bool { return tiers.get(oura.TierToken) > 0 })

	b, c := e.link(1), e.link(2)
	e.waitBackfill(3*time.Minute, b, c)
	outbox, err := e.st.Outbox(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]int{}
	for _, r := range outbox {
		queued[r.UserID]++
	}
	for _, conn := range []store.Connection{b, c} {
		if len(e.storedDocs(conn)) == 0 || queued[conn.UserID] == 0 {
			t.Errorf("%s: %d documents stored, %d queued for delivery while A was limited", conn.UserID, len(e.storedDocs(conn)), queued[conn.UserID])
		}
	}
	if got, _ := e.st.GetConnection(e.ctx, a.ID); got.Cursors["backfill_done"] != "" {
		t.Fatal("user A's backfill finished while its token was refused")
	}
	if n := lc.waited(); n != 0 {
		t.Errorf("the limiter was asked to wait %d times: a job sat on a worker for A's token", n)
	}
	if n := len(e.jobs((ingest.BackfillArgs{}).Kind())); n == 0 {
		t.Fatal("no backfill job of A left waiting")
	}

	e.sim.LimitUser(0, 0)
	lc.advance(time.Minute)
	e.waitBackfill(3*time.Minute, a)
	e.waitIdle(3 * time.Minute)
	if len(e.storedDocs(a)) == 0 {
		t.Error("user A: nothing stored after the limit was lifted")
	}
	if n := tiers.get(oura.TierApplication) + tiers.get("unknown"); n != 0 {
		t.Errorf("%d 429s of other tiers; only A's token was limited", n)
	}
}
