package oura

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/wearlink/wearlink/internal/provider"
)

// Live OAuth endpoints. Apps registered on Oura's newer developer portal
// need a different token URL, so every URL is configurable.
const (
	DefaultAuthURL   = "https://cloud.ouraring.com/oauth/authorize"
	DefaultTokenURL  = "https://api.ouraring.com/oauth/token"
	DefaultRevokeURL = "https://api.ouraring.com/oauth/revoke"
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
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if cfg.RevokeURL == "" {
		cfg.RevokeURL = DefaultRevokeURL
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

func fromOAuth2(t *oauth2.Token) Token {
	tok := Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
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
	return fromOAuth2(t), nil
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

// Revoke invalidates an access token at Oura.
func (o *OAuth) Revoke(ctx context.Context, accessToken string) error {
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

// PersistFunc stores a user's new grant. It is called with the rotated
// refresh token before the new access token is used: if it fails, the token
// is not used, because a refresh token that was not saved is lost for good.
type PersistFunc func(ctx context.Context, t Token) error

// TokenSource is the Auth of one linked user: it refreshes before expiry and
// after a 401, and hands every rotation to Persist first.
type TokenSource struct {
	oauth   *OAuth
	persist PersistFunc
	now     func() time.Time
	// Leeway refreshes this long before expiry (default 5 minutes).
	leeway time.Duration

	mu  sync.Mutex
	tok Token
	// pending is a rotated grant whose persist failed. The old refresh
	// token is already spent, so it is kept and persisted again before
	// anything else happens.
	pending *Token
}

// NewTokenSource wraps a stored grant. persist may be nil for throw-away
// sources (then a rotated refresh token lives only in memory).
func (o *OAuth) NewTokenSource(t Token, persist PersistFunc, now func() time.Time) *TokenSource {
	if now == nil {
		now = time.Now
	}
	return &TokenSource{oauth: o, persist: persist, now: now, leeway: 5 * time.Minute, tok: t}
}

// AccessToken returns a valid access token, refreshing when it is about to
// expire.
func (s *TokenSource) AccessToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushPendingLocked(ctx); err != nil {
		return "", err
	}
	if s.tok.AccessToken != "" && (s.tok.Expiry.IsZero() || s.now().Add(s.leeway).Before(s.tok.Expiry)) {
		return s.tok.AccessToken, nil
	}
	if err := s.refreshLocked(ctx, s.tok.AccessToken); err != nil {
		return "", err
	}
	return s.tok.AccessToken, nil
}

// Refresh forces a refresh (after Oura rejected the current token).
func (s *TokenSource) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return s.flushPendingLocked(ctx)
	}
	return s.refreshLocked(ctx, s.tok.AccessToken)
}

func (s *TokenSource) flushPendingLocked(ctx context.Context) error {
	if s.pending == nil {
		return nil
	}
	if err := s.persist(ctx, *s.pending); err != nil {
		return fmt.Errorf("oura: persist rotated token: %w", err)
	}
	s.tok, s.pending = *s.pending, nil
	return nil
}

// Current returns the grant as it stands.
func (s *TokenSource) Current() Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok
}

func (s *TokenSource) refreshLocked(ctx context.Context, _ string) error {
	nt, err := s.oauth.Refresh(ctx, s.tok.RefreshToken)
	if err != nil {
		return fmt.Errorf("oura: refresh token: %w", err)
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = s.tok.RefreshToken
	}
	if len(nt.Scopes) == 0 {
		nt.Scopes = s.tok.Scopes
	}
	if s.persist != nil {
		if err := s.persist(ctx, nt); err != nil {
			s.pending = &nt
			return fmt.Errorf("oura: persist rotated token: %w", err)
		}
	}
	s.tok = nt
	return nil
}
