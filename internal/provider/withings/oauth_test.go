package withings

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/wearlink/wearlink/internal/provider"
)

// tokenServer is a fake /v2/oauth2 that rotates refresh tokens: each
// refresh issues access-N and refresh-N and retires the refresh token it
// was given, as Withings does once the new access token is used.
type tokenServer struct {
	mu      sync.Mutex
	n       int
	live    map[string]bool // refresh tokens that still work
	access  map[string]bool // access tokens the API accepts
	userid  any
	lastReq url.Values
}

func newTokenServer(f *fakeWithings, userid any) *tokenServer {
	ts := &tokenServer{live: map[string]bool{"refresh-0": true}, access: map[string]bool{}, userid: userid}
	f.on("/v2/oauth2", "requesttoken", func(form url.Values, bearer string) string {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.lastReq = form
		if form.Get("client_id") != "cid" || form.Get("client_secret") != "csecret" || bearer != "" {
			return status(2555)
		}
		switch form.Get("grant_type") {
		case "authorization_code":
			if form.Get("code") != "good-code" {
				return status(503) // Withings: invalid params, the code is not valid
			}
		case "refresh_token":
			if !ts.live[form.Get("refresh_token")] {
				return status(503)
			}
			delete(ts.live, form.Get("refresh_token"))
		default:
			return status(503)
		}
		ts.n++
		acc, ref := fmt.Sprintf("access-%d", ts.n), fmt.Sprintf("refresh-%d", ts.n)
		ts.live[ref] = true
		ts.access[acc] = true
		return ok(map[string]any{"userid": ts.userid, "access_token": acc, "refresh_token": ref, "expires_in": 10800,
			"scope": "user.info,user.metrics,user.activity", "csrf_token": "x", "token_type": "Bearer"})
	})
	return ts
}

func (ts *tokenServer) accepts(tok string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.access[tok]
}

func newFlow(t *testing.T, f *fakeWithings, clk *clock, ids *UserIDs) *OAuth {
	t.Helper()
	o, err := NewOAuth(OAuthConfig{Client: f.client(t, clk, nil), AuthURL: "http://127.0.0.1:1/oauth2_user/authorize2",
		ClientID: "cid", ClientSecret: "csecret", RedirectURL: "http://127.0.0.1:2/callback", UserIDs: ids, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestAuthCodeURL: comma-separated scopes, no PKCE.
func TestAuthCodeURL(t *testing.T) {
	f := newFake(t)
	o := newFlow(t, f, newClock(), nil)
	u, err := url.Parse(o.AuthCodeURL("st4te"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/oauth2_user/authorize2" || q.Get("scope") != "user.info,user.metrics,user.activity" ||
		q.Get("response_type") != "code" || q.Get("client_id") != "cid" || q.Get("state") != "st4te" ||
		q.Get("redirect_uri") != "http://127.0.0.1:2/callback" || q.Has("code_challenge") {
		t.Errorf("authorize URL %s", u)
	}
}

// TestExchange: the enveloped token answer gives the tokens, their expiry
// on the injected clock, the scopes split on commas and the user, whether
// Withings writes userid as a number or a string; a refused code is a
// dead grant.
func TestExchange(t *testing.T) {
	for _, userid := range []any{12345678, "12345678"} {
		f := newFake(t)
		ts := newTokenServer(f, userid)
		clk := newClock()
		ids := NewUserIDs(clk.Now)
		o := newFlow(t, f, clk, ids)
		g, err := o.ExchangeGrant(bg, "good-code")
		if err != nil {
			t.Fatal(err)
		}
		if g.UserID != "12345678" || g.AccessToken != "access-1" || g.RefreshToken != "refresh-1" ||
			!g.Expiry.Equal(clk.Now().Add(3*time.Hour)) || !slices.Equal(g.Scopes, Scopes()) {
			t.Errorf("grant %+v", g)
		}
		if id, found := ids.Lookup("access-1"); !found || id != "12345678" {
			t.Errorf("user of the token: %q %v", id, found)
		}
		r := ts.lastReq
		if r.Get("action") != "requesttoken" || r.Get("grant_type") != "authorization_code" || r.Get("code") != "good-code" ||
			r.Get("redirect_uri") != "http://127.0.0.1:2/callback" {
			t.Errorf("token request %v", r)
		}
		// A server failure is not retried either: the code would expire.
		f.on("/v2/oauth2", "requesttoken", func(url.Values, string) string { return status(2552) })
		if _, err := o.Exchange(bg, "good-code"); provider.KindOf(err) != provider.KindServer {
			t.Errorf("server failure: %v", err)
		}
		newTokenServer(f, userid)
		_, err = o.Exchange(bg, "stale-code")
		if provider.KindOf(err) != provider.KindInvalidToken {
			t.Errorf("stale code: %v", err)
		}
		if n := len(f.log()); n != 3 {
			t.Errorf("%d token requests, want 3: a code is not retried", n)
		}
	}
}

// TestRefreshRotation: a rejected access token is refreshed once through
// the token source, the rotated refresh token is persisted before the new
// access token is used, and the request is sent again with it. A second
// rejection after the refresh is returned, not refreshed again.
func TestRefreshRotation(t *testing.T) {
	f := newFake(t)
	ts := newTokenServer(f, 42)
	f.on("/v2/user", "getdevice", func(_ url.Values, bearer string) string {
		if !ts.accepts(bearer) {
			return status(401)
		}
		return ok(map[string]any{"devices": []any{}})
	})
	clk := newClock()
	o := newFlow(t, f, clk, nil)
	var persisted []provider.Tokens
	src := provider.NewTokenSource(o, provider.Tokens{AccessToken: "old", RefreshToken: "refresh-0", Expiry: clk.Now().Add(time.Hour)},
		func(_ context.Context, t provider.Tokens) error { persisted = append(persisted, t); return nil }, clk.Now)
	u := f.client(t, clk, nil).User(src)
	if _, err := u.Devices(bg); err != nil {
		t.Fatal(err)
	}
	if len(persisted) != 1 || persisted[0].RefreshToken != "refresh-1" || persisted[0].AccessToken != "access-1" {
		t.Fatalf("persisted %+v", persisted)
	}
	var bearers []string
	for _, r := range f.log() {
		if r.Action == "getdevice" {
			bearers = append(bearers, r.Bearer)
		}
	}
	if !slices.Equal(bearers, []string{"old", "access-1"}) {
		t.Errorf("bearers %v", bearers)
	}

	// The old refresh token is spent: a second refresh from it is a dead
	// grant, which needs a new consent.
	if _, err := o.Refresh(bg, "refresh-0"); provider.KindOf(err) != provider.KindInvalidToken {
		t.Errorf("spent refresh token: %v", err)
	}

	// Refused after the refresh too: one refresh only.
	f.on("/v2/user", "getdevice", func(url.Values, string) string { return status(401) })
	before := len(persisted)
	_, err := u.Devices(bg)
	if provider.KindOf(err) != provider.KindInvalidToken {
		t.Errorf("err %v", err)
	}
	if len(persisted) != before+1 {
		t.Errorf("%d refreshes, want 1", len(persisted)-before)
	}
}

// TestRefreshFailureIsReported: a refresh that fails is returned with the
// refused call, so that the caller can ask for a new consent.
func TestRefreshFailureIsReported(t *testing.T) {
	f := newFake(t)
	newTokenServer(f, 42)
	f.on("/v2/user", "getdevice", func(url.Values, string) string { return status(401) })
	clk := newClock()
	o := newFlow(t, f, clk, nil)
	src := provider.NewTokenSource(o, provider.Tokens{AccessToken: "old", RefreshToken: "revoked", Expiry: clk.Now().Add(time.Hour)}, nil, clk.Now)
	_, err := f.client(t, clk, nil).User(src).Devices(bg)
	if provider.KindOf(err) != provider.KindInvalidToken || !strings.Contains(err.Error(), "refresh failed") {
		t.Errorf("err %v", err)
	}
}

// TestRefreshFailureKinds: a refresh that fails on Withings' side is
// retried later, not taken for a dead grant; a rotated grant that could
// not be stored neither.
func TestRefreshFailureKinds(t *testing.T) {
	cases := []struct {
		name    string
		answer  string
		persist error
		want    provider.Kind
	}{
		{"server", status(2552), nil, provider.KindServer},
		{"rate limited", status(601), nil, provider.KindRateLimited},
		{"dead grant", status(503), nil, provider.KindInvalidToken},
		{"persist fails", "", errors.New("disk full"), provider.KindServer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			if c.answer == "" {
				newTokenServer(f, 42)
			} else {
				f.on("/v2/oauth2", "requesttoken", func(url.Values, string) string { return c.answer })
			}
			f.on("/v2/user", "getdevice", func(url.Values, string) string { return status(401) })
			clk := newClock()
			o := newFlow(t, f, clk, nil)
			src := provider.NewTokenSource(o, provider.Tokens{AccessToken: "old", RefreshToken: "refresh-0", Expiry: clk.Now().Add(time.Hour)},
				func(context.Context, provider.Tokens) error { return c.persist }, clk.Now)
			cl := f.client(t, clk, func(cfg *ClientConfig) { cfg.MaxAttempts = 2 })
			_, err := cl.User(src).Devices(bg)
			if k := provider.KindOf(err); k != c.want {
				t.Errorf("kind %v, want %v: %v", k, c.want, err)
			}
		})
	}
}

// TestIdentify: the account is the userid of the token answer. A token
// the flow issued is known at once; one it did not (stored before a
// restart) is refreshed once to learn it; one that cannot be refreshed is
// an error, never an empty account.
func TestIdentify(t *testing.T) {
	f := newFake(t)
	newTokenServer(f, 777)
	clk := newClock()
	ids := NewUserIDs(clk.Now)
	o := newFlow(t, f, clk, ids)
	p, err := NewProvider(Config{Client: f.client(t, clk, nil), AuthURL: "http://127.0.0.1:1/a", UserIDs: ids, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := o.Exchange(bg, "good-code")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := p.Identify(bg, static(tok.AccessToken))
	if err != nil || acc.ExternalUserID != "777" {
		t.Fatalf("%+v, %v", acc, err)
	}

	var persisted int
	src := provider.NewTokenSource(o, provider.Tokens{AccessToken: "from-before", RefreshToken: tok.RefreshToken, Expiry: clk.Now().Add(time.Hour)},
		func(context.Context, provider.Tokens) error { persisted++; return nil }, clk.Now)
	acc, err = p.Identify(bg, src)
	if err != nil || acc.ExternalUserID != "777" || persisted != 1 {
		t.Fatalf("%+v, %v, %d persisted", acc, err, persisted)
	}

	_, err = p.Identify(bg, static("unknown"))
	if err == nil || provider.KindOf(err) != provider.KindInvalidRequest {
		t.Errorf("unknown static token: %v", err)
	}
}

// TestTokenAnswerWithoutUser: a token answer without a userid is not
// taken.
func TestTokenAnswerWithoutUser(t *testing.T) {
	f := newFake(t)
	f.on("/v2/oauth2", "requesttoken", func(url.Values, string) string {
		return ok(map[string]any{"access_token": "a", "refresh_token": "r", "expires_in": 10800})
	})
	o := newFlow(t, f, newClock(), nil)
	if _, err := o.Exchange(bg, "c"); err == nil {
		t.Error("no error")
	}
}

// TestOAuthConfig: what the flow needs.
func TestOAuthConfig(t *testing.T) {
	c, _ := New(ClientConfig{BaseURL: "http://127.0.0.1:1"})
	for _, cfg := range []OAuthConfig{
		{AuthURL: "http://127.0.0.1:1/a", ClientID: "i", ClientSecret: "s"},
		{Client: c, ClientID: "i", ClientSecret: "s"},
		{Client: c, AuthURL: "http://127.0.0.1:1/a", ClientSecret: "s"},
		{Client: c, AuthURL: "http://127.0.0.1:1/a", ClientID: "i"},
	} {
		if _, err := NewOAuth(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	if _, err := (&OAuth{cfg: OAuthConfig{}}).Refresh(bg, ""); provider.KindOf(err) != provider.KindInvalidToken {
		t.Errorf("empty refresh token: %v", err)
	}
	_ = errors.New
}

// flow is the registry's Flow (internal/provider/all), restated here
// because that package will import this one.
type flow interface {
	AuthCodeURL(state string, extra ...oauth2.AuthCodeOption) string
	Exchange(ctx context.Context, code string, opts ...oauth2.AuthCodeOption) (provider.Tokens, error)
	Revoke(ctx context.Context, t provider.Tokens) error
}

var (
	_ flow               = (*OAuth)(nil)
	_ provider.Refresher = (*OAuth)(nil)
)

// TestRevokeEndsSubscriptions: the flow's Revoke hands the grant to the
// provider, which revokes the user's subscriptions with it.
func TestRevokeEndsSubscriptions(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	revoked := 0
	f.on("/notify", "list", func(url.Values, string) string {
		return ok(map[string]any{"profiles": []any{map[string]any{"appli": 1, "callbackurl": "https://hub.example/cb"}}})
	})
	f.on("/notify", "revoke", func(form url.Values, bearer string) string {
		if bearer == "acc" && form.Get("appli") == "1" {
			revoked++
		}
		return ok(map[string]any{})
	})
	p := fakeProvider(t, f, clk)
	o, err := NewOAuth(OAuthConfig{Client: f.client(t, clk, nil), AuthURL: "http://127.0.0.1:1/a", ClientID: "cid",
		ClientSecret: "csecret", Revoker: p, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Revoke(bg, provider.Tokens{AccessToken: "acc", RefreshToken: "r", Expiry: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if revoked != 1 {
		t.Errorf("%d subscriptions revoked, want 1", revoked)
	}
	if err := o.Revoke(bg, provider.Tokens{}); err != nil {
		t.Errorf("an empty grant: %v", err)
	}
}

// TestUserIDsBounded: the memory forgets expired tokens first when full.
func TestUserIDsBounded(t *testing.T) {
	clk := newClock()
	u := NewUserIDs(clk.Now)
	u.limit = 2
	u.Remember("a", "1", clk.Now().Add(time.Minute))
	u.Remember("b", "2", clk.Now().Add(time.Hour))
	clk.t = clk.t.Add(2 * time.Minute)
	u.Remember("c", "3", clk.Now().Add(time.Hour))
	if _, ok := u.Lookup("a"); ok {
		t.Error("the expired token is kept")
	}
	for tok, want := range map[string]string{"b": "2", "c": "3"} {
		if got, ok := u.Lookup(tok); !ok || got != want {
			t.Errorf("%s: %q %v", tok, got, ok)
		}
	}
	u.Remember("d", "4", time.Time{})
	if got, ok := u.Lookup("d"); !ok || got != "4" {
		t.Errorf("d: %q %v", got, ok)
	}
	if len(u.m) > 2 {
		t.Errorf("%d tokens kept", len(u.m))
	}
	u.Remember("", "5", time.Time{})
	if _, ok := u.Lookup(""); ok {
		t.Error("an empty token is remembered")
	}
}
