package delivery

import (
	"context"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// EventUserDeleted announces that a user was erased.
const EventUserDeleted = store.EventUserDeleted

// userDeletedData is the data of user.deleted: the audit record's
// contents, never health data.
type userDeletedData struct {
	ErasureID   string           `json:"erasure_id"`
	RequestedBy string           `json:"requested_by"`
	RequestedAt string           `json:"requested_at"`
	Deleted     map[string]int64 `json:"deleted"`
}

// UserDeleted announces that an erasure deleted everything of a user. It
// has the signature of the erase package's Events.
func (s *Service) UserDeleted(ctx context.Context, e store.Erasure) error {
	return s.Notify(ctx, Event{Type: EventUserDeleted, ClientUUID: e.ClientUUID, UserID: e.UserID,
		Action: "user_deleted", Level: "info", Message: "User erased: every connection revoked and all of the user's data deleted.",
		Data: userDeletedData{ErasureID: e.ID, RequestedBy: e.RequestedBy, RequestedAt: e.RequestedAt.UTC().Format(time.RFC3339Nano), Deleted: e.Counts}})
}
