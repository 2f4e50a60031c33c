package httpapi

import (
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/link"
	wsync "github.com/wearlink/wearlink/internal/sync"
)

// The composition root plugs these in as they are; these lines break when
// one of them stops fitting.
var (
	_ Linker      = (*link.Service)(nil)
	_ Resender    = (*delivery.Service)(nil)
	_ UserEvents  = (*delivery.Service)(nil)
	_ link.Events = (*delivery.Service)(nil)
	_ link.Syncer = (*wsync.Engine)(nil)
)
