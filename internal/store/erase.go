package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
)

// Erasure states.
const (
	// ErasureRunning: the user's data is being deleted (Step says where).
	ErasureRunning = "running"
	// ErasureCompleted: everything is gone and the client was told; the
	// row is the audit record and no longer holds the user_id.
	ErasureCompleted = "completed"
)

// EventUserDeleted is the lifecycle event sent when an erasure ends. Its
// message is the one of the user's messages that an erasure keeps (it is
// how the client learns the erasure ended).
const EventUserDeleted = "user.deleted"

// Erasure is a request to erase one user and, once done, its audit
// record: who asked, when, what was deleted. It never holds health data;
// the user_id is kept only while the erasure runs (a completed erasure is
// found again by UserHash).
type Erasure struct {
	ID         string
	ClientUUID string
	// UserID is "" once completed.
	UserID string
	// UserHash is ErasureUserHash(ClientUUID, UserID).
	UserHash []byte
	// RequestedBy says who asked: "api" (the client, with its credentials)
	// or "cli" (an operator).
	RequestedBy string
	State       string
	// Step is the name of the next step (sqlstore's erase steps); "" once
	// every step has run.
	Step string
	// Counts are the rows deleted, per step name.
	Counts      map[string]int64
	RequestedAt time.Time
	UpdatedAt   time.Time
	CompletedAt time.Time
}

// ErasureUserHash identifies an erased user in the audit record without
// keeping the user_id.
func ErasureUserHash(clientUUID, userID string) []byte {
	sum := sha256.Sum256(secret.AD("wearlink user erasure v1", clientUUID, userID))
	return sum[:]
}

// Validate reports an EINVALID error for an erasure that cannot be stored.
func (e Erasure) Validate() error {
	switch {
	case e.ID == "" || len(e.ID) > 64:
		return health.Errorf(health.EINVALID, "erasure id is required")
	case e.ClientUUID == "":
		return health.Errorf(health.EINVALID, "erasure: client_uuid is required")
	case !health.ValidUserID(e.UserID):
		return health.Errorf(health.EINVALID, "erasure: user_id %q must be 1 to 50 letters, digits or hyphens", e.UserID)
	case e.RequestedBy == "":
		return health.Errorf(health.EINVALID, "erasure: requested_by is required")
	}
	return nil
}

// EraseStore keeps erasures and runs them (sqlstore, for both engines).
type EraseStore interface {
	// StartErasure records a new erasure (state running, at the first
	// step) and returns it; when one is already running for the same
	// user, it returns that one instead.
	StartErasure(ctx context.Context, e Erasure) (Erasure, error)
	// GetErasure returns one of a client's erasures (ENOTFOUND for another
	// client's).
	GetErasure(ctx context.Context, clientUUID, id string) (Erasure, error)
	// LatestErasure returns the newest erasure of a user by its hash.
	LatestErasure(ctx context.Context, clientUUID string, userHash []byte) (Erasure, error)
	// RunningErasures lists the erasures not completed yet.
	RunningErasures(ctx context.Context) ([]Erasure, error)
	// UserConnectionIDs lists the ids of a user's connections.
	UserConnectionIDs(ctx context.Context, clientUUID, userID string) ([]int64, error)
	// EraseBatch deletes up to limit rows of the erasure's current step,
	// adds them to its counts and, when the step has no rows left, moves
	// to the next one: all in one transaction, so that a crash leaves the
	// erasure where its last batch ended. It returns the erasure after the
	// batch; Step "" means nothing is left.
	EraseBatch(ctx context.Context, id string, limit int) (Erasure, error)
	// CompleteErasure marks it completed and forgets its user_id.
	CompleteErasure(ctx context.Context, id string) (Erasure, error)
	// PurgeRetention deletes up to limit rows older than before of one
	// retention step (RetainRaw, RetainDeliveryBodies) for a client, and
	// reports how many it deleted.
	PurgeRetention(ctx context.Context, step, clientUUID string, before time.Time, limit int) (int, error)
}

// Retention steps: the purges PurgeRetention runs, by name.
const (
	RetainRaw            = "raw_documents"
	RetainDeliveryBodies = "webhook_messages"
)

// Retention is a client's data retention, from its settings.
type Retention struct {
	// RawDays keeps raw documents that long after their last update;
	// DeliveryBodyDays keeps delivered webhook bodies that long. 0 keeps
	// them for ever.
	RawDays          int `json:"raw_retention_days,omitempty"`
	DeliveryBodyDays int `json:"delivery_body_retention_days,omitempty"`
}

// ClientRetention reads the retention settings of a client's Settings.
func ClientRetention(settings json.RawMessage) (Retention, error) {
	var r Retention
	if len(settings) == 0 {
		return r, nil
	}
	if err := json.Unmarshal(settings, &r); err != nil {
		return r, health.Errorf(health.EINVALID, "client settings: %v", err)
	}
	if r.RawDays < 0 || r.DeliveryBodyDays < 0 {
		return r, health.Errorf(health.EINVALID, "client settings: retention days cannot be negative")
	}
	return r, nil
}
