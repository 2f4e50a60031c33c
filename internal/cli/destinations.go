package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/delivery/destination"
)

// newDestinationsCmd manages the destinations of clients: S3 buckets,
// Kafka topics and PostgreSQL databases documents are written to besides
// the webhooks. As for webhooks, each subcommand opens the store its
// flags select and works while a server runs on it.
func newDestinationsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "destinations",
		Short: "Add, list, update, test, pause, resume and remove destinations (S3, Kafka, PostgreSQL)",
		Long: `A destination receives every health document of its client (optionally only
some data structures) as a data webhook endpoint does, through the same outbox,
retries, dead letters and replay, but written to an S3-compatible bucket, a
Kafka topic or a PostgreSQL database of the client's with that system's own
client. Its deliveries are listed by 'wearlink deliveries list' (the endpoint
is the destination's ds_ id). Credentials are sealed at rest and never shown.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDestinationsAddCmd(), newDestinationsListCmd(), newDestinationsUpdateCmd(), newDestinationsTestCmd(),
		newDestinationsPauseCmd(true), newDestinationsPauseCmd(false), newDestinationsRemoveCmd())
	return cmd
}

// settingsHelp lists every setting of every kind.
func settingsHelp() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, f := range destination.Fields() {
		name := f.Name
		if f.Required {
			name += " *"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Kind, name, f.Usage)
	}
	tw.Flush()
	return b.String()
}

// readSettings reads --settings: JSON, @FILE for a file's, or - for
// standard input's (keeping credentials out of the shell's history and
// the process list).
func readSettings(cmd *cobra.Command, v string) (json.RawMessage, error) {
	var b []byte
	var err error
	switch {
	case v == "-":
		b, err = io.ReadAll(cmd.InOrStdin())
	case strings.HasPrefix(v, "@"):
		b, err = os.ReadFile(v[1:])
	default:
		b = []byte(v)
	}
	if err != nil {
		return nil, fmt.Errorf("--settings: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--settings is not JSON: give an object, @FILE or - for standard input")
	}
	return b, nil
}

func newDestinationsAddCmd() *cobra.Command {
	var in delivery.DestinationInput
	var settings string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "add --client-uuid C --kind s3|kafka|postgres --settings JSON|@FILE|-",
		Short: "Add a destination and print its id; run 'destinations test' to check it",
		Long: "Settings by kind (a JSON object; * required; nested names as sasl.password):\n\n" + settingsHelp() + `
Example:

  wearlink destinations add --client-uuid C --kind postgres \
    --settings '{"dsn":"postgres://wearlink@db.internal/analytics"}'`,
		Args: cobra.NoArgs,
	}
	f := addDeliveryFlags(cmd)
	cmd.Flags().StringVar(&in.ClientUUID, "client-uuid", "", "the client the destination belongs to (required)")
	cmd.Flags().StringVar(&in.Kind, "kind", "", "s3, kafka or postgres (required)")
	cmd.Flags().StringVar(&settings, "settings", "", "the kind's settings: JSON, @FILE or - for standard input (required)")
	cmd.Flags().StringSliceVar(&in.DataStructures, "data-structure", nil, "only these data_structure names (repeat or comma-separate; default all)")
	cmd.Flags().BoolVar(&in.Paused, "paused", false, "create it paused: documents wait until 'destinations resume'")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if in.ClientUUID == "" || in.Kind == "" || settings == "" {
			return fmt.Errorf("--client-uuid, --kind and --settings are required (kinds: %s)", strings.Join(destination.Kinds(), ", "))
		}
		raw, err := readSettings(cmd, settings)
		if err != nil {
			return err
		}
		in.Settings = raw
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		d, err := svc.AddDestination(cmd.Context(), in)
		if err != nil {
			return fmt.Errorf("add destination: %w", err)
		}
		if asJSON {
			return writeJSON(cmd.OutOrStdout(), d)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "id:     %s\nkind:   %s\nwrites: %s\nstatus: %s\n", d.ID, d.Kind, d.Description, d.Status)
		fmt.Fprintf(cmd.ErrOrStderr(), "Check it with: wearlink destinations test %s\n", d.ID)
		return nil
	}
	return cmd
}

func newDestinationsListCmd() *cobra.Command {
	var client string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--client-uuid C]",
		Short: "List destinations with their status (never their secrets)",
		Args:  cobra.NoArgs,
	}
	f := addDeliveryFlags(cmd)
	cmd.Flags().StringVar(&client, "client-uuid", "", "only this client's destinations")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		ds, err := svc.ListDestinations(cmd.Context(), client)
		if err != nil {
			return err
		}
		if asJSON {
			if ds == nil {
				ds = []delivery.Destination{}
			}
			return writeJSON(cmd.OutOrStdout(), ds)
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCLIENT\tKIND\tSTATUS\tWRITES TO\tDATA STRUCTURES\tFAILING SINCE")
		for _, d := range ds {
			structures := strings.Join(d.DataStructures, ",")
			if structures == "" {
				structures = "all"
			}
			failing := "-"
			if d.FailingSince != nil {
				failing = d.FailingSince.Format(time.RFC3339)
			}
			status := d.Status
			if d.DisabledReason != "" {
				status += " (" + d.DisabledReason + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.ClientUUID, d.Kind, status, d.Description, structures, failing)
		}
		return tw.Flush()
	}
	return cmd
}

func newDestinationsUpdateCmd() *cobra.Command {
	var settings string
	var structures []string
	cmd := &cobra.Command{
		Use:   "update ID [--settings JSON|@FILE|-] [--data-structure NAME ...]",
		Short: "Change a destination's settings (secrets left out are kept) or its data structures",
		Long: `Replaces the destination's settings whole (same kind; a secret left out is
kept) or its data_structure filter (--data-structure "" for all). Its
deliveries stay: after correcting refused credentials, replay its dead letters
with 'wearlink deliveries replay'.`,
		Args: cobra.ExactArgs(1),
	}
	f := addDeliveryFlags(cmd)
	cmd.Flags().StringVar(&settings, "settings", "", "the new settings: JSON, @FILE or - for standard input")
	cmd.Flags().StringSliceVar(&structures, "data-structure", nil, `only these data_structure names ("" for all)`)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var u delivery.DestinationUpdate
		if settings != "" {
			raw, err := readSettings(cmd, settings)
			if err != nil {
				return err
			}
			u.Settings = raw
		}
		if cmd.Flags().Changed("data-structure") {
			ds := slices.DeleteFunc(slices.Clone(structures), func(s string) bool { return s == "" })
			u.DataStructures = &ds
		}
		if u.Settings == nil && u.DataStructures == nil {
			return fmt.Errorf("nothing to change: give --settings or --data-structure")
		}
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		d, err := svc.UpdateDestination(cmd.Context(), "", args[0], u)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s updated: writes to %s\n", d.ID, d.Description)
		return nil
	}
	return cmd
}

func newDestinationsTestCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test ID",
		Short: "Connect to a destination now and check it takes writes, without writing a document",
		Long: `Connects with the destination's credentials and checks that its bucket, topic
or database is there and writable (s3 puts a fixed .wearlink-test.json beside
the clients' folders; kafka asks for the topic's metadata and authorized
operations; postgres creates or migrates its table and checks its grants).
Prints what the destination said and exits with an error when it failed.`,
		Args: cobra.ExactArgs(1),
	}
	f := addDeliveryFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		res, err := svc.TestDestination(cmd.Context(), "", args[0])
		if err != nil {
			return err
		}
		if asJSON {
			if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
				return err
			}
		} else {
			w := cmd.OutOrStdout()
			result := "ok"
			if !res.Succeeded {
				result = "failed"
			}
			fmt.Fprintf(w, "result:   %s\nduration: %dms\n", result, res.DurationMS)
			if res.ErrorClass != "" {
				fmt.Fprintf(w, "error:    %s (%s)\n", res.Error, res.ErrorClass)
			}
		}
		if !res.Succeeded {
			return fmt.Errorf("the destination failed the test: %s", res.Error)
		}
		return nil
	}
	return cmd
}

func newDestinationsPauseCmd(pause bool) *cobra.Command {
	use, short := "pause ID", "Pause a destination: documents wait, unattempted, until it is resumed"
	if !pause {
		use, short = "resume ID", "Resume a destination: what waited is written"
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}
	f := addDeliveryFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		d, err := svc.SetPaused(cmd.Context(), "", args[0], pause)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", d.ID, d.Status)
		return nil
	}
	return cmd
}

func newDestinationsRemoveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a destination with its deliveries; what it wrote stays where it is",
		Args:  cobra.ExactArgs(1),
	}
	f := addDeliveryFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		if err := svc.DeleteDestination(cmd.Context(), "", args[0]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s removed\n", args[0])
		return nil
	}
	return cmd
}
