package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

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
	_, err := s.w.ExecContext(ctx, `INSERT INTO link_states (id, client_uuid, user_id, data_source, redirect_url, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		st.ID, st.ClientUUID, st.UserID, st.DataSource, st.RedirectURL, common.Now(s.now).UnixMicro(), common.Time(st.ExpiresAt).UnixMicro())
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
	var created, expires int64
	err := s.w.QueryRowContext(ctx, `DELETE FROM link_states WHERE id = ?
		RETURNING id, client_uuid, user_id, data_source, redirect_url, created_at, expires_at`, id).
		Scan(&st.ID, &st.ClientUUID, &st.UserID, &st.DataSource, &st.RedirectURL, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return st, notFound("link state not found")
	}
	if err != nil {
		return st, fmt.Errorf("take link state: %w", err)
	}
	st.CreatedAt, st.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return st, nil
}

// PurgeLinkStates implements store.APIStore.
func (s *Store) PurgeLinkStates(ctx context.Context, t time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM link_states WHERE expires_at < ?`, common.Time(t).UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("purge link states: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ServerKey implements store.APIStore. The insert is ignored when another
// process created the key first; the key read back is the one kept.
func (s *Store) ServerKey(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, health.Errorf(health.EINVALID, "server key name is required")
	}
	ad := store.ServerKeyAD(name)
	var sealed []byte
	err := s.r.QueryRowContext(ctx, `SELECT sealed_key FROM server_keys WHERE name = ?`, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		var fresh []byte
		if fresh, err = newSealedKey(s, ad); err != nil {
			return nil, fmt.Errorf("server key %s: %w", name, err)
		}
		err = s.w.QueryRowContext(ctx, `INSERT INTO server_keys (name, sealed_key, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING sealed_key`,
			name, fresh, common.Now(s.now).UnixMicro()).Scan(&sealed)
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

// UserStatuses implements store.APIStore. It reads in one transaction, so
// the totals and the page agree.
func (s *Store) UserStatuses(ctx context.Context, q store.UserStatusQuery) (store.UserStatusPage, error) {
	var page store.UserStatusPage
	before := int64(1<<63 - 1)
	if !q.CreatedBefore.IsZero() {
		before = common.Time(q.CreatedBefore).UnixMicro()
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return page, fmt.Errorf("user statuses of %s: %w", q.ClientUUID, err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(EXISTS (SELECT 1 FROM connections c
			WHERE c.client_uuid = u.client_uuid AND c.user_id = u.user_id AND c.status = 'active')), 0)
		FROM users u WHERE u.client_uuid = ? AND u.created_at < ?`, q.ClientUUID, before).Scan(&page.Total, &page.Active)
	if err != nil {
		return page, fmt.Errorf("user statuses of %s: %w", q.ClientUUID, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT user_id, time_zone, created_at FROM users
		WHERE client_uuid = ? AND created_at < ? ORDER BY user_id LIMIT ? OFFSET ?`, q.ClientUUID, before, limit, max(q.Offset, 0))
	if err != nil {
		return page, fmt.Errorf("user statuses of %s: %w", q.ClientUUID, err)
	}
	index := map[string]int{}
	for rows.Next() {
		var u store.UserStatus
		var created int64
		if err := rows.Scan(&u.UserID, &u.TimeZone, &created); err != nil {
			rows.Close()
			return page, fmt.Errorf("user statuses of %s: %w", q.ClientUUID, err)
		}
		u.CreatedAt = time.UnixMicro(created).UTC()
		index[u.UserID] = len(page.Users)
		page.Users = append(page.Users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("user statuses of %s: %w", q.ClientUUID, err)
	}
	if len(page.Users) == 0 {
		return page, nil
	}
	args := []any{q.ClientUUID}
	for _, u := range page.Users {
		args = append(args, u.UserID)
	}
	rows, err = tx.QueryContext(ctx, `SELECT user_id, data_source, status, last_sync_at, last_error, created_at, updated_at
		FROM connections WHERE client_uuid = ? AND user_id IN (?`+strings.Repeat(", ?", len(page.Users)-1)+`)
		ORDER BY user_id, data_source`, args...)
	if err != nil {
		return page, fmt.Errorf("user statuses of %s: %w", q.ClientUUID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var userID string
		var c store.ConnectionStatus
		var synced, created, updated sql.NullInt64
		if err := rows.Scan(&userID, &c.DataSource, &c.Status, &synced, &c.LastError, &created, &updated); err != nil {
			return page, fmt.Errorf("user statuses of %s: %w", q.ClientUUID, err)
		}
		c.LastSyncAt, c.CreatedAt, c.UpdatedAt = fromMicros(synced), fromMicros(created), fromMicros(updated)
		i := index[userID]
		page.Users[i].Connections = append(page.Users[i].Connections, c)
	}
	return page, rows.Err()
}

// newSealedKey returns 32 random bytes sealed under ad.
func newSealedKey(s *Store, ad []byte) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return s.sealer.Seal(key, ad)
}
