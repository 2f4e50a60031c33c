package sqlite

import (
	"context"
	"embed"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrate brings wearlink's and River's schemas up to date.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.RunMigrations(ctx)
	return err
}

// RunMigrations is Migrate reporting what it applied. Each migration runs
// in its own BEGIN IMMEDIATE transaction, so two processes migrating at
// once apply it once.
func (s *Store) RunMigrations(ctx context.Context) (store.MigrationResult, error) {
	var res store.MigrationResult
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return res, fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	var err error
	if res.Applied, res.Current, err = s.ApplyMigrations(ctx, migrationFS, "migrations", s.drv.WriteTx); err != nil {
		return res, fmt.Errorf("sqlite: %w", err)
	}

	migrator, err := rivermigrate.New(riversqlite.New(s.w), &rivermigrate.Config{Logger: s.Logger()})
	if err != nil {
		return res, fmt.Errorf("sqlite: river migrator: %w", err)
	}
	// In one BEGIN IMMEDIATE transaction: two processes migrating at once
	// (serve and a CLI command on the same file) would otherwise both see
	// River's tables missing and the second would fail creating them.
	var rr *rivermigrate.MigrateResult
	tx, err := s.w.BeginTx(ctx, nil)
	if err == nil {
		if rr, err = migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
			_ = tx.Rollback()
		} else {
			err = tx.Commit()
		}
	}
	if err != nil {
		return res, fmt.Errorf("sqlite: river migrations: %w", err)
	}
	sqlstore.RiverResult(&res, rr, migrator.AllVersions())
	return res, nil
}
