package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

var _ store.APIStore = (*Store)(nil)

// PutLinkState implements store.APIStore.
func (s *Store) PutLinkState(ctx context.Context, st store.LinkState) error {
	if err := st.Validate(); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO link_states (id, client_uuid, user_id, data_source, redirect_url, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		st.ID, st.ClientUUID, st.UserID, st.DataSource, st.RedirectURL, common.Now(s.now), common.Time(st.ExpiresAt))
	switch {
	case isForeignKey(err):
		return notFound("client %s not found", st.ClientUUID)
	case isUnique(err):
		return health.Errorf(health.ECONFLICT, "link state already exists")
	case err != nil:
		return fmt.Errorf("put link state: %w", err)
	}
	return nil
}

// TakeLinkState implements store.APIStore: DELETE ... RETURNING, so of two
// concurrent takes only one sees the row.
func (s *Store) TakeLinkState(ctx context.Context, id []byte) (store.LinkState, error) {
	var st store.LinkState
	err := s.pool.QueryRow(ctx, `DELETE FROM link_states WHERE id = $1
		RETURNING id, client_uuid, user_id, data_source, redirect_url, created_at, expires_at`, id).
		Scan(&st.ID, &st.ClientUUID, &st.UserID, &st.DataSource, &st.RedirectURL, &st.CreatedAt, &st.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, notFound("link state not found")
	}
	if err != nil {
		return st, fmt.Errorf("take link state: %w", err)
	}
	st.CreatedAt, st.ExpiresAt = st.CreatedAt.UTC(), st.ExpiresAt.UTC()
	return st, nil
}

// PurgeLinkStates implements store.APIStore.
func (s *Store) PurgeLinkStates(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM link_states WHERE expires_at < $1`, common.Time(t))
	if err != nil {
		return 0, fmt.Errorf("purge link states: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ServerKey implements store.APIStore. A concurrent first use by another
// process leaves its key in place (ON CONFLICT DO NOTHING), and both read
// back the one kept.
func (s *Store) ServerKey(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, health.Errorf(health.EINVALID, "server key name is required")
	}
	ad := store.ServerKeyAD(name)
	read := func() (sealed []byte, err error) {
		err = s.pool.QueryRow(ctx, `SELECT sealed_key FROM server_keys WHERE name = $1`, name).Scan(&sealed)
		return sealed, err
	}
	sealed, err := read()
	if errors.Is(err, pgx.ErrNoRows) {
		var fresh []byte
		if fresh, err = newSealedKey(s, ad); err != nil {
			return nil, fmt.Errorf("server key %s: %w", name, err)
		}
		if _, err = s.pool.Exec(ctx, `INSERT INTO server_keys (name, sealed_key, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, name, fresh, common.Now(s.now)); err != nil {
			return nil, fmt.Errorf("server key %s: %w", name, err)
		}
		sealed, err = read()
	}
	if err != nil {
		return nil, fmt.Errorf("server key %s: %w", name, err)
	}
	key, err := s.sealer.Open(sealed, ad)
	if err != nil {
		return nil, fmt.Errorf("server key %s: %w", name, err)
	}
	return key, nil
}

// UserStatuses implements store.APIStore. It reads in one REPEATABLE READ
// transaction, so the totals and the page agree.
func (s *Store) UserStatuses(ctx context.Context, q store.UserStatusQuery) (store.UserStatusPage, error) {
	var page store.UserStatusPage
	var before any // NULL: no bound
	if !q.CreatedBefore.IsZero() {
		before = common.Time(q.CreatedBefore)
	}
	var lim any // NULL: LIMIT ALL
	if q.Limit > 0 {
		lim = q.Limit
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM connections c
				WHERE c.client_uuid = u.client_uuid AND c.user_id = u.user_id AND c.status = 'active'))
			FROM users u WHERE u.client_uuid = $1 AND ($2::timestamptz IS NULL OR u.created_at < $2)`, q.ClientUUID, before).
			Scan(&page.Total, &page.Active)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT user_id, time_zone, created_at FROM users
			WHERE client_uuid = $1 AND ($2::timestamptz IS NULL OR created_at < $2)
			ORDER BY user_id LIMIT $3 OFFSET $4`, q.ClientUUID, before, lim, max(q.Offset, 0))
		if err != nil {
			return err
		}
		page.Users, err = collect(rows, func(r pgx.Row) (store.UserStatus, error) {
			var u store.UserStatus
			err := r.Scan(&u.UserID, &u.TimeZone, &u.CreatedAt)
			u.CreatedAt = u.CreatedAt.UTC()
			return u, err
		})
		if err != nil || len(page.Users) == 0 {
			return err
		}
		ids := make([]string, len(page.Users))
		index := map[string]int{}
		for i, u := range page.Users {
			ids[i] = u.UserID
			index[u.UserID] = i
		}
		rows, err = tx.Query(ctx, `SELECT user_id, data_source, status, last_sync_at, last_error, created_at, updated_at
			FROM connections WHERE client_uuid = $1 AND user_id = ANY($2) ORDER BY user_id, data_source`, q.ClientUUID, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var userID string
			var c store.ConnectionStatus
			var synced *time.Time
			if err := rows.Scan(&userID, &c.DataSource, &c.Status, &synced, &c.LastError, &c.CreatedAt, &c.UpdatedAt); err != nil {
				return err
			}
			c.LastSyncAt, c.CreatedAt, c.UpdatedAt = fromTS(synced), c.CreatedAt.UTC(), c.UpdatedAt.UTC()
			i := index[userID]
			page.Users[i].Connections = append(page.Users[i].Connections, c)
		}
		return rows.Err()
	})
	if err != nil {
		return store.UserStatusPage{}, fmt.Errorf("user statuses of %s: %w", q.ClientUUID, err)
	}
	return page, nil
}

// newSealedKey returns 32 random bytes sealed under ad.
func newSealedKey(s *Store, ad []byte) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return s.sealer.Seal(key, ad)
}
