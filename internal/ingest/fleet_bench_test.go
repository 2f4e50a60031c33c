package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/postgres"
	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// The fleet and backfill measurements take minutes and most of the
// machine, so they only run when asked for:
//
//	WEARLINK_BENCH=1 go test ./internal/ingest -run TestBenchFleet -v -timeout 60m
func benchOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("WEARLINK_BENCH") == "" {
		t.Skip("set WEARLINK_BENCH=1 to run")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchEnv is newEnv with the simulator, the Oura client's limiter and the
// database chosen by the caller. With PostgreSQL, env is nil: its helpers
// are typed for SQLite.
type benchEnv struct {
	env    *env
	sim    *ourasim.Server
	st     store.Store
	eng    *ingest.Engine
	dbPath string
	sqlite *sqlite.Store
}

type benchSetup struct {
	sim          ourasim.Config
	limiter      *oura.RateLimiter
	backfillDays int
	pgURL        string
	fetchWorkers int
}

func newBenchEnv(t *testing.T, b benchSetup) *benchEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// Debug logs of every request would be part of the CPU measured.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b.sim.Logger = logger.With("sim", true)
	b.sim.RevealInterval = -1
	b.sim.WebhookBackoff = 20 * time.Millisecond
	sim, err := ourasim.New(b.sim)
	if err != nil {
		t.Fatal(err)
	}
	simHTTP := httptest.NewServer(sim)
	t.Cleanup(func() { simHTTP.Close(); sim.Close() })

	key, _ := secret.NewKey()
	sealer, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	be := &benchEnv{sim: sim}
	if b.pgURL == "" {
		be.dbPath = filepath.Join(t.TempDir(), sqlite.FileName)
		st, err := sqlite.New(ctx, sqlite.Options{Path: be.dbPath, Sealer: sealer, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		be.st, be.sqlite = st, st
	} else {
		schema := "bench_" + strconv.FormatInt(time.Now().UnixNano(), 36)
		st, err := postgres.New(ctx, postgres.Options{URL: b.pgURL, Schema: schema, Sealer: sealer, Logger: logger, MaxConns: 24})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = st.Pool().Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
		be.st = st
	}
	if err := be.st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	oc, err := oura.New(oura.Config{BaseURL: simHTTP.URL, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		MaxRetryAfter: 2 * time.Second, Logger: logger, Limiter: b.limiter,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}})
	if err != nil {
		t.Fatal(err)
	}
	// One clock for the engine and the OAuth flow, which computes the
	// token expiries the engine compares with it.
	now := sim.Clock().Now
	oauth, err := oura.NewOAuth(oura.OAuthConfig{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		AuthURL: simHTTP.URL + "/oauth/authorize", TokenURL: simHTTP.URL + "/oauth/token", RevokeURL: simHTTP.URL + "/oauth/revoke", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	if b.fetchWorkers == 0 {
		b.fetchWorkers = 8
	}
	ev := &recordEvents{}
	built, err := all.Registry(all.Config{Oura: &all.OuraConfig{Client: oc, OAuth: oauth, ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		VerificationToken: verifyTok, Now: now}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{
		Store: be.st, Providers: built.Registry, Refreshers: built.Refreshers, CallbackURL: app.URL + "/oura/webhook", Logger: logger,
		Now: now, Events: ev, BackfillDays: b.backfillDays,
		FetchWorkers: b.fetchWorkers, SingleWriter: b.pgURL == "", FetchSettle: 50 * time.Millisecond,
	}
	eng, err := ingest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	be.eng = eng
	mux.Handle("/oura/webhook", notificationHandler(eng, "oura"))
	opts := jobs.Config{Services: []jobs.Registrar{eng.Jobs(ingest.JobOptions{})}, Work: true, TestOnly: true, FetchPollInterval: 200 * time.Millisecond}
	var stop func(context.Context) error
	if be.sqlite != nil {
		rc, err := jobs.NewClient(riversqlite.New(be.sqlite.Writer()), opts)
		if err != nil {
			t.Fatal(err)
		}
		eng.Attach(rc)
		if err := rc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stop = rc.Stop
		be.env = &env{t: t, ctx: ctx, sim: sim, simURL: simHTTP.URL, st: be.sqlite, eng: eng, river: rc, app: app, events: ev, oura: oc}
	} else {
		rc, err := jobs.NewClient(riverpgxv5.New(be.st.(*postgres.Store).Pool()), opts)
		if err != nil {
			t.Fatal(err)
		}
		eng.Attach(rc)
		if err := rc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stop = rc.Stop
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 20*time.Second)
		defer c()
		_ = stop(sctx)
		_ = be.st.Close()
	})
	return be
}

// waitBackfill waits until every connection's backfill has finished.
func (be *benchEnv) waitBackfill(t *testing.T, timeout time.Duration, conns []store.Connection) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, c := range conns {
		for {
			got, err := be.st.GetConnection(context.Background(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Cursors["backfill_done"] != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("backfill of connection %d not finished after %s", c.ID, timeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (be *benchEnv) link(t *testing.T, i int) store.Connection {
	t.Helper()
	tok := be.sim.Tokens()[i]
	res, err := be.eng.Link(context.Background(), ingest.LinkParams{ClientUUID: testClient, UserID: "user-" + strconv.Itoa(i), DataSource: "oura", CreateClient: true,
		TimeZone: tok.TimeZone, Tokens: store.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.ExpiresAt, Scopes: tok.Scopes}})
	if err != nil {
		t.Fatalf("link user %d: %v", i, err)
	}
	return res.Connection
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func maxRSSMB() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // kilobytes on Linux
}

// sqliteBytes checkpoints the WAL so the main file holds everything, then
// returns its size.
func (be *benchEnv) sqliteBytes(t *testing.T) int64 {
	t.Helper()
	var db *sql.DB = be.sqlite.Writer()
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(be.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestBenchFleet: WEARLINK_BENCH_USERS simulated users (default 1000) live
// WEARLINK_BENCH_DAYS simulated days (default 7) with 5% of notifications
// lost; it reports Oura requests per user per day, documents missing at
// the end, CPU seconds and bytes stored per user per day.
//
//	WEARLINK_BENCH=1 WEARLINK_BENCH_USERS=200 go test ./internal/ingest -run TestBenchFleet -v -timeout 60m
func TestBenchFleet(t *testing.T) {
	benchOnly(t)
	const seed = 21
	users := envInt("WEARLINK_BENCH_USERS", 1000)
	days := envInt("WEARLINK_BENCH_DAYS", 7)
	start := time.Now().UTC().Truncate(time.Hour)
	// Rate limits off on both sides: a fleet this size on one application
	// is what the measurement is for, not what a 5-minute budget allows
	// in a few real minutes.
	be := newBenchEnv(t, benchSetup{
		sim: ourasim.Config{Seed: seed, Users: users, NotificationDropRate: 0.05,
			Clock:          ourasim.NewClock(start, 0, nil),
			AppRateLimit:   ourasim.RateLimit{Requests: -1},
			TokenRateLimit: ourasim.RateLimit{Requests: -1}},
		limiter:      oura.NewRateLimiter(oura.Limit{}, oura.Limit{}),
		backfillDays: 3,
	})
	e := be.env
	e.subscribe()
	t0 := time.Now()
	conns := make([]store.Connection, users)
	for i := range conns {
		conns[i] = e.link(i)
	}
	e.waitBackfill(30*time.Minute, conns...)
	e.waitIdle(5 * time.Minute)
	t.Logf("linked and backfilled %d users in %s", users, time.Since(t0).Round(time.Millisecond))
	e.sim.ResetRequestCounts()
	bytes0 := be.sqliteBytes(t)
	cpu0 := cpuSeconds()
	wall0 := time.Now()

	// Simulated time advances in 6-hour steps (days become visible at
	// different local times per user); after each the notifications that
	// were not dropped are delivered and worked, then the reconciliation
	// pass the periodic job would run looks for what they missed.
	const settle = 6 * time.Hour
	revealed := 0
	live := func(days int) {
		for step := 0; step < days*4; step++ {
			for _, ds := range e.sim.AdvanceClock(6 * time.Hour) {
				revealed += len(ds)
			}
			e.sim.WaitNotifications()
			e.waitIdle(10 * time.Minute)
			if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
				t.Fatal(err)
			}
			e.waitIdle(10 * time.Minute)
		}
	}
	live(days)
	// The CPU of the live days only: the checks below generate every
	// expected document again and are not part of the hub's work.
	wall := time.Since(wall0)
	cpu := cpuSeconds() - cpu0
	ws := e.sim.WebhookStats()
	t.Logf("%d simulated days, %d user-days revealed, in %s real; webhook stats %+v", days, revealed, wall.Round(time.Millisecond), ws)

	// check counts the documents the clean simulator has for every user's
	// planned days that the hub lacks or holds differently.
	clean := newCleanSim(t, seed, users, e.sim.Clock().Now())
	var other []string
	for _, c := range oura.Collections() {
		if c.Range != oura.RangeDateTime {
			other = append(other, c.Name)
		}
	}
	check := func() (missing, wanted int, byColl map[string]int) {
		byColl = map[string]int{}
		for i, c := range conns {
			c, _ = e.st.GetConnection(e.ctx, c.ID)
			from, _ := planOf(t, c)
			last := string(e.sim.World().LastDay(e.sim.World().Users()[i]))
			want := clean.docs(t, i, from, last, other...)
			// Time series are complete up to their cursors, which must
			// have reached the day before the newest.
			if hr := c.Cursors["to:"+oura.CollHeartRate]; hr < dayBefore(last) {
				t.Errorf("user %d: heart rate read up to %s, newest day %s", i, hr, last)
			}
			for _, coll := range []string{oura.CollHeartRate, oura.CollInterbeatInterval, oura.CollRingBatteryLevel} {
				for k, v := range clean.docs(t, i, from, c.Cursors["to:"+coll], coll) {
					want[k] = v
				}
			}
			wanted += len(want)
			got := e.storedDocs(c)
			for k, h := range want {
				if g, ok := got[k]; !ok || g != h {
					missing++
					coll, _, _ := strings.Cut(k, "/")
					byColl[coll]++
				}
			}
		}
		return missing, wanted, byColl
	}
	missingAtSync, wanted, byCollAtSync := check()

	// Then the rings stay quiet (the clock moves, no day is revealed) for
	// the gap grace and a poll check: what the gap reads recover.
	e.sim.Clock().Advance(settle)
	if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(10 * time.Minute)
	missing, _, byColl := check()
	bytes1 := be.sqliteBytes(t)

	counts := e.sim.RequestCounts()
	total, worst := 0, 0
	byPath := map[string]int{}
	for i := 0; i < users; i++ {
		n := 0
		for path, c := range counts[i] {
			n += c
			byPath[path] += c
		}
		total += n
		worst = max(worst, n)
	}
	userDays := float64(users * days)
	perUserDay := float64(total) / userDays
	cpuPerUserDay := cpu / userDays
	bytesPerUserDay := float64(bytes1-bytes0) / userDays

	t.Logf("RESULT fleet users=%d days=%d", users, days)
	t.Logf("RESULT requests: %d total, %.2f per user per day (worst user %.2f)", total, perUserDay, float64(worst)/float64(days))
	paths := slices.Sorted(maps.Keys(byPath))
	var spent []string
	for _, p := range paths {
		spent = append(spent, fmt.Sprintf("%s %.2f", p, float64(byPath[p])/userDays))
	}
	t.Logf("RESULT requests per user per day by collection: %s", strings.Join(spent, ", "))
	t.Logf("RESULT documents missing or different right after the last sync: %d of %d %v", missingAtSync, wanted, byCollAtSync)
	t.Logf("RESULT documents missing or different after %s without new data: %d %v", settle, missing, byColl)
	t.Logf("RESULT CPU: %.1f s for %d user-days = %.2f ms per user per day (process: hub and simulator)", cpu, users*days, cpuPerUserDay*1000)
	t.Logf("RESULT SQLite: %d -> %d bytes, %.0f bytes per user per day; total file %.0f bytes per user", bytes0, bytes1, bytesPerUserDay, float64(bytes1)/float64(users))
	t.Logf("RESULT users per 2-core machine (CPU): %.0f; users per Oura application limit (1.44M requests/day): %.0f",
		2*86400/cpuPerUserDay, 1.44e6/perUserDay)
	// Documents of rare collections (workouts, VO2 max) whose notification
	// was lost wait for the next one of their kind or the reconciliation:
	// with no data for SilentAfter the webhooks count as silent and every
	// collection is read.
	e.sim.Clock().Advance(36 * time.Hour)
	if _, err := e.eng.EnqueueDuePolls(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.waitIdle(10 * time.Minute)
	missingLater, _, byCollLater := check()
	t.Logf("RESULT documents missing or different 36 h later (webhooks silent, every collection read): %d %v", missingLater, byCollLater)
	if missingLater > 0 {
		t.Errorf("%d documents missing or different at the end", missingLater)
	}
	if perUserDay > 12 {
		t.Errorf("%.2f requests per user per day, target 12", perUserDay)
	}
}
