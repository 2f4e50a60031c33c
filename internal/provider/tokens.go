package provider

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Refresher redeems a refresh token at a provider with the application's
// credentials. A grant that is dead (used, revoked, expired) is an error
// of kind KindInvalidToken.
type Refresher interface {
	Refresh(ctx context.Context, refreshToken string) (Tokens, error)
}

// PersistFunc stores a rotated grant. TokenSource calls it with the new
// refresh token before the new access token is used: if it fails, the
// token is not used, because a refresh token that was not saved is lost
// for good where the provider rotates them.
type PersistFunc func(ctx context.Context, t Tokens) error

// TokenSource is the Auth of one linked account: it refreshes before
// expiry and when told to (after a 401), and hands every rotation to its
// PersistFunc first.
type TokenSource struct {
	r       Refresher
	persist PersistFunc
	now     func() time.Time
	// leeway refreshes this long before expiry.
	leeway time.Duration

	mu  sync.Mutex
	tok Tokens
	// pending is a rotated grant whose persist failed. The old refresh
	// token is already spent, so it is kept and persisted again before
	// anything else happens.
	pending *Tokens
}

// NewTokenSource wraps a stored grant. persist may be nil for throw-away
// sources (then a rotated refresh token lives only in memory).
func NewTokenSource(r Refresher, t Tokens, persist PersistFunc, now func() time.Time) *TokenSource {
	if now == nil {
		now = time.Now
	}
	return &TokenSource{r: r, persist: persist, now: now, leeway: 5 * time.Minute, tok: t}
}

// AccessToken implements Auth: a valid access token, refreshed when it is
// about to expire.
func (s *TokenSource) AccessToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushPendingLocked(ctx); err != nil {
		return "", err
	}
	if s.tok.AccessToken != "" && (s.tok.Expiry.IsZero() || s.now().Add(s.leeway).Before(s.tok.Expiry)) {
		return s.tok.AccessToken, nil
	}
	if err := s.refreshLocked(ctx); err != nil {
		return "", err
	}
	return s.tok.AccessToken, nil
}

// Refresh forces a refresh (after the provider rejected the current
// token).
func (s *TokenSource) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return s.flushPendingLocked(ctx)
	}
	return s.refreshLocked(ctx)
}

// RefreshRejected refreshes only if rejected is still the current access
// token. Requests that were refused together then share one refresh: where
// a refresh revokes the tokens it replaces (WHOOP), a second refresh would
// revoke the token the first one just obtained.
func (s *TokenSource) RefreshRejected(ctx context.Context, rejected string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		return s.flushPendingLocked(ctx)
	}
	if s.tok.AccessToken != rejected {
		return nil // already replaced
	}
	return s.refreshLocked(ctx)
}

// RejectedRefresher is an Auth that can refresh after the provider
// rejected a given token, and only then (see TokenSource.RefreshRejected).
// Clients prefer it to a plain refresh where they have it.
type RejectedRefresher interface {
	Auth
	RefreshRejected(ctx context.Context, rejected string) error
}

// The providers' clients refresh only through RefreshRejected.
var _ RejectedRefresher = (*TokenSource)(nil)

// Current returns the grant as it stands.
func (s *TokenSource) Current() Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok
}

func (s *TokenSource) flushPendingLocked(ctx context.Context) error {
	if s.pending == nil {
		return nil
	}
	if err := s.persist(ctx, *s.pending); err != nil {
		return fmt.Errorf("persist rotated token: %w", err)
	}
	s.tok, s.pending = *s.pending, nil
	return nil
}

func (s *TokenSource) refreshLocked(ctx context.Context) error {
	nt, err := s.r.Refresh(ctx, s.tok.RefreshToken)
	if err != nil {
		return fmt.Errorf("refresh token: %w", err)
	}
	// Providers that do not rotate send no new refresh token, and some
	// leave the scopes out of a refresh.
	if nt.RefreshToken == "" {
		nt.RefreshToken = s.tok.RefreshToken
	}
	if len(nt.Scopes) == 0 {
		nt.Scopes = s.tok.Scopes
	}
	if s.persist != nil {
		if err := s.persist(ctx, nt); err != nil {
			s.pending = &nt
			return fmt.Errorf("persist rotated token: %w", err)
		}
	}
	s.tok = nt
	return nil
}
