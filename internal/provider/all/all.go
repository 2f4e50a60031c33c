// Package all builds the registry of the providers wearlink serves. It is
// the one place besides the composition root that names each provider: a
// new provider adds its configuration here and one line to Registry.
package all

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oauthkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ouranorm "github.com/wearlink/wearlink/internal/provider/oura/normalize"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	whoopnorm "github.com/wearlink/wearlink/internal/provider/whoop/normalize"
	"github.com/wearlink/wearlink/internal/provider/withings"
	withingsnorm "github.com/wearlink/wearlink/internal/provider/withings/normalize"
)

// LiveURLs are where a provider's production API and OAuth endpoints are:
// the configuration's defaults.
type LiveURLs struct {
	APIURL, AuthURL, TokenURL, RevokeURL string
	// OAuthURL is the host of the OAuth endpoints, where a provider's
	// configuration takes one base for them (WHOOP).
	OAuthURL string
}

// LiveOura are Oura's production URLs.
func LiveOura() LiveURLs {
	return LiveURLs{APIURL: oura.LiveBaseURL, AuthURL: oura.LiveAuthURL, TokenURL: oura.LiveTokenURL, RevokeURL: oura.LiveRevokeURL}
}

// LiveWhoop are WHOOP's production URLs.
func LiveWhoop() LiveURLs {
	return LiveURLs{APIURL: whoop.LiveAPIBaseURL, OAuthURL: whoop.LiveOAuthBaseURL}
}

// LiveWithings are Withings' production URLs; the token endpoint is on
// the API host.
func LiveWithings() LiveURLs {
	return LiveURLs{APIURL: withings.LiveAPIBaseURL, AuthURL: withings.LiveAuthURL}
}

// OuraConfig is what Oura's provider needs beyond its client.
type OuraConfig struct {
	// Client reads the API (required).
	Client *oura.Client
	// OAuth refreshes tokens and links accounts; nil: tokens are used as
	// stored and accounts are not linked through the browser.
	OAuth                  *oura.OAuth
	ClientID, ClientSecret string
	VerificationToken      string
	RenewBefore            time.Duration
	Now                    func() time.Time
	AuthURL, TokenURL      string
	RevokeURL              string
	HTTPClient             *http.Client
}

// WhoopConfig is one WHOOP application.
type WhoopConfig struct {
	// Client reads the API (required): one per application, since it
	// holds the application's request budget.
	Client *whoop.Client
	// OAuthBaseURL is the host of WHOOP's authorize and token endpoints.
	OAuthBaseURL string
	// ClientID and ClientSecret are the application's; the secret also
	// verifies notifications. Without them, accounts are not linked
	// through the browser and notifications are refused.
	ClientID, ClientSecret string
	// RedirectURL is this server's OAuth callback for WHOOP.
	RedirectURL string
	// Now is the sync engine's clock (default time.Now): the OAuth flow
	// computes token expiries on it, since the engine compares them with
	// it.
	Now func() time.Time
}

// WithingsConfig is one Withings application.
type WithingsConfig struct {
	// Client reads the API and speaks to its token endpoint (required):
	// one per application, since it holds the application's budget of
	// 120 requests a minute.
	Client *withings.Client
	// AuthURL is Withings' consent page.
	AuthURL string
	// ClientID and ClientSecret are the application's. Without them,
	// accounts are not linked through the browser.
	ClientID, ClientSecret string
	// RedirectURL is this server's OAuth callback for Withings.
	RedirectURL string
	// Now is the sync engine's clock (default time.Now).
	Now func() time.Time
}

// Config configures every provider; a provider without one is not served.
type Config struct {
	Oura     *OuraConfig
	Whoop    *WhoopConfig
	Withings *WithingsConfig
}

// Flow is an application's OAuth flow at one provider, as account linking
// uses it.
type Flow interface {
	AuthCodeURL(state string, extra ...oauth2.AuthCodeOption) string
	Exchange(ctx context.Context, code string, opts ...oauth2.AuthCodeOption) (provider.Tokens, error)
	// Revoke ends the grant behind a connection's tokens; it may refresh
	// them first (see oauthkit.Flow.Revoke).
	Revoke(ctx context.Context, t provider.Tokens) error
}

// Built is the registry and, per data source, what refreshes its tokens
// and the flow that links accounts (where the application's credentials
// are set).
type Built struct {
	Registry   *provider.Registry
	Refreshers map[string]provider.Refresher
	Flows      map[string]Flow
}

// Registry builds the providers of cfg, in a fixed order.
func Registry(cfg Config) (Built, error) {
	out := Built{Refreshers: map[string]provider.Refresher{}, Flows: map[string]Flow{}}
	var ps []provider.Provider
	if o := cfg.Oura; o != nil {
		p, err := oura.NewProvider(oura.ProviderConfig{Client: o.Client, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			VerificationToken: o.VerificationToken, RenewBefore: o.RenewBefore, Now: o.Now, Normalizer: ouranorm.Normalizer{},
			OAuth: oura.OAuthConfig{AuthURL: o.AuthURL, TokenURL: o.TokenURL, RevokeURL: o.RevokeURL}})
		if err != nil {
			return out, err
		}
		ps = append(ps, p)
		if o.OAuth != nil {
			out.Refreshers[oura.DataSource] = o.OAuth
			out.Flows[oura.DataSource] = o.OAuth
		}
	}
	if w := cfg.Whoop; w != nil {
		p, err := whoop.NewProvider(whoop.Config{Client: w.Client, OAuthBaseURL: w.OAuthBaseURL, ClientSecret: w.ClientSecret,
			Normalizer: whoopnorm.Normalizer{}})
		if err != nil {
			return out, err
		}
		ps = append(ps, p)
		if w.ClientID != "" && w.ClientSecret != "" {
			f, err := oauthkit.New(oauthkit.Config{OAuth: p.Info().OAuth, ClientID: w.ClientID, ClientSecret: w.ClientSecret,
				RedirectURL: w.RedirectURL, Revoker: p, Now: w.Now})
			if err != nil {
				return out, err
			}
			out.Refreshers[whoop.DataSource] = f
			out.Flows[whoop.DataSource] = f
		}
	}
	if w := cfg.Withings; w != nil {
		// The flow learns whose each token is from the token answers, and
		// the provider's Identify asks it: they share one memory.
		ids := withings.NewUserIDs(w.Now)
		p, err := withings.NewProvider(withings.Config{Client: w.Client, AuthURL: w.AuthURL, UserIDs: ids,
			Normalizer: withingsnorm.Normalizer{}, Now: w.Now})
		if err != nil {
			return out, err
		}
		ps = append(ps, p)
		if w.ClientID != "" && w.ClientSecret != "" {
			f, err := withings.NewOAuth(withings.OAuthConfig{Client: w.Client, AuthURL: w.AuthURL, ClientID: w.ClientID,
				ClientSecret: w.ClientSecret, RedirectURL: w.RedirectURL, UserIDs: ids, Revoker: p, Now: w.Now})
			if err != nil {
				return out, err
			}
			out.Refreshers[withings.DataSource] = f
			out.Flows[withings.DataSource] = f
		}
	}
	reg, err := provider.NewRegistry(ps...)
	out.Registry = reg
	return out, err
}
