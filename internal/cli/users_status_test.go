package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/store"
)

// TestUsersStatus: wearlink users status lists the client's connections
// and explains a paused one in words: what the user has to do.
func TestUsersStatus(t *testing.T) {
	dir := clientsEnv(t)
	ctx := context.Background()
	o := storeWithClient(t, dir, "c1")
	for u, status := range map[string]string{"u1": store.StatusActive, "u2": store.StatusSubscriptionRequired, "u3": store.StatusAppUpdateRequired} {
		c, err := o.Store.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: u, DataSource: "oura",
			Status: store.StatusActive, Tokens: store.Tokens{AccessToken: "a-" + u}})
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Store.SetConnectionStatus(ctx, c.ID, status, ""); err != nil {
			t.Fatal(err)
		}
	}
	o.Close()

	out, _, err := runCLI(t, "users", "status", "--data", dir, "--client-uuid", "c1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"u1       oura         active",
		"subscription_required  -          Oura refuses the user's data, usually because the membership has lapsed; syncing resumes when it is renewed",
		"app_update_required    -          the user must update the Oura app; syncing resumes after the update",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, "users", "status", "--data", dir, "--client-uuid", "c1", "--user-id", "u3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []userConnJSON
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].Status != store.StatusAppUpdateRequired ||
		!strings.Contains(rows[0].Note, "update the Oura app") {
		t.Fatalf("--json for u3: %v %s", err, out)
	}
	if _, _, err := runCLI(t, "users", "status", "--data", dir); err == nil {
		t.Fatal("without --client-uuid: no error")
	}
}

// storeWithClient opens and migrates the store in dir and creates a
// client in it; the caller closes it before running the CLI on dir.
func storeWithClient(t *testing.T, dir, clientUUID string) *app.OpenedStore {
	t.Helper()
	ctx := context.Background()
	o, err := app.OpenStore(ctx, app.StoreConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Migrate(ctx); err != nil {
		o.Close()
		t.Fatal(err)
	}
	if err := o.Store.CreateClient(ctx, store.Client{UUID: clientUUID, Name: "app"}); err != nil {
		o.Close()
		t.Fatal(err)
	}
	return o
}
