// Package testutil holds helpers shared by tests.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// ReferenceFile returns the path of a file in shared/reference, which sits
// beside the repository checkout. The test is skipped when it is absent, so
// the module's tests still run on their own.
func ReferenceFile(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "reference", name)
			if _, err := os.Stat(p); err != nil {
				t.Skipf("reference file %s not present: %v", name, err)
			}
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("module root not found from the working directory")
		}
		dir = parent
	}
}
