package store

import "context"

// ProbeKeyName is the server_keys row the write probes upsert. It holds no
// key; ServerKey must never be asked for it.
const ProbeKeyName = "wearlink-write-probe"

// WriteProber commits a tiny write to show the database takes writes
// (sqlstore, for both engines). Readiness uses it.
type WriteProber interface {
	ProbeWrite(ctx context.Context) error
}
