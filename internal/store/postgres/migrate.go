package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlstore"
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
	inTx := func(ctx context.Context, fn func(sqlstore.Querier) error) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return fn(querier{tx}) })
	}
	if res.Applied, res.Current, err = s.ApplyMigrations(ctx, migrationFS, "migrations", inTx); err != nil {
		return res, fmt.Errorf("postgres: %w", err)
	}

	migrator, err := rivermigrate.New(riverpgxv5.New(s.pool), &rivermigrate.Config{Logger: s.Logger()})
	if err != nil {
		return res, fmt.Errorf("postgres: river migrator: %w", err)
	}
	rr, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return res, fmt.Errorf("postgres: river migrations: %w", err)
	}
	sqlstore.RiverResult(&res, rr, migrator.AllVersions())
	return res, nil
}
