package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"slices"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/secret"
)

// Webhook endpoint kinds: data endpoints receive health documents,
// notification endpoints receive lifecycle events.
const (
	EndpointData         = "data"
	EndpointNotification = "notification"
)

// Webhook message kinds.
const (
	// MessageData is one version of one health document.
	MessageData = "data"
	// MessageLifecycle is a lifecycle event for notification endpoints.
	MessageLifecycle = "lifecycle"
	// MessageTest is an event sent on request to check an endpoint.
	MessageTest = "test"
)

// Delivery statuses.
const (
	// DeliveryPending: an attempt is due at NextAttemptAt.
	DeliveryPending = "pending"
	// DeliverySucceeded: the endpoint answered 2xx.
	DeliverySucceeded = "succeeded"
	// DeliveryDead: the retries are exhausted, the endpoint gone or
	// disabled. Kept as a dead letter until pruned; replayable.
	DeliveryDead = "dead"
)

// WebhookEndpoint is a URL of a client that wearlink posts to.
type WebhookEndpoint struct {
	// ID is "ep_" and random characters, set by CreateEndpoint.
	ID         string
	ClientUUID string
	Kind       string
	URL        string
	// Secret is the whsec_ signing secret; the store seals it at rest and
	// callers see it in clear.
	Secret string
	// PreviousSecret signs too until PreviousExpiresAt (rotation grace).
	PreviousSecret    string
	PreviousExpiresAt time.Time
	// DataStructures limits a data endpoint to these data_structure names;
	// empty means all.
	DataStructures []string
	Enabled        bool
	DisabledReason string
	// FailingSince is the time of the first failed attempt since the last
	// success, zero while the endpoint is healthy.
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time

	// Destination is "" for a webhook. For a destination it is its kind
	// ("s3", "kafka", "postgres"): a data endpoint that documents are
	// written to with that system's client instead of posted to URL, which
	// then only describes it (without credentials). Destinations are
	// listed apart from webhooks (ListDestinations) but get deliveries
	// exactly as they do.
	Destination string
	// Settings are a destination's settings (JSON, secrets in clear); the
	// store seals them at rest as it seals Secret. Nil for a webhook.
	Settings []byte
	// Paused keeps the endpoint's deliveries pending and unattempted:
	// no job is queued for them until it is resumed.
	Paused bool
}

// IsDestination reports whether e is a destination rather than a webhook.
func (e WebhookEndpoint) IsDestination() bool { return e.Destination != "" }

// Accepts reports whether a data endpoint takes documents of dataStructure.
func (e WebhookEndpoint) Accepts(dataStructure string) bool {
	return len(e.DataStructures) == 0 || slices.Contains(e.DataStructures, dataStructure)
}

// EndpointUpdate changes the fields that are set.
type EndpointUpdate struct {
	URL            *string
	DataStructures *[]string
	// Settings replaces a destination's settings.
	Settings *[]byte
}

// WebhookMessage is what is posted: one health document version or one
// lifecycle event. Its body and WebhookID are the same for every endpoint
// and every attempt.
type WebhookMessage struct {
	ID int64
	// WebhookID is the webhook-id header: "msg_" and random characters.
	WebhookID  string
	ClientUUID string
	UserID     string
	Kind       string
	// EventType is the data_structure of a data message, the event type
	// ("user.created" ...) of the others.
	EventType string
	// Document identity of a data message.
	Pillar  string
	Day     string
	Key     string
	Version int
	Body    []byte
	// CreatedAt is when the message was written.
	CreatedAt time.Time
}

// Delivery is one message to one endpoint.
type Delivery struct {
	ID         int64
	MessageID  int64
	EndpointID string
	ClientUUID string
	Status     string
	// Attempts counts every attempt; RoundAttempts those since the
	// delivery was created or last replayed, which pick the retry delay.
	Attempts      int
	RoundAttempts int
	Replays       int
	NextAttemptAt time.Time
	LastAttemptAt time.Time
	// LastStatusCode is the last HTTP status (0 when none came back);
	// LastError says why the last attempt or the delivery failed.
	LastStatusCode int
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// FinishedAt is when the delivery succeeded or died.
	FinishedAt time.Time

	// From the message.
	WebhookID string
	UserID    string
	Kind      string
	EventType string
	Pillar    string
	Day       string
	// Key is a data message's document key.
	Key     string
	Version int
	// Body is set by GetDelivery only.
	Body []byte
}

// Attempt error classes.
const (
	ErrorDNS     = "dns"
	ErrorConnect = "connect"
	ErrorTLS     = "tls"
	ErrorTimeout = "timeout"
	ErrorHTTP    = "http" // an answer that is not 2xx
	// ErrorBlocked: the address is private, loopback or link-local and
	// such webhooks are not allowed.
	ErrorBlocked = "blocked"
	// A destination's attempts add the classes of its system's answer:
	// unavailable, auth, permission, not_found and invalid (see package
	// delivery/destination).
)

// MaxResponseKept is how much of a response body an attempt keeps.
const MaxResponseKept = 4096

// DeliveryAttempt is one POST of a delivery.
type DeliveryAttempt struct {
	ID         int64
	DeliveryID int64
	// Attempt is 1 for the first attempt of the delivery, counting on
	// across replays.
	Attempt     int
	AttemptedAt time.Time
	StatusCode  int
	Duration    time.Duration
	ErrorClass  string
	Error       string
	// Response is the start of the response body (MaxResponseKept bytes).
	Response []byte
}

// AttemptRecord is an attempt and what it decided.
type AttemptRecord struct {
	DeliveryID int64
	// ExpectAttempts is the delivery's Attempts as the caller read it: the
	// record applies only while the delivery is pending with that count
	// (an ECONFLICT error otherwise), so one attempt is never recorded
	// twice.
	ExpectAttempts int
	Attempt        DeliveryAttempt
	// Status is the delivery's new status; NextAttemptAt matters when it
	// stays pending.
	Status        string
	NextAttemptAt time.Time
	// Failed marks the endpoint failing (from Attempt.AttemptedAt unless
	// it already is); a success clears it.
	Failed bool
}

// AttemptResult is what RecordAttempts did with one record.
type AttemptResult struct {
	Delivery     Delivery
	FailingSince time.Time
	Err          error
}

// FanOutResult reports what FanOut did.
type FanOutResult struct {
	// Records is the number of outbox records consumed.
	Records int
	// Superseded records named a version the document has since left:
	// the record of the newer version delivers it.
	Superseded int
	Messages   int
	Deliveries int
}

// DeliveryQuery selects deliveries, in id order.
type DeliveryQuery struct {
	ClientUUID string // "" for every client
	EndpointID string // "" for every endpoint
	Status     string // "" for every status
	// CreatedFrom (inclusive) and CreatedTo (exclusive) bound CreatedAt;
	// zero values leave the range open.
	CreatedFrom time.Time
	CreatedTo   time.Time
	AfterID     int64
	Limit       int // default 100
}

// ReplayQuery selects deliveries to replay: the given IDs whatever their
// finished status, or else the dead letters of ClientUUID created in
// [CreatedFrom, CreatedTo) (zero bounds are open). Deliveries to a
// disabled endpoint are left as they are.
type ReplayQuery struct {
	IDs         []int64
	ClientUUID  string
	CreatedFrom time.Time
	CreatedTo   time.Time
}

// DeliveryStore keeps webhook endpoints, messages, deliveries and their
// attempts. Both store implementations satisfy it. Times passed in are
// the delivery clock's readings, kept at microsecond precision. Not-found
// errors are health.ENOTFOUND, invalid input health.EINVALID.
type DeliveryStore interface {
	// CreateEndpoint stores a new endpoint of an existing client, with a
	// new ID, and returns it.
	CreateEndpoint(ctx context.Context, e WebhookEndpoint) (WebhookEndpoint, error)
	GetEndpoint(ctx context.Context, id string) (WebhookEndpoint, error)
	// ListEndpoints returns a client's webhook endpoints ("" for every
	// client), in (client, creation) order; destinations are left out.
	ListEndpoints(ctx context.Context, clientUUID string) ([]WebhookEndpoint, error)
	// ListDestinations is ListEndpoints for the client's destinations.
	ListDestinations(ctx context.Context, clientUUID string) ([]WebhookEndpoint, error)
	UpdateEndpoint(ctx context.Context, id string, u EndpointUpdate) (WebhookEndpoint, error)
	// RotateEndpointSecret makes secret the signing secret and keeps the
	// current one as PreviousSecret until previousUntil.
	RotateEndpointSecret(ctx context.Context, id, secret string, previousUntil time.Time) (WebhookEndpoint, error)
	// SetEndpointEnabled enables (clearing FailingSince and the reason) or
	// disables an endpoint. Disabling turns its pending deliveries into
	// dead letters with reason as their error, in the same transaction.
	SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string, now time.Time) (WebhookEndpoint, error)
	// SetEndpointPaused pauses or resumes an endpoint. Its deliveries stay
	// pending while it is paused: UnenqueuedDeliveries and
	// OverdueDeliveries leave them out, and resuming marks them
	// unenqueued so that they are queued again.
	SetEndpointPaused(ctx context.Context, id string, paused bool) (WebhookEndpoint, error)
	// DeleteEndpoint removes an endpoint and its deliveries.
	DeleteEndpoint(ctx context.Context, id string) error

	// FanOut consumes up to limit outbox records in one transaction: each
	// whose version is still the document's current one becomes a message
	// (the body as stored) with a delivery for every data endpoint of the
	// client that accepts its data structure: pending and due now, or dead
	// at once for a disabled endpoint. Records are deleted as consumed.
	// Concurrent calls (several processes) consume each record once.
	FanOut(ctx context.Context, limit int, now time.Time) (FanOutResult, error)
	// AddMessage stores a lifecycle or test message with a delivery to each
	// of endpointIDs (nil: every notification endpoint of the client) and
	// returns the deliveries' ids. Nothing is stored when there is no
	// endpoint. WebhookID is set when empty.
	AddMessage(ctx context.Context, m WebhookMessage, endpointIDs []string, now time.Time) ([]int64, error)

	// UnenqueuedDeliveries returns pending deliveries no job was queued
	// for yet, in id order, but none to a paused endpoint; MarkEnqueued
	// records that one was.
	UnenqueuedDeliveries(ctx context.Context, limit int) ([]int64, error)
	MarkEnqueued(ctx context.Context, ids []int64) error
	// OverdueDeliveries returns pending deliveries (enqueued or not) that
	// were due before before: their job may have been lost. Deliveries to
	// a paused endpoint are left out.
	OverdueDeliveries(ctx context.Context, before time.Time, limit int) ([]int64, error)

	// GetDelivery returns a delivery with its message's body.
	GetDelivery(ctx context.Context, id int64) (Delivery, error)
	// GetDeliveryToSend returns a delivery with its message's body and its
	// endpoint, as one read: what an attempt needs.
	GetDeliveryToSend(ctx context.Context, id int64) (Delivery, WebhookEndpoint, error)
	// RecordAttempt stores an attempt and its outcome in one transaction.
	// It returns the delivery as updated and the endpoint's FailingSince.
	RecordAttempt(ctx context.Context, r AttemptRecord) (Delivery, time.Time, error)
	// RecordAttempts is RecordAttempt for several records in one
	// transaction, so concurrent workers share one commit. A record that
	// conflicts or names no delivery gets its error in its result; the
	// others are stored. The error is for the batch as a whole.
	RecordAttempts(ctx context.Context, rs []AttemptRecord) ([]AttemptResult, error)
	// KillDelivery makes a pending delivery dead without an attempt (its
	// endpoint was disabled meanwhile). A delivery no longer pending is
	// left alone and false returned.
	KillDelivery(ctx context.Context, id int64, reason string, now time.Time) (bool, error)

	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error)
	ListAttempts(ctx context.Context, deliveryID int64) ([]DeliveryAttempt, error)
	// ReplayDeliveries makes the selected deliveries pending again, due
	// now, with a fresh retry schedule and the same message (so the same
	// webhook-id), and returns how many it replayed.
	ReplayDeliveries(ctx context.Context, q ReplayQuery, now time.Time) (int, error)
	// PruneDeliveries deletes dead deliveries finished before deadBefore
	// and succeeded ones finished before succeededBefore, with their
	// attempts, and messages left without deliveries.
	PruneDeliveries(ctx context.Context, deadBefore, succeededBefore time.Time) (int, error)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomID(prefix string) string {
	b := make([]byte, 15)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + idEncoding.EncodeToString(b)
}

// NewEndpointID returns a new endpoint id, "ep_" and 24 characters.
func NewEndpointID() string { return randomID("ep_") }

// NewWebhookID returns a new message id, "msg_" and 24 characters: random,
// so ids of several wearlink installations never collide at a receiver.
func NewWebhookID() string { return randomID("msg_") }

// NewDestinationID returns a new destination id, "ds_" and 24 characters.
func NewDestinationID() string { return randomID("ds_") }

// ValidEndpointKind reports whether k is a known endpoint kind.
func ValidEndpointKind(k string) bool {
	return k == EndpointData || k == EndpointNotification
}

// ValidDeliveryStatus reports whether s is a known delivery status.
func ValidDeliveryStatus(s string) bool {
	return s == DeliveryPending || s == DeliverySucceeded || s == DeliveryDead
}

// EndpointSecretAD is the associated data sealing an endpoint's secret
// columns: the endpoint's id and client, so a sealed secret copied to
// another row or column does not open. For store implementations.
func EndpointSecretAD(column string, e *WebhookEndpoint) []byte {
	return secret.AD("webhook_endpoints."+column, e.ClientUUID, e.ID)
}

// EncodeDataStructures is the stored form of a data structure filter:
// sorted names joined by commas ("" for all).
func EncodeDataStructures(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// DecodeDataStructures reverses EncodeDataStructures.
func DecodeDataStructures(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
