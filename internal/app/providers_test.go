package app_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// TestFlowsRunOnTheEngineClock: every provider's OAuth flow computes a
// token's expiry on the sync engine's clock (the demo runs it on the
// simulator's), since the engine compares the expiry with it.
func TestFlowsRunOnTheEngineClock(t *testing.T) {
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v2/oauth2" { // Withings: its envelope, the user's id in it
			_, _ = w.Write([]byte(`{"status":0,"body":{"userid":"42","access_token":"at","refresh_token":"rt","token_type":"Bearer","expires_in":3600,"scope":"user.info,user.metrics,user.activity"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"at","refresh_token":"rt","token_type":"bearer","expires_in":3600}`))
	}))
	defer tokens.Close()
	cfg := config.Default()
	cfg.Oura.ClientID, cfg.Oura.ClientSecret, cfg.Oura.TokenURL = "oura-app", "oura-secret", tokens.URL+"/oauth/token"
	cfg.Whoop.ClientID, cfg.Whoop.ClientSecret, cfg.Whoop.OAuthBaseURL = "whoop-app", "whoop-secret", tokens.URL
	cfg.Withings.ClientID, cfg.Withings.ClientSecret, cfg.Withings.APIBaseURL = "withings-app", "withings-secret", tokens.URL
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	built, err := app.BuildProviders(cfg, app.EngineOptions{Logger: testLogger(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range []string{oura.DataSource, whoop.DataSource, withings.DataSource} {
		flow, ok := built.Flows[ds]
		if !ok {
			t.Fatalf("no flow for %s", ds)
		}
		tok, err := flow.Exchange(t.Context(), "code")
		if err != nil {
			t.Fatalf("%s: %v", ds, err)
		}
		if want := now.Add(time.Hour); !tok.Expiry.Equal(want) {
			t.Errorf("%s exchange: expiry %v, want %v (an hour after the engine's clock)", ds, tok.Expiry, want)
		}
		var r provider.Refresher = built.Refreshers[ds]
		if r == nil {
			t.Fatalf("no refresher for %s", ds)
		}
		if tok, err = r.Refresh(t.Context(), "rt"); err != nil || !tok.Expiry.Equal(now.Add(time.Hour)) {
			t.Errorf("%s refresh: expiry %v (%v), want %v", ds, tok.Expiry, err, now.Add(time.Hour))
		}
	}
}
