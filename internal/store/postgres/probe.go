package postgres

import (
	"context"
	"fmt"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// ProbeWrite commits one small write, so that readiness fails when the
// database answers reads but cannot take writes (a full disk, a
// read-only replica after a failover). The row lives in server_keys under
// store.ProbeKeyName, which holds no key and is never opened.
func (s *Store) ProbeWrite(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO server_keys (name, sealed_key, created_at) VALUES ($1, '', $2)
		ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at`,
		store.ProbeKeyName, common.Now(s.now))
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}
