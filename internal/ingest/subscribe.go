package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/provider/oura"
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
	_, err := w.e.EnsureSubscriptions(ctx, job.Args.CallbackURL)
	var oe *oura.Error
	if errors.As(err, &oe) && oe.Kind == oura.KindRateLimited && oe.RetryAfter > 0 {
		return river.JobSnooze(oe.RetryAfter)
	}
	// Anything else (the callback not reachable yet, bad credentials) is
	// retried with backoff and logged by River.
	return err
}

// webhookDataTypes are the data types wearlink subscribes to: every
// ExtApiV2DataType with a collection to read ("meal" has none in the API
// version wearlink speaks).
func webhookDataTypes() []oura.DataType {
	var out []oura.DataType
	for _, dt := range oura.WebhookDataTypes() {
		if _, ok := oura.LookupCollection(string(dt)); ok {
			out = append(out, dt)
		}
	}
	return out
}

// SubscriptionReport says what EnsureSubscriptions did.
type SubscriptionReport struct {
	Existing, Created, Renewed int
}

// EnsureSubscriptions creates the missing subscriptions of callbackURL, one
// per event type and data type, and renews those expiring within
// RenewBefore. Oura verifies a new subscription by calling the callback,
// so the HTTP server must be listening.
func (e *Engine) EnsureSubscriptions(ctx context.Context, callbackURL string) (SubscriptionReport, error) {
	var rep SubscriptionReport
	if e.cfg.ClientID == "" || e.cfg.ClientSecret == "" || e.cfg.VerificationToken == "" || callbackURL == "" {
		return rep, errors.New("webhook subscriptions need the Oura client id and secret, a verification token and a callback URL")
	}
	hooks := e.cfg.Oura.Webhooks(e.cfg.ClientID, e.cfg.ClientSecret)
	subs, err := hooks.List(ctx)
	if err != nil {
		return rep, fmt.Errorf("list subscriptions: %w", err)
	}
	type key struct {
		ev oura.WebhookOperation
		dt oura.DataType
	}
	have := map[key]oura.WebhookSubscription{}
	for _, s := range subs {
		if s.CallbackURL == callbackURL {
			have[key{s.EventType, s.DataType}] = s
		}
	}
	now := e.now()
	for _, ev := range []oura.WebhookOperation{oura.WebhookCreate, oura.WebhookUpdate, oura.WebhookDelete} {
		for _, dt := range webhookDataTypes() {
			s, ok := have[key{ev, dt}]
			if !ok {
				_, err := hooks.Create(ctx, oura.CreateWebhookSubscription{CallbackURL: callbackURL, VerificationToken: e.cfg.VerificationToken, EventType: ev, DataType: dt})
				var oe *oura.Error
				if errors.As(err, &oe) && oe.StatusCode == 409 {
					rep.Existing++ // created meanwhile by another process
					continue
				}
				if err != nil {
					return rep, fmt.Errorf("create subscription %s %s: %w", ev, dt, err)
				}
				rep.Created++
				continue
			}
			exp, err := s.ExpirationTime.Time()
			if err == nil && exp.Sub(now) > e.cfg.RenewBefore {
				rep.Existing++
				continue
			}
			if _, err := hooks.Renew(ctx, s.ID); err != nil {
				return rep, fmt.Errorf("renew subscription %s: %w", s.ID, err)
			}
			rep.Renewed++
		}
	}
	if rep.Created+rep.Renewed > 0 {
		e.log.InfoContext(ctx, "oura webhook subscriptions", "callback_url", callbackURL, "created", rep.Created, "renewed", rep.Renewed, "existing", rep.Existing)
	}
	return rep, nil
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
