package sim

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// Defaults of Config.
const (
	DefaultClientID            = "ourasim-client"
	DefaultClientSecret        = "ourasim-secret"
	DefaultPageSize            = 100
	DefaultTimeSeriesPageSize  = 1000
	DefaultAccessTokenLifetime = 30 * 24 * time.Hour
	DefaultCodeLifetime        = 10 * time.Minute
	DefaultSubscriptionTTL     = 90 * 24 * time.Hour
	DefaultRateLimitRequests   = 5000
	DefaultRateLimitWindow     = 300 * time.Second
)

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	// Seed makes data, ready tokens, fault draws and dropped notifications
	// reproducible.
	Seed int64
	// Users is the number of simulated users (default 3).
	Users int
	// HistoryStart is the first day with data (default: the World's).
	HistoryStart oura.Date
	// PageSize is the page length of the date and ring_configuration
	// collections (default 100); TimeSeriesPageSize that of heartrate,
	// interbeat_interval and ring_battery_level (default 1000).
	PageSize           int
	TimeSeriesPageSize int
	// ClientID and ClientSecret are the one registered OAuth application
	// (defaults DefaultClientID, DefaultClientSecret). They also authenticate
	// the webhook subscription API and sign notifications.
	ClientID     string
	ClientSecret string
	// RedirectURIs are the application's registered redirect URIs. Empty
	// accepts any redirect_uri (but one must then be sent).
	RedirectURIs []string
	// AppScopes are the scopes enabled for the application; requested scopes
	// outside it are dropped silently at consent (default: every known scope).
	AppScopes []string
	// AccessTokenLifetime is expires_in of issued tokens in simulated time
	// (default 30 days). CodeLifetime is the validity of an authorization code
	// in real time (default 10 min).
	AccessTokenLifetime time.Duration
	CodeLifetime        time.Duration
	// TokenRateLimit and AppRateLimit are the per-access-token and
	// per-application limits (default 5000 requests per 300 s each; a
	// negative Requests disables the layer). FixedRateWindow uses fixed
	// windows instead of rolling ones.
	TokenRateLimit  RateLimit
	AppRateLimit    RateLimit
	FixedRateWindow bool
	// Faults are injected from the start; SetFaults changes them at runtime.
	Faults Faults
	// Clock is the simulated clock (default: real time, factor 1).
	Clock *Clock
	// RevealInterval is how often the clock is checked for days that have
	// become visible (default 1 s of real time; negative disables the check,
	// leaving only AddDay and AdvanceClock).
	RevealInterval time.Duration
	// NotificationDropRate is the fraction of webhook notifications never
	// sent (chosen deterministically from the seed and the notification).
	NotificationDropRate float64
	// UpdateRate is the fraction of revealed days that also announce an
	// "update" of the previous day's daily_sleep and daily_readiness, as if
	// they had been re-analysed (default 0; negative means 0).
	UpdateRate float64
	// WebhookRetries is how many times a failed delivery is retried (default
	// 3; negative: no retries), waiting WebhookBackoff (default 200 ms),
	// doubled each time. WebhookTimeout bounds one attempt (default 10 s).
	WebhookRetries int
	WebhookBackoff time.Duration
	WebhookTimeout time.Duration
	// HTTPClient makes the outgoing calls: verification challenges and
	// notifications (default: a client with WebhookTimeout).
	HTTPClient *http.Client
	// SubscriptionTTL is how long a subscription lives before renewal, in
	// simulated time (default 90 days).
	SubscriptionTTL time.Duration
	// DisableGzip turns off gzip responses to clients that accept them.
	DisableGzip bool
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

func (c *Config) fill() error {
	if c.Users <= 0 {
		c.Users = 3
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.TimeSeriesPageSize <= 0 {
		c.TimeSeriesPageSize = DefaultTimeSeriesPageSize
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DefaultClientSecret
	}
	if len(c.AppScopes) == 0 {
		c.AppScopes = KnownScopes()
	}
	if c.AccessTokenLifetime == 0 {
		c.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if c.CodeLifetime <= 0 {
		c.CodeLifetime = DefaultCodeLifetime
	}
	for _, rl := range []*RateLimit{&c.TokenRateLimit, &c.AppRateLimit} {
		if rl.Requests == 0 {
			rl.Requests = DefaultRateLimitRequests
		}
		if rl.Window <= 0 {
			rl.Window = DefaultRateLimitWindow
		}
	}
	if c.Clock == nil {
		c.Clock = NewClock(time.Time{}, 1, nil)
	}
	if c.RevealInterval == 0 {
		c.RevealInterval = time.Second
	}
	if c.UpdateRate < 0 {
		c.UpdateRate = 0
	}
	simkit.FillDelivery(&c.WebhookRetries, &c.WebhookBackoff, &c.WebhookTimeout, &c.HTTPClient)
	if c.SubscriptionTTL <= 0 {
		c.SubscriptionTTL = DefaultSubscriptionTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.NotificationDropRate < 0 || c.NotificationDropRate > 1 {
		return fmt.Errorf("notification drop rate %v outside [0,1]", c.NotificationDropRate)
	}
	return c.Faults.validate()
}

// Server is the simulated Oura API: an http.Handler serving the data routes,
// the sandbox, OAuth, the webhook subscription API and the /_sim control
// routes. Use it with httptest.NewServer(srv) or srv.Start(addr); Close stops
// its background work either way.
type Server struct {
	cfg     Config
	log     *slog.Logger
	clock   *Clock
	world   *World
	sandbox *World
	key     []byte // signs next_token cursors and derives ready tokens

	mux     *http.ServeMux
	auth    *authStore
	hooks   *webhooks
	limiter *rateLimiter
	faults  *faultInjector
	access  accessControl // users whose data is refused (membership.go)

	countMu sync.Mutex
	counts  map[int]map[string]int

	ctx       context.Context
	cancel    context.CancelFunc
	bg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	http      *simkit.Listener
}

// New builds a Server and starts its background work (revealing days as the
// clock advances, delivering notifications).
func New(cfg Config) (*Server, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("ourasim config: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, counts: map[int]map[string]int{}}
	// Any address is served, as it always was: binding it to loopback is
	// the caller's choice (see AdminHelp).
	s.http = simkit.NewListener("ourasim", false, cfg.Logger)
	s.key = deriveKey(cfg.Seed, "ourasim-server-key")
	s.world = NewWorld(WorldConfig{Seed: cfg.Seed, Users: cfg.Users, HistoryStart: cfg.HistoryStart, Now: s.clock.Now})
	s.sandbox = newSandboxWorld()
	s.auth = newAuthStore(s)
	s.hooks = newWebhooks(s)
	s.limiter = newRateLimiter(cfg.TokenRateLimit, cfg.AppRateLimit, cfg.FixedRateWindow)
	s.faults = newFaultInjector(cfg.Seed, cfg.Faults)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	if cfg.RevealInterval > 0 {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			simkit.Every(s.ctx, cfg.RevealInterval, func() { s.revealUntilNow() })
		}()
	}
	return s, nil
}

// The sandbox is one fake account with fixed data: the same seed and the
// same calendar year whatever the server's configuration or clock.
const (
	sandboxSeed         = 20211101
	sandboxHistoryStart = oura.Date("2024-01-01")
)

var sandboxNowTime = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func newSandboxWorld() *World {
	return NewWorld(WorldConfig{Seed: sandboxSeed, Users: 1, HistoryStart: sandboxHistoryStart, Now: func() time.Time { return sandboxNowTime }})
}

// World is the simulated population behind the server.
func (s *Server) World() *World { return s.world }

// Clock is the server's simulated clock.
func (s *Server) Clock() *Clock { return s.clock }

// ClientID and ClientSecret are the registered application's credentials.
func (s *Server) ClientID() string     { return s.cfg.ClientID }
func (s *Server) ClientSecret() string { return s.cfg.ClientSecret }

// Start serves on addr (e.g. "127.0.0.1:0") in the background and returns
// once the listener is open. URL then gives the base URL.
func (s *Server) Start(addr string) error { return s.http.Start(addr, s) }

// URL is the base URL after Start ("" before).
func (s *Server) URL() string { return s.http.URL() }

// Close stops the listener (if started), the reveal loop and pending
// notification deliveries.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.cancel()
	err := s.http.Close()
	s.bg.Wait()
	s.hooks.wait()
	return err
}

// revealUntilNow makes visible every day the clock has reached and announces
// it.
func (s *Server) revealUntilNow() map[int][]oura.Date {
	// Held from before the reveal until the deliveries are queued, so that
	// WaitNotifications never slips between a day becoming visible and its
	// announcement.
	s.hooks.hold()
	defer s.hooks.release()
	revealed := s.world.RevealUntil(s.clock.Now())
	for idx, days := range revealed {
		u := s.userByIndex(idx)
		if u == nil {
			continue
		}
		for _, d := range days {
			s.hooks.announceDay(u, d)
		}
	}
	return revealed
}

// AdvanceClock moves simulated time forward by d, reveals the days that
// became visible and sends their notifications. It returns the revealed days
// per user index.
func (s *Server) AdvanceClock(d time.Duration) map[int][]oura.Date {
	s.clock.Advance(d)
	return s.revealUntilNow()
}

// AddDay reveals the next day of one user (whatever the clock says) and
// announces it by webhook. It returns the new day.
func (s *Server) AddDay(userIndex int) (oura.Date, error) {
	u := s.userByIndex(userIndex)
	if u == nil {
		return "", fmt.Errorf("ourasim: no user %d", userIndex)
	}
	s.hooks.hold()
	defer s.hooks.release()
	d := s.world.RevealNextDay(u)
	s.hooks.announceDay(u, d)
	return d, nil
}

// RequestCounts returns, per user index, how many requests presented one of
// that user's valid tokens, per collection path name ("sandbox/<name>" for
// the sandbox). A request is counted before faults, rate limits and scope
// checks, so retries and rejected requests are included.
func (s *Server) RequestCounts() map[int]map[string]int {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	out := make(map[int]map[string]int, len(s.counts))
	for u, m := range s.counts {
		c := make(map[string]int, len(m))
		for k, v := range m {
			c[k] = v
		}
		out[u] = c
	}
	return out
}

// ResetRequestCounts zeroes the counters.
func (s *Server) ResetRequestCounts() {
	s.countMu.Lock()
	s.counts = map[int]map[string]int{}
	s.countMu.Unlock()
}

func (s *Server) count(user int, coll string) {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	m := s.counts[user]
	if m == nil {
		m = map[string]int{}
		s.counts[user] = m
	}
	m[coll]++
}

// Faults returns the faults in force; SetFaults replaces them.
func (s *Server) Faults() Faults { return s.faults.get() }

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.set(f)
	return nil
}

// FaultsInjected counts the faults injected so far.
func (s *Server) FaultsInjected() FaultCounts { return s.faults.counts() }

// ForceRateLimit makes the next n /v2/ requests fail with a token-tier 429
// and the given Retry-After (0: 1 s), leaving the other faults alone.
func (s *Server) ForceRateLimit(n int, retryAfter time.Duration) {
	s.ForceRateLimitTier(n, retryAfter, TierToken)
}

// ForceRateLimitTier is ForceRateLimit naming the layer (TierToken or
// TierApplication) in X-RateLimit-Tier.
func (s *Server) ForceRateLimitTier(n int, retryAfter time.Duration, tier string) {
	s.faults.mu.Lock()
	s.faults.f.Force429, s.faults.f.Force429RetryAfter, s.faults.f.Force429Tier = n, retryAfter, tier
	s.faults.mu.Unlock()
}

func (s *Server) userByIndex(i int) *User {
	us := s.world.Users()
	if i < 0 || i >= len(us) {
		return nil
	}
	return us[i]
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /v2/usercollection/{collection}", s.handleList)
	m.HandleFunc("GET /v2/usercollection/{collection}/{id}", s.handleSingle)
	m.HandleFunc("GET /v2/sandbox/usercollection/{collection}", s.handleList)
	m.HandleFunc("GET /v2/sandbox/usercollection/{collection}/{id}", s.handleSingle)

	m.HandleFunc("GET /v2/webhook/subscription", s.hooks.handleList)
	m.HandleFunc("POST /v2/webhook/subscription", s.hooks.handleCreate)
	m.HandleFunc("GET /v2/webhook/subscription/{id}", s.hooks.handleGet)
	m.HandleFunc("PUT /v2/webhook/subscription/{id}", s.hooks.handleUpdate)
	m.HandleFunc("DELETE /v2/webhook/subscription/{id}", s.hooks.handleDelete)
	m.HandleFunc("PUT /v2/webhook/subscription/renew/{id}", s.hooks.handleRenew)

	m.HandleFunc("GET /oauth/authorize", s.auth.handleAuthorize)
	m.HandleFunc("POST /oauth/token", s.auth.handleToken)
	m.HandleFunc("POST /oauth/revoke", s.auth.handleRevoke)
	m.HandleFunc("GET /oauth/revoke", s.auth.handleRevoke)

	s.adminRoutes(m)
	s.mux = m
}

// ServeHTTP adds the headers every Oura response carries, counts the
// request, injects faults on /v2/ routes, then routes it. Bodies are buffered
// so that they can be gzipped, measured and, as a fault, cut short.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Trace-Id", newTraceID())
	h.Set("Cache-Control", "no-cache")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Xss-Protection", "1; mode=block")

	api := strings.HasPrefix(r.URL.Path, "/v2/")
	if api {
		s.countRequest(r)
	}
	var fd faultDecision
	if api {
		fd = s.faults.decide()
		if fd.latency > 0 && !simkit.Sleep(r.Context(), fd.latency) {
			return
		}
	}
	bw := simkit.NewResponseBuffer(h)
	switch fd.kind {
	case faultReset:
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "fault", "reset")
		resetConnection(w)
		return
	case fault5xx:
		writeDetail(bw, fd.status, fault5xxDetail[fd.status])
	case fault429:
		lim := s.cfg.TokenRateLimit
		if fd.tier == TierApplication {
			lim = s.cfg.AppRateLimit
		}
		writeTooManyRequests(bw, rateDecision{Tier: fd.tier, Limit: lim, RetryAfter: fd.retry, Reset: s.clock.Real().Add(fd.retry)})
	default:
		handler, pattern := s.mux.Handler(r)
		if pattern == "" {
			// The mux's own 404/405 answers are plain text; Oura's are JSON.
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, r)
			if allow := rec.Header().Get("Allow"); allow != "" {
				h.Set("Allow", allow)
			}
			writeDetail(bw, rec.Code, http.StatusText(rec.Code))
		} else {
			s.mux.ServeHTTP(bw, r)
		}
	}
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", bw.Status(), "fault", faultNames[fd.kind])
	}
	s.finish(w, r, bw, fd.kind == faultTruncate)
}

var faultNames = map[faultKind]string{faultNone: "", fault429: "429", fault5xx: "5xx", faultReset: "reset", faultTruncate: "truncate"}

func (s *Server) countRequest(r *http.Request) {
	p := r.URL.Path
	prefix := ""
	switch {
	case strings.HasPrefix(p, "/v2/usercollection/"):
		p = strings.TrimPrefix(p, "/v2/usercollection/")
	case strings.HasPrefix(p, "/v2/sandbox/usercollection/"):
		p, prefix = strings.TrimPrefix(p, "/v2/sandbox/usercollection/"), "sandbox/"
	default:
		return
	}
	coll, _, _ := strings.Cut(p, "/")
	tok := simkit.BearerToken(r)
	if tok == "" {
		return
	}
	if t, err := s.auth.lookupAccess(tok); err == nil {
		s.count(t.user, prefix+coll)
	}
}

func (s *Server) finish(w http.ResponseWriter, r *http.Request, bw *simkit.ResponseBuffer, truncate bool) {
	status := bw.Status()
	body := bw.Body()
	h := w.Header()
	if len(body) > 512 && !s.cfg.DisableGzip && acceptsGzip(r) && h.Get("Content-Encoding") == "" {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = z.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	if status != http.StatusNoContent && status != http.StatusNotModified && status >= 200 {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	simkit.WriteBody(w, status, body, truncate)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

// writeJSON writes v as the JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	if simkit.WriteJSON(w, status, v) != nil {
		writeDetail(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

// writeDetail writes Oura's error body {"detail": msg}.
func writeDetail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

// validationError is one listEntry of a FastAPI 422 body.
type validationError struct {
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Type  string `json:"type"`
	Input any    `json:"input"`
}

func writeValidation(w http.ResponseWriter, errs []validationError) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": errs})
}

func newTraceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// deriveKey derives a stable secret from the seed, so that tokens and cursors
// survive a restart with the same seed.
func deriveKey(seed int64, label string) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	m := hmac.New(sha256.New, []byte(label))
	m.Write(b[:])
	return m.Sum(nil)
}
