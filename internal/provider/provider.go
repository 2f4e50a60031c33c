// Package provider is the seam between wearlink's generic parts (ingest,
// linking, the API, the pages) and the wearable providers. A provider is
// one folder under internal/provider that implements Provider and, where
// the provider has them, the optional interfaces below, in the way io has
// Reader and the optional WriterTo. Everything a generic package needs to
// know about a provider it asks through these types; nothing outside a
// provider's folder names it, except the composition root that builds the
// Registry.
//
// The shapes come from the providers' own APIs: Oura notifies per document
// and has a subscription API; WHOOP notifies per document to one URL set in
// its dashboard; Withings notifies per user and category with a time window
// and no signature, after a subscription per user; Polar needs a user
// registration and has no refresh token; Dexcom has no notifications;
// Garmin can push the documents themselves.
//
// This package imports only internal/health.
package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// Provider is what every provider answers.
type Provider interface {
	// Info says who the provider is and how its OAuth works.
	Info() Info
	// Collections describes what can be read, one row per collection.
	Collections() []Collection
	// Fetch returns exactly the documents of one collection that belong
	// to the window's local days. The provider widens its query as its
	// API's filters require and filters the answer on each document's own
	// day, so the caller can store the result as the whole window.
	Fetch(ctx context.Context, a Auth, collection string, w Window) ([]Document, error)
	// Identify returns the provider's account behind a token: Oura's
	// personal_info id, WHOOP's profile user_id, Withings' userid.
	// Notifications name users by it.
	Identify(ctx context.Context, a Auth) (Account, error)
}

// DocumentFetcher is implemented by providers that can read one document
// by id, which an update notification of an old document needs.
type DocumentFetcher interface {
	FetchDocument(ctx context.Context, a Auth, collection, id string) (Document, error)
}

// NotificationReader is implemented by providers that send notifications.
// ReadNotification checks that the request comes from the provider (a
// signature where there is one) and says what changed. An error of kind
// KindUnauthorized means the request is not the provider's: answer 401 and
// change nothing. body is r's raw body, already read.
type NotificationReader interface {
	ReadNotification(r *http.Request, body []byte) ([]Notification, error)
}

// Challenger is implemented by providers that check a callback URL with a
// GET before they send notifications to it (Oura): Challenge returns the
// JSON body to answer, or an error of kind KindUnauthorized.
type Challenger interface {
	Challenge(r *http.Request) (any, error)
}

// Subscriber is implemented by providers with an API for app-level
// notification subscriptions (Oura). Subscribe makes sure every
// subscription for callbackURL exists and is not about to expire.
type Subscriber interface {
	Subscribe(ctx context.Context, callbackURL string) (SubscribeReport, error)
}

// UserSubscriber is implemented by providers whose notifications are
// subscribed per user after linking (Withings, per category). Such a
// provider's notifications are not signed: the callbackURL wearlink gives
// carries a secret token of the deployment, and notifications that come
// to any other URL are refused. SubscribeUser makes sure every
// subscription the user's grant allows points at callbackURL;
// UnsubscribeUser removes those pointing at it, before the grant ends.
type UserSubscriber interface {
	SubscribeUser(ctx context.Context, a Auth, callbackURL string) error
	UnsubscribeUser(ctx context.Context, a Auth, callbackURL string) error
}

// Normalizer turns a provider's raw documents into ROOK documents. It is
// pure: no I/O, the same documents give the same output. Documents it
// cannot use are reported as *InputError values (joined) while the rest is
// still normalized.
type Normalizer interface {
	Normalize(docs []Document, opt NormalizeOptions) ([]Normalized, error)
}

// NormalizeOptions say whose documents they are and how to place them.
type NormalizeOptions struct {
	ClientUUID, UserID string
	// Location is the user's zone; nil: the offsets of the user's own
	// documents decide.
	Location *time.Location
	// AsOf (YYYY-MM-DD) is the day documents that belong to no day are
	// filed under; "" the newest day of the input.
	AsOf string
}

// Normalized is one ROOK document and the key it is versioned under.
type Normalized struct {
	Key string
	Doc health.Doc
}

// InputError names an input document that could not be used at all; ID
// is empty for rows without one (Reason then counts them).
type InputError struct {
	Collection string
	ID         string
	Reason     string
}

// Error implements error.
func (e *InputError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("%s document: %s", e.Collection, e.Reason)
	}
	return fmt.Sprintf("%s %s: %s", e.Collection, e.ID, e.Reason)
}

// Unwrap classifies the error as invalid input for the HTTP layer.
func (e *InputError) Unwrap() error { return health.Errorf(health.EINVALID, "%s", e.Error()) }

// ChangeReader is implemented by providers that can list what changed
// since an instant, whatever its day (Withings' lastupdate): a
// reconciliation reads that, one call per collection, instead of every
// recent day. An error of kind KindInvalidRequest means the collection
// cannot be read so (Withings' sleep series): it is read by days instead.
type ChangeReader interface {
	FetchChanged(ctx context.Context, a Auth, collection string, since time.Time, loc *time.Location) ([]Document, error)
}

// Revoker is implemented by providers whose revocation is not RFC 7009's
// (WHOOP's DELETE of the user's access with the user's bearer token): it
// ends the grant behind auth at the provider. It takes an Auth rather than
// a token because such a request needs a live access token, and the stored
// one has usually expired by the time a user leaves: a TokenSource
// refreshes it first.
type Revoker interface {
	Revoke(ctx context.Context, auth Auth) error
}

// HistoryStarter is implemented by providers that can tell, from the
// documents read whole at link (Oura's ring configurations), the first day
// the account has data, so a backfill of everything starts there. "" when
// they do not say.
type HistoryStarter interface {
	FirstDay(whole []Document) string
}

// Info says who a provider is.
type Info struct {
	// DataSource is the slug ROOK's API uses ("oura", "whoop",
	// "withings"): in URLs, in the store, in the API's data_sources.
	DataSource string
	// Name is the display name ROOK uses in sources_of_data ("Oura").
	Name string
	// Description says what the provider's data is, for source lists.
	Description string
	OAuth       OAuth
}

// AuthStyle is where the token endpoint expects the client credentials.
type AuthStyle int

const (
	// AuthInHeader sends them as HTTP Basic authentication.
	AuthInHeader AuthStyle = iota
	// AuthInParams sends them as form fields.
	AuthInParams
)

// PKCE says whether the provider takes a code challenge.
type PKCE int

const (
	PKCENone PKCE = iota
	PKCEOptional
	PKCERequired
)

// OAuth describes a provider's authorization-code flow.
type OAuth struct {
	AuthURL, TokenURL, RevokeURL string
	Scopes                       []string
	// RequiredScopes must be granted for the link to be of use; a link
	// without them is refused and its token revoked.
	RequiredScopes []string
	// ScopeSeparator joins Scopes in the authorize URL: " " by the
	// standard, "," at Withings.
	ScopeSeparator string
	AuthStyle      AuthStyle
	PKCE           PKCE
	// RotatesRefreshToken is true when a refresh returns a new refresh
	// token and the old one stops working: the new one must be stored
	// durably before it is used.
	RotatesRefreshToken bool
	// NoRefreshToken is true when the provider issues none (Polar): an
	// expired token means a new consent.
	NoRefreshToken bool
}

// RangeKind is how a collection is read.
type RangeKind int

const (
	// RangeDays: by local days (Oura's start_date, Withings' startdateymd).
	RangeDays RangeKind = iota
	// RangeInstants: by instants (Oura's start_datetime, WHOOP's start/end,
	// Withings' epoch startdate/enddate).
	RangeInstants
	// RangeAll: the collection is read whole (Oura's ring_configuration).
	RangeAll
	// RangeSingleton: the collection is one document (Oura's
	// personal_info, WHOOP's profile).
	RangeSingleton
)

// Collection describes one collection of a provider.
type Collection struct {
	// Name is the provider's own name, as in its URLs ("vO2_max").
	Name  string
	Range RangeKind
	// ByID is true when one document can be read by id.
	ByID bool
	// Notified is true when the provider's notifications announce changes.
	Notified bool
	// TimeSeries is true for rows keyed by their timestamp (heart rate):
	// many per day, no id.
	TimeSeries bool
	// HistoryDays is how far back the provider keeps data (0: unknown),
	// which bounds a backfill.
	HistoryDays int
	// ChangesForDays is how many days after its own day a document may
	// still change, so that reads of recent days must reach back that far
	// (0: the default, 2). A WHOOP cycle belongs to the evening it starts
	// and is closed and scored a day or two later.
	ChangesForDays int
	// PollEvery is how often a collection the provider does not notify is
	// read on its own (0: only with the others). A time series is read in
	// whole days; a singleton through Identify.
	PollEvery time.Duration
}

// Document is one document as the provider sent it.
type Document struct {
	Collection string
	// ID is the provider's stable id; time-series rows use their
	// timestamp. "" for a document that is its collection (a singleton),
	// which the store keys by day.
	ID string
	// Day is the user's local day the document belongs to, "" for those
	// that belong to none.
	Day string
	Raw json.RawMessage
	// Decoded is Raw as the provider's DocumentReader decoded it, so that
	// the provider's own normalizer and tables need not decode it again;
	// nil when it was not read, or did not decode. Its type is the
	// provider's business.
	Decoded any `json:"-"`
}

// Window is a span of the user's local days, both ends inclusive.
type Window struct {
	From, To string // YYYY-MM-DD
	// Loc is the user's zone; nil when not known yet (the provider then
	// widens the query so that every zone's days are covered).
	Loc *time.Location
}

// Auth gives the access token of one linked account, refreshing it when
// needed.
type Auth interface {
	AccessToken(ctx context.Context) (string, error)
}

// StaticToken is an Auth with a fixed token.
type StaticToken string

// AccessToken implements Auth.
func (t StaticToken) AccessToken(context.Context) (string, error) { return string(t), nil }

// Tokens is a user's OAuth grant.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	Expiry       time.Time
	// Scopes granted, as the provider names them.
	Scopes []string
}

// Account is the provider's account behind a token.
type Account struct {
	ExternalUserID string
	// TimeZone is the account's zone when the provider says it, else nil.
	TimeZone *time.Location
	// Documents are what was read to identify the account when it is data
	// too (Oura's personal_info): stored like any other document.
	Documents []Document
}

// Notification is one change a provider announced.
type Notification struct {
	ExternalUserID string
	// Collection is what to read; "" for a change wearlink reads nothing
	// of (Oura's cycle phases, say), which Type then names.
	Collection string
	// Type is the provider's own name of what changed, for logs and
	// metrics.
	Type string
	// Event is "create", "update" or "delete" where the provider says.
	Event string
	// ID names the document, where the provider names one.
	ID string
	// From and To bound what changed, where the provider sends a window
	// instead of an id (Withings).
	From, To time.Time
	// Documents holds the data itself, where the provider pushes it.
	Documents []Document
}

// SubscribeReport says what Subscribe did.
type SubscribeReport struct {
	Created, Renewed, Existing int
}
