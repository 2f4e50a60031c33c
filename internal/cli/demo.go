package cli

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/demo"
)

const demoLong = `Show the whole system working, with no account anywhere: one process runs
simulated Oura and WHOOP APIs, wearlink on SQLite and a webhook receiver that
verifies the signatures of every delivery.

It seeds the constants of ROOK's documentation, client demoClientUUID with
secret demoClientSecret and user demoUserId (plus four more users), so
that ROOK's examples run unchanged against localhost. demoUserId and three
more users are linked to Oura rings, demoUser5 to a WHOOP strap, through
the real OAuth flows against the simulators, and their history is
backfilled; then a simulated day passes every --interval: the rings sync
their new day, WHOOP scores its member's new night and notifies wearlink
with a signed webhook, and the receiver prints each delivery. The
simulated world lives in autumn 2022, around ROOK's example day
2022-10-28.

The banner gives the dashboard (sign in with the client's UUID and secret)
and a signed link to demoUserId's connections page, which the demo gets
from its own API as a client's backend would. The link expires after an
hour; a new one is printed before then.

Each run starts afresh: a data directory made by a previous demo is emptied.

--once runs the scenario, prints a summary and exits with status 0 only if
every check held: all users linked, ROOK's example sleep summary answers
200, every delivery verified and each user's documents delivered, every
WHOOP webhook accepted, every synced day delivered, the signed link opens
the connections page showing Oura connected, the dashboard signs in,
draws demoUserId's hypnogram and shows demoUser5's WHOOP night, 99 in 100
documents arrive within --max-p99 of their sync, and no more than
--max-deliveries-per-document deliveries are made per distinct document.`

func newDemoCmd() *cobra.Command {
	var (
		cfg      demo.Config
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run wearlink with simulated Oura and WHOOP and a webhook receiver, no account needed",
		Long:  demoLong,
		Args:  cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", demo.DefaultDataDir, "data directory (emptied first if a previous demo made it; otherwise it must be new or empty)")
	f.StringVar(&cfg.Addr, "addr", demo.DefaultAddr, "address of the API (port 0: a free one)")
	f.BoolVar(&cfg.Once, "once", false, "run the scenario once, print a summary and exit (status 1 if a check failed)")
	f.DurationVar(&cfg.Interval, "interval", demo.DefaultInterval, "time between simulated days (a day takes about 40 Oura requests: below about 3s, the simulated Oura rate limit of 5000 requests per 5 minutes makes the sync fall behind)")
	f.IntVar(&cfg.Days, "days", demo.DefaultDays, "with --once: how many simulated days to sync")
	f.IntVar(&cfg.BackfillDays, "backfill-days", demo.DefaultBackfillDays, fmt.Sprintf("days of history each user's backfill pulls (at least %d, to reach %s)", demo.MinBackfillDays, demo.ExampleDay))
	f.DurationVar(&cfg.MaxSyncP99, "max-p99", demo.DefaultMaxSyncP99, "with --once: fail if the p99 from a simulated sync to its verified delivery is longer (0: no check)")
	f.Float64Var(&cfg.MaxDeliveriesPerDocument, "max-deliveries-per-document", demo.DefaultMaxDeliveriesPerDocument, "with --once: fail if more deliveries per distinct document were made (0: no check)")
	f.StringVar(&logLevel, "log-level", "warn", "level of wearlink's own logs on stderr: debug, info, warn, error")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		lvl, err := config.ParseLevel(logLevel)
		if err != nil {
			return err
		}
		cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
		cfg.Out = cmd.OutOrStdout()
		if out, ok := cfg.Out.(*os.File); ok {
			if fi, err := out.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				cfg.Progress = true
			}
		}
		sum, err := demo.Run(cmd.Context(), cfg)
		if sum.Users > 0 {
			sum.Write(cfg.Out)
		}
		switch {
		case err != nil:
			return err
		case !sum.OK() && cfg.Once:
			return fmt.Errorf("demo: %d check(s) failed", len(sum.Failures))
		}
		return nil
	}
	return cmd
}
