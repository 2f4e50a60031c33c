package cli

import (
	"errors"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/app"
)

func newDoctorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the database thoroughly and report what is wrong",
		Long: `Checks the store and prints a report. On SQLite: whether the database is
missing or empty beside its key file, and a full PRAGMA integrity_check, which
reads every page and index entry (about 15-18 s per GiB), more than serve checks
at start. On PostgreSQL: that it answers and takes a write. The database is
only read (PostgreSQL: one probe row is written). Exits 1 when something is
wrong; stop wearlink before running it on a large SQLite database.`,
		Args: cobra.NoArgs,
	}
	sf := addStoreFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		ok, err := app.Doctor(cmd.Context(), sf.config(logger), cmd.OutOrStdout())
		if err != nil {
			return err
		}
		if !ok {
			cmd.SilenceUsage = true
			return errors.New("the database has problems (see the report above)")
		}
		return nil
	}
	return cmd
}
