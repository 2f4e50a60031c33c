package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/cli"
	"github.com/wearlink/wearlink/internal/config"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

func testLogger() *slog.Logger {
	if os.Getenv("WEARLINK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// TestServeLinkWebhook runs the app (SQLite, roles api and worker in one
// process) against the simulator: it subscribes to Oura's webhooks at
// start, `wearlink link` run beside it enqueues a backfill the server
// works, and a new night announced by webhook becomes a health document.
func TestServeLinkWebhook(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, simURL := simtest.Simulator(t, ourasim.Config{Seed: 3, Users: 1})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Listen = ln.Addr().String()
	cfg.Oura.APIBaseURL = simURL
	cfg.Oura.TokenURL = simURL + "/oauth/token"
	cfg.Oura.ClientID, cfg.Oura.ClientSecret = sim.ClientID(), sim.ClientSecret()
	cfg.Oura.WebhookVerificationToken = "verify-token"
	cfg.Sync.BackfillDays = 5
	a, err := app.New(ctx, cfg, app.Options{Logger: testLogger(), Migrate: true, Listener: ln, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	testutil.WaitFor(t, 5*time.Minute, "48 webhook subscriptions", func() bool { return len(sim.Subscriptions()) == 48 })
	for _, s := range sim.Subscriptions() {
		if s.CallbackURL != a.URL()+"/oura/webhook" {
			t.Fatalf("subscription to %s", s.CallbackURL)
		}
	}
	for path, want := range map[string]int{
		"/healthz": 200,
		// The REST API is mounted, behind its authentication.
		"/api/v1/user_id/user-1/time_zone": 401,
	} {
		resp, err := http.Get(a.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}

	// A second process would do the same: the CLI opens the same data
	// directory (and key file) on its own.
	tok := sim.Tokens()[0]
	var out, errb bytes.Buffer
	code := cli.Main(ctx, []string{"link", "--data", dir, "--client-uuid", "client-1", "--user-id", "user-1", "--token", tok.AccessToken,
		"--refresh-token", tok.RefreshToken, "--create-client", "--time-zone", tok.TimeZone, "--oura-api-url", simURL, "--backfill-days", "5",
		"--log-level", "warn"}, &out, &errb)
	if code != 0 {
		t.Fatalf("link: %d %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "connection 1") || !strings.Contains(out.String(), "jobs") {
		t.Fatalf("link output: %s", out.String())
	}
	st := a.Store().Store
	// The webhook routes are served by the delivery service.
	apiSecret, err := secret.NewAPISecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClient(ctx, store.Client{UUID: "client-2", Name: "hooks", SecretHash: secret.HashAPISecret(apiSecret)}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", a.URL()+"/api/v1/client/webhooks", nil)
	req.SetBasicAuth("client-2", apiSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"webhooks":[]}` {
		t.Fatalf("GET /api/v1/client/webhooks: %d %s", resp.StatusCode, body)
	}
	testutil.WaitFor(t, 3*time.Minute, "the backfill", func() bool {
		c, err := st.GetConnection(ctx, 1)
		return err == nil && c.Cursors["backfill_done"] != ""
	})

	day, err := sim.AddDay(0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testutil.WaitFor(t, time.Minute, "the new night", func() bool {
		docs, err := st.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: "client-1", UserID: "user-1", DataStructure: "sleep_summary", Day: string(day)})
		return err == nil && len(docs) > 0
	})
	t.Logf("night %s stored %s after the notification", day, time.Since(start).Round(time.Millisecond))

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

// TestSecondWorkerRefused: on SQLite only one process works the jobs.
func TestSecondWorkerRefused(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Role = config.RoleWorker
	a, err := app.New(t.Context(), cfg, app.Options{Logger: testLogger(), Migrate: true, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := app.New(t.Context(), cfg, app.Options{Logger: testLogger(), TestOnly: true}); err == nil || !strings.Contains(err.Error(), "another wearlink process") {
		t.Fatalf("second worker: %v", err)
	}
	cfg.Role = config.RoleAPI
	b, err := app.New(t.Context(), cfg, app.Options{Logger: testLogger(), TestOnly: true})
	if err != nil {
		t.Fatalf("api role beside a worker: %v", err)
	}
	b.Close()
}
