package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/provider"
)

// subscriptionsWorker runs SubscriptionsArgs.
type subscriptionsWorker struct {
	river.WorkerDefaults[SubscriptionsArgs]
	e *Engine
}

func (w *subscriptionsWorker) Timeout(*river.Job[SubscriptionsArgs]) time.Duration {
	return 5 * time.Minute
}

func (w *subscriptionsWorker) Work(ctx context.Context, job *river.Job[SubscriptionsArgs]) error {
	_, err := w.e.EnsureSubscriptions(ctx, job.Args.DataSource, job.Args.CallbackURL)
	if provider.KindOf(err) == provider.KindRateLimited && provider.RetryAfter(err) > 0 {
		return river.JobSnooze(provider.RetryAfter(err))
	}
	// Anything else (the callback not reachable yet, bad credentials) is
	// retried with backoff and logged by River.
	return err
}

// EnsureSubscriptions makes the app-level notification subscriptions of
// a provider (every provider that has them when dataSource is "") point
// at callbackURL and keeps them from expiring. A provider checks a new
// subscription by calling the callback, so the HTTP server must be
// listening.
func (e *Engine) EnsureSubscriptions(ctx context.Context, dataSource, callbackURL string) (provider.SubscribeReport, error) {
	var total provider.SubscribeReport
	for _, p := range e.cfg.Providers.All() {
		info := p.Info()
		sub, ok := p.(provider.Subscriber)
		if !ok || (dataSource != "" && info.DataSource != dataSource) {
			continue
		}
		rep, err := sub.Subscribe(ctx, callbackURL)
		total.Created += rep.Created
		total.Renewed += rep.Renewed
		total.Existing += rep.Existing
		if err != nil {
			return total, fmt.Errorf("%s subscriptions: %w", info.Name, err)
		}
		if rep.Created+rep.Renewed > 0 {
			e.log.InfoContext(ctx, "notification subscriptions", "data_source", info.DataSource, "callback_url", callbackURL,
				"created", rep.Created, "renewed", rep.Renewed, "existing", rep.Existing)
		}
	}
	return total, nil
}

// EnqueueSubscriptions asks a worker to run EnsureSubscriptions for the
// configured callback; the API process calls it once it listens.
func (e *Engine) EnqueueSubscriptions(ctx context.Context) error {
	jobs, err := e.inserter()
	if err != nil {
		return err
	}
	if e.cfg.CallbackURL == "" {
		return errors.New("no callback URL configured")
	}
	_, err = jobs.Insert(ctx, SubscriptionsArgs{CallbackURL: e.cfg.CallbackURL}, nil)
	return err
}
