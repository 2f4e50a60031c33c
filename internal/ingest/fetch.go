package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// fetchWorker runs FetchArgs: the reads that follow a connection's
// notifications.
//
// A notification names one document but carries no data, and a provider's
// date filters can differ per collection, so the job reads each notified
// collection's recent days as a range: from two days before the last read
// up to tomorrow. One request then covers every notification of a sync
// (a night brings several sleep periods, naps, sessions) and any earlier
// notification the provider lost. An update of an older document outside
// that range is read by id.
//
// One sync, one version: the job is unique per connection while it waits
// or runs, so the notifications of a sync, whatever collections they name,
// become one job. Each notification first records its time in the
// cursors; the job is queued to run FetchSettle after the first (so no
// worker waits: River leaves it until then), reads every collection
// notified since its last read at once, and only then normalizes the days
// they changed, once, so that a document fed by several collections gets
// one new version, not one per collection. The days stored and not yet
// normalized are kept in the cursors, so a job killed in between
// normalizes them when it runs again. A notification that arrives after a
// collection's read began makes the job read it again, FetchSettle later:
// before normalizing when it came during the reads (the rest of the same
// sync, taken in late by a loaded server), after when it came during the
// normalization.
type fetchWorker struct {
	river.WorkerDefaults[FetchArgs]
	e *Engine
}

func (w *fetchWorker) Timeout(*river.Job[FetchArgs]) time.Duration { return 5 * time.Minute }

// maxFetchRounds bounds the reads of one job when notifications keep
// arriving; the job then snoozes and is run again.
const maxFetchRounds = 3

// maxSyncReads bounds the collections one connection's job reads at once.
const maxSyncReads = 8

func (w *fetchWorker) Work(ctx context.Context, job *river.Job[FetchArgs]) error {
	e, a := w.e, job.Args
	// Per collection, kept across rounds: the ids read by id in one round
	// are read again in the next (a notification for one of them that came
	// during the read set the cursor key the round then cleared), and the
	// earliest notified window's first day.
	again := map[string]map[string]bool{}
	since := map[string]*string{}
	for round := 1; ; round++ {
		if round > 1 {
			// Notifications came during the reads: let the rest of their
			// sync arrive. (Rare; the ids read by id stay in again.)
			if err := provider.Sleep(ctx, e.cfg.FetchSettle); err != nil {
				return err
			}
		}
		conn, active, err := e.jobConnection(ctx, a.ConnectionID)
		if err != nil || !active {
			return err
		}
		due := CursorsOf(conn).notifiedSinceRead()
		if round == 1 && a.Collection != "" {
			// A job queued by name (by an earlier version, or by hand) reads
			// its collection whatever the cursors say.
			if _, ok := e.cfg.Providers.Collection(conn.DataSource, a.Collection); !ok {
				return river.JobCancel(health.Errorf(health.EINVALID, "unknown collection %q", a.Collection))
			}
			if !slices.Contains(due, a.Collection) {
				due = append(due, a.Collection)
			}
		}
		start := e.now()
		readErr := e.readNotified(ctx, conn, due, start, job.Attempt > 1, again, since)
		if readErr == nil && round < maxFetchRounds {
			// Notifications that came during the reads are the rest of the
			// same sync, late (a loaded server takes them in slowly): read
			// them before normalizing, so the sync still makes one version.
			conn, err = e.st.GetConnection(ctx, a.ConnectionID)
			if err != nil {
				return err
			}
			if len(CursorsOf(conn).notifiedSinceRead()) > 0 {
				continue
			}
		}
		// What the reads stored is normalized even when one of them failed:
		// the others' documents need not wait for its retry.
		if err := e.normalizePending(ctx, a.ConnectionID); err != nil {
			return errors.Join(readErr, err)
		}
		if readErr != nil {
			return readErr
		}
		conn, err = e.st.GetConnection(ctx, a.ConnectionID)
		if err != nil {
			return err
		}
		if len(CursorsOf(conn).notifiedSinceRead()) == 0 {
			return nil
		}
		if round >= maxFetchRounds {
			return river.JobSnooze(e.cfg.FetchSettle)
		}
	}
}

// queueFetch queues the connection's fetch job, to run FetchSettle from
// now (River's clock, the wall clock) so that the rest of the sync's
// notifications coalesce into it.
func (e *Engine) queueFetch(ctx context.Context, jobs Inserter, connID int64, coll string) error {
	settled := &river.InsertOpts{ScheduledAt: time.Now().Add(e.cfg.FetchSettle)}
	if _, err := jobs.Insert(ctx, FetchArgs{ConnectionID: connID, Collection: coll}, settled); err != nil {
		return fmt.Errorf("enqueue fetch: %w", err)
	}
	return nil
}

// FetchEnded is told of each fetch job River recorded as completed or
// cancelled. River records a job's end in batches, up to a quarter of a
// second after its worker returned, and until then the job counts as
// running: a notification in between coalesces into a job that will not
// read again. If the connection has collections notified since their read,
// FetchEnded queues the fetch such a notification would have.
func (e *Engine) FetchEnded(ctx context.Context, job *rivertype.JobRow) error {
	var a FetchArgs
	if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
		return fmt.Errorf("fetch job %d: %w", job.ID, err)
	}
	conn, active, err := e.activeConnection(ctx, a.ConnectionID)
	if health.ErrorCode(err) == health.ENOTFOUND || (err == nil && !active) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, coll := range CursorsOf(conn).notifiedSinceRead() {
		if _, ok := e.cfg.Providers.Collection(conn.DataSource, coll); !ok {
			continue
		}
		jobs, err := e.inserter()
		if err != nil {
			return err
		}
		e.log.DebugContext(ctx, "notification after the fetch's last look", "connection", conn.ID, "collection", coll)
		return e.queueFetch(ctx, jobs, conn.ID, coll)
	}
	return nil
}

// JobEvent hears River's job events: the end of a fetch job goes to
// FetchEnded.
func (e *Engine) JobEvent(ctx context.Context, ev *river.Event) {
	if ev.Job == nil || (ev.Kind != river.EventKindJobCompleted && ev.Kind != river.EventKindJobCancelled) {
		return
	}
	if ev.Job.Kind != (FetchArgs{}).Kind() && !slices.Contains(FetchArgs{}.KindAliases(), ev.Job.Kind) {
		return
	}
	if err := e.FetchEnded(ctx, ev.Job); err != nil && ctx.Err() == nil {
		// The connection's next poll reads what was notified.
		e.log.WarnContext(ctx, "fetch after a job's end not queued", "job", ev.Job.ID, "err", err)
	}
}

// readNotified reads the collections at once, each as readRecent does,
// and stores what they return, leaving the days they changed pending. It
// returns the first error a read returned (a River snooze or cancel among
// them), after every read ended.
func (e *Engine) readNotified(ctx context.Context, conn store.Connection, colls []string, start time.Time, force bool,
	again map[string]map[string]bool, since map[string]*string) error {
	errs := make([]error, len(colls))
	sem := make(chan struct{}, maxSyncReads)
	var wg sync.WaitGroup
	for i, coll := range colls {
		if _, ok := e.cfg.Providers.Collection(conn.DataSource, coll); !ok {
			// Notified under an earlier version that read it: nothing to do.
			continue
		}
		if again[coll] == nil {
			again[coll] = map[string]bool{}
			since[coll] = new(string)
		}
		o := readOpts{byID: true, again: again[coll], since: since[coll], force: force, notified: start}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = e.readRecent(ctx, conn, coll, o)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// normalizePending normalizes the days the connection's notified reads
// stored, once, and clears them. Only fetch jobs write pending days and
// one runs per connection at a time, so no mark is cleared that this pass
// did not see.
func (e *Engine) normalizePending(ctx context.Context, connID int64) error {
	conn, err := e.st.GetConnection(ctx, connID)
	if err != nil {
		return err
	}
	pending := CursorsOf(conn).Pending
	if len(pending) == 0 {
		return nil
	}
	var days []string
	undated := false
	patch := cursorPatch{}
	for d := range pending {
		if d == "" {
			undated = true
		} else {
			days = append(days, d)
		}
		patch.normalizedPending(d)
	}
	slices.Sort(days)
	hw, err := e.renormalize(ctx, conn, days, undated)
	if err != nil {
		return err
	}
	e.log.DebugContext(ctx, "sync normalized", "connection", connID, "days", len(days), "undated", undated,
		"health_written", hw.Inserted+hw.Updated)
	return e.st.SetCursors(ctx, connID, patch, time.Time{})
}

// today is the user's current local day; without a zone, one day ahead of
// UTC, which is today or later everywhere.
func (e *Engine) today(loc *time.Location) string {
	if loc == nil {
		return addDays(dayOf(e.now(), time.UTC), 1)
	}
	return dayOf(e.now(), loc)
}

// readOpts say how readRecent reads.
type readOpts struct {
	// byID also reads the documents whose update was notified but that
	// the range did not return.
	byID bool
	// again, with byID, holds ids to read by id even without a cursor; the
	// ids read by id are added to it.
	again map[string]bool
	// force normalizes every day read (see ingest).
	force bool
	// gap marks a gap read (see gap in poll.go): one that finds no newer
	// day ends the collection's run.
	gap bool
	// since, when not nil, keeps the earliest notified window's first day
	// across the rounds of one job.
	since *string
	// notified, when not zero, is when this read following notifications
	// began: the read records it, and leaves the days it changed pending
	// for the sync to normalize once for all its collections.
	notified time.Time
}

// maxSinceDays bounds how far back a notified window makes a read reach:
// a forged notification can cost reads, but not the whole history.
const maxSinceDays = 92

// readRecent reads one collection from two days before its last read up to
// tomorrow, stores and normalizes what changed, and moves its cursors.
func (e *Engine) readRecent(ctx context.Context, conn store.Connection, coll string, o readOpts) error {
	what := "read " + coll
	loc, err := e.location(ctx, conn)
	if err != nil {
		return err
	}
	// A read reaches back as far as the collection's documents still
	// change: two days, or longer where the provider says so.
	back := 2
	if c, ok := e.cfg.Providers.Collection(conn.DataSource, coll); ok && c.ChangesForDays > back {
		back = c.ChangesForDays
	}
	today := e.today(loc)
	from := addDays(today, -back)
	cur := CursorsOf(conn)
	cc := cur.Coll(coll)
	patch := cursorPatch{}
	if last := cc.SyncedTo; last != "" && addDays(last, -back) < from {
		from = addDays(last, -back)
	}
	// Notified windows that begin earlier are read from their first day,
	// and every round of the job keeps reaching back as far, since a
	// notification of the same day during the read rewrites the key this
	// read then clears.
	since := ""
	if o.since != nil {
		since = *o.since
	}
	for day := range cc.Since {
		patch.clearSince(coll, day)
		if since == "" || day < since {
			since = day
		}
	}
	if since != "" {
		since = maxDay(since, addDays(today, -maxSinceDays))
		if o.since != nil {
			*o.since = since
		}
		if since < from {
			from = since
		}
	}
	to := addDays(today, 1)
	prov, err := e.providerOf(conn)
	if err != nil {
		return err
	}
	auth := e.auth(conn)
	docs, err := prov.Fetch(ctx, auth, coll, provider.Window{From: from, To: to, Loc: loc})
	switch {
	case provider.KindOf(err) == provider.KindMissingScope:
		e.log.WarnContext(ctx, "scope not granted", "connection", conn.ID, "collection", coll, "err", err)
		patch.scopeMissing(coll, true)
		patch.syncedAt(coll, e.now())
		if !o.notified.IsZero() {
			patch.readStart(coll, o.notified)
		}
		return e.st.SetCursors(ctx, conn.ID, patch, time.Time{})
	case err != nil:
		return e.jobError(ctx, conn.ID, what, err)
	}
	fetcher, canFetchOne := prov.(provider.DocumentFetcher)
	if o.byID && canFetchOne {
		seen := map[string]bool{}
		for _, d := range docs {
			seen[d.ID] = true
		}
		ids := map[string]bool{}
		for id := range cc.Updates {
			patch.clearUpdate(coll, id)
			ids[id] = true
		}
		for id := range o.again {
			ids[id] = true
		}
		for _, id := range slices.Sorted(maps.Keys(ids)) {
			if seen[id] {
				continue
			}
			if o.again != nil {
				o.again[id] = true
			}
			d, err := fetcher.FetchDocument(ctx, auth, coll, id)
			switch {
			case provider.KindOf(err) == provider.KindNotFound:
				e.log.InfoContext(ctx, "notified document no longer exists", "connection", conn.ID, "collection", coll, "id", id)
				continue
			case err != nil:
				return e.jobError(ctx, conn.ID, what+" "+id, err)
			}
			if c, _ := e.cfg.Providers.Collection(conn.DataSource, coll); d.Day == "" && c.Range != provider.RangeAll && c.Range != provider.RangeSingleton {
				// Kept raw; a document of a dated collection without a day
				// is not normalized.
				e.log.WarnContext(ctx, "notified document has no day", "connection", conn.ID, "collection", coll, "id", id)
			}
			docs = append(docs, d)
		}
	}
	var res ingestResult
	if o.notified.IsZero() {
		res, err = e.ingest(ctx, conn, docs, o.force)
	} else {
		var changed []string
		var undated bool
		res, changed, undated, err = e.storeDocs(ctx, conn, docs, o.force)
		if undated {
			changed = append(changed, "")
		}
		// Written with the read's other cursors, after the documents: a
		// crash in between leaves ReadStart behind, and the job, run
		// again, reads the collection again with force.
		patch.pending(changed, e.now())
		patch.readStart(coll, o.notified)
	}
	if err != nil {
		return err
	}
	patch.syncedTo(coll, maxDay(cc.SyncedTo, today))
	patch.syncedAt(coll, e.now())
	patch.scopeMissing(coll, false)
	newest := cur.Newest
	if res.newest != "" && res.newest > newest && res.newest <= to {
		newest = res.newest
		patch.newest(newest, e.now())
	}
	if !trackRun(patch, cc, coll, docs, newest, to) && o.gap {
		e.log.DebugContext(ctx, "gap read found nothing new", "connection", conn.ID, "collection", coll)
		patch.endRun(coll)
	}
	e.log.DebugContext(ctx, "collection read", "connection", conn.ID, "collection", coll, "from", from, "to", to,
		"documents", len(docs), "inserted", res.raw.Inserted, "updated", res.raw.Updated, "health_written", res.health.Inserted+res.health.Updated)
	return e.st.SetCursors(ctx, conn.ID, patch, e.now())
}

// trackRun moves the cursors that say whether coll comes with every sync:
// its newest day, how many days in a row up to it have a document (from the
// days just read and the run already recorded), and how far it trails the
// connection's newest day. It reports whether coll's newest day moved.
func trackRun(patch cursorPatch, cur CollCursors, coll string, docs []provider.Document, newest, to string) bool {
	days := map[string]bool{}
	top := ""
	for _, d := range docs {
		if day := string(d.Day); day != "" && day <= to {
			days[day] = true
			top = maxDay(top, day)
		}
	}
	old := cur.DocDay
	if top == "" || top <= old {
		return false
	}
	lo := top
	for days[addDays(lo, -1)] {
		lo = addDays(lo, -1)
	}
	if old != "" && lo <= addDays(old, 1) {
		lo = min(lo, addDays(old, 1-max(cur.Run, 1)))
	}
	patch.run(coll, top, min(daysBetween(lo, top)+1, maxRun), max(daysBetween(top, newest), 0))
	return true
}

// maxRun caps the recorded run: beyond it, longer says nothing more.
const maxRun = 30
