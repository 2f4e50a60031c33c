package cli

import (
	"context"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/secret"
)

// Environment variables of the store flags.
const (
	envData        = "WEARLINK_DATA"
	envDatabaseURL = "WEARLINK_DATABASE_URL"
)

// storeFlags are the flags of every command that opens the store, so that
// operators and scripts can point any command at a running server's
// database. A flag given on the command line wins over its environment
// variable. The URL and the key are read from the environment only when
// the command runs, so that help output never shows them.
type storeFlags struct {
	dataDir     string
	databaseURL string
	secretKey   string
	cmd         *cobra.Command
	getenv      func(string) string
}

// addStoreFlags registers --data, --database-url and --secret-key on cmd.
func addStoreFlags(cmd *cobra.Command) *storeFlags {
	f := &storeFlags{cmd: cmd, getenv: os.Getenv}
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data", app.DefaultDataDir, "data directory: the SQLite database and the key file (env "+envData+")")
	fl.StringVar(&f.databaseURL, "database-url", "", "PostgreSQL URL, postgres://...; selects PostgreSQL instead of SQLite (env "+envDatabaseURL+")")
	fl.StringVar(&f.secretKey, "secret-key", "", "base64 key sealing tokens at rest; several comma-separated, newest first, to rotate (env "+secret.EnvKey+", preferred; default: the key file in the data directory)")
	return f
}

// pick returns the flag's value when given, else the environment's when
// set, else the flag's default.
func (f *storeFlags) pick(flag, env, value string) string {
	if f.cmd.Flags().Changed(flag) {
		return value
	}
	if v := f.getenv(env); v != "" {
		return v
	}
	return value
}

// config resolves the flags into the store's configuration.
func (f *storeFlags) config(logger *slog.Logger) app.StoreConfig {
	return app.StoreConfig{
		DataDir:     f.pick("data", envData, f.dataDir),
		DatabaseURL: f.pick("database-url", envDatabaseURL, f.databaseURL),
		SecretKey:   f.pick("secret-key", secret.EnvKey, f.secretKey),
		Logger:      logger,
	}
}

// open opens the store the flags select.
func (f *storeFlags) open(ctx context.Context, logger *slog.Logger) (*app.OpenedStore, error) {
	return app.OpenStore(ctx, f.config(logger))
}
