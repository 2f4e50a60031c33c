package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
	"github.com/wearlink/wearlink/internal/store/sqlstore"
)

// batcher implements sqlstore.Batcher with arrays: one statement per step
// of a batch, whatever its size.
type batcher struct{}

func (batcher) StoredRaw(ctx context.Context, tx sqlstore.Querier, keys []common.RawKey) (map[common.RawKey]sqlstore.StoredRaw, error) {
	conns, colls, ids := make([]int64, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		conns[i], colls[i], ids[i] = k.ConnectionID, k.Collection, k.ExternalID
	}
	rows, err := tx.Query(ctx, `SELECT r.connection_id, r.collection, r.external_id, r.hash, r.day
		FROM raw_documents r JOIN unnest(?::bigint[], ?::text[], ?::text[]) AS k(c, coll, id)
		  ON r.connection_id = k.c AND r.collection = k.coll AND r.external_id = k.id`, conns, colls, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[common.RawKey]sqlstore.StoredRaw, len(keys))
	for rows.Next() {
		var k common.RawKey
		var o sqlstore.StoredRaw
		if err := rows.Scan(&k.ConnectionID, &k.Collection, &k.ExternalID, &o.Hash, &o.Day); err != nil {
			return nil, err
		}
		out[k] = o
	}
	return out, rows.Err()
}

func (batcher) WriteRaw(ctx context.Context, tx sqlstore.Querier, docs []common.RawInput) ([]sqlstore.RawWritten, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	var w struct {
		conn             []int64
		coll, id, day    []string
		body, hash       [][]byte
		fetched, updated []time.Time
	}
	for _, d := range docs {
		w.conn, w.coll, w.id, w.day = append(w.conn, d.ConnectionID), append(w.coll, d.Collection), append(w.id, d.ExternalID), append(w.day, d.Day)
		w.body, w.hash = append(w.body, d.Body), append(w.hash, d.Hash)
		w.fetched, w.updated = append(w.fetched, d.FetchedAt), append(w.updated, d.UpdatedAt)
	}
	rows, err := tx.Query(ctx, `INSERT INTO raw_documents AS r (connection_id, collection, external_id, day, body, hash, fetched_at, updated_at)
		SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::bytea[], ?::bytea[], ?::timestamptz[], ?::timestamptz[])
		ON CONFLICT (connection_id, collection, external_id) DO UPDATE SET
			day = excluded.day, body = excluded.body, hash = excluded.hash, updated_at = excluded.updated_at
		WHERE r.hash <> excluded.hash
		RETURNING connection_id, collection, external_id, xmax = 0`,
		w.conn, w.coll, w.id, w.day, w.body, w.hash, w.fetched, w.updated)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqlstore.RawWritten
	for rows.Next() {
		var x sqlstore.RawWritten
		if err := rows.Scan(&x.Key.ConnectionID, &x.Key.Collection, &x.Key.ExternalID, &x.Inserted); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func (batcher) StoredHealth(ctx context.Context, tx sqlstore.Querier, keys []common.HealthKey) ([]*sqlstore.StoredHealth, error) {
	var c, u, ds, p, k []string
	for _, h := range keys {
		c, u, ds, p, k = append(c, h.ClientUUID), append(u, h.UserID), append(ds, h.DataStructure), append(p, h.Pillar), append(k, h.Key)
	}
	rows, err := tx.Query(ctx, `SELECT k.i, h.id, h.version, h.hash
		FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS k(c, u, ds, p, key, i)
		JOIN health_documents h ON h.client_uuid = k.c AND h.user_id = k.u AND h.data_structure = k.ds AND h.pillar = k.p AND h.key = k.key`,
		c, u, ds, p, k)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]*sqlstore.StoredHealth, len(keys))
	for rows.Next() {
		var i int
		var o sqlstore.StoredHealth
		if err := rows.Scan(&i, &o.ID, &o.Version, &o.Hash); err != nil {
			return nil, err
		}
		out[i-1] = &o
	}
	return out, rows.Err()
}

func (batcher) WriteHealth(ctx context.Context, tx sqlstore.Querier, ins, upd []sqlstore.HealthRow, now time.Time) ([]int64, error) {
	cols := func(rs []sqlstore.HealthRow) (c, u, ds, p, key, day []string, id []int64, version []int, body, hash [][]byte) {
		for _, r := range rs {
			c, u, ds, p, key = append(c, r.Key.ClientUUID), append(u, r.Key.UserID), append(ds, r.Key.DataStructure), append(p, r.Key.Pillar), append(key, r.Key.Key)
			day, id, version, body, hash = append(day, r.Day), append(id, r.ID), append(version, r.Version), append(body, r.Body), append(hash, r.Hash)
		}
		return
	}
	var ids []int64
	if len(ins) > 0 {
		c, u, ds, p, key, day, _, _, body, hash := cols(ins)
		index := make(map[common.HealthKey]int, len(ins))
		for i, r := range ins {
			index[r.Key] = i
		}
		ids = make([]int64, len(ins))
		err := scanEach(tx.Query(ctx, `INSERT INTO health_documents (client_uuid, user_id, data_structure, pillar, key, day, version, body, hash, created_at, updated_at)
			SELECT c, u, ds, p, key, day, 1, body, hash, ?, ?
			FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bytea[], ?::bytea[]) AS k(c, u, ds, p, key, day, body, hash)
			RETURNING id, client_uuid, user_id, data_structure, pillar, key`, now, now, c, u, ds, p, key, day, body, hash))(func(r sqlstore.Row) error {
			var id int64
			var k common.HealthKey
			err := r.Scan(&id, &k.ClientUUID, &k.UserID, &k.DataStructure, &k.Pillar, &k.Key)
			ids[index[k]] = id
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if len(upd) > 0 {
		_, _, _, _, _, day, id, version, body, hash := cols(upd)
		if _, err := tx.Exec(ctx, `UPDATE health_documents h SET day = k.day, version = k.version, body = k.body, hash = k.hash, updated_at = ?
			FROM unnest(?::bigint[], ?::text[], ?::int[], ?::bytea[], ?::bytea[]) AS k(id, day, version, body, hash)
			WHERE h.id = k.id`, now, id, day, version, body, hash); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// InsertOutbox also notifies OutboxChannel in the same statement: the
// notification is sent when the transaction commits and not at all if it
// rolls back, so the other processes' listeners (ListenOutbox) wake their
// fan-out only for records they can see.
func (batcher) InsertOutbox(ctx context.Context, tx sqlstore.Querier, docIDs []int64, versions []int, now time.Time) error {
	_, err := tx.Exec(ctx, `WITH ins AS (INSERT INTO outbox (health_document_id, version, created_at)
		SELECT id, version, ? FROM unnest(?::bigint[], ?::int[]) WITH ORDINALITY AS k(id, version, i) ORDER BY i RETURNING 1)
		SELECT pg_notify('`+OutboxChannel+`', coalesce(current_schema(), '')) WHERE EXISTS (SELECT FROM ins)`, now, docIDs, versions)
	return err
}

// InsertMessages writes the messages in one statement and then the
// deliveries in another: two round trips.
func (batcher) InsertMessages(ctx context.Context, tx sqlstore.Querier, ms []*store.WebhookMessage, ds []sqlstore.DeliveryRow) ([]int64, error) {
	var m struct {
		wid, client, user, kind, event, pillar, day, key []string
		version                                          []int
		body                                             [][]byte
		created                                          []time.Time
	}
	for _, x := range ms {
		m.wid, m.client, m.user, m.kind = append(m.wid, x.WebhookID), append(m.client, x.ClientUUID), append(m.user, x.UserID), append(m.kind, x.Kind)
		m.event, m.pillar, m.day, m.key = append(m.event, x.EventType), append(m.pillar, x.Pillar), append(m.day, x.Day), append(m.key, x.Key)
		m.version, m.body, m.created = append(m.version, x.Version), append(m.body, x.Body), append(m.created, x.CreatedAt)
	}
	byWebhookID := make(map[string]*store.WebhookMessage, len(ms))
	for _, x := range ms {
		byWebhookID[x.WebhookID] = x
	}
	err := scanEach(tx.Query(ctx, `INSERT INTO webhook_messages (webhook_id, client_uuid, user_id, kind, event_type, pillar, day, doc_key, version, body, created_at)
		SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::bytea[], ?::timestamptz[])
		RETURNING id, webhook_id`, m.wid, m.client, m.user, m.kind, m.event, m.pillar, m.day, m.key, m.version, m.body, m.created))(func(r sqlstore.Row) error {
		var id int64
		var wid string
		err := r.Scan(&id, &wid)
		byWebhookID[wid].ID = id
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	var d struct {
		msg                               []int64
		endpoint, client, status, lastErr []string
		next, finished                    []*time.Time
		enqueued                          []bool
		created                           []time.Time
	}
	type key struct {
		msg      int64
		endpoint string
	}
	index := make(map[key]int, len(ds))
	for i, x := range ds {
		id := ms[x.Message].ID
		index[key{id, x.EndpointID}] = i
		d.msg, d.endpoint, d.client, d.status = append(d.msg, id), append(d.endpoint, x.EndpointID), append(d.client, x.ClientUUID), append(d.status, x.Status)
		d.lastErr, d.next, d.finished = append(d.lastErr, x.LastError), append(d.next, optTime(x.Next)), append(d.finished, optTime(x.Finished))
		d.enqueued, d.created = append(d.enqueued, x.Enqueued), append(d.created, x.Created)
	}
	ids := make([]int64, len(ds))
	err = scanEach(tx.Query(ctx, `INSERT INTO webhook_deliveries (message_id, endpoint_id, client_uuid, status, next_attempt_at, enqueued,
			last_error, created_at, updated_at, finished_at)
		SELECT m, e, c, s, n, q, l, t, t, f FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::boolean[],
			?::text[], ?::timestamptz[], ?::timestamptz[]) AS k(m, e, c, s, n, q, l, t, f)
		RETURNING id, message_id, endpoint_id`, d.msg, d.endpoint, d.client, d.status, d.next, d.enqueued, d.lastErr, d.created, d.finished))(func(r sqlstore.Row) error {
		var id int64
		var k key
		err := r.Scan(&id, &k.msg, &k.endpoint)
		ids[index[k]] = id
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("insert deliveries: %w", err)
	}
	return ids, nil
}

// ApplyAttempts moves the deliveries and inserts the attempts of the
// moved ones in one statement: one round trip, whatever the batch.
func (batcher) ApplyAttempts(ctx context.Context, tx sqlstore.Querier, rows []sqlstore.AttemptRow) (map[int64]string, error) {
	var a struct {
		id, dur                      []int64
		expect, code                 []int
		status, lastErr, class, errs []string
		next, finished               []*time.Time
		at                           []time.Time
		resp                         [][]byte
	}
	for _, r := range rows {
		a.id, a.expect, a.status, a.next = append(a.id, r.DeliveryID), append(a.expect, r.Expect), append(a.status, r.Status), append(a.next, optTime(r.Next))
		a.at, a.code, a.lastErr, a.finished = append(a.at, r.At), append(a.code, r.StatusCode), append(a.lastErr, r.LastError), append(a.finished, optTime(r.Finished))
		a.dur, a.class, a.errs, a.resp = append(a.dur, r.Duration.Microseconds()), append(a.class, r.ErrorClass), append(a.errs, r.Error), append(a.resp, r.Response)
	}
	out := make(map[int64]string, len(rows))
	err := scanEach(tx.Query(ctx, `WITH u AS (
			UPDATE webhook_deliveries d SET attempts = d.attempts + 1, round_attempts = d.round_attempts + 1,
				status = r.status, next_attempt_at = r.next, last_attempt_at = r.at, last_status_code = r.code,
				last_error = r.last_error, updated_at = r.at, finished_at = r.finished
			FROM unnest(?::bigint[], ?::int[], ?::text[], ?::timestamptz[], ?::timestamptz[], ?::int[], ?::text[], ?::timestamptz[],
				?::bigint[], ?::text[], ?::text[], ?::bytea[])
				AS r(id, expect, status, next, at, code, last_error, finished, dur, class, error, response)
			WHERE d.id = r.id AND d.status = 'pending' AND d.attempts = r.expect
			RETURNING d.id, d.endpoint_id, r.expect, r.at, r.code, r.dur, r.class, r.error, r.response),
		ins AS (
			INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, duration_us, error_class, error, response)
			SELECT id, expect + 1, at, code, dur, class, error, response FROM u)
		SELECT id, endpoint_id FROM u`,
		a.id, a.expect, a.status, a.next, a.at, a.code, a.lastErr, a.finished, a.dur, a.class, a.errs, a.resp))(func(r sqlstore.Row) error {
		var id int64
		var ep string
		err := r.Scan(&id, &ep)
		out[id] = ep
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("apply attempts: %w", err)
	}
	return out, nil
}

// optTime is nil for the zero time, which a timestamptz array holds as
// NULL.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// scanEach calls fn for each row of a query's result.
func scanEach(rows sqlstore.Rows, err error) func(fn func(sqlstore.Row) error) error {
	return func(fn func(sqlstore.Row) error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}
