package oura

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// LiveBaseURL is the live API, the configuration's default; the client has
// none, so that code which forgets its URL fails instead of reaching Oura.
// The published document's servers entry is wrong, so it is fixed here.
const LiveBaseURL = "https://api.ouraring.com"

// Config configures a Client. Zero values get defaults.
type Config struct {
	// BaseURL of the API (required: LiveBaseURL, or the simulator's in
	// tests and the demo).
	BaseURL string
	// HTTPClient does the requests (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Limiter is shared by every Client of one Oura application. Default:
	// DefaultLimit for the application and for each token.
	Limiter *RateLimiter
	// MaxAttempts bounds tries per request on 429, 5xx and network errors
	// (default 5).
	MaxAttempts int
	// BaseBackoff is the first retry delay, doubled per attempt with full
	// jitter (default 500 ms).
	BaseBackoff time.Duration
	// MaxBackoff caps one delay (default 30 s).
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for inside
	// a call; a longer one is returned to the caller as KindRateLimited so a
	// job can be rescheduled instead of holding a worker (default 60 s).
	MaxRetryAfter time.Duration
	// MaxLimiterWait is the longest the Limiter may hold a request; a
	// longer wait is returned as KindRateLimited, naming the layer, with
	// nothing sent, so that a job whose token (or application) budget is
	// spent is rescheduled instead of sitting on a worker that other users'
	// jobs need. 0: no bound, for a command in the foreground that may
	// as well wait its turn.
	MaxLimiterWait time.Duration
	// UserAgent sent with every request.
	UserAgent string
	Logger    *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits between attempts; tests may replace it (default: a timer
	// that honours ctx).
	Sleep func(ctx context.Context, d time.Duration) error
	// OnFault hears of every retryable upstream fault (metrics count them).
	OnFault func(Fault)
	// OnRateLimited hears of every 429 with the layer that sent it
	// (TierLabel of X-RateLimit-Tier); metrics count them by tier.
	OnRateLimited func(tier string)
	// FaultLogBurst is how many WARN lines per FaultLogInterval upstream
	// faults of one kind and collection may write (default 5 per minute);
	// the rest are counted, and the next line says how many were held
	// back.
	FaultLogBurst    int
	FaultLogInterval time.Duration
}

// Client talks to the Oura API v2 on behalf of one application. It is safe
// for concurrent use; per-user calls go through User.
type Client struct {
	base     *url.URL
	cfg      Config
	faultLog *logLimiter
}

// New builds a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("oura: the API's base URL is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("oura: invalid base URL %q", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewRateLimiter(DefaultLimit(), DefaultLimit())
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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = provider.Sleep
	}
	if cfg.FaultLogBurst <= 0 {
		cfg.FaultLogBurst = 5
	}
	if cfg.FaultLogInterval <= 0 {
		cfg.FaultLogInterval = time.Minute
	}
	return &Client{base: u, cfg: cfg, faultLog: newLogLimiter(cfg.FaultLogBurst, cfg.FaultLogInterval, cfg.Now)}, nil
}

// BaseURL returns the API base the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// Auth supplies the bearer token of a user's requests.
type Auth interface {
	AccessToken(ctx context.Context) (string, error)
}

// StaticToken is an Auth for a fixed token: personal access tokens and the
// simulator's printed tokens.
type StaticToken string

// AccessToken returns the token.
func (t StaticToken) AccessToken(context.Context) (string, error) { return string(t), nil }

// request is one logical call; do() may send it several times.
type request struct {
	method  string
	path    string
	query   url.Values
	body    []byte
	header  http.Header
	auth    Auth // nil for routes without a bearer token
	limitBy string
	// decode, when set, parses a 2xx body inside the retry loop, so a
	// truncated answer is retried like a dropped connection.
	decode func([]byte) error
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req with rate limiting, bounded retries and one token refresh.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	refreshed := false
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, sent, err := c.once(ctx, req)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var oe *Error
		if !errors.As(err, &oe) {
			return nil, err // context cancellation, token source failure
		}
		if oe.held {
			return nil, err // nothing was sent: the caller reschedules
		}
		if oe.Kind == KindInvalidToken && !refreshed {
			// Oura's refresh tokens are single-use: after 401s to several
			// requests at once, only the first may refresh; a second
			// refresh with the spent token would fail and send the
			// connection to re-authorization.
			if r, ok := req.auth.(provider.RejectedRefresher); ok {
				refreshed = true
				if rerr := r.RefreshRejected(ctx, sent); rerr != nil {
					return nil, fmt.Errorf("%w (refresh failed: %v)", err, rerr)
				}
				attempt-- // a refresh is not a failed attempt
				continue
			}
		}
		if !oe.Retryable() {
			return nil, lastErr
		}
		if attempt >= c.cfg.MaxAttempts {
			c.fault(ctx, req, oe, attempt, false, 0)
			return nil, lastErr
		}
		wait := provider.Backoff(attempt, c.cfg.BaseBackoff, c.cfg.MaxBackoff)
		if oe.RetryAfter > 0 {
			if oe.RetryAfter > c.cfg.MaxRetryAfter {
				c.fault(ctx, req, oe, attempt, false, 0)
				return nil, lastErr
			}
			wait = oe.RetryAfter
		}
		c.fault(ctx, req, oe, attempt, true, wait)
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once sends req once. It returns the access token it sent, so that the
// refresh after a 401 can tell whether another request already replaced
// it.
func (c *Client) once(ctx context.Context, req request) (_ *response, token string, _ error) {
	if req.auth != nil {
		t, err := req.auth.AccessToken(ctx)
		if err != nil {
			return nil, token, fmt.Errorf("oura: access token: %w", err)
		}
		token = t
	}
	limitKey := req.limitBy
	if limitKey == "" {
		limitKey = token
	}
	if err := c.cfg.Limiter.WaitAtMost(ctx, limitKey, c.cfg.MaxLimiterWait); err != nil {
		var oe *Error
		if errors.As(err, &oe) {
			oe.Method, oe.Path = req.method, req.path
		}
		return nil, token, err
	}
	u := *c.base
	u.Path = c.base.Path + req.path
	u.RawQuery = req.query.Encode()
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, token, err
	}
	for k, v := range req.header {
		hreq.Header[k] = v
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.cfg.UserAgent)
	if token != "" {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}
	if req.body != nil && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hresp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, token, ctx.Err()
		}
		return nil, token, &Error{Kind: KindNetwork, Method: req.method, Path: req.path, Err: err}
	}
	defer hresp.Body.Close()
	// The limiter learns the budget the API enforces from every answer.
	c.cfg.Limiter.Observe(limitKey, hresp.StatusCode, hresp.Header)
	if hresp.StatusCode == http.StatusTooManyRequests && c.cfg.OnRateLimited != nil {
		c.cfg.OnRateLimited(TierLabel(hresp.Header.Get("X-RateLimit-Tier")))
	}
	data, err := io.ReadAll(hresp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, token, ctx.Err()
		}
		// A connection cut mid-body: the answer is unusable, try again.
		return nil, token, &Error{Kind: KindNetwork, StatusCode: 0, Method: req.method, Path: req.path, Err: err, TraceID: hresp.Header.Get("x-trace-id")}
	}
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		return nil, token, parseError(hresp, data, c.cfg.Now())
	}
	if req.decode != nil {
		if err := req.decode(data); err != nil {
			// A body cut short by a proxy can arrive with a clean EOF; an
			// unparsable answer is treated like a failed transfer and retried.
			var se *json.SyntaxError
			if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, token, &Error{Kind: KindNetwork, StatusCode: hresp.StatusCode, Method: req.method, Path: req.path,
					Detail: "response body is not valid JSON", Err: err, TraceID: hresp.Header.Get("x-trace-id")}
			}
			return nil, token, fmt.Errorf("oura %s %s: decode: %w", req.method, req.path, err)
		}
	}
	return &response{status: hresp.StatusCode, header: hresp.Header, body: data}, token, nil
}
