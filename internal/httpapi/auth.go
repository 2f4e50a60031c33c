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
//
// An unknown client_uuid is remembered for the same time: were only known
// clients cached, a known id would answer without a store read and an
// unknown one with one, and the difference (about 80 µs) tells an
// attacker which ids exist. Misses are bounded (maxMisses), so unknown
// ids cannot grow the cache without limit.
type authenticator struct {
	st  Store
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	cache   map[string]cachedClient
	unknown map[string]time.Time
}

// maxUnknown bounds the unknown ids remembered; past it an arbitrary one
// (Go's map iteration starts at random) is forgotten for each new one.
const maxUnknown = 4096

type cachedClient struct {
	c  store.Client
	at time.Time
}

func newAuthenticator(st Store, ttl time.Duration, now func() time.Time) *authenticator {
	return &authenticator{st: st, ttl: ttl, now: now, cache: map[string]cachedClient{}, unknown: map[string]time.Time{}}
}

func (a *authenticator) fresh(at, now time.Time) bool {
	return now.Sub(at) < a.ttl && now.Sub(at) >= 0
}

// client returns the client record, or ENOTFOUND, from the cache when
// fresh, so that a known and an unknown id cost the same.
func (a *authenticator) client(ctx context.Context, uuid string) (store.Client, error) {
	now := a.now()
	if a.ttl > 0 {
		a.mu.Lock()
		e, ok := a.cache[uuid]
		at, gone := a.unknown[uuid]
		a.mu.Unlock()
		if ok && a.fresh(e.at, now) {
			return e.c, nil
		}
		if gone && a.fresh(at, now) {
			return store.Client{}, health.Errorf(health.ENOTFOUND, "client %s not found", uuid)
		}
	}
	c, err := a.st.GetClient(ctx, uuid)
	if a.ttl <= 0 {
		return c, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.cache, uuid)
	delete(a.unknown, uuid)
	switch {
	case err == nil:
		a.cache[uuid] = cachedClient{c: c, at: now}
	case health.ErrorCode(err) == health.ENOTFOUND:
		if len(a.unknown) >= maxUnknown {
			for k := range a.unknown {
				delete(a.unknown, k)
				break
			}
		}
		a.unknown[uuid] = now
	}
	return c, err
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
