package ingest

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// Polling is the safety net under webhooks, within a request budget.
//
// Providers' rate limits are per application, so requests per user per day
// decide how many users a deployment serves. Collections the provider
// notifies are read when a notification comes; the others at their
// collection's PollEvery; a singleton collection through Identify. Each
// provider's package gives its own budget (budget.go).
//
// A lost notification costs at most one read: every webhook read starts two
// days before the collection's previous read, so the next notification of
// the same collection fetches what the lost one announced; and a
// collection that came with every sync but not with the latest is read
// GapGrace after it (see gap), so the lost document arrives within hours,
// not the next morning. Collections that stay quiet are re-read every
// ReconcileHealthy. When a connection's webhooks fall silent (none for
// SilentAfter, 36 h: a worn device syncs at least daily), every collection not read
// for ReconcileSilent (6 h) is re-read, about 4 x 17 = 68 requests a day
// until notifications return.

// pollDueWorker runs PollDueArgs: it enqueues a poll for every active
// connection with something due. The check is cheap (cursors only), so it
// runs often (PollCheck) without costing provider requests.
type pollDueWorker struct {
	river.WorkerDefaults[PollDueArgs]
	e *Engine
}

func (w *pollDueWorker) Work(ctx context.Context, _ *river.Job[PollDueArgs]) error {
	_, err := w.e.EnqueueDuePolls(ctx)
	return err
}

// EnqueueDuePolls enqueues a PollArgs job for every active connection with
// a read due, and a ProbeArgs job for every paused connection whose probe
// is due (membership.go), and returns how many it enqueued (duplicates of
// waiting jobs collapse).
func (e *Engine) EnqueueDuePolls(ctx context.Context) (int, error) {
	jobs, err := e.inserter()
	if err != nil {
		return 0, err
	}
	conns, err := e.st.ListConnections(ctx, store.StatusActive)
	if err != nil {
		return 0, err
	}
	now := e.now()
	var params []river.InsertManyParams
	for _, c := range conns {
		// duePolls has nothing for a data source this process does not
		// serve.
		if len(e.duePolls(c, now, false)) > 0 {
			params = append(params, river.InsertManyParams{Args: PollArgs{ConnectionID: c.ID}})
		}
	}
	probes, err := e.dueProbes(ctx, now)
	if err != nil {
		return 0, err
	}
	params = append(params, probes...)
	if len(params) == 0 {
		return 0, nil
	}
	if _, err := jobs.InsertMany(ctx, params); err != nil {
		return 0, err
	}
	return len(params), nil
}

// minRun is how many days in a row a collection must have had a document
// before its absence after a sync counts as a lost notification.
const minRun = 3

// gap reports whether coll looks like it missed the connection's latest
// sync: it had a document on each of the last minRun days it was seen,
// the sync that moved the connection's newest day happened GapGrace ago,
// coll has not caught up with that day (allowing for the lag it usually
// has), and it has not been read since. A notification the provider lost then
// costs one read after GapGrace instead of waiting for the next
// notification or the reconciliation; a gap read that finds nothing resets
// the run, so a collection that stopped coming (no SpO2 any more) is not
// read again until it comes back.
func (e *Engine) gap(cur Cursors, coll string, now time.Time) bool {
	cc := cur.Coll(coll)
	if cc.Run < minRun || cc.ScopeMissing {
		return false
	}
	at := cur.NewestAt
	if at.IsZero() || now.Sub(at) < e.cfg.GapGrace {
		return false
	}
	if daysBetween(cc.DocDay, cur.Newest) <= cc.Lag {
		return false
	}
	return cc.SyncedAt.Before(at.Add(e.cfg.GapGrace))
}

// pollItem is one read a poll makes.
type pollItem struct {
	coll string
	// gap marks a read for a document that looks lost (see gap).
	gap bool
	// from and to bound a time-series read (heart rate, battery).
	from, to string
	// identify reads the account's own document (a singleton collection).
	identify bool
}

// notified keeps the collections the provider announces, which
// reconciliation re-reads.
func notified(c provider.Collection) bool { return c.Notified }

// silent reports whether the connection's webhooks have been quiet for
// SilentAfter (counted from the link until the first notification).
func (e *Engine) silent(cur Cursors, now time.Time) bool {
	last := cur.WebhookAt
	if t := cur.LinkedAt; t.After(last) {
		last = t
	}
	if t := cur.BackfillDone; t.After(last) {
		last = t
	}
	return now.Sub(last) >= e.cfg.SilentAfter
}

// backfillGrace is how long polling waits for a backfill: a backfill that
// has not finished by then (a job gave up) must not keep the connection
// from being polled.
const backfillGrace = 24 * time.Hour

// linkGrace is how long polling leaves a connection without a link time
// alone: well past what Link takes (a few requests, each sitting out at
// most maxLinkWait of rate limit). A connection still without one after
// that is a link that failed halfway (stored, then the account lookup or
// a write failed), which nothing but the poll would ever read.
const linkGrace = 5 * maxLinkWait

// duePolls lists the reads due for a connection; all lists every read. Nothing
// is due while the backfill runs: it reads everything anyway.
func (e *Engine) duePolls(c store.Connection, now time.Time, all bool) []pollItem {
	cur := CursorsOf(c)
	if !cur.Backfilled() {
		if cur.LinkedAt.IsZero() && now.Sub(c.CreatedAt) < linkGrace {
			// Link stored the connection and has not finished; the
			// backfill it starts reads everything.
			return nil
		}
		if !cur.LinkedAt.IsZero() && now.Sub(cur.LinkedAt) < backfillGrace {
			return nil
		}
	}
	interval := e.cfg.ReconcileHealthy
	if e.silent(cur, now) {
		interval = e.cfg.ReconcileSilent
	}
	if all {
		interval = 0
	}
	var due []pollItem
	p, ok := e.cfg.Providers.Lookup(c.DataSource)
	if !ok {
		return nil
	}
	for _, coll := range e.collections(c.DataSource, notified) {
		iv := interval
		if cur.Coll(coll).ScopeMissing {
			iv = e.cfg.ReconcileHealthy // not granted: look again rarely
		}
		switch {
		case now.Sub(cur.Coll(coll).SyncedAt) >= iv:
			due = append(due, pollItem{coll: coll})
		case e.gap(cur, coll, now):
			due = append(due, pollItem{coll: coll, gap: true})
		}
	}
	// Time series: only whole days, and a day is taken as whole once a
	// later day has data (the device synced after it ended).
	complete := addDays(cur.Newest, -1)
	for _, coll := range p.Collections() {
		if coll.Notified || coll.PollEvery <= 0 {
			continue
		}
		cc := cur.Coll(coll.Name)
		due1 := all || now.Sub(cc.SyncedAt) >= coll.PollEvery
		switch {
		case coll.Range == provider.RangeSingleton:
			if due1 {
				due = append(due, pollItem{coll: coll.Name, identify: true})
			}
		case !coll.TimeSeries:
			// Daily documents the provider sends no notifications for:
			// the recent days, as a notification would have read them.
			if due1 {
				due = append(due, pollItem{coll: coll.Name})
			}
		default:
			last := cc.SyncedTo
			if cur.Newest == "" || last == "" || complete <= last || !due1 {
				continue
			}
			due = append(due, pollItem{coll: coll.Name, from: addDays(last, 1), to: complete})
		}
	}
	return due
}

// pollWorker runs PollArgs.
type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	e *Engine
}

func (w *pollWorker) Timeout(*river.Job[PollArgs]) time.Duration { return 10 * time.Minute }

func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	e := w.e
	conn, active, err := e.jobConnection(ctx, job.Args.ConnectionID)
	if err != nil || !active {
		return err
	}
	// A run after a failed attempt may find its documents stored but not
	// normalized.
	force := job.Attempt > 1
	for _, it := range e.duePolls(conn, e.now(), job.Args.All) {
		var err error
		switch {
		case it.identify:
			err = e.readAccount(ctx, conn, it.coll, force)
		case it.from != "":
			err = e.readSeries(ctx, conn, it, force)
		case !it.gap && e.readChanged(ctx, conn, it.coll, force, &err):
			// Reconciled by what changed (err holds the result).
		default:
			err = e.readRecent(ctx, conn, it.coll, readOpts{force: force, gap: it.gap})
		}
		if err != nil {
			return err
		}
		// Later reads need the cursors the earlier ones moved.
		if conn, err = e.st.GetConnection(ctx, conn.ID); err != nil {
			return err
		}
	}
	return nil
}

// changedMargin is how far before its last read a reconciliation by
// changes reaches: a change stamped just before the read may have been
// committed at the provider just after it.
const changedMargin = time.Hour

// readChanged reconciles coll by what the provider says changed since
// the collection's last read, where the provider can say (ChangeReader).
// It reports false, having done nothing, when the recent days must be
// read instead: a provider that cannot, a collection never read, or one
// it cannot list so; otherwise *errp is the read's result.
func (e *Engine) readChanged(ctx context.Context, conn store.Connection, coll string, force bool, errp *error) bool {
	prov, err := e.providerOf(conn)
	if err != nil {
		return false
	}
	cr, ok := prov.(provider.ChangeReader)
	since := CursorsOf(conn).Coll(coll).SyncedAt
	if !ok || since.IsZero() {
		return false
	}
	loc, err := e.location(ctx, conn)
	if err != nil {
		*errp = err
		return true
	}
	docs, err := cr.FetchChanged(ctx, e.auth(conn), coll, since.Add(-changedMargin), loc)
	patch := cursorPatch{}
	switch {
	case provider.KindOf(err) == provider.KindInvalidRequest:
		return false
	case provider.KindOf(err) == provider.KindMissingScope:
		patch.scopeMissing(coll, true)
		patch.syncedAt(coll, e.now())
		*errp = e.st.SetCursors(ctx, conn.ID, patch, time.Time{})
		return true
	case err != nil:
		*errp = e.jobError(ctx, conn.ID, "read the changes of "+coll, err)
		return true
	}
	res, err := e.ingest(ctx, conn, docs, force)
	if err != nil {
		*errp = err
		return true
	}
	patch.syncedAt(coll, e.now())
	patch.scopeMissing(coll, false)
	if cur := CursorsOf(conn); res.newest != "" && res.newest > cur.Newest && res.newest <= addDays(e.today(loc), 1) {
		patch.newest(res.newest, e.now())
	}
	e.log.DebugContext(ctx, "changes read", "connection", conn.ID, "collection", coll, "since", since.Add(-changedMargin), "documents", len(docs))
	*errp = e.st.SetCursors(ctx, conn.ID, patch, e.now())
	return true
}

// readAccount reads the account again through the provider's Identify,
// storing what it returns (a profile document, where there is one), and records the read as
// coll's.
func (e *Engine) readAccount(ctx context.Context, conn store.Connection, coll string, force bool) error {
	prov, err := e.providerOf(conn)
	if err != nil {
		return err
	}
	acct, err := prov.Identify(ctx, e.auth(conn))
	if err != nil {
		return e.jobError(ctx, conn.ID, "identify the account", err)
	}
	if acct.ExternalUserID != conn.ExternalUserID {
		if err := e.st.SetExternalUserID(ctx, conn.ID, acct.ExternalUserID); err != nil {
			return err
		}
	}
	if _, err := e.ingest(ctx, conn, acct.Documents, force); err != nil {
		return err
	}
	patch := cursorPatch{}
	patch.syncedAt(coll, e.now())
	return e.st.SetCursors(ctx, conn.ID, patch, e.now())
}

// readSeries reads whole days of heart rate or battery.
func (e *Engine) readSeries(ctx context.Context, conn store.Connection, it pollItem, force bool) error {
	loc, err := e.location(ctx, conn)
	if err != nil {
		return err
	}
	prov, err := e.providerOf(conn)
	if err != nil {
		return err
	}
	docs, err := prov.Fetch(ctx, e.auth(conn), it.coll, provider.Window{From: it.from, To: it.to, Loc: loc})
	patch := cursorPatch{}
	patch.syncedAt(it.coll, e.now())
	switch {
	case provider.KindOf(err) == provider.KindMissingScope:
		patch.scopeMissing(it.coll, true)
		patch.syncedTo(it.coll, it.to)
		return e.st.SetCursors(ctx, conn.ID, patch, time.Time{})
	case err != nil:
		return e.jobError(ctx, conn.ID, "read "+it.coll, err)
	}
	if _, err := e.ingest(ctx, conn, docs, force); err != nil {
		return err
	}
	patch.syncedTo(it.coll, it.to)
	return e.st.SetCursors(ctx, conn.ID, patch, e.now())
}
