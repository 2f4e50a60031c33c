package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	withingssim "github.com/wearlink/wearlink/internal/provider/withings/sim"
)

func newWithingssimCmd() *cobra.Command {
	var (
		addr, logLevel string
		cfg            withingssim.Config
	)
	cmd := &cobra.Command{
		Use:   "withingssim",
		Short: "Run the Withings Public API simulator",
		Long: `Run a local simulator of the Withings Public API: deterministic weigh-ins with
body composition, blood pressure, nights from a sleep analyzer, daily activity,
workouts and devices for a few users; every action wearlink reads (measure
getmeas, measurev2 getactivity, getintradayactivity and getworkouts, sleepv2 get
and getsummary, userv2 getdevice, notify subscribe, get, list and revoke);
OAuth with Withings' enveloped token answer and rotating refresh tokens; errors
as status codes in the body; the 120 requests a minute limit (status 601);
unsigned form-encoded notifications with retries; injectable faults.

It prints its base URL, the OAuth client credentials and a ready access token
per simulated user, then serves until interrupted.

` + withingssim.AdminHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.Logger, err = simLogger(cmd, logLevel); err != nil {
				return err
			}
			err = withingssim.Run(cmd.Context(), addr, cfg, cmd.OutOrStdout())
			fmt.Fprintln(cmd.ErrOrStderr(), "withingssim: shut down")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8083", "listen address (loopback only)")
	f.IntVar(&cfg.Users, "users", withingssim.DefaultUsers, "number of simulated users")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed of all generated data, ready tokens and fault draws")
	f.IntVar(&cfg.Days, "days", withingssim.DefaultDays, "days of history before today")
	f.IntVar(&cfg.PageSize, "page-size", withingssim.DefaultPageSize, "objects per page of a paginated answer")
	f.IntVar(&cfg.RateLimit, "rate-limit", withingssim.DefaultRateLimit, "requests a minute of the application (-1: no limit)")
	f.StringVar(&cfg.ClientID, "client-id", "", "OAuth client id of the one registered application (default: the simulator's)")
	f.StringVar(&cfg.ClientSecret, "client-secret", "", "OAuth client secret (default: the simulator's)")
	f.StringSliceVar(&cfg.RedirectURIs, "redirect-uri", nil, "registered callback URL (repeatable; none: accept any)")
	f.DurationVar(&cfg.ScanInterval, "scan-interval", 10*time.Second, "how often data that appeared is announced to notification subscribers (0: only on POST /_sim/scan)")
	f.Float64Var(&cfg.Faults.ErrorRate, "error-rate", 0, "fraction of calls answered HTTP 500, 502 or 503")
	f.Float64Var(&cfg.Faults.TruncateRate, "truncate-rate", 0, "fraction of answers cut short")
	f.Float64Var(&cfg.Faults.BurstRate, "burst-rate", 0, "chance that a call starts a burst of status 601 answers")
	f.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to every answer")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}
