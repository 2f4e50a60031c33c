package ingest_test

import (
	"context"
	"crypto/sha256"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/store"
)

// cleanSim is a fault-free simulator with the same seed (same users, same
// data, same tokens), its clock frozen at now, so the same days are
// visible.
type cleanSim struct {
	srv *ourasim.Server
	oc  *oura.Client
}

func newCleanSim(t *testing.T, seed int64, users int, now time.Time) *cleanSim {
	t.Helper()
	// No rate limits on either side: the checks of a large measurement
	// make tens of thousands of reads, which Oura's budget would pace to
	// 16 a second.
	srv, err := ourasim.New(ourasim.Config{Seed: seed, Users: users, RevealInterval: -1, Clock: ourasim.NewClock(now, 0, nil),
		AppRateLimit: ourasim.RateLimit{Requests: -1}, TokenRateLimit: ourasim.RateLimit{Requests: -1}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	oc, err := oura.New(oura.Config{BaseURL: hs.URL, Limiter: oura.NewRateLimiter(oura.Limit{}, oura.Limit{})})
	if err != nil {
		t.Fatal(err)
	}
	return &cleanSim{srv: srv, oc: oc}
}

// docs returns collection/id -> content hash of user i's documents of the
// given collections (all when none) and days.
func (c *cleanSim) docs(t *testing.T, i int, from, to string, colls ...string) map[string][32]byte {
	t.Helper()
	if len(colls) == 0 {
		for _, coll := range oura.Collections() {
			colls = append(colls, coll.Name)
		}
	}
	tok := c.srv.Tokens()[i]
	loc, _ := time.LoadLocation(tok.TimeZone)
	u := c.oc.User(oura.StaticToken(tok.AccessToken))
	m := map[string][32]byte{}
	for _, coll := range colls {
		docs, err := u.Days(context.Background(), coll, oura.Date(from), oura.Date(to), loc)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			m[coll+"/"+d.ID] = sha256.Sum256(d.Raw)
		}
	}
	return m
}

// storedDocs returns collection/id -> content hash of what the store holds
// for a connection, failing on a document stored twice.
func (e *env) storedDocs(conn store.Connection) map[string][32]byte {
	e.t.Helper()
	raws, err := e.st.RawDocuments(e.ctx, conn.ID, nil, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	got := map[string][32]byte{}
	for _, r := range raws {
		k := r.Collection + "/" + r.ExternalID
		if _, dup := got[k]; dup {
			e.t.Errorf("connection %d: %s stored twice", conn.ID, k)
		}
		got[k] = sha256.Sum256(r.Body)
	}
	return got
}

// compareDocs reports documents of want missing or different in got, and
// returns how many.
func compareDocs(t *testing.T, who string, want, got map[string][32]byte) int {
	t.Helper()
	bad := 0
	for k, h := range want {
		g, ok := got[k]
		if !ok || g != h {
			bad++
			if bad <= 3 {
				t.Errorf("%s: %s missing or different (stored %v)", who, k, ok)
			}
		}
	}
	return bad
}

func planOf(t *testing.T, c store.Connection) (from, to string) {
	t.Helper()
	p := c.Cursors["backfill"]
	if len(p) < 21 {
		t.Fatalf("no backfill plan in %v", c.Cursors)
	}
	return p[:10], p[11:21]
}

// TestBackfillUnderFaults: with 10% 5xx answers, truncated bodies, 429
// bursts and 200 ms latency the backfill completes with every document
// present, none duplicated, and health documents equal to the offline
// normalization.
func TestBackfillUnderFaults(t *testing.T) {
	t.Parallel() // mostly waits on the injected latency
	const seed = 11
	users, days := 2, 35
	if raceEnabled {
		users, days = 1, 30
	}
	e := newEnv(t, envOptions{users: users, seed: seed, backfillDays: days,
		faults: ourasim.Faults{Latency: 200 * time.Millisecond, ErrorRate: 0.10, TruncateRate: 0.05}})
	// Three bursts of 429s while the backfill runs. Their Retry-After (1 s)
	// exceeds what the client sits out in place, so the jobs snooze. (A
	// burst only hits whoever asks next, so frequent bursts would starve
	// the last job left, which no real rate limit does.)
	start := time.Now()
	var conns []store.Connection
	for i := 0; i < users; i++ {
		conns = append(conns, e.link(i))
	}
	// The bursts start once the users are linked: linking sits out 429s
	// in place (it runs in the foreground), and a slow link under the race
	// detector used to take all three.
	var bursts atomic.Int32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, at := range []time.Duration{300 * time.Millisecond, 2 * time.Second, 5 * time.Second} {
			select {
			case <-stop:
				return
			case <-time.After(at):
			}
			e.sim.ForceRateLimit(5, time.Second)
			bursts.Add(1)
		}
	}()
	e.waitBackfill(3*time.Minute, conns...)
	close(stop)
	<-done
	e.sim.SetFaults(ourasim.Faults{})
	e.waitIdle(5 * time.Minute)
	t.Logf("backfill of %d users x %d days under faults: %s, %d 429 bursts", users, days, time.Since(start).Round(time.Millisecond), bursts.Load())

	clean := newCleanSim(t, seed, users, e.sim.Clock().Now())
	for i, c := range conns {
		c, _ = e.st.GetConnection(e.ctx, c.ID)
		from, to := planOf(t, c)
		want, got := clean.docs(t, i, from, to), e.storedDocs(c)
		if bad := compareDocs(t, "user "+strconv.Itoa(i), want, got); bad > 0 || len(got) != len(want) {
			t.Errorf("user %d: %d documents expected, %d stored, %d missing or different", i, len(want), len(got), bad)
		}
		tz := e.sim.Tokens()[i].TimeZone
		off, st := e.offline(c, tz, e.asOf(c, tz)), e.stored(c)
		if d := diff(off, st); d != "" || len(off) != len(st) {
			t.Errorf("user %d: %d documents offline, %d stored\n%s", i, len(off), len(st), d)
		}
		t.Logf("user %d: %d raw documents, %d health documents", i, len(got), len(st))
	}
	if n := len(e.jobs("", rivertype.JobStateDiscarded, rivertype.JobStateCancelled)); n != 0 {
		e.dumpJobs()
		t.Fatalf("%d jobs discarded or cancelled", n)
	}
	snoozed := 0
	for _, j := range e.jobs("ingest_backfill", rivertype.JobStateCompleted) {
		if strings.Contains(string(j.Metadata), `"snoozes"`) {
			snoozed++
		}
	}
	if snoozed == 0 {
		t.Error("no backfill job was snoozed by a 429")
	}
	t.Logf("%d backfill jobs snoozed by 429s and then completed", snoozed)
	counts := e.sim.RequestCounts()
	t.Logf("requests per user (with retries): %v", counts)
}
