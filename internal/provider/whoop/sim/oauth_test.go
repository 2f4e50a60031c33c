package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testRedirect = "https://app.example/whoop/callback"

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	Error        string `json:"error"`
}

func noRedirect(ts *httptest.Server) *http.Client {
	c := *ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// authorize runs the consent step as user and returns the redirect's query.
func authorize(t *testing.T, ts *httptest.Server, params url.Values, user string) url.Values {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+"/oauth/oauth2/auth?"+params.Encode(), nil)
	if user != "" {
		req.Header.Set(HeaderAuthorizeUser, user)
	}
	resp, err := noRedirect(ts).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(loc.String(), testRedirect) {
		t.Fatalf("redirected to %s", loc)
	}
	return loc.Query()
}

func authParams(scope string) url.Values {
	return url.Values{"client_id": {DefaultClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "scope": {scope}, "state": {"csrf-state-1234"}}
}

func tokenCall(t *testing.T, ts *httptest.Server, form url.Values) (int, tokenResponse) {
	t.Helper()
	resp, err := ts.Client().PostForm(ts.URL+"/oauth/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("token body %s: %v", b, err)
	}
	return resp.StatusCode, tr
}

func withClient(v url.Values) url.Values {
	v.Set("client_id", DefaultClientID)
	v.Set("client_secret", DefaultClientSecret)
	return v
}

func TestOAuthCodeAndRotation(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 3, RedirectURIs: []string{testRedirect, "whoop://example/redirect"}})
	q := authorize(t, ts, authParams("offline read:cycles read:profile"), "2")
	if q.Get("state") != "csrf-state-1234" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	code := q.Get("code")
	st, tr := tokenCall(t, ts, withClient(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}))
	if st != 200 || tr.ExpiresIn != 3600 || tr.TokenType != "bearer" || tr.Scope != "offline read:cycles read:profile" || tr.RefreshToken == "" {
		t.Fatalf("code exchange: %d %+v", st, tr)
	}
	_, _, b := get(t, ts, "/v2/user/profile/basic", tr.AccessToken)
	if p := decode[BasicProfile](t, b); p.UserID != srv.World().User(2).UserID {
		t.Fatalf("token is for %d, want user 2", p.UserID)
	}
	if st, _, _ := get(t, ts, "/v2/activity/sleep", tr.AccessToken); st != 401 {
		t.Errorf("sleep without read:sleep: %d", st)
	}
	if st, _ := tokenCall(t, ts, withClient(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}})); st != 400 {
		t.Errorf("code reused: %d", st)
	}

	// Rotation: a new pair; the old access and refresh tokens die.
	refresh := func(rt string) (int, tokenResponse) {
		return tokenCall(t, ts, withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"offline"}}))
	}
	st, tr2 := refresh(tr.RefreshToken)
	if st != 200 || tr2.RefreshToken == tr.RefreshToken || tr2.AccessToken == tr.AccessToken || tr2.ExpiresIn != 3600 || tr2.Scope != tr.Scope {
		t.Fatalf("refresh: %d %+v", st, tr2)
	}
	if st, _, _ := get(t, ts, "/v2/cycle", tr.AccessToken); st != 401 {
		t.Errorf("old access token after refresh: %d", st)
	}
	if st, _, _ := get(t, ts, "/v2/cycle", tr2.AccessToken); st != 200 {
		t.Errorf("new access token: %d", st)
	}
	// Reusing the spent refresh token fails and revokes the grant.
	if st, e := refresh(tr.RefreshToken); st != 400 || e.Error != "invalid_grant" {
		t.Errorf("reused refresh token: %d %+v", st, e)
	}
	if st, _, _ := get(t, ts, "/v2/cycle", tr2.AccessToken); st != 401 {
		t.Errorf("access token after refresh-token reuse: %d", st)
	}
	if st, _ := refresh(tr2.RefreshToken); st != 400 {
		t.Errorf("refresh after reuse revoked the grant: %d", st)
	}
}

func TestOAuthExpiryAndRevoke(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{})
	q := authorize(t, ts, authParams("offline read:sleep"), "0")
	_, tr := tokenCall(t, ts, withClient(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {testRedirect}}))
	srv.Clock().Advance(time.Hour)
	if st, _, _ := get(t, ts, "/v2/activity/sleep", tr.AccessToken); st != 401 {
		t.Errorf("token after an hour: %d", st)
	}
	st, tr2 := tokenCall(t, ts, withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}))
	if st != 200 {
		t.Fatalf("refresh after expiry: %d", st)
	}
	req, _ := http.NewRequest("DELETE", ts.URL+"/developer/v2/user/access", nil)
	req.Header.Set("Authorization", "Bearer "+tr2.AccessToken)
	resp, err := ts.Client().Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	if st, _, _ := get(t, ts, "/v2/activity/sleep", tr2.AccessToken); st != 401 {
		t.Errorf("after revoke: %d", st)
	}
	if st, _ := tokenCall(t, ts, withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr2.RefreshToken}})); st != 400 {
		t.Errorf("refresh after revoke: %d", st)
	}
	if st, _, _ := get(t, ts, "/v2/activity/sleep", srv.Tokens()[0].AccessToken); st != 200 {
		t.Errorf("the ready grant went with the revoked one: %d", st)
	}
}

// TestExpireTokens: a member's access tokens end at once, other members'
// do not, and the refresh token still gets a working pair.
func TestExpireTokens(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 2})
	q := authorize(t, ts, authParams("offline read:sleep"), "0")
	_, tr := tokenCall(t, ts, withClient(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {testRedirect}}))
	// The code's token and the ready one.
	if n := srv.ExpireTokens(0); n != 2 {
		t.Fatalf("%d tokens ended, want 2", n)
	}
	for _, tok := range []string{tr.AccessToken, srv.Tokens()[0].AccessToken} {
		if st, _, _ := get(t, ts, "/v2/activity/sleep", tok); st != 401 {
			t.Errorf("ended token: %d", st)
		}
	}
	if st, _, _ := get(t, ts, "/v2/activity/sleep", srv.Tokens()[1].AccessToken); st != 200 {
		t.Errorf("another member's token: %d", st)
	}
	st, tr2 := tokenCall(t, ts, withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}))
	if st != 200 {
		t.Fatalf("refresh after the tokens ended: %d", st)
	}
	if st, _, _ := get(t, ts, "/v2/activity/sleep", tr2.AccessToken); st != 200 {
		t.Errorf("refreshed token: %d", st)
	}
}

func TestOAuthNoOfflineNoRefreshToken(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	q := authorize(t, ts, authParams("read:recovery read:cycles"), "1")
	st, tr := tokenCall(t, ts, withClient(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {testRedirect}}))
	if st != 200 || tr.RefreshToken != "" || tr.Scope != "read:recovery read:cycles" {
		t.Fatalf("%d %+v", st, tr)
	}
}

func TestOAuthErrors(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{RedirectURIs: []string{testRedirect}})
	redirectErr := func(p url.Values, user string) string {
		return authorize(t, ts, p, user).Get("error")
	}
	for _, tc := range []struct {
		name   string
		edit   func(url.Values)
		header string
		want   string
	}{
		{"short state", func(v url.Values) { v.Set("state", "abc") }, "0", "invalid_state"},
		{"unknown scope", func(v url.Values) { v.Set("scope", "read:everything") }, "0", "invalid_scope"},
		{"token response type", func(v url.Values) { v.Set("response_type", "token") }, "0", "unsupported_response_type"},
		{"denied", func(v url.Values) { v.Set("deny", "1") }, "", "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := authParams("offline read:sleep")
			tc.edit(p)
			if got := redirectErr(p, tc.header); got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("unregistered redirect", func(t *testing.T) {
		p := authParams("read:sleep")
		p.Set("redirect_uri", "https://evil.example/")
		resp, err := noRedirect(ts).Get(ts.URL + "/oauth/oauth2/auth?" + p.Encode() + "&user=0")
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("%v %v", resp, err)
		}
	})
	t.Run("consent page lists users", func(t *testing.T) {
		resp, err := ts.Client().Get(ts.URL + "/oauth/oauth2/auth?" + authParams("read:sleep").Encode())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "Approve as user 2") {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})
	code := authorize(t, ts, authParams("read:sleep"), "0").Get("code")
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"wrong secret", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "client_id": {DefaultClientID}, "client_secret": {"x"}}, 401},
		{"no credentials", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}, 401},
		{"other redirect", withClient(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"whoop://x"}}), 400},
		{"unknown grant", withClient(url.Values{"grant_type": {"password"}}), 400},
		{"unknown refresh token", withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, tr := tokenCall(t, ts, tc.form); st != tc.want {
				t.Errorf("%d %+v, want %d", st, tr, tc.want)
			}
		})
	}
	t.Run("basic auth refused", func(t *testing.T) {
		req, _ := http.NewRequest("POST", ts.URL+"/oauth/oauth2/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
		resp, err := ts.Client().Do(req)
		if err != nil || resp.StatusCode != 401 {
			t.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
	})
}
