package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/store"
)

func newClientsRetentionCmd() *cobra.Command {
	var raw, bodies int
	cmd := &cobra.Command{
		Use:   "retention CLIENT_UUID [--raw-retention-days N] [--delivery-body-retention-days N]",
		Short: "Show or set how long a client's raw documents and delivered webhook bodies are kept",
		Long: "Raw documents not updated for raw_retention_days, and webhook messages (the bodies posted, with their " +
			"deliveries) older than delivery_body_retention_days and no longer pending, are deleted in the background " +
			"by the running server, hourly. 0 keeps them for ever (the default).",
		Args: cobra.ExactArgs(1),
	}
	sf := addStoreFlags(cmd)
	cmd.Flags().IntVar(&raw, "raw-retention-days", 0, "days raw documents are kept after their last update (0: for ever)")
	cmd.Flags().IntVar(&bodies, "delivery-body-retention-days", 0, "days delivered webhook bodies are kept (0: for ever)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		o, err := clientsStore(cmd, sf)
		if err != nil {
			return err
		}
		defer o.Close()
		c, err := o.Store.GetClient(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		r, err := store.ClientRetention(c.Settings)
		if err != nil {
			return err
		}
		fl := cmd.Flags()
		if fl.Changed("raw-retention-days") || fl.Changed("delivery-body-retention-days") {
			if raw < 0 || bodies < 0 {
				return fmt.Errorf("retention days cannot be negative")
			}
			if fl.Changed("raw-retention-days") {
				r.RawDays = raw
			}
			if fl.Changed("delivery-body-retention-days") {
				r.DeliveryBodyDays = bodies
			}
			// Keep the other settings as they are.
			m := map[string]json.RawMessage{}
			if len(c.Settings) > 0 {
				if err := json.Unmarshal(c.Settings, &m); err != nil {
					return fmt.Errorf("client settings: %w", err)
				}
			}
			m["raw_retention_days"], _ = json.Marshal(r.RawDays)
			m["delivery_body_retention_days"], _ = json.Marshal(r.DeliveryBodyDays)
			if c.Settings, err = json.Marshal(m); err != nil {
				return err
			}
			if err := o.Store.UpdateClient(cmd.Context(), c); err != nil {
				return err
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "raw_retention_days: %d\ndelivery_body_retention_days: %d\n", r.RawDays, r.DeliveryBodyDays)
		return nil
	}
	return cmd
}
