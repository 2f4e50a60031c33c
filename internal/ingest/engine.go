// Package ingest keeps wearlink's copy of every linked account current,
// whatever its provider: a resumable backfill when a user links, a fetch
// when the provider's notifications announce new data, and polling as a
// safety net within a request budget. It reads providers only through the
// seam (internal/provider). Everything runs as River jobs on wearlink's
// own database, so work survives restarts and, on PostgreSQL, spreads over
// several processes.
//
// Jobs and queues (see jobs.go; jobs queued by earlier versions under
// their old names still run):
//
//	backfill  ingest_backfill       one per (connection, collection, 30-day window)
//	fetch     ingest_fetch          one per connection while pending: a sync's
//	                                notifications coalesce into it, and it
//	                                normalizes what they changed once
//	          ingest_delete         one per (connection, collection, id) while pending:
//	                                a document the provider deleted (delete.go)
//	poll      ingest_poll           per connection: reconciliation and time series
//	          ingest_poll_due       periodic: finds connections with a poll due
//	          ingest_subscriptions  creates missing and renews app-level subscriptions
//	          ingest_probe          per paused connection: one read, at most every
//	                                PauseProbe, that resumes it (membership.go)
//	backfill  ingest_resync         one per (connection, collection, window) the
//	                                API asks to read again
//
// After raw documents are stored, the days they changed are normalized
// again (normalize.go) and the health documents written with their outbox
// records.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// Events receives the lifecycle events the sync engine produces. The
// delivery work implements it to notify the client's notification webhook.
type Events interface {
	// ExtractionFailed reports that data of a connection can no longer be
	// fetched; reason is short and stable ("token", "scope",
	// "subscription_required", "app_update_required").
	ExtractionFailed(ctx context.Context, conn store.Connection, reason string, err error)
}

// NopEvents drops every event.
type NopEvents struct{}

// ExtractionFailed implements Events.
func (NopEvents) ExtractionFailed(context.Context, store.Connection, string, error) {}

// Config builds an Engine. Store and Providers are required; zero values
// get the defaults noted.
type Config struct {
	Store store.Store
	// Providers are the providers served (internal/provider/all builds
	// them); the engine reads each connection through its own.
	Providers *provider.Registry
	// Refreshers refresh expired tokens, by data source. A data source
	// without one uses its tokens as stored, and an expired one needs a
	// new link.
	Refreshers map[string]provider.Refresher
	// CallbackURL is where providers with app-level subscriptions are told
	// to post notifications.
	CallbackURL string
	// PublicBase is where providers reach this server (http://host:port,
	// no trailing slash); with URLTokens it makes the callback URLs of
	// providers subscribed per user: PublicBase/webhooks/{data
	// source}/{token}.
	PublicBase string
	// URLTokens gives a purpose's URL tokens, the current one first
	// (secret.Sealer.Tokens); nil: per-user subscriptions are not made and
	// their notifications are refused.
	URLTokens func(purpose string) []string
	// OnIgnoredNotification, when set, hears of each notification of a
	// type wearlink reads nothing for, by data source and type (at most
	// 64 types, then "other"), for the metrics.
	OnIgnoredNotification func(dataSource, typ string)
	Logger                *slog.Logger
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Events Events
	// OutboxWritten, when set, is called after health documents were
	// written, and with them their outbox records, once the transaction
	// committed. The composition root passes the delivery pump's wake, so
	// that fan-out follows the write at once instead of on its timer. It
	// must not block.
	OutboxWritten func()

	// SingleWriter says that no other process normalizes this database's
	// documents (SQLite, where one wearlink serve works the jobs). It skips
	// the second read of raw documents that guards against another process
	// storing and normalizing the same days at the same time.
	SingleWriter bool

	// BackfillDays is the history pulled for a new connection (default
	// 90); BackfillAll pulls everything since the first ring was set up.
	BackfillDays int
	BackfillAll  bool
	// WindowDays is the span of one backfill job (default 30).
	WindowDays int

	// FetchSettle is how long after the first notification a webhook
	// fetch reads the provider, so that the notifications of one sync
	// (several per collection) land in one request (default 200 ms). The
	// job snoozes meanwhile (no worker waits), and the fetch queue looks
	// for jobs whose wait ended as often.
	FetchSettle time.Duration
	// ReconcileHealthy and ReconcileSilent are how long a collection may go
	// without a read while the connection's webhooks arrive (default 14
	// days) and while they are silent (default 6 h); SilentAfter is the
	// quiet time after which webhooks count as silent (default 36 h).
	ReconcileHealthy time.Duration
	ReconcileSilent  time.Duration
	SilentAfter      time.Duration
	// GapGrace is how long after a sync a collection that comes with every
	// sync may stay missing before it is read on its own (default 2 h; see
	// gap in poll.go).
	GapGrace time.Duration
	// PollCheck is how often the periodic job looks for due polls (default
	// 15 min); SubscriptionCheck how often subscriptions are renewed
	// (default 24 h).
	PollCheck         time.Duration
	SubscriptionCheck time.Duration
	// PauseProbe is how long a paused connection (a lapsed membership, an
	// app too old: store.Paused) waits between probes, each one cheap
	// read (default 24 h). The periodic poll check enqueues them.
	PauseProbe time.Duration

	// Workers per queue (defaults 4, 32, 2). A fetch holds its worker
	// only for one small read (it settles snoozed), and the reads of a
	// sync's burst, run together, share their normalizations, so fewer
	// versions of each document are written and delivered.
	BackfillWorkers int
	FetchWorkers    int
	PollWorkers     int
}

func (c *Config) fill() error {
	if c.Store == nil || c.Providers == nil {
		return errors.New("ingest: Config.Store and Config.Providers are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Events == nil {
		c.Events = NopEvents{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	defInt(&c.BackfillDays, 90)
	defInt(&c.WindowDays, 30)
	def(&c.FetchSettle, 100*time.Millisecond)
	def(&c.ReconcileHealthy, 14*24*time.Hour)
	def(&c.ReconcileSilent, 6*time.Hour)
	def(&c.SilentAfter, 36*time.Hour)
	def(&c.GapGrace, 2*time.Hour)
	def(&c.PollCheck, 15*time.Minute)
	def(&c.SubscriptionCheck, 24*time.Hour)
	def(&c.PauseProbe, 24*time.Hour)
	defInt(&c.BackfillWorkers, 4)
	defInt(&c.FetchWorkers, 32)
	defInt(&c.PollWorkers, 2)
	return nil
}

// Inserter is the part of a River client the engine needs to enqueue jobs.
// Every *river.Client satisfies it, whatever its driver.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// Engine runs the sync jobs. Build it with New, register its workers with
// Jobs on the shared River client, and give it that client with Attach
// (AttachTx when it runs on the store's own database).
type Engine struct {
	cfg  Config
	st   store.Store
	log  *slog.Logger
	now  func() time.Time
	jobs Inserter
	// jobTx, set by AttachTx, runs a writing transaction shared by the
	// store and the job client.
	jobTx func(ctx context.Context, fn func(notifyTx) error) error
	// intake groups the commits of concurrent notifications.
	intake intake
	auths  authCache
	// ignoredTypes are the types of ignored notifications seen so far.
	ignoredTypes struct {
		mu   gosync.Mutex
		seen map[string]bool
	}

	// locks serialize normalization per connection within the process;
	// batches collect the calls waiting for the next normalization.
	lockMu  gosync.Mutex
	locks   map[int64]*connLock
	batches map[int64]*normBatch
}

type connLock struct {
	mu   gosync.Mutex
	refs int
}

// New builds an Engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, st: cfg.Store, log: cfg.Logger, now: cfg.Now, locks: map[int64]*connLock{}, batches: map[int64]*normBatch{}}
	e.auths.m = map[int64]*connAuth{}
	return e, nil
}

// Attach gives the engine the client it enqueues with.
func (e *Engine) Attach(jobs Inserter) { e.jobs = jobs }

// AttachTx is Attach for a client on the store's own database: begin
// runs one writing transaction of the store (the drivers' JobTx) and gives
// the client's transaction with it. A notification's cursors and fetch
// job then commit together, one commit instead of two on SQLite's single
// writer.
func AttachTx[TTx any](e *Engine, jobs *river.Client[TTx], begin func(ctx context.Context, fn func(tx TTx, w store.CursorWriter) error) error) {
	e.jobs = jobs
	e.jobTx = func(ctx context.Context, fn func(notifyTx) error) error {
		return begin(ctx, func(tx TTx, w store.CursorWriter) error {
			return fn(riverTx[TTx]{CursorWriter: w, c: jobs, tx: tx})
		})
	}
}

// notifyTx writes a notification: its cursors, then its jobs.
type notifyTx interface {
	store.CursorWriter
	Inserter
}

// riverTx inserts jobs in the transaction the cursors are written in.
type riverTx[TTx any] struct {
	store.CursorWriter
	c  *river.Client[TTx]
	tx TTx
}

func (t riverTx[TTx]) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return t.c.InsertTx(ctx, t.tx, args, opts)
}

func (t riverTx[TTx]) InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return t.c.InsertManyTx(ctx, t.tx, params)
}

// noTx writes one statement at a time, in order: for a client attached
// without the store's transactions.
type noTx struct {
	store.CursorWriter
	Inserter
}

func (e *Engine) inserter() (Inserter, error) {
	if e.jobs == nil {
		return nil, errors.New("ingest: engine has no job client (call Attach)")
	}
	return e.jobs, nil
}

// lockConn serializes work on one connection's health documents.
func (e *Engine) lockConn(id int64) func() {
	e.lockMu.Lock()
	l := e.locks[id]
	if l == nil {
		l = &connLock{}
		e.locks[id] = l
	}
	l.refs++
	e.lockMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		e.lockMu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(e.locks, id)
		}
		e.lockMu.Unlock()
	}
}

// activeConnection loads a connection and reports whether jobs should work
// on it.
func (e *Engine) activeConnection(ctx context.Context, id int64) (store.Connection, bool, error) {
	c, err := e.st.GetConnection(ctx, id)
	if err != nil {
		return c, false, fmt.Errorf("connection %d: %w", id, err)
	}
	return c, c.Status == store.StatusActive, nil
}

// jobConnection is activeConnection for a job: a connection that is gone
// cancels the job rather than failing it again and again.
func (e *Engine) jobConnection(ctx context.Context, id int64) (store.Connection, bool, error) {
	c, active, err := e.activeConnection(ctx, id)
	if health.ErrorCode(err) == health.ENOTFOUND {
		return c, false, river.JobCancel(err)
	}
	return c, active, err
}

// providerOf returns the provider that serves a connection.
func (e *Engine) providerOf(conn store.Connection) (provider.Provider, error) {
	p, ok := e.cfg.Providers.Lookup(conn.DataSource)
	if !ok {
		return nil, fmt.Errorf("connection %d: data source %q is not served by this process", conn.ID, conn.DataSource)
	}
	return p, nil
}

// applyHealth stores normalized health documents (and their outbox
// records, in the same transaction) and, when any was written, says so
// through OutboxWritten.
func (e *Engine) applyHealth(ctx context.Context, inputs []store.HealthInput) (store.HealthWrite, error) {
	hw, err := e.st.ApplyHealthDocuments(ctx, inputs)
	if err == nil && hw.Inserted+hw.Updated > 0 && e.cfg.OutboxWritten != nil {
		e.cfg.OutboxWritten()
	}
	return hw, err
}

// Providers is the registry the engine reads with.
func (e *Engine) Providers() *provider.Registry { return e.cfg.Providers }
