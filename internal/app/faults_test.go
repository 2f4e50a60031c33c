package app

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/config"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// TestUpstreamFaultMetrics: the Oura client's retried faults show as WARN
// lines in the process log and in /metrics by provider, collection and
// kind. The simulator's faults are forced.
func TestUpstreamFaultMetrics(t *testing.T) {
	sim, simURL := simtest.Simulator(t, ourasim.Config{Seed: 3, Users: 1, Faults: ourasim.Faults{Force5xx: 2, ForceTruncate: 1}})
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Role = config.RoleAPI
	cfg.Oura.APIBaseURL = simURL
	cfg.Oura.TokenURL = simURL + "/oauth/token"
	cfg.Oura.ClientID, cfg.Oura.ClientSecret = sim.ClientID(), sim.ClientSecret()
	cfg.Oura.WebhookVerificationToken = "verify-token"
	var logs bytes.Buffer
	a, err := New(t.Context(), cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Migrate: true, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// Listing the subscriptions is the first Oura call; its faults are
	// retried. What follows (creating them against a closed port) may fail.
	_, _ = a.eng.EnsureSubscriptions(t.Context(), "", "http://127.0.0.1:1/oura/webhook")
	if n := strings.Count(logs.String(), "level=WARN msg=\"oura: upstream fault, retrying\""); n != 3 {
		t.Fatalf("%d WARN lines for 3 faults:\n%s", n, logs.String())
	}
	rec := httptest.NewRecorder()
	a.metrics.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`wearlink_upstream_faults_total{collection="webhook_subscription",kind="server",provider="oura"} 2`,
		`wearlink_upstream_faults_total{collection="webhook_subscription",kind="network",provider="oura"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
