package testutil

import (
	"os"
	"strings"
	"testing"
)

// MigrationNames lists the migrations shipped in dir (file names without
// ".sql"), in order. Tests compare against what ships rather than a number
// that every new migration would have to update.
func MigrationNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".sql"); ok {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no migrations in %s", dir)
	}
	return names
}
