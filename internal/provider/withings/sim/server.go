package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// Defaults of Config.
const (
	DefaultClientID      = "withingssim-client"
	DefaultClientSecret  = "withingssim-secret"
	DefaultUsers         = 3
	DefaultDays          = 90
	DefaultPageSize      = 20
	DefaultRateLimit     = 120 // requests a minute per application
	DefaultNotifyTimeout = 2 * time.Second
	// AccessTokenLifetime is Withings' expires_in: 3 hours.
	AccessTokenLifetime = 3 * time.Hour
	// RefreshGrace is how long a rotated refresh token stays valid, unless
	// the access token issued in its place is used first.
	RefreshGrace = 8 * time.Hour
	// CodeLifetime is how long an authorization code can be exchanged.
	CodeLifetime = 30 * time.Second
	// DefaultReadyTokenLifetime is that of the ready tokens printed at start.
	DefaultReadyTokenLifetime = 30 * 24 * time.Hour
)

// DefaultNotifyRetryDelays follow Withings' published schedule after the
// first attempt: 10 s, 1 min, 1 h and 4 h.
func DefaultNotifyRetryDelays() []time.Duration {
	return []time.Duration{10 * time.Second, time.Minute, time.Hour, 4 * time.Hour}
}

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	// Users is the number of simulated users (default 3).
	Users int
	// Seed makes data, ids, ready tokens and fault draws reproducible.
	Seed int64
	// Now is the simulated time (default time.Now). Data is visible once
	// its time has passed; token and code lifetimes and the rate-limit
	// window follow it too.
	Now func() time.Time
	// Days of history before the day the server is built (default 90).
	Days int
	// ClientID and ClientSecret are the one registered application.
	ClientID     string
	ClientSecret string
	// RedirectURIs are the registered callback URLs; empty accepts any
	// absolute URL.
	RedirectURIs []string
	// PageSize is how many objects a paginated answer holds (default 20).
	PageSize int
	// RateLimit is the requests a minute of the application (default 120;
	// negative: no limit).
	RateLimit int
	// ReadyTokenLifetime is that of the ready tokens (default 30 days).
	ReadyTokenLifetime time.Duration
	// Faults are injected from the start; SetFaults changes them.
	Faults Faults
	// NotifyTimeout bounds one notification attempt (default 2 s): a
	// receiver slower than that failed it. NotifyRetryDelays are the waits
	// before each retry, in real time (default DefaultNotifyRetryDelays;
	// an empty non-nil slice: no retry).
	NotifyTimeout     time.Duration
	NotifyRetryDelays []time.Duration
	// ScanInterval, when positive, is how often (real time) generated data
	// that appeared is announced to the subscriptions (see Scan); zero or
	// negative: only when Scan is called.
	ScanInterval time.Duration
	// HTTPClient posts notifications (default: a plain client).
	HTTPClient *http.Client
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

func (c *Config) fill() error {
	if c.Users <= 0 {
		c.Users = DefaultUsers
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Days <= 0 {
		c.Days = DefaultDays
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DefaultClientSecret
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.ReadyTokenLifetime <= 0 {
		c.ReadyTokenLifetime = DefaultReadyTokenLifetime
	}
	if c.NotifyTimeout <= 0 {
		c.NotifyTimeout = DefaultNotifyTimeout
	}
	if c.NotifyRetryDelays == nil {
		c.NotifyRetryDelays = DefaultNotifyRetryDelays()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c.Faults.validate()
}

// Server is the simulated Withings API: an http.Handler serving the data
// services, OAuth and the /_sim control routes on one base URL. Use it with
// httptest.NewServer(srv) or srv.Start(addr); Close stops its notifications
// either way.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	world   *world
	key     []byte
	auth    *authServer
	limiter *rateLimiter
	faults  *faultInjector
	notify  *notifier
	admin   *http.ServeMux
	http    *simkit.Listener

	scanMu   sync.Mutex
	lastScan time.Time // simulated time up to which data was announced

	ctx       context.Context
	cancel    context.CancelFunc
	bg        sync.WaitGroup
	closeOnce sync.Once
}

// New builds a Server.
func New(cfg Config) (*Server, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("withingssim config: %w", err)
	}
	w, err := newWorld(cfg.Seed, cfg.Users, cfg.Days, cfg.Now())
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, world: w, key: deriveKey(cfg.Seed, "withingssim-server")}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = simkit.NewListener("withingssim", true, cfg.Logger)
	s.auth = newAuthServer(s)
	s.limiter = &rateLimiter{limit: cfg.RateLimit}
	s.faults = newFaultInjector(cfg.Seed, cfg.Faults)
	s.notify = newNotifier(s)
	s.admin = s.adminRoutes()
	s.lastScan = cfg.Now()
	if cfg.ScanInterval > 0 {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.scanLoop(cfg.ScanInterval)
		}()
	}
	return s, nil
}

// ClientID and ClientSecret are the registered application's credentials.
func (s *Server) ClientID() string     { return s.cfg.ClientID }
func (s *Server) ClientSecret() string { return s.cfg.ClientSecret }

// Start serves on addr, which must be a loopback address such as
// "127.0.0.1:0", in the background. URL then gives the base URL.
func (s *Server) Start(addr string) error { return s.http.Start(addr, s) }

// URL is the base URL after Start ("" before).
func (s *Server) URL() string { return s.http.URL() }

// Close stops the listener (if started) and pending notifications.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		err = s.http.Close()
		s.bg.Wait()
		s.notify.close()
	})
	return err
}

// Paths of the services, relative to the base URL as in the live
// https://wbsapi.withings.net; the authorize page is on the same base URL
// here, not on account.withings.com.
const (
	PathMeasure   = "/measure"
	PathMeasureV2 = "/v2/measure"
	PathSleepV2   = "/v2/sleep"
	PathUserV2    = "/v2/user"
	PathNotify    = "/notify"
	PathOAuth2    = "/v2/oauth2"
	PathAuthorize = "/oauth2_user/authorize2"
)

// Withings' body statuses the simulator answers.
const (
	StatusOK             = 0
	StatusInvalidToken   = 401
	StatusNoSubscription = 343
	StatusInvalidParams  = 503
	StatusTooManyReqs    = 601
	StatusUnauthorized   = 2553
	StatusNotImplemented = 2554
)

type handler func(w http.ResponseWriter, r *http.Request, g *grant)

// route is one action: the scope it needs ("" for none) and whether it
// is called with a user's token at all.
type route struct {
	scope  string
	bearer bool
	h      handler
}

func (s *Server) routes(path string) map[string]route {
	switch path {
	case PathMeasure:
		return map[string]route{"getmeas": {ScopeMetrics, true, s.getmeas}}
	case PathMeasureV2:
		return map[string]route{
			"getactivity":         {ScopeActivity, true, s.getactivity},
			"getintradayactivity": {ScopeActivity, true, s.getintraday},
			"getworkouts":         {ScopeActivity, true, s.getworkouts},
		}
	case PathSleepV2:
		return map[string]route{"get": {ScopeActivity, true, s.sleepGet}, "getsummary": {ScopeActivity, true, s.sleepSummary}}
	case PathUserV2:
		return map[string]route{"getdevice": {ScopeInfo, true, s.getdevice}}
	case PathNotify:
		return map[string]route{
			"subscribe": {"", true, s.notifySubscribe},
			"list":      {"", true, s.notifyList},
			"get":       {"", true, s.notifyGet},
			"revoke":    {"", true, s.notifyRevoke},
		}
	case PathOAuth2:
		return map[string]route{"requesttoken": {"", false, s.auth.handleToken}}
	}
	return nil
}

// ServeHTTP routes control routes and the authorize page directly; every
// service call goes through the application's rate limit and (but for the
// token endpoint) the injected faults, then its action.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == PathAuthorize {
		s.auth.handleAuthorize(w, r)
		return
	}
	actions := s.routes(r.URL.Path)
	if actions == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	if !s.limiter.take(s.now()) {
		writeJSON(w, errorBody(StatusTooManyReqs, "Too many request"))
		return
	}
	// Faults hit the data and notify services, not the token endpoint, as
	// in the other simulators: they test a client's reading, not its OAuth.
	var fd faultDecision
	if r.URL.Path != PathOAuth2 {
		fd = s.faults.decide()
	}
	if fd.latency > 0 && !simkit.Sleep(r.Context(), fd.latency) {
		return
	}
	switch fd.kind {
	case fault601:
		writeJSON(w, errorBody(StatusTooManyReqs, "Too many request"))
		return
	case fault5xx:
		http.Error(w, http.StatusText(fd.status), fd.status)
		return
	}
	bw := simkit.NewResponseBuffer(h)
	s.dispatch(bw, r, actions)
	h.Set("Content-Length", strconv.Itoa(len(bw.Body())))
	simkit.WriteBody(w, bw.Status(), bw.Body(), fd.kind == faultTruncate)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, actions map[string]route) {
	// Parameters come form-encoded in the body or in the query; ParseForm
	// merges both, the body first.
	if err := r.ParseForm(); err != nil {
		writeJSON(w, errorBody(StatusInvalidParams, "Invalid Params: unreadable form"))
		return
	}
	rt, ok := actions[r.Form.Get("action")]
	if !ok {
		writeJSON(w, errorBody(StatusNotImplemented, "Not implemented"))
		return
	}
	var g *grant
	if rt.bearer {
		g = s.auth.lookup(simkit.BearerToken(r))
		if g == nil {
			writeJSON(w, errorBody(StatusInvalidToken, "XRequestID: Not provided invalid_token: The access token provided is invalid"))
			return
		}
		if rt.scope != "" && !g.has(rt.scope) {
			writeJSON(w, errorBody(StatusUnauthorized, "Unauthorized: the token lacks the scope "+rt.scope))
			return
		}
	}
	rt.h(w, r, g)
}

// envelope is every answer of the services: status first, then the body
// on success or the error text otherwise.
type envelope struct {
	Status int    `json:"status"`
	Body   any    `json:"body,omitempty"`
	Error  string `json:"error,omitempty"`
}

// errorBody is Withings' error answer: HTTP 200, a non-zero status, no
// body.
func errorBody(status int, msg string) envelope { return envelope{Status: status, Error: msg} }

func ok(body any) envelope { return envelope{Status: StatusOK, Body: body} }

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"status":2556,"error":"An error occurred"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func invalid(w http.ResponseWriter, what string) {
	writeJSON(w, errorBody(StatusInvalidParams, "Invalid Params: "+what))
}

// rateLimiter is the application's fixed one-minute window on the
// simulated clock: a window opens with the first request after the last
// one ended. A refused request is not counted.
type rateLimiter struct {
	mu    sync.Mutex
	limit int
	start time.Time
	count int
}

func (l *rateLimiter) take(now time.Time) bool {
	if l.limit < 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.start.IsZero() || now.Sub(l.start) >= time.Minute || now.Before(l.start) {
		l.start, l.count = now, 0
	}
	if l.count >= l.limit {
		return false
	}
	l.count++
	return true
}
