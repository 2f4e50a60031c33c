package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/store"
)

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema (wearlink's and River's) up to date",
		Long: `Applies wearlink's and River's schema migrations to the SQLite database in
the data directory, or to the PostgreSQL database of --database-url, and
prints what it applied. Running it again changes nothing. Several processes
may run it at once.`,
		Args: cobra.NoArgs,
	}
	sf := addStoreFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		o, err := sf.open(cmd.Context(), logger)
		if err != nil {
			return err
		}
		defer o.Close()
		res, err := o.Migrate(cmd.Context())
		if err != nil {
			return err
		}
		printMigration(cmd.OutOrStdout(), o.Kind, o.Location, res)
		return nil
	}
	return cmd
}

func printMigration(w io.Writer, kind, location string, res store.MigrationResult) {
	fmt.Fprintf(w, "database: %s %s\n", kind, location)
	if len(res.Applied) == 0 {
		fmt.Fprintf(w, "wearlink schema: up to date (version %d)\n", res.Current)
	} else {
		fmt.Fprintf(w, "wearlink schema: applied %s (now version %d)\n", strings.Join(res.Applied, ", "), res.Current)
	}
	if len(res.RiverApplied) == 0 {
		fmt.Fprintf(w, "River schema: up to date (version %d)\n", res.RiverCurrent)
	} else {
		vs := make([]string, len(res.RiverApplied))
		for i, v := range res.RiverApplied {
			vs[i] = strconv.Itoa(v)
		}
		fmt.Fprintf(w, "River schema: applied %s (now version %d)\n", strings.Join(vs, ", "), res.RiverCurrent)
	}
}
