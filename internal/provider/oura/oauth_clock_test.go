package oura_test

import (
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
)

// TestTokenExpiryOnInjectedClock: the expiry of a token from an exchange
// and from a refresh is expires_in after the flow's clock, here the
// simulator's (frozen, long before the wall clock): exactly when the
// simulator expires the token. On the wall clock the sync engine, which
// runs on the simulator's clock too, would never see it expire.
func TestTokenExpiryOnInjectedClock(t *testing.T) {
	start := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	e := newSimEnv(t, ourasim.Config{Clock: ourasim.NewClock(start, 0, nil), AccessTokenLifetime: time.Hour}, oura.Config{})
	o, err := oura.NewOAuth(oura.OAuthConfig{ClientID: e.sim.ClientID(), ClientSecret: e.sim.ClientSecret(),
		RedirectURL: "http://127.0.0.1:9/callback", AuthURL: e.url + "/oauth/authorize", TokenURL: e.url + "/oauth/token",
		Now: e.sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := o.Exchange(t.Context(), e.authorize(t, o, 0, "st"))
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(time.Hour); !tok.Expiry.Equal(want) {
		t.Fatalf("exchange: expiry %v, want %v (the simulator's)", tok.Expiry, want)
	}
	e.sim.AdvanceClock(48 * time.Hour)
	tok, err = o.Refresh(t.Context(), tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(49 * time.Hour); !tok.Expiry.Equal(want) {
		t.Fatalf("refresh: expiry %v, want %v (the simulator's)", tok.Expiry, want)
	}
}
