package cli

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
)

// simLogger is the logger of a simulator command: text on stderr at the
// --log-level given.
func simLogger(cmd *cobra.Command, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl})), nil
}
