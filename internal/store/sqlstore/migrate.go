package sqlstore

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/riverqueue/river/rivermigrate"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// ApplyMigrations applies dir's NNNN_name.sql files not yet recorded in
// schema_migrations (which the driver created), each in its own
// transaction from inTx together with its schema_migrations row, so a
// crash leaves it applied or not. It returns the names applied and the
// schema version after the run.
func (s *Store) ApplyMigrations(ctx context.Context, fsys fs.FS, dir string, inTx func(context.Context, func(Querier) error) error) ([]string, int, error) {
	migs, err := common.LoadMigrations(fsys, dir)
	if err != nil {
		return nil, 0, err
	}
	var applied []string
	current := 0
	for _, m := range migs {
		done := false
		err := inTx(ctx, func(q Querier) error {
			tx := db{s.drv, q}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// No arguments: a driver runs it as a script of statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, s.Now()); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			return applied, current, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if done {
			applied = append(applied, m.Name)
			s.log.Info("applied migration", "migration", m.Name)
		}
		current = m.Version
	}
	return applied, current, nil
}

// RiverResult records in res what River's migrator applied and its
// newest version.
func RiverResult(res *store.MigrationResult, rr *rivermigrate.MigrateResult, all []rivermigrate.Migration) {
	for _, v := range rr.Versions {
		res.RiverApplied = append(res.RiverApplied, v.Version)
	}
	if len(all) > 0 {
		res.RiverCurrent = all[len(all)-1].Version
	}
}
