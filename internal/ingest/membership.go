package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// A provider may refuse an account's data until the person acts at the
// provider: Oura answers 403 while the membership has lapsed and 426 while
// the app is too old to share the data. The grant still works, so asking
// for a new authorization would not help, and retrying would only be
// refused again. The connection is paused instead (store.Paused): the
// failure that pauses it sends one lifecycle event, its jobs do nothing
// (they work on active connections only), and a probe, at most every
// PauseProbe, makes one cheap read and resumes syncing when it succeeds.

// pauseStatus is the status a provider error pauses a connection with, ""
// for an error that does not pause it.
func pauseStatus(err error) string {
	switch provider.KindOf(err) {
	case provider.KindForbidden:
		return store.StatusSubscriptionRequired
	case provider.KindUpgradeRequired:
		return store.StatusAppUpdateRequired
	}
	return ""
}

// pause pauses an active connection after err (a pausing error) stopped
// the job what, and returns the error the job is cancelled with. Of
// concurrent jobs refused alike, only the one whose swap wins reports it.
func (e *Engine) pause(ctx context.Context, id int64, what string, err error) error {
	cause := fmt.Errorf("%s: %w", what, err)
	if perr := e.setPaused(ctx, id, store.StatusActive, pauseStatus(err), err); perr != nil {
		return errors.Join(cause, perr)
	}
	return cause
}

// setPaused moves a connection from status from to the paused status to and,
// if it was still in from, starts its probe interval and reports the pause:
// a warning in the log (the provider's error, which carries no health data
// and no token) and the ExtractionFailed event with to as the reason.
func (e *Engine) setPaused(ctx context.Context, id int64, from, to string, cause error) error {
	// The probe interval starts before the status changes, so that the
	// poll check never sees a paused connection without it.
	patch := cursorPatch{}
	patch.probedAt(e.now())
	if err := e.st.SetCursors(ctx, id, patch, time.Time{}); err != nil {
		return err
	}
	swapped, err := e.st.SwapConnectionStatus(ctx, id, from, to, "extraction failed: "+to+": "+cause.Error())
	if err != nil || !swapped {
		return err
	}
	conn, err := e.st.GetConnection(ctx, id)
	if err != nil {
		conn = store.Connection{ID: id, Status: to}
	}
	e.log.WarnContext(ctx, "extraction failed: connection paused", "reason", to, "connection", id, "data_source", conn.DataSource,
		"client_uuid", conn.ClientUUID, "user_id", conn.UserID, "err", cause)
	e.cfg.Events.ExtractionFailed(ctx, conn, to, cause)
	return nil
}

// dueProbes lists the probe jobs due at now: one per paused connection of a
// data source this process serves not probed for PauseProbe.
func (e *Engine) dueProbes(ctx context.Context, now time.Time) ([]river.InsertManyParams, error) {
	var params []river.InsertManyParams
	for _, status := range []string{store.StatusSubscriptionRequired, store.StatusAppUpdateRequired} {
		conns, err := e.st.ListConnections(ctx, status)
		if err != nil {
			return nil, err
		}
		for _, c := range conns {
			if _, ok := e.cfg.Providers.Lookup(c.DataSource); ok && e.probeDue(c, now) {
				params = append(params, river.InsertManyParams{Args: ProbeArgs{ConnectionID: c.ID}})
			}
		}
	}
	return params, nil
}

func (e *Engine) probeDue(c store.Connection, now time.Time) bool {
	return store.Paused(c.Status) && now.Sub(CursorsOf(c).ProbedAt) >= e.cfg.PauseProbe
}

// probeWorker runs ProbeArgs.
type probeWorker struct {
	river.WorkerDefaults[ProbeArgs]
	e *Engine
}

func (w *probeWorker) Timeout(*river.Job[ProbeArgs]) time.Duration { return time.Minute }

func (w *probeWorker) Work(ctx context.Context, job *river.Job[ProbeArgs]) error {
	e := w.e
	conn, err := e.st.GetConnection(ctx, job.Args.ConnectionID)
	if health.ErrorCode(err) == health.ENOTFOUND {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	now := e.now()
	if !e.probeDue(conn, now) {
		return nil // resumed, relinked or probed meanwhile
	}
	// Recorded before the read: whatever the read does, the next probe
	// waits PauseProbe.
	patch := cursorPatch{}
	patch.probedAt(now)
	if err := e.st.SetCursors(ctx, conn.ID, patch, time.Time{}); err != nil {
		return err
	}
	err = e.probeRead(ctx, conn)
	switch status := pauseStatus(err); {
	case err == nil:
		return e.resume(ctx, conn)
	case status == conn.Status:
		e.log.InfoContext(ctx, "probe: connection stays paused", "connection", conn.ID, "status", status)
		return nil
	case status != "":
		// The other pause: the person has something else to do now.
		return e.setPaused(ctx, conn.ID, conn.Status, status, err)
	case ctx.Err() != nil:
		return err
	}
	// A token the provider refuses has already been handed to reauth by
	// the connection's Auth; anything else (5xx, network, rate limit)
	// waits for the next probe rather than retrying.
	e.log.WarnContext(ctx, "probe failed; next one in PauseProbe", "connection", conn.ID, "status", conn.Status,
		"pause_probe", e.cfg.PauseProbe, "err", err)
	return nil
}

// probeRead is the probe's one read: today of the connection's first
// notified collection whose scope was granted (the data a pause withholds),
// or, for a provider without one, the account.
func (e *Engine) probeRead(ctx context.Context, conn store.Connection) error {
	prov, err := e.providerOf(conn)
	if err != nil {
		return err
	}
	cur := CursorsOf(conn)
	for _, coll := range e.collections(conn.DataSource, notified) {
		if cur.Coll(coll).ScopeMissing {
			continue
		}
		loc, err := e.location(ctx, conn)
		if err != nil {
			return err
		}
		today := e.today(loc)
		_, err = prov.Fetch(ctx, e.auth(conn), coll, provider.Window{From: today, To: today, Loc: loc})
		if provider.KindOf(err) == provider.KindMissingScope {
			return nil // answered: not paused any more
		}
		return err
	}
	_, err = prov.Identify(ctx, e.auth(conn))
	return err
}

// resume makes a paused connection active again and enqueues what catches
// up on the time it was paused: the rest of its backfill, or the poll of
// every collection from where it stopped, as a relink does.
func (e *Engine) resume(ctx context.Context, conn store.Connection) error {
	swapped, err := e.st.SwapConnectionStatus(ctx, conn.ID, conn.Status, store.StatusActive, "")
	if err != nil || !swapped {
		return err
	}
	jobs, err := e.inserter()
	if err != nil {
		return err
	}
	cur := CursorsOf(conn)
	params := []river.InsertManyParams{{Args: PollArgs{ConnectionID: conn.ID, All: true}}}
	if cur.HasPlan && !cur.Backfilled() {
		params = e.backfillJobs(conn, cur, cur.Plan)
	}
	if len(params) > 0 {
		if _, err := jobs.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("enqueue the catch-up of connection %d: %w", conn.ID, err)
		}
	}
	e.log.InfoContext(ctx, "connection resumed", "connection", conn.ID, "data_source", conn.DataSource, "was", conn.Status, "jobs", len(params))
	return nil
}
