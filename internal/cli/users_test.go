package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// TestUsersDelete: wearlink users delete asks for --yes, erases the user
// and nobody else, says what it deleted and which tokens it could not
// revoke.
func TestUsersDelete(t *testing.T) {
	dir := clientsEnv(t)
	t.Setenv("WEARLINK_OURA_CLIENT_ID", "")
	// Were credentials set after all, the revocation would go to a closed
	// loopback port, never to Oura's host.
	t.Setenv("WEARLINK_OURA_REVOKE_URL", "http://127.0.0.1:1/oauth/revoke")
	ctx := context.Background()
	o := storeWithClient(t, dir, "c1")
	for _, u := range []string{"u1", "u2"} {
		if _, err := o.Store.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: u, DataSource: "oura",
			Status: store.StatusActive, Tokens: store.Tokens{AccessToken: "a-" + u}}); err != nil {
			t.Fatal(err)
		}
	}
	o.Close()

	if _, _, err := runCLI(t, "users", "delete", "--data", dir, "--client-uuid", "c1", "--user-id", "u1"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("without --yes: %v", err)
	}
	out, stderr, err := runCLI(t, "users", "delete", "--data", dir, "--client-uuid", "c1", "--user-id", "u1", "--yes")
	if err != nil {
		t.Fatal(err)
	}
	// No Oura application here: the person erasing is told which grant
	// stays open.
	if !strings.Contains(stderr, "not revoked at the data source") || !strings.Contains(stderr, "data_source=oura") {
		t.Fatalf("stderr %q does not say the Oura token was not revoked", stderr)
	}
	if !strings.Contains(out, "completed") || !strings.Contains(out, "connections=1") || !strings.Contains(out, "users=1") {
		t.Fatalf("output %q", out)
	}
	if _, _, err := runCLI(t, "users", "delete", "--data", dir, "--client-uuid", "c1", "--user-id", "nobody", "--yes"); err == nil {
		t.Fatal("erasing an unknown user succeeded")
	}
	o, err = app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := o.Store.GetUser(ctx, "c1", "u1"); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("u1: %v", err)
	}
	if _, err := o.Store.GetUser(ctx, "c1", "u2"); err != nil {
		t.Fatalf("u2: %v", err)
	}
}

// TestClientsRetention: the retention settings are set, shown and kept
// beside the client's other settings.
func TestClientsRetention(t *testing.T) {
	dir := clientsEnv(t)
	ctx := context.Background()
	o, err := app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := o.Store.CreateClient(ctx, store.Client{UUID: "c1", Name: "app", Settings: []byte(`{"other":true}`)}); err != nil {
		t.Fatal(err)
	}
	o.Close()
	out, _, err := runCLI(t, "clients", "retention", "c1", "--data", dir, "--raw-retention-days", "30")
	if err != nil || !strings.Contains(out, "raw_retention_days: 30") || !strings.Contains(out, "delivery_body_retention_days: 0") {
		t.Fatalf("%v %q", err, out)
	}
	out, _, err = runCLI(t, "clients", "retention", "c1", "--data", dir, "--delivery-body-retention-days", "7")
	if err != nil || !strings.Contains(out, "raw_retention_days: 30") || !strings.Contains(out, "delivery_body_retention_days: 7") {
		t.Fatalf("%v %q", err, out)
	}
	if _, _, err := runCLI(t, "clients", "retention", "c1", "--data", dir, "--raw-retention-days", "-1"); err == nil {
		t.Fatal("negative days accepted")
	}
	o, err = app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	c, _ := o.Store.GetClient(ctx, "c1")
	if !strings.Contains(string(c.Settings), `"other":true`) {
		t.Fatalf("settings %s", c.Settings)
	}
}
