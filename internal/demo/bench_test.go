package demo

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/testutil"
)

// TestBenchSyncToDelivery measures the whole path, from a provider's
// notification to the app's verified webhook, with the shipped settings
// (config.Default, as `wearlink demo` runs them): the demo's scenario with
// its users (4 Oura, 1 WHOOP, 1 Withings) and with ten times as many, on
// SQLite with one process, and on PostgreSQL (WEARLINK_TEST_POSTGRES_URL)
// with two wearlink processes (two Apps in this test binary on one
// database, each serving and working the jobs, as two `serve`). Each
// simulated day every user's simulator syncs at once; each document
// delivered after it counts the time from that moment to its verified
// arrival. Deliveries per distinct document come from the store.
//
// The baseline, measured just before on a fresh database of the same kind,
// is one queue hop: a no-op River job from insert to work, polled as the
// fetch queue is. The path takes at least two such hops (the fetch job,
// the delivery job) plus the fetch settle, so the ratio says how many
// hops' worth the path costs on the machine as loaded at that moment.
//
//	WEARLINK_BENCH=1 go test ./internal/demo -run TestBenchSyncToDelivery -v -count=1 -timeout 30m
//
// WEARLINK_BENCH_DAYS sets the simulated days of each run (default 3);
// WEARLINK_BENCH_STAGES=1 also logs at debug level and shows when, after
// the sync, each stage's log lines came (the logging costs a little);
// WEARLINK_BENCH_LOG=dir instead writes each case's whole debug log to
// dir/<database>-<scale>x.jsonl, to find out what a slow document waited on.
func TestBenchSyncToDelivery(t *testing.T) {
	if os.Getenv("WEARLINK_BENCH") == "" {
		t.Skip("set WEARLINK_BENCH=1 to run")
	}
	days := 3
	if v := os.Getenv("WEARLINK_BENCH_DAYS"); v != "" {
		if _, err := fmt.Sscan(v, &days); err != nil || days < 1 {
			t.Fatalf("WEARLINK_BENCH_DAYS=%q", v)
		}
	}
	stages := os.Getenv("WEARLINK_BENCH_STAGES") != ""
	for _, db := range []struct {
		name      string
		processes int
	}{{"sqlite", 1}, {"postgres", 2}} {
		for _, scale := range []int{1, 10} {
			t.Run(fmt.Sprintf("%s/%dx", db.name, scale), func(t *testing.T) {
				dbURL := ""
				if db.name == "postgres" {
					dbURL = testutil.PostgresSchemaURL(t, "demo_bench")
				}
				t.Logf("load average before: %s", loadAverage())
				hop := queueHop(t, dbURL, 50)
				var rec *stageRecorder
				logger := slog.New(slog.DiscardHandler)
				if stages {
					rec = &stageRecorder{}
					logger = slog.New(rec)
				}
				if dir := os.Getenv("WEARLINK_BENCH_LOG"); dir != "" {
					f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%dx.jsonl", db.name, scale)))
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					logger = slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
				defer cancel()
				var out bytes.Buffer
				start := time.Now()
				sum, err := Run(ctx, Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Once: true, Days: days,
					BackfillDays: MinBackfillDays, Scale: scale, DatabaseURL: dbURL, Processes: db.processes,
					Out: &out, Logger: logger})
				if err != nil {
					t.Fatalf("%v\n%s", err, out.String())
				}
				t.Logf("load average after: %s", loadAverage())
				report(t, sum, hop, time.Since(start))
				if rec != nil {
					rec.report(t, sum.Syncs)
				}
				if !sum.OK() {
					t.Errorf("checks failed: %v", sum.Failures)
				}
			})
		}
	}
}

// report logs one run's numbers and whether the bounds held.
func report(t *testing.T, sum Summary, hop []time.Duration, took time.Duration) {
	t.Helper()
	hp50 := percentile(hop, 50)
	p50, p99 := sum.Percentile(50), sum.Percentile(99)
	t.Logf("users %d, syncs %d, new user-days %d (%d delivered), documents timed %d, wall %s",
		sum.Users, len(sum.Syncs), sum.NewDays, sum.NewDaysDelivered, len(sum.Latencies), took.Round(100*time.Millisecond))
	t.Logf("sync to verified delivery: p50 %s, p90 %s, p99 %s, max %s",
		ms(p50), ms(sum.Percentile(90)), ms(p99), ms(sum.Percentile(100)))
	t.Logf("baseline queue hop (%d no-op jobs): p50 %s, p99 %s; path p50 = %.1f hops, p99 = %.1f hops",
		len(hop), ms(hp50), ms(percentile(hop, 99)), ratio(p50, hp50), ratio(p99, hp50))
	t.Logf("deliveries per distinct document: %.3f (%d deliveries of %d documents, backfill included)",
		sum.Delivered.PerDocument(), sum.Delivered.Deliveries, sum.Delivered.Documents)
	worst := 0.0
	var each []string
	for _, c := range sum.SyncDeliveries {
		worst = max(worst, c.PerDocument())
		each = append(each, fmt.Sprintf("%.3f (%d/%d)", c.PerDocument(), c.Deliveries, c.Documents))
	}
	t.Logf("deliveries per distinct document of each sync: %s", strings.Join(each, ", "))
	t.Logf("bounds: p99 < 1s %s, p50 < 400ms %s, <= 1.1 deliveries per document %s overall, %s in every sync",
		yesNo(p99 < time.Second, "holds", "DOES NOT hold"), yesNo(p50 < 400*time.Millisecond, "holds", "DOES NOT hold"),
		yesNo(sum.Delivered.PerDocument() <= DefaultMaxDeliveriesPerDocument, "holds", "DOES NOT hold"),
		yesNo(worst <= DefaultMaxDeliveriesPerDocument, "holds", "DOES NOT hold"))
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// percentile is Summary.Percentile's nearest rank over any durations.
func percentile(ds []time.Duration, p float64) time.Duration {
	return Summary{Latencies: ds}.Percentile(p)
}

// loadAverage is the machine's load (/proc/loadavg's first three fields):
// the machine is shared, and the numbers mean little without it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// hopArgs is the baseline's no-op job; Sent is when it was inserted.
type hopArgs struct {
	Sent time.Time `json:"sent"`
}

func (hopArgs) Kind() string { return "bench_queue_hop" }

const hopQueue = "bench_queue_hop"

// queueHop opens a fresh database of the kind the run uses (SQLite in a
// temporary directory, or a new schema of dbURL's PostgreSQL database) and
// times n no-op jobs, one after the other, from insert to work.
func queueHop(t *testing.T, dbURL string, n int) []time.Duration {
	t.Helper()
	ctx := context.Background()
	if dbURL != "" {
		dbURL = testutil.PostgresSchemaURL(t, "demo_hop")
	}
	st, err := app.OpenStore(ctx, app.StoreConfig{DataDir: t.TempDir(), DatabaseURL: dbURL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if st.PG != nil {
		return hopOn(t, riverpgxv5.New(st.PG), n)
	}
	return hopOn(t, riversqlite.New(st.SQLite), n)
}

func hopOn[TTx any](t *testing.T, drv riverdriver.Driver[TTx], n int) []time.Duration {
	t.Helper()
	ctx := context.Background()
	worked := make(chan time.Duration, 1)
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[hopArgs]) error {
		worked <- time.Since(j.Args.Sent)
		return nil
	}))
	// Polled as the fetch queue is (internal/ingest/river.go), the first
	// hop of the path.
	poll := max(config.Default().Sync.FetchSettle/4, 10*time.Millisecond)
	c, err := river.NewClient(drv, &river.Config{Logger: slog.New(slog.DiscardHandler), Workers: workers, TestOnly: true,
		Queues: map[string]river.QueueConfig{hopQueue: {MaxWorkers: 1, FetchPollInterval: poll, FetchCooldown: 10 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(ctx) }()
	var got []time.Duration
	for range n {
		if _, err := c.Insert(ctx, hopArgs{Sent: time.Now()}, &river.InsertOpts{Queue: hopQueue}); err != nil {
			t.Fatal(err)
		}
		select {
		case d := <-worked:
			got = append(got, d)
		case <-time.After(30 * time.Second):
			t.Fatal("a no-op job was not worked in 30s")
		}
	}
	return got
}

// stageRecorder is a slog handler that keeps when the path's stages logged
// (debug level): the notifications taken, the reads, the normalization,
// the fan-out and the delivery attempts.
type stageRecorder struct {
	mu  sync.Mutex
	got map[string][]time.Time
}

// stageMessages are the stages in the path's order.
var stageMessages = []string{"notification", "collection read", "sync normalized", "fanned out", "delivery attempt"}

func (r *stageRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *stageRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *stageRecorder) WithGroup(string) slog.Handler            { return r }

func (r *stageRecorder) Handle(_ context.Context, rec slog.Record) error {
	if !slices.Contains(stageMessages, rec.Message) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][]time.Time{}
	}
	r.got[rec.Message] = append(r.got[rec.Message], rec.Time)
	return nil
}

// report logs, for each stage, how long after the latest sync its lines
// came (lines before the first sync, the backfill's, are left out).
func (r *stageRecorder) report(t *testing.T, syncs []time.Time) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, msg := range stageMessages {
		var after []time.Duration
		for _, at := range r.got[msg] {
			var from time.Time
			for _, s := range syncs {
				if !s.After(at) && s.After(from) {
					from = s
				}
			}
			if !from.IsZero() {
				after = append(after, at.Sub(from))
			}
		}
		if len(after) == 0 {
			continue
		}
		t.Logf("stage %-16q %5d lines after a sync: p50 %s, p99 %s, first %s",
			msg, len(after), ms(percentile(after, 50)), ms(percentile(after, 99)), ms(percentile(after, 0)))
	}
}
