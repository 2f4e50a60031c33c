package app

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/config"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// newAPIApp is an API-role app on the simulator whose WARN lines go to
// logs.
func newAPIApp(t *testing.T, sim *ourasim.Server, simURL string, logs *bytes.Buffer) *App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Role = config.RoleAPI
	cfg.Oura.APIBaseURL = simURL
	cfg.Oura.TokenURL = simURL + "/oauth/token"
	cfg.Oura.ClientID, cfg.Oura.ClientSecret = sim.ClientID(), sim.ClientSecret()
	cfg.Oura.WebhookVerificationToken = "verify-token"
	a, err := New(t.Context(), cfg, Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Migrate: true, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestUpstreamFaultMetrics: the Oura client's retried faults show as WARN
// lines in the process log and in /metrics by provider, collection and
// kind. The simulator's faults are forced.
func TestUpstreamFaultMetrics(t *testing.T) {
	sim, simURL := simtest.Simulator(t, ourasim.Config{Seed: 3, Users: 1, Faults: ourasim.Faults{Force5xx: 2, ForceTruncate: 1}})
	var logs bytes.Buffer
	a := newAPIApp(t, sim, simURL, &logs)
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

// TestRateLimitMetrics: Oura's 429s show in /metrics by the tier their
// X-RateLimit-Tier names, and in the WARN line of the retry.
func TestRateLimitMetrics(t *testing.T) {
	sim, simURL := simtest.Simulator(t, ourasim.Config{Seed: 3, Users: 1})
	var logs bytes.Buffer
	a := newAPIApp(t, sim, simURL, &logs)
	// Listing the subscriptions is the first Oura call; a 1 s 429 is sat
	// out and the call retried. What follows may fail.
	sim.ForceRateLimitTier(2, time.Second, ourasim.TierToken)
	_, _ = a.eng.EnsureSubscriptions(t.Context(), "", "http://127.0.0.1:1/oura/webhook")
	sim.ForceRateLimitTier(1, time.Second, ourasim.TierApplication)
	_, _ = a.eng.EnsureSubscriptions(t.Context(), "", "http://127.0.0.1:1/oura/webhook")
	rec := httptest.NewRecorder()
	a.metrics.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`wearlink_provider_rate_limited_total{data_source="oura",tier="token"} 2`,
		`wearlink_provider_rate_limited_total{data_source="oura",tier="application"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, tier := range []string{"tier=token", "tier=application"} {
		if !strings.Contains(logs.String(), tier) {
			t.Errorf("no WARN line names %s:\n%s", tier, logs.String())
		}
	}
	// Nothing but the tiers: the metric never carries a user or a token.
	if strings.Contains(string(body), sim.Tokens()[0].AccessToken) {
		t.Error("a token reached /metrics")
	}
}

// The other providers' rate-limit answers reach the same counter, under
// their data source, through the hook BuildProviders gives their clients.
func TestRateLimitedHookPerDataSource(t *testing.T) {
	m := newMetrics()
	o := EngineOptions{OnRateLimited: m.rateLimited}
	o.rateLimited("withings")("application")
	o.rateLimited("whoop")("application")
	if (EngineOptions{}).rateLimited("whoop") != nil {
		t.Error("a hook without a listener")
	}
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`wearlink_provider_rate_limited_total{data_source="withings",tier="application"} 1`,
		`wearlink_provider_rate_limited_total{data_source="whoop",tier="application"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
