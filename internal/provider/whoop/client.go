package whoop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// ClientConfig configures a Client. BaseURL is required: there is no default
// host, so a test or a misconfigured deployment can never reach the live
// API by accident. The live base is https://api.prod.whoop.com/developer.
type ClientConfig struct {
	BaseURL string
	// HTTPClient does the requests (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// PerMinute and PerDay are the application's budget (default WHOOP's
	// 100 and 10,000); the client spaces its requests to stay inside them.
	PerMinute, PerDay int
	// MaxAttempts bounds tries per request on 429, 5xx and network errors
	// (default 5).
	MaxAttempts int
	// BaseBackoff is the first retry delay, doubled per attempt with full
	// jitter (default 500 ms); MaxBackoff caps one delay (default 30 s).
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest reset the client waits for inside a
	// call; a longer one is returned as KindRateLimited with RetryAfter so
	// a job can be rescheduled instead of holding a worker (default 60 s).
	MaxRetryAfter time.Duration
	UserAgent     string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits (default: a timer that honours ctx); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRateLimited hears of every 429, with the tier "application":
	// WHOOP's limits are the application's, per client.
	OnRateLimited func(tier string)
}

// Client talks to the WHOOP API v2 for one application. It is safe for
// concurrent use; per-user calls go through User.
type Client struct {
	base *url.URL
	cfg  ClientConfig
	lim  *budget
}

// New checks the configuration.
func New(cfg ClientConfig) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("whoop: a base URL is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("whoop: invalid base URL %q", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.PerMinute <= 0 {
		cfg.PerMinute = 100
	}
	if cfg.PerDay <= 0 {
		cfg.PerDay = 10000
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
	return &Client{base: u, cfg: cfg, lim: newBudget(cfg.PerMinute, cfg.PerDay)}, nil
}

// TierApplication names the only layer of WHOOP's limits: the
// application's (its requests per minute and per day, all users
// together).
const TierApplication = "application"

// BaseURL returns the API base the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// Auth supplies a user's bearer token.
type Auth interface {
	AccessToken(ctx context.Context) (string, error)
}

// budget keeps the application inside WHOOP's two fixed windows (a minute
// and a day) on the injected clock, and honours what the answers' headers
// say is left: at X-RateLimit-Remaining 0 nothing is sent until the
// X-RateLimit-Reset it came with has passed.
type budget struct {
	perMinute, perDay int

	mu          sync.Mutex
	minuteStart time.Time
	minuteCount int
	dayStart    time.Time
	dayCount    int
	blockedTill time.Time
}

func newBudget(perMinute, perDay int) *budget {
	return &budget{perMinute: perMinute, perDay: perDay}
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
	if b.dayStart.IsZero() || now.Sub(b.dayStart) >= 24*time.Hour || now.Before(b.dayStart) {
		b.dayStart, b.dayCount = now, 0
	}
	if b.dayCount >= b.perDay {
		return b.dayStart.Add(24 * time.Hour).Sub(now)
	}
	if b.minuteCount >= b.perMinute {
		return b.minuteStart.Add(time.Minute).Sub(now)
	}
	b.minuteCount++
	b.dayCount++
	return 0
}

// observe reads the rate-limit headers of an answer.
func (b *budget) observe(now time.Time, h http.Header) {
	rem, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining")))
	if err != nil || rem > 0 {
		return
	}
	reset := retryAfter(h)
	if reset <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := now.Add(reset); t.After(b.blockedTill) {
		b.blockedTill = t
	}
}

// wait blocks until one request fits the budget. A wait longer than
// maxWait is not taken inside a call: it is returned as a rate limit.
func (c *Client) wait(ctx context.Context, method, path string) error {
	for {
		d := c.lim.reserve(c.cfg.Now())
		if d <= 0 {
			return nil
		}
		if d > c.cfg.MaxRetryAfter {
			return &Error{Kind: provider.KindRateLimited, Method: method, Path: path, Detail: "the application's request budget is spent", RetryAfter: d}
		}
		if err := c.cfg.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// request is one logical call; do may send it several times.
type request struct {
	method string
	path   string
	query  url.Values
	auth   Auth
	// decode parses a 2xx body inside the retry loop, so that a body cut
	// short is retried like a dropped connection.
	decode func([]byte) error
}

// do sends req with the budget, bounded retries and one token refresh.
func (c *Client) do(ctx context.Context, req request) error {
	refreshed := false
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, req)
		if err == nil {
			return nil
		}
		var we *Error
		if !errors.As(err, &we) {
			return err // context cancellation, token source failure
		}
		if we.Kind == provider.KindInvalidToken && !refreshed {
			// WHOOP revokes the tokens a refresh replaces: after 401s
			// to several requests at once, only the first refresh may
			// happen, or it revokes the token the first one obtained.
			if r, ok := req.auth.(provider.RejectedRefresher); ok {
				refreshed = true
				if rerr := r.RefreshRejected(ctx, we.token); rerr != nil {
					return fmt.Errorf("%w (refresh failed: %v)", err, rerr)
				}
				attempt--
				continue
			}
		}
		if !we.retryable() || attempt >= c.cfg.MaxAttempts {
			return err
		}
		wait := provider.Backoff(attempt, c.cfg.BaseBackoff, c.cfg.MaxBackoff)
		if we.RetryAfter > 0 {
			if we.RetryAfter > c.cfg.MaxRetryAfter {
				return err
			}
			wait = we.RetryAfter
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// once sends req once. A 401 carries the token it refused, so that the
// refresh that follows can tell whether another request already replaced it.
func (c *Client) once(ctx context.Context, req request) error {
	token, err := c.send(ctx, req)
	var we *Error
	if errors.As(err, &we) && we.Kind == provider.KindInvalidToken {
		we.token = token
	}
	return err
}

func (c *Client) send(ctx context.Context, req request) (token string, _ error) {
	if req.auth != nil {
		t, err := req.auth.AccessToken(ctx)
		if err != nil {
			return token, fmt.Errorf("whoop: access token: %w", err)
		}
		token = t
	}
	if err := c.wait(ctx, req.method, req.path); err != nil {
		return token, err
	}
	u := *c.base
	u.Path = c.base.Path + req.path
	u.RawQuery = req.query.Encode()
	hreq, err := http.NewRequestWithContext(ctx, req.method, u.String(), nil)
	if err != nil {
		return token, err
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.cfg.UserAgent)
	if token != "" {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return token, ctx.Err()
		}
		return token, &Error{Kind: provider.KindNetwork, Method: req.method, Path: req.path, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	c.lim.observe(c.cfg.Now(), resp.Header)
	if err != nil {
		if ctx.Err() != nil {
			return token, ctx.Err()
		}
		return token, &Error{Kind: provider.KindNetwork, StatusCode: resp.StatusCode, Method: req.method, Path: req.path, Err: err}
	}
	if resp.StatusCode == http.StatusTooManyRequests && c.cfg.OnRateLimited != nil {
		c.cfg.OnRateLimited(TierApplication)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return token, parseError(req.method, req.path, resp.StatusCode, resp.Header, data)
	}
	if req.decode != nil {
		if err := req.decode(data); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
				return token, &Error{Kind: provider.KindNetwork, StatusCode: resp.StatusCode, Method: req.method, Path: req.path,
					Detail: "response body is not valid JSON", Err: err}
			}
			// Well-formed JSON of the wrong shape will not get better on
			// a retry.
			return token, fmt.Errorf("whoop %s %s: decode: %w", req.method, req.path, err)
		}
	}
	return token, nil
}
