package jobs

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
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
		if got := (Backoff{}).NextRetry(job); !got.Equal(tc.want) {
			t.Errorf("attempt %d: retry at %v, want %v", tc.attempt, got, tc.want)
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
