package harness

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/jobs"
	"github.com/wearlink/wearlink/internal/store"
)

// TestSQLiteStoresAreApart: each test's store is its own copy of the
// migrated template, so what one writes another never sees.
func TestSQLiteStoresAreApart(t *testing.T) {
	ctx := context.Background()
	a, b := SQLite(t, StoreOptions{}), SQLite(t, StoreOptions{})
	if err := a.CreateClient(ctx, store.Client{UUID: "c1", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetClient(ctx, "c1"); err == nil {
		t.Fatal("a client written to one store is in the other")
	}
	if c, err := a.GetClient(ctx, "c1"); err != nil || c.Name != "a" {
		t.Fatalf("client %+v, %v", c, err)
	}
}

type noop struct{}

func (noop) Kind() string { return "harness_noop" }

type noopWorker struct {
	river.WorkerDefaults[noop]
	done chan struct{}
}

func (w *noopWorker) Work(context.Context, *river.Job[noop]) error {
	close(w.done)
	return nil
}

// TestJobsWork: the client Jobs builds works the registered jobs.
func TestJobsWork(t *testing.T) {
	st := SQLite(t, StoreOptions{})
	w := &noopWorker{done: make(chan struct{})}
	c := Jobs(t, st, jobs.Config{Work: true, Services: []jobs.Registrar{func(ws *river.Workers) jobs.Setup {
		river.AddWorker(ws, w)
		return jobs.Setup{Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}}}
	}}})
	if _, err := c.Insert(context.Background(), noop{}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the job was not worked in 30 s")
	}
}
