package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/jobs"
)

// JobOptions say which of the engine's periodic jobs run.
type JobOptions struct {
	// Subscriptions adds the periodic renewal of providers' app-level webhook
	// subscriptions (needs the engine's callback URL and credentials).
	Subscriptions bool
}

// Jobs registers the engine's River workers and returns its queues and
// periodic jobs; the composition root builds the shared client
// (internal/jobs) and gives it to the engine with Attach.
func (e *Engine) Jobs(opts JobOptions) jobs.Registrar {
	return func(w *river.Workers) jobs.Setup {
		river.AddWorker(w, &backfillWorker{e: e})
		river.AddWorker(w, &fetchWorker{e: e})
		river.AddWorker(w, &deleteWorker{e: e})
		river.AddWorker(w, &pollWorker{e: e})
		river.AddWorker(w, &pollDueWorker{e: e})
		river.AddWorker(w, &subscriptionsWorker{e: e})
		river.AddWorker(w, &userSubscribeWorker{e: e})
		river.AddWorker(w, &resyncWorker{e: e})
		river.AddWorker(w, &probeWorker{e: e})
		s := jobs.Setup{
			Queues: map[string]river.QueueConfig{
				QueueBackfill: {MaxWorkers: e.cfg.BackfillWorkers},
				// A fetch whose settle time ended is taken at the queue's
				// next look (it is queued available with its time ahead,
				// see jobs.soonAvailable): it looks four times per settle
				// time, so a sync waits at most a quarter more.
				QueueFetch: {MaxWorkers: e.cfg.FetchWorkers, FetchPollInterval: max(e.cfg.FetchSettle/4, 10*time.Millisecond),
					FetchCooldown: 10 * time.Millisecond},
				QueuePoll: {MaxWorkers: e.cfg.PollWorkers},
			},
			PeriodicJobs: []*river.PeriodicJob{
				river.NewPeriodicJob(river.PeriodicInterval(e.cfg.PollCheck),
					func() (river.JobArgs, *river.InsertOpts) { return PollDueArgs{}, nil },
					&river.PeriodicJobOpts{RunOnStart: true}),
			},
		}
		if opts.Subscriptions && e.cfg.CallbackURL != "" {
			cb := e.cfg.CallbackURL
			s.PeriodicJobs = append(s.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(e.cfg.SubscriptionCheck),
				func() (river.JobArgs, *river.InsertOpts) { return SubscriptionsArgs{CallbackURL: cb}, nil }, nil))
		}
		return s
	}
}

// RiverLogger is the logger to give River for the engine: the engine's,
// at warn and above, to keep River's routine logs out of wearlink's.
func (e *Engine) RiverLogger() *slog.Logger {
	return slog.New(minLevel{e.log.Handler(), slog.LevelWarn})
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
