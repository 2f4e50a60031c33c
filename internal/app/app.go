// Package app is wearlink's composition root: it builds the store, the
// River client, the Oura client, the sync engine, webhook delivery, account
// linking, the REST API and the HTTP server from one config.Config and
// runs the roles a process was given (api, worker or all) until its
// context ends.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/erase"
	"github.com/wearlink/wearlink/internal/httpapi"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/all"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	withingssim "github.com/wearlink/wearlink/internal/provider/withings/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/web"
)

// Options are what a process needs besides the configuration.
type Options struct {
	// SecretKey is WEARLINK_SECRET_KEY's value (see StoreConfig).
	SecretKey string
	Logger    *slog.Logger
	// Now is the clock of the sync engine (default time.Now).
	Now func() time.Time
	// DeliveryNow is the clock of webhook delivery: signature timestamps,
	// retry schedules, retention (default Now). The demo runs the sync
	// engine on the simulator's clock and delivery on real time, which is
	// what receivers check timestamps against.
	DeliveryNow func() time.Time
	// WebNow is the clock of the web pages: connections page links,
	// dashboard sessions and sign-in limits (default Now). Their expiries
	// are a browser's, in real time: the demo, whose simulated days pass
	// in seconds, runs them on time.Now.
	WebNow func() time.Time
	// Events receives the sync engine's lifecycle events (default: the
	// delivery service, which notifies the client).
	Events ingest.Events
	// Migrate brings the schema up to date at start (wearlink serve does;
	// several processes may do it at once).
	Migrate bool
	// FanoutInterval is the delivery pump's timer (default delivery's).
	// Tests make it long, so that only wakes explain a prompt fan-out.
	FanoutInterval time.Duration
	// Listener, when set, is used instead of listening on Config.Listen
	// (tests pass one on 127.0.0.1:0).
	Listener net.Listener
	// TestOnly shortens River's start-up jitter.
	TestOnly bool
}

// jobRunner is the part of a River client the app drives; both drivers'
// clients satisfy it.
type jobRunner interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// outboxListener hears the outbox commits of every process sharing the
// database (the PostgreSQL store).
type outboxListener interface {
	ListenOutbox(ctx context.Context, woken func())
}

// App is one wearlink process.
type App struct {
	cfg   config.Config
	opt   Options
	log   *slog.Logger
	store *OpenedStore
	eng   *ingest.Engine
	// delivery posts the clients' webhooks and lifecycle notifications.
	delivery *delivery.Service
	jobs     jobRunner
	built    all.Built
	whoopSim *whoopsim.Server
	// withingsSim is the built-in Withings simulator, when it runs.
	withingsSim *withingssim.Server
	mux         *http.ServeMux
	ln          net.Listener
	srv         *http.Server
	lock        io.Closer
	// metrics is this process's registry (no global one: two apps in a
	// test binary keep their own counts).
	metrics *metrics
	// apiRoutes are the REST API's "METHOD /pattern"s, for metric labels.
	apiRoutes []string
	// started is set while Run has River working; readyz reads it.
	started atomic.Bool
	// completer sees River's log and remembers its completer's failures;
	// readyz reads it.
	completer completerWatch
	// sim is the built-in Oura simulator, run when no Oura application is
	// configured.
	sim    *ourasim.Server
	simSrv *http.Server

	// eraser erases users and applies retention.
	eraser *erase.Service
}

// NewLogger builds the process logger the configuration asks for.
func NewLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	lvl, err := config.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	o := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return slog.New(slog.NewTextHandler(w, o)), nil
}

// New builds everything and opens the store; Run starts it. Close releases
// what New took when Run is never called.
func New(ctx context.Context, cfg config.Config, opt Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.DeliveryNow == nil {
		opt.DeliveryNow = opt.Now
	}
	if opt.WebNow == nil {
		opt.WebNow = opt.Now
	}
	a := &App{cfg: cfg, opt: opt, log: opt.Logger, mux: http.NewServeMux(), metrics: newMetrics()}
	done := false
	defer func() {
		if !done {
			_ = a.Close()
		}
	}()
	if UsesBuiltinSimulator(cfg) {
		if err := a.startSimulator(); err != nil {
			return nil, err
		}
		cfg = a.cfg
	}
	if UsesBuiltinWhoopSimulator(cfg) {
		if err := a.startWhoopSimulator(); err != nil {
			return nil, err
		}
		cfg = a.cfg
	}
	if UsesBuiltinWithingsSimulator(cfg) {
		if err := a.startWithingsSimulator(); err != nil {
			return nil, err
		}
		cfg = a.cfg
	}

	works := cfg.Role != config.RoleAPI
	if works && cfg.DatabaseURL == "" {
		// On SQLite one process works the jobs: it may then take back jobs
		// a dead predecessor left running (RescueOrphanedSQLite).
		l, err := lockDir(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		a.lock = l
	}
	st, err := OpenStore(ctx, StoreConfig{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, SecretKey: opt.SecretKey,
		CheckPages: true, Logger: opt.Logger, Now: opt.Now})
	if err != nil {
		return nil, err
	}
	a.store = st
	if opt.Migrate {
		if _, err := st.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}

	// Events name data sources as the providers do; the registry comes with
	// the engine, built below, before any event is sent.
	sourceName := func(ds string) string {
		if a.eng == nil {
			return ds
		}
		return a.eng.Providers().Name(ds)
	}
	dsvc, err := delivery.New(delivery.Config{Store: st.Store, SourceName: sourceName, Logger: opt.Logger, Now: opt.DeliveryNow, AllowPrivate: cfg.AllowPrivateWebhooks,
		FanoutInterval: opt.FanoutInterval, OnOutcome: a.metrics.delivered})
	if err != nil {
		return nil, err
	}
	a.delivery = dsvc
	eopt := EngineOptions{Store: st.Store, Logger: opt.Logger, Now: opt.Now, SingleWriter: st.SQLite != nil, URLTokens: st.Sealer.Tokens,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: ouraTransport{next: http.DefaultTransport, m: a.metrics}},
		OnFault:    a.metrics.ouraFault, OnIgnoredNotification: a.metrics.ignoredNotification, OnRateLimited: a.metrics.rateLimited}
	built, err := BuildProviders(cfg, eopt)
	if err != nil {
		return nil, err
	}
	a.built = built
	esvc, err := a.newEraser(cfg, st, dsvc, built)
	if err != nil {
		return nil, err
	}
	a.eraser = esvc
	events := opt.Events
	if events == nil {
		events = dsvc // "extraction failed" goes to the client's notification webhook
	}
	eopt.Events = events
	if works {
		// Fan-out follows this process's writes at once (Run runs the
		// woken pump beside the River client).
		eopt.OutboxWritten = dsvc.Wake
	}
	eng, err := newEngine(cfg, eopt, built)
	if err != nil {
		return nil, err
	}
	a.eng = eng
	a.completer = newCompleterWatch(opt.Logger.Handler(), opt.Now)
	jcfg := jobs.Config{Work: works, TestOnly: opt.TestOnly, Logger: slog.New(a.completer),
		// Delivery's and erasure's workers share the client: the API
		// enqueues replays and erasures, workers post the webhooks.
		Services: []jobs.Registrar{
			eng.Jobs(ingest.JobOptions{Subscriptions: cfg.WebhooksEnabled()}),
			func(w *river.Workers) jobs.Setup {
				rs := dsvc.Register(w)
				return jobs.Setup{Queues: rs.Queues, PeriodicJobs: rs.PeriodicJobs}
			},
			func(w *river.Workers) jobs.Setup {
				q, p := esvc.Register(w)
				return jobs.Setup{Queues: q, PeriodicJobs: p}
			},
		}}
	switch {
	case st.SQLite != nil:
		if works {
			n, err := jobs.RescueOrphanedSQLite(ctx, st.SQLite)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				a.log.Info("jobs of a stopped process taken back", "jobs", n)
			}
		}
		rc, cerr := jobs.NewClient(riversqlite.New(st.SQLite), jcfg)
		a.jobs, err = rc, cerr
		if cerr == nil {
			ingest.AttachTx(eng, rc, st.lite.JobTx)
			dsvc.Attach(rc)
			esvc.Attach(rc)
		}
	default:
		rc, cerr := jobs.NewClient(riverpgxv5.New(st.PG), jcfg)
		a.jobs, err = rc, cerr
		if cerr == nil {
			ingest.AttachTx(eng, rc, st.pg.JobTx)
			dsvc.Attach(rc)
			esvc.Attach(rc)
		}
	}
	if err != nil {
		return nil, err
	}

	if cfg.Role != config.RoleWorker {
		api, pages, err := a.api(cfg, st, eng, dsvc)
		if err != nil {
			return nil, err
		}
		pages.Mount(a.mux)
		a.mux.Handle("/", api)
		a.mux.HandleFunc("GET /healthz", a.healthz)
		a.mux.HandleFunc("GET /readyz", a.readyz)
		a.mux.Handle("GET /metrics", a.metrics.handler())
	}
	done = true
	return a, nil
}

// api builds the ROOK-compatible REST API with account linking (for each
// provider whose application credentials are set), resends and resyncs, and the
// web pages (connections page and dashboard).
func (a *App) api(cfg config.Config, st *OpenedStore, eng *ingest.Engine, dsvc *delivery.Service) (http.Handler, *web.Handler, error) {
	// The whole store serves every consumer's interface; the compiler
	// checks it.
	var (
		hs httpapi.Store = st.Store
		ls link.Store    = st.Store
		ws web.Store     = st.Store
	)
	wcfg := web.Config{Store: ws, Deliveries: dsvc, Targets: dsvc, PublicURL: cfg.PublicBase(), Logger: a.log, Now: a.opt.WebNow}
	// The pages list the registered providers, each with its own Connect
	// where its application's credentials are set.
	acfg := httpapi.Config{Store: hs, Resender: dsvc, Webhooks: dsvc, Destinations: dsvc, Resyncer: eng, Events: dsvc, Eraser: a.eraser, Notifications: eng,
		Logger: a.log, Now: a.opt.Now, PublicURL: cfg.PublicBase()}
	linkers := map[string]httpapi.Linker{}
	var sources []web.ProviderInfo
	for _, p := range eng.Providers().All() {
		info := p.Info()
		src := web.ProviderInfo{DataSource: info.DataSource, Name: info.Name, Description: info.Description}
		if flow := a.built.Flows[info.DataSource]; flow != nil {
			lsvc, err := link.New(link.Config{DataSource: info.DataSource, Name: info.Name, Store: ls, OAuth: flow, Sync: eng, Events: dsvc,
				PublicURL: cfg.PublicBase(), Logger: a.log, Now: a.opt.Now,
				PKCE: info.OAuth.PKCE != provider.PKCENone, RequiredScopes: info.OAuth.RequiredScopes})
			if err != nil {
				return nil, nil, err
			}
			linkers[info.DataSource] = lsvc
			src.Linker = lsvc
		} else {
			a.log.Info("account linking is off for a provider: it needs the application's client id and secret", "data_source", info.DataSource)
		}
		sources = append(sources, src)
	}
	wcfg.Providers = sources
	acfg.Sources = httpapi.SourcesOf(eng.Providers(), linkers)
	pages, err := web.New(wcfg)
	if err != nil {
		return nil, nil, err
	}
	acfg.ConnectionsPages = pages
	h, err := httpapi.New(acfg)
	if err != nil {
		return nil, nil, err
	}
	for _, rt := range h.Routes() {
		a.apiRoutes = append(a.apiRoutes, rt.Method+" "+rt.Pattern)
	}
	return h, pages, nil
}

// EngineOptions are the parts of the sync engine that are not settings.
type EngineOptions struct {
	Store        store.Store
	Logger       *slog.Logger
	Now          func() time.Time
	Events       ingest.Events
	SingleWriter bool
	// HTTPClient does the Oura API requests (default: the Oura client's).
	HTTPClient *http.Client
	// OnFault hears of the Oura client's retryable upstream faults.
	OnFault func(oura.Fault)
	// OnRateLimited hears of every provider's rate-limit answers, by data
	// source and the tier of the provider's limits that sent it.
	OnRateLimited func(dataSource, tier string)
	// OutboxWritten hears that health documents were written (the
	// delivery pump's Wake); nil where no pump runs in the process.
	OutboxWritten func()
	// URLTokens derives the tokens of the callback URLs registered for
	// providers that sign nothing (the store's Sealer.Tokens); nil: none
	// are registered and their notifications are refused.
	URLTokens func(purpose string) []string
	// OnIgnoredNotification counts notifications of types nothing is
	// read for.
	OnIgnoredNotification func(dataSource, typ string)
}

// NewEngine builds the providers and the sync engine from the
// configuration. wearlink link uses it too, so that a link made beside a
// running server behaves exactly like one the server makes.
func NewEngine(cfg config.Config, o EngineOptions) (*ingest.Engine, error) {
	built, err := BuildProviders(cfg, o)
	if err != nil {
		return nil, err
	}
	return newEngine(cfg, o, built)
}

// NewEngineOn builds the sync engine on providers already built by
// BuildProviders, for a caller that needed them before the engine: a
// second set would make a second WHOOP client, with a request budget of
// its own that the first one knows nothing of.
func NewEngineOn(cfg config.Config, o EngineOptions, built all.Built) (*ingest.Engine, error) {
	return newEngine(cfg, o, built)
}

func newEngine(cfg config.Config, o EngineOptions, built all.Built) (*ingest.Engine, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	events := o.Events
	if events == nil {
		events = ingest.NopEvents{}
	}
	return ingest.New(ingest.Config{
		Store: o.Store, Providers: built.Registry, Refreshers: built.Refreshers,
		CallbackURL: cfg.CallbackURL(),
		PublicBase:  cfg.PublicBase(), URLTokens: o.URLTokens, OnIgnoredNotification: o.OnIgnoredNotification,
		Logger: o.Logger, Now: o.Now, Events: events,
		OutboxWritten:    o.OutboxWritten,
		SingleWriter:     o.SingleWriter,
		BackfillDays:     cfg.Sync.BackfillDays,
		BackfillAll:      cfg.Sync.BackfillDays == 0,
		ReconcileHealthy: cfg.Sync.ReconcileHealthy,
		ReconcileSilent:  cfg.Sync.ReconcileSilent,
		SilentAfter:      cfg.Sync.SilentAfter,
		PollCheck:        cfg.Sync.PollCheck,
		BackfillWorkers:  cfg.Sync.BackfillWorkers,
		FetchWorkers:     cfg.Sync.FetchWorkers,
		FetchSettle:      cfg.Sync.FetchSettle,
		PollWorkers:      cfg.Sync.PollWorkers,
	})
}

// Engine is the sync engine.
func (a *App) Engine() *ingest.Engine { return a.eng }

// Store is the open store.
func (a *App) Store() *OpenedStore { return a.store }

// Delivery is the webhook delivery service, for callers that register a
// client's endpoints in process.
func (a *App) Delivery() *delivery.Service { return a.delivery }

// Mux is the HTTP router, for handlers added by the caller before Run.
func (a *App) Mux() *http.ServeMux { return a.mux }

// URL is the base URL the HTTP server listens on ("" before Run or for
// the worker role).
func (a *App) URL() string {
	if a.ln == nil {
		return ""
	}
	return "http://" + a.ln.Addr().String()
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if _, err := a.store.Store.ListClients(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"unavailable"}` + "\n"))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// Listen opens the HTTP listener (Run does it when not done before), so
// that callers learn the address before serving starts.
func (a *App) Listen() error {
	if a.cfg.Role == config.RoleWorker || a.ln != nil {
		return nil
	}
	if a.opt.Listener != nil {
		a.ln = a.opt.Listener
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Listen, err)
	}
	a.ln = ln
	return nil
}

// Run starts the roles and blocks until ctx ends, then stops gracefully:
// the HTTP server stops taking requests, running jobs get
// ShutdownTimeout to finish (then their contexts are cancelled and River
// retries them later), and the store is closed.
func (a *App) Run(ctx context.Context) error {
	defer a.Close()
	if err := a.Listen(); err != nil {
		return err
	}
	// River runs on its own context: cancelling ctx must not cancel the
	// running jobs before the soft stop below. The api role only enqueues.
	works := a.cfg.Role != config.RoleAPI
	if works {
		if s, ok := a.jobs.(subscriber); ok {
			events, stop := s.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
				river.EventKindJobSnoozed, river.EventKindJobCancelled)
			wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
			defer func() { wcancel(); stop() }()
			// The engine hears of its fetch jobs' ends: see FetchEnded.
			go watchJobs(wctx, events, func(ev *river.Event) { a.metrics.job(ev); a.eng.JobEvent(wctx, ev) })
		}
		if err := a.jobs.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("start jobs: %w", err)
		}
		// The woken pump fans out this process's writes at once, and on
		// PostgreSQL those of the other processes, whose commits notify the
		// listener; both stop after the River client, before the store
		// closes.
		pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
		var pump sync.WaitGroup
		pump.Go(func() { a.delivery.RunWoken(pctx) })
		if l, ok := a.store.Store.(outboxListener); ok {
			pump.Go(func() { l.ListenOutbox(pctx, a.delivery.Wake) })
		}
		defer func() { pcancel(); pump.Wait() }()
		a.started.Store(true)
	}
	serveErr := make(chan error, 1)
	if a.ln != nil {
		a.srv = &http.Server{Handler: a.metrics.instrument(a.mux, routeNamer(a.mux, a.apiRoutes)), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
		go func() { serveErr <- a.srv.Serve(a.ln) }()
		a.log.Info("wearlink serving", "url", a.URL(), "role", a.cfg.Role, "store", a.store.Kind, "location", a.store.Location)
		if a.cfg.WebhooksEnabled() {
			// The server listens now, so Oura's verification call of each
			// new subscription can be answered.
			if err := a.eng.EnqueueSubscriptions(ctx); err != nil {
				a.log.Warn("webhook subscriptions not enqueued", "err", err)
			}
		} else if a.cfg.Role != config.RoleWorker {
			a.log.Info("Oura webhook subscriptions not managed (needs client id and secret, webhook token and manage-webhooks)")
		}
	} else {
		a.log.Info("wearlink working", "role", a.cfg.Role, "store", a.store.Kind, "location", a.store.Location)
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	a.log.Info("wearlink stopping")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if a.srv != nil {
		if serr := a.srv.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
	}
	if !works {
		return err
	}
	a.started.Store(false)
	if jerr := a.jobs.Stop(sctx); jerr != nil {
		a.log.Warn("jobs did not stop in time, cancelling them", "err", jerr)
		cctx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.jobs.StopAndCancel(cctx)
		c2()
	}
	return err
}

// Close releases the store, the destinations' connections and the data
// directory lock.
func (a *App) Close() error {
	var errs []error
	if a.delivery != nil {
		errs = append(errs, a.delivery.Close())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
		a.store = nil
	}
	if a.lock != nil {
		errs = append(errs, a.lock.Close())
		a.lock = nil
	}
	a.stopSimulator()
	return errors.Join(errs...)
}

// lockName is the lock file of the process that works a SQLite database's
// jobs.
const lockName = "worker.lock"

func lockDir(dir string) (io.Closer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	l, err := lockFile(filepath.Join(dir, lockName))
	if err != nil {
		if strings.Contains(err.Error(), "locked") {
			return nil, fmt.Errorf("another wearlink process works the jobs of %s (on SQLite only one may; run more with --role api, or use PostgreSQL)", dir)
		}
		return nil, err
	}
	return l, nil
}
