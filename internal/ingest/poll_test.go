package ingest_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
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
		for _, coll := range []string{oura.CollHeartRate, oura.CollInterbeatInterval, oura.CollRingBatteryLevel} {
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
	e.waitBackfill(3*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	e.sim.ResetRequestCounts()
	if n, err := e.eng.EnqueueDuePolls(e.ctx); err != nil || n != 0 {
		t.Fatalf("polls due right after the backfill: %d %v", n, err)
	}
	for d := 0; d < 3; d++ {
		e.sim.AdvanceClock(24 * time.Hour)
		if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.waitIdle(5 * time.Minute)
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
	e.waitBackfill(3*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	e.sim.AdvanceClock(30 * time.Hour) // a day or two, unannounced
	e.link(0)
	e.waitIdle(5 * time.Minute)
	e.checkComplete(seed, 1, []store.Connection{conn})
}

// TestGapReadRecoversLostNotification: a collection that came with every
// sync and is missing after one (its notifications lost) is read once,
// GapGrace after that sync, and not again.
func TestGapReadRecoversLostNotification(t *testing.T) {
	const seed = 17
	e := newEnv(t, envOptions{users: 1, seed: seed, backfillDays: 3})
	e.subscribe()
	conn := e.link(0)
	e.waitBackfill(3*time.Minute, conn)
	e.waitIdle(5 * time.Minute)
	day := func() {
		e.sim.AdvanceClock(24 * time.Hour)
		e.sim.WaitNotifications()
		e.waitIdle(5 * time.Minute)
		if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.waitIdle(5 * time.Minute)
	}
	for range 4 { // daily_stress builds its run of days
		day()
	}
	hooks := e.oura.Webhooks(e.sim.ClientID(), e.sim.ClientSecret())
	for _, s := range e.sim.Subscriptions() {
		if s.DataType == oura.CollDailyStress {
			if err := hooks.Delete(e.ctx, s.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.sim.ResetRequestCounts()
	day()
	last := string(e.sim.World().LastDay(e.sim.World().Users()[0]))
	clean := newCleanSim(t, seed, 1, e.sim.Clock().Now())
	want := clean.docs(t, 0, last, last, oura.CollDailyStress)
	if len(want) != 1 {
		t.Fatalf("the simulator has %d daily_stress documents on %s, want 1", len(want), last)
	}
	stored := func() bool {
		got := e.storedDocs(conn)
		for k := range want {
			if _, ok := got[k]; !ok {
				return false
			}
		}
		return true
	}
	if stored() {
		t.Fatal("daily_stress of the new day stored without a notification or a gap read")
	}
	if n := e.sim.RequestCounts()[0][oura.CollDailyStress]; n != 0 {
		t.Fatalf("daily_stress read %d times before GapGrace", n)
	}
	for _, step := range []time.Duration{2 * time.Hour, time.Hour, 6 * time.Hour} {
		e.sim.Clock().Advance(step)
		if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.waitIdle(5 * time.Minute)
	}
	if !stored() {
		t.Fatal("daily_stress of the new day still missing after the gap read")
	}
	if n := e.sim.RequestCounts()[0][oura.CollDailyStress]; n != 1 {
		t.Fatalf("daily_stress read %d times after its lost notification, want 1", n)
	}
}

// TestPollsOnlyServedSources: a connection of a data source this process
// does not serve (another deployment's provider, one configured away) is
// not polled, and does not stop the others from being polled.
func TestPollsOnlyServedSources(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, noWorkers: true, backfillDays: 2})
	conn := e.link(0)
	other, err := e.st.CreateConnection(e.ctx, store.Connection{ClientUUID: conn.ClientUUID, UserID: conn.UserID, DataSource: "whoop",
		Status: store.StatusActive, Tokens: store.Tokens{AccessToken: "w"}})
	if err != nil {
		t.Fatal(err)
	}
	// Past the backfill's grace, everything of the Oura connection is due.
	e.sim.AdvanceClock(48 * time.Hour)
	n, err := e.eng.EnqueueDuePolls(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var polled []int64
	for _, j := range e.jobs("ingest_poll") {
		var a struct {
			ConnectionID int64 `json:"connection_id"`
		}
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		polled = append(polled, a.ConnectionID)
	}
	if n != 1 || len(polled) != 1 || polled[0] != conn.ID || polled[0] == other.ID {
		t.Fatalf("%d polls enqueued, for connections %v; want only %d", n, polled, conn.ID)
	}
}

// TestNoPollWhileLinking: a connection Link has stored but not finished
// (no link time, no backfill yet) has nothing due, so the periodic poll
// that happens to run then does not read every collection the backfill is
// about to read. Once it is older than any link takes, the link failed
// halfway, and the poll is all that will ever read it.
func TestNoPollWhileLinking(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, noWorkers: true, backfillDays: 2})
	linked := e.link(0)
	// The linked connection is due, so an empty result would prove
	// nothing: the polls must be its alone.
	e.sim.AdvanceClock(48 * time.Hour)
	half, err := e.st.CreateConnection(e.ctx, store.Connection{ClientUUID: linked.ClientUUID, UserID: "user-half", DataSource: "oura",
		Status: store.StatusActive, Tokens: store.Tokens{AccessToken: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	polled := func() map[int64]bool {
		t.Helper()
		if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		for _, j := range e.jobs("ingest_poll") {
			var a struct {
				ConnectionID int64 `json:"connection_id"`
			}
			if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
				t.Fatal(err)
			}
			ids[a.ConnectionID] = true
		}
		return ids
	}
	if got := polled(); len(got) != 1 || !got[linked.ID] {
		t.Fatalf("polls for connections %v; want only the linked %d (not %d, still linking)", got, linked.ID, half.ID)
	}
	// Ten minutes on, no link is still running: the connection is read.
	e.sim.AdvanceClock(10 * time.Minute)
	if got := polled(); !got[half.ID] {
		t.Fatalf("polls for connections %v; want the half-linked %d among them", got, half.ID)
	}
}
