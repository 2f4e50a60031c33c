package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// LinkParams links a user's provider account with a token already obtained
// (a personal access token, the simulator's printed tokens, or the result
// of an OAuth flow).
type LinkParams struct {
	ClientUUID string
	UserID     string
	// DataSource is the registered provider the tokens are for.
	DataSource string
	Tokens     store.Tokens
	// TimeZone (IANA) is stored on the user when set.
	TimeZone string
	// CreateClient creates the client when it does not exist; otherwise a
	// missing client is an error.
	CreateClient bool
}

// LinkResult says what Link did.
type LinkResult struct {
	Connection store.Connection
	// Windows is the number of backfill jobs enqueued (0 when the backfill
	// had already finished).
	Windows int
	// From and To are the days the backfill covers.
	From, To string
}

// byDay keeps the collections read by day: every one except those Link
// reads whole (singletons and collections read whole).
func byDay(c provider.Collection) bool {
	return c.Range == provider.RangeDays || c.Range == provider.RangeInstants
}

// whole keeps the collections read whole, which belong to no day.
func whole(c provider.Collection) bool {
	return c.Range == provider.RangeAll || c.Range == provider.RangeSingleton
}

// collections names the collections of a data source that keep accepts,
// in the provider's order.
func (e *Engine) collections(dataSource string, keep func(provider.Collection) bool) []string {
	p, ok := e.cfg.Providers.Lookup(dataSource)
	if !ok {
		return nil
	}
	var out []string
	for _, c := range p.Collections() {
		if keep(c) {
			out = append(out, c.Name)
		}
	}
	return out
}

// isSeries reports whether a collection of the data source is a time
// series (samples keyed by their time, many a day).
func (e *Engine) isSeries(dataSource, coll string) bool {
	c, _ := e.cfg.Providers.Collection(dataSource, coll)
	return c.TimeSeries
}

// Link stores the connection, identifies the account (whose id is how the
// provider's notifications name the user), reads the collections read
// whole, and enqueues the
// backfill: one job per collection and window, newest windows first. A
// connection linked again resumes its unfinished backfill instead of
// starting over.
func (e *Engine) Link(ctx context.Context, p LinkParams) (LinkResult, error) {
	var res LinkResult
	jobs, err := e.inserter()
	if err != nil {
		return res, err
	}
	if p.ClientUUID == "" || !health.ValidUserID(p.UserID) {
		return res, health.Errorf(health.EINVALID, "a client uuid and a user id of 1 to 50 letters, digits or hyphens are required")
	}
	if p.Tokens.AccessToken == "" {
		return res, health.Errorf(health.EINVALID, "an access token is required")
	}
	if _, ok := e.cfg.Providers.Lookup(p.DataSource); !ok {
		return res, health.Errorf(health.EINVALID, "data source %q is not served here; served: %s", p.DataSource, strings.Join(e.cfg.Providers.DataSources(), ", "))
	}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "Local" {
			return res, health.Errorf(health.EINVALID, "time zone %q is not an IANA name", p.TimeZone)
		}
	}
	if _, err := e.st.GetClient(ctx, p.ClientUUID); err != nil {
		if health.ErrorCode(err) != health.ENOTFOUND || !p.CreateClient {
			return res, fmt.Errorf("client %s: %w", p.ClientUUID, err)
		}
		if err := e.st.CreateClient(ctx, store.Client{UUID: p.ClientUUID, Name: p.ClientUUID}); err != nil && health.ErrorCode(err) != health.ECONFLICT {
			return res, fmt.Errorf("create client %s: %w", p.ClientUUID, err)
		}
	}
	if _, err := e.st.UpsertUser(ctx, store.User{ClientUUID: p.ClientUUID, UserID: p.UserID, TimeZone: p.TimeZone}); err != nil {
		return res, fmt.Errorf("user %s: %w", p.UserID, err)
	}
	conn, err := e.st.CreateConnection(ctx, store.Connection{ClientUUID: p.ClientUUID, UserID: p.UserID, DataSource: p.DataSource,
		Status: store.StatusActive, Tokens: p.Tokens})
	if err != nil {
		return res, fmt.Errorf("connection of %s: %w", p.UserID, err)
	}
	res.Connection = conn
	// The grant just stored replaces whatever this process cached for the
	// connection, even when it carries no expiry to compare.
	e.forgetAuth(conn.ID)
	prov, err := e.providerOf(conn)
	if err != nil {
		return res, err
	}
	auth := e.auth(conn)
	var acct provider.Account
	err = waitRateLimit(ctx, func() (err error) { acct, err = prov.Identify(ctx, auth); return err })
	if err != nil {
		if provider.KindOf(err) == provider.KindInvalidToken && !errors.Is(err, errReauth) {
			err = errors.Join(err, e.reauth(ctx, conn.ID, "token", err))
		}
		return res, fmt.Errorf("identify the account: %w", err)
	}
	if acct.ExternalUserID != conn.ExternalUserID {
		if err := e.st.SetExternalUserID(ctx, conn.ID, acct.ExternalUserID); err != nil {
			return res, err
		}
		conn.ExternalUserID = acct.ExternalUserID
	}
	undated := acct.Documents
	// Collections read whole (a device's settings) come at link:
	// they say how far back the history goes.
	var rings []provider.Document
	for _, c := range prov.Collections() {
		if c.Range != provider.RangeAll {
			continue
		}
		var docs []provider.Document
		err = waitRateLimit(ctx, func() (err error) {
			docs, err = prov.Fetch(ctx, auth, c.Name, provider.Window{})
			return err
		})
		switch {
		case provider.KindOf(err) == provider.KindMissingScope:
			e.log.WarnContext(ctx, "scope not granted", "connection", conn.ID, "collection", c.Name)
		case err != nil:
			return res, fmt.Errorf("read %s: %w", c.Name, err)
		}
		rings = append(rings, docs...)
	}
	undated = append(undated, rings...)
	if _, err := e.ingest(ctx, conn, undated, false); err != nil {
		return res, err
	}

	loc, err := e.location(ctx, conn)
	if err != nil {
		return res, err
	}
	now := e.now()
	cur := CursorsOf(conn)
	patch := cursorPatch{}
	patch.linkedAt(now)
	for _, coll := range e.collections(conn.DataSource, whole) {
		patch.syncedAt(coll, now)
	}
	for _, coll := range cur.scopeMissing() {
		patch.scopeMissing(coll, false) // a new grant may carry the scope
	}
	if _, ok := prov.(provider.UserSubscriber); ok && e.UserCallbackURL(conn.DataSource) != "" {
		// A relink may carry other scopes, so it subscribes again too.
		if _, err := jobs.Insert(ctx, UserSubscribeArgs{ConnectionID: conn.ID}, nil); err != nil {
			return res, fmt.Errorf("enqueue notification subscriptions: %w", err)
		}
	}
	if cur.Backfilled() {
		// Already backfilled: catch up on what happened since instead.
		if err := e.st.SetCursors(ctx, conn.ID, patch, time.Time{}); err != nil {
			return res, err
		}
		if _, err := jobs.Insert(ctx, PollArgs{ConnectionID: conn.ID, All: true}, nil); err != nil {
			return res, fmt.Errorf("enqueue catch-up poll: %w", err)
		}
		res.Connection, _ = e.st.GetConnection(ctx, conn.ID)
		return res, nil
	}
	pl, ok := cur.Plan, cur.HasPlan
	if !ok {
		first := ""
		if hs, ok := prov.(provider.HistoryStarter); ok {
			first = hs.FirstDay(rings)
		}
		pl = e.newPlan(now, loc, first)
		patch.plan(pl)
	}
	if err := e.st.SetCursors(ctx, conn.ID, patch, time.Time{}); err != nil {
		return res, err
	}
	params := e.backfillJobs(conn, cur, pl)
	if len(params) > 0 {
		if _, err := jobs.InsertMany(ctx, params); err != nil {
			return res, fmt.Errorf("enqueue backfill: %w", err)
		}
	}
	e.log.InfoContext(ctx, "connection linked", "connection", conn.ID, "client_uuid", conn.ClientUUID, "user_id", conn.UserID,
		"external_user_id", conn.ExternalUserID, "backfill_from", pl.from, "backfill_to", pl.to, "jobs", len(params))
	res.Windows, res.From, res.To = len(params), pl.from, pl.to
	res.Connection, err = e.st.GetConnection(ctx, conn.ID)
	return res, err
}

// maxLinkWait bounds how long Link sits out the provider's rate limit.
const maxLinkWait = 2 * time.Minute

// backfillJobs lists the jobs that finish the backfill plan pl of conn:
// one per collection and window not yet done, and one for a window stored
// but not normalized.
func (e *Engine) backfillJobs(conn store.Connection, cur Cursors, pl plan) []river.InsertManyParams {
	var params []river.InsertManyParams
	for _, w := range pl.windows() {
		if cur.Normalized[w.from] {
			continue
		}
		n := len(params)
		for _, coll := range e.collections(conn.DataSource, byDay) {
			if cur.Coll(coll).Windows[w.from].Done {
				continue
			}
			params = append(params, river.InsertManyParams{Args: BackfillArgs{ConnectionID: conn.ID, Collection: coll, From: w.from, To: w.to}})
		}
		if len(params) == n {
			// Stored but not normalized when the process stopped: one job
			// finishes the window.
			params = append(params, river.InsertManyParams{Args: BackfillArgs{ConnectionID: conn.ID, Collection: e.collections(conn.DataSource, byDay)[0], From: w.from, To: w.to}})
		}
	}
	return params
}

// waitRateLimit runs fn again after the provider's Retry-After while it is rate
// limited: Link runs in the foreground, not as a job that could snooze.
func waitRateLimit(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(maxLinkWait)
	for {
		err := fn()
		if provider.KindOf(err) != provider.KindRateLimited {
			return err
		}
		wait := max(provider.RetryAfter(err), time.Second)
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		if err := provider.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// plan is a connection's backfill: local days from..to in windows of
// window days, newest first.
type plan struct {
	from, to string
	window   int
}

func (p plan) String() string { return p.from + "/" + p.to + "/" + strconv.Itoa(p.window) }

func parsePlan(s string) (plan, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return plan{}, false
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 1 {
		return plan{}, false
	}
	if _, err := time.Parse(time.DateOnly, parts[0]); err != nil {
		return plan{}, false
	}
	if _, err := time.Parse(time.DateOnly, parts[1]); err != nil || parts[1] < parts[0] {
		return plan{}, false
	}
	return plan{from: parts[0], to: parts[1], window: n}, true
}

func (p plan) windows() []span {
	var out []span
	for to := p.to; to >= p.from; to = addDays(to, -p.window) {
		from := addDays(to, -(p.window - 1))
		if from < p.from {
			from = p.from
		}
		out = append(out, span{from, to})
	}
	return out
}

// earliestHistory bounds a whole-history backfill when the provider says
// neither when the account's history starts nor how long it keeps data:
// no wearable API serves data from before it.
const earliestHistory = "2015-01-01"

// newPlan covers the configured days up to today in the user's zone. Without
// a zone "today" is taken one day ahead of UTC, which is today or later
// everywhere.
func (e *Engine) newPlan(now time.Time, loc *time.Location, firstDay string) plan {
	to := dayOf(now, loc)
	if loc == nil {
		to = addDays(to, 1)
	}
	from := addDays(to, -(e.cfg.BackfillDays - 1))
	if e.cfg.BackfillAll {
		from = earliestHistory
		if firstDay != "" && firstDay > from {
			from = firstDay
		}
	}
	return plan{from: from, to: to, window: e.cfg.WindowDays}
}

// backfillWorker runs BackfillArgs.
//
// A window's job stores its collection's documents raw and marks the
// window done for that collection. The job that completes the last
// collection of a window normalizes the window's days once (every
// collection of a day must be there for its summaries to be whole, and
// normalizing after each collection would redo each day 17 times). A job
// run again after a crash finds its marks and skips what is done.
type backfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	e *Engine
}

// Timeout allows a window of heart rate (thousands of rows, several pages,
// each possibly retried) to finish.
func (w *backfillWorker) Timeout(*river.Job[BackfillArgs]) time.Duration { return 10 * time.Minute }

func (w *backfillWorker) Work(ctx context.Context, job *river.Job[BackfillArgs]) error {
	e, a := w.e, job.Args
	conn, active, err := e.activeConnection(ctx, a.ConnectionID)
	if err != nil {
		if health.ErrorCode(err) == health.ENOTFOUND {
			return river.JobCancel(err)
		}
		return err
	}
	if !active {
		e.log.InfoContext(ctx, "backfill skipped: connection not active", "connection", conn.ID, "status", conn.Status)
		return nil
	}
	cur := CursorsOf(conn)
	if cur.Backfilled() {
		return nil
	}
	if !cur.Coll(a.Collection).Windows[a.From].Done {
		if err := e.backfillWindow(ctx, conn, cur, a); err != nil {
			return err
		}
	}
	return e.finishWindow(ctx, conn.ID, a.From, a.To)
}

// seriesChunkDays is how many days of heart rate or battery a backfill job
// reads and stores at a time (about five pages of heart rate), recording
// its progress after each, so that a job snoozed by a 429 or cut by a
// crash goes on where it stopped instead of reading a whole window again.
const seriesChunkDays = 7

// readAheadDays bounds how many days one backfill job of a date
// collection reads (see backfillWindow).
const readAheadDays = 400

// olderWindows lists the windows before a's, newest first, that a's job
// reads ahead for its collection: contiguous, not yet done, within
// readAheadDays of a.To.
func olderWindows(cur Cursors, a BackfillArgs) []span {
	if !cur.HasPlan {
		return nil
	}
	windows := cur.Coll(a.Collection).Windows
	var out []span
	for _, w := range cur.Plan.windows() {
		if w.to >= a.From {
			continue
		}
		if windows[w.from].Done || daysBetween(w.from, a.To) >= readAheadDays {
			break
		}
		out = append(out, w)
	}
	return out
}

// backfillWindow reads a's window; cur is conn's cursors, decoded once by
// the job.
func (e *Engine) backfillWindow(ctx context.Context, conn store.Connection, cur Cursors, a BackfillArgs) error {
	loc, err := e.location(ctx, conn)
	if err != nil {
		return err
	}
	prov, err := e.providerOf(conn)
	if err != nil {
		return err
	}
	auth := e.auth(conn)
	cc := cur.Coll(a.Collection)
	patch := cursorPatch{}
	patch.window(a.Collection, a.From, WindowState{Done: true})
	from, step := a.From, 10000
	if e.isSeries(conn.DataSource, a.Collection) {
		step = seriesChunkDays
		if p := cc.Windows[a.From].Through; p != "" && p >= a.From {
			from = addDays(p, 1)
		}
	} else {
		// One range read covers many days of a date collection (a page holds
		// hundreds of documents, and a provider may return years in one), so
		// the job reads the older windows of its collection too, up to
		// readAheadDays, and marks them done: their own jobs then only
		// finish them. Reading a year costs a few pages instead of one
		// request a window.
		for _, w := range olderWindows(cur, a) {
			from = w.from
			patch.window(a.Collection, w.from, WindowState{Done: true})
		}
	}
	newest := cur.Newest
	for from <= a.To {
		to := addDays(from, step-1)
		if to > a.To {
			to = a.To
		}
		docs, err := prov.Fetch(ctx, auth, a.Collection, provider.Window{From: from, To: to, Loc: loc})
		if provider.KindOf(err) == provider.KindMissingScope {
			e.log.WarnContext(ctx, "backfill: scope not granted", "connection", conn.ID, "collection", a.Collection, "err", err)
			patch.scopeMissing(a.Collection, true)
			break
		}
		if err != nil {
			return e.jobError(ctx, conn.ID, "backfill "+a.Collection+" "+from+".."+to, err)
		}
		res, _, err := e.storeRaw(ctx, conn, docs)
		if err != nil {
			return err
		}
		newest = maxDay(newest, res.newest)
		e.log.DebugContext(ctx, "backfill stored", "connection", conn.ID, "collection", a.Collection, "from", from, "to", to,
			"documents", len(docs), "inserted", res.raw.Inserted, "updated", res.raw.Updated)
		if to < a.To {
			part := cursorPatch{}
			part.window(a.Collection, a.From, WindowState{Through: to})
			if err := e.st.SetCursors(ctx, conn.ID, part, time.Time{}); err != nil {
				return err
			}
		}
		from = addDays(to, 1)
	}
	if newest > cur.Newest {
		patch.newest(newest, e.now())
	}
	if cur.HasPlan && a.To == cur.Plan.to {
		// The newest window is the collection's starting point for
		// webhook reads and reconciliation.
		to := a.To
		if e.isSeries(conn.DataSource, a.Collection) {
			// The last days of heart rate and battery may still grow
			// (see duePolls): read them again.
			to = addDays(to, -2)
		}
		patch.syncedTo(a.Collection, maxDay(cc.SyncedTo, to))
		patch.syncedAt(a.Collection, e.now())
	}
	return e.st.SetCursors(ctx, conn.ID, patch, e.now())
}

// finishWindow normalizes a window once all its collections are stored,
// and records the end of the backfill once every window is normalized.
func (e *Engine) finishWindow(ctx context.Context, id int64, from, to string) error {
	conn, err := e.st.GetConnection(ctx, id)
	if err != nil {
		return err
	}
	cur := CursorsOf(conn)
	if cur.Backfilled() {
		return nil
	}
	for _, coll := range e.collections(conn.DataSource, byDay) {
		if !cur.Coll(coll).Windows[from].Done {
			return nil // another collection's job finishes the window
		}
	}
	if !cur.Normalized[from] {
		hw, err := e.normalizeDays(ctx, conn, from, to)
		if err != nil {
			return err
		}
		e.log.InfoContext(ctx, "backfill window normalized", "connection", id, "from", from, "to", to,
			"inserted", hw.Inserted, "updated", hw.Updated, "unchanged", hw.Unchanged)
		done := cursorPatch{}
		done.normalized(from, true)
		if err := e.st.SetCursors(ctx, id, done, time.Time{}); err != nil {
			return err
		}
		if conn, err = e.st.GetConnection(ctx, id); err != nil {
			return err
		}
		cur = CursorsOf(conn)
	}
	if !cur.HasPlan {
		return nil
	}
	pl := cur.Plan
	patch := cursorPatch{}
	for _, w := range pl.windows() {
		if !cur.Normalized[w.from] {
			return nil
		}
		patch.normalized(w.from, false)
		for _, coll := range e.collections(conn.DataSource, byDay) {
			patch.window(coll, w.from, WindowState{})
		}
	}
	patch.backfillDone(e.now())
	e.log.InfoContext(ctx, "backfill finished", "connection", id, "from", pl.from, "to", pl.to)
	return e.st.SetCursors(ctx, id, patch, time.Time{})
}
