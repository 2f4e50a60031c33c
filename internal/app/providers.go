package app

import (
	"log/slog"
	"time"

	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/erase"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// BuildProviders builds every provider's client, its token refresher and
// the OAuth flow that links accounts (where the application's credentials
// are set), from the configuration.
func BuildProviders(cfg config.Config, o EngineOptions) (all.Built, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	oc, err := oura.New(oura.Config{
		BaseURL: cfg.Oura.APIBaseURL,
		Limiter: oura.NewRateLimiter(ouraLimit(cfg.Oura.AppRateLimit), ouraLimit(cfg.Oura.TokenRateLimit)),
		// Short waits are sat out in place; a longer Retry-After, or a
		// longer wait for the limiter's budgets, snoozes the job instead
		// of holding a worker. 5 s: a few River polls, what a snooze costs
		// in delay anyway, while one user's spent token budget (up to
		// Oura's 5-minute window) would hold a worker per job of theirs
		// and stall the queue for everyone.
		MaxRetryAfter:  5 * time.Second,
		MaxLimiterWait: 5 * time.Second,
		Logger:         o.Logger,
		Now:            o.Now,
		HTTPClient:     o.HTTPClient,
		OnFault:        o.OnFault,
		OnRateLimited:  o.rateLimited(oura.DataSource),
	})
	if err != nil {
		return all.Built{}, err
	}
	var oauth *oura.OAuth
	if cfg.Oura.ClientID != "" && cfg.Oura.ClientSecret != "" {
		oauth, err = oura.NewOAuth(oura.OAuthConfig{ClientID: cfg.Oura.ClientID, ClientSecret: cfg.Oura.ClientSecret,
			RedirectURL: cfg.PublicBase() + link.CallbackPath(oura.DataSource),
			AuthURL:     cfg.Oura.AuthURL, TokenURL: cfg.Oura.TokenURL, RevokeURL: cfg.Oura.RevokeURL,
			// Token expiries are compared with the engine's clock.
			Now: o.Now})
		if err != nil {
			return all.Built{}, err
		}
	}
	// o.HTTPClient counts Oura's requests for /metrics; WHOOP's client
	// keeps its own.
	wc, err := whoop.New(whoop.ClientConfig{BaseURL: cfg.Whoop.APIBaseURL, Now: o.Now,
		PerMinute: cfg.Whoop.RequestsPerMinute, PerDay: cfg.Whoop.RequestsPerDay,
		// As for Oura: a long reset snoozes the job instead of holding a
		// worker.
		MaxRetryAfter: 5 * time.Second, OnRateLimited: o.rateLimited(whoop.DataSource)})
	if err != nil {
		return all.Built{}, err
	}
	// Withings' client holds the application's requests a minute (120
	// unless Withings raised them), on real time whatever the engine's
	// clock: it paces real requests. A longer wait after a 601 snoozes
	// the job.
	wic, err := withings.New(withings.ClientConfig{BaseURL: cfg.Withings.APIBaseURL, PerMinute: cfg.Withings.RequestsPerMinute, MaxRetryAfter: 5 * time.Second,
		OnRateLimited: o.rateLimited(withings.DataSource)})
	if err != nil {
		return all.Built{}, err
	}
	return all.Registry(all.Config{
		Oura: &all.OuraConfig{Client: oc, OAuth: oauth,
			ClientID: cfg.Oura.ClientID, ClientSecret: cfg.Oura.ClientSecret, VerificationToken: cfg.Oura.WebhookVerificationToken,
			Now: o.Now, AuthURL: cfg.Oura.AuthURL, TokenURL: cfg.Oura.TokenURL, RevokeURL: cfg.Oura.RevokeURL},
		Whoop: &all.WhoopConfig{Client: wc, OAuthBaseURL: cfg.Whoop.OAuthBaseURL,
			ClientID: cfg.Whoop.ClientID, ClientSecret: cfg.Whoop.ClientSecret,
			RedirectURL: cfg.PublicBase() + link.CallbackPath(whoop.DataSource), Now: o.Now},
		Withings: &all.WithingsConfig{Client: wic, AuthURL: cfg.Withings.AuthURL,
			ClientID: cfg.Withings.ClientID, ClientSecret: cfg.Withings.ClientSecret,
			RedirectURL: cfg.PublicBase() + link.CallbackPath(withings.DataSource), Now: o.Now},
	})
}

// Revokers returns the erasure's token revokers per data source: each
// provider's whose application credentials are set. wearlink users delete
// uses it too, so that an erasure run from the command line revokes
// exactly where the server's would.
func Revokers(cfg config.Config) (map[string]erase.Revoker, error) {
	built, err := BuildProviders(cfg, EngineOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	return revokersOf(built), nil
}

func revokersOf(built all.Built) map[string]erase.Revoker {
	out := map[string]erase.Revoker{}
	for ds, f := range built.Flows {
		out[ds] = f.Revoke
	}
	return out
}

// rateLimited is OnRateLimited for one provider's client, nil when nothing
// listens.
func (o EngineOptions) rateLimited(dataSource string) func(tier string) {
	if o.OnRateLimited == nil {
		return nil
	}
	return func(tier string) { o.OnRateLimited(dataSource, tier) }
}

// ouraLimit converts a configured budget for the Oura client's limiter.
func ouraLimit(r config.RateLimit) oura.Limit {
	return oura.Limit{Requests: r.Requests, Window: r.Window}
}
