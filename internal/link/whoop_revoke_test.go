package link

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// whoopLink links user u1 of client c-1 to the WHOOP simulator's user 0
// through the real flow (consent, callback, code exchange) and returns the
// service, the simulator and the stored connection.
func whoopLink(t *testing.T) (*Service, *whoopsim.Server, store.Connection) {
	t.Helper()
	// Frozen simulated time: it moves only when the test advances it.
	sim := simtest.Whoop(t, whoopsim.Config{Users: 1, ScanInterval: -1, DisableRateLimit: true,
		Clock: whoopsim.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC), 0, nil)})
	info := sim.Info()
	client, err := whoop.New(whoop.ClientConfig{BaseURL: info.APIBaseURL, Now: sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	built, err := all.Registry(all.Config{Whoop: &all.WhoopConfig{Client: client, OAuthBaseURL: info.BaseURL,
		ClientID: info.ClientID, ClientSecret: info.ClientSecret, RedirectURL: "http://wearlink.test" + CallbackPath(whoop.DataSource),
		Now: sim.Clock().Now}})
	if err != nil {
		t.Fatal(err)
	}
	st := newStore(t)
	s, err := New(Config{DataSource: whoop.DataSource, Name: "WHOOP", Store: st, OAuth: built.Flows[whoop.DataSource], Sync: okSync{st},
		PublicURL: "http://wearlink.test", Now: sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	to, cookie := connect(t, s, "u1")
	req, _ := http.NewRequest(http.MethodGet, to.String(), nil)
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
	cb := httptest.NewRequest(http.MethodGet, "http://wearlink.test"+CallbackPath(whoop.DataSource)+"?"+back.RawQuery, nil)
	cb.AddCookie(cookie)
	rec := httptest.NewRecorder()
	s.ServeCallback(rec, cb)
	if rec.Code != http.StatusFound {
		t.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	conn, err := st.FindConnection(t.Context(), "c-1", "u1", whoop.DataSource)
	if err != nil || conn.Tokens.AccessToken == "" || conn.Tokens.RefreshToken == "" {
		t.Fatalf("linked connection %+v: %v", conn, err)
	}
	return s, sim, conn
}

// TestRevokeWhoopWithExpiredToken: WHOOP revokes a grant with a bearer
// request, and its access tokens last an hour, so the stored one has
// usually expired when a client disconnects. The grant must still end at
// WHOOP (its webhooks stop), not only here: the token is refreshed first
// when it expired on the engine's clock, or when WHOOP refuses it before
// then.
func TestRevokeWhoopWithExpiredToken(t *testing.T) {
	t.Run("expired on the clock", func(t *testing.T) {
		s, sim, conn := whoopLink(t)
		sim.Clock().Advance(61 * time.Minute)
		if ok, err := s.Revoke(t.Context(), "c-1", "u1"); !ok || err != nil {
			t.Fatalf("revoke: %v %v", ok, err)
		}
		if !sim.GrantRevoked(conn.Tokens.AccessToken) {
			t.Error("the grant is still live at WHOOP")
		}
	})
	t.Run("refused before its expiry", func(t *testing.T) {
		s, sim, conn := whoopLink(t)
		if sim.ExpireTokens(0) == 0 {
			t.Fatal("no token to expire")
		}
		if ok, err := s.Revoke(t.Context(), "c-1", "u1"); !ok || err != nil {
			t.Fatalf("revoke: %v %v", ok, err)
		}
		if !sim.GrantRevoked(conn.Tokens.AccessToken) {
			t.Error("the grant is still live at WHOOP")
		}
	})
}
