// Package cli holds wearlink's cobra commands. Commands stay thin: they parse
// flags, build what they need from other packages and run it.
package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/wearlink/wearlink/internal/cli.Version=v1.2.3".
var Version = "dev"

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// NewRoot builds the root command with every subcommand attached.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "wearlink",
		Short:         "Self-hosted wearable health-data hub (Oura and WHOOP to a ROOK-compatible API, webhooks and destinations)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCmd())
	root.AddCommand(newOurasimCmd())
	root.AddCommand(newWhoopsimCmd())
	root.AddCommand(newWithingssimCmd())
	root.AddCommand(newNormalizeCmd())
	root.AddCommand(newMigrateCmd())
	root.AddCommand(newDoctorCmd())
	root.AddCommand(newWebhooksCmd())
	root.AddCommand(newDestinationsCmd())
	root.AddCommand(newDeliveriesCmd())
	root.AddCommand(newClientsCmd())
	root.AddCommand(newUsersCmd())
	root.AddCommand(newServeCmd())
	root.AddCommand(newLinkCmd())
	root.AddCommand(newDemoCmd())
	root.AddCommand(newPullCmd(time.Now))
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the wearlink version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						rev = " (" + s.Value[:12] + ")"
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wearlink %s%s %s %s/%s\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
