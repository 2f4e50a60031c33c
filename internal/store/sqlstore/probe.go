package sqlstore

import (
	"context"
	"fmt"

	"github.com/wearlink/wearlink/internal/store"
)

var _ store.WriteProber = (*Store)(nil)

// ProbeWrite implements store.WriteProber: it commits one small write
// through the writer, so that readiness fails when the database answers
// reads but cannot take writes (a full disk, a read-only file, a
// read-only replica after a failover). A rolled-back write would not do:
// SQLite reports a full disk when the WAL must grow at commit.
//
// The row lives in server_keys under store.ProbeKeyName, which holds no
// key: it is never opened, and needs no migration.
func (s *Store) ProbeWrite(ctx context.Context) error {
	_, err := s.w.Exec(ctx, `INSERT INTO server_keys (name, sealed_key, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at`,
		store.ProbeKeyName, []byte{}, s.Now())
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}
