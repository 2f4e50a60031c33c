package pull_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/pull"
)

// fetchClock notes when the fetching ends and the writing begins.
type fetchClock struct{ fetched time.Time }

func (*fetchClock) Planned(int)                     {}
func (*fetchClock) Fetched(pull.Window, int, error) {}
func (c *fetchClock) Writing()                      { c.fetched = time.Now() }

// TestBenchPull (WEARLINK_BENCH=1) pulls 365 days of one simulated user with
// the simulator's rate limits at their defaults and the client's own
// default pacing, and compares it in the same run with the way the Python
// oura-ring client reads: one collection after the other, each one request
// after another (time series in the 30-day spans Oura requires). Run with
// the simulator answering at once (loopback) and with WEARLINK_BENCH_LATENCY
// added to every response (default 150ms, about what api.ouraring.com
// takes).
func TestBenchPull(t *testing.T) {
	if os.Getenv("WEARLINK_BENCH") != "1" {
		t.Skip("set WEARLINK_BENCH=1 to run the pull measurement")
	}
	latency := 150 * time.Millisecond
	if v := os.Getenv("WEARLINK_BENCH_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		latency = d
	}
	var report strings.Builder
	fmt.Fprintf(&report, "\n| latency | method | wall time | of which fetching | requests | documents |\n| --- | --- | ---: | ---: | ---: | ---: |\n")
	for _, lat := range []time.Duration{0, latency} {
		e := newSimEnv(t, ourasim.Config{Seed: 3, Faults: ourasim.Faults{Latency: lat}})
		since, until := e.lastDays(365)
		ctx := context.Background()
		// A fresh client each time, with the default limiter: the two runs
		// must not share a budget.
		client := func() *oura.Client {
			c, err := oura.New(oura.Config{BaseURL: e.url, HTTPClient: &http.Client{Timeout: time.Minute}})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		e.sim.ResetRequestCounts()
		start := time.Now()
		docs := 0
		u := client().User(e.auth())
		for _, c := range oura.Collections() {
			got, err := u.Days(ctx, c.Name, oura.Date(since), oura.Date(until), time.UTC)
			if err != nil {
				t.Fatalf("sequential %s: %v", c.Name, err)
			}
			docs += len(got)
		}
		seqWall, seqReq := time.Since(start), e.requests()
		fmt.Fprintf(&report, "| %v | sequential, one collection at a time | %.2f s | %.2f s | %d | %d |\n", lat, seqWall.Seconds(), seqWall.Seconds(), seqReq, docs)

		e.sim.ResetRequestCounts()
		clock := &fetchClock{}
		start = time.Now()
		sum, err := pull.Run(ctx, pull.Options{Provider: ouraProvider(t, client()), Auth: e.auth(), Out: t.TempDir(), Since: since, Until: until, Progress: clock})
		if err != nil {
			t.Fatal(err)
		}
		wall, req := time.Since(start), e.requests()
		fetch := clock.fetched.Sub(start)
		stored := 0
		for _, n := range sum.Stored {
			stored += n
		}
		fmt.Fprintf(&report, "| %v | wearlink pull (8 workers, %d windows) | %.2f s | %.2f s | %d | %d |\n", lat, sum.Windows, wall.Seconds(), fetch.Seconds(), req, stored)
		fmt.Fprintf(&report, "| %v | ratio sequential / pull | | %.1fx (fetching) | %.2fx | |\n", lat, seqWall.Seconds()/fetch.Seconds(), float64(seqReq)/float64(req))
		if stored != docs {
			t.Errorf("latency %v: the pull stored %d documents, the sequential read got %d", lat, stored, docs)
		}
	}
	t.Log(report.String())
}
