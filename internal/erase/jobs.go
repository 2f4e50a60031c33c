package erase

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/jobs"
)

// QueueErase is the erasures' and retention's queue, apart from syncing
// and delivery.
const QueueErase = "erase"

// EraseArgs runs one erasure. The args name no user: a job row outlives
// the erasure.
type EraseArgs struct {
	ErasureID  string `json:"erasure_id" river:"unique"`
	ClientUUID string `json:"client_uuid"`
}

// Kind implements river.JobArgs.
func (EraseArgs) Kind() string { return "user_erase" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (EraseArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueErase, MaxAttempts: 25,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: jobs.PendingStates}}
}

// ResumeArgs queues the running erasures' jobs again.
type ResumeArgs struct{}

// Kind implements river.JobArgs.
func (ResumeArgs) Kind() string { return "user_erase_resume" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ResumeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueErase, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: jobs.PendingStates}}
}

// RetentionArgs applies the clients' retention settings.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "retention_purge" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (RetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueErase, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: jobs.PendingStates}}
}

// Register adds the workers to w and returns the queue and the periodic
// jobs to configure: resuming erasures and retention, both at start.
func (s *Service) Register(w *river.Workers) (map[string]river.QueueConfig, []*river.PeriodicJob) {
	river.AddWorker(w, &eraseWorker{s: s})
	river.AddWorker(w, &resumeWorker{s: s})
	river.AddWorker(w, &retentionWorker{s: s})
	return map[string]river.QueueConfig{QueueErase: {MaxWorkers: 2}},
		[]*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(5*time.Minute),
				func() (river.JobArgs, *river.InsertOpts) { return ResumeArgs{}, nil },
				&river.PeriodicJobOpts{ID: "user_erase_resume", RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(s.cfg.RetentionInterval),
				func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
				&river.PeriodicJobOpts{ID: "retention_purge", RunOnStart: true}),
		}
}

type eraseWorker struct {
	river.WorkerDefaults[EraseArgs]
	s *Service
}

// Timeout: an erasure runs as long as its batches take; each batch is
// its own transaction, so stopping anywhere is safe.
func (w *eraseWorker) Timeout(*river.Job[EraseArgs]) time.Duration { return 24 * time.Hour }

func (w *eraseWorker) Work(ctx context.Context, job *river.Job[EraseArgs]) error {
	_, err := w.s.Run(ctx, job.Args.ClientUUID, job.Args.ErasureID)
	if err != nil && errors.Is(err, context.Canceled) {
		// Shutting down: due again at once, on the next start.
		return river.JobSnooze(0)
	}
	return err
}

type resumeWorker struct {
	river.WorkerDefaults[ResumeArgs]
	s *Service
}

func (w *resumeWorker) Work(ctx context.Context, _ *river.Job[ResumeArgs]) error {
	return w.s.Resume(ctx)
}

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	s *Service
}

func (w *retentionWorker) Timeout(*river.Job[RetentionArgs]) time.Duration { return time.Hour }

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	_, err := w.s.PurgeRetention(ctx)
	return err
}
