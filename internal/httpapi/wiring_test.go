package httpapi

import (
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/store/postgres"
	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// The composition root plugs these in as they are; these lines break when
// one of them stops fitting.
var (
	_ Store          = (*sqlite.Store)(nil)
	_ Store          = (*postgres.Store)(nil)
	_ link.Store     = (*sqlite.Store)(nil)
	_ link.Store     = (*postgres.Store)(nil)
	_ Linker         = (*link.Service)(nil)
	_ Resender       = (*delivery.Service)(nil)
	_ WebhookManager = (*delivery.Service)(nil)
	_ UserEvents     = (*delivery.Service)(nil)
	_ link.Events    = (*delivery.Service)(nil)
	_ link.Syncer    = (*ingest.Engine)(nil)
)
