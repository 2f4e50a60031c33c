package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/wearlink/wearlink/internal/testutil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/secret"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := NewRoot(&out, &errb)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

func TestMigrateSQLite(t *testing.T) {
	t.Setenv(envData, "")
	t.Setenv(envDatabaseURL, "")
	t.Setenv(secret.EnvKey, "")
	dir := filepath.Join(t.TempDir(), "data")
	out, _, err := runCLI(t, "migrate", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	shipped := testutil.MigrationNames(t, filepath.Join("..", "store", "sqlite", "migrations"))
	applied := fmt.Sprintf("wearlink schema: applied %s (now version %d)", strings.Join(shipped, ", "), len(shipped))
	for _, want := range []string{"database: sqlite " + filepath.Join(dir, "wearlink.db"), applied, "River schema: applied 1, "} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, "migrate", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, fmt.Sprintf("wearlink schema: up to date (version %d)", len(shipped))) || !strings.Contains(out, "River schema: up to date (version ") {
		t.Fatalf("second run:\n%s", out)
	}
}

func TestStoreFlagsEnvironment(t *testing.T) {
	envDir := filepath.Join(t.TempDir(), "from-env")
	flagDir := filepath.Join(t.TempDir(), "from-flag")
	t.Setenv(envData, envDir)
	t.Setenv(envDatabaseURL, "")
	t.Setenv(secret.EnvKey, "")
	if _, _, err := runCLI(t, "migrate"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(envDir, "wearlink.db")); err != nil {
		t.Fatalf("%s was not used: %v", envData, err)
	}
	if _, _, err := runCLI(t, "migrate", "--data", flagDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(flagDir, "wearlink.db")); err != nil {
		t.Fatalf("--data did not win over %s: %v", envData, err)
	}

	// A key from the environment is used instead of the key file.
	key, _ := secret.NewKey()
	keyDir := filepath.Join(t.TempDir(), "keyed")
	t.Setenv(secret.EnvKey, secret.EncodeKey(key))
	if _, _, err := runCLI(t, "migrate", "--data", keyDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(keyDir, secret.KeyFileName)); err == nil {
		t.Fatalf("a key file was created although %s was set", secret.EnvKey)
	}
}

func TestStoreFlagsNeverShowSecrets(t *testing.T) {
	key, _ := secret.NewKey()
	enc := secret.EncodeKey(key)
	t.Setenv(secret.EnvKey, enc)
	t.Setenv(envDatabaseURL, "postgres://wearlink:hunter2@127.0.0.1:1/none")
	out, errOut, err := runCLI(t, "migrate", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{enc, "hunter2"} {
		if strings.Contains(out+errOut, s) {
			t.Fatalf("help shows a secret:\n%s", out)
		}
	}
	for _, flag := range []string{"--data", "--database-url", "--secret-key"} {
		if !strings.Contains(out, flag) {
			t.Fatalf("help lacks %s:\n%s", flag, out)
		}
	}
	// A failing connection does not print the password either.
	_, errOut, err = runCLI(t, "migrate", "--data", t.TempDir())
	if err == nil {
		t.Fatal("migrate against a closed port succeeded")
	}
	if strings.Contains(err.Error()+errOut, "hunter2") || strings.Contains(err.Error()+errOut, enc) {
		t.Fatalf("error shows a secret: %v\n%s", err, errOut)
	}
}

func TestMigratePostgres(t *testing.T) {
	base := os.Getenv("WEARLINK_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("WEARLINK_TEST_POSTGRES_URL is not set")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "wearlink_cli_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters to the server
	u.RawQuery = q.Encode()

	key, _ := secret.NewKey()
	t.Setenv(secret.EnvKey, secret.EncodeKey(key))
	t.Setenv(envDatabaseURL, "")
	t.Setenv(envData, "")
	out, _, err := runCLI(t, "migrate", "--database-url", u.String(), "--data", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "database: postgres ") || !strings.Contains(out, "applied 0001_init") {
		t.Fatalf("output:\n%s", out)
	}
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM `+schema+`.river_job`).Scan(&n); err != nil {
		t.Fatalf("River's tables are not in the schema: %v", err)
	}
	out, _, err = runCLI(t, "migrate", "--database-url", u.String(), "--data", t.TempDir())
	if err != nil || !strings.Contains(out, "wearlink schema: up to date") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
}
