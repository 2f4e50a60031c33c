package cli

import (
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
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
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
			cfg.HistoryStart = oura.Date(historyStart)
			if historyStart != "" {
				if _, err := time.Parse(time.DateOnly, historyStart); err != nil {
					return fmt.Errorf("--history-start: %w", err)
				}
			}
			var t0 time.Time
			if start != "" {
				var err error
				if t0, err = time.Parse(time.RFC3339, start); err != nil {
					return fmt.Errorf("--start: %w", err)
				}
			}
			cfg.Clock = ourasim.NewClock(t0, accel, nil)
			cfg.TokenRateLimit = ourasim.RateLimit{Requests: rateRequests, Window: rateWindow}
			cfg.AppRateLimit = ourasim.RateLimit{Requests: appRateRequests, Window: rateWindow}

			srv, err := ourasim.New(cfg)
			if err != nil {
				return err
			}
			if err := srv.Start(addr); err != nil {
				_ = srv.Close()
				return err
			}
			printOurasimBanner(cmd, srv)
			<-cmd.Context().Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "ourasim: shutting down")
			return srv.Close()
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
	f.IntVar(&cfg.TimeSeriesPageSize, "timeseries-page-size", ourasim.DefaultTimeSeriesPageSize, "page length of heartrate and ring_battery_level")
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

func printOurasimBanner(cmd *cobra.Command, srv *ourasim.Server) {
	out := cmd.OutOrStdout()
	base := srv.URL()
	fmt.Fprintf(out, "ourasim listening on %s\n\n", base)
	fmt.Fprintf(out, "  API base URL   %s\n", base)
	fmt.Fprintf(out, "  authorize URL  %s/oauth/authorize\n", base)
	fmt.Fprintf(out, "  token URL      %s/oauth/token\n", base)
	fmt.Fprintf(out, "  revoke URL     %s/oauth/revoke\n", base)
	fmt.Fprintf(out, "  client id      %s\n", srv.ClientID())
	fmt.Fprintf(out, "  client secret  %s\n", srv.ClientSecret())
	fmt.Fprintf(out, "  control API    %s/_sim/\n", base)
	fmt.Fprintf(out, "  simulated now  %s (x%g)\n\n", srv.Clock().Now().Format(time.RFC3339), srv.Clock().Factor())
	fmt.Fprintln(out, "Ready tokens (all scopes):")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  USER\tOURA ID\tTIME ZONE\tACCESS TOKEN\tREFRESH TOKEN")
	for _, t := range srv.Tokens() {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", t.UserIndex, t.OuraID, t.TimeZone, t.AccessToken, t.RefreshToken)
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "\nExample:\n  curl -H 'Authorization: Bearer %s' '%s/v2/usercollection/daily_sleep'\n", firstToken(srv), base)
	fmt.Fprintln(out, strings.Repeat("-", 40))
}

func firstToken(srv *ourasim.Server) string {
	if ts := srv.Tokens(); len(ts) > 0 {
		return ts[0].AccessToken
	}
	return "<token>"
}
