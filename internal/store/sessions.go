package store

import (
	"context"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// DashboardSession is one signed-in dashboard browser, kept server-side
// so that signing out (or the client's secret changing) ends it for every
// copy of its cookie.
type DashboardSession struct {
	// ID is the SHA-256 of the random token in the cookie: a database read
	// does not yield a usable cookie.
	ID         []byte
	ClientUUID string
	// SecretFingerprint is a hash of the client's secret hash at sign-in;
	// the session ends when it no longer matches (secret rotated).
	SecretFingerprint []byte
	// CSRF is the token every form of the session carries.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Validate reports an EINVALID error for a session that cannot be stored.
func (s DashboardSession) Validate() error {
	switch {
	case len(s.ID) < 16:
		return health.Errorf(health.EINVALID, "session id must be at least 16 bytes")
	case s.ClientUUID == "":
		return health.Errorf(health.EINVALID, "session: client_uuid is required")
	case len(s.SecretFingerprint) == 0:
		return health.Errorf(health.EINVALID, "session: secret fingerprint is required")
	case len(s.CSRF) < 16:
		return health.Errorf(health.EINVALID, "session: csrf token is required")
	case s.ExpiresAt.IsZero():
		return health.Errorf(health.EINVALID, "session: expiry is required")
	}
	return nil
}

// SessionStore keeps dashboard sessions (sqlstore, for both engines).
type SessionStore interface {
	CreateSession(ctx context.Context, s DashboardSession) error
	// GetSession returns a session that has not expired at now
	// (ENOTFOUND otherwise).
	GetSession(ctx context.Context, id []byte, now time.Time) (DashboardSession, error)
	DeleteSession(ctx context.Context, id []byte) error
	// DeleteClientSessions ends every session of a client.
	DeleteClientSessions(ctx context.Context, clientUUID string) (int, error)
	// PurgeSessions deletes the sessions expired at now.
	PurgeSessions(ctx context.Context, now time.Time) (int, error)
}
