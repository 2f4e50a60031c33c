package sim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testRedirect = "http://app.test/oauth/callback"

// authorize runs the consent step as user idx and returns the code.
func authorize(t *testing.T, base string, idx, scope string, hdr map[string]string) (string, url.Values) {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {DefaultClientID}, "redirect_uri": {testRedirect}, "state": {"st4te"}}
	if scope != "" {
		q.Set("scope", scope)
	}
	if idx != "" {
		q.Set("user", idx)
	}
	r := do(t, http.MethodGet, base+"/oauth/authorize?"+q.Encode(), "", hdr, nil)
	if r.status != http.StatusFound {
		t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), testRedirect) {
		t.Fatalf("authorize redirected to %q", r.header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query()
}

func tokenCall(t *testing.T, base string, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("token response is not JSON: %v", err)
	}
	return resp.StatusCode, m
}

func withClient(v url.Values) url.Values {
	v.Set("client_id", DefaultClientID)
	v.Set("client_secret", DefaultClientSecret)
	return v
}

func TestOAuthCodeFlowAndRotation(t *testing.T) {
	srv, ts := newTestServer(t, Config{AccessTokenLifetime: 24 * time.Hour})
	code, q := authorize(t, ts.URL, "1", "daily heartrate bogus", nil)
	if code == "" || q.Get("state") != "st4te" {
		t.Fatalf("redirect query %v", q)
	}
	form := withClient(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}})
	st, tok := tokenCall(t, ts.URL, form, false)
	if st != 200 {
		t.Fatalf("code exchange: %d %v", st, tok)
	}
	if tok["token_type"] != "bearer" || tok["expires_in"] != float64(86400) || tok["scope"] != "daily heartrate" {
		t.Errorf("token response %v: want bearer, 86400 s, unknown scope dropped", tok)
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)

	// The token reads user 1's data and only what its scopes allow.
	pi := get(t, ts.URL+"/v2/usercollection/personal_info", access).json(t)
	if pi["id"] != srv.World().Users()[1].OuraID {
		t.Errorf("token belongs to %v, want user 1", pi["id"])
	}
	if r := get(t, ts.URL+"/v2/usercollection/workout", access); r.status != 401 {
		t.Errorf("workout without scope: %d", r.status)
	}

	// A code is single-use.
	if st, m := tokenCall(t, ts.URL, form, false); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code reuse: %d %v", st, m)
	}

	// Refresh rotates: new pair, old refresh token spent.
	st, tok2 := tokenCall(t, ts.URL, withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}), false)
	if st != 200 || tok2["refresh_token"] == refresh || tok2["access_token"] == access {
		t.Fatalf("refresh: %d %v", st, tok2)
	}
	if st, m := tokenCall(t, ts.URL, withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}), false); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("refresh-token reuse: %d %v", st, m)
	}
	// HTTP Basic client authentication works too.
	st, tok3 := tokenCall(t, ts.URL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2["refresh_token"].(string)}}, true)
	if st != 200 {
		t.Fatalf("refresh with basic auth: %d %v", st, tok3)
	}

	// Access tokens expire in simulated time.
	srv.Clock().Advance(25 * time.Hour)
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", tok3["access_token"].(string)); r.status != 401 || !strings.Contains(detailString(t, r), "expired") {
		t.Errorf("after expiry: %d %s", r.status, r.body)
	}

	// Revoking kills the whole grant, refresh token included.
	st, tok4 := tokenCall(t, ts.URL, withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok3["refresh_token"].(string)}}), false)
	if st != 200 {
		t.Fatalf("refresh after expiry: %d %v", st, tok4)
	}
	a4 := tok4["access_token"].(string)
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", a4); r.status != 200 {
		t.Fatalf("fresh token: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodPost, ts.URL+"/oauth/revoke?access_token="+url.QueryEscape(a4), "", nil, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", a4); r.status != 401 || !strings.Contains(detailString(t, r), "revoked") {
		t.Errorf("after revoke: %d %s", r.status, r.body)
	}
	if st, m := tokenCall(t, ts.URL, withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok4["refresh_token"].(string)}}), false); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("refresh after revoke: %d %v", st, m)
	}
	// GET works on the revoke route as well.
	other, _ := srv.IssueToken(0, nil, 0)
	if r := get(t, ts.URL+"/oauth/revoke?access_token="+url.QueryEscape(other.AccessToken), ""); r.status != 200 {
		t.Errorf("GET revoke: %d", r.status)
	}
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep", other.AccessToken); r.status != 401 {
		t.Errorf("after GET revoke: %d", r.status)
	}
}

func TestOAuthErrors(t *testing.T) {
	srv, ts := newTestServer(t, Config{CodeLifetime: time.Minute})
	code, _ := authorize(t, ts.URL, "0", "", nil)
	tests := []struct {
		name   string
		form   url.Values
		status int
		err    string
	}{
		{"wrong secret", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "client_id": {DefaultClientID}, "client_secret": {"x"}}, 401, "invalid_client"},
		{"wrong redirect", withClient(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://evil.test/"}}), 400, "invalid_grant"},
		{"unknown code", withClient(url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {testRedirect}}), 400, "invalid_grant"},
		{"unknown refresh token", withClient(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}), 400, "invalid_grant"},
		{"client credentials grant", withClient(url.Values{"grant_type": {"client_credentials"}}), 400, "unsupported_grant_type"},
		{"password grant", withClient(url.Values{"grant_type": {"password"}}), 400, "unsupported_grant_type"},
		{"no grant type", withClient(url.Values{}), 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := tokenCall(t, ts.URL, tc.form, false)
			if st != tc.status || m["error"] != tc.err {
				t.Errorf("%d %v, want %d %s", st, m, tc.status, tc.err)
			}
		})
	}

	// Empty scope grants everything the application may use.
	code, _ = authorize(t, ts.URL, "0", "", nil)
	_, m := tokenCall(t, ts.URL, withClient(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}), false)
	if m["scope"] != strings.Join(KnownScopes(), " ") {
		t.Errorf("empty scope granted %q", m["scope"])
	}

	// A code dies after its lifetime (real time; here a fake real clock).
	fr := newFakeReal(testStart)
	_, ts2 := newTestServer(t, Config{Clock: NewClock(testStart, 0, fr.Now)})
	code, _ = authorize(t, ts2.URL, "0", "daily", nil)
	fr.Add(11 * time.Minute)
	if st, m := tokenCall(t, ts2.URL, withClient(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}), false); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("expired code: %d %v", st, m)
	}

	// Consent by header, deny, unknown client, the HTML page.
	code, _ = authorize(t, ts.URL, "", "daily", map[string]string{HeaderAuthorizeUser: "1"})
	if code == "" {
		t.Error("header consent gave no code")
	}
	if _, q := authorize(t, ts.URL, "", "daily", map[string]string{HeaderAuthorizeDecision: "deny"}); q.Get("error") != "access_denied" || q.Get("state") != "st4te" {
		t.Errorf("deny redirect %v", q)
	}
	r := get(t, ts.URL+"/oauth/authorize?response_type=code&client_id=who&redirect_uri="+url.QueryEscape(testRedirect), "")
	if r.status != 400 || r.json(t)["error"] != "invalid_client" {
		t.Errorf("unknown client: %d %s", r.status, r.body)
	}
	r = get(t, ts.URL+"/oauth/authorize?response_type=code&client_id="+DefaultClientID+"&redirect_uri="+url.QueryEscape(testRedirect)+"&scope=daily&state=abc", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), srv.World().Users()[1].OuraID) || !strings.Contains(string(r.body), `name="user" value="1"`) {
		t.Errorf("consent page: %d %s", r.status, r.body)
	}
}

func TestOAuthRegisteredRedirects(t *testing.T) {
	_, ts := newTestServer(t, Config{RedirectURIs: []string{testRedirect}, AppScopes: []string{"daily", "personal"}})
	// With one registered URI the parameter may be left out.
	r := get(t, ts.URL+"/oauth/authorize?response_type=code&client_id="+DefaultClientID+"&user=0&scope=daily+workout", "")
	if r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), testRedirect+"?code=") {
		t.Fatalf("%d %s", r.status, r.header.Get("Location"))
	}
	loc, _ := url.Parse(r.header.Get("Location"))
	_, m := tokenCall(t, ts.URL, withClient(url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {testRedirect}}), false)
	if m["scope"] != "daily" {
		t.Errorf("scope %q: a scope the application has not enabled must be dropped", m["scope"])
	}
	r = get(t, ts.URL+"/oauth/authorize?response_type=code&client_id="+DefaultClientID+"&user=0&redirect_uri="+url.QueryEscape("http://other.test/cb"), "")
	if r.status != 400 {
		t.Errorf("unregistered redirect: %d %s", r.status, r.body)
	}
}
