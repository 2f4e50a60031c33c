package delivery

import (
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/link"
)

// The Service is what the sync engine and linking report lifecycle events
// to.
var (
	_ ingest.Events      = (*Service)(nil)
	_ link.Events        = (*Service)(nil)
	_ link.FailureEvents = (*Service)(nil)
)
