package sqlstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

var _ store.APIStore = (*Store)(nil)

// PutLinkState implements store.APIStore.
func (s *Store) PutLinkState(ctx context.Context, st store.LinkState) error {
	if err := st.Validate(); err != nil {
		return err
	}
	_, err := s.w.Exec(ctx, `INSERT INTO link_states (id, client_uuid, user_id, data_source, redirect_url, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		st.ID, st.ClientUUID, st.UserID, st.DataSource, st.RedirectURL, s.Now(), st.ExpiresAt)
	switch {
	case s.drv.IsForeignKey(err):
		return notFound("client %s not found", st.ClientUUID)
	case s.drv.IsUnique(err):
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
	err := s.w.QueryRow(ctx, `DELETE FROM link_states WHERE id = ?
		RETURNING id, client_uuid, user_id, data_source, redirect_url, created_at, expires_at`, id).
		Scan(&st.ID, &st.ClientUUID, &st.UserID, &st.DataSource, &st.RedirectURL, &st.CreatedAt, &st.ExpiresAt)
	if noRows(err) {
		return st, notFound("link state not found")
	}
	if err != nil {
		return st, fmt.Errorf("take link state: %w", err)
	}
	return st, nil
}

// PurgeLinkStates implements store.APIStore.
func (s *Store) PurgeLinkStates(ctx context.Context, t time.Time) (int, error) {
	n, err := s.w.Exec(ctx, `DELETE FROM link_states WHERE expires_at < ?`, t)
	if err != nil {
		return 0, fmt.Errorf("purge link states: %w", err)
	}
	return int(n), nil
}

// ServerKey implements store.APIStore. The insert of a fresh key leaves
// the row another process created first in place, and returns the key
// kept.
func (s *Store) ServerKey(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, health.Errorf(health.EINVALID, "server key name is required")
	}
	ad := store.ServerKeyAD(name)
	var sealed []byte
	err := s.r.QueryRow(ctx, `SELECT sealed_key FROM server_keys WHERE name = ?`, name).Scan(&sealed)
	if noRows(err) {
		key := make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails
		var fresh []byte
		if fresh, err = s.sealer.Seal(key, ad); err != nil {
			return nil, fmt.Errorf("server key %s: %w", name, err)
		}
		err = s.w.QueryRow(ctx, `INSERT INTO server_keys (name, sealed_key, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING sealed_key`,
			name, fresh, s.Now()).Scan(&sealed)
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

// UserStatuses implements store.APIStore. It reads in one snapshot, so
// the totals and the page agree.
func (s *Store) UserStatuses(ctx context.Context, q store.UserStatusQuery) (store.UserStatusPage, error) {
	var page store.UserStatusPage
	where, args := `u.client_uuid = ?`, []any{q.ClientUUID}
	if !q.CreatedBefore.IsZero() {
		where, args = where+` AND u.created_at < ?`, append(args, q.CreatedBefore)
	}
	err := s.drv.ReadTx(ctx, func(rq Querier) error {
		tx := db{s.drv, rq}
		page = store.UserStatusPage{}
		err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM connections c
				WHERE c.client_uuid = u.client_uuid AND c.user_id = u.user_id AND c.status = 'active'))
			FROM users u WHERE `+where, args...).Scan(&page.Total, &page.Active)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT user_id, time_zone, created_at FROM users u WHERE `+where+
			` ORDER BY user_id`+s.limit(q.Limit, q.Offset), args...)
		page.Users, err = collect(rows, err, func(r Row) (store.UserStatus, error) {
			var u store.UserStatus
			return u, r.Scan(&u.UserID, &u.TimeZone, &u.CreatedAt)
		})
		if err != nil || len(page.Users) == 0 {
			return err
		}
		index := map[string]int{}
		cargs := []any{q.ClientUUID}
		for i, u := range page.Users {
			index[u.UserID] = i
			cargs = append(cargs, u.UserID)
		}
		rows, err = tx.Query(ctx, `SELECT user_id, data_source, status, last_sync_at, last_error, created_at, updated_at
			FROM connections WHERE client_uuid = ? AND user_id IN `+placeholders(len(page.Users))+` ORDER BY user_id, data_source`, cargs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var userID string
			var c store.ConnectionStatus
			if err := rows.Scan(&userID, &c.DataSource, &c.Status, &c.LastSyncAt, &c.LastError, &c.CreatedAt, &c.UpdatedAt); err != nil {
				return err
			}
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
