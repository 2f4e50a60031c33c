package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/store/storetest"
)

// TestOpenOldRelease: the database the release at e011a99 wrote (made by
// internal/store/testdata/make-e011a99.sh) opens with this code with every
// row intact, and reads whole.
func TestOpenOldRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, sealer := storetest.OldReleaseFile(t, "testdata/e011a99/wearlink.db.gz")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	before := rowCounts(t, path)
	s, err := sqlite.New(t.Context(), sqlite.Options{Path: path, Sealer: sealer, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckOldRelease(t, s, before)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	after := rowCounts(t, path)
	storetest.CheckOldReleaseRows(t, before, after)
}

func rowCounts(t *testing.T, path string) map[string]int {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]int{}
	for _, tab := range storetest.OldReleaseTables {
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+tab).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tab] = n
	}
	return out
}
