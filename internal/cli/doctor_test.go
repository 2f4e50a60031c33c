package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/secret"
)

// TestDoctorCommand: `wearlink doctor` reports a sound database and exits
// 0, and reports a database emptied beside its key file and fails.
func TestDoctorCommand(t *testing.T) {
	t.Setenv(envData, "")
	t.Setenv(envDatabaseURL, "")
	t.Setenv(secret.EnvKey, "")
	dir := filepath.Join(t.TempDir(), "data")
	if _, _, err := runCLI(t, "migrate", "--data", dir); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "doctor", "--data", dir)
	if err != nil || !strings.Contains(out, "integrity_check: ok") {
		t.Fatalf("sound database: %v\n%s", err, out)
	}
	if err := os.Truncate(filepath.Join(dir, "wearlink.db"), 0); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"wearlink.db-wal", "wearlink.db-shm"} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	out, _, err = runCLI(t, "doctor", "--data", dir)
	if err == nil || !strings.Contains(out, "files: LOST") || !strings.Contains(out, "move secret.key") {
		t.Fatalf("emptied database: %v\n%s", err, out)
	}
}
