package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

var _ store.SessionStore = (*Store)(nil)

// CreateSession implements store.SessionStore.
func (s *Store) CreateSession(ctx context.Context, ds store.DashboardSession) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	if ds.CreatedAt.IsZero() {
		ds.CreatedAt = common.Now(s.now)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO dashboard_sessions (id, client_uuid, secret_fingerprint, csrf, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, ds.ID, ds.ClientUUID, ds.SecretFingerprint, ds.CSRF, common.Time(ds.CreatedAt), common.Time(ds.ExpiresAt))
	if isForeignKey(err) {
		return notFound("client %s not found", ds.ClientUUID)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession implements store.SessionStore.
func (s *Store) GetSession(ctx context.Context, id []byte, now time.Time) (store.DashboardSession, error) {
	var ds store.DashboardSession
	err := s.pool.QueryRow(ctx, `SELECT id, client_uuid, secret_fingerprint, csrf, created_at, expires_at
		FROM dashboard_sessions WHERE id = $1 AND expires_at > $2`, id, common.Time(now)).
		Scan(&ds.ID, &ds.ClientUUID, &ds.SecretFingerprint, &ds.CSRF, &ds.CreatedAt, &ds.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return ds, notFound("session not found")
	}
	if err != nil {
		return ds, fmt.Errorf("get session: %w", err)
	}
	ds.CreatedAt, ds.ExpiresAt = ds.CreatedAt.UTC(), ds.ExpiresAt.UTC()
	return ds, nil
}

// DeleteSession implements store.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, id []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM dashboard_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteClientSessions implements store.SessionStore.
func (s *Store) DeleteClientSessions(ctx context.Context, clientUUID string) (int, error) {
	return s.deleteSessions(ctx, `client_uuid = $1`, clientUUID)
}

// PurgeSessions implements store.SessionStore.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) (int, error) {
	return s.deleteSessions(ctx, `expires_at <= $1`, common.Time(now))
}

func (s *Store) deleteSessions(ctx context.Context, where string, arg any) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM dashboard_sessions WHERE `+where, arg)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
