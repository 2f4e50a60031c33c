package ingest

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// errReauth marks a failure that only a new authorization can fix; the
// connection has been marked and the job must not retry.
var errReauth = errors.New("connection needs re-authorization")

// authCache keeps one token source per connection, so that concurrent jobs
// of a user share one grant: where refresh tokens are single-use, two sources refreshing the same token would lock the user out.
type authCache struct {
	mu gosync.Mutex
	m  map[int64]*connAuth
}

// connAuth is the provider.Auth of one connection. The providers' clients
// refresh only through RefreshRejected.
var _ provider.RejectedRefresher = (*connAuth)(nil)

// connAuth is the provider.Auth of one connection.
type connAuth struct {
	e  *Engine
	id int64

	mu   gosync.Mutex
	conn store.Connection
	ts   *provider.TokenSource // nil: the token is used as it is
}

func toProvider(t store.Tokens) provider.Tokens {
	return provider.Tokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: t.Expiry, Scopes: t.Scopes}
}

func fromProvider(t provider.Tokens) store.Tokens {
	return store.Tokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: t.Expiry, Scopes: t.Scopes}
}

// auth returns the shared Auth of conn, adopting conn's tokens when they
// are newer than the cached ones (a new link, or a rotation by another
// process).
func (e *Engine) auth(conn store.Connection) *connAuth {
	e.auths.mu.Lock()
	defer e.auths.mu.Unlock()
	a := e.auths.m[conn.ID]
	if a == nil {
		a = &connAuth{e: e, id: conn.ID}
		a.reset(conn)
		e.auths.m[conn.ID] = a
		return a
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.current()
	if cur.AccessToken != conn.Tokens.AccessToken && (conn.Tokens.Expiry.After(cur.Expiry) || cur.Expiry.IsZero()) {
		a.resetLocked(conn)
	}
	a.conn.Status = conn.Status
	return a
}

// forgetAuth drops the cached grant of a connection.
func (e *Engine) forgetAuth(id int64) {
	e.auths.mu.Lock()
	delete(e.auths.m, id)
	e.auths.mu.Unlock()
}

func (a *connAuth) reset(conn store.Connection) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resetLocked(conn)
}

func (a *connAuth) resetLocked(conn store.Connection) {
	a.conn = conn
	a.ts = nil
	if r := a.e.cfg.Refreshers[conn.DataSource]; r != nil && conn.Tokens.RefreshToken != "" {
		a.ts = provider.NewTokenSource(r, toProvider(conn.Tokens), a.persist, a.e.now)
	}
}

// Current is the connection's grant as last known: a provider reads the
// granted scopes from it (Withings subscribes the notification categories
// they allow).
func (a *connAuth) Current() provider.Tokens {
	a.mu.Lock()
	defer a.mu.Unlock()
	return toProvider(a.current())
}

func (a *connAuth) current() store.Tokens {
	if a.ts != nil {
		return fromProvider(a.ts.Current())
	}
	return a.conn.Tokens
}

// persist stores a rotated grant before it is used (the token source calls
// it with the new refresh token; the old one may already be spent).
func (a *connAuth) persist(ctx context.Context, t provider.Tokens) error {
	if err := a.e.st.UpdateTokens(ctx, a.id, fromProvider(t)); err != nil {
		return fmt.Errorf("persist rotated tokens of connection %d: %w", a.id, err)
	}
	a.e.log.InfoContext(ctx, "token refreshed", "connection", a.id, "expiry", t.Expiry)
	return nil
}

// AccessToken implements provider.Auth.
func (a *connAuth) AccessToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	ts, tok := a.ts, a.conn.Tokens.AccessToken
	a.mu.Unlock()
	if ts == nil {
		return tok, nil
	}
	t, err := ts.AccessToken(ctx)
	if err == nil {
		return t, nil
	}
	if err := a.refreshFailed(ctx, ts, err); err != nil {
		return "", err
	}
	return a.AccessToken(ctx)
}

// RefreshRejected is called by a provider's client after a 401 for the
// token it sent: a token another request has already replaced is not
// refreshed again.
func (a *connAuth) RefreshRejected(ctx context.Context, rejected string) error {
	a.mu.Lock()
	ts := a.ts
	a.mu.Unlock()
	if ts == nil {
		return a.e.reauth(ctx, a.id, "token", errors.New("access token rejected and no refresh token"))
	}
	err := ts.RefreshRejected(ctx, rejected)
	if err == nil {
		return nil
	}
	return a.refreshFailed(ctx, ts, err)
}

// refreshFailed decides what a failed refresh means. It returns nil when
// the stored grant turned out to be newer (another process rotated it) and
// the caller may try again.
func (a *connAuth) refreshFailed(ctx context.Context, used *provider.TokenSource, err error) error {
	if provider.KindOf(err) != provider.KindInvalidToken {
		return err // network, 5xx, persist failure: try again later
	}
	conn, gerr := a.e.st.GetConnection(ctx, a.id)
	if gerr != nil {
		return errors.Join(err, gerr)
	}
	a.mu.Lock()
	if a.ts == used && conn.Tokens.RefreshToken != used.Current().RefreshToken {
		a.resetLocked(conn)
		a.mu.Unlock()
		return nil
	}
	if a.ts != used {
		a.mu.Unlock()
		return nil // replaced meanwhile
	}
	a.mu.Unlock()
	return a.e.reauth(ctx, a.id, "token", err)
}

// reauth marks a connection as needing a new authorization, records the
// lifecycle event, and returns an error wrapping errReauth.
func (e *Engine) reauth(ctx context.Context, id int64, reason string, cause error) error {
	msg := "extraction failed: " + reason
	if cause != nil {
		msg += ": " + cause.Error()
	}
	if err := e.st.SetConnectionStatus(ctx, id, store.StatusReauthRequired, msg); err != nil {
		return errors.Join(fmt.Errorf("%w: %v", errReauth, cause), err)
	}
	conn, err := e.st.GetConnection(ctx, id)
	if err != nil {
		conn = store.Connection{ID: id}
	}
	e.log.WarnContext(ctx, "extraction failed", "reason", reason, "connection", id, "client_uuid", conn.ClientUUID, "user_id", conn.UserID, "err", cause)
	e.cfg.Events.ExtractionFailed(ctx, conn, reason, cause)
	return fmt.Errorf("%w: %v", errReauth, cause)
}
