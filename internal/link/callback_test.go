package link

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil/simtest"
)

// okSync stores the connection as the sync engine does, and succeeds.
type okSync struct{ st store.Store }

func (f okSync) Link(ctx context.Context, p ingest.LinkParams) (ingest.LinkResult, error) {
	c, err := f.st.CreateConnection(ctx, store.Connection{ClientUUID: p.ClientUUID, UserID: p.UserID, DataSource: p.DataSource,
		Status: store.StatusActive, Tokens: p.Tokens})
	return ingest.LinkResult{Connection: c}, err
}

// connect runs ServeConnect and returns the provider URL it redirected to
// and the state cookie it set.
func connect(t *testing.T, s *Service, user string) (*url.URL, *http.Cookie) {
	t.Helper()
	u, err := s.AuthorizationURL(t.Context(), "c-1", user, "https://app.example.com/back")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeConnect(rec, httptest.NewRequest("GET", u, nil))
	cs := rec.Result().Cookies()
	if rec.Code != http.StatusFound || len(cs) != 1 {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	to, _ := url.Parse(rec.Header().Get("Location"))
	return to, cs[0]
}

func callback(s *Service, rawQuery string, c *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "http://wearlink.test"+CallbackPath("oura")+"?"+rawQuery, nil)
	if c != nil {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	s.ServeCallback(rec, req)
	return rec
}

// TestCallbackFromAnotherBrowserFirst: a request without the state cookie
// (a link scanner, a prefetch) that opens the callback first is turned
// away without spending the state, and the browser that started the flow
// then links; the same browser coming back is told the state was used.
func TestCallbackFromAnotherBrowserFirst(t *testing.T) {
	st := newStore(t)
	oa := &fakeOAuth{token: oura.Token{AccessToken: "a", RefreshToken: "r", Scopes: []string{"daily"}}}
	s, err := New(Config{DataSource: "oura", Name: "Oura", RequiredScopes: []string{"daily"}, Store: st, OAuth: oa, Sync: okSync{st}, PublicURL: "http://wearlink.test"})
	if err != nil {
		t.Fatal(err)
	}
	to, cookie := connect(t, s, "u1")
	q := "code=good-code&state=" + url.QueryEscape(to.Query().Get("state"))

	if rec := callback(s, q, nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "same browser") {
		t.Fatalf("cookie-less callback: %d %s", rec.Code, rec.Body)
	}
	wrong := *cookie
	wrong.Value = "not-the-state"
	if rec := callback(s, q, &wrong); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "same browser") {
		t.Fatalf("callback with another cookie: %d %s", rec.Code, rec.Body)
	}
	rec := callback(s, q, cookie)
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "https://app.example.com/back/client_uuid/c-1/user_id/u1") {
		t.Fatalf("the real browser after a cookie-less request: %d %s", rec.Code, rec.Body)
	}
	if c, err := st.FindConnection(t.Context(), "c-1", "u1", "oura"); err != nil || c.Status != store.StatusActive {
		t.Fatalf("connection %+v %v", c, err)
	}
	// The browser comes back: its cookie now says the state was used.
	used := rec.Result().Cookies()
	if len(used) != 1 {
		t.Fatalf("cookies after the callback: %v", used)
	}
	if rec := callback(s, q, used[0]); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "already used") {
		t.Fatalf("replayed callback: %d %s", rec.Code, rec.Body)
	}
}

// TestPKCEWithSimulator: with PKCE on, the authorization carries an S256
// challenge and the exchange its verifier, which the simulator checks; a
// code whose state was not started by this service cannot be exchanged.
func TestPKCEWithSimulator(t *testing.T) {
	sim, simURL := simtest.Simulator(t, ourasim.Config{Seed: 1, Users: 1, WebhookRetries: -1})
	oauth, err := oura.NewOAuth(oura.OAuthConfig{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		RedirectURL: "http://wearlink.test" + CallbackPath("oura"), AuthURL: simURL + "/oauth/authorize", TokenURL: simURL + "/oauth/token",
		RevokeURL: simURL + "/oauth/revoke", Now: sim.Clock().Now})
	if err != nil {
		t.Fatal(err)
	}
	st := newStore(t)
	s, err := New(Config{DataSource: "oura", Name: "Oura", RequiredScopes: []string{"daily"}, Store: st, OAuth: oauth, Sync: okSync{st}, PublicURL: "http://wearlink.test", PKCE: true})
	if err != nil {
		t.Fatal(err)
	}
	to, cookie := connect(t, s, "u1")
	if to.Query().Get("code_challenge_method") != "S256" || len(to.Query().Get("code_challenge")) != 43 {
		t.Fatalf("authorization without an S256 challenge: %s", to)
	}
	v, err := s.verifier(t.Context(), to.Query().Get("state"))
	if err != nil || len(v) < 43 {
		t.Fatalf("verifier %q: %v", v, err)
	}
	q := to.Query()
	q.Set("user", "0")
	to.RawQuery = q.Encode()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(to.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	rec := callback(s, back.RawQuery, cookie)
	if rec.Code != http.StatusFound {
		t.Fatalf("callback with PKCE: %d %s", rec.Code, rec.Body)
	}

	// Without PKCE on this side, a code issued against a challenge is
	// refused: the simulator does verify.
	plain, err := New(Config{DataSource: "oura", Name: "Oura", RequiredScopes: []string{"daily"}, Store: st, OAuth: oauth, Sync: okSync{st}, PublicURL: "http://wearlink.test"})
	if err != nil {
		t.Fatal(err)
	}
	to, cookie = connect(t, s, "u2")
	q = to.Query()
	q.Set("user", "0")
	to.RawQuery = q.Encode()
	if resp, err = noFollow.Get(to.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ = url.Parse(resp.Header.Get("Location"))
	if rec := callback(plain, back.RawQuery, cookie); rec.Code != http.StatusBadGateway {
		t.Fatalf("exchange without the verifier: %d %s", rec.Code, rec.Body)
	}
}

// TestAnotherProvider: a Service serves the data source it is made for:
// its own paths and cookie, its name on the pages, and the connection is
// that provider's, beside the user's other connections.
func TestAnotherProvider(t *testing.T) {
	st := newStore(t)
	oa := &fakeOAuth{token: oura.Token{AccessToken: "w", RefreshToken: "wr", Scopes: []string{"read:sleep", "offline"}}}
	s, err := New(Config{DataSource: "whoop", Name: "Whoop", RequiredScopes: []string{"offline"}, Store: st, OAuth: oa, Sync: okSync{st},
		PublicURL: "http://wearlink.test"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.AuthorizationURL(t.Context(), "c-1", "u1", "")
	if err != nil || !strings.HasPrefix(u, "http://wearlink.test/connect/whoop?") {
		t.Fatalf("authorization URL %q, %v", u, err)
	}
	to, cookie := connect(t, s, "u1")
	if cookie.Path != "/connect/whoop" {
		t.Fatalf("state cookie path %q", cookie.Path)
	}
	rec := callback(s, "code=good-code&state="+url.QueryEscape(to.Query().Get("state")), cookie)
	if rec.Code != http.StatusFound {
		t.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	c, err := st.FindConnection(t.Context(), "c-1", "u1", "whoop")
	if err != nil || c.Status != store.StatusActive || c.Tokens.AccessToken != "w" {
		t.Fatalf("whoop connection %+v %v", c, err)
	}
	if _, err := st.FindConnection(t.Context(), "c-1", "u1", "oura"); err == nil {
		t.Fatal("linking WHOOP made an Oura connection")
	}
	// The person declines at WHOOP: the page names WHOOP, not Oura.
	to, cookie = connect(t, s, "u2")
	rec = callback(s, "error=access_denied&state="+url.QueryEscape(to.Query().Get("state")), cookie)
	if body := rec.Body.String(); !strings.Contains(body, "Your Whoop account was not connected") || strings.Contains(body, "Oura") {
		t.Fatalf("denied page: %s", body)
	}
}
