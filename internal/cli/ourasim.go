package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
)

func newOurasimCmd() *cobra.Command {
	var (
		addr, historyStart, start, logLevel string
		cfg                                 ourasim.Config
		accel                               float64
		rateRequests, appRateRequests       int
		rateWindow                          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "ourasim",
		Short: "Run the Oura API v2 simulator",
		Long: `Run a local simulator of the Oura API v2: deterministic data for a few users,
every /v2/usercollection route and the sandbox, OAuth (authorize, token with
refresh-token rotation, revoke), the webhook subscription API with signed
notifications, Oura's rate limits, and injectable faults.

It prints its base URL, the OAuth client credentials and a ready access token
per simulated user, then serves until interrupted.

` + ourasim.AdminHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Logger, err = simLogger(cmd, logLevel); err != nil {
				return err
			}
			cfg.HistoryStart = oura.Date(historyStart)
			if historyStart != "" {
				if _, err := time.Parse(time.DateOnly, historyStart); err != nil {
					return fmt.Errorf("--history-start: %w", err)
				}
			}
			var t0 time.Time
			if start != "" {
				if t0, err = time.Parse(time.RFC3339, start); err != nil {
					return fmt.Errorf("--start: %w", err)
				}
			}
			cfg.Clock = ourasim.NewClock(t0, accel, nil)
			cfg.TokenRateLimit = ourasim.RateLimit{Requests: rateRequests, Window: rateWindow}
			cfg.AppRateLimit = ourasim.RateLimit{Requests: appRateRequests, Window: rateWindow}

			err = ourasim.Run(cmd.Context(), addr, cfg, cmd.OutOrStdout())
			fmt.Fprintln(cmd.ErrOrStderr(), "ourasim: shutting down")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8081", "listen address")
	f.IntVar(&cfg.Users, "users", 3, "number of simulated users")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed of all generated data, ready tokens and fault draws")
	f.StringVar(&historyStart, "history-start", "", "first day with data, YYYY-MM-DD (default: the generator's)")
	f.StringVar(&start, "start", "", "simulated start time, RFC 3339 (default: now)")
	f.Float64Var(&accel, "accel", 1, "simulated seconds per real second (1440: a day per minute; 0: frozen)")
	f.IntVar(&cfg.PageSize, "page-size", ourasim.DefaultPageSize, "page length of document collections")
	f.IntVar(&cfg.TimeSeriesPageSize, "timeseries-page-size", ourasim.DefaultTimeSeriesPageSize, "page length of heartrate, interbeat_interval and ring_battery_level")
	f.StringVar(&cfg.ClientID, "client-id", ourasim.DefaultClientID, "OAuth client id of the one registered application")
	f.StringVar(&cfg.ClientSecret, "client-secret", ourasim.DefaultClientSecret, "OAuth client secret (also signs webhook notifications)")
	f.StringSliceVar(&cfg.RedirectURIs, "redirect-uri", nil, "registered redirect URI (repeatable; none: accept any)")
	f.DurationVar(&cfg.AccessTokenLifetime, "token-lifetime", ourasim.DefaultAccessTokenLifetime, "access-token lifetime in simulated time")
	f.IntVar(&rateRequests, "rate-limit", ourasim.DefaultRateLimitRequests, "requests per window per access token (-1: off)")
	f.IntVar(&appRateRequests, "app-rate-limit", ourasim.DefaultRateLimitRequests, "requests per window for the application (-1: off)")
	f.DurationVar(&rateWindow, "rate-window", ourasim.DefaultRateLimitWindow, "rate-limit window")
	f.BoolVar(&cfg.FixedRateWindow, "fixed-rate-window", false, "fixed rate-limit windows instead of rolling ones")
	f.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to every /v2/ response")
	f.DurationVar(&cfg.Faults.LatencyJitter, "latency-jitter", 0, "random extra latency, up to this much")
	f.Float64Var(&cfg.Faults.ErrorRate, "error-rate", 0, "fraction of /v2/ requests answered 500/502/503")
	f.Float64Var(&cfg.Faults.ResetRate, "reset-rate", 0, "fraction of /v2/ requests whose connection is reset")
	f.Float64Var(&cfg.Faults.TruncateRate, "truncate-rate", 0, "fraction of /v2/ responses cut in half")
	f.Float64Var(&cfg.NotificationDropRate, "drop-rate", 0, "fraction of webhook notifications silently dropped")
	f.Float64Var(&cfg.UpdateRate, "update-rate", 0.1, "fraction of new days that also announce an update of the day before")
	f.IntVar(&cfg.WebhookRetries, "webhook-retries", 3, "retries of a failed notification delivery (-1: none)")
	f.BoolVar(&cfg.DisableGzip, "no-gzip", false, "never gzip responses")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}
