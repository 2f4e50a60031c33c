package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/app"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// clientsEnv isolates the store flags from the environment.
func clientsEnv(t *testing.T) string {
	t.Setenv(envData, "")
	t.Setenv(envDatabaseURL, "")
	t.Setenv(secret.EnvKey, "")
	return filepath.Join(t.TempDir(), "data")
}

// storedClient reads a client straight from the store.
func storedClient(t *testing.T, dir, uuid string) (store.Client, error) {
	t.Helper()
	o, err := app.OpenStore(context.Background(), app.StoreConfig{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	return o.Store.GetClient(context.Background(), uuid)
}

func TestClientsLifecycle(t *testing.T) {
	dir := clientsEnv(t)

	out, errOut, err := runCLI(t, "clients", "create", "--name", "Sleep App", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^client_uuid: (\S+)\nsecret: +(\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed:\n%s", out)
	}
	uuid, sec := m[1], m[2]
	if !uuidRE.MatchString(uuid) || !strings.HasPrefix(sec, "wls_") {
		t.Fatalf("client_uuid %q, secret %q", uuid, sec)
	}
	if !strings.Contains(errOut, "not shown again") {
		t.Fatalf("no warning that the secret is shown once; stderr:\n%s", errOut)
	}
	c, err := storedClient(t, dir, uuid)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Sleep App" || !secret.VerifyAPISecret(c.SecretHash, sec) || strings.Contains(string(c.SecretHash), sec) {
		t.Fatalf("stored client %+v does not hold the secret's hash", c)
	}

	// A second client, as JSON.
	out, _, err = runCLI(t, "clients", "create", "--name", "Other", "--json", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	var created clientJSON
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if !uuidRE.MatchString(created.ClientUUID) || created.Name != "Other" || !strings.HasPrefix(created.Secret, "wls_") || created.ClientUUID == uuid {
		t.Fatalf("--json created %+v", created)
	}

	out, _, err = runCLI(t, "clients", "list", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, uuid) || !strings.Contains(out, "Sleep App") || !strings.Contains(out, created.ClientUUID) ||
		strings.Contains(out, sec) || strings.Contains(out, created.Secret) {
		t.Fatalf("list:\n%s", out)
	}
	out, _, err = runCLI(t, "clients", "list", "--json", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	var listed []clientJSON
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	for _, l := range listed {
		if l.Secret != "" {
			t.Fatalf("list shows a secret: %+v", l)
		}
	}

	out, _, err = runCLI(t, "clients", "rotate-secret", uuid, "--json", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	var rotated clientJSON
	if err := json.Unmarshal([]byte(out), &rotated); err != nil || rotated.Secret == "" || rotated.Secret == sec {
		t.Fatalf("rotate-secret: %v\n%s", err, out)
	}
	c, err = storedClient(t, dir, uuid)
	if err != nil {
		t.Fatal(err)
	}
	if secret.VerifyAPISecret(c.SecretHash, sec) || !secret.VerifyAPISecret(c.SecretHash, rotated.Secret) || c.Name != "Sleep App" {
		t.Fatal("after rotate-secret the old secret still works or the new one does not")
	}

	if _, _, err := runCLI(t, "clients", "delete", uuid, "--data", dir); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("delete without --yes: %v", err)
	}
	if _, err := storedClient(t, dir, uuid); err != nil {
		t.Fatalf("delete without --yes deleted the client: %v", err)
	}
	out, _, err = runCLI(t, "clients", "delete", uuid, "--yes", "--data", dir)
	if err != nil || !strings.Contains(out, "deleted client "+uuid) {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, err := storedClient(t, dir, uuid); err == nil {
		t.Fatal("client still there after delete")
	}
}

func TestClientsErrors(t *testing.T) {
	dir := clientsEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"create without name", []string{"clients", "create"}, "--name is required"},
		{"create with a blank name", []string{"clients", "create", "--name", "  "}, "--name is required"},
		{"rotate unknown", []string{"clients", "rotate-secret", "no-such-client"}, "not found"},
		{"delete unknown", []string{"clients", "delete", "no-such-client", "--yes"}, "not found"},
		{"rotate without argument", []string{"clients", "rotate-secret"}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, append(tt.args, "--data", dir)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	out, _, err := runCLI(t, "clients", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "no clients") {
		t.Fatalf("list of none: %v\n%s", err, out)
	}
}
