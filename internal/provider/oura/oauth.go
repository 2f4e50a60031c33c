package oura

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
	"github.com/wearlink/wearlink/internal/provider/oauthkit"
)

// Live OAuth endpoints, the configuration's defaults. Apps registered on
// Oura's newer developer portal need a different token URL, so every URL
// is configurable, and the flow takes none by default.
const (
	LiveAuthURL   = "https://cloud.ouraring.com/oauth/authorize"
	LiveTokenURL  = "https://api.ouraring.com/oauth/token"
	LiveRevokeURL = "https://api.ouraring.com/oauth/revoke"
)

// SupportsPKCE says whether wearlink sends PKCE (RFC 7636) to Oura. Oura's
// OpenAPI document and docs say nothing of it; third parties disagree
// (some say "no PKCE", one says it is recommended), so it stays off until
// Oura documents it. The simulator verifies PKCE when a challenge is sent.
const SupportsPKCE = false

// OAuthConfig configures the authorization-code flow of one Oura application.
type OAuthConfig struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// Scopes requested; default DefaultScopes().
	Scopes    []string
	AuthURL   string
	TokenURL  string
	RevokeURL string
	// FallbackTokenURL is tried when TokenURL answers 400 or 401, for apps
	// whose token endpoint moved.
	FallbackTokenURL string
	HTTPClient       *http.Client
	// Now is the clock a token's expiry is computed on, from the
	// response's expires_in (default time.Now). It must be the clock that
	// compares the expiry later: the sync engine's.
	Now func() time.Time
}

// OAuth runs the OAuth2 authorization-code flow against Oura.
type OAuth struct {
	cfg  OAuthConfig
	conf oauth2.Config
}

// NewOAuth builds the flow, filling default URLs and scopes.
func NewOAuth(cfg OAuthConfig) (*OAuth, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("oura: OAuth needs a client id and a client secret")
	}
	if cfg.AuthURL == "" || cfg.TokenURL == "" {
		return nil, errors.New("oura: OAuth needs its authorize and token URLs")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &OAuth{cfg: cfg, conf: cfg.oauth2(cfg.TokenURL)}, nil
}

func (cfg OAuthConfig) oauth2(tokenURL string) oauth2.Config {
	return oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       cfg.Scopes,
		// Oura reads client credentials from the form body.
		Endpoint: oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
}

// AuthCodeURL is the page the user is sent to; state must be unguessable and
// checked on the callback.
func (o *OAuth) AuthCodeURL(state string, extra ...oauth2.AuthCodeOption) string {
	return o.conf.AuthCodeURL(state, extra...)
}

// Token is a user's grant; its Scopes have any "extapi:" prefix removed.
type Token = provider.Tokens

func fromOAuth2(t *oauth2.Token, now time.Time) Token {
	tok := Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: oauthkit.Expiry(t, now)}
	if s, ok := t.Extra("scope").(string); ok {
		for _, f := range strings.Fields(s) {
			tok.Scopes = append(tok.Scopes, strings.TrimPrefix(f, "extapi:"))
		}
	}
	return tok
}

func (o *OAuth) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, o.cfg.HTTPClient)
}

// withFallback runs fn against TokenURL, then FallbackTokenURL on 400/401.
func (o *OAuth) withFallback(ctx context.Context, fn func(oauth2.Config) (*oauth2.Token, error)) (Token, error) {
	t, err := fn(o.conf)
	if err != nil && o.cfg.FallbackTokenURL != "" {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && (re.Response.StatusCode == 400 || re.Response.StatusCode == 401) {
			t, err = fn(o.cfg.oauth2(o.cfg.FallbackTokenURL))
		}
	}
	if err != nil {
		return Token{}, tokenError(err)
	}
	return fromOAuth2(t, o.now()), nil
}

// now is the flow's clock.
func (o *OAuth) now() time.Time {
	if o.cfg.Now != nil {
		return o.cfg.Now()
	}
	return time.Now()
}

// Exchange trades an authorization code for tokens; opts carry the PKCE
// code_verifier when the authorization sent a challenge.
func (o *OAuth) Exchange(ctx context.Context, code string, opts ...oauth2.AuthCodeOption) (Token, error) {
	return o.withFallback(ctx, func(c oauth2.Config) (*oauth2.Token, error) {
		return c.Exchange(o.ctx(ctx), code, opts...)
	})
}

// Refresh redeems a refresh token. Oura's refresh tokens are single-use: the
// returned RefreshToken replaces the old one, which no longer works.
func (o *OAuth) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	if refreshToken == "" {
		return Token{}, &Error{Kind: KindInvalidToken, Method: http.MethodPost, Path: "/oauth/token", Detail: "no refresh token"}
	}
	return o.withFallback(ctx, func(c oauth2.Config) (*oauth2.Token, error) {
		// Expired on purpose so the source refreshes at once.
		return c.TokenSource(o.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)}).Token()
	})
}

// Revoke invalidates the grant's access token at Oura, which revokes by the
// token given rather than by a bearer request, so it is sent as stored. A
// grant without an access token has nothing to revoke here.
func (o *OAuth) Revoke(ctx context.Context, t Token) error {
	if o.cfg.RevokeURL == "" {
		return errors.New("oura: no revoke URL is configured")
	}
	if t.AccessToken == "" {
		return nil
	}
	accessToken := t.AccessToken
	u, err := url.Parse(o.cfg.RevokeURL)
	if err != nil {
		return fmt.Errorf("oura: revoke URL: %w", err)
	}
	q := u.Query()
	q.Set("access_token", accessToken)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		return &Error{Kind: KindNetwork, Method: req.Method, Path: u.Path, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var body [4096]byte
		n, _ := resp.Body.Read(body[:])
		return parseError(resp, body[:n], time.Now())
	}
	return nil
}

// tokenError turns an oauth2 failure into an *Error: invalid_grant (a used
// or revoked refresh token, an expired code) becomes KindInvalidToken.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return &Error{Kind: KindNetwork, Method: http.MethodPost, Path: "/oauth/token", Err: err}
	}
	e := &Error{StatusCode: re.Response.StatusCode, Method: http.MethodPost, Path: re.Response.Request.URL.Path, Err: err,
		Detail: strings.TrimSpace(re.ErrorCode + " " + re.ErrorDescription)}
	switch {
	case re.ErrorCode == "invalid_grant" || re.Response.StatusCode == 401:
		e.Kind = KindInvalidToken
	case re.Response.StatusCode == 429:
		e.Kind = KindRateLimited
	case re.Response.StatusCode >= 500:
		e.Kind = KindServer
	default:
		e.Kind = KindValidation
	}
	return e
}

// NewTokenSource wraps a stored grant in the seam's token source, which
// refreshes it with this flow. persist may be nil for throw-away sources.
func (o *OAuth) NewTokenSource(t Token, persist provider.PersistFunc, now func() time.Time) *provider.TokenSource {
	return provider.NewTokenSource(o, t, persist, now)
}
