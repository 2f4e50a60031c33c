package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
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
	// Step is the name of the next EraseSteps step; "" once every step has
	// run.
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

// EraseStore keeps erasures and runs them. Both drivers implement it.
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
	// RetentionSteps step for a client, and reports how many it deleted.
	PurgeRetention(ctx context.Context, step, clientUUID string, before time.Time, limit int) (int, error)
}

// A Dialect is what the erase statements need of a driver besides
// placeholders, which are written "?" and rewritten by the driver.
type Dialect struct {
	// JSONInt extracts an integer member of a JSON column.
	JSONInt func(column, key string) string
}

// EraseStep deletes, in batches, one table's rows of the user being
// erased. Where's placeholders take the client_uuid and user_id, in that
// order, as many times as Args says.
type EraseStep struct {
	Name  string
	Table string
	// Key is the column the batch is chosen by (unique in the table).
	Key   string
	Where string
}

// keptMessage keeps the user.deleted notification when an erasure runs
// again after a crash that followed the notification.
const keptMessage = `NOT (kind = 'lifecycle' AND event_type = '` + EventUserDeleted + `')`

// EraseSteps lists, in order, what erasing a user deletes. Every table of
// the schema was looked at:
//   - river_job: the jobs naming one of the user's connections (sync jobs
//     carry connection_id), except running ones, which end on their own
//     once the connection is gone;
//   - link_states: the user's pending authorizations;
//   - outbox, health_documents: the normalized documents;
//   - raw_documents: what the provider sent;
//   - connections (tokens, cursors, provider user id), then users (time
//     zone, user information): once these are gone nothing new can be
//     written for the user (foreign keys), so the webhook messages deleted
//     last cannot come back;
//   - webhook_attempts, webhook_deliveries, webhook_messages: delivery
//     bodies and their history, lifecycle notifications included, except
//     the user.deleted notice itself.
//
// clients, webhook_endpoints, server_keys, dashboard_sessions and
// schema_migrations hold nothing of a user.
func EraseSteps(d Dialect) []EraseStep {
	conns := `(SELECT id FROM connections WHERE client_uuid = ? AND user_id = ?)`
	msgs := `(SELECT id FROM webhook_messages WHERE client_uuid = ? AND user_id = ? AND ` + keptMessage + `)`
	return []EraseStep{
		{"river_job", "river_job", "id", `state <> 'running' AND ` + d.JSONInt("args", "connection_id") + ` IN ` + conns},
		{"link_states", "link_states", "id", `client_uuid = ? AND user_id = ?`},
		{"outbox", "outbox", "id", `health_document_id IN (SELECT id FROM health_documents WHERE client_uuid = ? AND user_id = ?)`},
		{"health_documents", "health_documents", "id", `client_uuid = ? AND user_id = ?`},
		{"raw_documents", "raw_documents", "id", `connection_id IN ` + conns},
		{"connections", "connections", "id", `client_uuid = ? AND user_id = ?`},
		{"users", "users", "user_id", `client_uuid = ? AND user_id = ?`},
		{"webhook_attempts", "webhook_attempts", "id", `delivery_id IN (SELECT id FROM webhook_deliveries WHERE message_id IN ` + msgs + `)`},
		{"webhook_deliveries", "webhook_deliveries", "id", `message_id IN ` + msgs},
		{"webhook_messages", "webhook_messages", "id", `client_uuid = ? AND user_id = ? AND ` + keptMessage},
	}
}

// SQL is the step's batch statement with "?" placeholders: Where twice
// (the outer copy keeps a Key shared by several clients' rows, such as
// users.user_id, to this user's) and the limit last.
func (s EraseStep) SQL() string {
	return `DELETE FROM ` + s.Table + ` WHERE ` + s.Where + ` AND ` + s.Key + ` IN (SELECT ` + s.Key + ` FROM ` + s.Table +
		` WHERE ` + s.Where + ` LIMIT ?)`
}

// Args are the statement's arguments.
func (s EraseStep) Args(clientUUID, userID string, limit int) []any {
	n := strings.Count(s.Where, "?") / 2
	var args []any
	for range 2 {
		for range n {
			args = append(args, clientUUID, userID)
		}
	}
	return append(args, limit)
}

// NextEraseStep is the step after name ("" after the last one).
func NextEraseStep(steps []EraseStep, name string) string {
	for i, s := range steps {
		if s.Name == name && i+1 < len(steps) {
			return steps[i+1].Name
		}
	}
	return ""
}

// FindEraseStep returns the step called name.
func FindEraseStep(steps []EraseStep, name string) (EraseStep, error) {
	for _, s := range steps {
		if s.Name == name {
			return s, nil
		}
	}
	return EraseStep{}, fmt.Errorf("no erase step %q", name)
}

// Retention steps (RetentionSteps' names).
const (
	RetainRaw            = "raw_documents"
	RetainDeliveryBodies = "webhook_messages"
)

// RetentionStep deletes a client's rows older than a cutoff. Where's
// placeholders take the client_uuid, then the cutoff.
type RetentionStep struct {
	Name  string
	Table string
	Where string
}

// RetentionSteps are the purges a client's retention settings ask for:
// raw documents not updated since the cutoff, and webhook messages (the
// bodies delivered, with their deliveries and attempts, by cascade)
// created before it and no longer pending.
func RetentionSteps() []RetentionStep {
	return []RetentionStep{
		{RetainRaw, "raw_documents", `connection_id IN (SELECT id FROM connections WHERE client_uuid = ?) AND updated_at < ?`},
		{RetainDeliveryBodies, "webhook_messages", `client_uuid = ? AND created_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d ` +
			`WHERE d.message_id = webhook_messages.id AND d.status = 'pending')`},
	}
}

// SQL is the purge's batch statement ("?" placeholders: client, cutoff,
// client, cutoff, limit).
func (s RetentionStep) SQL() string {
	return `DELETE FROM ` + s.Table + ` WHERE ` + s.Where + ` AND id IN (SELECT id FROM ` + s.Table + ` WHERE ` + s.Where + ` LIMIT ?)`
}

// FindRetentionStep returns the step called name.
func FindRetentionStep(name string) (RetentionStep, error) {
	for _, s := range RetentionSteps() {
		if s.Name == name {
			return s, nil
		}
	}
	return RetentionStep{}, health.Errorf(health.EINVALID, "no retention step %q", name)
}

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

// EncodeCounts and DecodeCounts keep Erasure.Counts as JSON.
func EncodeCounts(m map[string]int64) string {
	if m == nil {
		m = map[string]int64{}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// DecodeCounts is EncodeCounts' reverse.
func DecodeCounts(b []byte) (map[string]int64, error) {
	m := map[string]int64{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("erasure counts: %w", err)
	}
	return m, nil
}
