package delivery

import (
	"github.com/wearlink/wearlink/internal/link"
	wsync "github.com/wearlink/wearlink/internal/sync"
)

// The Service is what the sync engine and linking report lifecycle events
// to.
var (
	_ wsync.Events       = (*Service)(nil)
	_ link.Events        = (*Service)(nil)
	_ link.FailureEvents = (*Service)(nil)
)
