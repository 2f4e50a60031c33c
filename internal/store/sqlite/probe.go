package sqlite

import (
	"context"
	"fmt"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// ProbeWrite commits one small write through the writer connection, so
// that readiness fails when the database answers reads but cannot take
// writes (a full disk, a read-only file). A rolled-back write would not
// do: SQLite reports a full disk when the WAL must grow at commit.
//
// The row lives in server_keys under store.ProbeKeyName, which holds no
// key: it is never opened, and needs no migration.
func (s *Store) ProbeWrite(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO server_keys (name, sealed_key, created_at) VALUES (?, x'', ?)
		ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at`,
		store.ProbeKeyName, common.Now(s.now).UnixMicro())
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}
