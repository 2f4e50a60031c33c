package sim

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// TestOAuthPKCE: a code authorized with an S256 code_challenge is
// exchanged only with its code_verifier; a wrong one spends the code; a
// code authorized without a challenge takes no verifier; plain is refused.
func TestOAuthPKCE(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	conf := oauth2.Config{ClientID: DefaultClientID, ClientSecret: DefaultClientSecret, RedirectURL: testRedirect, Scopes: []string{"daily"},
		Endpoint: oauth2.Endpoint{AuthURL: ts.URL + "/oauth/authorize", TokenURL: ts.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	code := func(opts ...oauth2.AuthCodeOption) url.Values {
		t.Helper()
		opts = append(opts, oauth2.SetAuthURLParam("user", "0"))
		r := do(t, http.MethodGet, conf.AuthCodeURL("st4te", opts...), "", nil, nil)
		loc, err := url.Parse(r.header.Get("Location"))
		if r.status != http.StatusFound || err != nil {
			t.Fatalf("authorize: %d %s", r.status, r.body)
		}
		return loc.Query()
	}
	verifier := oauth2.GenerateVerifier()
	ctx := t.Context()

	c := code(oauth2.S256ChallengeOption(verifier)).Get("code")
	if _, err := conf.Exchange(ctx, c); err == nil {
		t.Fatal("exchanged without the verifier")
	}
	c = code(oauth2.S256ChallengeOption(verifier)).Get("code")
	if _, err := conf.Exchange(ctx, c, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("exchanged with a wrong verifier")
	}
	if _, err := conf.Exchange(ctx, c, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code survived a wrong verifier")
	}
	c = code(oauth2.S256ChallengeOption(verifier)).Get("code")
	if tok, err := conf.Exchange(ctx, c, oauth2.VerifierOption(verifier)); err != nil || tok.AccessToken == "" {
		t.Fatalf("exchange with the verifier: %v", err)
	}
	// Without a challenge, as Oura is used today.
	c = code().Get("code")
	if tok, err := conf.Exchange(ctx, c); err != nil || tok.AccessToken == "" {
		t.Fatalf("exchange without PKCE: %v", err)
	}
	c = code().Get("code")
	if _, err := conf.Exchange(ctx, c, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a verifier for a code issued without a challenge was accepted")
	}
	if q := code(oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")); q.Get("error") != "invalid_request" {
		t.Fatalf("plain challenge: %v", q)
	}
}
