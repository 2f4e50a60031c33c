package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/postgres"
)

// TestServeLoad measures the sleep summary route at concurrency 32 against
// a trivial route (the data source image: no auth, no store) on the same
// server, on SQLite and, when WEARLINK_TEST_POSTGRES_URL is set, on
// PostgreSQL. The documents are those of a real 30-day backfill from the
// simulator. It runs only with WEARLINK_BENCH=1:
//
//	WEARLINK_BENCH=1 go test ./internal/httpapi -run TestServeLoad -v
func TestServeLoad(t *testing.T) {
	if os.Getenv("WEARLINK_BENCH") == "" {
		t.Skip("set WEARLINK_BENCH=1 to measure")
	}
	e := newEnv(t, envOptions{workers: true, backfillDays: 30})
	a := e.newClient("Bench")
	e.linkAs(browser(t), e.authorizationURL(a, "bench-user", ""), 0, nil)
	e.waitBackfill(a.uuid, "bench-user", 2*time.Minute)
	docs, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: a.uuid, UserID: "bench-user"})
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	size := 0
	for _, d := range docs {
		if d.DataStructure == health.SleepSummary {
			days = append(days, d.Day)
			size += len(d.Body)
		}
	}
	if len(days) == 0 {
		t.Fatal("no sleep summaries")
	}
	t.Logf("%d sleep summaries, %d bytes on average; %d documents in all", len(days), size/len(days), len(docs))

	measure := func(name string, st Store) {
		api, err := New(Config{Store: st, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(api)
		defer srv.Close()
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		run := func(route string, target func(i int) string, auth bool) {
			const conc, dur = 32, 4 * time.Second
			var n atomic.Int64
			lat := make([][]time.Duration, conc)
			stop := time.Now().Add(dur)
			var wg sync.WaitGroup
			for w := range conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; time.Now().Before(stop); i += conc {
						req, _ := http.NewRequest("GET", srv.URL+target(i), nil)
						if auth {
							req.SetBasicAuth(a.uuid, a.secret)
						}
						start := time.Now()
						res, err := client.Do(req)
						if err != nil {
							t.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != 200 {
							t.Errorf("%s: %d", route, res.StatusCode)
							return
						}
						lat[w] = append(lat[w], time.Since(start))
						n.Add(1)
					}
				}()
			}
			wg.Wait()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) == 0 {
				return
			}
			pct := func(p float64) time.Duration { return all[int(float64(len(all)-1)*p)] }
			t.Logf("%-9s %-28s %8.0f req/s  p50 %7v  p99 %7v  (%d requests)", name, route,
				float64(n.Load())/dur.Seconds(), pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), n.Load())
		}
		run("trivial (logo.svg)", func(int) string { return "/connect/oura/logo.svg" }, false)
		run("sleep_health/summary", func(i int) string {
			return "/v2/processed_data/sleep_health/summary?user_id=bench-user&date=" + days[i%len(days)]
		}, true)
	}
	measure("sqlite", e.st)

	url := os.Getenv("WEARLINK_TEST_POSTGRES_URL")
	if url == "" {
		t.Log("PostgreSQL: WEARLINK_TEST_POSTGRES_URL not set")
		return
	}
	pg := pgCopy(t, url, e.st, a, docs)
	measure("postgres", pg)
}

// pgCopy puts the client, its user and the documents into a fresh
// PostgreSQL schema.
func pgCopy(t *testing.T, url string, from Store, a creds, docs []store.HealthDocument) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	key, _ := secret.NewKey()
	sealer, _ := secret.NewSealer(key)
	schema := fmt.Sprintf("wearlink_bench_%d", time.Now().UnixNano())
	pg, err := postgres.New(ctx, postgres.Options{URL: url, Schema: schema, Sealer: sealer, Logger: quietLogger(), MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = pg.Pool().Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		pg.Close()
	})
	if err := pg.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := from.GetClient(ctx, a.uuid)
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.UpsertUser(ctx, store.User{ClientUUID: a.uuid, UserID: "bench-user"}); err != nil {
		t.Fatal(err)
	}
	var in []store.HealthInput
	for _, d := range docs {
		doc, err := health.Decode(health.Document{DataStructure: d.DataStructure, Pillar: d.Pillar, Day: d.Day, Body: d.Body})
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, store.HealthInput{Key: d.Key, Doc: doc})
	}
	if _, err := pg.ApplyHealthDocuments(ctx, in); err != nil {
		t.Fatal(err)
	}
	return pg
}
