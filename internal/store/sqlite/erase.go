package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

var _ store.EraseStore = (*Store)(nil)

// eraseSteps are store.EraseSteps in SQLite's words (River keeps a job's
// args as JSONB).
var eraseSteps = store.EraseSteps(store.Dialect{JSONInt: func(col, key string) string {
	return "json_extract(" + col + ", '$." + key + "')"
}})

const erasureCols = `id, client_uuid, user_id, user_hash, requested_by, state, step, counts, requested_at, updated_at, completed_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanErasure(r rowScanner) (store.Erasure, error) {
	var e store.Erasure
	var counts []byte
	var req, upd int64
	var done sql.NullInt64
	if err := r.Scan(&e.ID, &e.ClientUUID, &e.UserID, &e.UserHash, &e.RequestedBy, &e.State, &e.Step, &counts, &req, &upd, &done); err != nil {
		return e, err
	}
	var err error
	e.Counts, err = store.DecodeCounts(counts)
	e.RequestedAt, e.UpdatedAt, e.CompletedAt = time.UnixMicro(req).UTC(), time.UnixMicro(upd).UTC(), fromMicros(done)
	return e, err
}

func erasureErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("erasure not found")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// StartErasure implements store.EraseStore.
func (s *Store) StartErasure(ctx context.Context, e store.Erasure) (store.Erasure, error) {
	if err := e.Validate(); err != nil {
		return e, err
	}
	now := common.Now(s.now)
	var out store.Erasure
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanErasure(tx.QueryRowContext(ctx, `SELECT `+erasureCols+` FROM user_erasures
			WHERE client_uuid = ? AND user_hash = ? AND state = ?`, e.ClientUUID, e.UserHash, store.ErasureRunning))
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		out, err = scanErasure(tx.QueryRowContext(ctx, `INSERT INTO user_erasures
			(id, client_uuid, user_id, user_hash, requested_by, state, step, counts, requested_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?) RETURNING `+erasureCols,
			e.ID, e.ClientUUID, e.UserID, e.UserHash, e.RequestedBy, store.ErasureRunning, eraseSteps[0].Name, now.UnixMicro(), now.UnixMicro()))
		if isForeignKey(err) {
			return notFound("client %s not found", e.ClientUUID)
		}
		return err
	})
	if err != nil {
		return out, erasureErr(err, "start erasure")
	}
	return out, nil
}

// GetErasure implements store.EraseStore.
func (s *Store) GetErasure(ctx context.Context, clientUUID, id string) (store.Erasure, error) {
	e, err := scanErasure(s.r.QueryRowContext(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE id = ? AND client_uuid = ?`, id, clientUUID))
	if err != nil {
		return e, erasureErr(err, "get erasure")
	}
	return e, nil
}

// LatestErasure implements store.EraseStore.
func (s *Store) LatestErasure(ctx context.Context, clientUUID string, userHash []byte) (store.Erasure, error) {
	e, err := scanErasure(s.r.QueryRowContext(ctx, `SELECT `+erasureCols+` FROM user_erasures
		WHERE client_uuid = ? AND user_hash = ? ORDER BY requested_at DESC, id DESC LIMIT 1`, clientUUID, userHash))
	if err != nil {
		return e, erasureErr(err, "latest erasure")
	}
	return e, nil
}

// RunningErasures implements store.EraseStore.
func (s *Store) RunningErasures(ctx context.Context) ([]store.Erasure, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE state = ? ORDER BY requested_at`, store.ErasureRunning)
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
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM connections WHERE client_uuid = ? AND user_id = ? ORDER BY id`, clientUUID, userID)
	if err != nil {
		return nil, fmt.Errorf("user connections: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// EraseBatch implements store.EraseStore.
func (s *Store) EraseBatch(ctx context.Context, id string, limit int) (store.Erasure, error) {
	if limit <= 0 {
		limit = 1
	}
	var e store.Erasure
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if e, err = scanErasure(tx.QueryRowContext(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE id = ?`, id)); err != nil {
			return err
		}
		if e.State != store.ErasureRunning || e.Step == "" {
			return nil
		}
		step, err := store.FindEraseStep(eraseSteps, e.Step)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, step.SQL(), step.Args(e.ClientUUID, e.UserID, limit)...)
		if err != nil {
			return fmt.Errorf("step %s: %w", step.Name, err)
		}
		n, _ := res.RowsAffected()
		e.Counts[step.Name] += n
		if n < int64(limit) {
			e.Step = store.NextEraseStep(eraseSteps, e.Step)
		}
		e.UpdatedAt = common.Now(s.now)
		_, err = tx.ExecContext(ctx, `UPDATE user_erasures SET step = ?, counts = ?, updated_at = ? WHERE id = ?`,
			e.Step, store.EncodeCounts(e.Counts), e.UpdatedAt.UnixMicro(), id)
		return err
	})
	if err != nil {
		return e, erasureErr(err, "erase batch")
	}
	return e, nil
}

// CompleteErasure implements store.EraseStore.
func (s *Store) CompleteErasure(ctx context.Context, id string) (store.Erasure, error) {
	now := common.Now(s.now).UnixMicro()
	e, err := scanErasure(s.w.QueryRowContext(ctx, `UPDATE user_erasures SET state = ?, user_id = '', step = '',
		completed_at = coalesce(completed_at, ?), updated_at = ? WHERE id = ? RETURNING `+erasureCols,
		store.ErasureCompleted, now, now, id))
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
	cut := common.Time(before).UnixMicro()
	res, err := s.w.ExecContext(ctx, st.SQL(), clientUUID, cut, clientUUID, cut, max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", step, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
