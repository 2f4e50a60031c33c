package cli

import (
	"cmp"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/erase"
	"github.com/wearlink/wearlink/internal/store"
)

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage a client's end users",
	}
	cmd.AddCommand(newUsersDeleteCmd(), newUsersStatusCmd())
	return cmd
}

// userConnJSON is one connection as users status --json prints it.
type userConnJSON struct {
	UserID     string `json:"user_id"`
	DataSource string `json:"data_source"`
	Status     string `json:"status"`
	LastSyncAt string `json:"last_sync_at,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// Note explains a paused status: what ends it.
	Note string `json:"note,omitempty"`
}

func newUsersStatusCmd() *cobra.Command {
	var clientUUID, userID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status --client-uuid C [--user-id U]",
		Short: "Show the connections of a client's users: status, last sync, last error",
		Long: "Lists every connection of the client's users (or of one user) with its status. A paused connection " +
			"(subscription_required: the provider refuses the data, usually for a lapsed membership; app_update_required: the provider's app is too old) " +
			"resumes by itself once the user has acted; the server probes it daily.",
		Args: cobra.NoArgs,
	}
	sf := addStoreFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&clientUUID, "client-uuid", "", "the client whose users to show")
	fl.StringVar(&userID, "user-id", "", "only this user")
	addJSONFlag(cmd, &asJSON)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if clientUUID == "" {
			return fmt.Errorf("--client-uuid is required")
		}
		o, err := clientsStore(cmd, sf)
		if err != nil {
			return err
		}
		defer o.Close()
		page, err := o.Store.UserStatuses(cmd.Context(), store.UserStatusQuery{ClientUUID: clientUUID})
		if err != nil {
			return err
		}
		name := sourceNamer(cmd)
		var rows []userConnJSON
		for _, u := range page.Users {
			if userID != "" && u.UserID != userID {
				continue
			}
			for _, c := range u.Connections {
				r := userConnJSON{UserID: u.UserID, DataSource: c.DataSource, Status: c.Status, LastError: c.LastError,
					Note: store.PauseText(c.Status, name(c.DataSource))}
				if !c.LastSyncAt.IsZero() {
					r.LastSyncAt = c.LastSyncAt.Format(time.RFC3339)
				}
				rows = append(rows, r)
			}
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), append([]userConnJSON{}, rows...))
		}
		if len(rows) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), "no connections")
			return nil
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER_ID\tDATA_SOURCE\tSTATUS\tLAST_SYNC\tNOTE")
		for _, r := range rows {
			note := r.Note
			if note == "" {
				note = r.LastError
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.UserID, r.DataSource, r.Status, cmp.Or(r.LastSyncAt, "-"), cmp.Or(note, "-"))
		}
		return tw.Flush()
	}
	return cmd
}

// sourceNamer returns the display name of a data source, as the providers
// configured in the environment name it; the data source itself when
// none does.
func sourceNamer(cmd *cobra.Command) func(string) string {
	var reg interface{ Name(string) string }
	if cfg, err := config.FromEnv(nil); err == nil {
		logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		if built, err := app.BuildProviders(cfg, app.EngineOptions{Logger: logger}); err == nil {
			reg = built.Registry
		}
	}
	return func(ds string) string {
		if reg != nil {
			if n := reg.Name(ds); n != "" {
				return n
			}
		}
		return ds
	}
}

func newUsersDeleteCmd() *cobra.Command {
	var clientUUID, userID string
	var yes, background bool
	cmd := &cobra.Command{
		Use:   "delete --client-uuid C --user-id U --yes [--background]",
		Short: "Erase a user: revoke its connections and delete all of its data",
		Long: "Erases a user as DELETE /api/v1/user_id/{user_id} does: every connection is revoked at its data source " +
			"(where that provider's application credentials are set, e.g. WEARLINK_WHOOP_CLIENT_ID and _SECRET), everything of the user is deleted, " +
			"and the client's notification webhooks get user.deleted (posted by the server). Only an audit record " +
			"without health data remains. The erasure runs here unless --background leaves it to the running server; " +
			"interrupted, it resumes where it stopped (run the command again, or let the server resume it).",
		Args: cobra.NoArgs,
	}
	sf := addStoreFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&clientUUID, "client-uuid", "", "the user's client")
	fl.StringVar(&userID, "user-id", "", "the user to erase")
	fl.BoolVar(&yes, "yes", false, "confirm: the user's data cannot be recovered")
	fl.BoolVar(&background, "background", false, "only record the erasure; the running server carries it out")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if clientUUID == "" || userID == "" {
			return fmt.Errorf("--client-uuid and --user-id are required")
		}
		if !yes {
			return fmt.Errorf("erasing user %s of client %s deletes all of its data for good; run again with --yes to confirm", userID, clientUUID)
		}
		logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		o, err := clientsStore(cmd, sf)
		if err != nil {
			return err
		}
		defer o.Close()
		// Deliveries are left to the server's pump: no River client here.
		dsvc, err := delivery.New(delivery.Config{Store: o.Store, Logger: logger})
		if err != nil {
			return err
		}
		revokers := map[string]erase.Revoker{}
		if cfg, err := config.FromEnv(nil); err == nil {
			if revokers, err = app.Revokers(cfg); err != nil {
				return err
			}
		}
		svc, err := erase.New(erase.Config{Store: o.Store, Revokers: revokers, Events: dsvc, Logger: logger})
		if err != nil {
			return err
		}
		e, err := svc.Request(cmd.Context(), clientUUID, userID, erase.ByCLI)
		if err != nil {
			return err
		}
		if !background && e.State != store.ErasureCompleted {
			if e, err = svc.Run(cmd.Context(), clientUUID, e.ID); err != nil {
				return fmt.Errorf("erasure %s stopped (run the command again to resume it): %w", e.ID, err)
			}
		}
		keys := make([]string, 0, len(e.Counts))
		for k, n := range e.Counts {
			if n > 0 {
				keys = append(keys, fmt.Sprintf("%s=%d", k, n))
			}
		}
		sort.Strings(keys)
		fmt.Fprintf(cmd.OutOrStdout(), "erasure %s of user %s: %s; deleted %s\n", e.ID, userID, e.State, strings.Join(keys, " "))
		return nil
	}
	return cmd
}
