package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/store"
)

// newWebhooksCmd manages the webhook endpoints of clients. Each subcommand
// opens the store its flags select, so it works while a server runs on
// the same database: the server's delivery jobs read endpoints afresh for
// every attempt.
func newWebhooksCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Add, list, rotate, enable, disable and test webhook endpoints",
		Long: `A data endpoint receives every health document of its client (optionally only
some data structures), one POST per document, signed with the endpoint's
whsec_ secret (Standard Webhooks) and with ROOK's X-ROOK-HASH. A notification
endpoint receives the client's lifecycle events. See docs/webhooks.md.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newWebhooksAddCmd(),
		listCmd("List endpoints (never their secrets)", "endpoints", (*delivery.Service).ListEndpoints, printEndpoints),
		newWebhooksRotateCmd(), newWebhooksEnableCmd(true), newWebhooksEnableCmd(false),
		testCmd("POST a signed webhook.test event to an endpoint now and print the answer",
			`Sends one webhook.test event, signed like every delivery, to the endpoint
(enabled or not), records the attempt, and prints the status, the time taken
and the start of the response. Exits with an error when the endpoint does not
answer 2xx.`, (*delivery.Service).TestEndpoint, printWebhookTest, webhookTestFailed),
		removeCmd("Remove an endpoint with its deliveries and their history", (*delivery.Service).DeleteEndpoint))
	return cmd
}

// deliveryFlags are the store flags plus what the delivery service needs.
type deliveryFlags struct {
	*storeFlags
	allowPrivate bool
}

func addDeliveryFlags(cmd *cobra.Command) *deliveryFlags {
	f := &deliveryFlags{storeFlags: addStoreFlags(cmd)}
	cmd.Flags().BoolVar(&f.allowPrivate, "allow-private-webhooks", false,
		"let webhook URLs resolve to private, loopback and link-local addresses (env "+delivery.EnvAllowPrivate+")")
	return f
}

// deliveryService opens and migrates the store and builds the delivery
// service on it, without a job queue: what it leaves to deliver, the
// running server queues.
func deliveryService(cmd *cobra.Command, f *deliveryFlags) (*delivery.Service, *app.OpenedStore, error) {
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	o, err := f.open(cmd.Context(), logger)
	if err != nil {
		return nil, nil, err
	}
	if _, err := o.Migrate(cmd.Context()); err != nil {
		o.Close()
		return nil, nil, err
	}
	ds := o.Store
	allow := f.allowPrivate
	if !cmd.Flags().Changed("allow-private-webhooks") {
		if v := f.getenv(delivery.EnvAllowPrivate); v != "" {
			if allow, err = strconv.ParseBool(v); err != nil {
				o.Close()
				return nil, nil, fmt.Errorf("%s=%q: want true or false", delivery.EnvAllowPrivate, v)
			}
		}
	}
	svc, err := delivery.New(delivery.Config{Store: ds, Logger: logger, AllowPrivate: allow, UserAgent: "wearlink/" + Version})
	if err != nil {
		o.Close()
		return nil, nil, err
	}
	return svc, o, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

const webhookSecretWarning = "Store the secret now: it is not shown again."

func newWebhooksAddCmd() *cobra.Command {
	var in delivery.EndpointInput
	var notification, asJSON bool
	cmd := serviceCmd(&cobra.Command{
		Use:   "add --client-uuid C --url URL",
		Short: "Add an endpoint and print its id and whsec_ secret (shown once)",
		Args:  cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if in.ClientUUID == "" || in.URL == "" {
				return fmt.Errorf("--client-uuid and --url are required")
			}
			if notification {
				in.Kind = store.EndpointNotification
			}
			return nil
		},
	}, func(cmd *cobra.Command, svc *delivery.Service, _ []string) error {
		ep, err := svc.AddEndpoint(cmd.Context(), in)
		if err != nil {
			return fmt.Errorf("add endpoint: %w", err)
		}
		if asJSON {
			return writeJSON(cmd.OutOrStdout(), ep)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "id:     %s\nsecret: %s\n", ep.ID, ep.Secret)
		fmt.Fprintln(cmd.ErrOrStderr(), webhookSecretWarning)
		return nil
	})
	cmd.Flags().StringVar(&in.ClientUUID, "client-uuid", "", "the client the endpoint belongs to (required)")
	cmd.Flags().StringVar(&in.URL, "url", "", "where to POST, http:// or https:// (required)")
	cmd.Flags().BoolVar(&notification, "notification", false, "a notification endpoint: lifecycle events instead of documents")
	cmd.Flags().StringSliceVar(&in.DataStructures, "data-structure", nil, "only these data_structure names (repeat or comma-separate; default all)")
	cmd.Flags().BoolVar(&in.Disabled, "disabled", false, "create it disabled")
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// printEndpoints is the table of webhooks list.
func printEndpoints(w io.Writer, eps []delivery.Endpoint) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT\tKIND\tENABLED\tURL\tDATA STRUCTURES\tFAILING SINCE\tNOTE")
	for _, e := range eps {
		note := e.DisabledReason
		if e.PreviousSecretExpiresAt != nil {
			note = strings.TrimSpace(note + " previous secret signs until " + e.PreviousSecretExpiresAt.Format(time.RFC3339))
		}
		if note == "" {
			note = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\t%s\t%s\n", e.ID, e.ClientUUID, e.Kind, e.Enabled, e.URL,
			filterText(e.DataStructures), timeText(e.FailingSince), note)
	}
	return tw.Flush()
}

func webhookTestFailed(res delivery.TestResult) error {
	if !res.Succeeded {
		return fmt.Errorf("the endpoint did not accept the test event")
	}
	return nil
}

// printWebhookTest prints what the endpoint answered the test event.
func printWebhookTest(w io.Writer, res delivery.TestResult) {
	fmt.Fprintf(w, "webhook-id: %s\n", res.WebhookID)
	if res.StatusCode != 0 {
		fmt.Fprintf(w, "status:     %d\n", res.StatusCode)
	}
	fmt.Fprintf(w, "duration:   %s\n", res.Duration.Round(time.Microsecond))
	if res.ErrorClass != "" {
		fmt.Fprintf(w, "error:      %s (%s)\n", res.Error, res.ErrorClass)
	}
	if res.Response != "" {
		fmt.Fprintf(w, "response:   %s\n", strings.TrimSpace(res.Response))
	}
}

func newWebhooksRotateCmd() *cobra.Command {
	var asJSON bool
	cmd := idCmd(&cobra.Command{
		Use:   "rotate-secret ID",
		Short: "Give an endpoint a new secret (shown once); the old one signs too for a grace period",
		Long: `Prints the endpoint's new whsec_ secret. For the next 24 hours every request
carries two signatures, one per secret, so the receiver can switch to the new
secret without rejecting a request; X-ROOK-HASH uses the new secret at once.`,
	}, func(cmd *cobra.Command, svc *delivery.Service, id string) error {
		ep, err := svc.RotateSecret(cmd.Context(), "", id)
		if err != nil {
			return fmt.Errorf("rotate secret: %w", err)
		}
		if asJSON {
			return writeJSON(cmd.OutOrStdout(), ep)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "id:     %s\nsecret: %s\n", ep.ID, ep.Secret)
		if ep.PreviousSecretExpiresAt != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "the previous secret signs until %s\n", ep.PreviousSecretExpiresAt.Format(time.RFC3339))
		}
		fmt.Fprintln(cmd.ErrOrStderr(), webhookSecretWarning)
		return nil
	})
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// newWebhooksEnableCmd enables or disables an endpoint. Unlike a
// destination's pause, disabling does not hold what is pending: it
// becomes dead letters, which 'deliveries replay' resends.
func newWebhooksEnableCmd(enable bool) *cobra.Command {
	use, short := "enable ID", "Enable an endpoint (what it missed is resent with 'deliveries replay')"
	if !enable {
		use, short = "disable ID", "Disable an endpoint; its pending deliveries become dead letters"
	}
	return idCmd(&cobra.Command{Use: use, Short: short}, func(cmd *cobra.Command, svc *delivery.Service, id string) error {
		ep, err := svc.SetEnabled(cmd.Context(), "", id, enable)
		if err != nil {
			return err
		}
		state := "enabled"
		if !ep.Enabled {
			state = "disabled"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", ep.ID, state)
		if enable {
			fmt.Fprintf(cmd.ErrOrStderr(), "To resend what it missed: wearlink deliveries replay --client-uuid %s\n", ep.ClientUUID)
		}
		return nil
	})
}
