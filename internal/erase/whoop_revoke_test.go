package erase_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/erase"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil/harness"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// TestEraseRevokesWhoopGrantWithExpiredToken: a user erased more than an
// hour after the last refresh holds a dead WHOOP access token. The grant
// must still end at WHOOP (else its webhooks keep coming for a user that
// is gone): the token is refreshed first, on the flow's clock.
func TestEraseRevokesWhoopGrantWithExpiredToken(t *testing.T) {
	ctx := t.Context()
	// Frozen simulated time: it moves only when the test advances it.
	sim := simtest.Whoop(t, whoopsim.Config{Users: 1, ScanInterval: -1, DisableRateLimit: true,
		Clock: whoopsim.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC), 0, nil)})
	info := sim.Info()
	client, err := whoop.New(whoop.ClientConfig{BaseURL: info.APIBaseURL, Now: sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	built, err := all.Registry(all.Config{Whoop: &all.WhoopConfig{Client: client, OAuthBaseURL: info.BaseURL,
		ClientID: info.ClientID, ClientSecret: info.ClientSecret, RedirectURL: "http://wearlink.test/cb", Now: sim.Clock().Now}})
	if err != nil {
		t.Fatal(err)
	}
	flow := built.Flows[whoop.DataSource]

	// Link: consent as the simulator's user 0, exchange the code.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, flow.AuthCodeURL("state-0123456789"), nil)
	req.Header.Set(whoopsim.HeaderAuthorizeUser, "0")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("consent: %d, redirected to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := flow.Exchange(ctx, back.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	st := harness.SQLite(t, harness.StoreOptions{Now: sim.Clock().Now})
	if err := st.CreateClient(ctx, store.Client{UUID: "c-1", Name: "App"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateConnection(ctx, store.Connection{ClientUUID: "c-1", UserID: "u1", DataSource: whoop.DataSource, Status: store.StatusActive,
		Tokens: store.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, Scopes: tok.Scopes}}); err != nil {
		t.Fatal(err)
	}

	sim.Clock().Advance(61 * time.Minute)
	svc, err := erase.New(erase.Config{Store: st, Revokers: map[string]erase.Revoker{whoop.DataSource: flow.Revoke}, Now: sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.Request(ctx, "c-1", "u1", erase.ByAPI)
	if err != nil {
		t.Fatal(err)
	}
	if e, err = svc.Run(ctx, "c-1", e.ID); err != nil || e.State != store.ErasureCompleted {
		t.Fatalf("erasure %+v: %v", e, err)
	}
	if !sim.GrantRevoked(tok.AccessToken) {
		t.Error("the grant is still live at WHOOP")
	}
}
