package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

var _ store.EraseStore = (*Store)(nil)

// eraseSteps are store.EraseSteps in PostgreSQL's words.
var eraseSteps = store.EraseSteps(store.Dialect{JSONInt: func(col, key string) string {
	return "(" + col + "->>'" + key + "')::bigint"
}})

const erasureCols = `id, client_uuid, user_id, user_hash, requested_by, state, step, counts, requested_at, updated_at, completed_at`

func scanErasure(r pgx.Row) (store.Erasure, error) {
	var e store.Erasure
	var counts string
	var done *time.Time
	if err := r.Scan(&e.ID, &e.ClientUUID, &e.UserID, &e.UserHash, &e.RequestedBy, &e.State, &e.Step, &counts, &e.RequestedAt, &e.UpdatedAt, &done); err != nil {
		return e, err
	}
	var err error
	e.Counts, err = store.DecodeCounts([]byte(counts))
	e.RequestedAt, e.UpdatedAt, e.CompletedAt = e.RequestedAt.UTC(), e.UpdatedAt.UTC(), fromTS(done)
	return e, err
}

func erasureErr(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("erasure not found")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// StartErasure implements store.EraseStore. The partial unique index on
// running erasures settles two concurrent starts: the loser reads the
// winner's row.
func (s *Store) StartErasure(ctx context.Context, e store.Erasure) (store.Erasure, error) {
	if err := e.Validate(); err != nil {
		return e, err
	}
	now := common.Now(s.now)
	for {
		out, err := scanErasure(s.pool.QueryRow(ctx, `SELECT `+erasureCols+` FROM user_erasures
			WHERE client_uuid = $1 AND user_hash = $2 AND state = $3`, e.ClientUUID, e.UserHash, store.ErasureRunning))
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			if err != nil {
				return out, erasureErr(err, "start erasure")
			}
			return out, nil
		}
		out, err = scanErasure(s.pool.QueryRow(ctx, `INSERT INTO user_erasures
			(id, client_uuid, user_id, user_hash, requested_by, state, step, counts, requested_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, '{}', $8, $8) ON CONFLICT DO NOTHING RETURNING `+erasureCols,
			e.ID, e.ClientUUID, e.UserID, e.UserHash, e.RequestedBy, store.ErasureRunning, eraseSteps[0].Name, now))
		switch {
		case isForeignKey(err):
			return out, notFound("client %s not found", e.ClientUUID)
		case errors.Is(err, pgx.ErrNoRows):
			continue // another start won: read its row
		case err != nil:
			return out, erasureErr(err, "start erasure")
		}
		return out, nil
	}
}

// GetErasure implements store.EraseStore.
func (s *Store) GetErasure(ctx context.Context, clientUUID, id string) (store.Erasure, error) {
	e, err := scanErasure(s.pool.QueryRow(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE id = $1 AND client_uuid = $2`, id, clientUUID))
	if err != nil {
		return e, erasureErr(err, "get erasure")
	}
	return e, nil
}

// LatestErasure implements store.EraseStore.
func (s *Store) LatestErasure(ctx context.Context, clientUUID string, userHash []byte) (store.Erasure, error) {
	e, err := scanErasure(s.pool.QueryRow(ctx, `SELECT `+erasureCols+` FROM user_erasures
		WHERE client_uuid = $1 AND user_hash = $2 ORDER BY requested_at DESC, id DESC LIMIT 1`, clientUUID, userHash))
	if err != nil {
		return e, erasureErr(err, "latest erasure")
	}
	return e, nil
}

// RunningErasures implements store.EraseStore.
func (s *Store) RunningErasures(ctx context.Context) ([]store.Erasure, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE state = $1 ORDER BY requested_at`, store.ErasureRunning)
	if err != nil {
		return nil, fmt.Errorf("running erasures: %w", err)
	}
	defer rows.Close()
	var out []store.Erasure
	for rows.Next() {
		e, err := scanErasure(rows)
		if err != nil {
			return nil, fmt.Errorf("running erasures: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UserConnectionIDs implements store.EraseStore.
func (s *Store) UserConnectionIDs(ctx context.Context, clientUUID, userID string) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM connections WHERE client_uuid = $1 AND user_id = $2 ORDER BY id`, clientUUID, userID)
	if err != nil {
		return nil, fmt.Errorf("user connections: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("user connections: %w", err)
	}
	return ids, nil
}

// EraseBatch implements store.EraseStore. The erasure's row is locked for
// the batch, so two workers never run the same step at once.
func (s *Store) EraseBatch(ctx context.Context, id string, limit int) (store.Erasure, error) {
	if limit <= 0 {
		limit = 1
	}
	var e store.Erasure
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if e, err = scanErasure(tx.QueryRow(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE id = $1 FOR UPDATE`, id)); err != nil {
			return err
		}
		if e.State != store.ErasureRunning || e.Step == "" {
			return nil
		}
		step, err := store.FindEraseStep(eraseSteps, e.Step)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, common.Rebind(step.SQL()), step.Args(e.ClientUUID, e.UserID, limit)...)
		if err != nil {
			return fmt.Errorf("step %s: %w", step.Name, err)
		}
		n := tag.RowsAffected()
		e.Counts[step.Name] += n
		if n < int64(limit) {
			e.Step = store.NextEraseStep(eraseSteps, e.Step)
		}
		e.UpdatedAt = common.Now(s.now)
		_, err = tx.Exec(ctx, `UPDATE user_erasures SET step = $1, counts = $2, updated_at = $3 WHERE id = $4`,
			e.Step, store.EncodeCounts(e.Counts), e.UpdatedAt, id)
		return err
	})
	if err != nil {
		return e, erasureErr(err, "erase batch")
	}
	return e, nil
}

// CompleteErasure implements store.EraseStore.
func (s *Store) CompleteErasure(ctx context.Context, id string) (store.Erasure, error) {
	now := common.Now(s.now)
	e, err := scanErasure(s.pool.QueryRow(ctx, `UPDATE user_erasures SET state = $1, user_id = '', step = '',
		completed_at = coalesce(completed_at, $2), updated_at = $2 WHERE id = $3 RETURNING `+erasureCols,
		store.ErasureCompleted, now, id))
	if err != nil {
		return e, erasureErr(err, "complete erasure")
	}
	return e, nil
}

// PurgeRetention implements store.EraseStore.
func (s *Store) PurgeRetention(ctx context.Context, step, clientUUID string, before time.Time, limit int) (int, error) {
	st, err := store.FindRetentionStep(step)
	if err != nil {
		return 0, err
	}
	cut := common.Time(before)
	tag, err := s.pool.Exec(ctx, common.Rebind(st.SQL()), clientUUID, cut, clientUUID, cut, max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", step, err)
	}
	return int(tag.RowsAffected()), nil
}
