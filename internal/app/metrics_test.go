package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadyzAndMetrics runs the app against the simulator: /readyz is 200
// with both checks once River works, /metrics counts API requests by route
// pattern and status, the Oura calls of the webhook subscription jobs and
// those jobs; after the stop /readyz is 503.
func TestReadyzAndMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, simURL := simtest.Simulator(t, ourasim.Config{Seed: 3, Users: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ln.Addr().String()
	cfg.Oura.APIBaseURL = simURL
	cfg.Oura.TokenURL = simURL + "/oauth/token"
	cfg.Oura.ClientID, cfg.Oura.ClientSecret = sim.ClientID(), sim.ClientSecret()
	cfg.Oura.WebhookVerificationToken = "verify-token"
	a, err := app.New(ctx, cfg, app.Options{Logger: testLogger(), Migrate: true, Listener: ln, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.SimulatorURL() != "" {
		t.Fatal("built-in simulator started although an Oura application is configured")
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	base := a.URL()

	testutil.WaitFor(t, 5*time.Minute, "ready", func() bool { c, _ := get(t, base+"/readyz"); return c == 200 })
	_, body := get(t, base+"/readyz")
	var rd struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &rd); err != nil || rd.Status != "ok" || rd.Checks["store"] != "ok" || rd.Checks["jobs"] != "ok" {
		t.Fatalf("readyz: %s (%v)", body, err)
	}
	for range 3 {
		if c, _ := get(t, base+"/api/v1/user_id/user-1/time_zone"); c != 401 {
			t.Fatalf("time_zone without auth: %d", c)
		}
	}
	get(t, base+"/no/such/path/user-1")
	testutil.WaitFor(t, 5*time.Minute, "48 webhook subscriptions", func() bool { return len(sim.Subscriptions()) == 48 })

	want := []string{
		`wearlink_http_requests_total{method="GET",route="GET /api/v1/user_id/{user_id}/time_zone",status="401"} 3`,
		`wearlink_http_requests_total{method="GET",route="GET /readyz",status="200"}`,
		`wearlink_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`wearlink_http_request_duration_seconds_bucket{method="GET",route="GET /api/v1/user_id/{user_id}/time_zone",le="+Inf"} 3`,
		`wearlink_oura_requests_total{collection="webhook_subscription",status="201"}`,
		`wearlink_oura_request_duration_seconds_count{collection="webhook_subscription"}`,
		`wearlink_jobs_total{kind="ingest_subscriptions",outcome="completed"}`,
		`go_goroutines`,
	}
	var text string
	testutil.WaitFor(t, 5*time.Minute, "the metrics", func() bool {
		var c int
		c, text = get(t, base+"/metrics")
		if c != 200 {
			t.Fatalf("metrics: %d", c)
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	})
	if strings.Contains(text, `route="/no/such/path`) || strings.Contains(text, "user-1") {
		t.Fatalf("a path became a label:\n%s", text)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
