package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/secret"
)

// TestRowsListEmptyJSON: with nothing to list, list --json prints [] for
// either kind (scripts read it), never null.
func TestRowsListEmptyJSON(t *testing.T) {
	e := newWebhooksEnv(t)
	if out := e.run(t, "webhooks", "list", "--json"); out != "[]\n" {
		t.Fatalf("webhooks list --json printed %q", out)
	}
	if out := e.run(t, "destinations", "list", "--json"); out != "[]\n" {
		t.Fatalf("destinations list --json printed %q", out)
	}
}

// TestRowsMistakesBeforeTheStore: a mistake in a command's own flags is
// reported without opening (and so creating and migrating) the store.
func TestRowsMistakesBeforeTheStore(t *testing.T) {
	t.Setenv(envData, "")
	t.Setenv(envDatabaseURL, "")
	t.Setenv(secret.EnvKey, "")
	t.Setenv(delivery.EnvAllowPrivate, "")
	dir := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"webhooks", "add", "--url", "https://app.example/hook"}, "--client-uuid and --url are required"},
		{[]string{"destinations", "add", "--kind", "s3"}, "--client-uuid, --kind and --settings are required"},
		{[]string{"destinations", "add", "--client-uuid", "c", "--kind", "s3", "--settings", "{nope"}, "not JSON"},
		{[]string{"destinations", "update", "ds_abc"}, "nothing to change"},
	} {
		_, _, err := runCLI(t, append(tc.args, "--data", dir)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%v opened the store: %v", tc.args, err)
		}
	}
}
