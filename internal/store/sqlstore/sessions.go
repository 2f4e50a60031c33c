package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

var _ store.SessionStore = (*Store)(nil)

// CreateSession implements store.SessionStore.
func (s *Store) CreateSession(ctx context.Context, ds store.DashboardSession) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	if ds.CreatedAt.IsZero() {
		ds.CreatedAt = s.Now()
	}
	_, err := s.w.Exec(ctx, `INSERT INTO dashboard_sessions (id, client_uuid, secret_fingerprint, csrf, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, ds.ID, ds.ClientUUID, ds.SecretFingerprint, ds.CSRF, ds.CreatedAt, ds.ExpiresAt)
	if s.drv.IsForeignKey(err) {
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
	err := s.r.QueryRow(ctx, `SELECT id, client_uuid, secret_fingerprint, csrf, created_at, expires_at
		FROM dashboard_sessions WHERE id = ? AND expires_at > ?`, id, now).
		Scan(&ds.ID, &ds.ClientUUID, &ds.SecretFingerprint, &ds.CSRF, &ds.CreatedAt, &ds.ExpiresAt)
	if noRows(err) {
		return ds, notFound("session not found")
	}
	if err != nil {
		return ds, fmt.Errorf("get session: %w", err)
	}
	return ds, nil
}

// DeleteSession implements store.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, id []byte) error {
	if _, err := s.w.Exec(ctx, `DELETE FROM dashboard_sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteClientSessions implements store.SessionStore.
func (s *Store) DeleteClientSessions(ctx context.Context, clientUUID string) (int, error) {
	return s.deleteSessions(ctx, `client_uuid = ?`, clientUUID)
}

// PurgeSessions implements store.SessionStore.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) (int, error) {
	return s.deleteSessions(ctx, `expires_at <= ?`, now)
}

func (s *Store) deleteSessions(ctx context.Context, where string, arg any) (int, error) {
	n, err := s.w.Exec(ctx, `DELETE FROM dashboard_sessions WHERE `+where, arg)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return int(n), nil
}
