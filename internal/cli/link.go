package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

const linkLong = `Link a user's account at a provider (--data-source, default oura; whoop and
withings too)
with an access token obtained elsewhere (another OAuth client's, or one a
simulator prints), without the OAuth flow. Oura issues no personal access
tokens any more: users normally link through the authorizer URL.

The client must exist (wearlink clients create) unless --create-client is
given. The command stores the connection with its tokens sealed, reads the
account's identity (its id is how the provider's notifications name the
user) and the collections read whole (Oura's personal_info and
ring_configuration, WHOOP's profile and body measurement), and enqueues the
backfill; the server working this database's jobs (wearlink serve, running
or started later) does the rest. Linking the same user again stores the
new tokens and resumes an unfinished backfill.

The provider's API URL is the one configured (--oura-api-url,
--whoop-api-url, --withings-api-url, or their environment variables). With
--refresh-token and the provider's client id and secret, expired access
tokens are refreshed (and the rotated refresh token stored). Withings has no
call that says whose a token is, only its token answers do: link a Withings
account with --refresh-token and the application's client id and secret,
and the command refreshes once to learn the user.`

type linkOptions struct {
	clientUUID   string
	userID       string
	token        string
	refreshToken string
	expiresIn    time.Duration
	timeZone     string
	createClient bool
	dataSource   string
}

func newLinkCmd() *cobra.Command {
	cfg, envErr := loadConfig()
	var o linkOptions
	cmd := &cobra.Command{
		Use:   "link --client-uuid C --user-id U --token T [--data-source oura]",
		Short: "Link a user's provider account with an access token and start its backfill",
		Long:  linkLong,
		Args:  cobra.NoArgs,
	}
	sf := addStoreFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.clientUUID, "client-uuid", "", "client the user belongs to (required)")
	f.StringVar(&o.userID, "user-id", "", "the client's id of the user, 1 to 50 letters, digits or hyphens (required)")
	f.StringVar(&o.dataSource, "data-source", oura.DataSource, "provider the token is for")
	f.StringVar(&o.token, "token", "", "the provider's access token, obtained elsewhere (required)")
	f.StringVar(&o.refreshToken, "refresh-token", "", "the provider's refresh token")
	f.DurationVar(&o.expiresIn, "expires-in", 0, "lifetime left of the access token (default: unknown, refreshed when the provider rejects it)")
	f.StringVar(&o.timeZone, "time-zone", "", "the user's IANA time zone (default: the offsets in the user's data)")
	f.BoolVar(&o.createClient, "create-client", false, "create the client when it does not exist")
	cfg.RegisterFlagsFor(f, "oura-api-url", "oura-client-id", "oura-client-secret", "oura-token-url",
		"whoop-api-url", "whoop-oauth-url", "whoop-client-id", "whoop-client-secret",
		"withings-api-url", "withings-auth-url", "withings-client-id", "withings-client-secret", "backfill-days", "log-level")
	for _, name := range []string{"client-uuid", "user-id", "token"} {
		_ = cmd.MarkFlagRequired(name)
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if envErr != nil {
			return envErr
		}
		if o.token == "" {
			return errors.New("--token must not be empty")
		}
		logger, err := app.NewLogger(*cfg, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		// Before the store is opened: a data source no provider serves is
		// answered with those there are, and nothing is written.
		built, err := app.BuildProviders(*cfg, app.EngineOptions{Logger: logger})
		if err != nil {
			return err
		}
		if _, ok := built.Registry.Lookup(o.dataSource); !ok {
			return fmt.Errorf("--data-source %q: no such provider; wearlink serves %s", o.dataSource, strings.Join(built.Registry.DataSources(), ", "))
		}
		name := built.Registry.Name(o.dataSource)
		ctx := cmd.Context()
		st, err := sf.open(ctx, logger)
		if err != nil {
			return err
		}
		defer st.Close()
		// A server on the same database may be migrating too; both may.
		if _, err := st.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		res, err := runLink(ctx, cfg, st, logger, built, o)
		if err != nil {
			return err
		}
		c := res.Connection
		fmt.Fprintf(cmd.OutOrStdout(), "linked %s/%s: connection %d, %s user %s, status %s\n", c.ClientUUID, c.UserID, c.ID, name, c.ExternalUserID, c.Status)
		if res.Windows > 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "backfill %s..%s enqueued: %d jobs\n", res.From, res.To, res.Windows)
		} else {
			fmt.Fprintln(cmd.OutOrStdout(), "backfill already done: a catch-up read is enqueued")
		}
		return nil
	}
	return cmd
}

// runLink builds an engine with an insert-only River client on the
// store's database and links. The engine uses the providers the command
// built to check --data-source, not a second set.
func runLink(ctx context.Context, cfg *config.Config, st *app.OpenedStore, logger *slog.Logger, built all.Built, o linkOptions) (ingest.LinkResult, error) {
	eng, err := app.NewEngineOn(*cfg, app.EngineOptions{Store: st.Store, Logger: logger, URLTokens: st.Sealer.Tokens}, built)
	if err != nil {
		return ingest.LinkResult{}, err
	}
	if err := app.AttachInsertOnly(st, eng); err != nil {
		return ingest.LinkResult{}, err
	}
	tok := store.Tokens{AccessToken: o.token, RefreshToken: o.refreshToken}
	if o.expiresIn != 0 {
		tok.Expiry = time.Now().Add(o.expiresIn)
	}
	return eng.Link(ctx, ingest.LinkParams{ClientUUID: o.clientUUID, UserID: o.userID, DataSource: o.dataSource, Tokens: tok, TimeZone: o.timeZone, CreateClient: o.createClient})
}
