package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/provider"
)

// Queues.
const (
	QueueBackfill = "backfill"
	QueueFetch    = "fetch"
	QueuePoll     = "poll"
)

// pendingStates make a job unique while it waits or runs.
var pendingStates = jobs.PendingStates

// BackfillArgs fetches one collection's local days From..To (inclusive) of
// a connection. Link inserts one per collection and window; completion is
// recorded in the connection's cursors so that a window whose job is run
// again (after a crash between storing and completing) is skipped.
type BackfillArgs struct {
	ConnectionID int64  `json:"connection_id" river:"unique"`
	Collection   string `json:"collection" river:"unique"`
	From         string `json:"from" river:"unique"`
	To           string `json:"to" river:"unique"`
}

// Kind implements river.JobArgs.
func (BackfillArgs) Kind() string { return "ingest_backfill" }

// KindAliases implements river.JobArgsWithKindAliases: jobs queued by
// earlier versions under the old name still run.
func (BackfillArgs) KindAliases() []string { return []string{"oura_backfill"} }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (BackfillArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueBackfill, MaxAttempts: 20,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// FetchArgs reads the recent days of the collections a connection's
// notifications named, and normalizes what they changed once. It is
// unique per connection while it waits or runs, so the notifications of
// a sync coalesce into it; notifications that arrive after its reads
// started make it read once more (see fetch.go).
type FetchArgs struct {
	ConnectionID int64 `json:"connection_id" river:"unique"`
	// Collection is the collection of the notification that queued the
	// job; the job reads every collection notified since its last read.
	// Jobs queued by earlier versions, unique per collection, read theirs.
	Collection string `json:"collection,omitempty"`
}

// Kind implements river.JobArgs.
func (FetchArgs) Kind() string { return "ingest_fetch" }

// KindAliases implements river.JobArgsWithKindAliases: jobs queued by
// earlier versions under the old name still run.
func (FetchArgs) KindAliases() []string { return []string{"oura_fetch"} }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (FetchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFetch, MaxAttempts: 20,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// PollArgs runs whatever polling is due for one connection: reconciliation
// of collections not read for a while, heart rate, battery, personal info.
// All reads every collection from where it stopped (a catch-up after the
// connection was re-linked).
type PollArgs struct {
	ConnectionID int64 `json:"connection_id" river:"unique"`
	All          bool  `json:"all,omitempty" river:"unique"`
}

// Kind implements river.JobArgs.
func (PollArgs) Kind() string { return "ingest_poll" }

// KindAliases implements river.JobArgsWithKindAliases: jobs queued by
// earlier versions under the old name still run.
func (PollArgs) KindAliases() []string { return []string{"oura_poll"} }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePoll, MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// PollDueArgs is the periodic job that finds connections with a poll due.
type PollDueArgs struct{}

// Kind implements river.JobArgs.
func (PollDueArgs) Kind() string { return "ingest_poll_due" }

// KindAliases implements river.JobArgsWithKindAliases: jobs queued by
// earlier versions under the old name still run.
func (PollDueArgs) KindAliases() []string { return []string{"oura_poll_due"} }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (PollDueArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePoll, MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{ByState: pendingStates}}
}

// ProbeArgs makes one cheap read for a paused connection (see
// membership.go) and resumes it when the read succeeds.
type ProbeArgs struct {
	ConnectionID int64 `json:"connection_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (ProbeArgs) Kind() string { return "ingest_probe" }

// InsertOpts implements river.JobArgsWithInsertOpts. One attempt: a probe
// that fails is made again PauseProbe later, never in a retry loop.
func (ProbeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePoll, MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// SubscriptionsArgs creates the missing notification subscriptions of a
// provider (of every provider that has them when DataSource is empty, as
// in the jobs of earlier versions) for CallbackURL and renews those about
// to expire.
type SubscriptionsArgs struct {
	CallbackURL string `json:"callback_url" river:"unique"`
	DataSource  string `json:"data_source,omitempty" river:"unique"`
}

// Kind implements river.JobArgs.
func (SubscriptionsArgs) Kind() string { return "ingest_subscriptions" }

// KindAliases implements river.JobArgsWithKindAliases: jobs queued by
// earlier versions under the old name still run.
func (SubscriptionsArgs) KindAliases() []string { return []string{"oura_webhooks"} }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SubscriptionsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePoll, MaxAttempts: 25,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// jobError turns a failed provider call into what River should do with the
// job: wait for Retry-After without spending an attempt (rate limited),
// stop for good (re-authorization needed, the connection paused, a request
// the provider will never accept), or retry with backoff (5xx, network,
// anything else).
func (e *Engine) jobError(ctx context.Context, connID int64, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errReauth) {
		return river.JobCancel(err)
	}
	if ctx.Err() != nil {
		return err
	}
	switch provider.KindOf(err) {
	case provider.KindRateLimited:
		wait := provider.RetryAfter(err)
		if wait <= 0 {
			wait = 5 * time.Second
		}
		// The tier tells one user's spent budget (the others' jobs go
		// on) from the application's (everyone waits).
		e.log.InfoContext(ctx, "provider rate limit: job snoozed", "connection", connID, "job", what, "retry_after", wait,
			"tier", provider.RateLimitTier(err))
		return river.JobSnooze(wait)
	case provider.KindInvalidToken:
		return river.JobCancel(e.reauth(ctx, connID, "token", err))
	case provider.KindForbidden, provider.KindUpgradeRequired:
		// A lapsed membership or an app too old: nothing to fetch until the
		// user acts at the provider. The connection pauses; a retry would
		// only be refused again.
		return river.JobCancel(e.pause(ctx, connID, what, err))
	case provider.KindInvalidRequest:
		return river.JobCancel(fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}
