package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

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
	cmd.AddCommand(newDestinationsAddCmd(),
		listCmd("List destinations with their status (never their secrets)", "destinations", (*delivery.Service).ListDestinations, printDestinations),
		newDestinationsUpdateCmd(),
		testCmd("Connect to a destination now and check it takes writes, without writing a document",
			`Connects with the destination's credentials and checks that its bucket, topic
or database is there and writable (s3 puts a fixed .wearlink-test.json beside
the clients' folders; kafka asks for the topic's metadata and authorized
operations; postgres creates or migrates its table and checks its grants).
Prints what the destination said and exits with an error when it failed.`,
			(*delivery.Service).TestDestination, printDestinationTest, destinationTestFailed),
		newDestinationsPauseCmd(true), newDestinationsPauseCmd(false),
		removeCmd("Remove a destination with its deliveries; what it wrote stays where it is", (*delivery.Service).DeleteDestination))
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
	cmd := serviceCmd(&cobra.Command{
		Use:   "add --client-uuid C --kind s3|kafka|postgres --settings JSON|@FILE|-",
		Short: "Add a destination and print its id; run 'destinations test' to check it",
		Long: "Settings by kind (a JSON object; * required; nested names as sasl.password):\n\n" + settingsHelp() + `
Example:

  wearlink destinations add --client-uuid C --kind postgres \
    --settings '{"dsn":"postgres://wearlink@db.internal/analytics"}'`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if in.ClientUUID == "" || in.Kind == "" || settings == "" {
				return fmt.Errorf("--client-uuid, --kind and --settings are required (kinds: %s)", strings.Join(destination.Kinds(), ", "))
			}
			var err error
			in.Settings, err = readSettings(cmd, settings)
			return err
		},
	}, func(cmd *cobra.Command, svc *delivery.Service, _ []string) error {
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
	})
	cmd.Flags().StringVar(&in.ClientUUID, "client-uuid", "", "the client the destination belongs to (required)")
	cmd.Flags().StringVar(&in.Kind, "kind", "", "s3, kafka or postgres (required)")
	cmd.Flags().StringVar(&settings, "settings", "", "the kind's settings: JSON, @FILE or - for standard input (required)")
	cmd.Flags().StringSliceVar(&in.DataStructures, "data-structure", nil, "only these data_structure names (repeat or comma-separate; default all)")
	cmd.Flags().BoolVar(&in.Paused, "paused", false, "create it paused: documents wait until 'destinations resume'")
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// printDestinations is the table of destinations list.
func printDestinations(w io.Writer, ds []delivery.Destination) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT\tKIND\tSTATUS\tWRITES TO\tDATA STRUCTURES\tFAILING SINCE")
	for _, d := range ds {
		status := d.Status
		if d.DisabledReason != "" {
			status += " (" + d.DisabledReason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.ClientUUID, d.Kind, status, d.Description,
			filterText(d.DataStructures), timeText(d.FailingSince))
	}
	return tw.Flush()
}

// destinationTestFailed's error carries the destination's own words; a
// webhook's test shows the receiver's HTTP answer in its output instead.
func destinationTestFailed(res delivery.DestinationTest) error {
	if !res.Succeeded {
		return fmt.Errorf("the destination failed the test: %s", res.Error)
	}
	return nil
}

// printDestinationTest prints whether the destination took the test.
func printDestinationTest(w io.Writer, res delivery.DestinationTest) {
	result := "ok"
	if !res.Succeeded {
		result = "failed"
	}
	fmt.Fprintf(w, "result:   %s\nduration: %dms\n", result, res.DurationMS)
	if res.ErrorClass != "" {
		fmt.Fprintf(w, "error:    %s (%s)\n", res.Error, res.ErrorClass)
	}
}

func newDestinationsUpdateCmd() *cobra.Command {
	var settings string
	var structures []string
	var u delivery.DestinationUpdate
	cmd := idCmd(&cobra.Command{
		Use:   "update ID [--settings JSON|@FILE|-] [--data-structure NAME ...]",
		Short: "Change a destination's settings (secrets left out are kept) or its data structures",
		Long: `Replaces the destination's settings whole (same kind; a secret left out is
kept) or its data_structure filter (--data-structure "" for all). Its
deliveries stay: after correcting refused credentials, replay its dead letters
with 'wearlink deliveries replay'.`,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
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
			return nil
		},
	}, func(cmd *cobra.Command, svc *delivery.Service, id string) error {
		d, err := svc.UpdateDestination(cmd.Context(), "", id, u)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s updated: writes to %s\n", d.ID, d.Description)
		return nil
	})
	cmd.Flags().StringVar(&settings, "settings", "", "the new settings: JSON, @FILE or - for standard input")
	cmd.Flags().StringSliceVar(&structures, "data-structure", nil, `only these data_structure names ("" for all)`)
	return cmd
}

// newDestinationsPauseCmd pauses or resumes a destination. Unlike a
// webhook's disable, pausing holds what is pending, unattempted.
func newDestinationsPauseCmd(pause bool) *cobra.Command {
	use, short := "pause ID", "Pause a destination: documents wait, unattempted, until it is resumed"
	if !pause {
		use, short = "resume ID", "Resume a destination: what waited is written"
	}
	return idCmd(&cobra.Command{Use: use, Short: short}, func(cmd *cobra.Command, svc *delivery.Service, id string) error {
		d, err := svc.SetPaused(cmd.Context(), "", id, pause)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", d.ID, d.Status)
		return nil
	})
}
