// Package all builds the registry of the providers wearlink serves. It is
// the one place besides the composition root that names each provider: a
// new provider adds its configuration here and one line to Registry.
package all

import (
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/oura/normalize"
)

// OuraConfig is what Oura's provider needs beyond its client.
type OuraConfig struct {
	// Client reads the API (required).
	Client *oura.Client
	// OAuth refreshes tokens; nil: tokens are used as stored.
	OAuth                  *oura.OAuth
	ClientID, ClientSecret string
	VerificationToken      string
	RenewBefore            time.Duration
	Now                    func() time.Time
	AuthURL, TokenURL      string
	RevokeURL              string
	HTTPClient             *http.Client
}

// Config configures every provider; a provider without one is not served.
type Config struct {
	Oura *OuraConfig
}

// Built is the registry and, per data source, what refreshes its tokens.
type Built struct {
	Registry   *provider.Registry
	Refreshers map[string]provider.Refresher
}

// Registry builds the providers of cfg, in a fixed order.
func Registry(cfg Config) (Built, error) {
	out := Built{Refreshers: map[string]provider.Refresher{}}
	var ps []provider.Provider
	if o := cfg.Oura; o != nil {
		p, err := oura.NewProvider(oura.ProviderConfig{Client: o.Client, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			VerificationToken: o.VerificationToken, RenewBefore: o.RenewBefore, Now: o.Now, Normalizer: normalize.Normalizer{},
			OAuth: oura.OAuthConfig{AuthURL: o.AuthURL, TokenURL: o.TokenURL, RevokeURL: o.RevokeURL}})
		if err != nil {
			return out, err
		}
		ps = append(ps, p)
		if o.OAuth != nil {
			out.Refreshers[oura.DataSource] = o.OAuth
		}
	}
	reg, err := provider.NewRegistry(ps...)
	out.Registry = reg
	return out, err
}
