package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLock is the advisory lock key that serializes Migrate across
// processes starting at once (River's migrator does not lock).
const migrateLock = 0x7765_6172_6c69_6e6b // "wearlink"

// Migrate brings wearlink's and River's schemas up to date.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.RunMigrations(ctx)
	return err
}

// RunMigrations is Migrate reporting what it applied. Each migration runs
// in one transaction with its schema_migrations row; a session advisory
// lock held for the whole run makes concurrent runs wait for each other.
// Tables are created in the first schema of search_path.
func (s *Store) RunMigrations(ctx context.Context) (store.MigrationResult, error) {
	var res store.MigrationResult
	migs, err := common.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return res, fmt.Errorf("postgres: load migrations: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return res, fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx is done.
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrateLock)); err != nil {
			conn.Conn().Close(context.Background()) // closing the session releases it
		}
	}()

	if s.schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return res, fmt.Errorf("postgres: create schema %s: %w", s.schema, err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return res, fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	for _, m := range migs {
		applied := false
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// No arguments: the simple protocol runs a file of statements.
			if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, common.Now(s.now)); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
		if applied {
			res.Applied = append(res.Applied, m.Name)
			s.log.Info("applied migration", "migration", m.Name)
		}
		res.Current = m.Version
	}

	migrator, err := rivermigrate.New(riverpgxv5.New(s.pool), &rivermigrate.Config{Logger: s.log})
	if err != nil {
		return res, fmt.Errorf("postgres: river migrator: %w", err)
	}
	rr, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return res, fmt.Errorf("postgres: river migrations: %w", err)
	}
	for _, v := range rr.Versions {
		res.RiverApplied = append(res.RiverApplied, v.Version)
	}
	if all := migrator.AllVersions(); len(all) > 0 {
		res.RiverCurrent = all[len(all)-1].Version
	}
	return res, nil
}
