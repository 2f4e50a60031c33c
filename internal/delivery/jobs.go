package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/jobs"
)

// Queues. Deliveries have their own queues so that a slow receiver never
// holds up syncing, and the pump its own so that a backlog of deliveries
// never holds up the pump.
const (
	QueueDeliver = "delivery"
	QueueFanout  = "delivery_fanout"
)

// pendingStates make a job unique while it waits or runs.
var pendingStates = jobs.PendingStates

// DeliverArgs attempts one delivery when it is due; while the delivery
// stays pending the job snoozes until its next attempt.
type DeliverArgs struct {
	DeliveryID int64 `json:"delivery_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

// InsertOpts implements river.JobArgsWithInsertOpts. MaxAttempts counts
// failures of the job itself (database errors); failed POSTs snooze.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDeliver, MaxAttempts: 25,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// PumpArgs is the pump: one long-lived job that fans the outbox out and
// snoozes for FanoutInterval, over and over. Records this process writes
// do not wait for it (see wake.go).
type PumpArgs struct{}

// Kind implements river.JobArgs.
func (PumpArgs) Kind() string { return "webhook_pump" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (PumpArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFanout, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByState: pendingStates}}
}

// MaintainArgs prunes old deliveries and re-queues lost ones.
type MaintainArgs struct{}

// Kind implements river.JobArgs.
func (MaintainArgs) Kind() string { return "webhook_maintain" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (MaintainArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFanout, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: pendingStates}}
}

// RiverSetup is what the River client needs for delivery besides the
// workers: merge Queues into river.Config.Queues and append PeriodicJobs
// to river.Config.PeriodicJobs.
type RiverSetup struct {
	Queues       map[string]river.QueueConfig
	PeriodicJobs []*river.PeriodicJob
}

// deliverCooldown is the delivery queue's fetch cooldown. On PostgreSQL it
// is also the client's: River notifies other processes of an insert into a
// queue at most once per cooldown, and a job inserted sooner after the
// last notified one waits for their poll.
const deliverCooldown = 5 * time.Millisecond

// Register adds the delivery workers to w and returns the queues and
// periodic jobs to configure. The periodic jobs start the pump (and
// restart it within a minute should it ever be discarded) and run the
// maintenance.
func (s *Service) Register(w *river.Workers) RiverSetup {
	river.AddWorker(w, &deliverWorker{s: s})
	river.AddWorker(w, &pumpWorker{s: s})
	river.AddWorker(w, &maintainWorker{s: s})
	// River fetches at most once per cooldown, so MaxWorkers/cooldown caps
	// the deliveries per second: River's default of 100 ms would hold a
	// queue of 16 workers to 160/s.
	poll := s.cfg.FanoutInterval
	return RiverSetup{
		Queues: map[string]river.QueueConfig{
			QueueDeliver: {MaxWorkers: s.cfg.Workers, FetchPollInterval: poll, FetchCooldown: min(poll, deliverCooldown)},
			QueueFanout:  {MaxWorkers: 2, FetchPollInterval: poll, FetchCooldown: min(poll, 100*time.Millisecond)},
		},
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
				func() (river.JobArgs, *river.InsertOpts) { return PumpArgs{}, nil },
				&river.PeriodicJobOpts{ID: "webhook_pump", RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(s.cfg.MaintainInterval),
				func() (river.JobArgs, *river.InsertOpts) { return MaintainArgs{}, nil },
				&river.PeriodicJobOpts{ID: "webhook_maintain", RunOnStart: true}),
		},
	}
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

// Timeout leaves room for the database around the POST.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.s.cfg.Timeout + 30*time.Second
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	wait, again, err := w.s.work(ctx, job.Args.DeliveryID)
	if errors.Is(err, errAborted) {
		// Shutting down: due again at once, on the next start.
		return river.JobSnooze(0)
	}
	if err != nil {
		return err
	}
	if again {
		return river.JobSnooze(wait)
	}
	return nil
}

type pumpWorker struct {
	river.WorkerDefaults[PumpArgs]
	s *Service
}

func (w *pumpWorker) Timeout(*river.Job[PumpArgs]) time.Duration { return 10 * time.Minute }

// NextRetry retries a failed pass soon: the outbox must keep moving. The
// delay counts from now on the clock River compares against (the wall
// clock: River is not given the delivery clock, which tests and the demo
// move on their own), since a pass may run longer than the delay.
func (w *pumpWorker) NextRetry(job *river.Job[PumpArgs]) time.Time {
	return pumpRetry(job.JobRow, time.Now())
}

func pumpRetry(job *rivertype.JobRow, now time.Time) time.Time {
	return jobs.RetryAt(job, now, min(time.Duration(job.Attempt)*time.Second, 30*time.Second))
}

func (w *pumpWorker) Work(ctx context.Context, _ *river.Job[PumpArgs]) error {
	if err := w.s.pass(ctx); err != nil {
		if ctx.Err() != nil {
			return river.JobSnooze(0)
		}
		w.s.log.Warn("webhook pump", "err", err)
		return err
	}
	return river.JobSnooze(w.s.cfg.FanoutInterval)
}

type maintainWorker struct {
	river.WorkerDefaults[MaintainArgs]
	s *Service
}

func (w *maintainWorker) Timeout(*river.Job[MaintainArgs]) time.Duration { return 10 * time.Minute }

func (w *maintainWorker) Work(ctx context.Context, _ *river.Job[MaintainArgs]) error {
	return w.s.maintain(ctx)
}
