package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// Raw documents

// PutRawDocuments implements store.Store. The batch is one transaction;
// the writer is exclusive, so reading the stored hash and then writing is
// race-free.
func (s *Store) PutRawDocuments(ctx context.Context, docs []store.RawDocument) (store.RawWrite, error) {
	var res store.RawWrite
	if len(docs) == 0 {
		return res, nil
	}
	in, err := common.PrepareRaw(docs, common.Now(s.now))
	if err != nil {
		return res, err
	}
	days := common.Days{}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res = store.RawWrite{}
		clear(days)
		sel, err := tx.PrepareContext(ctx, `SELECT hash, day FROM raw_documents WHERE connection_id = ? AND collection = ? AND oura_id = ?`)
		if err != nil {
			return err
		}
		defer sel.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO raw_documents (connection_id, collection, oura_id, day, body, hash, fetched_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		upd, err := tx.PrepareContext(ctx, `UPDATE raw_documents SET day = ?, body = ?, hash = ?, updated_at = ?
			WHERE connection_id = ? AND collection = ? AND oura_id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for _, d := range in {
			var hash []byte
			var oldDay string
			err := sel.QueryRowContext(ctx, d.ConnectionID, d.Collection, d.OuraID).Scan(&hash, &oldDay)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := ins.ExecContext(ctx, d.ConnectionID, d.Collection, d.OuraID, d.Day, []byte(d.Body), d.Hash,
					d.FetchedAt.UnixMicro(), d.UpdatedAt.UnixMicro()); err != nil {
					if isForeignKey(err) {
						return notFound("connection %d not found", d.ConnectionID)
					}
					return fmt.Errorf("%s %s: %w", d.Collection, d.OuraID, err)
				}
				res.Inserted++
				days.Add(d.Day)
			case err != nil:
				return err
			case common.SameHash(hash, d.Hash):
				res.Unchanged++
			default:
				if _, err := upd.ExecContext(ctx, d.Day, []byte(d.Body), d.Hash, d.UpdatedAt.UnixMicro(),
					d.ConnectionID, d.Collection, d.OuraID); err != nil {
					return fmt.Errorf("%s %s: %w", d.Collection, d.OuraID, err)
				}
				res.Updated++
				days.Add(d.Day)
				days.Add(oldDay) // a document that moved leaves its old day to redo too
			}
		}
		return nil
	})
	if err != nil {
		return store.RawWrite{}, fmt.Errorf("put raw documents: %w", err)
	}
	res.ChangedDays = days.Sorted()
	return res, nil
}

const rawCols = `connection_id, collection, oura_id, day, body, hash, fetched_at, updated_at`

// RawDocuments implements store.Store, in (day, collection, oura_id)
// order, documents without a day first.
func (s *Store) RawDocuments(ctx context.Context, connectionID int64, collections []string, fromDay, toDay string) ([]store.RawDocument, error) {
	q := strings.Builder{}
	q.WriteString(`SELECT ` + rawCols + ` FROM raw_documents WHERE connection_id = ?`)
	args := []any{connectionID}
	if len(collections) > 0 {
		q.WriteString(` AND collection IN (?` + strings.Repeat(`, ?`, len(collections)-1) + `)`)
		for _, c := range collections {
			args = append(args, c)
		}
	}
	if fromDay != "" || toDay != "" {
		q.WriteString(` AND (day = ''`)
		switch {
		case fromDay != "" && toDay != "":
			q.WriteString(` OR day BETWEEN ? AND ?)`)
			args = append(args, fromDay, toDay)
		case fromDay != "":
			q.WriteString(` OR day >= ?)`)
			args = append(args, fromDay)
		default:
			q.WriteString(` OR day <= ?)`)
			args = append(args, toDay)
		}
	}
	q.WriteString(` ORDER BY day, collection, oura_id`)
	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("raw documents of connection %d: %w", connectionID, err)
	}
	defer rows.Close()
	var out []store.RawDocument
	for rows.Next() {
		var d store.RawDocument
		var body []byte
		var fetched, updated sql.NullInt64
		if err := rows.Scan(&d.ConnectionID, &d.Collection, &d.OuraID, &d.Day, &body, &d.Hash, &fetched, &updated); err != nil {
			return nil, fmt.Errorf("raw documents of connection %d: %w", connectionID, err)
		}
		d.Body = body
		d.FetchedAt, d.UpdatedAt = fromMicros(fetched), fromMicros(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

// CountRawDocuments implements store.Store: documents per collection.
func (s *Store) CountRawDocuments(ctx context.Context, connectionID int64) (map[string]int, error) {
	return s.counts(ctx, "count raw documents", `SELECT collection, count(*) FROM raw_documents WHERE connection_id = ? GROUP BY collection`, connectionID)
}

func (s *Store) counts(ctx context.Context, what, query string, args ...any) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out[k] += n
	}
	return out, rows.Err()
}

// Health documents

// ApplyHealthDocuments implements store.Store. The exclusive writer
// serializes it with every other write, in this process and (BEGIN
// IMMEDIATE) in any other on the same file, so two calls never both bump
// one document.
func (s *Store) ApplyHealthDocuments(ctx context.Context, docs []store.HealthInput) (store.HealthWrite, error) {
	var res store.HealthWrite
	if len(docs) == 0 {
		return res, nil
	}
	in, err := common.PrepareHealth(docs)
	if err != nil {
		return res, err
	}
	now := common.Now(s.now)
	versions := make([]int, len(in)) // the version each Doc ends with
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res = store.HealthWrite{}
		sel, err := tx.PrepareContext(ctx, `SELECT id, version, hash FROM health_documents
			WHERE client_uuid = ? AND user_id = ? AND data_structure = ? AND pillar = ? AND key = ?`)
		if err != nil {
			return err
		}
		defer sel.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO health_documents (client_uuid, user_id, data_structure, pillar, key, day,
			version, body, hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer ins.Close()
		upd, err := tx.PrepareContext(ctx, `UPDATE health_documents SET day = ?, version = ?, body = ?, hash = ?, updated_at = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		box, err := tx.PrepareContext(ctx, `INSERT INTO outbox (health_document_id, version, created_at) VALUES (?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer box.Close()

		for i := range in {
			h := &in[i]
			var id int64
			var version int
			var hash []byte
			err := sel.QueryRowContext(ctx, h.ClientUUID, h.UserID, h.DataStructure, h.Pillar, h.Key).Scan(&id, &version, &hash)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				version = 1
				body, err := h.Encode(version)
				if err != nil {
					return err
				}
				if err := ins.QueryRowContext(ctx, h.ClientUUID, h.UserID, h.DataStructure, h.Pillar, h.Key, h.Day,
					body, h.Hash, now.UnixMicro(), now.UnixMicro()).Scan(&id); err != nil {
					if isForeignKey(err) {
						return notFound("user %s of client %s not found", h.UserID, h.ClientUUID)
					}
					return fmt.Errorf("%s %s: %w", h.DataStructure, h.Key, err)
				}
				res.Inserted++
			case err != nil:
				return err
			case common.SameHash(hash, h.Hash):
				versions[i] = version
				res.Unchanged++
				continue
			default:
				version++
				body, err := h.Encode(version)
				if err != nil {
					return err
				}
				if _, err := upd.ExecContext(ctx, h.Day, version, body, h.Hash, now.UnixMicro(), id); err != nil {
					return fmt.Errorf("%s %s: %w", h.DataStructure, h.Key, err)
				}
				res.Updated++
			}
			versions[i] = version
			rec := store.OutboxRecord{
				ClientUUID: h.ClientUUID, UserID: h.UserID, DataStructure: h.DataStructure, Pillar: h.Pillar,
				Day: h.Day, Key: h.Key, Version: version, CreatedAt: now,
			}
			if err := box.QueryRowContext(ctx, id, version, now.UnixMicro()).Scan(&rec.ID); err != nil {
				return fmt.Errorf("outbox for %s %s: %w", h.DataStructure, h.Key, err)
			}
			res.Outbox = append(res.Outbox, rec)
		}
		return nil
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

const healthCols = `client_uuid, user_id, data_structure, pillar, day, key, version, body, hash, created_at, updated_at`

// GetHealthDocuments implements store.Store. ClientUUID is required; an
// empty UserID selects every user of the client. Documents come in (user,
// day, data structure, pillar, key) order.
func (s *Store) GetHealthDocuments(ctx context.Context, q store.HealthQuery) ([]store.HealthDocument, error) {
	where, args, err := common.HealthWhere(q, func(int) string { return "?" })
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+healthCols+` FROM health_documents WHERE `+where+
		` ORDER BY user_id, day, data_structure, pillar, key`, args...)
	if err != nil {
		return nil, fmt.Errorf("get health documents: %w", err)
	}
	defer rows.Close()
	var out []store.HealthDocument
	for rows.Next() {
		var d store.HealthDocument
		var body []byte
		var created, updated sql.NullInt64
		if err := rows.Scan(&d.ClientUUID, &d.UserID, &d.DataStructure, &d.Pillar, &d.Day, &d.Key, &d.Version,
			&body, &d.Hash, &created, &updated); err != nil {
			return nil, fmt.Errorf("get health documents: %w", err)
		}
		d.Body = body
		d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

// CountHealthDocuments implements store.Store: documents per
// data_structure (heart_rate_event and oxygenation_event count both
// pillars).
func (s *Store) CountHealthDocuments(ctx context.Context, clientUUID string) (map[string]int, error) {
	return s.counts(ctx, "count health documents", `SELECT data_structure, count(*) FROM health_documents WHERE client_uuid = ? GROUP BY data_structure`, clientUUID)
}

// Outbox

// ListOutbox implements store.Store: records with id > afterID in id
// order, at most limit (100 when limit <= 0).
func (s *Store) ListOutbox(ctx context.Context, afterID int64, limit int) ([]store.OutboxRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT o.id, h.client_uuid, h.user_id, h.data_structure, h.pillar, h.day, h.key, o.version, o.created_at
		FROM outbox o JOIN health_documents h ON h.id = o.health_document_id
		WHERE o.id > ? ORDER BY o.id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxRecord
	for rows.Next() {
		var r store.OutboxRecord
		var created sql.NullInt64
		if err := rows.Scan(&r.ID, &r.ClientUUID, &r.UserID, &r.DataStructure, &r.Pillar, &r.Day, &r.Key, &r.Version, &created); err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		r.CreatedAt = fromMicros(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteOutbox implements store.Store. Unknown ids are ignored, so a
// retried delete succeeds.
func (s *Store) DeleteOutbox(ctx context.Context, ids []int64) error {
	const chunk = 500
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(ids); start += chunk {
			part := ids[start:min(start+chunk, len(ids))]
			args := make([]any, len(part))
			for i, id := range part {
				args[i] = id
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (?`+strings.Repeat(`, ?`, len(part)-1)+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete outbox: %w", err)
	}
	return nil
}
