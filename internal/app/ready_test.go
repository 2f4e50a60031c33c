package app

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/config"
)

func readyz(t *testing.T, a *App) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.readyz(rec, httptest.NewRequest("GET", "/readyz", nil))
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("readyz body %q: %v", rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	return rec.Code, v
}

// TestReadyzNotReady: a process that works jobs is not ready before River
// runs; the api role needs only the store; a closed store is not ready.
func TestReadyzNotReady(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Oura.ClientID, cfg.Oura.ClientSecret = "id", "secret" // no built-in simulator
	a, err := New(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler), Migrate: true, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	code, v := readyz(t, a)
	if code != 503 || v["status"] != "unavailable" || v["checks"].(map[string]any)["jobs"] != "not running" || v["checks"].(map[string]any)["store"] != "ok" {
		t.Fatalf("before Run: %d %v", code, v)
	}

	cfg.Role = config.RoleAPI
	b, err := New(t.Context(), cfg, Options{Logger: slog.New(slog.DiscardHandler), TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	code, v = readyz(t, b)
	if code != 200 || v["status"] != "ok" {
		t.Fatalf("api role: %d %v", code, v)
	}
	if _, ok := v["checks"].(map[string]any)["jobs"]; ok {
		t.Fatalf("api role checks jobs: %v", v)
	}
	b.store.SQLite.Close()
	code, v = readyz(t, b)
	if code != 503 || v["checks"].(map[string]any)["store"] != "unavailable" {
		t.Fatalf("closed store: %d %v", code, v)
	}
	b.Close()
}

// TestJobMetrics: River's events become job counts, and webhook_deliver
// events delivery counts; a delivery job that ended is counted by the
// outcome its service reports, with no event adding to it.
func TestJobMetrics(t *testing.T) {
	m := newMetrics()
	ev := func(k river.EventKind, kind string, st rivertype.JobState) *river.Event {
		return &river.Event{Kind: k, Job: &rivertype.JobRow{Kind: kind, State: st, EncodedArgs: []byte(`{"delivery_id":7}`)}, JobStats: &river.JobStatistics{}}
	}
	m.job(ev(river.EventKindJobCompleted, "ingest_fetch", rivertype.JobStateCompleted))
	m.job(ev(river.EventKindJobFailed, "ingest_fetch", rivertype.JobStateRetryable))
	m.job(ev(river.EventKindJobFailed, "ingest_fetch", rivertype.JobStateDiscarded))
	m.job(ev(river.EventKindJobSnoozed, "webhook_deliver", rivertype.JobStateScheduled))
	m.job(ev(river.EventKindJobFailed, "webhook_deliver", rivertype.JobStateRetryable))
	m.job(ev(river.EventKindJobCompleted, "webhook_deliver", rivertype.JobStateCompleted))
	for _, o := range []string{"succeeded", "succeeded", "dead", "gone", "paused", "unknown", "pending"} {
		m.delivered(o)
	}
	for labels, want := range map[[2]string]float64{
		{"ingest_fetch", "completed"}: 1, {"ingest_fetch", "retryable"}: 1, {"ingest_fetch", "discarded"}: 1,
		{"webhook_deliver", "snoozed"}: 1, {"webhook_deliver", "retryable"}: 1, {"webhook_deliver", "completed"}: 1,
	} {
		if got := counterValue(t, m.jobs.WithLabelValues(labels[0], labels[1])); got != want {
			t.Errorf("jobs %v: %v, want %v", labels, got, want)
		}
	}
	for outcome, want := range map[string]float64{"retry": 1, "error": 1, "succeeded": 2, "dead": 1, "gone": 1, "paused": 1, "unknown": 2, "pending": 0} {
		if got := counterValue(t, m.deliveries.WithLabelValues(outcome)); got != want {
			t.Errorf("deliveries %s: %v, want %v", outcome, got, want)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
