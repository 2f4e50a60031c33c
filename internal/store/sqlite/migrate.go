package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrate brings wearlink's and River's schemas up to date.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.RunMigrations(ctx)
	return err
}

// RunMigrations is Migrate reporting what it applied. Each migration runs
// in its own BEGIN IMMEDIATE transaction together with its
// schema_migrations row, so a crash leaves it applied or not, and two
// processes migrating at once apply it once.
func (s *Store) RunMigrations(ctx context.Context) (store.MigrationResult, error) {
	var res store.MigrationResult
	migs, err := common.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return res, fmt.Errorf("sqlite: load migrations: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return res, fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	for _, m := range migs {
		applied := false
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, common.Now(s.now).UnixMicro()); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if applied {
			res.Applied = append(res.Applied, m.Name)
			s.log.Info("applied migration", "migration", m.Name)
		}
		res.Current = m.Version
	}

	migrator, err := rivermigrate.New(riversqlite.New(s.w), &rivermigrate.Config{Logger: s.log})
	if err != nil {
		return res, fmt.Errorf("sqlite: river migrator: %w", err)
	}
	// In one BEGIN IMMEDIATE transaction: two processes migrating at once
	// (serve and a CLI command on the same file) would otherwise both see
	// River's tables missing and the second would fail creating them.
	var rr *rivermigrate.MigrateResult
	err = s.inTx(ctx, func(tx *sql.Tx) (err error) {
		rr, err = migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("sqlite: river migrations: %w", err)
	}
	for _, v := range rr.Versions {
		res.RiverApplied = append(res.RiverApplied, v.Version)
	}
	all := migrator.AllVersions()
	if len(all) > 0 {
		res.RiverCurrent = all[len(all)-1].Version
	}
	return res, nil
}
