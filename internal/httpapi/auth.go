package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// verifySecret compares a presented secret with the stored hash in
// constant time. A variable so that tests can see it is used on every path.
var verifySecret = secret.VerifyAPISecret

// dummyHash is compared against when the client does not exist, so that an
// unknown client_uuid costs the same as a wrong secret.
var dummyHash = secret.HashAPISecret("wearlink: no such client")

// authenticator checks Basic credentials against the clients in the store,
// keeping each client's record for a short time so that a busy client does
// not cost a store read per request.
type authenticator struct {
	st  Store
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cachedClient
}

type cachedClient struct {
	c  store.Client
	at time.Time
}

func newAuthenticator(st Store, ttl time.Duration, now func() time.Time) *authenticator {
	return &authenticator{st: st, ttl: ttl, now: now, cache: map[string]cachedClient{}}
}

// client returns the client record, from the cache when fresh. Only
// existing clients are cached, so unknown ids cannot grow the cache.
func (a *authenticator) client(ctx context.Context, uuid string) (store.Client, error) {
	now := a.now()
	if a.ttl > 0 {
		a.mu.Lock()
		e, ok := a.cache[uuid]
		a.mu.Unlock()
		if ok && now.Sub(e.at) < a.ttl && now.Sub(e.at) >= 0 {
			return e.c, nil
		}
	}
	c, err := a.st.GetClient(ctx, uuid)
	if err != nil {
		if a.ttl > 0 {
			a.mu.Lock()
			delete(a.cache, uuid)
			a.mu.Unlock()
		}
		return c, err
	}
	if a.ttl > 0 {
		a.mu.Lock()
		a.cache[uuid] = cachedClient{c: c, at: now}
		a.mu.Unlock()
	}
	return c, nil
}

const badCredentials = "The client_uuid or secret is incorrect."

// authenticate checks HTTP Basic credentials: client_uuid as the user name,
// the secret as the password.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (*store.Client, error) {
	uuid, pass, ok := r.BasicAuth()
	if !ok || uuid == "" {
		return nil, health.Errorf(health.EUNAUTHORIZED, "Authentication required: send HTTP Basic credentials with your client_uuid as the user name and your secret as the password.")
	}
	c, err := a.auth.client(r.Context(), uuid)
	switch {
	case health.ErrorCode(err) == health.ENOTFOUND:
		verifySecret(dummyHash, pass)
		return nil, health.Errorf(health.EUNAUTHORIZED, badCredentials)
	case err != nil:
		return nil, err
	}
	if len(c.SecretHash) == 0 {
		verifySecret(dummyHash, pass)
		return nil, health.Errorf(health.EUNAUTHORIZED, badCredentials)
	}
	if !verifySecret(c.SecretHash, pass) {
		return nil, health.Errorf(health.EUNAUTHORIZED, badCredentials)
	}
	return &c, nil
}

// limiter is the per-client rate limit: a token bucket per client_uuid.
type limiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newLimiter(cfg RateLimit, now func() time.Time) *limiter {
	l := &limiter{now: now, m: map[string]*rate.Limiter{}}
	if cfg.Requests <= 0 {
		return l
	}
	l.limit = rate.Limit(float64(cfg.Requests) / cfg.Window.Seconds())
	l.burst = cfg.Burst
	if l.burst <= 0 {
		l.burst = cfg.Requests
	}
	return l
}

// allow takes one request from the client's budget, or returns a 429
// error saying how long to wait.
func (l *limiter) allow(clientUUID string) error {
	if l.limit == 0 {
		return nil
	}
	l.mu.Lock()
	lim, ok := l.m[clientUUID]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[clientUUID] = lim
	}
	l.mu.Unlock()
	now := l.now()
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return &rateLimited{wait: time.Second}
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return &rateLimited{wait: d}
	}
	return nil
}
