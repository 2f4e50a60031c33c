package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/provider/whoop"
)

const serveLong = `Run wearlink until interrupted: the HTTP server (the ROOK-compatible REST
API, account linking under /connect/{data_source}, the providers' notifications at
/webhooks/{data_source} (Oura's also at /oura/webhook), /healthz, /readyz
and Prometheus metrics at /metrics) and
the jobs (backfill of new connections,
reads on the providers' notifications, polling as a safety net, delivery of the
clients' webhooks).

Every setting comes from a WEARLINK_* environment variable and can be
overridden by its flag; secrets (the Oura client secret, the webhook
verification token, the database URL, the sealing key) are best kept in the
environment. The schema is migrated at start.

--role api serves HTTP only and enqueues jobs; --role worker runs jobs only.
On SQLite one process may work the jobs; on PostgreSQL any number of
wearlink serve processes share them.

With the Oura client id and secret, a webhook verification token and a
public URL that reaches this server, the Oura webhook subscriptions are
created at start and renewed before they expire. WHOOP has no subscription
API: paste the WHOOP webhook URL this command prints into the application's
page in WHOOP's developer dashboard; notifications are verified with the
WHOOP client secret.

With no application of a provider configured (no client id, the live
URLs) and --role all, wearlink runs that provider's built-in simulator and
links, syncs and serves simulated data from it.`

// loadConfig reads the environment into a Config whose fields the flags
// then override; an error in the environment is reported when the command
// runs, so that --help always works.
func loadConfig() (*config.Config, error) {
	c, err := config.FromEnv(os.LookupEnv)
	return &c, err
}

func newServeCmd() *cobra.Command {
	cfg, envErr := loadConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server and the sync jobs",
		Long:  serveLong,
		Args:  cobra.NoArgs,
	}
	sf := addStoreFlags(cmd)
	cfg.RegisterFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if envErr != nil {
			return envErr
		}
		logger, err := app.NewLogger(*cfg, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		sc := sf.config(logger)
		cfg.DataDir, cfg.DatabaseURL = sc.DataDir, sc.DatabaseURL
		if err := cfg.Validate(); err != nil {
			return err
		}
		logger.Debug("configuration\n" + cfg.String())
		a, err := app.New(cmd.Context(), *cfg, app.Options{SecretKey: sc.SecretKey, Logger: logger, Migrate: true})
		if err != nil {
			return err
		}
		if err := a.Listen(); err != nil {
			a.Close()
			return err
		}
		if u := a.URL(); u != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "wearlink listening on %s (Oura webhook callback %s)\n", u, cfg.CallbackURL())
			// WHOOP has no subscription API: its one webhook URL is pasted
			// into the application's page in WHOOP's developer dashboard.
			fmt.Fprintf(cmd.OutOrStdout(), "WHOOP webhook URL for the developer dashboard: %s/webhooks/%s\n", cfg.PublicBase(), whoop.DataSource)
		}
		return a.Run(cmd.Context())
	}
	return cmd
}
