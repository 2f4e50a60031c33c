package sim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// Defaults of Config.
const (
	DefaultClientID            = "whoopsim-client"
	DefaultClientSecret        = "whoopsim-secret"
	DefaultAccessTokenLifetime = time.Hour
	DefaultReadyTokenLifetime  = 30 * 24 * time.Hour
	DefaultCodeLifetime        = 10 * time.Minute
	DefaultPageLimit           = 10
	MaxPageLimit               = 25
)

// APIPrefix is the path of the API base URL, as in
// https://api.prod.whoop.com/developer. Data routes are also served without
// it, so either base URL works.
const APIPrefix = "/developer"

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	// Seed makes data, ready tokens, cursors and fault draws reproducible.
	Seed int64
	// Users is the number of simulated users (default 3).
	Users int
	// HistoryStart is the local date of every user's first night (default
	// DefaultHistoryStart).
	HistoryStart time.Time
	// ScoreDelay is how long records stay PENDING_SCORE after they end, in
	// simulated time (default 1 h; negative: none).
	ScoreDelay time.Duration
	// ClientID and ClientSecret are the one registered application (defaults
	// DefaultClientID, DefaultClientSecret). The secret also signs webhooks.
	ClientID     string
	ClientSecret string
	// RedirectURIs are the registered redirect URIs. Empty accepts any
	// absolute URI (one must then be sent).
	RedirectURIs []string
	// AccessTokenLifetime is expires_in of issued tokens (default 1 h,
	// simulated time). ReadyTokenLifetime is that of the ready tokens made at
	// start for the CLI and tests (default 30 days). CodeLifetime bounds an
	// authorization code in real time (default 10 min).
	AccessTokenLifetime time.Duration
	ReadyTokenLifetime  time.Duration
	CodeLifetime        time.Duration
	// RateWindows are the per-application limits (default
	// DefaultRateWindows). DisableRateLimit turns limits and their headers
	// off.
	RateWindows      []RateWindow
	DisableRateLimit bool
	// Faults are injected from the start (default none); SetFaults changes
	// them at runtime.
	Faults Faults
	// Clock is the clock (default: real time, factor 1).
	Clock *Clock
	// WebhookURL is the application's one webhook URL ("" sends none).
	WebhookURL string
	// WebhookRetries is how many times a failed delivery is retried
	// (default 3; negative: none), after WebhookBackoff (default 200 ms,
	// real time), doubled each time. WebhookTimeout bounds one attempt
	// (default 10 s).
	WebhookRetries int
	WebhookBackoff time.Duration
	WebhookTimeout time.Duration
	// HTTPClient sends webhooks (default: one with WebhookTimeout).
	HTTPClient *http.Client
	// ScanInterval is how often (real time) the clock is checked for scores
	// that appeared, to send their webhooks (default 1 s; negative: only
	// AdvanceClock and NextNight send them).
	ScanInterval time.Duration
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

func (c *Config) fill() error {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DefaultClientSecret
	}
	if c.AccessTokenLifetime <= 0 {
		c.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if c.ReadyTokenLifetime <= 0 {
		c.ReadyTokenLifetime = DefaultReadyTokenLifetime
	}
	if c.CodeLifetime <= 0 {
		c.CodeLifetime = DefaultCodeLifetime
	}
	if len(c.RateWindows) == 0 {
		c.RateWindows = DefaultRateWindows()
	}
	for _, w := range c.RateWindows {
		if w.Requests < 0 || w.Window < time.Second {
			return fmt.Errorf("rate window %+v: need Requests >= 0 and Window >= 1s", w)
		}
	}
	if c.Clock == nil {
		c.Clock = NewClock(time.Time{}, 1, nil)
	}
	simkit.FillDelivery(&c.WebhookRetries, &c.WebhookBackoff, &c.WebhookTimeout, &c.HTTPClient)
	if c.ScanInterval == 0 {
		c.ScanInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c.Faults.validate()
}

// Server is the simulated WHOOP API: an http.Handler serving the v2 data
// routes, OAuth and the /_sim control routes. Use it with
// httptest.NewServer(srv) or srv.Start(addr); Close stops its background
// work either way.
type Server struct {
	cfg     Config
	log     *slog.Logger
	clock   *Clock
	world   *World
	key     []byte
	mux     *http.ServeMux
	auth    *authStore
	limiter *rateLimiter
	faults  *faultInjector
	hooks   *webhooks

	ctx       context.Context
	cancel    context.CancelFunc
	bg        sync.WaitGroup
	closeOnce sync.Once
	http      *simkit.Listener
}

// New builds a Server and starts its background work (sending webhooks as
// scores appear).
func New(cfg Config) (*Server, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("whoopsim config: %w", err)
	}
	w, err := NewWorld(WorldConfig{Seed: cfg.Seed, Users: cfg.Users, HistoryStart: cfg.HistoryStart, ScoreDelay: cfg.ScoreDelay})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, world: w, key: deriveKey(cfg.Seed, "whoopsim-server")}
	s.http = simkit.NewListener("whoopsim", true, cfg.Logger)
	s.auth = newAuthStore(s)
	s.limiter = newRateLimiter(cfg.RateWindows)
	s.faults = newFaultInjector(cfg.Seed, cfg.Faults)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.hooks = newWebhooks(s)
	s.routes()
	if cfg.ScanInterval > 0 {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			simkit.Every(s.ctx, cfg.ScanInterval, func() { s.scan() })
		}()
	}
	return s, nil
}

// World is the simulated population.
func (s *Server) World() *World { return s.world }

// Clock is the server's clock.
func (s *Server) Clock() *Clock { return s.clock }

// ClientID and ClientSecret are the registered application's credentials.
func (s *Server) ClientID() string     { return s.cfg.ClientID }
func (s *Server) ClientSecret() string { return s.cfg.ClientSecret }

// Start serves on addr, which must be a loopback address such as
// "127.0.0.1:0", in the background. URL then gives the base URL.
func (s *Server) Start(addr string) error { return s.http.Start(addr, s) }

// URL is the base URL after Start ("" before). The API base URL is URL +
// APIPrefix.
func (s *Server) URL() string { return s.http.URL() }

// Close stops the listener (if started), the scan loop and webhook
// deliveries.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		err = s.http.Close()
		s.hooks.close()
		s.bg.Wait()
	})
	return err
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /v2/cycle", s.list(KindCycle, "read:cycles"))
	m.HandleFunc("GET /v2/cycle/{cycleId}", s.byCycle("read:cycles", func(u *User, id int64, now time.Time) (any, bool) { return s.world.Cycle(u, id, now) }))
	m.HandleFunc("GET /v2/cycle/{cycleId}/sleep", s.byCycle("read:sleep", func(u *User, id int64, now time.Time) (any, bool) { return s.world.SleepForCycle(u, id, now) }))
	m.HandleFunc("GET /v2/cycle/{cycleId}/recovery", s.byCycle("read:recovery", func(u *User, id int64, now time.Time) (any, bool) { return s.world.RecoveryForCycle(u, id, now) }))
	m.HandleFunc("GET /v2/recovery", s.list(KindRecovery, "read:recovery"))
	m.HandleFunc("GET /v2/activity/sleep", s.list(KindSleep, "read:sleep"))
	m.HandleFunc("GET /v2/activity/sleep/{sleepId}", s.byUUID("sleepId", "read:sleep", func(u *User, id string, now time.Time) (any, bool) { return s.world.Sleep(u, id, now) }))
	m.HandleFunc("GET /v2/activity/workout", s.list(KindWorkout, "read:workout"))
	m.HandleFunc("GET /v2/activity/workout/{workoutId}", s.byUUID("workoutId", "read:workout", func(u *User, id string, now time.Time) (any, bool) { return s.world.Workout(u, id, now) }))
	m.HandleFunc("GET /v2/user/profile/basic", s.profile)
	m.HandleFunc("GET /v2/user/measurement/body", s.body)
	m.HandleFunc("DELETE /v2/user/access", s.revokeAccess)
	m.HandleFunc("GET /v1/activity-mapping/{activityV1Id}", s.activityMapping)

	m.HandleFunc("GET /oauth/oauth2/auth", s.auth.handleAuthorize)
	m.HandleFunc("POST /oauth/oauth2/token", s.auth.handleToken)
	s.adminRoutes(m)
	s.mux = m
}

// ServeHTTP strips the /developer prefix, applies the application's rate
// limit and the injected faults to API routes, then routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p, ok := strings.CutPrefix(r.URL.Path, APIPrefix+"/"); ok {
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = "/"+p, ""
		r = r2
	}
	api := strings.HasPrefix(r.URL.Path, "/v2/") || strings.HasPrefix(r.URL.Path, "/v1/")
	if !api {
		s.mux.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	if !s.cfg.DisableRateLimit {
		// One registered application: every API request counts against it.
		st, ok := s.limiter.take(s.cfg.ClientID, s.clock.Real())
		s.limiter.setHeaders(h, st)
		if !ok {
			plain(w, http.StatusTooManyRequests)
			return
		}
	}
	fd := s.faults.decide()
	if fd.latency > 0 && !simkit.Sleep(r.Context(), fd.latency) {
		return
	}
	switch fd.kind {
	case fault429:
		h.Set("X-RateLimit-Remaining", "0")
		plain(w, http.StatusTooManyRequests)
		return
	case fault5xx:
		plain(w, fd.status)
		return
	}
	bw := simkit.NewResponseBuffer(h)
	handler, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux's own 404 and 405 keep their status with a plain body.
		handler.ServeHTTP(bw, r)
	} else {
		s.mux.ServeHTTP(bw, r)
	}
	status := bw.Status()
	if status != http.StatusNoContent {
		h.Set("Content-Length", strconv.Itoa(len(bw.Body())))
	}
	simkit.WriteBody(w, status, bw.Body(), fd.kind == faultTruncate)
}

// plain writes an error as WHOOP does: the spec declares no error body, so
// the status text as plain text.
func plain(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status)))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if simkit.WriteJSON(w, status, v) != nil {
		plain(w, http.StatusInternalServerError)
	}
}

// authenticate finds the user behind the bearer token and checks one scope
// ("" for none). Missing or wrong tokens and missing scopes are 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, scope string) (*User, bool) {
	g, ok := s.auth.lookup(simkit.BearerToken(r))
	if !ok || (scope != "" && !slices.Contains(g.Scopes, scope)) {
		plain(w, http.StatusUnauthorized)
		return nil, false
	}
	return s.world.User(g.User), true
}

// list serves a collection: limit (default 10, max 25), start inclusive,
// end exclusive (default now), nextToken in, next_token out.
func (s *Server) list(k Kind, scope string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.authenticate(w, r, scope)
		if !ok {
			return
		}
		now := s.clock.Now()
		q, err := s.parseQuery(r, k, u, now)
		if err != nil {
			plain(w, http.StatusBadRequest)
			return
		}
		docs, more, last := s.world.List(k, u, q, now)
		out := Page[any]{Records: docs}
		if out.Records == nil {
			out.Records = []any{}
		}
		if more {
			out.NextToken = s.cursor(k, u, last)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) parseQuery(r *http.Request, k Kind, u *User, now time.Time) (Query, error) {
	v := r.URL.Query()
	q := Query{Limit: DefaultPageLimit, End: now}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageLimit {
			return q, fmt.Errorf("limit %q", l)
		}
		q.Limit = n
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start", &q.Start}, {"end", &q.End}} {
		if raw := v.Get(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return q, fmt.Errorf("%s %q", p.name, raw)
			}
			*p.dst = t
		}
	}
	if !q.Start.IsZero() && q.Start.After(q.End) {
		return q, errors.New("start after end")
	}
	if tok := v.Get("nextToken"); tok != "" {
		t, ok := s.parseCursor(k, u, tok)
		if !ok {
			return q, errors.New("bad nextToken")
		}
		q.Before = t
	}
	return q, nil
}

// cursor is an opaque next_token: the start of the page's last record,
// signed for this collection and user.
func (s *Server) cursor(k Kind, u *User, last time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(last.UnixMilli()))
	copy(b[8:], s.cursorMAC(k, u, b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) parseCursor(k Kind, u *User, tok string) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 16 || !hmac.Equal(b[8:], s.cursorMAC(k, u, b[:8])) {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(b[:8]))).UTC(), true
}

func (s *Server) cursorMAC(k Kind, u *User, p []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "cursor/%d/%d/", k, u.Index)
	m.Write(p)
	return m.Sum(nil)[:8]
}

func (s *Server) byCycle(scope string, get func(*User, int64, time.Time) (any, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.authenticate(w, r, scope)
		if !ok {
			return
		}
		id, err := strconv.ParseInt(r.PathValue("cycleId"), 10, 64)
		if err != nil {
			plain(w, http.StatusBadRequest)
			return
		}
		doc, ok := get(u, id, s.clock.Now())
		if !ok {
			plain(w, http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, doc)
	}
}

func (s *Server) byUUID(param, scope string, get func(*User, string, time.Time) (any, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.authenticate(w, r, scope)
		if !ok {
			return
		}
		id := r.PathValue(param)
		if !isUUID(id) {
			plain(w, http.StatusBadRequest)
			return
		}
		doc, ok := get(u, id, s.clock.Now())
		if !ok {
			plain(w, http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, doc)
	}
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	return true
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authenticate(w, r, "read:profile")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, BasicProfile{UserID: u.UserID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName})
}

func (s *Server) body(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authenticate(w, r, "read:body_measurement")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, BodyMeasurement{HeightMeter: u.HeightMeter, WeightKilogram: u.WeightKilogram, MaxHeartRate: u.MaxHeartRate})
}

// revokeAccess ends the token's grant: its tokens stop working and webhooks
// stop for the user unless another grant remains.
func (s *Server) revokeAccess(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authenticate(w, r, ""); !ok {
		return
	}
	s.auth.store.RevokeToken(simkit.BearerToken(r))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) activityMapping(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authenticate(w, r, "")
	if !ok {
		return
	}
	v1, err := strconv.ParseInt(r.PathValue("activityV1Id"), 10, 64)
	if err != nil {
		plain(w, http.StatusBadRequest)
		return
	}
	id, ok := s.world.MapV1(u, v1, s.clock.Now())
	if !ok {
		plain(w, http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, ActivityMapping{V2ActivityID: id})
}
