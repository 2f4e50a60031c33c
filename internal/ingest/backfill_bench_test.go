package ingest_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/store"
)

// TestBenchBackfill: WEARLINK_BENCH_USERS users (default 100) each
// backfill WEARLINK_BENCH_DAYS days (default 365) from a simulator whose
// application limit is WEARLINK_BENCH_RATE requests/s (default 20), the
// client's limiter set to the same budget. It reports the request rate
// achieved against the limit, requests made against those of a plain
// client reading the same documents, documents lost, health documents
// stored per second and peak memory, on SQLite and (with
// WEARLINK_TEST_POSTGRES_URL) PostgreSQL.
//
//	WEARLINK_BENCH=1 WEARLINK_BENCH_USERS=10 go test ./internal/ingest -run TestBenchBackfill -v -timeout 60m
func TestBenchBackfill(t *testing.T) {
	benchOnly(t)
	dbs := []string{""}
	if u := os.Getenv("WEARLINK_TEST_POSTGRES_URL"); u != "" {
		dbs = append(dbs, u)
	}
	for _, url := range dbs {
		name := "sqlite"
		if url != "" {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) { benchBackfill(t, url) })
	}
}

func benchBackfill(t *testing.T, pgURL string) {
	const seed = 31
	users := envInt("WEARLINK_BENCH_USERS", 100)
	days := envInt("WEARLINK_BENCH_DAYS", 365)
	rateR := envInt("WEARLINK_BENCH_RATE", 20)
	// The budget has Oura's 5-minute window, scaled to R requests/s.
	budget := oura.Limit{Requests: rateR * 300, Window: 5 * time.Minute}
	start := time.Now().UTC().Truncate(time.Hour)
	be := newBenchEnv(t, benchSetup{
		sim: ourasim.Config{Seed: seed, Users: users, Clock: ourasim.NewClock(start, 0, nil),
			AppRateLimit: ourasim.RateLimit{Requests: budget.Requests, Window: budget.Window}},
		limiter:      oura.NewRateLimiter(budget, oura.DefaultLimit()),
		backfillDays: days,
		pgURL:        pgURL,
		fetchWorkers: 16,
	})
	ctx := context.Background()

	var peakHeap uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
		}
	}()

	be.sim.ResetRequestCounts()
	t0 := time.Now()
	conns := make([]store.Connection, users)
	for i := range conns {
		conns[i] = be.link(t, i)
	}
	be.waitBackfill(t, 60*time.Minute, conns)
	wall := time.Since(t0)
	close(done)

	made := 0
	for _, m := range be.sim.RequestCounts() {
		for _, n := range m {
			made += n
		}
	}
	health := 0
	for i := range conns {
		hd, err := be.st.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: testClient, UserID: "user-" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		health += len(hd)
	}

	// The minimum: a plain client, without limits, reading the same
	// documents from a simulator with the same seed.
	clean := newCleanSim(t, seed, users, be.sim.Clock().Now())
	clean.srv.ResetRequestCounts()
	// The store's key (connection, collection, Oura id) admits no
	// duplicate, so equal counts per collection mean nothing is missing;
	// the ids are compared only where the counts differ.
	lost, wanted, raw := 0, 0, 0
	for i, c := range conns {
		c, _ = be.st.GetConnection(ctx, c.ID)
		from, to := planOf(t, c)
		want := clean.docs(t, i, from, to)
		wanted += len(want)
		counts, err := be.st.CountRawDocuments(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts := map[string]int{}
		for k := range want {
			coll, _, _ := strings.Cut(k, "/")
			wantCounts[coll]++
		}
		for coll, n := range counts {
			raw += n
			if coll != oura.CollPersonalInfo && coll != oura.CollRingConfiguration && n != wantCounts[coll] {
				t.Errorf("user %d: %s: %d stored, %d in the simulator", i, coll, n, wantCounts[coll])
			}
		}
		for coll, n := range wantCounts {
			if counts[coll] < n {
				lost += n - counts[coll]
			}
		}
	}
	minimum := 0
	for _, m := range clean.srv.RequestCounts() {
		for _, n := range m {
			minimum += n
		}
	}
	db := "sqlite"
	if pgURL != "" {
		db = "postgres"
	}
	achieved := float64(made) / wall.Seconds()
	t.Logf("RESULT backfill %s: %d users x %d days, R=%d/s, %s wall", db, users, days, rateR, wall.Round(time.Millisecond))
	t.Logf("RESULT %s: %d requests = %.2f/s = %.1f%% of R; plain-client minimum %d requests (made/minimum %.2f)",
		db, made, achieved, 100*achieved/float64(rateR), minimum, float64(made)/float64(minimum))
	// The client's bucket starts full (Requests/20 at once, as Oura's
	// window allows); after it the rate is the refill rate.
	burst := budget.Requests / 20
	t.Logf("RESULT %s: without the initial burst of %d: %.2f/s = %.1f%% of R", db, burst,
		float64(made-burst)/wall.Seconds(), 100*float64(made-burst)/wall.Seconds()/float64(rateR))
	t.Logf("RESULT %s: documents lost %d of %d (raw stored %d); health documents %d = %.0f/s; peak heap in use %.0f MB, max RSS %.0f MB (process)",
		db, lost, wanted, raw, health, float64(health)/wall.Seconds(), float64(peakHeap)/(1<<20), maxRSSMB())
}
