// Package harness builds what tests across packages share: a migrated
// store, the River client on it, and the simulators. It sits apart from
// testutil because the store's own tests use testutil and this package
// imports the store.
package harness

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// StoreOptions change SQLite's defaults.
type StoreOptions struct {
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the store's clock (default time.Now).
	Now func() time.Time
}

// template is one migrated database per test process, kept in memory and
// written out for each test: migrating takes longer than writing a file.
var template struct {
	once sync.Once
	db   []byte
	key  []byte
	err  error
}

func makeTemplate() ([]byte, []byte, error) {
	dir, err := os.MkdirTemp("", "wearlink-template-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	key, err := secret.NewKey()
	if err != nil {
		return nil, nil, err
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, sqlite.FileName)
	s, err := sqlite.New(context.Background(), sqlite.Options{Path: path, Sealer: sealer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	err = s.Migrate(context.Background())
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}
	db, err := os.ReadFile(path)
	return db, key, err
}

// SQLite returns a migrated SQLite store of its own in the test's
// temporary directory, closed at cleanup.
func SQLite(t testing.TB, o StoreOptions) *sqlite.Store {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	template.once.Do(func() { template.db, template.key, template.err = makeTemplate() })
	if template.err != nil {
		t.Fatal(template.err)
	}
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	if err := os.WriteFile(path, template.db, 0o600); err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.NewSealer(template.key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.New(context.Background(), sqlite.Options{Path: path, Sealer: sealer, Logger: o.Logger, Now: o.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Jobs builds the River client on st with cfg (TestOnly set), hands it to
// each of attach (the services enqueue with it: attached after the start,
// a service races the first periodic jobs) and, when cfg.Work, starts it;
// it is stopped at cleanup, before the store closes.
func Jobs(t testing.TB, st *sqlite.Store, cfg jobs.Config, attach ...func(*river.Client[*sql.Tx])) *river.Client[*sql.Tx] {
	t.Helper()
	cfg.TestOnly = true
	c, err := jobs.NewClient(riversqlite.New(st.Writer()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attach {
		a(c)
	}
	if cfg.Work {
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	return c
}
