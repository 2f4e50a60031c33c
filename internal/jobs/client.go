package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// Setup is what a service asks of the client besides its workers.
type Setup struct {
	Queues       map[string]river.QueueConfig
	PeriodicJobs []*river.PeriodicJob
}

// Registrar adds one service's workers to w and returns its setup.
type Registrar func(w *river.Workers) Setup

// Config configures NewClient.
type Config struct {
	// Services register their workers, in order.
	Services []Registrar
	// Work runs the queues and the periodic jobs; false builds an
	// insert-only client (wearlink link, the API role).
	Work bool
	// Logger for River itself (default: discard).
	Logger *slog.Logger
	// FetchPollInterval is how often idle queues look for jobs inserted by
	// other processes (default 1 s; River's minimum is 1 ms).
	FetchPollInterval time.Duration
	// TestOnly shortens River's start-up jitter.
	TestOnly bool
}

// NewClient builds the client. Every service's workers are registered even
// on an insert-only client, so River checks the kinds inserted.
func NewClient[TTx any](driver riverdriver.Driver[TTx], cfg Config) (*river.Client[TTx], error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	workers := river.NewWorkers()
	rc := &river.Config{
		Workers:     workers,
		Logger:      logger,
		RetryPolicy: Backoff{},
		// Jobs that need longer say so with Timeout.
		JobTimeout: 2 * time.Minute,
		// A process that died mid-job leaves it running; after this long
		// another process takes it over (on SQLite RescueOrphanedSQLite does
		// it at start).
		RescueStuckJobsAfter: 15 * time.Minute,
		FetchPollInterval:    cfg.FetchPollInterval,
		TestOnly:             cfg.TestOnly,
		Middleware:           []rivertype.Middleware{&soonAvailable{}},
	}
	if cfg.Work {
		rc.Queues = map[string]river.QueueConfig{}
	}
	// On PostgreSQL River notifies an insert into a queue at most once per
	// client FetchCooldown and drops the notifications in between: a job
	// inserted within that time of the last notified one waits for the
	// workers' poll, in every process. So the client's cooldown is the
	// shortest a queue asks for (an insert-only client too, for the queues
	// it inserts into), and queues that ask for none keep River's default.
	cooldown := river.FetchCooldownDefault
	for _, reg := range cfg.Services {
		s := reg(workers)
		for _, q := range s.Queues {
			if q.FetchCooldown > 0 {
				cooldown = min(cooldown, q.FetchCooldown)
			}
		}
		if !cfg.Work {
			continue
		}
		for name, q := range s.Queues {
			if _, dup := rc.Queues[name]; dup {
				return nil, fmt.Errorf("river client: queue %q registered twice", name)
			}
			if q.FetchCooldown == 0 {
				q.FetchCooldown = river.FetchCooldownDefault
			}
			rc.Queues[name] = q
		}
		rc.PeriodicJobs = append(rc.PeriodicJobs, s.PeriodicJobs...)
	}
	if cfg.FetchPollInterval > 0 {
		cooldown = min(cooldown, cfg.FetchPollInterval) // River wants no more
	}
	rc.FetchCooldown = cooldown
	c, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return c, nil
}

// schedulerInterval is how often River's scheduler makes scheduled jobs
// available (its default, which the client does not change).
const schedulerInterval = 5 * time.Second

// soonAvailable queues a job whose ScheduledAt is less than the scheduler's
// interval ahead as available, with its time still ahead, as River does
// with a short snooze: the queue's fetch leaves it until that time and
// takes it at its next poll after. Queued as scheduled, it would wait for
// the scheduler's next run, up to 5 s late.
type soonAvailable struct{ river.MiddlewareDefaults }

func (*soonAvailable) InsertMany(ctx context.Context, many []*rivertype.JobInsertParams,
	doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	// River's clock: the wall clock, as for its snoozes.
	now := time.Now()
	for _, p := range many {
		if p.State == rivertype.JobStateScheduled && p.ScheduledAt != nil && p.ScheduledAt.Sub(now) < schedulerInterval {
			p.State = rivertype.JobStateAvailable
		}
	}
	return doInner(ctx)
}

// Backoff is the retry policy of every job without its own: 2^attempt
// seconds (at most 2^11, 34 minutes), sooner than River's default
// (attempt^4 seconds) because most failures are a provider's 5xx and
// network errors that pass in seconds, and the clients have already
// retried each request.
type Backoff struct {
	// Now is the clock River compares the retry time against (default
	// time.Now, River's own unless its Test.Time is set).
	Now func() time.Time
}

// NextRetry implements river.ClientRetryPolicy.
func (b Backoff) NextRetry(job *rivertype.JobRow) time.Time {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	n := min(max(job.Attempt, 1), 11)
	return RetryAt(job, now(), time.Duration(1<<n)*time.Second)
}

// RetryAt is d after the later of the attempt's start and now. River
// rejects a retry time before its current time and falls back to its
// default policy, so an attempt that ran longer than d must not count from
// its start; and on PostgreSQL the start is the database's clock, not now's.
func RetryAt(job *rivertype.JobRow, now time.Time, d time.Duration) time.Time {
	from := AttemptStart(job)
	if now.After(from) {
		from = now
	}
	return from.Add(d)
}

// AttemptStart is when the job's current attempt began; a job that never
// ran counts from its creation.
func AttemptStart(job *rivertype.JobRow) time.Time {
	if job.AttemptedAt != nil {
		return *job.AttemptedAt
	}
	return job.CreatedAt
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
