// Package httpapi is wearlink's ROOK-compatible REST API: an app that calls
// ROOK can point its base URL here and keep working. Every ROOK route takes
// HTTP Basic auth with client_uuid:secret; each client has a rate limit;
// request bodies are bounded; every error is a JSON body with a message a
// person can act on. api/openapi.yaml documents every route, including the
// client routes ROOK does not publish and the extensions (date ranges, raw
// documents, re-sync).
//
// Errors: handlers return errors carrying a health error code (or one of
// this package's extra codes); statusOf in errors.go is the one place that
// maps a code to an HTTP status.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// Store is what the API reads and writes; both store implementations
// satisfy it (store.Store plus store.APIStore's UserStatuses).
type Store interface {
	GetClient(ctx context.Context, uuid string) (store.Client, error)
	GetUser(ctx context.Context, clientUUID, userID string) (store.User, error)
	UpsertUser(ctx context.Context, u store.User) (store.User, error)
	FindConnection(ctx context.Context, clientUUID, userID, dataSource string) (store.Connection, error)
	GetHealthDocuments(ctx context.Context, q store.HealthQuery) ([]store.HealthDocument, error)
	RawDocuments(ctx context.Context, connectionID int64, collections []string, fromDay, toDay string) ([]store.RawDocument, error)
	UserStatuses(ctx context.Context, q store.UserStatusQuery) (store.UserStatusPage, error)
}

// Linker links and unlinks the accounts of one data source
// (*link.Service).
type Linker interface {
	// AuthorizationURL returns the URL that starts linking; an invalid
	// redirect URL is an EINVALID error.
	AuthorizationURL(ctx context.Context, clientUUID, userID, redirectURL string) (string, error)
	// Revoke revokes the user's authorization and reports whether there
	// was one.
	Revoke(ctx context.Context, clientUUID, userID string) (bool, error)
	// ServeConnect and ServeCallback are the browser's side of the OAuth
	// flow (/connect/{data_source} and /connect/{data_source}/callback).
	ServeConnect(w http.ResponseWriter, r *http.Request)
	ServeCallback(w http.ResponseWriter, r *http.Request)
}

// Notifications takes the providers' notifications (*ingest.Engine).
type Notifications interface {
	// Challenge answers a provider's check of the callback URL.
	Challenge(r *http.Request, dataSource string) (any, error)
	// HandleNotification verifies and records one notification; body is
	// the raw request body.
	HandleNotification(r *http.Request, dataSource, token string, body []byte) (int, error)
}

// Resender replays a client's rejected webhook deliveries
// (*delivery.Service).
type Resender interface {
	// Replay queues again the client's dead letters created in
	// [q.CreatedFrom, q.CreatedTo) and returns how many it queued.
	Replay(ctx context.Context, clientUUID string, q store.ReplayQuery) (int, error)
}

// WebhookManager manages a client's webhook endpoints and shows their
// deliveries (*delivery.Service). Each method takes the client the caller
// acts for: the routes always pass the authenticated client, so another
// client's endpoint or delivery is not found.
type WebhookManager interface {
	ListEndpoints(ctx context.Context, clientUUID string) ([]delivery.Endpoint, error)
	// AddEndpoint and RotateSecret return the new secret, the only times
	// it is shown.
	AddEndpoint(ctx context.Context, in delivery.EndpointInput) (delivery.EndpointWithSecret, error)
	GetEndpoint(ctx context.Context, clientUUID, id string) (delivery.Endpoint, error)
	UpdateEndpoint(ctx context.Context, clientUUID, id string, u delivery.EndpointUpdate) (delivery.Endpoint, error)
	RotateSecret(ctx context.Context, clientUUID, id string) (delivery.EndpointWithSecret, error)
	SetEnabled(ctx context.Context, clientUUID, id string, enabled bool) (delivery.Endpoint, error)
	// TestEndpoint posts a signed test event to the endpoint now.
	TestEndpoint(ctx context.Context, clientUUID, id string) (delivery.TestResult, error)
	DeleteEndpoint(ctx context.Context, clientUUID, id string) error
	ListDeliveries(ctx context.Context, clientUUID string, q store.DeliveryQuery) ([]store.Delivery, error)
	Delivery(ctx context.Context, clientUUID string, id int64) (store.Delivery, []store.DeliveryAttempt, error)
}

// UserEvents hears of users created through the API (*delivery.Service
// turns it into the "user created" notification).
type UserEvents interface {
	UserCreated(ctx context.Context, clientUUID, userID string) error
}

// Resyncer re-reads a range of days from the provider for one connection; the
// documents that changed are stored and delivered again.
type Resyncer interface {
	// Resync enqueues the work for the local days fromDay..toDay
	// (YYYY-MM-DD, inclusive) and returns the number of jobs enqueued.
	Resync(ctx context.Context, conn store.Connection, fromDay, toDay string) (int, error)
}

// RateLimit is a per-client request budget: Requests per Window, with bursts
// of up to Burst requests (default Requests). Zero Requests: no limit.
type RateLimit struct {
	Requests int
	Window   time.Duration
	Burst    int
}

// Config builds the API. Store is required; zero values get the defaults
// noted.
type Config struct {
	Store Store
	// Sources are the data sources served, each with the Linker of its
	// authorizer, revoke and /connect routes (nil: they answer 503).
	Sources []Source
	// ConnectionsPages serves GET .../connections_page; nil: 503.
	ConnectionsPages ConnectionsPages
	// Resender serves POST /api/v1/client/webhooks/resend; nil: 503.
	Resender Resender
	// Webhooks serves /api/v1/client/webhooks and
	// /api/v1/client/deliveries; nil: 503.
	Webhooks WebhookManager
	// Destinations serves /api/v1/client/destinations; nil: 503.
	Destinations DestinationManager
	// Resyncer serves POST .../data_source/{data_source}/sync; nil: 503.
	Resyncer Resyncer
	// Events hears of users created by the time zone and user information
	// routes; nil drops them.
	Events UserEvents
	// Eraser erases users (DELETE /api/v1/user_id/{user_id}); nil answers
	// 503.
	Eraser Eraser
	// Notifications serves the providers' notifications
	// (/webhooks/{data_source}); nil answers 503.
	Notifications Notifications
	Logger        *slog.Logger
	// Now is the clock (default time.Now).
	Now       func() time.Time
	RateLimit RateLimit
	// MaxBody bounds request bodies (default 64 KiB).
	MaxBody int64
	// PublicURL is where this server is reached (for absolute URLs in
	// responses, such as data source images). Default: from the request.
	PublicURL string
	// AuthCacheTTL is how long a client's record is reused between store
	// reads (default 5 s): a rotated secret or a deleted client takes
	// effect within it. Negative: read the store on every request.
	AuthCacheTTL time.Duration
	// MaxRangeDays bounds start_date..end_date (default 31).
	MaxRangeDays int
}

// API is the REST API's http.Handler.
type API struct {
	cfg    Config
	st     Store
	log    *slog.Logger
	now    func() time.Time
	mux    *http.ServeMux
	routes []route
	auth   *authenticator
	limits *limiter
}

// route is one documented operation.
type route struct {
	method, pattern string
	// auth: HTTP Basic with client credentials, then the rate limit.
	auth bool
	h    handler
	// raw handlers write their own responses (browser pages).
	raw http.HandlerFunc
}

// handler serves an authenticated (or public) API call; an error becomes
// the JSON error response.
type handler func(w http.ResponseWriter, r *http.Request, c *store.Client) error

// Route is a method and a path pattern the API serves.
type Route struct {
	Method, Pattern string
	// Auth says whether the route takes client credentials.
	Auth bool
}

// New builds the API.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	if cfg.AuthCacheTTL == 0 {
		cfg.AuthCacheTTL = 5 * time.Second
	}
	if cfg.MaxRangeDays <= 0 {
		cfg.MaxRangeDays = 31
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("httpapi: PublicURL %q must be an absolute http or https URL", cfg.PublicURL)
		}
		cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	}
	if err := checkSources(cfg.Sources); err != nil {
		return nil, err
	}
	if cfg.RateLimit.Requests > 0 && cfg.RateLimit.Window <= 0 {
		return nil, errors.New("httpapi: RateLimit.Window must be positive")
	}
	a := &API{cfg: cfg, st: cfg.Store, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux()}
	a.auth = newAuthenticator(cfg.Store, cfg.AuthCacheTTL, cfg.Now)
	a.limits = newLimiter(cfg.RateLimit, cfg.Now)
	a.routes = a.table()
	a.register()
	return a, nil
}

// Routes lists every route the API serves, for documentation checks.
func (a *API) Routes() []Route {
	out := make([]Route, 0, len(a.routes))
	for _, rt := range a.routes {
		out = append(out, Route{Method: rt.method, Pattern: rt.pattern, Auth: rt.auth})
	}
	return out
}

// table is every route. Paths follow ROOK's reference; the client routes
// and the extensions are wearlink's (see api/openapi.yaml).
func (a *API) table() []route {
	rs := []route{
		{method: "GET", pattern: "/api/v1/user_id/{user_id}/data_source/{data_source}/authorizer", auth: true, h: a.authorizer},
		{method: "GET", pattern: "/api/v1/client_uuid/{client_uuid}/user_id/{user_id}/data_sources/authorizers", auth: true, h: a.authorizers},
		{method: "GET", pattern: "/api/v1/user_id/{user_id}/data_sources/authorized", auth: true, h: a.authorizedV1},
		{method: "GET", pattern: "/api/v2/user_id/{user_id}/data_sources/authorized", auth: true, h: a.authorizedV2},
		{method: "POST", pattern: "/api/v1/user_id/{user_id}/data_sources/revoke_auth", auth: true, h: a.revoke},
		{method: "POST", pattern: "/api/v1/user_id/{user_id}/data_source/{data_source}/sync", auth: true, h: a.resync},
		{method: "GET", pattern: "/api/v1/user_id/{user_id}/time_zone", auth: true, h: a.getTimeZone},
		{method: "POST", pattern: "/api/v1/user_id/{user_id}/time_zone", auth: true, h: a.postTimeZone},
		{method: "POST", pattern: "/api/v2/user-information", auth: true, h: a.postUserInfo},
		{method: "POST", pattern: "/api/v1/client/webhooks/resend", auth: true, h: a.resend},
		{method: "GET", pattern: "/api/v1/client/users/status", auth: true, h: a.usersStatus},
		{method: "GET", pattern: "/api/v1/user_id/{user_id}/connections_page", auth: true, h: a.connectionsPageURL},
		{method: "GET", pattern: "/v2/raw_data/{data_source}/{collection}", auth: true, h: a.rawData},
		{method: "DELETE", pattern: "/api/v1/user_id/{user_id}", auth: true, h: a.eraseUser},
		{method: "GET", pattern: "/api/v1/user_id/{user_id}/erasure", auth: true, h: a.userErasure},
		{method: "GET", pattern: "/api/v1/client/erasures/{erasure_id}", auth: true, h: a.erasure},
	}
	rs = append(rs, a.webhookRoutes()...)
	rs = append(rs, a.destinationRoutes()...)
	rs = append(rs, a.fhirRoutes()...)
	for _, s := range health.Structures() {
		rs = append(rs, route{method: "GET", pattern: s.Route, auth: true, h: a.processed(s)})
	}
	rs = append(rs,
		route{method: "GET", pattern: "/connect/{data_source}", raw: a.connect},
		route{method: "GET", pattern: "/connect/{data_source}/callback", raw: a.callback},
		route{method: "GET", pattern: "/connect/{data_source}/logo.svg", raw: serveLogo},
		route{method: "GET", pattern: "/openapi.yaml", raw: serveOpenAPI},
		route{method: "GET", pattern: "/webhooks/{data_source}", h: a.challenge},
		route{method: "POST", pattern: "/webhooks/{data_source}", h: a.notification},
		route{method: "POST", pattern: "/webhooks/{data_source}/{token}", h: a.notification},
		// Oura's subscriptions made by earlier versions point here.
		route{method: "GET", pattern: "/oura/webhook", h: a.challenge},
		route{method: "POST", pattern: "/oura/webhook", h: a.notification},
	)
	return rs
}

// register mounts the routes by path; the method is dispatched here, so a
// wrong method gets a JSON 405 rather than the mux's plain text.
func (a *API) register() {
	byPath := map[string][]route{}
	var paths []string
	for _, rt := range a.routes {
		if _, ok := byPath[rt.pattern]; !ok {
			paths = append(paths, rt.pattern)
		}
		byPath[rt.pattern] = append(byPath[rt.pattern], rt)
	}
	for _, p := range paths {
		rts := byPath[p]
		a.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			for _, rt := range rts {
				if r.Method == rt.method || (r.Method == http.MethodHead && rt.method == http.MethodGet && rt.raw != nil) {
					a.serve(w, r, rt)
					return
				}
			}
			var allow []string
			for _, rt := range rts {
				allow = append(allow, rt.method)
			}
			slices.Sort(allow)
			w.Header().Set("Allow", strings.Join(allow, ", "))
			a.writeError(w, r, health.Errorf(eMethod, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		})
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, health.Errorf(health.ENOTFOUND, "There is no route %s %s. See /openapi.yaml for the routes this server has.", r.Method, r.URL.Path))
	})
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, rt route) {
	if rt.raw != nil {
		rt.raw(w, r)
		return
	}
	var c *store.Client
	if rt.auth {
		var err error
		if c, err = a.authenticate(w, r); err != nil {
			a.writeError(w, r, err)
			return
		}
		if info := infoFrom(r.Context()); info != nil {
			info.clientUUID = c.UUID
		}
		if err := a.limits.allow(c.UUID); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	if r.ContentLength > a.cfg.MaxBody {
		a.writeError(w, r, tooLarge(a.cfg.MaxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBody)
	if err := rt.h(w, r, c); err != nil {
		a.writeError(w, r, err)
	}
}

// ServeHTTP implements http.Handler: a request id, a log line per request,
// and a JSON 500 for a panic.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	info := &requestInfo{id: id}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	w.Header().Set("X-Request-Id", id)
	rec := &recorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.log.ErrorContext(r.Context(), "panic serving request", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rec.wrote {
				a.writeError(rec, r, errors.New("panic"))
			}
		}
		attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", r.Pattern),
			slog.Int("status", rec.status()), slog.Duration("duration", time.Since(start))}
		if info.clientUUID != "" {
			attrs = append(attrs, slog.String("client_uuid", info.clientUUID))
		}
		level := slog.LevelInfo
		if rec.status() >= 500 {
			level = slog.LevelError
		}
		a.log.LogAttrs(r.Context(), level, "http request", attrs...)
	}()
	a.mux.ServeHTTP(rec, r)
}

type infoKey struct{}

// requestInfo travels with the request so that the log line can name the
// client once it is known.
type requestInfo struct {
	id         string
	clientUUID string
}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// recorder remembers the status written, for the log line.
type recorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) status() int {
	if !r.wrote {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// pathLinker is the Linker of the source in the path; only a served
// source's slug names it (the browser follows URLs this server made).
func (a *API) pathLinker(r *http.Request) (Linker, error) {
	ds := r.PathValue("data_source")
	for _, s := range a.cfg.Sources {
		if s.DataSource == ds {
			return s.linker()
		}
	}
	return nil, health.Errorf(health.ENOTFOUND, "This server links no data source %s; it serves %s.", quoteShort(ds), a.served())
}

func (a *API) connect(w http.ResponseWriter, r *http.Request) {
	l, err := a.pathLinker(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	l.ServeConnect(w, r)
}

func (a *API) callback(w http.ResponseWriter, r *http.Request) {
	l, err := a.pathLinker(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	l.ServeCallback(w, r)
}

// publicURL is the server's base URL: configured, or taken from the
// request.
func (a *API) publicURL(r *http.Request) string {
	if a.cfg.PublicURL != "" {
		return a.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
