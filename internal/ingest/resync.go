package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// ResyncArgs reads one collection's days From..To again on request (the
// API's data source sync route); what changed is stored, normalized and
// delivered again.
type ResyncArgs struct {
	ConnectionID int64  `json:"connection_id" river:"unique"`
	Collection   string `json:"collection" river:"unique"`
	From         string `json:"from" river:"unique"`
	To           string `json:"to" river:"unique"`
}

// Kind implements river.JobArgs.
func (ResyncArgs) Kind() string { return "ingest_resync" }

// KindAliases implements river.JobArgsWithKindAliases: jobs queued by
// earlier versions under the old name still run.
func (ResyncArgs) KindAliases() []string { return []string{"oura_resync"} }

// InsertOpts implements river.JobArgsWithInsertOpts: resyncs share the
// backfill queue, whose workers are sized for long reads.
func (ResyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueBackfill, MaxAttempts: 20,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates}}
}

// Resync enqueues a read of every collection for the local days
// fromDay..toDay (inclusive), in windows of WindowDays, and returns the
// number of jobs enqueued (requests already waiting collapse).
func (e *Engine) Resync(ctx context.Context, conn store.Connection, fromDay, toDay string) (int, error) {
	jobs, err := e.inserter()
	if err != nil {
		return 0, err
	}
	f, err1 := time.Parse(time.DateOnly, fromDay)
	t, err2 := time.Parse(time.DateOnly, toDay)
	if err1 != nil || err2 != nil || t.Before(f) {
		return 0, health.Errorf(health.EINVALID, "resync needs two YYYY-MM-DD days in order, got %q and %q", fromDay, toDay)
	}
	if conn.Status != store.StatusActive {
		return 0, health.Errorf(health.ECONFLICT, "connection is %s", conn.Status)
	}
	var params []river.InsertManyParams
	for _, w := range (plan{from: fromDay, to: toDay, window: e.cfg.WindowDays}).windows() {
		for _, coll := range e.collections(conn.DataSource, byDay) {
			params = append(params, river.InsertManyParams{Args: ResyncArgs{ConnectionID: conn.ID, Collection: coll, From: w.from, To: w.to}})
		}
	}
	if _, err := jobs.InsertMany(ctx, params); err != nil {
		return 0, fmt.Errorf("enqueue resync: %w", err)
	}
	return len(params), nil
}

type resyncWorker struct {
	river.WorkerDefaults[ResyncArgs]
	e *Engine
}

func (w *resyncWorker) Timeout(*river.Job[ResyncArgs]) time.Duration { return 10 * time.Minute }

func (w *resyncWorker) Work(ctx context.Context, job *river.Job[ResyncArgs]) error {
	e, a := w.e, job.Args
	conn, active, err := e.jobConnection(ctx, a.ConnectionID)
	if err != nil || !active {
		return err
	}
	loc, err := e.location(ctx, conn)
	if err != nil {
		return err
	}
	prov, err := e.providerOf(conn)
	if err != nil {
		return err
	}
	docs, err := prov.Fetch(ctx, e.auth(conn), a.Collection, provider.Window{From: a.From, To: a.To, Loc: loc})
	switch {
	case provider.KindOf(err) == provider.KindMissingScope:
		return nil
	case err != nil:
		return e.jobError(ctx, conn.ID, "resync "+a.Collection+" "+a.From+".."+a.To, err)
	}
	_, err = e.ingest(ctx, conn, docs, job.Attempt > 1)
	return err
}
