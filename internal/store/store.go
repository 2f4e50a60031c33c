// Package store keeps wearlink's state: clients, users, their connections
// to providers, raw provider documents, normalized health documents and
// the delivery outbox.
// The rules are written once, in sqlstore, over two thin drivers: sqlite
// (the embedded default) and postgres (for several wearlink processes on
// one database). Both satisfy Full, which the composition root holds. The
// storetest package is the conformance suite both must pass.
//
// River (durable jobs) runs on the same database: sqlite.Store.Writer()
// returns the single writer *sql.DB for riversqlite, postgres.Store.Pool()
// the pgx pool for riverpgxv5. Migrate applies River's migrations too.
package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// Connection statuses.
const (
	// StatusActive: tokens work, syncing runs.
	StatusActive = "active"
	// StatusReauthRequired: a refresh failed or scopes are missing; the
	// user has to authorize again. Syncing stops, data stays.
	StatusReauthRequired = "reauth_required"
	// StatusRevoked: the client or the user revoked access. Data stays.
	StatusRevoked = "revoked"
	// StatusSubscriptionRequired: the provider refuses the account's data
	// (Oura: HTTP 403, a lapsed membership). The grant still works, so
	// no new authorization is asked for; syncing pauses and resumes by
	// itself once a periodic probe reads again.
	StatusSubscriptionRequired = "subscription_required"
	// StatusAppUpdateRequired: the user's provider app is too old to share
	// the data (Oura: HTTP 426). Paused and probed like
	// StatusSubscriptionRequired.
	StatusAppUpdateRequired = "app_update_required"
)

// Paused reports whether a connection's status is one of the pauses the
// user ends at the provider (StatusSubscriptionRequired,
// StatusAppUpdateRequired): its grant is kept and probed.
func Paused(status string) bool {
	return status == StatusSubscriptionRequired || status == StatusAppUpdateRequired
}

// PauseText says what a paused status means and what ends it, for an
// operator; provider is the data source's display name. "" for a status
// that is not a pause.
func PauseText(status, provider string) string {
	switch status {
	case StatusSubscriptionRequired:
		return provider + " refuses the user's data, usually because the membership has lapsed; syncing resumes when it is renewed"
	case StatusAppUpdateRequired:
		return "the user must update the " + provider + " app; syncing resumes after the update"
	}
	return ""
}

// Client is an app that uses wearlink (ROOK's client_uuid).
type Client struct {
	UUID string
	Name string
	// SecretHash is the hashed API secret (internal/secret); the secret
	// itself is shown once and never stored.
	SecretHash []byte
	// Settings holds per-client options as JSON (webhook URLs, limits ...).
	Settings  json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// User is one end user of a client (ROOK's user_id).
type User struct {
	ClientUUID string
	UserID     string
	// TimeZone is an IANA name, "" when unknown.
	TimeZone string
	// Info is the user information the client posted (ROOK's
	// user-information body), as JSON.
	Info      json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Tokens is an OAuth grant. The store seals AccessToken and RefreshToken at
// rest; callers always see them in clear.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	Expiry       time.Time
	Scopes       []string
}

// Connection links a user to a data source account.
type Connection struct {
	ID         int64
	ClientUUID string
	UserID     string
	DataSource string
	Status     string
	Tokens     Tokens
	// ExternalUserID is the provider's id of the account, the one its
	// notifications name users by.
	ExternalUserID string
	// Cursors is the sync progress per collection (the sync engine owns
	// its format: for example the newest day fetched, the backfill's
	// oldest day).
	Cursors    map[string]string
	LastSyncAt time.Time
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RawDocument is one provider document as received.
type RawDocument struct {
	ConnectionID int64
	Collection   string // the provider's own collection name, as in its URLs
	// ExternalID is the provider's document id; time-series rows use their
	// timestamp.
	ExternalID string
	// Day is the user's local day ("" for documents that belong to none).
	Day  string
	Body json.RawMessage
	// Hash is the SHA-256 of Body, set by the store.
	Hash      []byte
	FetchedAt time.Time
	UpdatedAt time.Time
}

// HealthDocument is a stored normalized document.
type HealthDocument struct {
	ClientUUID    string
	UserID        string
	DataStructure string
	Pillar        string
	Day           string
	// Key identifies the document among the user's documents of one data
	// structure and pillar: HealthKey of its data source and the key its
	// provider's normalizer gave it.
	Key     string
	Version int
	// Body is the document exactly as the API serves it and webhooks
	// deliver it, with document_version equal to Version.
	Body      json.RawMessage
	Hash      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HealthKey is the key a health document is stored under: its data
// source, a colon, and the key the provider's normalizer gave it. A user
// linked to two providers has a sleep_summary of one day from each; the
// data source keeps them apart.
func HealthKey(dataSource, key string) string { return dataSource + ":" + key }

// DataSource is the data source of the document, from its key.
func (d HealthDocument) DataSource() string {
	ds, _, _ := strings.Cut(d.Key, ":")
	return ds
}

// OutboxRecord says that one version of one health document must be
// delivered. It is written in the same transaction as the document.
type OutboxRecord struct {
	ID            int64
	ClientUUID    string
	UserID        string
	DataStructure string
	Pillar        string
	Day           string
	Key           string
	Version       int
	CreatedAt     time.Time
}

// RawWrite reports what PutRawDocuments did.
type RawWrite struct {
	Inserted, Updated, Unchanged int
	// ChangedDays are the days of inserted or updated documents: the days
	// whose health documents must be normalized again.
	ChangedDays []string
}

// HealthWrite reports what ApplyHealthDocuments did.
type HealthWrite struct {
	Inserted, Updated, Unchanged int
}

// HealthInput is one normalized document to store (normalize.Result).
type HealthInput struct {
	Key string
	Doc health.Doc
}

// HealthQuery selects health documents.
type HealthQuery struct {
	ClientUUID    string
	UserID        string
	DataStructure string // "" for all
	Pillar        string // "" for all
	Day           string // "" for all days
	FromDay       string // inclusive, with ToDay; ignored when Day is set
	ToDay         string
}

// Store is the seam between wearlink and its database. Every method is safe
// for concurrent use. Not-found errors are health.Error with code
// health.ENOTFOUND, conflicts health.ECONFLICT.
type Store interface {
	// Clients
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, uuid string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	UpdateClient(ctx context.Context, c Client) error
	DeleteClient(ctx context.Context, uuid string) error

	// Users
	UpsertUser(ctx context.Context, u User) (User, error)
	GetUser(ctx context.Context, clientUUID, userID string) (User, error)
	ListUsers(ctx context.Context, clientUUID string, limit, offset int) ([]User, error)

	// Connections. CreateConnection returns the existing connection (with
	// the new tokens and status active) when one already exists for the
	// same client, user and data source.
	CreateConnection(ctx context.Context, c Connection) (Connection, error)
	GetConnection(ctx context.Context, id int64) (Connection, error)
	FindConnection(ctx context.Context, clientUUID, userID, dataSource string) (Connection, error)
	// ConnectionsByExternalUser returns the active connections of one
	// provider account (one account may be linked by several clients).
	ConnectionsByExternalUser(ctx context.Context, dataSource, externalUserID string) ([]Connection, error)
	ListConnections(ctx context.Context, status string) ([]Connection, error)
	// UpdateTokens persists a rotated grant; it must be durable before it
	// returns, because the old refresh token no longer works.
	UpdateTokens(ctx context.Context, id int64, t Tokens) error
	SetConnectionStatus(ctx context.Context, id int64, status, lastError string) error
	// SwapConnectionStatus sets the status (and last error) only while it
	// is from, and reports whether it did: of concurrent callers that
	// see the same failure, one wins and reports it.
	SwapConnectionStatus(ctx context.Context, id int64, from, to, lastError string) (bool, error)
	SetExternalUserID(ctx context.Context, id int64, externalUserID string) error
	// SetCursors merges cursors (a key with value "" is deleted) and
	// records the sync time.
	SetCursors(ctx context.Context, id int64, cursors map[string]string, syncedAt time.Time) error

	// Raw documents. PutRawDocuments is idempotent: the same bytes twice
	// change nothing; changed bytes update the row.
	PutRawDocuments(ctx context.Context, docs []RawDocument) (RawWrite, error)
	// RawDocuments returns a connection's documents of days fromDay..toDay
	// (inclusive; "" bounds are open) plus those without a day, for every
	// collection when collections is empty.
	RawDocuments(ctx context.Context, connectionID int64, collections []string, fromDay, toDay string) ([]RawDocument, error)
	CountRawDocuments(ctx context.Context, connectionID int64) (map[string]int, error)
	// RawDocument returns one raw document by its identity; ENOTFOUND
	// when it is not stored.
	RawDocument(ctx context.Context, connectionID int64, collection, externalID string) (RawDocument, error)
	// DeleteRawDocument deletes one raw document by its identity and
	// returns it as it was stored, so the caller knows the day whose
	// health documents must be normalized again; ENOTFOUND when it is not
	// stored (already deleted, or never fetched). Health documents are
	// left alone: re-normalizing the day is the caller's.
	DeleteRawDocument(ctx context.Context, connectionID int64, collection, externalID string) (RawDocument, error)

	// Health documents. ApplyHealthDocuments writes, in one transaction,
	// every document whose content changed (document_version = stored
	// version + 1, or 1 when new, set on the Doc before it is encoded) and
	// an outbox record for each. A document whose content is unchanged
	// (same bytes apart from document_version) is left alone. Documents are
	// identified by (client, user, data structure, pillar, key); client and
	// user come from the Doc's envelope.
	ApplyHealthDocuments(ctx context.Context, docs []HealthInput) (HealthWrite, error)
	GetHealthDocuments(ctx context.Context, q HealthQuery) ([]HealthDocument, error)
	CountHealthDocuments(ctx context.Context, clientUUID string) (map[string]int, error)

	// Migrate brings the schema (wearlink's and River's) up to date.
	Migrate(ctx context.Context) error
	Close() error
}

// CursorWriter sets cursors in a writing transaction that the job queue
// shares (the drivers' JobTx), so that the cursors and the jobs queued
// with them commit together.
type CursorWriter interface {
	SetCursors(ctx context.Context, id int64, cursors map[string]string, syncedAt time.Time) error
}

// Full is a whole store: Store, APIStore, DeliveryStore, EraseStore,
// SessionStore and WriteProber. Both implementations satisfy it and the composition root holds one, so no
// consumer has to assert its way from one seam to another; consumers
// declare the narrow interfaces they need.
type Full interface {
	Store
	APIStore
	DeliveryStore
	EraseStore
	SessionStore
	WriteProber
	// RunMigrations is Migrate reporting what it applied.
	RunMigrations(ctx context.Context) (MigrationResult, error)
}
