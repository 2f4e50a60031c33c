package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// TestRevokeAuth: revoke_auth revokes the token at Oura, stops syncing and
// keeps the data; a second revoke has nothing to do (204).
func TestRevokeAuth(t *testing.T) {
	e := newEnv(t, envOptions{workers: true, backfillDays: 2})
	a := e.newClient("A")
	cb, _ := e.linkAs(browser(t), e.authorizationURL(a, "u1", ""), 1, nil)
	if cb.status != 200 || !strings.Contains(string(cb.body), "Your Oura account is connected") {
		t.Fatalf("callback without redirect_url: %d %s", cb.status, cb.body)
	}
	conn := e.waitBackfill(a.uuid, "u1", 5*time.Minute)
	token := conn.Tokens.AccessToken
	if _, err := e.oura.User(oura.StaticToken(token)).PersonalInfo(e.ctx); err != nil {
		t.Fatalf("the token does not work before revoking: %v", err)
	}
	docs := func() int {
		n, err := e.st.CountHealthDocuments(e.ctx, a.uuid)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range n {
			total += c
		}
		return total
	}
	before := docs()

	r := e.do(&a, "POST", "/api/v1/user_id/u1/data_sources/revoke_auth", `{"data_source":"Oura"}`)
	if r.status != 200 || !strings.Contains(r.json(t)["message"].(string), "revoked") {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	conn, err := e.st.FindConnection(e.ctx, a.uuid, "u1", "oura")
	if err != nil {
		t.Fatal(err)
	}
	if conn.Status != store.StatusRevoked || conn.Tokens.AccessToken != "" || conn.Tokens.RefreshToken != "" {
		t.Fatalf("after revoke: status %s, tokens kept: %t", conn.Status, conn.Tokens.AccessToken != "")
	}
	_, err = e.oura.User(oura.StaticToken(token)).PersonalInfo(e.ctx)
	if oura.KindOf(err) != oura.KindInvalidToken {
		t.Fatalf("Oura still accepts the revoked token: %v", err)
	}
	if after := docs(); after != before || before == 0 {
		t.Fatalf("documents %d before, %d after revoking", before, after)
	}
	if r := e.do(&a, "GET", "/v2/processed_data/sleep_health/summary?user_id=u1&date=2001-01-01", ""); r.status != 204 {
		t.Fatalf("the user is gone after revoking: %d", r.status)
	}
	// Syncing stops: nothing in the sync engine works on a revoked
	// connection (its jobs check the status first).
	if n, err := e.st.ListConnections(e.ctx, store.StatusActive); err != nil || len(n) != 0 {
		t.Fatalf("active connections after revoking: %d %v", len(n), err)
	}
	if ev := e.events.list(); len(ev) != 3 || ev[2] != "unlinked:"+a.uuid+"/u1:client" {
		t.Fatalf("events %v", ev)
	}
	m := e.do(&a, "GET", "/api/v1/user_id/u1/data_source/Oura/authorizer", "").json(t)
	if m["authorized"] != false || m["authorization_url"] == nil {
		t.Fatalf("authorizer after revoking: %v", m)
	}
	if r := e.do(&a, "POST", "/api/v1/user_id/u1/data_sources/revoke_auth", `{"data_source":"oura"}`); r.status != 204 {
		t.Fatalf("second revoke: %d %s", r.status, r.body)
	}
	if r := e.do(&a, "POST", "/api/v1/user_id/nobody/data_sources/revoke_auth", `{"data_source":"Oura"}`); r.status != 404 {
		t.Fatalf("revoke for an unknown user: %d", r.status)
	}

	// Linking again works and makes the connection active with new tokens.
	cb, _ = e.linkAs(browser(t), e.authorizationURL(a, "u1", ""), 1, nil)
	conn, _ = e.st.FindConnection(e.ctx, a.uuid, "u1", "oura")
	if cb.status != 200 || conn.Status != store.StatusActive || conn.Tokens.AccessToken == "" || conn.Tokens.AccessToken == token {
		t.Fatalf("relink: %d, status %s", cb.status, conn.Status)
	}
}

// TestRedirectURLValidation: the authorizer accepts https redirect URLs
// (http only for localhost and 127.0.0.1) and says what is wrong with the
// others.
func TestRedirectURLValidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	tests := []struct {
		url    string
		status int
		says   string
	}{
		{"https://app.example.com", 200, ""},
		{"https://app.example.com/path/?q=1", 200, ""},
		{"http://localhost:3000/cb", 200, ""},
		{"http://127.0.0.1:8080", 200, ""},
		{"http://[::1]:8080/x", 200, ""},
		{"http://app.example.com", 400, "https"},
		{"ftp://app.example.com", 400, "https"},
		{"javascript:alert(1)", 400, "absolute"},
		{"/relative/path", 400, "absolute"},
		{"https://user:pw@app.example.com", 400, "password"},
		{"https://app.example.com/#frag", 400, "fragment"},
		{"https://app.example.com/" + strings.Repeat("a", 2100), 400, "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.url[:min(len(tt.url), 40)], func(t *testing.T) {
			for _, target := range []string{
				"/api/v1/user_id/u1/data_source/Oura/authorizer?redirect_url=" + url.QueryEscape(tt.url),
				"/api/v1/client_uuid/" + a.uuid + "/user_id/u1/data_sources/authorizers?redirect_url=" + url.QueryEscape(tt.url),
			} {
				r := e.do(&a, "GET", target, "")
				if r.status != tt.status || tt.says != "" && !strings.Contains(r.json(t)["message"].(string), tt.says) {
					t.Fatalf("%d %s, want %d with %q", r.status, r.body, tt.status, tt.says)
				}
			}
		})
	}
}

// TestLinkFailures: each way linking can fail shows the person a page that
// says what happened, tells the client through an event, and leaves no
// connection behind.
func TestLinkFailures(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	noConnection := func(t *testing.T, user string) {
		t.Helper()
		if c, err := e.st.FindConnection(e.ctx, a.uuid, user, "oura"); health.ErrorCode(err) != health.ENOTFOUND {
			t.Fatalf("a connection was left behind: %+v %v", c, err)
		}
	}
	lastEvent := func() string {
		ev := e.events.list()
		if len(ev) == 0 {
			return ""
		}
		return ev[len(ev)-1]
	}

	t.Run("denied", func(t *testing.T) {
		b := browser(t)
		r := hop(t, b, e.authorizationURL(a, "denier", "https://app.example.com/back"), nil)
		r = hop(t, b, r.header.Get("Location"), http.Header{"X-Ourasim-Decision": {"deny"}})
		r = hop(t, b, r.header.Get("Location"), nil)
		if r.status != 200 || !strings.Contains(string(r.body), "not connected") || !strings.Contains(string(r.body), `href="https://app.example.com/back"`) {
			t.Fatalf("%d %s", r.status, r.body)
		}
		noConnection(t, "denier")
		if ev := lastEvent(); ev != "failed:"+a.uuid+"/denier:denied" {
			t.Fatalf("event %q", ev)
		}
	})

	t.Run("missing scope", func(t *testing.T) {
		b := browser(t)
		r, _ := e.linkAs(b, e.authorizationURL(a, "stingy", ""), 0, url.Values{"granted": {"personal email"}})
		if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "<code>daily</code>") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		noConnection(t, "stingy")
		if ev := lastEvent(); ev != "failed:"+a.uuid+"/stingy:missing_scope" {
			t.Fatalf("event %q", ev)
		}
	})

	t.Run("another browser", func(t *testing.T) {
		r := hop(t, browser(t), e.authorizationURL(a, "victim", ""), nil)
		// The attacker's browser started the flow; the victim completes it.
		r = hop(t, browser(t), r.header.Get("Location"), http.Header{"X-Ourasim-User": {"0"}})
		r = hop(t, browser(t), r.header.Get("Location"), nil)
		if r.status != 400 || !strings.Contains(string(r.body), "same browser") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		noConnection(t, "victim")
	})

	t.Run("expired state", func(t *testing.T) {
		b := browser(t)
		r := hop(t, b, e.authorizationURL(a, "slow", ""), nil)
		r = hop(t, b, r.header.Get("Location"), http.Header{"X-Ourasim-User": {"0"}})
		e.clock.Advance(16 * time.Minute)
		defer e.clock.Advance(-16 * time.Minute)
		r = hop(t, b, r.header.Get("Location"), nil)
		if r.status != 400 || !strings.Contains(string(r.body), "took too long") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		noConnection(t, "slow")
		if ev := lastEvent(); ev != "failed:"+a.uuid+"/slow:expired" {
			t.Fatalf("event %q", ev)
		}
	})

	t.Run("expired link", func(t *testing.T) {
		u := e.authorizationURL(a, "late", "")
		e.clock.Advance(25 * time.Hour)
		defer e.clock.Advance(-25 * time.Hour)
		if r := hop(t, browser(t), u, nil); r.status != 400 || !strings.Contains(string(r.body), "expired") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	t.Run("tampered link", func(t *testing.T) {
		u := e.authorizationURL(a, "honest", "")
		for _, bad := range []string{
			strings.Replace(u, "user_id=honest", "user_id=mallory", 1),
			strings.Replace(u, "client_uuid=", "client_uuid=x", 1),
			u + "&redirect_url=https://evil.example",
			strings.Replace(u, "sig=", "sig=A", 1),
		} {
			if r := hop(t, browser(t), bad, nil); r.status != 400 || !strings.Contains(string(r.body), "not valid") {
				t.Fatalf("%s: %d %s", bad, r.status, r.body)
			}
		}
	})

	t.Run("callback without state", func(t *testing.T) {
		r := hop(t, browser(t), e.url+"/connect/oura/callback?code=abc", nil)
		if r.status != 400 || !strings.Contains(string(r.body), "did not come from Oura") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		// A state this browser holds no cookie for is not looked up (nor
		// spent): the browser is told to finish where it started.
		r = hop(t, browser(t), e.url+"/connect/oura/callback?code=abc&state=forged", nil)
		if r.status != 400 || !strings.Contains(string(r.body), "same browser") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	t.Run("deleted client", func(t *testing.T) {
		gone := e.newClient("Gone")
		u := e.authorizationURL(gone, "u1", "")
		if err := e.st.DeleteClient(e.ctx, gone.uuid); err != nil {
			t.Fatal(err)
		}
		if r := hop(t, browser(t), u, nil); r.status != 404 || !strings.Contains(string(r.body), "no longer registered") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

// TestLinkingNotConfigured: without a Linker the linking routes say so.
func TestLinkingNotConfigured(t *testing.T) {
	e := newEnv(t, envOptions{noLinker: true})
	a := e.newClient("A")
	for _, target := range []string{"/api/v1/user_id/u1/data_source/Oura/authorizer", "/api/v1/client_uuid/" + a.uuid + "/user_id/u1/data_sources/authorizers"} {
		if r := e.do(&a, "GET", target, ""); r.status != 503 {
			t.Fatalf("%s: %d", target, r.status)
		}
	}
	if r := e.do(nil, "GET", "/connect/oura?x=1", ""); r.status != 503 {
		t.Fatalf("connect: %d", r.status)
	}
}
