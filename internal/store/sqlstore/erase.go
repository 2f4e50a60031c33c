package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

var _ store.EraseStore = (*Store)(nil)

// eraseStep deletes, in batches, one table's rows of the user being
// erased; the step is named by its table (Erasure.Step, the keys of
// Erasure.Counts). Where's placeholders take the client_uuid and user_id,
// in that order, as many times as it has pairs of them.
type eraseStep struct {
	Table string
	// Key is the column the batch is chosen by (unique in the table).
	Key   string
	Where string
}

// keptMessage keeps the user.deleted notification when an erasure runs
// again after a crash that followed the notification.
const keptMessage = `NOT (kind = 'lifecycle' AND event_type = '` + store.EventUserDeleted + `')`

// eraseSteps lists, in order, what erasing a user deletes. Every table of
// the schema was looked at:
//   - river_job: the jobs naming one of the user's connections (sync jobs
//     carry connection_id), except running ones, which end on their own
//     once the connection is gone;
//   - link_states: the user's pending authorizations;
//   - outbox, health_documents: the normalized documents;
//   - raw_documents: what the provider sent;
//   - connections (tokens, cursors, provider user id), then users (time
//     zone, user information): once these are gone nothing new can be
//     written for the user (foreign keys), so the webhook messages deleted
//     last cannot come back;
//   - webhook_attempts, webhook_deliveries, webhook_messages: delivery
//     bodies and their history, lifecycle notifications included, except
//     the user.deleted notice itself.
//
// clients, webhook_endpoints, server_keys, dashboard_sessions and
// schema_migrations hold nothing of a user.
func eraseSteps(d Dialect) []eraseStep {
	conns := `(SELECT id FROM connections WHERE client_uuid = ? AND user_id = ?)`
	msgs := `(SELECT id FROM webhook_messages WHERE client_uuid = ? AND user_id = ? AND ` + keptMessage + `)`
	return []eraseStep{
		{"river_job", "id", `state <> 'running' AND ` + d.JSONInt("args", "connection_id") + ` IN ` + conns},
		{"link_states", "id", `client_uuid = ? AND user_id = ?`},
		{"outbox", "id", `health_document_id IN (SELECT id FROM health_documents WHERE client_uuid = ? AND user_id = ?)`},
		{"health_documents", "id", `client_uuid = ? AND user_id = ?`},
		{"raw_documents", "id", `connection_id IN ` + conns},
		{"connections", "id", `client_uuid = ? AND user_id = ?`},
		{"users", "user_id", `client_uuid = ? AND user_id = ?`},
		{"webhook_attempts", "id", `delivery_id IN (SELECT id FROM webhook_deliveries WHERE message_id IN ` + msgs + `)`},
		{"webhook_deliveries", "id", `message_id IN ` + msgs},
		{"webhook_messages", "id", `client_uuid = ? AND user_id = ? AND ` + keptMessage},
	}
}

// sql is the step's batch statement: Where twice (the outer copy keeps a
// Key shared by several clients' rows, such as users.user_id, to this
// user's) and the limit last.
func (s eraseStep) sql() string {
	return `DELETE FROM ` + s.Table + ` WHERE ` + s.Where + ` AND ` + s.Key + ` IN (SELECT ` + s.Key + ` FROM ` + s.Table +
		` WHERE ` + s.Where + ` LIMIT ?)`
}

// args are the statement's arguments.
func (s eraseStep) args(clientUUID, userID string, limit int) []any {
	n := strings.Count(s.Where, "?") / 2
	var args []any
	for range 2 {
		for range n {
			args = append(args, clientUUID, userID)
		}
	}
	return append(args, limit)
}

// findEraseStep returns the step called name and the name of the one
// after it ("" after the last).
func (s *Store) findEraseStep(name string) (step eraseStep, next string, err error) {
	for i, st := range s.erase {
		if st.Table == name {
			if i+1 < len(s.erase) {
				next = s.erase[i+1].Table
			}
			return st, next, nil
		}
	}
	return eraseStep{}, "", fmt.Errorf("no erase step %q", name)
}

// retentionStep deletes a client's rows older than a cutoff. Where's
// placeholders take the client_uuid, then the cutoff.
type retentionStep struct {
	Table string
	Where string
}

// retentionSteps are the purges a client's retention settings ask for, by
// name: raw documents not updated since the cutoff, and webhook messages
// (the bodies delivered, with their deliveries and attempts, by cascade)
// created before it and no longer pending.
var retentionSteps = map[string]retentionStep{
	store.RetainRaw: {"raw_documents", `connection_id IN (SELECT id FROM connections WHERE client_uuid = ?) AND updated_at < ?`},
	store.RetainDeliveryBodies: {"webhook_messages", `client_uuid = ? AND created_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d ` +
		`WHERE d.message_id = webhook_messages.id AND d.status = 'pending')`},
}

// sql is the purge's batch statement (client, cutoff, client, cutoff,
// limit).
func (s retentionStep) sql() string {
	return `DELETE FROM ` + s.Table + ` WHERE ` + s.Where + ` AND id IN (SELECT id FROM ` + s.Table + ` WHERE ` + s.Where + ` LIMIT ?)`
}

const erasureCols = `id, client_uuid, user_id, user_hash, requested_by, state, step, counts, requested_at, updated_at, completed_at`

func scanErasure(r Row) (store.Erasure, error) {
	var e store.Erasure
	var counts string
	if err := r.Scan(&e.ID, &e.ClientUUID, &e.UserID, &e.UserHash, &e.RequestedBy, &e.State, &e.Step, &counts,
		&e.RequestedAt, &e.UpdatedAt, &e.CompletedAt); err != nil {
		return e, err
	}
	e.Counts = map[string]int64{}
	if err := json.Unmarshal([]byte(counts), &e.Counts); err != nil {
		return e, fmt.Errorf("erasure counts: %w", err)
	}
	return e, nil
}

func encodeCounts(m map[string]int64) string {
	if m == nil {
		m = map[string]int64{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func erasureErr(err error, what string) error {
	if noRows(err) {
		return notFound("erasure not found")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// StartErasure implements store.EraseStore. The partial unique index on
// running erasures settles two concurrent starts: the loser inserts
// nothing and reads the winner's row.
func (s *Store) StartErasure(ctx context.Context, e store.Erasure) (store.Erasure, error) {
	if err := e.Validate(); err != nil {
		return e, err
	}
	for {
		out, err := scanErasure(s.r.QueryRow(ctx, `SELECT `+erasureCols+` FROM user_erasures
			WHERE client_uuid = ? AND user_hash = ? AND state = ?`, e.ClientUUID, e.UserHash, store.ErasureRunning))
		if !noRows(err) {
			if err != nil {
				return out, erasureErr(err, "start erasure")
			}
			return out, nil
		}
		now := s.Now()
		out, err = scanErasure(s.w.QueryRow(ctx, `INSERT INTO user_erasures
			(id, client_uuid, user_id, user_hash, requested_by, state, step, counts, requested_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)
			ON CONFLICT (client_uuid, user_hash) WHERE state = 'running' DO NOTHING RETURNING `+erasureCols,
			e.ID, e.ClientUUID, e.UserID, e.UserHash, e.RequestedBy, store.ErasureRunning, s.erase[0].Table, now, now))
		switch {
		case s.drv.IsForeignKey(err):
			return out, notFound("client %s not found", e.ClientUUID)
		case s.drv.IsUnique(err):
			return out, health.Errorf(health.ECONFLICT, "erasure %s already exists", e.ID)
		case noRows(err):
			continue // another start won: read its row
		case err != nil:
			return out, erasureErr(err, "start erasure")
		}
		return out, nil
	}
}

// GetErasure implements store.EraseStore.
func (s *Store) GetErasure(ctx context.Context, clientUUID, id string) (store.Erasure, error) {
	e, err := scanErasure(s.r.QueryRow(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE id = ? AND client_uuid = ?`, id, clientUUID))
	if err != nil {
		return e, erasureErr(err, "get erasure")
	}
	return e, nil
}

// LatestErasure implements store.EraseStore.
func (s *Store) LatestErasure(ctx context.Context, clientUUID string, userHash []byte) (store.Erasure, error) {
	e, err := scanErasure(s.r.QueryRow(ctx, `SELECT `+erasureCols+` FROM user_erasures
		WHERE client_uuid = ? AND user_hash = ? ORDER BY requested_at DESC, id DESC LIMIT 1`, clientUUID, userHash))
	if err != nil {
		return e, erasureErr(err, "latest erasure")
	}
	return e, nil
}

// RunningErasures implements store.EraseStore.
func (s *Store) RunningErasures(ctx context.Context) ([]store.Erasure, error) {
	rows, err := s.r.Query(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE state = ? ORDER BY requested_at`, store.ErasureRunning)
	out, err := collect(rows, err, scanErasure)
	if err != nil {
		return nil, fmt.Errorf("running erasures: %w", err)
	}
	return out, nil
}

// UserConnectionIDs implements store.EraseStore.
func (s *Store) UserConnectionIDs(ctx context.Context, clientUUID, userID string) ([]int64, error) {
	return s.ids(ctx, "user connections", `SELECT id FROM connections WHERE client_uuid = ? AND user_id = ? ORDER BY id`, clientUUID, userID)
}

// EraseBatch implements store.EraseStore. The erasure's row is locked for
// the batch (Dialect.LockRow), so two workers never run the same step at
// once.
func (s *Store) EraseBatch(ctx context.Context, id string, limit int) (store.Erasure, error) {
	limit = max(limit, 1)
	var e store.Erasure
	err := s.inTx(ctx, func(tx db) error {
		var err error
		if e, err = scanErasure(tx.QueryRow(ctx, `SELECT `+erasureCols+` FROM user_erasures WHERE id = ?`+s.d.LockRow, id)); err != nil {
			return err
		}
		if e.State != store.ErasureRunning || e.Step == "" {
			return nil
		}
		step, next, err := s.findEraseStep(e.Step)
		if err != nil {
			return err
		}
		n, err := tx.Exec(ctx, step.sql(), step.args(e.ClientUUID, e.UserID, limit)...)
		if err != nil {
			return fmt.Errorf("step %s: %w", step.Table, err)
		}
		e.Counts[step.Table] += n
		if n < int64(limit) {
			e.Step = next
		}
		e.UpdatedAt = s.Now()
		_, err = tx.Exec(ctx, `UPDATE user_erasures SET step = ?, counts = ?, updated_at = ? WHERE id = ?`,
			e.Step, encodeCounts(e.Counts), e.UpdatedAt, id)
		return err
	})
	if err != nil {
		return e, erasureErr(err, "erase batch")
	}
	return e, nil
}

// CompleteErasure implements store.EraseStore.
func (s *Store) CompleteErasure(ctx context.Context, id string) (store.Erasure, error) {
	now := s.Now()
	e, err := scanErasure(s.w.QueryRow(ctx, `UPDATE user_erasures SET state = ?, user_id = '', step = '',
		completed_at = coalesce(completed_at, ?), updated_at = ? WHERE id = ? RETURNING `+erasureCols,
		store.ErasureCompleted, now, now, id))
	if err != nil {
		return e, erasureErr(err, "complete erasure")
	}
	return e, nil
}

// PurgeRetention implements store.EraseStore.
func (s *Store) PurgeRetention(ctx context.Context, step, clientUUID string, before time.Time, limit int) (int, error) {
	st, ok := retentionSteps[step]
	if !ok {
		return 0, health.Errorf(health.EINVALID, "no retention step %q", step)
	}
	n, err := s.w.Exec(ctx, st.sql(), clientUUID, before, clientUUID, before, max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", step, err)
	}
	return int(n), nil
}
