package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the simulator's command.
func newOurasimCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ourasim",
		Short: "Run the Oura API v2 simulator",
		RunE:  func(*cobra.Command, []string) error { return errors.New("not yet") },
	}
}
