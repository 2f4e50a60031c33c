package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

var _ store.DeliveryStore = (*Store)(nil)

// Endpoints

const endpointCols = `id, client_uuid, kind, url, secret, previous_secret, previous_expires_at, data_structures,
	enabled, disabled_reason, failing_since, created_at, updated_at`

func (s *Store) scanEndpoint(row interface{ Scan(...any) error }) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var sec, prev []byte
	var prevExp, failing, created, updated sql.NullInt64
	var ds string
	if err := row.Scan(&e.ID, &e.ClientUUID, &e.Kind, &e.URL, &sec, &prev, &prevExp, &ds,
		&e.Enabled, &e.DisabledReason, &failing, &created, &updated); err != nil {
		return e, err
	}
	e.PreviousExpiresAt, e.FailingSince = fromMicros(prevExp), fromMicros(failing)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	e.DataStructures = store.DecodeDataStructures(ds)
	var err error
	if e.Secret, err = s.sealer.OpenString(sec, store.EndpointSecretAD("secret", &e)); err != nil {
		return e, fmt.Errorf("endpoint %s secret: %w", e.ID, err)
	}
	if e.PreviousSecret, err = s.sealer.OpenString(prev, store.EndpointSecretAD("previous_secret", &e)); err != nil {
		return e, fmt.Errorf("endpoint %s previous secret: %w", e.ID, err)
	}
	return e, nil
}

// CreateEndpoint implements store.DeliveryStore.
func (s *Store) CreateEndpoint(ctx context.Context, e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
	if err := validEndpoint(e); err != nil {
		return e, err
	}
	e.ID = store.NewEndpointID()
	now := common.Now(s.now)
	e.CreatedAt, e.UpdatedAt = now, now
	e.PreviousExpiresAt, e.FailingSince = common.Time(e.PreviousExpiresAt), common.Time(e.FailingSince)
	sec, err := s.sealer.SealString(e.Secret, store.EndpointSecretAD("secret", &e))
	if err != nil {
		return e, err
	}
	prev, err := s.sealer.SealString(e.PreviousSecret, store.EndpointSecretAD("previous_secret", &e))
	if err != nil {
		return e, err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+endpointCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ClientUUID, e.Kind, e.URL, sec, prev, micros(e.PreviousExpiresAt), store.EncodeDataStructures(e.DataStructures),
		e.Enabled, e.DisabledReason, micros(e.FailingSince), now.UnixMicro(), now.UnixMicro())
	if isForeignKey(err) {
		return e, notFound("client %s not found", e.ClientUUID)
	}
	if err != nil {
		return e, fmt.Errorf("create endpoint: %w", err)
	}
	e.DataStructures = store.DecodeDataStructures(store.EncodeDataStructures(e.DataStructures))
	return e, nil
}

func validEndpoint(e store.WebhookEndpoint) error {
	switch {
	case e.ClientUUID == "":
		return health.Errorf(health.EINVALID, "endpoint: client_uuid is required")
	case !store.ValidEndpointKind(e.Kind):
		return health.Errorf(health.EINVALID, "endpoint: unknown kind %q", e.Kind)
	case e.URL == "":
		return health.Errorf(health.EINVALID, "endpoint: url is required")
	case e.Secret == "":
		return health.Errorf(health.EINVALID, "endpoint: secret is required")
	}
	for _, d := range e.DataStructures {
		if d == "" || strings.Contains(d, ",") {
			return health.Errorf(health.EINVALID, "endpoint: bad data structure %q", d)
		}
	}
	return nil
}

// GetEndpoint implements store.DeliveryStore.
func (s *Store) GetEndpoint(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return s.getEndpoint(ctx, s.r, id)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) getEndpoint(ctx context.Context, q queryRower, id string) (store.WebhookEndpoint, error) {
	e, err := s.scanEndpoint(q.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, notFound("webhook endpoint %s not found", id)
	}
	if err != nil {
		return e, fmt.Errorf("get endpoint %s: %w", id, err)
	}
	return e, nil
}

// ListEndpoints implements store.DeliveryStore.
func (s *Store) ListEndpoints(ctx context.Context, clientUUID string) ([]store.WebhookEndpoint, error) {
	q := `SELECT ` + endpointCols + ` FROM webhook_endpoints`
	var args []any
	if clientUUID != "" {
		q += ` WHERE client_uuid = ?`
		args = append(args, clientUUID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY client_uuid, created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookEndpoint
	for rows.Next() {
		e, err := s.scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("list endpoints: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UpdateEndpoint implements store.DeliveryStore.
func (s *Store) UpdateEndpoint(ctx context.Context, id string, u store.EndpointUpdate) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if e, err = s.getEndpoint(ctx, tx, id); err != nil {
			return err
		}
		if u.URL != nil {
			e.URL = *u.URL
		}
		if u.DataStructures != nil {
			e.DataStructures = store.DecodeDataStructures(store.EncodeDataStructures(*u.DataStructures))
		}
		if err := validEndpoint(e); err != nil {
			return err
		}
		e.UpdatedAt = common.Now(s.now)
		_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ?, data_structures = ?, updated_at = ? WHERE id = ?`,
			e.URL, store.EncodeDataStructures(e.DataStructures), e.UpdatedAt.UnixMicro(), id)
		return err
	})
	if err != nil {
		return e, fmt.Errorf("update endpoint %s: %w", id, err)
	}
	return e, nil
}

// RotateEndpointSecret implements store.DeliveryStore.
func (s *Store) RotateEndpointSecret(ctx context.Context, id, secret string, previousUntil time.Time) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	if secret == "" {
		return e, health.Errorf(health.EINVALID, "endpoint: secret is required")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if e, err = s.getEndpoint(ctx, tx, id); err != nil {
			return err
		}
		e.PreviousSecret, e.Secret = e.Secret, secret
		e.PreviousExpiresAt = common.Time(previousUntil)
		e.UpdatedAt = common.Now(s.now)
		sec, err := s.sealer.SealString(e.Secret, store.EndpointSecretAD("secret", &e))
		if err != nil {
			return err
		}
		prev, err := s.sealer.SealString(e.PreviousSecret, store.EndpointSecretAD("previous_secret", &e))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_expires_at = ?, updated_at = ? WHERE id = ?`,
			sec, prev, micros(e.PreviousExpiresAt), e.UpdatedAt.UnixMicro(), id)
		return err
	})
	if err != nil {
		return e, fmt.Errorf("rotate secret of endpoint %s: %w", id, err)
	}
	return e, nil
}

// SetEndpointEnabled implements store.DeliveryStore.
func (s *Store) SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string, now time.Time) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	now = common.Time(now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if enabled {
			reason = ""
			_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = 1, disabled_reason = '', failing_since = NULL, updated_at = ? WHERE id = ?`,
				common.Now(s.now).UnixMicro(), id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?`,
				reason, common.Now(s.now).UnixMicro(), id)
		}
		if err != nil {
			return err
		}
		if e, err = s.getEndpoint(ctx, tx, id); err != nil {
			return err
		}
		if !enabled {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'dead', last_error = ?, next_attempt_at = NULL,
				finished_at = ?, updated_at = ? WHERE endpoint_id = ? AND status = 'pending'`,
				"endpoint disabled: "+reason, now.UnixMicro(), now.UnixMicro(), id)
		}
		return err
	})
	if err != nil {
		return e, fmt.Errorf("set endpoint %s enabled=%v: %w", id, enabled, err)
	}
	return e, nil
}

// DeleteEndpoint implements store.DeliveryStore.
func (s *Store) DeleteEndpoint(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("webhook endpoint %s not found", id)
	}
	return nil
}

// Messages and fan-out

type target struct {
	id             string
	enabled        bool
	dataStructures []string
}

func (t target) accepts(ds string) bool {
	return store.WebhookEndpoint{DataStructures: t.dataStructures}.Accepts(ds)
}

func targets(ctx context.Context, tx *sql.Tx, clientUUID, kind string) ([]target, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, enabled, data_structures FROM webhook_endpoints WHERE client_uuid = ? AND kind = ? ORDER BY id`, clientUUID, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []target
	for rows.Next() {
		var t target
		var ds string
		if err := rows.Scan(&t.id, &t.enabled, &ds); err != nil {
			return nil, err
		}
		t.dataStructures = store.DecodeDataStructures(ds)
		out = append(out, t)
	}
	return out, rows.Err()
}

// insertMessage writes m and a delivery to each target; deliveries to a
// disabled endpoint are dead at once unless force says to keep them
// pending. enqueued marks them as already queued.
func insertMessage(ctx context.Context, tx *sql.Tx, m *store.WebhookMessage, ts []target, now time.Time, force, enqueued bool) ([]int64, error) {
	if m.WebhookID == "" {
		m.WebhookID = store.NewWebhookID()
	}
	m.CreatedAt = now
	if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_messages (webhook_id, client_uuid, user_id, kind, event_type, pillar, day, doc_key, version, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.WebhookID, m.ClientUUID, m.UserID, m.Kind, m.EventType, m.Pillar, m.Day, m.Key, m.Version, m.Body, now.UnixMicro()).Scan(&m.ID); err != nil {
		return nil, fmt.Errorf("insert message: %w", err)
	}
	ids := make([]int64, 0, len(ts))
	for _, t := range ts {
		status, next, finished, lastErr := store.DeliveryPending, any(now.UnixMicro()), any(nil), ""
		if !t.enabled && !force {
			status, next, finished, lastErr = store.DeliveryDead, nil, now.UnixMicro(), "endpoint disabled"
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_deliveries (message_id, endpoint_id, client_uuid, status, next_attempt_at, enqueued,
			last_error, created_at, updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			m.ID, t.id, m.ClientUUID, status, next, enqueued, lastErr, now.UnixMicro(), now.UnixMicro(), finished).Scan(&id); err != nil {
			return nil, fmt.Errorf("insert delivery: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// FanOut implements store.DeliveryStore. The writer is exclusive (BEGIN
// IMMEDIATE), so concurrent calls see each record once.
func (s *Store) FanOut(ctx context.Context, limit int, now time.Time) (store.FanOutResult, error) {
	if limit <= 0 {
		limit = 500
	}
	now = common.Time(now)
	var res store.FanOutResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = store.FanOutResult{}
		type rec struct {
			id  int64
			m   store.WebhookMessage
			cur bool
		}
		rows, err := tx.QueryContext(ctx, `SELECT o.id, h.client_uuid, h.user_id, h.data_structure, h.pillar, h.day, h.key, o.version,
			h.version = o.version, CASE WHEN h.version = o.version THEN h.body END
			FROM outbox o JOIN health_documents h ON h.id = o.health_document_id ORDER BY o.id LIMIT ?`, limit)
		if err != nil {
			return err
		}
		var recs []rec
		for rows.Next() {
			r := rec{m: store.WebhookMessage{Kind: store.MessageData}}
			if err := rows.Scan(&r.id, &r.m.ClientUUID, &r.m.UserID, &r.m.EventType, &r.m.Pillar, &r.m.Day, &r.m.Key, &r.m.Version,
				&r.cur, &r.m.Body); err != nil {
				rows.Close()
				return err
			}
			recs = append(recs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		byClient := map[string][]target{}
		ids := make([]int64, 0, len(recs))
		for i := range recs {
			r := &recs[i]
			ids = append(ids, r.id)
			if !r.cur {
				res.Superseded++
				continue
			}
			ts, ok := byClient[r.m.ClientUUID]
			if !ok {
				if ts, err = targets(ctx, tx, r.m.ClientUUID, store.EndpointData); err != nil {
					return err
				}
				byClient[r.m.ClientUUID] = ts
			}
			var match []target
			for _, t := range ts {
				if t.accepts(r.m.EventType) {
					match = append(match, t)
				}
			}
			if len(match) == 0 {
				continue
			}
			d, err := insertMessage(ctx, tx, &r.m, match, now, false, false)
			if err != nil {
				return err
			}
			res.Messages++
			res.Deliveries += len(d)
		}
		res.Records = len(recs)
		return execIn(ctx, tx, `DELETE FROM outbox WHERE id IN `, ids)
	})
	if err != nil {
		return store.FanOutResult{}, fmt.Errorf("fan out: %w", err)
	}
	return res, nil
}

// execIn runs prefix + "(?, ?, ...)" over ids in chunks.
func execIn(ctx context.Context, tx *sql.Tx, prefix string, ids []int64, before ...any) error {
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := append([]any(nil), before...)
		for _, id := range part {
			args = append(args, id)
		}
		if _, err := tx.ExecContext(ctx, prefix+`(?`+strings.Repeat(`, ?`, len(part)-1)+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// AddMessage implements store.DeliveryStore. A test message's deliveries
// stay pending even to a disabled endpoint and are marked enqueued: the
// caller attempts them itself.
func (s *Store) AddMessage(ctx context.Context, m store.WebhookMessage, endpointIDs []string, now time.Time) ([]int64, error) {
	if m.ClientUUID == "" || m.Kind == "" || m.EventType == "" {
		return nil, health.Errorf(health.EINVALID, "message: client_uuid, kind and event type are required")
	}
	now = common.Time(now)
	var ids []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var ts []target
		var err error
		if endpointIDs == nil {
			if ts, err = targets(ctx, tx, m.ClientUUID, store.EndpointNotification); err != nil {
				return err
			}
		}
		for _, id := range endpointIDs {
			var t target
			var client string
			err := tx.QueryRowContext(ctx, `SELECT id, enabled, client_uuid FROM webhook_endpoints WHERE id = ?`, id).Scan(&t.id, &t.enabled, &client)
			if errors.Is(err, sql.ErrNoRows) || err == nil && client != m.ClientUUID {
				return notFound("webhook endpoint %s not found", id)
			}
			if err != nil {
				return err
			}
			ts = append(ts, t)
		}
		if len(ts) == 0 {
			return nil
		}
		test := m.Kind == store.MessageTest
		ids, err = insertMessage(ctx, tx, &m, ts, now, test, test)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add %s message: %w", m.EventType, err)
	}
	return ids, nil
}

// Queue bookkeeping

func (s *Store) ids(ctx context.Context, what, query string, args ...any) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// UnenqueuedDeliveries implements store.DeliveryStore.
func (s *Store) UnenqueuedDeliveries(ctx context.Context, limit int) ([]int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.ids(ctx, "unenqueued deliveries", `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND enqueued = 0 ORDER BY id LIMIT ?`, limit)
}

// MarkEnqueued implements store.DeliveryStore.
func (s *Store) MarkEnqueued(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return execIn(ctx, tx, `UPDATE webhook_deliveries SET enqueued = 1 WHERE id IN `, ids)
	})
	if err != nil {
		return fmt.Errorf("mark deliveries enqueued: %w", err)
	}
	return nil
}

// OverdueDeliveries implements store.DeliveryStore.
func (s *Store) OverdueDeliveries(ctx context.Context, before time.Time, limit int) ([]int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.ids(ctx, "overdue deliveries", `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at < ?
		ORDER BY next_attempt_at, id LIMIT ?`, common.Time(before).UnixMicro(), limit)
}

// Deliveries

const deliveryCols = `d.id, d.message_id, d.endpoint_id, d.client_uuid, d.status, d.attempts, d.round_attempts, d.replays,
	d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.created_at, d.updated_at, d.finished_at,
	m.webhook_id, m.user_id, m.kind, m.event_type, m.pillar, m.day, m.version`

const deliveryFrom = ` FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id`

func scanDelivery(row interface{ Scan(...any) error }, extra ...any) (store.Delivery, error) {
	var d store.Delivery
	var next, last, created, updated, finished sql.NullInt64
	dest := []any{&d.ID, &d.MessageID, &d.EndpointID, &d.ClientUUID, &d.Status, &d.Attempts, &d.RoundAttempts, &d.Replays,
		&next, &last, &d.LastStatusCode, &d.LastError, &created, &updated, &finished,
		&d.WebhookID, &d.UserID, &d.Kind, &d.EventType, &d.Pillar, &d.Day, &d.Version}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return d, err
	}
	d.NextAttemptAt, d.LastAttemptAt = fromMicros(next), fromMicros(last)
	d.CreatedAt, d.UpdatedAt, d.FinishedAt = fromMicros(created), fromMicros(updated), fromMicros(finished)
	return d, nil
}

// GetDelivery implements store.DeliveryStore.
func (s *Store) GetDelivery(ctx context.Context, id int64) (store.Delivery, error) {
	var body []byte
	d, err := scanDelivery(s.r.QueryRowContext(ctx, `SELECT `+deliveryCols+`, m.body`+deliveryFrom+` WHERE d.id = ?`, id), &body)
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound("delivery %d not found", id)
	}
	if err != nil {
		return d, fmt.Errorf("get delivery %d: %w", id, err)
	}
	d.Body = body
	return d, nil
}

// RecordAttempt implements store.DeliveryStore.
func (s *Store) RecordAttempt(ctx context.Context, r store.AttemptRecord) (store.Delivery, time.Time, error) {
	res, err := s.RecordAttempts(ctx, []store.AttemptRecord{r})
	if err != nil {
		return store.Delivery{}, time.Time{}, err
	}
	return res[0].Delivery, res[0].FailingSince, res[0].Err
}

// RecordAttempts implements store.DeliveryStore: one transaction, so one
// commit (one fsync) for the whole batch.
func (s *Store) RecordAttempts(ctx context.Context, rs []store.AttemptRecord) ([]store.AttemptResult, error) {
	out := make([]store.AttemptResult, len(rs))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, r := range rs {
			d, fs, err := s.recordAttempt(ctx, tx, r)
			if err != nil && health.ErrorCode(err) == health.EINTERNAL {
				return fmt.Errorf("delivery %d: %w", r.DeliveryID, err)
			}
			if err != nil {
				err = fmt.Errorf("record attempt of delivery %d: %w", r.DeliveryID, err)
			}
			out[i] = store.AttemptResult{Delivery: d, FailingSince: fs, Err: err}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record attempts: %w", err)
	}
	return out, nil
}

// recordAttempt applies one record; a health.Error (conflict, not found,
// invalid) leaves the transaction usable.
func (s *Store) recordAttempt(ctx context.Context, tx *sql.Tx, r store.AttemptRecord) (store.Delivery, time.Time, error) {
	a := r.Attempt
	at := common.Time(a.AttemptedAt)
	var next, finished any
	switch r.Status {
	case store.DeliveryPending:
		next = common.Time(r.NextAttemptAt).UnixMicro()
	case store.DeliverySucceeded, store.DeliveryDead:
		finished = at.UnixMicro()
	default:
		return store.Delivery{}, time.Time{}, health.Errorf(health.EINVALID, "unknown delivery status %q", r.Status)
	}
	lastErr := a.Error
	if lastErr == "" && a.ErrorClass != "" {
		lastErr = a.ErrorClass
	}
	var endpoint string
	err := tx.QueryRowContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1,
		status = ?, next_attempt_at = ?, last_attempt_at = ?, last_status_code = ?, last_error = ?, updated_at = ?, finished_at = ?
		WHERE id = ? AND status = 'pending' AND attempts = ? RETURNING endpoint_id`,
		r.Status, next, at.UnixMicro(), a.StatusCode, lastErr, at.UnixMicro(), finished, r.DeliveryID, r.ExpectAttempts).Scan(&endpoint)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Delivery{}, time.Time{}, s.attemptConflict(ctx, tx, r.DeliveryID)
	}
	if err != nil {
		return store.Delivery{}, time.Time{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, duration_us, error_class, error, response)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.DeliveryID, r.ExpectAttempts+1, at.UnixMicro(), a.StatusCode, a.Duration.Microseconds(),
		a.ErrorClass, a.Error, keep(a.Response)); err != nil {
		return store.Delivery{}, time.Time{}, err
	}
	var fs sql.NullInt64
	if r.Failed {
		err = tx.QueryRowContext(ctx, `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, ?) WHERE id = ? RETURNING failing_since`,
			at.UnixMicro(), endpoint).Scan(&fs)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, endpoint)
	}
	if err != nil {
		return store.Delivery{}, time.Time{}, err
	}
	d, err := scanDelivery(tx.QueryRowContext(ctx, `SELECT `+deliveryCols+deliveryFrom+` WHERE d.id = ?`, r.DeliveryID))
	return d, fromMicros(fs), err
}

func (s *Store) attemptConflict(ctx context.Context, tx *sql.Tx, id int64) error {
	var status string
	var attempts int
	err := tx.QueryRowContext(ctx, `SELECT status, attempts FROM webhook_deliveries WHERE id = ?`, id).Scan(&status, &attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("delivery %d not found", id)
	}
	if err != nil {
		return err
	}
	return health.Errorf(health.ECONFLICT, "delivery %d is %s after %d attempts", id, status, attempts)
}

// keep trims a response body to what is kept.
func keep(b []byte) []byte {
	if len(b) > store.MaxResponseKept {
		return b[:store.MaxResponseKept]
	}
	return b
}

// KillDelivery implements store.DeliveryStore.
func (s *Store) KillDelivery(ctx context.Context, id int64, reason string, now time.Time) (bool, error) {
	now = common.Time(now)
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'dead', last_error = ?, next_attempt_at = NULL, finished_at = ?, updated_at = ?
		WHERE id = ? AND status = 'pending'`, reason, now.UnixMicro(), now.UnixMicro(), id)
	if err != nil {
		return false, fmt.Errorf("kill delivery %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ListDeliveries implements store.DeliveryStore.
func (s *Store) ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	add(`d.id > ?`, q.AfterID)
	if q.ClientUUID != "" {
		add(`d.client_uuid = ?`, q.ClientUUID)
	}
	if q.EndpointID != "" {
		add(`d.endpoint_id = ?`, q.EndpointID)
	}
	if q.Status != "" {
		add(`d.status = ?`, q.Status)
	}
	if !q.CreatedFrom.IsZero() {
		add(`d.created_at >= ?`, common.Time(q.CreatedFrom).UnixMicro())
	}
	if !q.CreatedTo.IsZero() {
		add(`d.created_at < ?`, common.Time(q.CreatedTo).UnixMicro())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryCols+deliveryFrom+` WHERE `+strings.Join(where, ` AND `)+` ORDER BY d.id LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ListAttempts implements store.DeliveryStore, in attempt order.
func (s *Store) ListAttempts(ctx context.Context, deliveryID int64) ([]store.DeliveryAttempt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, delivery_id, attempt, attempted_at, status_code, duration_us, error_class, error, response
		FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt, id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %d: %w", deliveryID, err)
	}
	defer rows.Close()
	var out []store.DeliveryAttempt
	for rows.Next() {
		var a store.DeliveryAttempt
		var at sql.NullInt64
		var us int64
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &at, &a.StatusCode, &us, &a.ErrorClass, &a.Error, &a.Response); err != nil {
			return nil, fmt.Errorf("list attempts of delivery %d: %w", deliveryID, err)
		}
		a.AttemptedAt, a.Duration = fromMicros(at), time.Duration(us)*time.Microsecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// ReplayDeliveries implements store.DeliveryStore.
func (s *Store) ReplayDeliveries(ctx context.Context, q store.ReplayQuery, now time.Time) (int, error) {
	now = common.Time(now)
	set := `UPDATE webhook_deliveries SET status = 'pending', round_attempts = 0, replays = replays + 1, next_attempt_at = ?,
		enqueued = 0, finished_at = NULL, updated_at = ?
		WHERE endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled = 1) AND `
	base := []any{now.UnixMicro(), now.UnixMicro()}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(q.IDs) > 0 {
			const chunk = 500
			for start := 0; start < len(q.IDs); start += chunk {
				part := q.IDs[start:min(start+chunk, len(q.IDs))]
				args := append([]any(nil), base...)
				for _, id := range part {
					args = append(args, id)
				}
				res, err := tx.ExecContext(ctx, set+`status <> 'pending' AND id IN (?`+strings.Repeat(`, ?`, len(part)-1)+`)`, args...)
				if err != nil {
					return err
				}
				c, _ := res.RowsAffected()
				n += c
			}
			return nil
		}
		if q.ClientUUID == "" {
			return health.Errorf(health.EINVALID, "replay: delivery ids or a client are required")
		}
		cond := `status = 'dead' AND client_uuid = ?`
		args := append(base, q.ClientUUID)
		if !q.CreatedFrom.IsZero() {
			cond += ` AND created_at >= ?`
			args = append(args, common.Time(q.CreatedFrom).UnixMicro())
		}
		if !q.CreatedTo.IsZero() {
			cond += ` AND created_at < ?`
			args = append(args, common.Time(q.CreatedTo).UnixMicro())
		}
		res, err := tx.ExecContext(ctx, set+cond, args...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replay deliveries: %w", err)
	}
	return int(n), nil
}

const pruneBatch = 2000

// PruneDeliveries implements store.DeliveryStore, in batches so that the
// writer is never held for long.
func (s *Store) PruneDeliveries(ctx context.Context, deadBefore, succeededBefore time.Time) (int, error) {
	total := 0
	for {
		var n, m int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
				WHERE status = 'dead' AND finished_at < ? OR status = 'succeeded' AND finished_at < ? LIMIT ?)`,
				common.Time(deadBefore).UnixMicro(), common.Time(succeededBefore).UnixMicro(), pruneBatch)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			res, err = tx.ExecContext(ctx, `DELETE FROM webhook_messages WHERE id IN (SELECT m.id FROM webhook_messages m
				WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id) LIMIT ?)`, pruneBatch)
			if err != nil {
				return err
			}
			m, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("prune deliveries: %w", err)
		}
		total += int(n)
		if n < pruneBatch && m < pruneBatch {
			return total, nil
		}
	}
}
