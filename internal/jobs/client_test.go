package jobs

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite"
)

func TestBackoff(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	created := start.Add(-time.Hour)
	for _, tc := range []struct {
		attempt   int
		attempted bool
		want      time.Time
	}{
		{0, false, created.Add(2 * time.Second)},
		{1, true, start.Add(2 * time.Second)},
		{2, true, start.Add(4 * time.Second)},
		{10, true, start.Add(1024 * time.Second)},
		{11, true, start.Add(2048 * time.Second)},
		{25, true, start.Add(2048 * time.Second)},
	} {
		job := &rivertype.JobRow{Attempt: tc.attempt, CreatedAt: created}
		if tc.attempted {
			at := start
			job.AttemptedAt = &at
		}
		// The clock is behind the row's stamps: the time counts from them.
		b := Backoff{Now: func() time.Time { return created }}
		if got := b.NextRetry(job); !got.Equal(tc.want) {
			t.Errorf("attempt %d: retry at %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

// An attempt that ran longer than its backoff retries the backoff after
// now: a time before now makes River use its default policy instead.
func TestBackoffAfterALongAttempt(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		started time.Time
		want    time.Time
	}{
		{"ran an hour", now.Add(-time.Hour), now.Add(4 * time.Second)},
		{"ran a second", now.Add(-time.Second), now.Add(4 * time.Second)},
		// The database's clock may run ahead of this process's.
		{"started ahead of now", now.Add(time.Second), now.Add(5 * time.Second)},
	} {
		started := tc.started
		job := &rivertype.JobRow{Attempt: 2, CreatedAt: started.Add(-time.Hour), AttemptedAt: &started}
		got := Backoff{Now: func() time.Time { return now }}.NextRetry(job)
		if !got.Equal(tc.want) {
			t.Errorf("%s: retry at %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNewClientRefusesAQueueTwice(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := func(name string) Registrar {
		return func(*river.Workers) Setup {
			return Setup{Queues: map[string]river.QueueConfig{name: {MaxWorkers: 1}}}
		}
	}
	if _, err := NewClient(riversqlite.New(db), Config{Work: true, Services: []Registrar{reg("a"), reg("a")}}); err == nil {
		t.Fatal("two services registering one queue: no error")
	}
	// An insert-only client takes no queues, so it has nothing to refuse.
	if _, err := NewClient(riversqlite.New(db), Config{Services: []Registrar{reg("a"), reg("a")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(riversqlite.New(db), Config{Work: true, Services: []Registrar{reg("a"), reg("b")}}); err != nil {
		t.Fatal(err)
	}
}

type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "noop" }

// A job scheduled less than the scheduler's interval ahead waits as
// available, for the queue's poll; one scheduled further ahead waits as
// scheduled, for the scheduler.
func TestInsertSoonIsAvailable(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	driver := riversqlite.New(db)
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	reg := func(w *river.Workers) Setup {
		river.AddWorker(w, river.WorkFunc(func(context.Context, *river.Job[noopArgs]) error { return nil }))
		return Setup{}
	}
	c, err := NewClient(driver, Config{Services: []Registrar{reg}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		ahead time.Duration
		want  rivertype.JobState
	}{
		{0, rivertype.JobStateAvailable},
		{-time.Minute, rivertype.JobStateAvailable},
		{200 * time.Millisecond, rivertype.JobStateAvailable},
		{schedulerInterval - time.Second, rivertype.JobStateAvailable},
		{time.Minute, rivertype.JobStateScheduled},
	} {
		opts := &river.InsertOpts{}
		if tc.ahead != 0 {
			opts.ScheduledAt = now.Add(tc.ahead)
		}
		res, err := c.Insert(ctx, noopArgs{N: int(tc.ahead)}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Job.State != tc.want {
			t.Errorf("scheduled %v ahead: %s, want %s", tc.ahead, res.Job.State, tc.want)
		}
		if tc.ahead > 0 && res.Job.ScheduledAt.Before(now.Add(tc.ahead).Add(-time.Millisecond)) {
			t.Errorf("scheduled %v ahead: scheduled at %v, want %v", tc.ahead, res.Job.ScheduledAt, now.Add(tc.ahead))
		}
	}
}
