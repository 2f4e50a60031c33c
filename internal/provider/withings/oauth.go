package withings

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/wearlink/wearlink/internal/provider"
)

// Withings' token endpoint is not RFC 6749's: it is the API's own
// /v2/oauth2 with action=requesttoken, takes the client credentials as
// form fields, and answers in the API's envelope with the user's id in
// the body. So it is spoken here, through the Client (its budget, its
// status codes), rather than through golang.org/x/oauth2.

// Scopes are every scope wearlink asks for, as Withings names them.
func Scopes() []string { return []string{"user.info", "user.metrics", "user.activity"} }

// OAuthConfig is one application's credentials at Withings.
type OAuthConfig struct {
	// Client sends the token requests to its base URL's /v2/oauth2
	// (required).
	Client *Client
	// AuthURL is the consent page (LiveAuthURL in production; required).
	AuthURL                string
	ClientID, ClientSecret string
	RedirectURL            string
	// UserIDs learns the user behind every token issued, for Identify
	// (the provider's Config.UserIDs). nil: a private one.
	UserIDs *UserIDs
	// Revoker, when set, is what Revoke calls (the Provider: it revokes
	// the user's notification subscriptions).
	Revoker provider.Revoker
	// Now is the clock expiries are computed on: the sync engine's
	// (default time.Now).
	Now func() time.Time
}

// OAuth is Withings' authorization-code flow for one application. It
// satisfies provider.Refresher and the registry's Flow.
type OAuth struct {
	cfg OAuthConfig
}

var _ provider.Refresher = (*OAuth)(nil)

// NewOAuth checks the configuration.
func NewOAuth(cfg OAuthConfig) (*OAuth, error) {
	if cfg.Client == nil {
		return nil, errors.New("withings oauth: no client")
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("withings oauth: a client id and a client secret are required")
	}
	if cfg.AuthURL == "" {
		return nil, errors.New("withings oauth: an authorize URL is required")
	}
	if _, err := url.Parse(cfg.AuthURL); err != nil {
		return nil, fmt.Errorf("withings oauth: authorize URL: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserIDs == nil {
		cfg.UserIDs = NewUserIDs(cfg.Now)
	}
	return &OAuth{cfg: cfg}, nil
}

// AuthCodeURL is where the person's browser is sent to consent. The
// scopes are comma-separated, as Withings wants them. extra options
// (PKCE challenges) are ignored: Withings takes none.
func (o *OAuth) AuthCodeURL(state string, _ ...oauth2.AuthCodeOption) string {
	v := url.Values{"response_type": {"code"}, "client_id": {o.cfg.ClientID}, "state": {state},
		"scope": {strings.Join(Scopes(), ",")}}
	if o.cfg.RedirectURL != "" {
		v.Set("redirect_uri", o.cfg.RedirectURL)
	}
	sep := "?"
	if strings.Contains(o.cfg.AuthURL, "?") {
		sep = "&"
	}
	return o.cfg.AuthURL + sep + v.Encode()
}

// Grant is a token answer: the tokens and the user they belong to.
type Grant struct {
	provider.Tokens
	UserID string
}

// Exchange trades an authorization code for tokens. Withings' codes live
// 30 seconds, so it is called at once from the redirect; it is never
// retried after an answer, since a code is good for one try.
func (o *OAuth) Exchange(ctx context.Context, code string, _ ...oauth2.AuthCodeOption) (provider.Tokens, error) {
	g, err := o.ExchangeGrant(ctx, code)
	return g.Tokens, err
}

// ExchangeGrant is Exchange with the user's id.
func (o *OAuth) ExchangeGrant(ctx context.Context, code string) (Grant, error) {
	if code == "" {
		return Grant{}, &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("withings oauth: no code")}
	}
	p := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if o.cfg.RedirectURL != "" {
		p.Set("redirect_uri", o.cfg.RedirectURL)
	}
	return o.request(ctx, call{service: serviceOAuth2, action: "requesttoken", params: p, once: true})
}

// Refresh implements provider.Refresher. Withings rotates refresh tokens:
// the answer's new one must be stored before its access token is used
// (provider.TokenSource does so); the old one stays good 8 h or until
// then.
func (o *OAuth) Refresh(ctx context.Context, refreshToken string) (provider.Tokens, error) {
	g, err := o.RefreshGrant(ctx, refreshToken)
	return g.Tokens, err
}

// RefreshGrant is Refresh with the user's id.
func (o *OAuth) RefreshGrant(ctx context.Context, refreshToken string) (Grant, error) {
	if refreshToken == "" {
		return Grant{}, &provider.Error{Kind: provider.KindInvalidToken, Err: errors.New("withings oauth: no refresh token")}
	}
	// A refresh is retried: the old refresh token stays good until the
	// new access token is used.
	return o.request(ctx, call{service: serviceOAuth2, action: "requesttoken",
		params: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}})
}

// tokenBody is the body of a requesttoken answer. userid is a number in
// the spec and a string in Withings' own examples.
type tokenBody struct {
	UserID       json.RawMessage `json:"userid"`
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    int64           `json:"expires_in"`
	Scope        string          `json:"scope"`
}

func (o *OAuth) request(ctx context.Context, req call) (Grant, error) {
	req.params.Set("client_id", o.cfg.ClientID)
	req.params.Set("client_secret", o.cfg.ClientSecret)
	body, err := o.cfg.Client.do(ctx, req)
	var we *Error
	if errors.As(err, &we) {
		switch we.Kind {
		case provider.KindInvalidRequest, provider.KindMissingScope, provider.KindForbidden:
			// Withings answers a used, revoked or unknown code or
			// refresh token with an "invalid params" status: the grant
			// is dead and only a new consent helps.
			we.Kind = provider.KindInvalidToken
		}
	}
	if err != nil {
		return Grant{}, err
	}
	var b tokenBody
	if err := json.Unmarshal(body, &b); err != nil {
		return Grant{}, shapeError(serviceOAuth2, "requesttoken", err, "body")
	}
	g := Grant{UserID: numberText(b.UserID), Tokens: provider.Tokens{AccessToken: b.AccessToken, RefreshToken: b.RefreshToken}}
	if g.AccessToken == "" || g.UserID == "" {
		return Grant{}, shapeError(serviceOAuth2, "requesttoken", nil, "access_token or userid")
	}
	if b.ExpiresIn > 0 {
		g.Expiry = o.cfg.Now().Add(time.Duration(b.ExpiresIn) * time.Second)
	}
	g.Scopes = strings.FieldsFunc(b.Scope, func(r rune) bool { return r == ',' || r == ' ' })
	o.cfg.UserIDs.Remember(g.AccessToken, g.UserID, g.Expiry)
	return g, nil
}

// Revoke ends what wearlink set up for the grant behind t: through the
// configured Revoker (the user's notification subscriptions). Withings'
// own oauth2 revoke needs a signed request with a nonce, which wearlink
// does not make yet.
func (o *OAuth) Revoke(ctx context.Context, t provider.Tokens) error {
	if o.cfg.Revoker == nil || (t.AccessToken == "" && t.RefreshToken == "") {
		return nil
	}
	return o.cfg.Revoker.Revoke(ctx, provider.NewTokenSource(o, t, nil, o.cfg.Now))
}

// UserIDs remembers which Withings user each access token was issued to.
// Withings has no endpoint that says whose a token is: only the token
// answer names the user. The flow writes every answer here and the
// provider's Identify reads it, so they must share one.
type UserIDs struct {
	now func() time.Time
	// limit bounds the memory (maxUserIDs); expired tokens go first.
	limit int

	mu sync.Mutex
	m  map[[32]byte]userIDEntry
}

type userIDEntry struct {
	userID string
	expiry time.Time
}

// maxUserIDs bounds the memory; expired tokens go first.
const maxUserIDs = 100000

// NewUserIDs makes an empty memory on the clock now (nil: time.Now).
func NewUserIDs(now func() time.Time) *UserIDs {
	if now == nil {
		now = time.Now
	}
	return &UserIDs{now: now, limit: maxUserIDs, m: map[[32]byte]userIDEntry{}}
}

// Remember records that accessToken is userID's until expiry (zero: for
// as long as the memory keeps it). Only a hash of the token is kept.
func (u *UserIDs) Remember(accessToken, userID string, expiry time.Time) {
	if accessToken == "" || userID == "" {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.m) >= u.limit {
		now := u.now()
		for k, e := range u.m {
			if !e.expiry.IsZero() && e.expiry.Before(now) {
				delete(u.m, k)
			}
		}
		if len(u.m) >= u.limit {
			// Only live tokens: forgetting them costs one refresh
			// each at the next Identify, nothing more.
			clear(u.m)
		}
	}
	u.m[sha256.Sum256([]byte(accessToken))] = userIDEntry{userID: userID, expiry: expiry}
}

// Lookup returns the user accessToken was issued to.
func (u *UserIDs) Lookup(accessToken string) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	e, ok := u.m[sha256.Sum256([]byte(accessToken))]
	return e.userID, ok
}
