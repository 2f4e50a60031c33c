package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// Batcher does the bulk reads and writes of document batches, inside the
// caller's transaction. The rules (what is new, changed or unchanged,
// which version a document gets) are decided here, not in a Batcher.
type Batcher interface {
	// StoredRaw returns the hash and day of each stored document of keys.
	StoredRaw(ctx context.Context, tx Querier, keys []common.RawKey) (map[common.RawKey]StoredRaw, error)
	// WriteRaw inserts each document, or updates it where its stored
	// hash differs, and reports each row it wrote.
	WriteRaw(ctx context.Context, tx Querier, docs []common.RawInput) ([]RawWritten, error)
	// StoredHealth returns the stored id, version and hash of each key
	// (nil when not stored), in the order of keys.
	StoredHealth(ctx context.Context, tx Querier, keys []common.HealthKey) ([]*StoredHealth, error)
	// WriteHealth inserts ins (version 1) and updates upd, and returns
	// the ids of the inserted documents in the order of ins.
	WriteHealth(ctx context.Context, tx Querier, ins, upd []HealthRow, now time.Time) ([]int64, error)
	// InsertOutbox writes one outbox record per document version.
	InsertOutbox(ctx context.Context, tx Querier, docIDs []int64, versions []int, now time.Time) error
	// InsertMessages writes the messages (setting their IDs) and then
	// the deliveries, returning the deliveries' ids in order.
	InsertMessages(ctx context.Context, tx Querier, ms []*store.WebhookMessage, ds []DeliveryRow) ([]int64, error)
	// ApplyAttempts moves each delivery of rows (distinct deliveries) that
	// is still pending with the row's Expect attempts to the row's state
	// and keeps the row's attempt; it returns the endpoint of each
	// delivery it moved, by delivery id.
	ApplyAttempts(ctx context.Context, tx Querier, rows []AttemptRow) (map[int64]string, error)
}

// StoredRaw is what WriteRaw compares against.
type StoredRaw struct {
	Hash []byte
	Day  string
}

// RawWritten is a raw document row WriteRaw inserted or updated.
type RawWritten struct {
	Key      common.RawKey
	Inserted bool
}

// StoredHealth is a stored health document's identity and version.
type StoredHealth struct {
	ID      int64
	Version int
	Hash    []byte
}

// HealthRow is a health document to write. ID is set for updates.
type HealthRow struct {
	ID      int64
	Key     common.HealthKey
	Day     string
	Version int
	Body    []byte
	Hash    []byte
}

// DeliveryRow is a delivery to insert; Message indexes the messages.
type DeliveryRow struct {
	Message    int
	EndpointID string
	ClientUUID string
	Status     string
	Next       time.Time
	Enqueued   bool
	LastError  string
	Created    time.Time
	Finished   time.Time
}

// Raw documents

// PutRawDocuments implements store.Store. One transaction: read the stored
// hashes, then write only the new and changed documents. The write
// re-checks the hash, so a concurrent writer of the same bytes makes it a
// no-op rather than a second update.
func (s *Store) PutRawDocuments(ctx context.Context, docs []store.RawDocument) (store.RawWrite, error) {
	var res store.RawWrite
	if len(docs) == 0 {
		return res, nil
	}
	in, err := common.PrepareRaw(docs, s.Now())
	if err != nil {
		return res, err
	}
	keys := make([]common.RawKey, len(in))
	for i, d := range in {
		keys[i] = d.Key
	}
	days := common.Days{}
	err = s.inTx(ctx, func(tx db) error {
		res = store.RawWrite{}
		clear(days)
		stored, err := s.batch.StoredRaw(ctx, tx, keys)
		if err != nil {
			return err
		}
		var changed []common.RawInput
		for _, d := range in {
			if o, ok := stored[d.Key]; !ok || !common.SameHash(o.Hash, d.Hash) {
				changed = append(changed, d)
			}
		}
		day := make(map[common.RawKey]string, len(changed))
		for _, d := range changed {
			day[d.Key] = d.Day
		}
		written, err := s.batch.WriteRaw(ctx, tx, changed)
		if s.drv.IsForeignKey(err) {
			return notFound("connection not found (one of the batch's)")
		}
		if err != nil {
			return err
		}
		for _, w := range written {
			days.Add(day[w.Key])
			if w.Inserted {
				res.Inserted++
			} else {
				res.Updated++
				days.Add(stored[w.Key].Day) // a document that moved leaves its old day to redo too
			}
		}
		res.Unchanged = len(in) - len(written)
		return nil
	})
	if err != nil {
		return store.RawWrite{}, fmt.Errorf("put raw documents: %w", err)
	}
	res.ChangedDays = days.Sorted()
	return res, nil
}

// RawDocuments implements store.Store, in (day, collection, external_id)
// order, documents without a day first.
func (s *Store) RawDocuments(ctx context.Context, connectionID int64, collections []string, fromDay, toDay string) ([]store.RawDocument, error) {
	q := `SELECT ` + rawColumns + ` FROM raw_documents WHERE connection_id = ?`
	args := []any{connectionID}
	if len(collections) > 0 {
		q += ` AND collection IN ` + placeholders(len(collections))
		for _, c := range collections {
			args = append(args, c)
		}
	}
	if fromDay != "" {
		q += ` AND (day = '' OR day >= ?)`
		args = append(args, fromDay)
	}
	if toDay != "" {
		q += ` AND (day = '' OR day <= ?)`
		args = append(args, toDay)
	}
	rows, err := s.r.Query(ctx, q+` ORDER BY day, collection, external_id`, args...)
	out, err := collect(rows, err, scanRaw)
	if err != nil {
		return nil, fmt.Errorf("raw documents of connection %d: %w", connectionID, err)
	}
	return out, nil
}

// CountRawDocuments implements store.Store: documents per collection.
func (s *Store) CountRawDocuments(ctx context.Context, connectionID int64) (map[string]int, error) {
	return s.counts(ctx, "count raw documents", `SELECT collection, count(*) FROM raw_documents WHERE connection_id = ? GROUP BY collection`, connectionID)
}

// rawColumns are the columns scanRaw reads, in its order.
const rawColumns = `connection_id, collection, external_id, day, body, hash, fetched_at, updated_at`

func scanRaw(r Row) (store.RawDocument, error) {
	var d store.RawDocument
	var body []byte
	err := r.Scan(&d.ConnectionID, &d.Collection, &d.ExternalID, &d.Day, &body, &d.Hash, &d.FetchedAt, &d.UpdatedAt)
	d.Body = body
	return d, err
}

// RawDocument implements store.Store.
func (s *Store) RawDocument(ctx context.Context, connectionID int64, collection, externalID string) (store.RawDocument, error) {
	d, err := scanRaw(s.r.QueryRow(ctx, `SELECT `+rawColumns+` FROM raw_documents
		WHERE connection_id = ? AND collection = ? AND external_id = ?`, connectionID, collection, externalID))
	if noRows(err) {
		return store.RawDocument{}, notFound("raw document %s %q of connection %d not found", collection, externalID, connectionID)
	}
	if err != nil {
		return store.RawDocument{}, fmt.Errorf("raw document %s %q of connection %d: %w", collection, externalID, connectionID, err)
	}
	return d, nil
}

// DeleteRawDocument implements store.Store: one statement, so the row is
// read and removed at once, and of two concurrent deletes of one document
// exactly one gets it back.
func (s *Store) DeleteRawDocument(ctx context.Context, connectionID int64, collection, externalID string) (store.RawDocument, error) {
	d, err := scanRaw(s.w.QueryRow(ctx, `DELETE FROM raw_documents
		WHERE connection_id = ? AND collection = ? AND external_id = ? RETURNING `+rawColumns, connectionID, collection, externalID))
	if noRows(err) {
		return store.RawDocument{}, notFound("raw document %s %q of connection %d not found", collection, externalID, connectionID)
	}
	if err != nil {
		return store.RawDocument{}, fmt.Errorf("delete raw document %s %q of connection %d: %w", collection, externalID, connectionID, err)
	}
	return d, nil
}

// Health documents

// ApplyHealthDocuments implements store.Store, in one transaction:
//
//  1. lock every user of the batch (Driver.LockUsers, in key order, so two
//     batches never wait on each other in a cycle); a concurrent call for
//     the same user waits there and then sees this one's commit;
//  2. read the stored versions and hashes;
//  3. insert the new documents (version 1), update the changed ones
//     (stored version + 1), leave the unchanged ones;
//  4. write an outbox record for each inserted or updated document.
//
// FanOut takes outbox records with SKIP LOCKED where the engine has it, so
// outbox ids need not become visible in order, and no lock beyond the
// users' is needed.
func (s *Store) ApplyHealthDocuments(ctx context.Context, docs []store.HealthInput) (store.HealthWrite, error) {
	var res store.HealthWrite
	if len(docs) == 0 {
		return res, nil
	}
	in, err := common.PrepareHealth(docs)
	if err != nil {
		return res, err
	}
	now := s.Now()
	versions := make([]int, len(in)) // the version each Doc ends with
	keys := make([]common.HealthKey, len(in))
	var lockKeys []string
	for i, h := range in {
		keys[i] = h.HealthKey
		if i == 0 || h.ClientUUID != in[i-1].ClientUUID || h.UserID != in[i-1].UserID {
			// Length-prefixed: a client UUID may hold any separator.
			lockKeys = append(lockKeys, fmt.Sprintf("wearlink.health:%d:%s:%s", len(h.ClientUUID), h.ClientUUID, h.UserID))
		}
	}
	err = s.inTx(ctx, func(tx db) error {
		res = store.HealthWrite{}
		if err := s.drv.LockUsers(ctx, tx, lockKeys); err != nil {
			return err
		}
		stored, err := s.batch.StoredHealth(ctx, tx, keys)
		if err != nil {
			return err
		}
		var ins, upd []HealthRow
		var insIdx, updIdx []int
		for i := range in {
			h, o := &in[i], stored[i]
			if o != nil && common.SameHash(o.Hash, h.Hash) {
				versions[i] = o.Version
				res.Unchanged++
				continue
			}
			row := HealthRow{Key: h.HealthKey, Day: h.Day, Version: 1, Hash: h.Hash}
			if o != nil {
				row.ID, row.Version = o.ID, o.Version+1
			}
			if row.Body, err = h.Encode(row.Version); err != nil {
				return err
			}
			versions[i] = row.Version
			if o == nil {
				ins, insIdx = append(ins, row), append(insIdx, i)
			} else {
				upd, updIdx = append(upd, row), append(updIdx, i)
			}
		}
		ids, err := s.batch.WriteHealth(ctx, tx, ins, upd, now)
		if s.drv.IsForeignKey(err) {
			return notFound("user not found (one of the users of the batch)")
		}
		if err != nil {
			return err
		}
		res.Inserted, res.Updated = len(ins), len(upd)
		// Outbox records in input order.
		docIDs := make([]int64, len(in))
		for j, i := range insIdx {
			docIDs[i] = ids[j]
		}
		for j, i := range updIdx {
			docIDs[i] = upd[j].ID
		}
		var boxIDs []int64
		var boxVersions []int
		for i, id := range docIDs {
			if id != 0 {
				boxIDs, boxVersions = append(boxIDs, id), append(boxVersions, versions[i])
			}
		}
		if len(boxIDs) == 0 {
			return nil
		}
		return s.batch.InsertOutbox(ctx, tx, boxIDs, boxVersions, now)
	})
	if err != nil {
		common.RestoreVersions(in)
		return store.HealthWrite{}, fmt.Errorf("apply health documents: %w", err)
	}
	// Unchanged documents take the stored version too, so every caller's
	// Doc ends with the version that is stored.
	for i := range in {
		in[i].Doc.Envelope().DocumentVersion = versions[i]
	}
	return res, nil
}

// GetHealthDocuments implements store.Store. ClientUUID is required; an
// empty UserID selects every user of the client. Documents come in (user,
// day, data structure, pillar, key) order.
func (s *Store) GetHealthDocuments(ctx context.Context, q store.HealthQuery) ([]store.HealthDocument, error) {
	where, args, err := common.HealthWhere(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.Query(ctx, `SELECT client_uuid, user_id, data_structure, pillar, day, key, version, body, hash, created_at, updated_at
		FROM health_documents WHERE `+where+` ORDER BY user_id, day, data_structure, pillar, key`, args...)
	out, err := collect(rows, err, func(r Row) (store.HealthDocument, error) {
		var d store.HealthDocument
		var body []byte
		err := r.Scan(&d.ClientUUID, &d.UserID, &d.DataStructure, &d.Pillar, &d.Day, &d.Key, &d.Version,
			&body, &d.Hash, &d.CreatedAt, &d.UpdatedAt)
		d.Body = body
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("get health documents: %w", err)
	}
	return out, nil
}

// CountHealthDocuments implements store.Store: documents per
// data_structure (heart_rate_event and oxygenation_event count both
// pillars).
func (s *Store) CountHealthDocuments(ctx context.Context, clientUUID string) (map[string]int, error) {
	return s.counts(ctx, "count health documents", `SELECT data_structure, count(*) FROM health_documents WHERE client_uuid = ? GROUP BY data_structure`, clientUUID)
}

// rowByRow is the Batcher of an engine without batches: one statement per
// row, which costs little where the database is in the process.
type rowByRow struct{}

func (rowByRow) StoredRaw(ctx context.Context, tx Querier, keys []common.RawKey) (map[common.RawKey]StoredRaw, error) {
	out := make(map[common.RawKey]StoredRaw, len(keys))
	for _, k := range keys {
		var o StoredRaw
		err := tx.QueryRow(ctx, `SELECT hash, day FROM raw_documents WHERE connection_id = ? AND collection = ? AND external_id = ?`,
			k.ConnectionID, k.Collection, k.ExternalID).Scan(&o.Hash, &o.Day)
		if noRows(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[k] = o
	}
	return out, nil
}

func (rowByRow) WriteRaw(ctx context.Context, tx Querier, docs []common.RawInput) ([]RawWritten, error) {
	var out []RawWritten
	for _, d := range docs {
		n, err := tx.Exec(ctx, `INSERT INTO raw_documents (connection_id, collection, external_id, day, body, hash, fetched_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connection_id, collection, external_id) DO NOTHING`,
			d.ConnectionID, d.Collection, d.ExternalID, d.Day, []byte(d.Body), d.Hash, d.FetchedAt, d.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			n, err = tx.Exec(ctx, `UPDATE raw_documents SET day = ?, body = ?, hash = ?, updated_at = ?
				WHERE connection_id = ? AND collection = ? AND external_id = ? AND hash <> ?`,
				d.Day, []byte(d.Body), d.Hash, d.UpdatedAt, d.ConnectionID, d.Collection, d.ExternalID, d.Hash)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				continue
			}
			out = append(out, RawWritten{Key: d.Key})
			continue
		}
		out = append(out, RawWritten{Key: d.Key, Inserted: true})
	}
	return out, nil
}

func (rowByRow) StoredHealth(ctx context.Context, tx Querier, keys []common.HealthKey) ([]*StoredHealth, error) {
	out := make([]*StoredHealth, len(keys))
	for i, k := range keys {
		var o StoredHealth
		err := tx.QueryRow(ctx, `SELECT id, version, hash FROM health_documents
			WHERE client_uuid = ? AND user_id = ? AND data_structure = ? AND pillar = ? AND key = ?`,
			k.ClientUUID, k.UserID, k.DataStructure, k.Pillar, k.Key).Scan(&o.ID, &o.Version, &o.Hash)
		if noRows(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = &o
	}
	return out, nil
}

func (rowByRow) WriteHealth(ctx context.Context, tx Querier, ins, upd []HealthRow, now time.Time) ([]int64, error) {
	ids := make([]int64, len(ins))
	for i, h := range ins {
		k := h.Key
		if err := tx.QueryRow(ctx, `INSERT INTO health_documents (client_uuid, user_id, data_structure, pillar, key, day,
			version, body, hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			k.ClientUUID, k.UserID, k.DataStructure, k.Pillar, k.Key, h.Day, h.Version, h.Body, h.Hash, now, now).Scan(&ids[i]); err != nil {
			return nil, err
		}
	}
	for _, h := range upd {
		if _, err := tx.Exec(ctx, `UPDATE health_documents SET day = ?, version = ?, body = ?, hash = ?, updated_at = ? WHERE id = ?`,
			h.Day, h.Version, h.Body, h.Hash, now, h.ID); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func (rowByRow) InsertOutbox(ctx context.Context, tx Querier, docIDs []int64, versions []int, now time.Time) error {
	for i, id := range docIDs {
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (health_document_id, version, created_at) VALUES (?, ?, ?)`, id, versions[i], now); err != nil {
			return err
		}
	}
	return nil
}

func (rowByRow) InsertMessages(ctx context.Context, tx Querier, ms []*store.WebhookMessage, ds []DeliveryRow) ([]int64, error) {
	for _, m := range ms {
		if err := tx.QueryRow(ctx, `INSERT INTO webhook_messages (webhook_id, client_uuid, user_id, kind, event_type, pillar, day, doc_key, version, body, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			m.WebhookID, m.ClientUUID, m.UserID, m.Kind, m.EventType, m.Pillar, m.Day, m.Key, m.Version, m.Body, m.CreatedAt).Scan(&m.ID); err != nil {
			return nil, fmt.Errorf("insert message: %w", err)
		}
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		if err := tx.QueryRow(ctx, `INSERT INTO webhook_deliveries (message_id, endpoint_id, client_uuid, status, next_attempt_at, enqueued,
			last_error, created_at, updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			ms[d.Message].ID, d.EndpointID, d.ClientUUID, d.Status, d.Next, d.Enqueued, d.LastError, d.Created, d.Created, d.Finished).Scan(&ids[i]); err != nil {
			return nil, fmt.Errorf("insert delivery: %w", err)
		}
	}
	return ids, nil
}

// Outbox returns every outbox record not yet fanned out, in id order. It
// is for tests and inspection, not part of the store.Store seam.
func (s *Store) Outbox(ctx context.Context) ([]store.OutboxRecord, error) {
	rows, err := s.r.Query(ctx, `SELECT o.id, h.client_uuid, h.user_id, h.data_structure, h.pillar, h.day, h.key, o.version, o.created_at
		FROM outbox o JOIN health_documents h ON h.id = o.health_document_id ORDER BY o.id`)
	out, err := collect(rows, err, func(r Row) (store.OutboxRecord, error) {
		var o store.OutboxRecord
		return o, r.Scan(&o.ID, &o.ClientUUID, &o.UserID, &o.DataStructure, &o.Pillar, &o.Day, &o.Key, &o.Version, &o.CreatedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}

func (rowByRow) ApplyAttempts(ctx context.Context, tx Querier, rows []AttemptRow) (map[int64]string, error) {
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		var endpoint string
		err := tx.QueryRow(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1,
			status = ?, next_attempt_at = ?, last_attempt_at = ?, last_status_code = ?, last_error = ?, updated_at = ?, finished_at = ?
			WHERE id = ? AND status = 'pending' AND attempts = ? RETURNING endpoint_id`,
			r.Status, r.Next, r.At, r.StatusCode, r.LastError, r.At, r.Finished, r.DeliveryID, r.Expect).Scan(&endpoint)
		if noRows(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, duration_us, error_class, error, response)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.DeliveryID, r.Expect+1, r.At, r.StatusCode, r.Duration.Microseconds(),
			r.ErrorClass, r.Error, r.Response); err != nil {
			return nil, err
		}
		out[r.DeliveryID] = endpoint
	}
	return out, nil
}
