package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil"
)

func TestMigrateFreshAndAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", sqlite.FileName)
	s, err := sqlite.New(t.Context(), sqlite.Options{Path: path, Sealer: newSealer(t), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.RunMigrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	shipped := testutil.MigrationNames(t, "migrations")
	if !slices.Equal(res.Applied, shipped) || res.Current != len(shipped) || len(res.RiverApplied) == 0 || res.RiverCurrent != res.RiverApplied[len(res.RiverApplied)-1] {
		t.Fatalf("first run = %+v", res)
	}
	res, err = s.RunMigrations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 || len(res.RiverApplied) != 0 || res.Current != len(shipped) || res.RiverCurrent == 0 {
		t.Fatalf("second run = %+v", res)
	}
	var n int
	if err := s.Reader().QueryRowContext(t.Context(), `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatalf("River's tables are missing: %v", err)
	}
	var mode string
	if err := s.Writer().QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	var fk int
	if err := s.Reader().QueryRowContext(t.Context(), `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v", fk, err)
	}
	if got := s.Writer().Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("writer MaxOpenConnections = %d, want 1", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("database file mode %v is readable by others", fi.Mode().Perm())
	}
}

// TestMigrateConcurrent: processes that open one fresh file at once (serve
// and a CLI command) each migrate it; all succeed and River's migrations
// are applied once.
func TestMigrateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	const n = 4
	stores := make([]*sqlite.Store, n)
	for i := range stores {
		s, err := sqlite.New(t.Context(), sqlite.Options{Path: path, Sealer: newSealer(t), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	results := make([]store.MigrationResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { results[i], errs[i] = s.RunMigrations(t.Context()) })
	}
	wg.Wait()
	seen := map[int]int{}
	for i := range stores {
		if errs[i] != nil {
			t.Fatalf("store %d: %v", i, errs[i])
		}
		for _, v := range results[i].RiverApplied {
			seen[v]++
		}
	}
	if len(seen) == 0 || len(seen) != results[0].RiverCurrent {
		t.Fatalf("River versions applied %v, current %d", seen, results[0].RiverCurrent)
	}
	for v, k := range seen {
		if k != 1 {
			t.Errorf("River version %d applied %d times", v, k)
		}
	}
}

func TestReaderIsReadOnly(t *testing.T) {
	s := newStore(t)
	if _, err := s.Reader().ExecContext(t.Context(), `INSERT INTO clients (uuid, name, created_at, updated_at) VALUES ('x', '', 0, 0)`); err == nil {
		t.Fatal("the reader pool wrote")
	}
}

func TestTokensNeedTheKey(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.CreateClient(ctx, store.Client{UUID: "c1"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: "u1", DataSource: "oura", Tokens: store.Tokens{AccessToken: "secret-access"}})
	if err != nil {
		t.Fatal(err)
	}
	path := s.Path()
	// The same file opened with another key cannot read the tokens.
	other, err := sqlite.New(ctx, sqlite.Options{Path: path, Sealer: newSealer(t), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.GetConnection(ctx, c.ID); err == nil {
		t.Fatal("a store with another key opened the tokens")
	}
	// A sealed token moved to another row does not open there either.
	d, err := s.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: "u2", DataSource: "oura", Tokens: store.Tokens{AccessToken: "other"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer().ExecContext(ctx, `UPDATE connections SET access_token = (SELECT access_token FROM connections WHERE id = ?) WHERE id = ?`, c.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetConnection(ctx, d.ID); err == nil {
		t.Fatal("a token copied from another row opened")
	}
}
