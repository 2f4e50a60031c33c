package sqlite_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/store/storetest"
)

// newClockedStore is newStore with the store's clock set to now.
func newClockedStore(t *testing.T, now func() time.Time) *sqlite.Store {
	t.Helper()
	src, err := os.Open(templatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.New(t.Context(), sqlite.Options{Path: path, Sealer: newSealer(t), Logger: quiet, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAPIConformance(t *testing.T) {
	storetest.RunAPI(t, func(t *testing.T, now func() time.Time) storetest.APIStore { return newClockedStore(t, now) })
}
