package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/store"
)

// newDeliveriesCmd inspects and replays webhook deliveries.
func newDeliveriesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "List webhook deliveries and their attempts; replay dead letters",
		Long: `A delivery is one document (or lifecycle event) for one endpoint. It is
pending while attempts are due, succeeded once the endpoint answered 2xx, and
dead once the retries ran out or the endpoint was disabled. Dead letters are
kept for 10 days; a replay sends them again with the same webhook-id. A
running server picks replayed deliveries up within a second.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDeliveriesListCmd(), newDeliveriesShowCmd(), newDeliveriesReplayCmd())
	return cmd
}

// parseWhen reads a time as RFC 3339 or a YYYY-MM-DD date (UTC midnight).
func parseWhen(flag, v string) (time.Time, error) {
	t, err := delivery.ParseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: want RFC 3339 (2025-01-02T15:04:05Z) or a date (2025-01-02)", flag, v)
	}
	return t, nil
}

func newDeliveriesListCmd() *cobra.Command {
	var q store.DeliveryQuery
	var since, until string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--client-uuid C] [--status dead] [--since T] [--until T]",
		Short: "List deliveries, oldest first",
		Args:  cobra.NoArgs,
	}
	f := addDeliveryFlags(cmd)
	cmd.Flags().StringVar(&q.ClientUUID, "client-uuid", "", "only this client's deliveries")
	cmd.Flags().StringVar(&q.EndpointID, "endpoint", "", "only this endpoint's deliveries")
	cmd.Flags().StringVar(&q.Status, "status", "", "pending, succeeded or dead (dead: the dead letters)")
	cmd.Flags().StringVar(&since, "since", "", "created at or after this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().StringVar(&until, "until", "", "created before this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().Int64Var(&q.AfterID, "after", 0, "only deliveries with a larger id (to page)")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "at most this many")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		if q.CreatedFrom, err = parseWhen("since", since); err != nil {
			return err
		}
		if q.CreatedTo, err = parseWhen("until", until); err != nil {
			return err
		}
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		ds, err := svc.ListDeliveries(cmd.Context(), "", q)
		if err != nil {
			return err
		}
		if asJSON {
			out := make([]delivery.DeliveryView, len(ds))
			for i, d := range ds {
				out[i] = delivery.ViewDelivery(d, nil)
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tCLIENT\tUSER\tEVENT\tDAY\tV\tENDPOINT\tSTATUS\tATTEMPTS\tNEXT\tLAST ERROR\tWEBHOOK-ID")
		for _, d := range ds {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.CreatedAt.Format(time.RFC3339), d.ClientUUID,
				dash(d.UserID), d.EventType, dash(d.Day), dash(versionText(d.Version)), d.EndpointID, d.Status, d.Attempts,
				dash(delivery.TimeText(d.NextAttemptAt)), dash(d.LastError), d.WebhookID)
		}
		return tw.Flush()
	}
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func versionText(v int) string {
	if v == 0 {
		return ""
	}
	return strconv.Itoa(v)
}

func newDeliveriesShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one delivery and every attempt",
		Args:  cobra.ExactArgs(1),
	}
	f := addDeliveryFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("delivery id %q is not a number", args[0])
		}
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		d, atts, err := svc.Delivery(cmd.Context(), "", id)
		if err != nil {
			return err
		}
		out := delivery.ViewDelivery(d, atts)
		if asJSON {
			return writeJSON(cmd.OutOrStdout(), out)
		}
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "delivery %d: %s %s of %s/%s to %s\n", d.ID, d.Kind, d.EventType, d.ClientUUID, dash(d.UserID), d.EndpointID)
		fmt.Fprintf(w, "webhook-id %s, status %s after %d attempts (%d replays)", d.WebhookID, d.Status, d.Attempts, d.Replays)
		if !d.NextAttemptAt.IsZero() {
			fmt.Fprintf(w, ", next attempt %s", d.NextAttemptAt.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ATTEMPT\tAT\tSTATUS\tDURATION\tERROR\tRESPONSE")
		for _, a := range out.AttemptList {
			status, e := "-", dash(a.Error)
			if a.StatusCode != 0 {
				status = strconv.Itoa(a.StatusCode)
			}
			if a.ErrorClass != "" {
				e = a.ErrorClass + ": " + e
			}
			resp := strings.Join(strings.Fields(a.Response), " ")
			if len(resp) > 80 {
				resp = resp[:80] + "..."
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%dms\t%s\t%s\n", a.Attempt, a.At, status, a.DurationMS, e, dash(resp))
		}
		return tw.Flush()
	}
	return cmd
}

func newDeliveriesReplayCmd() *cobra.Command {
	var client, since, until string
	cmd := &cobra.Command{
		Use:   "replay [ID...] | --client-uuid C [--since T] [--until T]",
		Short: "Send deliveries again with the same webhook-id: given ones, or a client's dead letters",
		Long: `With ids, replays those deliveries (dead or succeeded). With --client-uuid,
replays the client's dead letters created in [--since, --until), all of them
without a range. Deliveries to a disabled endpoint are skipped: enable it
first. Replayed deliveries get a fresh retry schedule.`,
	}
	f := addDeliveryFlags(cmd)
	cmd.Flags().StringVar(&client, "client-uuid", "", "replay this client's dead letters")
	cmd.Flags().StringVar(&since, "since", "", "dead letters created at or after this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().StringVar(&until, "until", "", "dead letters created before this time (RFC 3339 or YYYY-MM-DD)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var q store.ReplayQuery
		for _, a := range args {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return fmt.Errorf("delivery id %q is not a number", a)
			}
			q.IDs = append(q.IDs, id)
		}
		if (len(q.IDs) > 0) == (client != "") {
			return fmt.Errorf("give delivery ids or --client-uuid, not both and not neither")
		}
		if len(q.IDs) > 0 && (since != "" || until != "") {
			return fmt.Errorf("--since and --until go with --client-uuid")
		}
		q.ClientUUID = client
		var err error
		if q.CreatedFrom, err = parseWhen("since", since); err != nil {
			return err
		}
		if q.CreatedTo, err = parseWhen("until", until); err != nil {
			return err
		}
		svc, o, err := deliveryService(cmd, f)
		if err != nil {
			return err
		}
		defer o.Close()
		n, err := svc.Replay(cmd.Context(), "", q)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "replayed %d deliveries\n", n)
		if len(q.IDs) > n {
			fmt.Fprintf(cmd.ErrOrStderr(), "%d not replayed: pending already, or their endpoint is disabled\n", len(q.IDs)-n)
		}
		return nil
	}
	return cmd
}
