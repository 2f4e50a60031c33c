package ingest

import (
	"context"
	"maps"
	"slices"
	gosync "sync"
	"time"
)

// intake commits the notifications that arrive while another batch of
// them commits in one transaction (group commit). On SQLite every commit
// waits for the single writer and syncs to disk, so when a fleet of
// simulators or rings syncs at once, a notification's own commit is
// mostly waiting; sharing it takes a sync's notifications in at the pace
// of one commit, not one each. An idle server commits a notification
// alone, at once: a batch forms only behind a commit in progress.
//
// Nothing is acknowledged before its commit: each caller waits for its
// batch and gets the batch's result, so the provider's 2xx still means
// the notification is stored. A batch that fails is written again one
// notification per transaction, so that one bad notification (a
// connection deleted meanwhile) fails only its own request.
type intake struct {
	mu   gosync.Mutex
	open *intakeBatch
	// turn is held by the batch that commits; the next batch collects
	// notifications while it waits for it.
	turn gosync.Mutex
}

// noted is one notification's writes: the patch of each connection's
// cursors and the fetch job of each.
type noted struct {
	conns []int64
	coll  string
	patch cursorPatch
}

type intakeBatch struct {
	items []noted
	errs  []error
	done  chan struct{}
}

// write commits n's writes, in a batch with those of concurrent callers
// when the store's transactions are shared with River (AttachTx).
func (e *Engine) write(ctx context.Context, jobs Inserter, n noted) error {
	if e.jobTx == nil {
		return e.writeNoted(ctx, noTx{e.st, jobs}, []noted{n})
	}
	in := &e.intake
	in.mu.Lock()
	b := in.open
	lead := b == nil
	if lead {
		b = &intakeBatch{done: make(chan struct{})}
		in.open = b
	}
	i := len(b.items)
	b.items = append(b.items, n)
	in.mu.Unlock()
	if lead {
		in.turn.Lock()
		in.mu.Lock()
		in.open = nil // later callers start the next batch
		in.mu.Unlock()
		b.errs = e.commitBatch(ctx, b.items)
		in.turn.Unlock()
		close(b.done)
	}
	<-b.done
	return b.errs[i]
}

// commitBatch writes items in one transaction, or, if that fails, each in
// its own; it returns each item's error.
func (e *Engine) commitBatch(ctx context.Context, items []noted) []error {
	errs := make([]error, len(items))
	err := e.jobTx(ctx, func(tx notifyTx) error { return e.writeNoted(ctx, tx, items) })
	if err == nil || len(items) == 1 {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, n := range items {
		errs[i] = e.jobTx(ctx, func(tx notifyTx) error { return e.writeNoted(ctx, tx, []noted{n}) })
	}
	return errs
}

// writeNoted writes the cursors of each connection, patches merged in the
// order they came, then its fetch job: one update and one insert per
// connection, in the order of their ids, so that two batches (two
// processes on PostgreSQL) lock the same rows in the same order.
func (e *Engine) writeNoted(ctx context.Context, tx notifyTx, items []noted) error {
	patches := map[int64]cursorPatch{}
	colls := map[int64]string{}
	for _, n := range items {
		for _, id := range n.conns {
			p := patches[id]
			if p == nil {
				p = cursorPatch{}
				patches[id] = p
				// The first notification's collection names the job, as
				// when the others coalesce into it one by one.
				colls[id] = n.coll
			}
			maps.Copy(p, n.patch)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(patches)) {
		if err := tx.SetCursors(ctx, id, patches[id], time.Time{}); err != nil {
			return err
		}
		if err := e.queueFetch(ctx, tx, id, colls[id]); err != nil {
			return err
		}
	}
	return nil
}
