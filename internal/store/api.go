package store

import (
	"context"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
)

// LinkState is one pending OAuth authorization: the state sent to the provider,
// bound to the client, the user and where the browser goes afterwards. It
// is single use (TakeLinkState deletes it) and expires.
type LinkState struct {
	// ID is the SHA-256 of the state token; the token itself only travels
	// through the browser, so a database read does not yield a usable state.
	ID          []byte
	ClientUUID  string
	UserID      string
	DataSource  string
	RedirectURL string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Validate reports an EINVALID error for a state that cannot be stored.
func (s LinkState) Validate() error {
	switch {
	case len(s.ID) < 16:
		return health.Errorf(health.EINVALID, "link state id must be at least 16 bytes")
	case s.ClientUUID == "":
		return health.Errorf(health.EINVALID, "link state: client_uuid is required")
	case !health.ValidUserID(s.UserID):
		return health.Errorf(health.EINVALID, "link state: user_id %q must be 1 to 50 letters, digits or hyphens", s.UserID)
	case s.DataSource == "":
		return health.Errorf(health.EINVALID, "link state: data source is required")
	case s.ExpiresAt.IsZero():
		return health.Errorf(health.EINVALID, "link state: expiry is required")
	}
	return nil
}

// ServerKeyAD is the associated data a server key is sealed under: a key
// copied to another name does not open.
func ServerKeyAD(name string) []byte { return secret.AD("server_keys.sealed_key", name) }

// UserStatusQuery selects a page of a client's users for the users status
// route.
type UserStatusQuery struct {
	ClientUUID string
	// CreatedBefore counts and lists only users created before it; zero
	// means all users.
	CreatedBefore time.Time
	// Limit <= 0 means no limit.
	Limit, Offset int
}

// ConnectionStatus is what the users status route shows of a connection:
// no tokens.
type ConnectionStatus struct {
	DataSource string
	Status     string
	LastSyncAt time.Time
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// UserStatus is one user with its connections, in data source order.
type UserStatus struct {
	UserID      string
	TimeZone    string
	CreatedAt   time.Time
	Connections []ConnectionStatus
}

// UserStatusPage is a page of users and the totals over all selected users.
type UserStatusPage struct {
	// Total counts the selected users; Active those with at least one
	// active connection.
	Total, Active int
	// Users are in user_id order.
	Users []UserStatus
}

// APIStore is what the REST API and account linking keep beyond Store. Both
// store implementations satisfy it. Not-found errors are health.Error with
// code health.ENOTFOUND.
type APIStore interface {
	// PutLinkState records a pending authorization. The client must exist.
	PutLinkState(ctx context.Context, s LinkState) error
	// TakeLinkState deletes the state and returns it, expired or not (the
	// caller tells the person which); ENOTFOUND when it is unknown or was
	// already taken. Two concurrent takes of one state: one gets it.
	TakeLinkState(ctx context.Context, id []byte) (LinkState, error)
	// PurgeLinkStates deletes the states that expired before t.
	PurgeLinkStates(ctx context.Context, t time.Time) (int, error)
	// ServerKey returns the 32-byte secret key with that name, creating it
	// at random on first use (sealed at rest). Every process sharing the
	// database gets the same key.
	ServerKey(ctx context.Context, name string) ([]byte, error)
	// UserStatuses returns the totals and one page of a client's users.
	UserStatuses(ctx context.Context, q UserStatusQuery) (UserStatusPage, error)
}
