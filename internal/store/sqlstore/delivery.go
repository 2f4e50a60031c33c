package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

var _ store.DeliveryStore = (*Store)(nil)

// Endpoints

const endpointCols = `id, client_uuid, kind, url, secret, previous_secret, previous_expires_at, data_structures,
	enabled, disabled_reason, failing_since, created_at, updated_at, destination, settings, paused`

func (s *Store) scanEndpoint(row Row) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var c sealedCols
	if err := row.Scan(c.dests(&e)...); err != nil {
		return e, err
	}
	return e, s.openEndpoint(&e, c)
}

// sealedCols are the endpoint columns scanned as stored, opened by
// openEndpoint.
type sealedCols struct {
	sec, prev, set []byte
	ds             string
}

// dests are the scan destinations of endpointCols.
func (c *sealedCols) dests(e *store.WebhookEndpoint) []any {
	return []any{&e.ID, &e.ClientUUID, &e.Kind, &e.URL, &c.sec, &c.prev, &e.PreviousExpiresAt, &c.ds,
		&e.Enabled, &e.DisabledReason, &e.FailingSince, &e.CreatedAt, &e.UpdatedAt, &e.Destination, &c.set, &e.Paused}
}

// openEndpoint fills e's data structures and secrets from c.
func (s *Store) openEndpoint(e *store.WebhookEndpoint, c sealedCols) error {
	e.DataStructures = store.DecodeDataStructures(c.ds)
	var err error
	if e.Secret, err = s.sealer.OpenString(c.sec, store.EndpointSecretAD("secret", e)); err != nil {
		return fmt.Errorf("endpoint %s secret: %w", e.ID, err)
	}
	if e.PreviousSecret, err = s.sealer.OpenString(c.prev, store.EndpointSecretAD("previous_secret", e)); err != nil {
		return fmt.Errorf("endpoint %s previous secret: %w", e.ID, err)
	}
	if len(c.set) > 0 {
		if e.Settings, err = s.sealer.Open(c.set, store.EndpointSecretAD("settings", e)); err != nil {
			return fmt.Errorf("destination %s settings: %w", e.ID, err)
		}
	}
	return nil
}

// sealSettings seals a destination's settings (nil for a webhook).
func (s *Store) sealSettings(e *store.WebhookEndpoint) ([]byte, error) {
	if len(e.Settings) == 0 {
		return nil, nil
	}
	return s.sealer.Seal(e.Settings, store.EndpointSecretAD("settings", e))
}

// sealSecrets seals an endpoint's secret columns. A destination has no
// signing secret: its column holds no bytes (not NULL, which the column
// refuses).
func (s *Store) sealSecrets(e *store.WebhookEndpoint) (sec, prev []byte, err error) {
	if sec, err = s.sealer.SealString(e.Secret, store.EndpointSecretAD("secret", e)); err != nil {
		return nil, nil, err
	}
	if sec == nil {
		sec = []byte{}
	}
	prev, err = s.sealer.SealString(e.PreviousSecret, store.EndpointSecretAD("previous_secret", e))
	return sec, prev, err
}

// CreateEndpoint implements store.DeliveryStore.
func (s *Store) CreateEndpoint(ctx context.Context, e store.WebhookEndpoint) (store.WebhookEndpoint, error) {
	if err := validEndpoint(e); err != nil {
		return e, err
	}
	e.ID = store.NewEndpointID()
	if e.IsDestination() {
		e.ID = store.NewDestinationID()
	}
	now := s.Now()
	e.CreatedAt, e.UpdatedAt = now, now
	e.PreviousExpiresAt, e.FailingSince = common.Time(e.PreviousExpiresAt), common.Time(e.FailingSince)
	sec, prev, err := s.sealSecrets(&e)
	if err != nil {
		return e, err
	}
	set, err := s.sealSettings(&e)
	if err != nil {
		return e, err
	}
	_, err = s.w.Exec(ctx, `INSERT INTO webhook_endpoints (`+endpointCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ClientUUID, e.Kind, e.URL, sec, prev, e.PreviousExpiresAt, store.EncodeDataStructures(e.DataStructures),
		e.Enabled, e.DisabledReason, e.FailingSince, now, now, e.Destination, set, e.Paused)
	if s.drv.IsForeignKey(err) {
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
	case e.IsDestination() && e.Kind != store.EndpointData:
		return health.Errorf(health.EINVALID, "destination: kind must be %s", store.EndpointData)
	case e.IsDestination() && len(e.Settings) == 0:
		return health.Errorf(health.EINVALID, "destination: settings are required")
	case e.IsDestination() && e.Secret != "":
		return health.Errorf(health.EINVALID, "destination: a destination has no signing secret")
	case !e.IsDestination() && len(e.Settings) > 0:
		return health.Errorf(health.EINVALID, "endpoint: settings are for destinations only")
	case !e.IsDestination() && e.Secret == "":
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

func (s *Store) getEndpoint(ctx context.Context, q db, id string) (store.WebhookEndpoint, error) {
	e, err := s.scanEndpoint(q.QueryRow(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE id = ?`, id))
	if noRows(err) {
		return e, notFound("webhook endpoint %s not found", id)
	}
	if err != nil {
		return e, fmt.Errorf("get endpoint %s: %w", id, err)
	}
	return e, nil
}

// ListEndpoints implements store.DeliveryStore.
func (s *Store) ListEndpoints(ctx context.Context, clientUUID string) ([]store.WebhookEndpoint, error) {
	return s.listEndpoints(ctx, "endpoints", `destination = ''`, clientUUID)
}

// ListDestinations implements store.DeliveryStore.
func (s *Store) ListDestinations(ctx context.Context, clientUUID string) ([]store.WebhookEndpoint, error) {
	return s.listEndpoints(ctx, "destinations", `destination <> ''`, clientUUID)
}

func (s *Store) listEndpoints(ctx context.Context, what, where, clientUUID string) ([]store.WebhookEndpoint, error) {
	q := `SELECT ` + endpointCols + ` FROM webhook_endpoints WHERE ` + where
	var args []any
	if clientUUID != "" {
		q += ` AND client_uuid = ?`
		args = append(args, clientUUID)
	}
	rows, err := s.r.Query(ctx, q+` ORDER BY client_uuid, created_at, id`, args...)
	out, err := collect(rows, err, s.scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// changeEndpoint reads the endpoint in a writing transaction, lets change
// modify it and writes what it returns.
func (s *Store) changeEndpoint(ctx context.Context, id, what string, change func(e *store.WebhookEndpoint) (string, []any, error)) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	err := s.inTx(ctx, func(tx db) error {
		var err error
		if e, err = s.getEndpoint(ctx, tx, id); err != nil {
			return err
		}
		set, args, err := change(&e)
		if err != nil {
			return err
		}
		e.UpdatedAt = s.Now()
		_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET `+set+`, updated_at = ? WHERE id = ?`, append(args, e.UpdatedAt, id)...)
		return err
	})
	if err != nil {
		return e, fmt.Errorf("%s of endpoint %s: %w", what, id, err)
	}
	return e, nil
}

// UpdateEndpoint implements store.DeliveryStore.
func (s *Store) UpdateEndpoint(ctx context.Context, id string, u store.EndpointUpdate) (store.WebhookEndpoint, error) {
	return s.changeEndpoint(ctx, id, "update", func(e *store.WebhookEndpoint) (string, []any, error) {
		if u.URL != nil {
			e.URL = *u.URL
		}
		if u.DataStructures != nil {
			e.DataStructures = store.DecodeDataStructures(store.EncodeDataStructures(*u.DataStructures))
		}
		if u.Settings != nil {
			e.Settings = *u.Settings
		}
		if err := validEndpoint(*e); err != nil {
			return "", nil, err
		}
		set, err := s.sealSettings(e)
		return `url = ?, data_structures = ?, settings = ?`, []any{e.URL, store.EncodeDataStructures(e.DataStructures), set}, err
	})
}

// SetEndpointPaused implements store.DeliveryStore.
func (s *Store) SetEndpointPaused(ctx context.Context, id string, paused bool) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	err := s.inTx(ctx, func(tx db) error {
		p := s.d.False
		if paused {
			p = s.d.True
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET paused = `+p+`, updated_at = ? WHERE id = ?`, s.Now(), id); err != nil {
			return err
		}
		var err error
		if e, err = s.getEndpoint(ctx, tx, id); err != nil {
			return err
		}
		if !paused {
			// Jobs that ran while it was paused ended without an attempt:
			// queue the deliveries again.
			_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET enqueued = `+s.d.False+` WHERE endpoint_id = ? AND status = 'pending'`, id)
		}
		return err
	})
	if err != nil {
		return e, fmt.Errorf("set endpoint %s paused=%v: %w", id, paused, err)
	}
	return e, nil
}

// RotateEndpointSecret implements store.DeliveryStore.
func (s *Store) RotateEndpointSecret(ctx context.Context, id, secret string, previousUntil time.Time) (store.WebhookEndpoint, error) {
	if secret == "" {
		return store.WebhookEndpoint{}, health.Errorf(health.EINVALID, "endpoint: secret is required")
	}
	return s.changeEndpoint(ctx, id, "rotate secret", func(e *store.WebhookEndpoint) (string, []any, error) {
		e.PreviousSecret, e.Secret = e.Secret, secret
		e.PreviousExpiresAt = common.Time(previousUntil)
		sec, prev, err := s.sealSecrets(e)
		return `secret = ?, previous_secret = ?, previous_expires_at = ?`, []any{sec, prev, e.PreviousExpiresAt}, err
	})
}

// SetEndpointEnabled implements store.DeliveryStore.
func (s *Store) SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string, now time.Time) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	err := s.inTx(ctx, func(tx db) error {
		var err error
		if enabled {
			reason = ""
			_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = `+s.d.True+`, disabled_reason = '', failing_since = NULL, updated_at = ? WHERE id = ?`,
				s.Now(), id)
		} else {
			_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = `+s.d.False+`, disabled_reason = ?, updated_at = ? WHERE id = ?`,
				reason, s.Now(), id)
		}
		if err != nil {
			return err
		}
		if e, err = s.getEndpoint(ctx, tx, id); err != nil {
			return err
		}
		if !enabled {
			_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'dead', last_error = ?, next_attempt_at = NULL,
				finished_at = ?, updated_at = ? WHERE endpoint_id = ? AND status = 'pending'`,
				"endpoint disabled: "+reason, now, now, id)
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
	return s.execOne(ctx, "delete endpoint "+id, "webhook endpoint "+id+" not found", `DELETE FROM webhook_endpoints WHERE id = ?`, id)
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

func targets(ctx context.Context, tx db, clientUUID, kind string) ([]target, error) {
	rows, err := tx.Query(ctx, `SELECT id, enabled, data_structures FROM webhook_endpoints WHERE client_uuid = ? AND kind = ? ORDER BY id`, clientUUID, kind)
	return collect(rows, err, func(r Row) (target, error) {
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
// targets; deliveries to a disabled endpoint are dead at once unless
// force keeps them pending. enqueued marks them as already queued.
func (s *Store) insertMessages(ctx context.Context, tx db, pms []pendingMessage, now time.Time, force, enqueued bool) ([]int64, error) {
	if len(pms) == 0 {
		return nil, nil
	}
	ms := make([]*store.WebhookMessage, len(pms))
	var ds []DeliveryRow
	for i, p := range pms {
		if p.m.WebhookID == "" {
			p.m.WebhookID = store.NewWebhookID()
		}
		p.m.CreatedAt = now
		ms[i] = p.m
		for _, t := range p.ts {
			d := DeliveryRow{Message: i, EndpointID: t.id, ClientUUID: p.m.ClientUUID, Status: store.DeliveryPending,
				Next: now, Enqueued: enqueued, Created: now}
			if !t.enabled && !force {
				d.Status, d.Next, d.Finished, d.LastError = store.DeliveryDead, time.Time{}, now, "endpoint disabled"
			}
			ds = append(ds, d)
		}
	}
	return s.batch.InsertMessages(ctx, tx, ms, ds)
}

// FanOut implements store.DeliveryStore. The rules: a record whose
// version the document has since left is superseded (the newer version's
// record delivers it) and only consumed; a current one becomes a message
// with a delivery to each data endpoint of the client that accepts its
// data structure. Records are taken with the driver's SkipLocked (or under
// SQLite's exclusive writer), so concurrent calls see each record once.
func (s *Store) FanOut(ctx context.Context, limit int, now time.Time) (store.FanOutResult, error) {
	if limit <= 0 {
		limit = 500
	}
	now = common.Time(now)
	var res store.FanOutResult
	err := s.inTx(ctx, func(tx db) error {
		res = store.FanOutResult{}
		type rec struct {
			id  int64
			m   store.WebhookMessage
			cur bool
		}
		rows, err := tx.Query(ctx, `SELECT o.id, h.client_uuid, h.user_id, h.data_structure, h.pillar, h.day, h.key, o.version,
			h.version = o.version, CASE WHEN h.version = o.version THEN h.body END
			FROM outbox o JOIN health_documents h ON h.id = o.health_document_id ORDER BY o.id LIMIT ?`+s.d.SkipLocked, limit)
		recs, err := collect(rows, err, func(r Row) (rec, error) {
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
		d, err := s.insertMessages(ctx, tx, ms, now, false, false)
		if err != nil {
			return err
		}
		res.Records, res.Messages, res.Deliveries = len(recs), len(ms), len(d)
		return chunks(ids, func(in string, args []any) error {
			_, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id IN `+in, args...)
			return err
		})
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
	err := s.inTx(ctx, func(tx db) error {
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
			err := tx.QueryRow(ctx, `SELECT id, enabled, client_uuid FROM webhook_endpoints WHERE id = ?`, id).Scan(&t.id, &t.enabled, &client)
			if noRows(err) || err == nil && client != m.ClientUUID {
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
		ids, err = s.insertMessages(ctx, tx, []pendingMessage{{&m, ts}}, now, test, test)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add %s message: %w", m.EventType, err)
	}
	return ids, nil
}

// Queue bookkeeping

// UnenqueuedDeliveries implements store.DeliveryStore.
func (s *Store) UnenqueuedDeliveries(ctx context.Context, limit int) ([]int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.ids(ctx, "unenqueued deliveries", `SELECT id FROM webhook_deliveries d WHERE status = 'pending' AND enqueued = `+s.d.False+`
		AND `+s.notPaused()+` ORDER BY id LIMIT ?`, limit)
}

// MarkEnqueued implements store.DeliveryStore.
func (s *Store) MarkEnqueued(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx db) error {
		return chunks(ids, func(in string, args []any) error {
			_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET enqueued = `+s.d.True+` WHERE id IN `+in, args...)
			return err
		})
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
	return s.ids(ctx, "overdue deliveries", `SELECT id FROM webhook_deliveries d WHERE status = 'pending' AND next_attempt_at < ?
		AND `+s.notPaused()+` ORDER BY next_attempt_at, id LIMIT ?`, before, limit)
}

// notPaused is a condition true for a delivery d whose endpoint is not
// paused.
func (s *Store) notPaused() string {
	return `NOT EXISTS (SELECT 1 FROM webhook_endpoints pe WHERE pe.id = d.endpoint_id AND pe.paused = ` + s.d.True + `)`
}

// Deliveries

const deliveryCols = `d.id, d.message_id, d.endpoint_id, d.client_uuid, d.status, d.attempts, d.round_attempts, d.replays,
	d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.created_at, d.updated_at, d.finished_at,
	m.webhook_id, m.user_id, m.kind, m.event_type, m.pillar, m.day, m.doc_key, m.version`

const deliveryFrom = ` FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id`

func scanDelivery(row Row, extra ...any) (store.Delivery, error) {
	var d store.Delivery
	dest := []any{&d.ID, &d.MessageID, &d.EndpointID, &d.ClientUUID, &d.Status, &d.Attempts, &d.RoundAttempts, &d.Replays,
		&d.NextAttemptAt, &d.LastAttemptAt, &d.LastStatusCode, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &d.FinishedAt,
		&d.WebhookID, &d.UserID, &d.Kind, &d.EventType, &d.Pillar, &d.Day, &d.Key, &d.Version}
	return d, row.Scan(append(dest, extra...)...)
}

// GetDelivery implements store.DeliveryStore.
func (s *Store) GetDelivery(ctx context.Context, id int64) (store.Delivery, error) {
	var body []byte
	d, err := scanDelivery(s.r.QueryRow(ctx, `SELECT `+deliveryCols+`, m.body`+deliveryFrom+` WHERE d.id = ?`, id), &body)
	if noRows(err) {
		return d, notFound("delivery %d not found", id)
	}
	if err != nil {
		return d, fmt.Errorf("get delivery %d: %w", id, err)
	}
	d.Body = body
	return d, nil
}

// endpointColsOfE is endpointCols of the endpoint joined as e.
var endpointColsOfE = "e." + strings.ReplaceAll(strings.Join(strings.Fields(endpointCols), " "), ", ", ", e.")

// GetDeliveryToSend implements store.DeliveryStore: one query, where
// GetDelivery and GetEndpoint take two.
func (s *Store) GetDeliveryToSend(ctx context.Context, id int64) (store.Delivery, store.WebhookEndpoint, error) {
	var body []byte
	var e store.WebhookEndpoint
	var c sealedCols
	d, err := scanDelivery(s.r.QueryRow(ctx, `SELECT `+deliveryCols+`, m.body, `+endpointColsOfE+deliveryFrom+`
		JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?`, id), append([]any{&body}, c.dests(&e)...)...)
	if noRows(err) {
		return d, e, notFound("delivery %d not found", id)
	}
	if err != nil {
		return d, e, fmt.Errorf("get delivery %d to send: %w", id, err)
	}
	d.Body = body
	return d, e, s.openEndpoint(&e, c)
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
// commit for the whole batch, and a fixed number of statements per step
// where the Batcher sets rows at once (see recordAttempts).
func (s *Store) RecordAttempts(ctx context.Context, rs []store.AttemptRecord) ([]store.AttemptResult, error) {
	var out []store.AttemptResult
	err := s.inTx(ctx, func(tx db) error {
		var err error
		out, err = s.recordAttempts(ctx, tx, rs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record attempts: %w", err)
	}
	return out, nil
}

// AttemptRow is one attempt record as ApplyAttempts writes it: the
// delivery's new state, decided by recordAttempts, and the attempt.
type AttemptRow struct {
	DeliveryID int64
	// Expect is the attempt count the delivery must still have.
	Expect     int
	Status     string
	Next       time.Time
	At         time.Time
	Finished   time.Time
	StatusCode int
	LastError  string
	Duration   time.Duration
	ErrorClass string
	Error      string
	Response   []byte
}

// recordAttempts applies records in order, as if one by one: a delivery
// moves only from pending with the attempt count the caller read (else
// ECONFLICT), to pending (due at NextAttemptAt) or finished; the attempt
// is kept; the endpoint's failing_since starts at the first failure and
// clears on a success. The deliveries move in rounds of distinct ids (one
// round but for a job that ran twice), each endpoint is updated once, and
// the deliveries are read back with one query: a batch costs a few
// statements more than its rows on SQLite, a few round trips in all on
// PostgreSQL. A health.Error comes from no failed statement, so the
// transaction stays usable; any other error fails the batch.
func (s *Store) recordAttempts(ctx context.Context, tx db, rs []store.AttemptRecord) ([]store.AttemptResult, error) {
	out := make([]store.AttemptResult, len(rs))
	rows := make([]AttemptRow, len(rs))
	endpoint := make([]string, len(rs)) // "" where the record did not apply
	var pending []int
	for i, r := range rs {
		var err error
		if rows[i], err = attemptRow(r); err != nil {
			out[i].Err = fmt.Errorf("record attempt of delivery %d: %w", r.DeliveryID, err)
			continue
		}
		pending = append(pending, i)
	}
	for len(pending) > 0 {
		seen := make(map[int64]bool, len(pending))
		var round, later []int
		var batch []AttemptRow
		for _, i := range pending {
			if seen[rs[i].DeliveryID] {
				later = append(later, i)
				continue
			}
			seen[rs[i].DeliveryID] = true
			round, batch = append(round, i), append(batch, rows[i])
		}
		applied, err := s.batch.ApplyAttempts(ctx, tx, batch)
		if err != nil {
			return nil, err
		}
		for _, i := range round {
			endpoint[i] = applied[rs[i].DeliveryID]
		}
		pending = later
	}
	var ids []any
	for i, r := range rs {
		if out[i].Err != nil {
			continue
		}
		if endpoint[i] == "" {
			err := attemptConflict(ctx, tx, r.DeliveryID)
			if health.ErrorCode(err) == health.EINTERNAL {
				return nil, fmt.Errorf("delivery %d: %w", r.DeliveryID, err)
			}
			out[i].Err = fmt.Errorf("record attempt of delivery %d: %w", r.DeliveryID, err)
			continue
		}
		ids = append(ids, r.DeliveryID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	if err := failingSince(ctx, tx, s.d, rs, endpoint, out); err != nil {
		return nil, err
	}
	res, err := tx.Query(ctx, `SELECT `+deliveryCols+deliveryFrom+` WHERE d.id IN `+placeholders(len(ids)), ids...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	byID := make(map[int64]store.Delivery, len(ids))
	for res.Next() {
		d, err := scanDelivery(res)
		if err != nil {
			return nil, err
		}
		byID[d.ID] = d
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	for i, r := range rs {
		if endpoint[i] != "" {
			out[i].Delivery = byID[r.DeliveryID]
		}
	}
	return out, nil
}

// attemptRow is the row that records r.
func attemptRow(r store.AttemptRecord) (AttemptRow, error) {
	a := r.Attempt
	row := AttemptRow{DeliveryID: r.DeliveryID, Expect: r.ExpectAttempts, Status: r.Status, At: common.Time(a.AttemptedAt),
		StatusCode: a.StatusCode, LastError: a.Error, Duration: a.Duration, ErrorClass: a.ErrorClass, Error: a.Error, Response: keep(a.Response)}
	switch r.Status {
	case store.DeliveryPending:
		row.Next = common.Time(r.NextAttemptAt)
	case store.DeliverySucceeded, store.DeliveryDead:
		row.Finished = row.At
	default:
		return row, health.Errorf(health.EINVALID, "unknown delivery status %q", r.Status)
	}
	if row.LastError == "" && a.ErrorClass != "" {
		row.LastError = a.ErrorClass
	}
	return row, nil
}

// failingSince updates the failing_since of each endpoint that records
// applied to (endpoint[i] != ""), once, to what applying them in order
// leaves, and sets the FailingSince of each failed record's result to
// the value right after it. An endpoint with failures is read first (and
// locked, in id order, against other processes' batches).
func failingSince(ctx context.Context, tx db, d Dialect, rs []store.AttemptRecord, endpoint []string, out []store.AttemptResult) error {
	byEndpoint := map[string][]int{}
	for i, ep := range endpoint {
		if ep != "" {
			byEndpoint[ep] = append(byEndpoint[ep], i)
		}
	}
	eps := slices.Sorted(maps.Keys(byEndpoint))
	for _, ep := range eps {
		idx := byEndpoint[ep]
		if !slices.ContainsFunc(idx, func(i int) bool { return rs[i].Failed }) {
			if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, ep); err != nil {
				return err
			}
			continue
		}
		var was time.Time
		err := tx.QueryRow(ctx, `SELECT failing_since FROM webhook_endpoints WHERE id = ?`+d.LockRow, ep).Scan(&was)
		if noRows(err) {
			continue // deleted with its deliveries: nothing was applied
		}
		if err != nil {
			return err
		}
		fs := was
		for _, i := range idx {
			switch {
			case !rs[i].Failed:
				fs = time.Time{}
			case fs.IsZero():
				fs = common.Time(rs[i].Attempt.AttemptedAt)
			}
			if rs[i].Failed {
				out[i].FailingSince = fs
			}
		}
		if !fs.Equal(was) {
			if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?`, fs, ep); err != nil {
				return err
			}
		}
	}
	return nil
}

func attemptConflict(ctx context.Context, tx db, id int64) error {
	var status string
	var attempts int
	err := tx.QueryRow(ctx, `SELECT status, attempts FROM webhook_deliveries WHERE id = ?`, id).Scan(&status, &attempts)
	if noRows(err) {
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
	n, err := s.w.Exec(ctx, `UPDATE webhook_deliveries SET status = 'dead', last_error = ?, next_attempt_at = NULL, finished_at = ?, updated_at = ?
		WHERE id = ? AND status = 'pending'`, reason, now, now, id)
	if err != nil {
		return false, fmt.Errorf("kill delivery %d: %w", id, err)
	}
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
		add(`d.created_at >= ?`, q.CreatedFrom)
	}
	if !q.CreatedTo.IsZero() {
		add(`d.created_at < ?`, q.CreatedTo)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.Query(ctx, `SELECT `+deliveryCols+deliveryFrom+` WHERE `+strings.Join(where, ` AND `)+` ORDER BY d.id LIMIT ?`,
		append(args, limit)...)
	out, err := collect(rows, err, func(r Row) (store.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// ListAttempts implements store.DeliveryStore, in attempt order.
func (s *Store) ListAttempts(ctx context.Context, deliveryID int64) ([]store.DeliveryAttempt, error) {
	rows, err := s.r.Query(ctx, `SELECT id, delivery_id, attempt, attempted_at, status_code, duration_us, error_class, error, response
		FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt, id`, deliveryID)
	out, err := collect(rows, err, func(r Row) (store.DeliveryAttempt, error) {
		var a store.DeliveryAttempt
		var us int64
		err := r.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &a.AttemptedAt, &a.StatusCode, &us, &a.ErrorClass, &a.Error, &a.Response)
		a.Duration = time.Duration(us) * time.Microsecond
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %d: %w", deliveryID, err)
	}
	return out, nil
}

// ReplayDeliveries implements store.DeliveryStore.
func (s *Store) ReplayDeliveries(ctx context.Context, q store.ReplayQuery, now time.Time) (int, error) {
	set := `UPDATE webhook_deliveries SET status = 'pending', round_attempts = 0, replays = replays + 1, next_attempt_at = ?,
		enqueued = ` + s.d.False + `, finished_at = NULL, updated_at = ?
		WHERE endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled = ` + s.d.True + `) AND `
	base := []any{now, now}
	var n int64
	err := s.inTx(ctx, func(tx db) error {
		if len(q.IDs) > 0 {
			return chunks(q.IDs, func(in string, args []any) error {
				c, err := tx.Exec(ctx, set+`status <> 'pending' AND id IN `+in, append(append([]any(nil), base...), args...)...)
				n += c
				return err
			})
		}
		if q.ClientUUID == "" {
			return health.Errorf(health.EINVALID, "replay: delivery ids or a client are required")
		}
		cond := `status = 'dead' AND client_uuid = ?`
		args := append(base, q.ClientUUID)
		if !q.CreatedFrom.IsZero() {
			cond += ` AND created_at >= ?`
			args = append(args, q.CreatedFrom)
		}
		if !q.CreatedTo.IsZero() {
			cond += ` AND created_at < ?`
			args = append(args, q.CreatedTo)
		}
		var err error
		n, err = tx.Exec(ctx, set+cond, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("replay deliveries: %w", err)
	}
	return int(n), nil
}

const pruneBatch = 2000

// PruneDeliveries implements store.DeliveryStore, in batches so that no
// transaction runs for long.
func (s *Store) PruneDeliveries(ctx context.Context, deadBefore, succeededBefore time.Time) (int, error) {
	total := 0
	for {
		var n, m int64
		err := s.inTx(ctx, func(tx db) error {
			var err error
			n, err = tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
				WHERE status = 'dead' AND finished_at < ? OR status = 'succeeded' AND finished_at < ? LIMIT ?)`,
				deadBefore, succeededBefore, pruneBatch)
			if err != nil {
				return err
			}
			m, err = tx.Exec(ctx, `DELETE FROM webhook_messages WHERE id IN (SELECT m.id FROM webhook_messages m
				WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id) LIMIT ?)`, pruneBatch)
			return err
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

// SealedEndpointColumns returns an endpoint's secret and settings columns
// as stored (sealed), for checks that nothing is kept in clear.
func (s *Store) SealedEndpointColumns(ctx context.Context, id string) (secret, settings []byte, err error) {
	err = s.r.QueryRow(ctx, `SELECT secret, settings FROM webhook_endpoints WHERE id = ?`, id).Scan(&secret, &settings)
	if noRows(err) {
		return nil, nil, notFound("webhook endpoint %s not found", id)
	}
	return secret, settings, err
}
