package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
)

func newWhoopsimCmd() *cobra.Command {
	var (
		addr, logLevel string
		cfg            whoopsim.Config
	)
	cmd := &cobra.Command{
		Use:   "whoopsim",
		Short: "Run the WHOOP API v2 simulator",
		Long: `Run a local simulator of the WHOOP API v2: deterministic cycles, sleeps,
recoveries and workouts for a few members, every v2 route, OAuth (authorize,
token with rotating refresh tokens, revoke), WHOOP's rate limits with their
headers, signed webhooks to one URL as WHOOP's dashboard sets it, and
injectable faults.

It prints its base URL, the OAuth client credentials and a ready access token
per simulated member, then serves until interrupted.

` + whoopsim.AdminHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Logger, err = simLogger(cmd, logLevel); err != nil {
				return err
			}
			err = whoopsim.Run(cmd.Context(), addr, cfg, cmd.OutOrStdout())
			fmt.Fprintln(cmd.ErrOrStderr(), "whoopsim: shut down")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8082", "listen address (loopback only)")
	f.IntVar(&cfg.Users, "users", 3, "number of simulated members")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed of all generated data, ready tokens and fault draws")
	f.StringVar(&cfg.WebhookURL, "webhook-url", "", "the application's webhook URL, as set in WHOOP's dashboard (none: no webhooks)")
	f.StringVar(&cfg.ClientID, "client-id", "", "OAuth client id of the one registered application (default: the simulator's)")
	f.StringVar(&cfg.ClientSecret, "client-secret", "", "OAuth client secret, which also signs webhooks (default: the simulator's)")
	f.Float64Var(&cfg.Faults.ErrorRate, "error-rate", 0, "fraction of API requests answered 500, 502 or 503")
	f.Float64Var(&cfg.Faults.TruncateRate, "truncate-rate", 0, "fraction of API responses cut short")
	f.Float64Var(&cfg.Faults.BurstRate, "burst-rate", 0, "chance that a request starts a burst of 429s")
	f.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to every response")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}
