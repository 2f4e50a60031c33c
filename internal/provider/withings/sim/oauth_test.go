package sim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testRedirect = "http://127.0.0.1:9/callback"

type tokenBody struct {
	UserID       string `json:"userid"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
}

// authorize walks the authorization page without following the redirect
// and returns the code; user "" lets the server pick.
func authorize(t *testing.T, ts *httptest.Server, scope, user string) string {
	t.Helper()
	loc := authorizeRaw(t, ts, url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "scope": {scope}, "redirect_uri": {testRedirect}, "state": {"st4te"}, "user": {user}})
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, testRedirect) || u.Query().Get("state") != "st4te" || u.Query().Get("code") == "" {
		t.Fatalf("redirect %q", loc)
	}
	return u.Query().Get("code")
}

func authorizeRaw(t *testing.T, ts *httptest.Server, q url.Values) string {
	t.Helper()
	if q.Get("user") == "" {
		q.Del("user")
	}
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(ts.URL + PathAuthorize + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "HTTP " + resp.Status
	}
	return resp.Header.Get("Location")
}

func requestToken(t *testing.T, ts *httptest.Server, kv ...string) reply {
	t.Helper()
	f := form(append([]string{"action", "requesttoken", "client_id", DefaultClientID, "client_secret", DefaultClientSecret}, kv...)...)
	return call(t, ts, PathOAuth2, "", f)
}

func TestAuthorizationCode(t *testing.T) {
	srv, ts, clk := newTestServer(t, Config{Users: 2})
	// Without ?user= the page links each user in turn.
	c0 := authorize(t, ts, "user.metrics,user.activity", "")
	c1 := authorize(t, ts, "user.metrics", "")
	rp := requestToken(t, ts, "grant_type", "authorization_code", "code", c0, "redirect_uri", testRedirect)
	tb := decode[tokenBody](t, rp.Body)
	if rp.Status != 0 || tb.ExpiresIn != 10800 || tb.TokenType != "Bearer" || tb.Scope != "user.metrics,user.activity" {
		t.Fatalf("token answer %s", rp.Raw)
	}
	if tb.UserID != itoa64(srv.world.user(0).UserID) {
		t.Errorf("userid %s, want user 0's %d", tb.UserID, srv.world.user(0).UserID)
	}
	if rp := requestToken(t, ts, "grant_type", "authorization_code", "code", c0, "redirect_uri", testRedirect); rp.Status != StatusInvalidParams {
		t.Errorf("a code redeemed twice: status %d", rp.Status)
	}
	// The second code is for user 1, and a code lives 30 s.
	clk.Add(31 * time.Second)
	if rp := requestToken(t, ts, "grant_type", "authorization_code", "code", c1, "redirect_uri", testRedirect); rp.Status != StatusInvalidParams {
		t.Errorf("a code after 31 s: status %d", rp.Status)
	}
	c2 := authorize(t, ts, "user.metrics", "1")
	clk.Add(29 * time.Second)
	rp = requestToken(t, ts, "grant_type", "authorization_code", "code", c2, "redirect_uri", testRedirect)
	if tb := decode[tokenBody](t, rp.Body); rp.Status != 0 || tb.UserID != itoa64(srv.world.user(1).UserID) {
		t.Fatalf("a code after 29 s: %s", rp.Raw)
	}
	// A token with user.metrics only reads measures, not activity.
	acc := decode[tokenBody](t, rp.Body).AccessToken
	if rp := call(t, ts, PathMeasure, acc, form("action", "getmeas")); rp.Status != 0 {
		t.Errorf("getmeas with user.metrics: %d", rp.Status)
	}
	if rp := call(t, ts, PathMeasureV2, acc, form("action", "getactivity", "lastupdate", "0")); rp.Status != StatusUnauthorized {
		t.Errorf("getactivity without user.activity: %d", rp.Status)
	}
	// The access token lasts 3 h on the simulated clock.
	clk.Add(3 * time.Hour)
	if rp := call(t, ts, PathMeasure, acc, form("action", "getmeas")); rp.Status != StatusInvalidToken {
		t.Errorf("an access token after 3 h: %d", rp.Status)
	}

	for name, c := range map[string]struct {
		q    url.Values
		want string
	}{
		"unknown client":    {url.Values{"response_type": {"code"}, "client_id": {"x"}, "scope": {"user.info"}, "redirect_uri": {testRedirect}, "state": {"s"}}, "HTTP 400"},
		"no redirect":       {url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "scope": {"user.info"}, "state": {"s"}}, "HTTP 400"},
		"no state":          {url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "scope": {"user.info"}, "redirect_uri": {testRedirect}}, "HTTP 400"},
		"spaces in scope":   {url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "scope": {"user.info user.metrics"}, "redirect_uri": {testRedirect}, "state": {"s"}}, "error=invalid_scope"},
		"token response":    {url.Values{"response_type": {"token"}, "client_id": {DefaultClientID}, "scope": {"user.info"}, "redirect_uri": {testRedirect}, "state": {"s"}}, "error=unsupported_response_type"},
		"unknown user":      {url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "scope": {"user.info"}, "redirect_uri": {testRedirect}, "state": {"s"}, "user": {"9"}}, "HTTP 400"},
		"relative redirect": {url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "scope": {"user.info"}, "redirect_uri": {"/cb"}, "state": {"s"}}, "HTTP 400"},
	} {
		if got := authorizeRaw(t, ts, c.q); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
	for name, kv := range map[string][]string{
		"wrong redirect": {"grant_type", "authorization_code", "code", authorize(t, ts, "user.info", "0"), "redirect_uri", "http://127.0.0.1:9/other"},
		"no grant type":  {"code", "x"},
	} {
		if rp := requestToken(t, ts, kv...); rp.Status != StatusInvalidParams {
			t.Errorf("%s: status %d", name, rp.Status)
		}
	}
	if rp := call(t, ts, PathOAuth2, "", form("action", "requesttoken", "grant_type", "refresh_token", "client_id", DefaultClientID, "client_secret", "wrong", "refresh_token", srv.Tokens()[0].RefreshToken)); rp.Status != StatusInvalidParams {
		t.Errorf("a wrong client secret: %d", rp.Status)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// TestRefreshRotation: every refresh returns a new refresh token; the old
// one keeps working until the new access token is used or 8 h pass.
func TestRefreshRotation(t *testing.T) {
	srv, ts, clk := newTestServer(t, Config{Users: 1})
	refresh := func(ref string) (tokenBody, int) {
		rp := requestToken(t, ts, "grant_type", "refresh_token", "refresh_token", ref)
		return decode[tokenBody](t, orEmpty(rp.Body)), rp.Status
	}
	old := srv.Tokens()[0].RefreshToken
	a, st := refresh(old)
	if st != 0 || a.RefreshToken == old || a.RefreshToken == "" {
		t.Fatalf("first refresh: %d %+v", st, a)
	}
	// Retrying with the old token (the answer was lost, say) works while the
	// new access token is unused.
	b, st := refresh(old)
	if st != 0 {
		t.Fatalf("old refresh token before the new access token is used: %d", st)
	}
	// Using the first of the two access tokens it gave ends it too.
	if rp := call(t, ts, PathUserV2, a.AccessToken, form("action", "getdevice")); rp.Status != 0 {
		t.Fatalf("new access token: %d", rp.Status)
	}
	if _, st := refresh(old); st != StatusInvalidParams {
		t.Errorf("old refresh token after the new access token was used: %d", st)
	}
	// Unused successor: the old token still dies 8 h after the rotation.
	c, _ := refresh(b.RefreshToken)
	clk.Add(RefreshGrace - time.Second)
	if _, st := refresh(b.RefreshToken); st != 0 {
		t.Errorf("old refresh token just before 8 h: %d", st)
	}
	clk.Add(time.Second)
	if _, st := refresh(b.RefreshToken); st != StatusInvalidParams {
		t.Errorf("old refresh token at 8 h: %d", st)
	}
	if _, st := refresh(c.RefreshToken); st != 0 {
		t.Errorf("the newest refresh token: %d", st)
	}
	if _, st := refresh("nope"); st != StatusInvalidParams {
		t.Errorf("unknown refresh token: %d", st)
	}
}

func orEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}
