package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/delivery"
)

// serviceCmd completes cmd with the delivery flags and a RunE that calls
// run with the delivery service of the store they select, closed after.
// A check of the command's own flags goes in cmd.PreRunE, so that a
// mistake is reported before the store is opened and migrated.
func serviceCmd(cmd *cobra.Command, run func(cmd *cobra.Command, svc *delivery.Service, args []string) error) *cobra.Command {
	f := addDeliveryFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		return run(cmd, svc, args)
	}
	return cmd
}

// idCmd is a serviceCmd on one endpoint or destination, named by the
// only argument.
func idCmd(cmd *cobra.Command, run func(cmd *cobra.Command, svc *delivery.Service, id string) error) *cobra.Command {
	cmd.Args = cobra.ExactArgs(1)
	return serviceCmd(cmd, func(cmd *cobra.Command, svc *delivery.Service, args []string) error {
		return run(cmd, svc, args[0])
	})
}

// addJSONFlag gives cmd --json, set in v.
func addJSONFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "json", false, "print JSON for scripts")
}

// filterText is a data_structure filter in a table: "all" for none.
func filterText(names []string) string {
	if s := strings.Join(names, ","); s != "" {
		return s
	}
	return "all"
}

// timeText is a time in a table, "-" for none.
func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// listCmd, testCmd and removeCmd are the subcommands webhooks and
// destinations both have, with the same arguments, flags and flow; each
// kind supplies its service call and how its answer reads. The calls take
// the client "", every client's: the command line is the operator's.

// listCmd lists the rows of a kind, T; plural names them in the flag's
// usage, table prints them for people.
func listCmd[T any](short, plural string, list func(*delivery.Service, context.Context, string) ([]T, error),
	table func(w io.Writer, rows []T) error) *cobra.Command {
	var client string
	var asJSON bool
	cmd := serviceCmd(&cobra.Command{Use: "list [--client-uuid C]", Short: short, Args: cobra.NoArgs},
		func(cmd *cobra.Command, svc *delivery.Service, _ []string) error {
			rows, err := list(svc, cmd.Context(), client)
			if err != nil {
				return err
			}
			if asJSON {
				if rows == nil {
					rows = []T{} // scripts read [] for none, never null
				}
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			return table(cmd.OutOrStdout(), rows)
		})
	cmd.Flags().StringVar(&client, "client-uuid", "", "only this client's "+plural)
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// testCmd tests a row now. print prints the result, R, for people;
// failed is the error a test that did not pass exits with, nil for one
// that did.
func testCmd[R any](short, long string, test func(*delivery.Service, context.Context, string, string) (R, error),
	print func(w io.Writer, res R), failed func(res R) error) *cobra.Command {
	var asJSON bool
	cmd := idCmd(&cobra.Command{Use: "test ID", Short: short, Long: long},
		func(cmd *cobra.Command, svc *delivery.Service, id string) error {
			res, err := test(svc, cmd.Context(), "", id)
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				print(cmd.OutOrStdout(), res)
			}
			return failed(res)
		})
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func removeCmd(short string, remove func(*delivery.Service, context.Context, string, string) error) *cobra.Command {
	return idCmd(&cobra.Command{Use: "remove ID", Short: short},
		func(cmd *cobra.Command, svc *delivery.Service, id string) error {
			if err := remove(svc, cmd.Context(), "", id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s removed\n", id)
			return nil
		})
}
