// Package oauthkit runs a provider's standard OAuth 2.0 authorization-code
// flow from what the provider's Info says (endpoints, scopes and how they
// are joined, where the client credentials go), so that a provider whose
// OAuth follows RFC 6749 needs no OAuth code of its own. Providers whose
// token endpoint is not standard (Withings wraps its answers) bring their
// own.
package oauthkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/wearlink/wearlink/internal/provider"
)

// Config is one application's credentials at one provider.
type Config struct {
	OAuth                  provider.OAuth
	ClientID, ClientSecret string
	RedirectURL            string
	// HTTPClient makes the token and revocation requests (default: a
	// client with a 30 s timeout).
	HTTPClient *http.Client
	// Revoker, when set, revokes instead of an RFC 7009 request to the
	// RevokeURL: the provider's own way (provider.Revoker).
	Revoker provider.Revoker
	// Now is the clock a token's expiry is computed on, from the
	// response's expires_in (default time.Now). It must be the clock that
	// compares the expiry later: the sync engine's.
	Now func() time.Time
}

// Flow is the authorization-code flow of one application. It satisfies
// provider.Refresher, and link.OAuth.
type Flow struct {
	cfg  Config
	conf oauth2.Config
}

var _ provider.Refresher = (*Flow)(nil)

// New checks the configuration.
func New(cfg Config) (*Flow, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("oauthkit: a client id and a client secret are required")
	}
	if cfg.OAuth.AuthURL == "" || cfg.OAuth.TokenURL == "" {
		return nil, errors.New("oauthkit: the provider's authorize and token URLs are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	style := oauth2.AuthStyleInHeader
	if cfg.OAuth.AuthStyle == provider.AuthInParams {
		style = oauth2.AuthStyleInParams
	}
	scopes := cfg.OAuth.Scopes
	if sep := cfg.OAuth.ScopeSeparator; sep != "" && sep != " " && len(scopes) > 0 {
		// The library joins scopes with spaces; a provider that wants
		// another separator gets them as one value.
		scopes = []string{strings.Join(scopes, sep)}
	}
	return &Flow{cfg: cfg, conf: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
		Scopes: scopes, Endpoint: oauth2.Endpoint{AuthURL: cfg.OAuth.AuthURL, TokenURL: cfg.OAuth.TokenURL, AuthStyle: style}}}, nil
}

func (f *Flow) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, f.cfg.HTTPClient)
}

// AuthCodeURL is where the person's browser is sent to consent.
func (f *Flow) AuthCodeURL(state string, extra ...oauth2.AuthCodeOption) string {
	return f.conf.AuthCodeURL(state, extra...)
}

// Exchange trades an authorization code for tokens; opts carry the PKCE
// verifier when the authorization sent a challenge.
func (f *Flow) Exchange(ctx context.Context, code string, opts ...oauth2.AuthCodeOption) (provider.Tokens, error) {
	t, err := f.conf.Exchange(f.ctx(ctx), code, opts...)
	if err != nil {
		return provider.Tokens{}, classify(err)
	}
	return f.tokens(t), nil
}

// Refresh implements provider.Refresher.
func (f *Flow) Refresh(ctx context.Context, refreshToken string) (provider.Tokens, error) {
	if refreshToken == "" {
		return provider.Tokens{}, &provider.Error{Kind: provider.KindInvalidToken, Err: errors.New("no refresh token")}
	}
	// Expired on purpose, so that the source refreshes at once.
	t, err := f.conf.TokenSource(f.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return provider.Tokens{}, classify(err)
	}
	return f.tokens(t), nil
}

// Revoke ends the grant behind t at the provider: through the provider's
// own Revoker when it has one, else by RFC 7009 with the access token. A
// provider without a revocation endpoint has nothing to revoke.
//
// A Revoker authenticates with the access token, which has usually expired
// by the time a user is erased or disconnects: it gets a token source on
// the flow's clock, which refreshes an expired token before the request
// (and again after a 401, where the provider's client does), instead of a
// refused request that leaves the grant live at the provider.
func (f *Flow) Revoke(ctx context.Context, t provider.Tokens) error {
	if f.cfg.Revoker != nil {
		if t.AccessToken == "" && t.RefreshToken == "" {
			return nil
		}
		return f.cfg.Revoker.Revoke(ctx, provider.NewTokenSource(f, t, nil, f.cfg.Now))
	}
	if f.cfg.OAuth.RevokeURL == "" || t.AccessToken == "" {
		return nil
	}
	form := url.Values{"token": {t.AccessToken}}
	if f.cfg.OAuth.AuthStyle == provider.AuthInParams {
		form.Set("client_id", f.cfg.ClientID)
		form.Set("client_secret", f.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.cfg.OAuth.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if f.cfg.OAuth.AuthStyle == provider.AuthInHeader {
		req.SetBasicAuth(url.QueryEscape(f.cfg.ClientID), url.QueryEscape(f.cfg.ClientSecret))
	}
	resp, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		return &provider.Error{Kind: provider.KindNetwork, Err: fmt.Errorf("revoke: %w", err)}
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500:
		return &provider.Error{Kind: provider.KindServer, Err: fmt.Errorf("revoke: %s", resp.Status)}
	}
	return &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("revoke: %s", resp.Status)}
}

// tokens reads the granted scopes, split on spaces or on the provider's
// own separator.
func (f *Flow) tokens(t *oauth2.Token) provider.Tokens {
	out := provider.Tokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: Expiry(t, f.cfg.Now())}
	if s, ok := t.Extra("scope").(string); ok {
		sep := f.cfg.OAuth.ScopeSeparator
		out.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || (sep != "" && strings.ContainsRune(sep, r)) })
	}
	return out
}

// Expiry is when a token response's access token expires: expires_in
// seconds after now. The library's own Expiry counts them from the wall
// clock, but the expiry is compared later with the sync engine's clock,
// which is not the wall clock everywhere (the demo and the tests run it
// on a simulator's); so it is computed here, on the caller's clock. A
// response without expires_in has no expiry.
func Expiry(t *oauth2.Token, now time.Time) time.Time {
	secs := t.ExpiresIn
	if secs == 0 {
		// A form-encoded response: the library keeps expires_in only
		// among the extra fields.
		switch v := t.Extra("expires_in").(type) {
		case int64:
			secs = v
		case float64:
			secs = int64(v)
		}
	}
	if secs == 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(secs) * time.Second)
}

// classify gives a failed token request its kind: a dead grant (RFC 6749
// invalid_grant) needs a new consent; the provider failing is retried.
func classify(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return &provider.Error{Kind: provider.KindNetwork, Err: err}
	}
	switch code := re.Response.StatusCode; {
	case re.ErrorCode == "invalid_grant" || code == http.StatusUnauthorized:
		return &provider.Error{Kind: provider.KindInvalidToken, Err: err}
	case code == http.StatusTooManyRequests:
		return &provider.Error{Kind: provider.KindRateLimited, Err: err}
	case code >= 500:
		return &provider.Error{Kind: provider.KindServer, Err: err}
	}
	return &provider.Error{Kind: provider.KindInvalidRequest, Err: err}
}
