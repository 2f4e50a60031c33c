package ingest_test

import (
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/ingest"
)

// oldPollDue is a job as an earlier version queued it, under its old kind.
type oldPollDue struct{}

func (oldPollDue) Kind() string { return "oura_poll_due" }

func (oldPollDue) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: ingest.QueuePoll} }

// TestJobsQueuedUnderOldKindsRun: a database upgraded with jobs waiting
// under the kinds earlier versions used has them worked, not left as
// unknown kinds.
func TestJobsQueuedUnderOldKindsRun(t *testing.T) {
	e := newEnv(t, envOptions{users: 1})
	res, err := e.river.Insert(e.ctx, oldPollDue{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(5 * time.Minute)
	j, err := e.river.JobGet(e.ctx, res.Job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != rivertype.JobStateCompleted || j.Kind != "oura_poll_due" {
		t.Fatalf("job under the old kind: %s %s, errors %v", j.Kind, j.State, j.Errors)
	}
}

// TestFetchOfUnknownCollectionCancelled: a fetch for a collection the
// connection's provider does not have is cancelled, not retried.
func TestFetchOfUnknownCollectionCancelled(t *testing.T) {
	e := newEnv(t, envOptions{users: 1, backfillDays: 2})
	conn := e.link(0)
	res, err := e.river.Insert(e.ctx, ingest.FetchArgs{ConnectionID: conn.ID, Collection: "meal"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.waitIdle(5 * time.Minute)
	j, err := e.river.JobGet(e.ctx, res.Job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != rivertype.JobStateCancelled || j.Attempt != 1 {
		t.Fatalf("fetch of an unknown collection: %s after %d attempts", j.State, j.Attempt)
	}
}
