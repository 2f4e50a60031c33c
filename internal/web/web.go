// Package web serves wearlink's browser pages: the connections page where
// an end user connects or disconnects a data source, opened through a
// signed, expiring link the client's backend gets from the API, and the
// dashboard where a client's operators look at their users, their data
// and their webhook deliveries.
//
// Every page is plain HTML from embedded templates and works without
// JavaScript; charts are inline SVG drawn on the server. Every POST carries
// a CSRF token (see csrf.go); dashboard sessions are kept server-side
// (see session.go). Signing keys are derived per
// purpose from one server key kept sealed in the store.
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/store"
)

// Store is what the pages read (both store implementations).
type Store interface {
	GetClient(ctx context.Context, uuid string) (store.Client, error)
	GetUser(ctx context.Context, clientUUID, userID string) (store.User, error)
	FindConnection(ctx context.Context, clientUUID, userID, dataSource string) (store.Connection, error)
	GetHealthDocuments(ctx context.Context, q store.HealthQuery) ([]store.HealthDocument, error)
	UserStatuses(ctx context.Context, q store.UserStatusQuery) (store.UserStatusPage, error)
	ServerKey(ctx context.Context, name string) ([]byte, error)
	store.SessionStore
}

// Linker starts and revokes the links of one provider's accounts
// (*link.Service).
type Linker interface {
	AuthorizationURL(ctx context.Context, clientUUID, userID, redirectURL string) (string, error)
	Revoke(ctx context.Context, clientUUID, userID string) (bool, error)
}

// Deliveries lists and replays a client's webhook deliveries
// (*delivery.Service).
type Deliveries interface {
	ListDeliveries(ctx context.Context, clientUUID string, q store.DeliveryQuery) ([]store.Delivery, error)
	Replay(ctx context.Context, clientUUID string, q store.ReplayQuery) (int, error)
}

// Targets lists where a client's documents go (*delivery.Service): its
// webhook endpoints and its destinations, shown with their status on the
// deliveries page.
type Targets interface {
	ListEndpoints(ctx context.Context, clientUUID string) ([]delivery.Endpoint, error)
	ListDestinations(ctx context.Context, clientUUID string) ([]delivery.Destination, error)
}

// ProviderInfo is a configured provider as the pages show it.
type ProviderInfo struct {
	// DataSource is its ROOK data_source slug, as connections are
	// stored under it.
	DataSource string
	// Name is its display name as ROOK spells it; the data source when empty.
	Name string
	// Description says to the end user what connecting it shares;
	// optional.
	Description string
	// Linker runs its Connect and Disconnect; nil shows its linking as
	// unavailable. Each provider has its own, so a page never sends one
	// provider's Connect to another's authorization.
	Linker Linker
}

// Config builds a Handler. Store and PublicURL are required.
type Config struct {
	Store Store
	// Providers are the data sources the pages list, in this order: the
	// connections page offers each one, the dashboard shows each one's
	// connection. Data sources must be distinct.
	Providers []ProviderInfo
	// Deliveries serves the dashboard's deliveries page; nil hides it.
	Deliveries Deliveries
	// Targets lists the endpoints and destinations on the deliveries
	// page; nil leaves them out.
	Targets Targets
	// PublicURL is where browsers reach this server.
	PublicURL string
	// PageTTL is how long a connections page link works (default 1 h).
	PageTTL time.Duration
	// SessionTTL is how long a dashboard login lasts (default 8 h).
	SessionTTL time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// Handler serves the pages.
type Handler struct {
	cfg    Config
	st     Store
	public *url.URL
	secure bool
	log    *slog.Logger
	now    func() time.Time
	mux    *http.ServeMux

	keyMu sync.Mutex
	base  []byte

	limits  loginLimits
	origins *http.CrossOriginProtection
}

// Paths of the pages.
const (
	ConnectionsPrefix = "/connections/"
	DashboardPath     = "/dashboard"
)

// New checks the configuration and fills defaults.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("web: Config.Store is required")
	}
	pub, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/"))
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, fmt.Errorf("web: PublicURL %q must be an absolute http or https URL", cfg.PublicURL)
	}
	cfg.Providers = slices.Clone(cfg.Providers)
	seen := map[string]bool{}
	for i, p := range cfg.Providers {
		if p.DataSource == "" || seen[p.DataSource] {
			return nil, fmt.Errorf("web: Config.Providers[%d]: data source %q is empty or listed twice", i, p.DataSource)
		}
		seen[p.DataSource] = true
		if p.Name == "" {
			cfg.Providers[i].Name = p.DataSource
		}
	}
	if cfg.PageTTL <= 0 {
		cfg.PageTTL = time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, st: cfg.Store, public: pub, secure: pub.Scheme == "https", log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux(),
		origins: http.NewCrossOriginProtection()}
	// Behind a proxy that rewrites Host, the public URL is the origin.
	if err := h.origins.AddTrustedOrigin(pub.Scheme + "://" + pub.Host); err != nil {
		return nil, fmt.Errorf("web: PublicURL %q: %w", cfg.PublicURL, err)
	}
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.pattern, rt.h)
	}
	return h, nil
}

type webRoute struct {
	pattern string
	h       http.HandlerFunc
}

func (h *Handler) routes() []webRoute {
	return []webRoute{
		{"GET " + connectionsPattern, h.connectionsPage},
		{"POST " + connectionsPattern + "/disconnect", h.disconnect},
		{"GET " + connectionsPattern + "/back", h.back},
		{"GET " + connectionsPattern + "/back/{rest...}", h.back},
		{"GET " + DashboardPath, h.dashboardHome},
		{"GET " + DashboardPath + "/{$}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, DashboardPath, http.StatusMovedPermanently)
		}},
		{"POST " + DashboardPath + "/login", h.login},
		{"POST " + DashboardPath + "/logout", h.logout},
		{"GET " + DashboardPath + "/users/{user_id}", h.userPage},
		{"GET " + DashboardPath + "/deliveries", h.deliveriesPage},
		{"POST " + DashboardPath + "/deliveries/{id}/replay", h.replay},
	}
}

// Patterns lists the patterns the handler serves, to mount it on a mux.
func (h *Handler) Patterns() []string {
	rs := h.routes()
	out := make([]string, len(rs))
	for i, rt := range rs {
		out[i] = rt.pattern
	}
	return out
}

// Mount registers every page on m.
func (h *Handler) Mount(m *http.ServeMux) {
	for _, p := range h.Patterns() {
		m.Handle(p, h)
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	h.mux.ServeHTTP(w, r)
}

// provider returns the configured provider of a data source.
func (h *Handler) provider(dataSource string) (ProviderInfo, bool) {
	for _, p := range h.cfg.Providers {
		if p.DataSource == dataSource {
			return p, true
		}
	}
	return ProviderInfo{}, false
}

// providerName is the display name of a data source; the slug itself for
// one that is not configured (data kept from a provider since removed).
func (h *Handler) providerName(dataSource string) string {
	if p, ok := h.provider(dataSource); ok {
		return p.Name
	}
	return dataSource
}

// key returns the key for one purpose, derived from the handler's server
// key: a key leaked from one purpose signs nothing of another.
func (h *Handler) key(ctx context.Context, purpose string) ([]byte, error) {
	h.keyMu.Lock()
	defer h.keyMu.Unlock()
	if h.base == nil {
		k, err := h.st.ServerKey(ctx, "web")
		if err != nil {
			return nil, fmt.Errorf("web key: %w", err)
		}
		h.base = k
	}
	m := hmac.New(sha256.New, h.base)
	m.Write([]byte("wearlink web key v1: " + purpose))
	return m.Sum(nil), nil
}

//go:embed templates/*.html
var templateFS embed.FS

var funcs = template.FuncMap{
	"fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}

// pages are the templates, each parsed with the layout.
var pages = func() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, e := range names {
		if e.Name() == "layout.html" {
			continue
		}
		out[strings.TrimSuffix(e.Name(), ".html")] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+e.Name()))
	}
	return out
}()

// view is what every page gets.
type view struct {
	Title string
	// Nav shows the dashboard's navigation (signed-in pages).
	Nav    bool
	Client string
	CSRF   string
	Data   any
	// Active names the dashboard page shown, for the navigation.
	Active string
	// Deliveries shows the deliveries page in the navigation.
	Deliveries bool
	// Narrow is the layout of the pages for end users and of messages.
	Narrow bool
}

func (h *Handler) render(w http.ResponseWriter, status int, page string, v view) {
	var b bytes.Buffer
	if err := pages[page].ExecuteTemplate(&b, "layout.html", v); err != nil {
		h.log.Error("render page", "page", page, "err", err)
		http.Error(w, "page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// message is a page that only says something.
type message struct {
	Text string
	Next string
	Back string
}

func (h *Handler) message(w http.ResponseWriter, status int, title string, m message) {
	h.render(w, status, "message", view{Title: title, Data: m, Narrow: true})
}

func (h *Handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.log.ErrorContext(r.Context(), what, "err", err)
	h.message(w, http.StatusInternalServerError, "Something went wrong",
		message{Text: "The server could not handle this request.", Next: "Please try again in a moment."})
}
