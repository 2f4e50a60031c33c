package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

var _ store.DeliveryStore = (*Store)(nil)

// Endpoints

const endpointCols = `id, client_uuid, kind, url, secret, previous_secret, previous_expires_at, data_structures,
	enabled, disabled_reason, failing_since, created_at, updated_at`

func (s *Store) scanEndpoint(row pgx.Row) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var sec, prev []byte
	var prevExp, failing *time.Time
	var ds string
	if err := row.Scan(&e.ID, &e.ClientUUID, &e.Kind, &e.URL, &sec, &prev, &prevExp, &ds,
		&e.Enabled, &e.DisabledReason, &failing, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return e, err
	}
	e.PreviousExpiresAt, e.FailingSince = fromTS(prevExp), fromTS(failing)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
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
	_, err = s.pool.Exec(ctx, `INSERT INTO webhook_endpoints (`+endpointCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
		e.ID, e.ClientUUID, e.Kind, e.URL, sec, prev, ts(e.PreviousExpiresAt), store.EncodeDataStructures(e.DataStructures),
		e.Enabled, e.DisabledReason, ts(e.FailingSince), now)
	if isForeignKey(err) {
		return e, notFound("client %s not found", e.ClientUUID)
	}
	if err != nil {
		return e, fmt.Errorf("create endpoint: %w", err)
	}
	e.DataStructures = store.DecodeDataStructures(store.EncodeDataStructures(e.DataStructures))
	return e, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// GetEndpoint implements store.DeliveryStore.
func (s *Store) GetEndpoint(ctx context.Context, id string) (store.WebhookEndpoint, error) {
	return s.getEndpoint(ctx, s.pool, id, false)
}

func (s *Store) getEndpoint(ctx context.Context, q querier, id string, lock bool) (store.WebhookEndpoint, error) {
	query := `SELECT ` + endpointCols + ` FROM webhook_endpoints WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	e, err := s.scanEndpoint(q.QueryRow(ctx, query, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, notFound("webhook endpoint %s not found", id)
	}
	if err != nil {
		return e, fmt.Errorf("get endpoint %s: %w", id, err)
	}
	return e, nil
}

// ListEndpoints implements store.DeliveryStore.
func (s *Store) ListEndpoints(ctx context.Context, clientUUID string) ([]store.WebhookEndpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE $1 = '' OR client_uuid = $1
		ORDER BY client_uuid, created_at, id`, clientUUID)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	out, err := collect(rows, s.scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return out, nil
}

// UpdateEndpoint implements store.DeliveryStore.
func (s *Store) UpdateEndpoint(ctx context.Context, id string, u store.EndpointUpdate) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if e, err = s.getEndpoint(ctx, tx, id, true); err != nil {
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
		_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET url = $1, data_structures = $2, updated_at = $3 WHERE id = $4`,
			e.URL, store.EncodeDataStructures(e.DataStructures), e.UpdatedAt, id)
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if e, err = s.getEndpoint(ctx, tx, id, true); err != nil {
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
		_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET secret = $1, previous_secret = $2, previous_expires_at = $3, updated_at = $4 WHERE id = $5`,
			sec, prev, ts(e.PreviousExpiresAt), e.UpdatedAt, id)
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if enabled {
			_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = true, disabled_reason = '', failing_since = NULL, updated_at = $1 WHERE id = $2`,
				common.Now(s.now), id)
		} else {
			_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $1, updated_at = $2 WHERE id = $3`,
				reason, common.Now(s.now), id)
		}
		if err != nil {
			return err
		}
		if e, err = s.getEndpoint(ctx, tx, id, false); err != nil {
			return err
		}
		if !enabled {
			_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'dead', last_error = $1, next_attempt_at = NULL,
				finished_at = $2, updated_at = $2 WHERE endpoint_id = $3 AND status = 'pending'`,
				"endpoint disabled: "+reason, now, id)
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
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

func targets(ctx context.Context, tx pgx.Tx, clientUUID, kind string) ([]target, error) {
	rows, err := tx.Query(ctx, `SELECT id, enabled, data_structures FROM webhook_endpoints WHERE client_uuid = $1 AND kind = $2 ORDER BY id`, clientUUID, kind)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r pgx.Row) (target, error) {
		var t target
		var ds string
		err := r.Scan(&t.id, &t.enabled, &ds)
		t.dataStructures = store.DecodeDataStructures(ds)
		return t, err
	})
}

type pendingMessage struct {
	m  *store.WebhookMessage
	ts []target
}

// insertMessages writes the messages and a delivery to each of their
// targets, in two round trips; deliveries to a disabled endpoint are dead
// at once unless force keeps them pending. enqueued marks them as already
// queued.
func insertMessages(ctx context.Context, tx pgx.Tx, ms []pendingMessage, now time.Time, force, enqueued bool) ([]int64, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	for _, p := range ms {
		m := p.m
		if m.WebhookID == "" {
			m.WebhookID = store.NewWebhookID()
		}
		m.CreatedAt = now
		b.Queue(`INSERT INTO webhook_messages (webhook_id, client_uuid, user_id, kind, event_type, pillar, day, doc_key, version, body, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			m.WebhookID, m.ClientUUID, m.UserID, m.Kind, m.EventType, m.Pillar, m.Day, m.Key, m.Version, m.Body, now).
			QueryRow(func(r pgx.Row) error { return r.Scan(&m.ID) })
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	b = &pgx.Batch{}
	var ids []int64
	for _, p := range ms {
		for _, t := range p.ts {
			status, next, finished, lastErr := store.DeliveryPending, ts(now), any(nil), ""
			if !t.enabled && !force {
				status, next, finished, lastErr = store.DeliveryDead, nil, now, "endpoint disabled"
			}
			b.Queue(`INSERT INTO webhook_deliveries (message_id, endpoint_id, client_uuid, status, next_attempt_at, enqueued,
				last_error, created_at, updated_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id`,
				p.m.ID, t.id, p.m.ClientUUID, status, next, enqueued, lastErr, now, finished).
				QueryRow(func(r pgx.Row) error {
					var id int64
					err := r.Scan(&id)
					ids = append(ids, id)
					return err
				})
		}
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("insert deliveries: %w", err)
	}
	return ids, nil
}

// FanOut implements store.DeliveryStore. Records are locked with SKIP
// LOCKED, so processes fanning out at once take different records.
func (s *Store) FanOut(ctx context.Context, limit int, now time.Time) (store.FanOutResult, error) {
	if limit <= 0 {
		limit = 500
	}
	now = common.Time(now)
	var res store.FanOutResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		res = store.FanOutResult{}
		type rec struct {
			id  int64
			m   store.WebhookMessage
			cur bool
		}
		rows, err := tx.Query(ctx, `SELECT o.id, h.client_uuid, h.user_id, h.data_structure, h.pillar, h.day, h.key, o.version,
			h.version = o.version, CASE WHEN h.version = o.version THEN h.body END
			FROM outbox o JOIN health_documents h ON h.id = o.health_document_id ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		recs, err := collect(rows, func(r pgx.Row) (rec, error) {
			x := rec{m: store.WebhookMessage{Kind: store.MessageData}}
			err := r.Scan(&x.id, &x.m.ClientUUID, &x.m.UserID, &x.m.EventType, &x.m.Pillar, &x.m.Day, &x.m.Key, &x.m.Version, &x.cur, &x.m.Body)
			return x, err
		})
		if err != nil {
			return err
		}
		byClient := map[string][]target{}
		ids := make([]int64, 0, len(recs))
		var ms []pendingMessage
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
			if len(match) > 0 {
				ms = append(ms, pendingMessage{&r.m, match})
			}
		}
		d, err := insertMessages(ctx, tx, ms, now, false, false)
		if err != nil {
			return err
		}
		res.Records, res.Messages, res.Deliveries = len(recs), len(ms), len(d)
		if len(ids) > 0 {
			_, err = tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY ($1)`, ids)
		}
		return err
	})
	if err != nil {
		return store.FanOutResult{}, fmt.Errorf("fan out: %w", err)
	}
	return res, nil
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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
			err := tx.QueryRow(ctx, `SELECT id, enabled, client_uuid FROM webhook_endpoints WHERE id = $1`, id).Scan(&t.id, &t.enabled, &client)
			if errors.Is(err, pgx.ErrNoRows) || err == nil && client != m.ClientUUID {
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
		ids, err = insertMessages(ctx, tx, []pendingMessage{{&m, ts}}, now, test, test)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add %s message: %w", m.EventType, err)
	}
	return ids, nil
}

// Queue bookkeeping

func (s *Store) ids(ctx context.Context, what, query string, args ...any) ([]int64, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// UnenqueuedDeliveries implements store.DeliveryStore.
func (s *Store) UnenqueuedDeliveries(ctx context.Context, limit int) ([]int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.ids(ctx, "unenqueued deliveries", `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND NOT enqueued ORDER BY id LIMIT $1`, limit)
}

// MarkEnqueued implements store.DeliveryStore.
func (s *Store) MarkEnqueued(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET enqueued = true WHERE id = ANY ($1)`, ids); err != nil {
		return fmt.Errorf("mark deliveries enqueued: %w", err)
	}
	return nil
}

// OverdueDeliveries implements store.DeliveryStore.
func (s *Store) OverdueDeliveries(ctx context.Context, before time.Time, limit int) ([]int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.ids(ctx, "overdue deliveries", `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at < $1
		ORDER BY next_attempt_at, id LIMIT $2`, common.Time(before), limit)
}

// Deliveries

const deliveryCols = `d.id, d.message_id, d.endpoint_id, d.client_uuid, d.status, d.attempts, d.round_attempts, d.replays,
	d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.created_at, d.updated_at, d.finished_at,
	m.webhook_id, m.user_id, m.kind, m.event_type, m.pillar, m.day, m.version`

const deliveryFrom = ` FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id`

func scanDelivery(row pgx.Row, extra ...any) (store.Delivery, error) {
	var d store.Delivery
	var next, last, finished *time.Time
	dest := []any{&d.ID, &d.MessageID, &d.EndpointID, &d.ClientUUID, &d.Status, &d.Attempts, &d.RoundAttempts, &d.Replays,
		&next, &last, &d.LastStatusCode, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &finished,
		&d.WebhookID, &d.UserID, &d.Kind, &d.EventType, &d.Pillar, &d.Day, &d.Version}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return d, err
	}
	d.NextAttemptAt, d.LastAttemptAt, d.FinishedAt = fromTS(next), fromTS(last), fromTS(finished)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, nil
}

// GetDelivery implements store.DeliveryStore.
func (s *Store) GetDelivery(ctx context.Context, id int64) (store.Delivery, error) {
	var body []byte
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryCols+`, m.body`+deliveryFrom+` WHERE d.id = $1`, id), &body)
	if errors.Is(err, pgx.ErrNoRows) {
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

// RecordAttempts implements store.DeliveryStore: one transaction for the
// whole batch.
func (s *Store) RecordAttempts(ctx context.Context, rs []store.AttemptRecord) ([]store.AttemptResult, error) {
	out := make([]store.AttemptResult, len(rs))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for i, r := range rs {
			d, fs, err := recordAttempt(ctx, tx, r)
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
// invalid) comes from no failed statement, so the transaction stays
// usable.
func recordAttempt(ctx context.Context, tx pgx.Tx, r store.AttemptRecord) (store.Delivery, time.Time, error) {
	a := r.Attempt
	at := common.Time(a.AttemptedAt)
	var next, finished any
	switch r.Status {
	case store.DeliveryPending:
		next = common.Time(r.NextAttemptAt)
	case store.DeliverySucceeded, store.DeliveryDead:
		finished = at
	default:
		return store.Delivery{}, time.Time{}, health.Errorf(health.EINVALID, "unknown delivery status %q", r.Status)
	}
	lastErr := a.Error
	if lastErr == "" && a.ErrorClass != "" {
		lastErr = a.ErrorClass
	}
	var endpoint string
	err := tx.QueryRow(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1,
		status = $1, next_attempt_at = $2, last_attempt_at = $3, last_status_code = $4, last_error = $5, updated_at = $3, finished_at = $6
		WHERE id = $7 AND status = 'pending' AND attempts = $8 RETURNING endpoint_id`,
		r.Status, next, at, a.StatusCode, lastErr, finished, r.DeliveryID, r.ExpectAttempts).Scan(&endpoint)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Delivery{}, time.Time{}, attemptConflict(ctx, tx, r.DeliveryID)
	}
	if err != nil {
		return store.Delivery{}, time.Time{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, duration_us, error_class, error, response)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.DeliveryID, r.ExpectAttempts+1, at, a.StatusCode, a.Duration.Microseconds(),
		a.ErrorClass, a.Error, keep(a.Response)); err != nil {
		return store.Delivery{}, time.Time{}, err
	}
	var fs *time.Time
	if r.Failed {
		err = tx.QueryRow(ctx, `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $1) WHERE id = $2 RETURNING failing_since`,
			at, endpoint).Scan(&fs)
	} else {
		_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, endpoint)
	}
	if err != nil {
		return store.Delivery{}, time.Time{}, err
	}
	d, err := scanDelivery(tx.QueryRow(ctx, `SELECT `+deliveryCols+deliveryFrom+` WHERE d.id = $1`, r.DeliveryID))
	return d, fromTS(fs), err
}

func attemptConflict(ctx context.Context, tx pgx.Tx, id int64) error {
	var status string
	var attempts int
	err := tx.QueryRow(ctx, `SELECT status, attempts FROM webhook_deliveries WHERE id = $1`, id).Scan(&status, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
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
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET status = 'dead', last_error = $1, next_attempt_at = NULL, finished_at = $2, updated_at = $2
		WHERE id = $3 AND status = 'pending'`, reason, common.Time(now), id)
	if err != nil {
		return false, fmt.Errorf("kill delivery %d: %w", id, err)
	}
	return tag.RowsAffected() > 0, nil
}

// ListDeliveries implements store.DeliveryStore.
func (s *Store) ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
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
		add(`d.created_at >= ?`, common.Time(q.CreatedFrom))
	}
	if !q.CreatedTo.IsZero() {
		add(`d.created_at < ?`, common.Time(q.CreatedTo))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryCols+deliveryFrom+` WHERE `+strings.Join(where, ` AND `)+
		` ORDER BY d.id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out, err := collect(rows, func(r pgx.Row) (store.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// ListAttempts implements store.DeliveryStore, in attempt order.
func (s *Store) ListAttempts(ctx context.Context, deliveryID int64) ([]store.DeliveryAttempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, delivery_id, attempt, attempted_at, status_code, duration_us, error_class, error, response
		FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt, id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %d: %w", deliveryID, err)
	}
	out, err := collect(rows, func(r pgx.Row) (store.DeliveryAttempt, error) {
		var a store.DeliveryAttempt
		var us int64
		err := r.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &a.AttemptedAt, &a.StatusCode, &us, &a.ErrorClass, &a.Error, &a.Response)
		a.AttemptedAt, a.Duration = a.AttemptedAt.UTC(), time.Duration(us)*time.Microsecond
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %d: %w", deliveryID, err)
	}
	return out, nil
}

// ReplayDeliveries implements store.DeliveryStore.
func (s *Store) ReplayDeliveries(ctx context.Context, q store.ReplayQuery, now time.Time) (int, error) {
	now = common.Time(now)
	const set = `UPDATE webhook_deliveries SET status = 'pending', round_attempts = 0, replays = replays + 1, next_attempt_at = $1,
		enqueued = false, finished_at = NULL, updated_at = $1
		WHERE endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled) AND `
	var n int64
	if len(q.IDs) > 0 {
		tag, err := s.pool.Exec(ctx, set+`status <> 'pending' AND id = ANY ($2)`, now, q.IDs)
		if err != nil {
			return 0, fmt.Errorf("replay deliveries: %w", err)
		}
		return int(tag.RowsAffected()), nil
	}
	if q.ClientUUID == "" {
		return 0, health.Errorf(health.EINVALID, "replay: delivery ids or a client are required")
	}
	tag, err := s.pool.Exec(ctx, set+`status = 'dead' AND client_uuid = $2 AND ($3::timestamptz IS NULL OR created_at >= $3)
		AND ($4::timestamptz IS NULL OR created_at < $4)`, now, q.ClientUUID, ts(common.Time(q.CreatedFrom)), ts(common.Time(q.CreatedTo)))
	if err != nil {
		return 0, fmt.Errorf("replay deliveries: %w", err)
	}
	n = tag.RowsAffected()
	return int(n), nil
}

const pruneBatch = 2000

// PruneDeliveries implements store.DeliveryStore, in batches so that no
// transaction grows large.
func (s *Store) PruneDeliveries(ctx context.Context, deadBefore, succeededBefore time.Time) (int, error) {
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
			WHERE status = 'dead' AND finished_at < $1 OR status = 'succeeded' AND finished_at < $2 LIMIT $3)`,
			common.Time(deadBefore), common.Time(succeededBefore), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune deliveries: %w", err)
		}
		mtag, err := s.pool.Exec(ctx, `DELETE FROM webhook_messages WHERE id IN (SELECT m.id FROM webhook_messages m
			WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id) LIMIT $1)`, pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune deliveries: %w", err)
		}
		total += int(tag.RowsAffected())
		if tag.RowsAffected() < pruneBatch && mtag.RowsAffected() < pruneBatch {
			return total, nil
		}
	}
}
