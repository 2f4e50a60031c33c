package cli

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// newClientsCmd manages API clients: the apps that call the REST API with
// client_uuid:secret. Each subcommand opens the store its flags select, so
// it works while a server runs on the same database.
func newClientsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Create, list, rotate and delete API clients (client_uuid and secret)",
		Long: `An API client is an app that calls wearlink's ROOK-compatible API with
HTTP Basic auth: its client_uuid as the user name and its secret as the
password. The secret is printed once, when it is made, and stored hashed.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newClientsCreateCmd(), newClientsListCmd(), newClientsRotateCmd(), newClientsDeleteCmd(), newClientsRetentionCmd())
	return cmd
}

// clientsStore opens and migrates the store, so a client can be created on
// a fresh data directory.
func clientsStore(cmd *cobra.Command, sf *storeFlags) (*app.OpenedStore, error) {
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	o, err := sf.open(cmd.Context(), logger)
	if err != nil {
		return nil, err
	}
	if _, err := o.Migrate(cmd.Context()); err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// clientJSON is a client as --json prints it; Secret only when just made.
type clientJSON struct {
	ClientUUID string `json:"client_uuid"`
	Name       string `json:"name"`
	Secret     string `json:"secret,omitempty"`
	CreatedAt  string `json:"created_at,omitempty"`
	UpdatedAt  string `json:"updated_at,omitempty"`
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

const secretWarning = "Store the secret now: it is not shown again (wearlink keeps only a hash of it)."

func newClientsCreateCmd() *cobra.Command {
	var name string
	var asJSON, asEnv bool
	cmd := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a client and print its client_uuid and secret (shown once)",
		Args:  cobra.NoArgs,
	}
	sf := addStoreFlags(cmd)
	cmd.Flags().StringVar(&name, "name", "", "the app's name, shown in lists and on the connection pages (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.Flags().BoolVar(&asEnv, "env", false, "print CLIENT_UUID=... and CLIENT_SECRET=... for a shell's eval")
	cmd.MarkFlagsMutuallyExclusive("json", "env")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		name = strings.TrimSpace(name)
		if name == "" {
			return fmt.Errorf("--name is required")
		}
		o, err := clientsStore(cmd, sf)
		if err != nil {
			return err
		}
		defer o.Close()
		uuid, err := newUUID()
		if err != nil {
			return err
		}
		sec, err := secret.NewAPISecret()
		if err != nil {
			return err
		}
		if err := o.Store.CreateClient(cmd.Context(), store.Client{UUID: uuid, Name: name, SecretHash: secret.HashAPISecret(sec)}); err != nil {
			return fmt.Errorf("create client: %w", err)
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), clientJSON{ClientUUID: uuid, Name: name, Secret: sec})
		}
		if asEnv {
			// Both values are URL-safe (a UUID, base64url), so they need no
			// shell quoting.
			fmt.Fprintf(cmd.OutOrStdout(), "CLIENT_UUID=%s\nCLIENT_SECRET=%s\n", uuid, sec)
			return nil
		}
		fmt.Fprintf(cmd.OutOrStdout(), "client_uuid: %s\nsecret:      %s\n", uuid, sec)
		fmt.Fprintln(cmd.ErrOrStderr(), secretWarning)
		return nil
	}
	return cmd
}

func newClientsListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List clients (never their secrets)",
		Args:  cobra.NoArgs,
	}
	sf := addStoreFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		o, err := clientsStore(cmd, sf)
		if err != nil {
			return err
		}
		defer o.Close()
		cs, err := o.Store.ListClients(cmd.Context())
		if err != nil {
			return err
		}
		if asJSON {
			out := make([]clientJSON, 0, len(cs))
			for _, c := range cs {
				out = append(out, clientJSON{ClientUUID: c.UUID, Name: c.Name, CreatedAt: c.CreatedAt.Format(time.RFC3339), UpdatedAt: c.UpdatedAt.Format(time.RFC3339)})
			}
			return printJSON(cmd.OutOrStdout(), out)
		}
		if len(cs) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), "no clients; create one with: wearlink clients create --name NAME")
			return nil
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_UUID\tNAME\tCREATED")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.UUID, c.Name, c.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return cmd
}

func newClientsRotateCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate-secret CLIENT_UUID",
		Short: "Replace a client's secret and print the new one (shown once); the old one stops working",
		Long: `Replaces the client's secret. The old secret stops working at once on
servers that read the store directly, and within a few seconds on running
servers (they keep a client's record briefly).`,
		Args: cobra.ExactArgs(1),
	}
	sf := addStoreFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
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
		sec, err := secret.NewAPISecret()
		if err != nil {
			return err
		}
		c.SecretHash = secret.HashAPISecret(sec)
		if err := o.Store.UpdateClient(cmd.Context(), c); err != nil {
			return fmt.Errorf("rotate secret: %w", err)
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), clientJSON{ClientUUID: c.UUID, Name: c.Name, Secret: sec})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "client_uuid: %s\nsecret:      %s\n", c.UUID, sec)
		fmt.Fprintln(cmd.ErrOrStderr(), secretWarning)
		return nil
	}
	return cmd
}

func newClientsDeleteCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete CLIENT_UUID --yes",
		Short: "Delete a client with its users, connections and documents",
		Args:  cobra.ExactArgs(1),
	}
	sf := addStoreFlags(cmd)
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm: the client's users, connections and documents are deleted too")
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
		if !yes {
			users, err := o.Store.ListUsers(cmd.Context(), c.UUID, 0, 0)
			if err != nil {
				return err
			}
			return fmt.Errorf("deleting client %s (%s) also deletes its %d users with their connections and documents; run again with --yes to confirm",
				c.UUID, c.Name, len(users))
		}
		if err := o.Store.DeleteClient(cmd.Context(), c.UUID); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "deleted client %s (%s)\n", c.UUID, c.Name)
		return nil
	}
	return cmd
}
