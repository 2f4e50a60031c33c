package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// ClientOptions tune the River client NewClient builds.
type ClientOptions struct {
	// Work runs the queues and the periodic jobs; false builds an
	// insert-only client (wearlink link, the API role).
	Work bool
	// Subscriptions adds the periodic renewal of providers' app-level webhook
	// subscriptions (needs the engine's callback URL and credentials).
	Subscriptions bool
	// Logger for River itself (default: the engine's, at warn and above).
	Logger *slog.Logger
	// FetchPollInterval is how often idle queues look for jobs inserted by
	// other processes (default 1 s; River's minimum is 1 ms).
	FetchPollInterval time.Duration
	// TestOnly shortens River's start-up jitter.
	TestOnly bool
	// Extra registers the workers of other packages sharing the client
	// (delivery) and returns their queues and periodic jobs.
	Extra []func(*river.Workers) (map[string]river.QueueConfig, []*river.PeriodicJob)
}

// Workers returns the engine's River workers.
func (e *Engine) Workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &backfillWorker{e: e})
	river.AddWorker(w, &fetchWorker{e: e})
	river.AddWorker(w, &pollWorker{e: e})
	river.AddWorker(w, &pollDueWorker{e: e})
	river.AddWorker(w, &subscriptionsWorker{e: e})
	river.AddWorker(w, &resyncWorker{e: e})
	return w
}

// NewClient builds the River client of the engine on any River driver
// (riversqlite on the SQLite writer, riverpgxv5 on the PostgreSQL pool) and
// attaches it to the engine.
func NewClient[TTx any](driver riverdriver.Driver[TTx], e *Engine, opts ClientOptions) (*river.Client[TTx], error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(minLevel{e.log.Handler(), slog.LevelWarn})
	}
	workers := e.Workers()
	cfg := &river.Config{
		Workers:     workers,
		Logger:      logger,
		RetryPolicy: retryPolicy{},
		// Jobs that need longer say so with Timeout.
		JobTimeout: 2 * time.Minute,
		// A process that died mid-job leaves it running; after this long
		// another process takes it over (on SQLite RescueOrphanedSQLite does
		// it at start).
		RescueStuckJobsAfter: 15 * time.Minute,
		FetchPollInterval:    opts.FetchPollInterval,
		TestOnly:             opts.TestOnly,
	}
	if opts.Work {
		cfg.Queues = map[string]river.QueueConfig{
			QueueBackfill: {MaxWorkers: e.cfg.BackfillWorkers},
			QueueFetch:    {MaxWorkers: e.cfg.FetchWorkers},
			QueuePoll:     {MaxWorkers: e.cfg.PollWorkers},
		}
		cfg.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(e.cfg.PollCheck),
				func() (river.JobArgs, *river.InsertOpts) { return PollDueArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		}
		if opts.Subscriptions && e.cfg.CallbackURL != "" {
			cb := e.cfg.CallbackURL
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(e.cfg.SubscriptionCheck),
				func() (river.JobArgs, *river.InsertOpts) { return SubscriptionsArgs{CallbackURL: cb}, nil }, nil))
		}
	}
	for _, reg := range opts.Extra {
		queues, periodic := reg(workers)
		if opts.Work {
			for name, q := range queues {
				cfg.Queues[name] = q
			}
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, periodic...)
		}
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	e.Attach(c)
	return c, nil
}

// RescueOrphanedSQLite makes jobs left running by a process that died
// available again. River's own rescuer waits RescueStuckJobsAfter (minutes)
// because on PostgreSQL another live process may be working them; on
// SQLite one process works the queues (the caller holds the data
// directory's lock), so every running job at start is an orphan.
func RescueOrphanedSQLite(ctx context.Context, db *sql.DB) (int64, error) {
	res, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("rescue orphaned jobs: %w", err)
	}
	return res.RowsAffected()
}

// minLevel drops records below a level, to keep River's routine logs out
// of wearlink's.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(a), m.min}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{m.Handler.WithGroup(name), m.min}
}
