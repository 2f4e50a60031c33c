package withings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Services, relative to the base URL. One service serves several actions.
const (
	serviceMeasure   = "/measure"
	serviceMeasureV2 = "/v2/measure"
	serviceSleepV2   = "/v2/sleep"
	serviceUserV2    = "/v2/user"
	serviceNotify    = "/notify"
	serviceOAuth2    = "/v2/oauth2"
)

// ClientConfig configures a Client. BaseURL is required: there is no
// default host, so a test or a misconfigured deployment can never reach
// the live API by accident (LiveAPIBaseURL in production).
type ClientConfig struct {
	BaseURL string
	// HTTPClient does the requests (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// PerMinute is the application's budget (default Withings' 120 a
	// minute); the client spaces its requests to stay inside it.
	PerMinute int
	// MaxAttempts bounds tries per request on status 601, server failures
	// and network errors (default 5).
	MaxAttempts int
	// BaseBackoff is the first retry delay, doubled per attempt with full
	// jitter (default 500 ms); MaxBackoff caps one delay (default 30 s).
	BaseBackoff, MaxBackoff time.Duration
	// RateLimitWait is how long a 601 holds every request of the
	// application back (default 10 s, doubled per attempt up to
	// MaxRetryAfter): Withings says nothing about when its window resets.
	RateLimitWait time.Duration
	// MaxRetryAfter is the longest wait taken inside a call; a longer one
	// is returned as KindRateLimited with RetryAfter, so that a job can be
	// rescheduled instead of holding a worker (default 60 s).
	MaxRetryAfter time.Duration
	UserAgent     string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits (default: a timer that honours ctx); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRateLimited hears of every rate-limit answer (status 601, or an
	// HTTP 429), with the tier "application": Withings' limit is the
	// application's.
	OnRateLimited func(tier string)
}

// TierApplication names the only layer of Withings' limits: the
// application's requests per minute, all users together.
const TierApplication = "application"

// Client talks to the Withings Public API for one application. It is safe
// for concurrent use; per-user calls go through User.
type Client struct {
	base *url.URL
	cfg  ClientConfig
	lim  *budget
}

// New checks the configuration.
func New(cfg ClientConfig) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("withings: a base URL is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("withings: invalid base URL %q", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.PerMinute <= 0 {
		cfg.PerMinute = 120
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.RateLimitWait <= 0 {
		cfg.RateLimitWait = 10 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 60 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "wearlink"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = provider.Sleep
	}
	return &Client{base: u, cfg: cfg, lim: &budget{perMinute: cfg.PerMinute}}, nil
}

// BaseURL returns the API base the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// budget keeps the application inside one fixed minute window on the
// injected clock, and holds everything back for a while after a 601.
type budget struct {
	perMinute int

	mu          sync.Mutex
	minuteStart time.Time
	minuteCount int
	blockedTill time.Time
}

// reserve takes one request from the budget, or says how long to wait
// before asking again.
func (b *budget) reserve(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.blockedTill) {
		return b.blockedTill.Sub(now)
	}
	if b.minuteStart.IsZero() || now.Sub(b.minuteStart) >= time.Minute || now.Before(b.minuteStart) {
		b.minuteStart, b.minuteCount = now, 0
	}
	if b.minuteCount >= b.perMinute {
		return b.minuteStart.Add(time.Minute).Sub(now)
	}
	b.minuteCount++
	return 0
}

// block holds every request back until now+d.
func (b *budget) block(now time.Time, d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := now.Add(d); t.After(b.blockedTill) {
		b.blockedTill = t
	}
}

// wait blocks until one request fits the budget. A wait longer than
// MaxRetryAfter is not taken inside a call: it is returned as a rate limit.
func (c *Client) wait(ctx context.Context, service, action string) error {
	for {
		d := c.lim.reserve(c.cfg.Now())
		if d <= 0 {
			return nil
		}
		if d > c.cfg.MaxRetryAfter {
			return &Error{Kind: provider.KindRateLimited, Service: service, Action: action,
				Detail: "the application's request budget is spent", RetryAfter: d, budget: true}
		}
		if err := c.cfg.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// call is one logical request; do may send it several times.
type call struct {
	service, action string
	params          url.Values
	// auth is the user's; nil for the token endpoint, which takes the
	// application's credentials in params.
	auth provider.Auth
	// once sends the request once whatever the answer: an authorization
	// code lives 30 s and is good for one try.
	once bool
}

// envelope is every answer: a status and, on success, a body.
type envelope struct {
	Status *int            `json:"status"`
	Body   json.RawMessage `json:"body"`
	Error  string          `json:"error"`
}

// do sends req with the budget, bounded retries and one token refresh, and
// returns the body of a status-0 answer. A missing or null body is an
// error: an answer that says nothing is never taken as "no data".
func (c *Client) do(ctx context.Context, req call) (json.RawMessage, error) {
	refreshed := false
	for attempt := 1; ; attempt++ {
		body, token, err := c.send(ctx, req)
		if err == nil {
			return body, nil
		}
		var we *Error
		if !errors.As(err, &we) {
			return nil, err // context cancellation, token source failure
		}
		if we.Kind == provider.KindRateLimited && !we.budget && c.cfg.OnRateLimited != nil {
			c.cfg.OnRateLimited(TierApplication) // the API's answer, not our own budget's
		}
		if we.Kind == provider.KindInvalidToken && !refreshed && req.auth != nil {
			// Refresh once, and only if no other request has replaced
			// the refused token already: a refresh rotates the refresh
			// token.
			if r, ok := req.auth.(provider.RejectedRefresher); ok {
				refreshed = true
				if rerr := r.RefreshRejected(ctx, token); rerr != nil {
					// The refresh's kind decides: a dead grant needs a
					// new consent, a refresh that failed on the way is
					// tried again later.
					if provider.KindOf(rerr) == provider.KindUnknown {
						// A rotated grant that could not be stored.
						return nil, &provider.Error{Kind: provider.KindServer, Err: fmt.Errorf("%v (refresh failed: %w)", err, rerr)}
					}
					return nil, fmt.Errorf("refresh failed: %w (after %v)", rerr, err)
				}
				attempt--
				continue
			}
		}
		if !we.retryable() || we.budget || req.once {
			return nil, err
		}
		if we.Kind == provider.KindRateLimited {
			wait := c.cfg.RateLimitWait << (attempt - 1)
			if wait > c.cfg.MaxRetryAfter || wait <= 0 {
				wait = c.cfg.MaxRetryAfter
				attempt = c.cfg.MaxAttempts
			}
			if attempt >= c.cfg.MaxAttempts {
				// The caller reschedules the job instead.
				we.RetryAfter = wait
				return nil, err
			}
			// Every user of the application is held back, not only
			// this request: the limit is the application's.
			c.lim.block(c.cfg.Now(), wait)
			continue // the wait happens in c.wait
		}
		if attempt >= c.cfg.MaxAttempts {
			return nil, err
		}
		if err := c.cfg.Sleep(ctx, provider.Backoff(attempt, c.cfg.BaseBackoff, c.cfg.MaxBackoff)); err != nil {
			return nil, err
		}
	}
}

// send sends req once. An authentication failure carries the token it
// refused, so that the refresh that follows can tell whether another
// request already replaced it.
func (c *Client) send(ctx context.Context, req call) (body json.RawMessage, token string, _ error) {
	if req.auth != nil {
		t, err := req.auth.AccessToken(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("withings: access token: %w", err)
		}
		token = t
	}
	if err := c.wait(ctx, req.service, req.action); err != nil {
		return nil, token, err
	}
	form := url.Values{}
	for k, v := range req.params {
		form[k] = v
	}
	form.Set("action", req.action)
	u := *c.base
	u.Path = c.base.Path + req.service
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, token, err
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.cfg.UserAgent)
	if token != "" {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}
	fail := func(kind provider.Kind, httpStatus int, detail string, err error) *Error {
		return &Error{Kind: kind, HTTPStatus: httpStatus, Service: req.service, Action: req.action, Detail: detail, Err: err, token: token}
	}
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, token, ctx.Err()
		}
		return nil, token, fail(provider.KindNetwork, 0, "", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, token, ctx.Err()
		}
		return nil, token, fail(provider.KindNetwork, resp.StatusCode, "", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, token, fail(kindOfHTTP(resp.StatusCode), resp.StatusCode, detail(string(data)), nil)
	}
	env, err := decodeEnvelope(data)
	if err != nil {
		// A body cut short is retried like a dropped connection.
		return nil, token, fail(provider.KindNetwork, 0, "the answer is not a Withings envelope", err)
	}
	if *env.Status != StatusOK {
		e := fail(KindOfStatus(*env.Status), 0, detail(env.Error), nil)
		e.Status = *env.Status
		return nil, token, e
	}
	if len(env.Body) == 0 || bytes.Equal(env.Body, []byte("null")) {
		return nil, token, fail(provider.KindServer, 0, "status 0 without a body", nil)
	}
	return env.Body, token, nil
}

// decodeEnvelope reads an answer; one without a status is not Withings'.
func decodeEnvelope(data []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return env, err
	}
	if env.Status == nil {
		return env, errors.New(`no "status"`)
	}
	return env, nil
}
