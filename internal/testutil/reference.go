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
	p := filepath.Join(moduleRoot(t), "..", "shared", "reference", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference file %s not present: %v", name, err)
	}
	return p
}
