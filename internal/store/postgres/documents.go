package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// Raw documents

// PutRawDocuments implements store.Store. One transaction: read the stored
// hashes of the batch, then upsert only the new and changed documents in
// one statement. The upsert's WHERE re-checks the hash, so a concurrent
// writer of the same bytes makes it a no-op rather than a second update.
func (s *Store) PutRawDocuments(ctx context.Context, docs []store.RawDocument) (store.RawWrite, error) {
	var res store.RawWrite
	if len(docs) == 0 {
		return res, nil
	}
	in, err := common.PrepareRaw(docs, common.Now(s.now))
	if err != nil {
		return res, err
	}
	conns := make([]int64, len(in))
	colls := make([]string, len(in))
	ids := make([]string, len(in))
	for i, d := range in {
		conns[i], colls[i], ids[i] = d.ConnectionID, d.Collection, d.OuraID
	}
	type old struct {
		hash []byte
		day  string
	}
	days := common.Days{}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		res = store.RawWrite{}
		clear(days)
		rows, err := tx.Query(ctx, `SELECT r.connection_id, r.collection, r.oura_id, r.hash, r.day
			FROM raw_documents r
			JOIN unnest($1::bigint[], $2::text[], $3::text[]) AS k(c, coll, id)
			  ON r.connection_id = k.c AND r.collection = k.coll AND r.oura_id = k.id`, conns, colls, ids)
		if err != nil {
			return err
		}
		stored := make(map[common.RawKey]old, len(in))
		for rows.Next() {
			var k common.RawKey
			var o old
			if err := rows.Scan(&k.ConnectionID, &k.Collection, &k.OuraID, &o.hash, &o.day); err != nil {
				rows.Close()
				return err
			}
			stored[k] = o
		}
		if err := rows.Err(); err != nil {
			return err
		}

		var w struct {
			conn             []int64
			coll, id, day    []string
			body, hash       [][]byte
			fetched, updated []time.Time
		}
		for _, d := range in {
			if o, ok := stored[d.Key]; ok && common.SameHash(o.hash, d.Hash) {
				continue
			}
			w.conn = append(w.conn, d.ConnectionID)
			w.coll = append(w.coll, d.Collection)
			w.id = append(w.id, d.OuraID)
			w.day = append(w.day, d.Day)
			w.body = append(w.body, d.Body)
			w.hash = append(w.hash, d.Hash)
			w.fetched = append(w.fetched, d.FetchedAt)
			w.updated = append(w.updated, d.UpdatedAt)
		}
		written := 0
		if len(w.conn) > 0 {
			rows, err := tx.Query(ctx, `INSERT INTO raw_documents AS r (connection_id, collection, oura_id, day, body, hash, fetched_at, updated_at)
				SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[], $7::timestamptz[], $8::timestamptz[])
				ON CONFLICT (connection_id, collection, oura_id) DO UPDATE SET
					day = excluded.day, body = excluded.body, hash = excluded.hash, updated_at = excluded.updated_at
				WHERE r.hash <> excluded.hash
				RETURNING connection_id, collection, oura_id, day, xmax = 0`,
				w.conn, w.coll, w.id, w.day, w.body, w.hash, w.fetched, w.updated)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k common.RawKey
				var day string
				var inserted bool
				if err := rows.Scan(&k.ConnectionID, &k.Collection, &k.OuraID, &day, &inserted); err != nil {
					rows.Close()
					return err
				}
				written++
				days.Add(day)
				if inserted {
					res.Inserted++
				} else {
					res.Updated++
					days.Add(stored[k].day) // a document that moved leaves its old day to redo too
				}
			}
			if err := rows.Err(); err != nil {
				if isForeignKey(err) {
					return notFound("connection not found (one of %v)", uniqueIDs(w.conn))
				}
				return err
			}
		}
		res.Unchanged = len(in) - written
		return nil
	})
	if err != nil {
		return store.RawWrite{}, fmt.Errorf("put raw documents: %w", err)
	}
	res.ChangedDays = days.Sorted()
	return res, nil
}

func uniqueIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

const rawCols = `connection_id, collection, oura_id, day, body, hash, fetched_at, updated_at`

// RawDocuments implements store.Store, in (day, collection, oura_id)
// order, documents without a day first.
func (s *Store) RawDocuments(ctx context.Context, connectionID int64, collections []string, fromDay, toDay string) ([]store.RawDocument, error) {
	var colls any // NULL: every collection
	if len(collections) > 0 {
		colls = collections
	}
	rows, err := s.pool.Query(ctx, `SELECT `+rawCols+` FROM raw_documents
		WHERE connection_id = $1
		  AND ($2::text[] IS NULL OR collection = ANY ($2))
		  AND (day = '' OR (($3 = '' OR day >= $3) AND ($4 = '' OR day <= $4)))
		ORDER BY day, collection, oura_id`, connectionID, colls, fromDay, toDay)
	if err != nil {
		return nil, fmt.Errorf("raw documents of connection %d: %w", connectionID, err)
	}
	out, err := collect(rows, func(r pgx.Row) (store.RawDocument, error) {
		var d store.RawDocument
		var body []byte
		if err := r.Scan(&d.ConnectionID, &d.Collection, &d.OuraID, &d.Day, &body, &d.Hash, &d.FetchedAt, &d.UpdatedAt); err != nil {
			return d, err
		}
		d.Body = body
		d.FetchedAt, d.UpdatedAt = d.FetchedAt.UTC(), d.UpdatedAt.UTC()
		return d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("raw documents of connection %d: %w", connectionID, err)
	}
	return out, nil
}

// CountRawDocuments implements store.Store: documents per collection.
func (s *Store) CountRawDocuments(ctx context.Context, connectionID int64) (map[string]int, error) {
	return s.counts(ctx, "count raw documents", `SELECT collection, count(*) FROM raw_documents WHERE connection_id = $1 GROUP BY collection`, connectionID)
}

func (s *Store) counts(ctx context.Context, what, query string, args ...any) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, query, args...)
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

// outboxLock orders outbox ids by commit: see ApplyHealthDocuments.
const outboxLock = 0x7765_6172_6c6f_7574

// ApplyHealthDocuments implements store.Store, in one transaction:
//
//  1. lock every user of the batch (advisory locks, in key order, so two
//     batches never wait on each other in a cycle); a concurrent call for
//     the same user waits here and then sees this one's commit;
//  2. read the stored versions and hashes;
//  3. insert the new documents and update the changed ones, one statement
//     each;
//  4. take the outbox lock and insert the outbox records. Holding it to
//     the commit means outbox ids become visible in increasing order, so
//     a consumer paging with ListOutbox(afterID) never skips a record that
//     a slower transaction committed late.
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
	versions := make([]int, len(in))

	var lockKeys []string
	var c, u, ds, p, k []string
	for i, h := range in {
		if i == 0 || h.ClientUUID != in[i-1].ClientUUID || h.UserID != in[i-1].UserID {
			// Length-prefixed: text cannot hold NUL, and a client UUID may
			// hold any other separator.
			lockKeys = append(lockKeys, fmt.Sprintf("wearlink.health:%d:%s:%s", len(h.ClientUUID), h.ClientUUID, h.UserID))
		}
		c, u, ds, p, k = append(c, h.ClientUUID), append(u, h.UserID), append(ds, h.DataStructure), append(p, h.Pillar), append(k, h.Key)
	}

	err = s.inTx(ctx, func(tx pgx.Tx) error {
		res = store.HealthWrite{}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(l) FROM
			(SELECT DISTINCT hashtextextended(k, 0) AS l FROM unnest($1::text[]) AS k ORDER BY 1) AS locks`, lockKeys); err != nil {
			return err
		}

		type old struct {
			id      int64
			version int
			hash    []byte
		}
		stored := make([]*old, len(in))
		rows, err := tx.Query(ctx, `SELECT k.i, h.id, h.version, h.hash
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS k(c, u, ds, p, key, i)
			JOIN health_documents h ON h.client_uuid = k.c AND h.user_id = k.u AND h.data_structure = k.ds AND h.pillar = k.p AND h.key = k.key`,
			c, u, ds, p, k)
		if err != nil {
			return err
		}
		for rows.Next() {
			var i int
			var o old
			if err := rows.Scan(&i, &o.id, &o.version, &o.hash); err != nil {
				rows.Close()
				return err
			}
			stored[i-1] = &o
		}
		if err := rows.Err(); err != nil {
			return err
		}

		var ins struct {
			idx                   []int
			c, u, ds, p, key, day []string
			body, hash            [][]byte
		}
		var upd struct {
			idx        []int
			id         []int64
			day        []string
			version    []int
			body, hash [][]byte
		}
		for i := range in {
			h := &in[i]
			o := stored[i]
			switch {
			case o == nil:
				body, err := h.Encode(1)
				if err != nil {
					return err
				}
				versions[i] = 1
				ins.idx = append(ins.idx, i)
				ins.c, ins.u, ins.ds, ins.p = append(ins.c, h.ClientUUID), append(ins.u, h.UserID), append(ins.ds, h.DataStructure), append(ins.p, h.Pillar)
				ins.key, ins.day = append(ins.key, h.Key), append(ins.day, h.Day)
				ins.body, ins.hash = append(ins.body, body), append(ins.hash, h.Hash)
			case common.SameHash(o.hash, h.Hash):
				versions[i] = o.version
				res.Unchanged++
			default:
				v := o.version + 1
				body, err := h.Encode(v)
				if err != nil {
					return err
				}
				versions[i] = v
				upd.idx, upd.id, upd.day, upd.version = append(upd.idx, i), append(upd.id, o.id), append(upd.day, h.Day), append(upd.version, v)
				upd.body, upd.hash = append(upd.body, body), append(upd.hash, h.Hash)
			}
		}

		// The document each outbox record is for, in input order.
		docID := make(map[int]int64, len(ins.idx)+len(upd.idx))
		if len(ins.idx) > 0 {
			rows, err := tx.Query(ctx, `INSERT INTO health_documents (client_uuid, user_id, data_structure, pillar, key, day, version, body, hash, created_at, updated_at)
				SELECT c, u, ds, p, key, day, 1, body, hash, $9, $9
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[]) AS k(c, u, ds, p, key, day, body, hash)
				RETURNING id, client_uuid, user_id, data_structure, pillar, key`,
				ins.c, ins.u, ins.ds, ins.p, ins.key, ins.day, ins.body, ins.hash, now)
			if err != nil {
				return err
			}
			pos := make(map[common.HealthKey]int, len(ins.idx))
			for _, i := range ins.idx {
				pos[in[i].HealthKey] = i
			}
			for rows.Next() {
				var id int64
				var hk common.HealthKey
				if err := rows.Scan(&id, &hk.ClientUUID, &hk.UserID, &hk.DataStructure, &hk.Pillar, &hk.Key); err != nil {
					rows.Close()
					return err
				}
				docID[pos[hk]] = id
			}
			if err := rows.Err(); err != nil {
				if isForeignKey(err) {
					return notFound("user not found (one of the users of the batch)")
				}
				return err
			}
			res.Inserted = len(ins.idx)
		}
		if len(upd.idx) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE health_documents h SET day = k.day, version = k.version, body = k.body, hash = k.hash, updated_at = $6
				FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bytea[], $5::bytea[]) AS k(id, day, version, body, hash)
				WHERE h.id = k.id`, upd.id, upd.day, upd.version, upd.body, upd.hash, now); err != nil {
				return err
			}
			for j, i := range upd.idx {
				docID[i] = upd.id[j]
			}
			res.Updated = len(upd.idx)
		}
		if len(docID) == 0 {
			return nil
		}

		order := make([]int, 0, len(docID))
		for i := range docID {
			order = append(order, i)
		}
		slices.Sort(order)
		ids := make([]int64, len(order))
		vs := make([]int, len(order))
		for j, i := range order {
			ids[j], vs[j] = docID[i], versions[i]
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(outboxLock)); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `INSERT INTO outbox (health_document_id, version, created_at)
			SELECT id, version, $3 FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY AS k(id, version, i) ORDER BY i
			RETURNING id, health_document_id`, ids, vs, now)
		if err != nil {
			return err
		}
		boxID := make(map[int64]int64, len(ids))
		for rows.Next() {
			var id, doc int64
			if err := rows.Scan(&id, &doc); err != nil {
				rows.Close()
				return err
			}
			boxID[doc] = id
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, i := range order {
			h := &in[i]
			res.Outbox = append(res.Outbox, store.OutboxRecord{
				ID: boxID[docID[i]], ClientUUID: h.ClientUUID, UserID: h.UserID, DataStructure: h.DataStructure,
				Pillar: h.Pillar, Day: h.Day, Key: h.Key, Version: versions[i], CreatedAt: now,
			})
		}
		slices.SortFunc(res.Outbox, func(a, b store.OutboxRecord) int { return cmp.Compare(a.ID, b.ID) })
		return nil
	})
	if err != nil {
		common.RestoreVersions(in)
		return store.HealthWrite{}, fmt.Errorf("apply health documents: %w", err)
	}
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
	where, args, err := common.HealthWhere(q, func(n int) string { return fmt.Sprintf("$%d", n) })
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+healthCols+` FROM health_documents WHERE `+where+
		` ORDER BY user_id, day, data_structure, pillar, key`, args...)
	if err != nil {
		return nil, fmt.Errorf("get health documents: %w", err)
	}
	out, err := collect(rows, func(r pgx.Row) (store.HealthDocument, error) {
		var d store.HealthDocument
		var body []byte
		if err := r.Scan(&d.ClientUUID, &d.UserID, &d.DataStructure, &d.Pillar, &d.Day, &d.Key, &d.Version,
			&body, &d.Hash, &d.CreatedAt, &d.UpdatedAt); err != nil {
			return d, err
		}
		d.Body = body
		d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
		return d, nil
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
	return s.counts(ctx, "count health documents", `SELECT data_structure, count(*) FROM health_documents WHERE client_uuid = $1 GROUP BY data_structure`, clientUUID)
}

// Outbox

// ListOutbox implements store.Store: records with id > afterID in id
// order, at most limit (100 when limit <= 0).
func (s *Store) ListOutbox(ctx context.Context, afterID int64, limit int) ([]store.OutboxRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT o.id, h.client_uuid, h.user_id, h.data_structure, h.pillar, h.day, h.key, o.version, o.created_at
		FROM outbox o JOIN health_documents h ON h.id = o.health_document_id
		WHERE o.id > $1 ORDER BY o.id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	out, err := collect(rows, func(r pgx.Row) (store.OutboxRecord, error) {
		var o store.OutboxRecord
		err := r.Scan(&o.ID, &o.ClientUUID, &o.UserID, &o.DataStructure, &o.Pillar, &o.Day, &o.Key, &o.Version, &o.CreatedAt)
		o.CreatedAt = o.CreatedAt.UTC()
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// DeleteOutbox implements store.Store. Unknown ids are ignored, so a
// retried delete succeeds.
func (s *Store) DeleteOutbox(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE id = ANY ($1)`, ids); err != nil {
		return fmt.Errorf("delete outbox: %w", err)
	}
	return nil
}
