// Package pull copies one person's Oura history into a directory: the raw
// documents of every collection as Oura sent them, the ROOK documents made
// from them, and flat CSV and Parquet tables of both. A second run fetches
// only what is new and merges it into the files.
package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// Fetcher reads the documents of one collection whose day lies in [from,
// to]; *oura.User is one.
type Fetcher interface {
	Days(ctx context.Context, coll string, from, to oura.Date, loc *time.Location) ([]oura.RawDocument, error)
}

// Window is one unit of work: a collection over a span of days. Undated
// collections (personal_info, ring_configuration) have one window without
// days.
type Window struct {
	Collection string
	From, To   oura.Date
}

func (w Window) String() string {
	if w.From == "" {
		return w.Collection
	}
	return fmt.Sprintf("%s %s..%s", w.Collection, w.From, w.To)
}

// Progress hears about the work as it goes. Calls come from several
// goroutines, but never at the same time.
type Progress interface {
	// Planned is called once with the number of windows to fetch.
	Planned(windows int)
	// Fetched is called when a window is done (err nil) or has failed.
	Fetched(w Window, docs int, err error)
	// Writing is called when the fetching is over and the files are written.
	Writing()
}

// Options configure a pull. Zero values take the defaults noted.
type Options struct {
	User Fetcher
	// Out is the directory of the files and of the state file.
	Out string
	// Since and Until bound the days (inclusive). Since defaults to the
	// first day an earlier run in Out fetched; Until to today in Location.
	Since, Until oura.Date
	// Location places time-series rows (heartrate, ring battery) on days
	// and is the user's time zone for the ROOK documents. Nil: UTC for the
	// rows, and each document's own offset for the ROOK documents.
	Location *time.Location
	// Collections to fetch (default: every collection of oura.Collections).
	Collections []string
	// Workers is the number of requests in flight (default 8). The client's
	// rate limiter still paces them.
	Workers int
	// SeriesWindowDays is the longest span of one request for the time
	// series, heartrate and ring_battery_level (default 30, the most Oura
	// allows). DocumentWindowDays is that of the other dated collections
	// (default 90: about one page of a hundred documents, since most have one
	// document a day). The days are split into equal windows no longer than
	// that: each window is one request or a few pages, and fewer requests
	// leave more of the rate limit.
	SeriesWindowDays, DocumentWindowDays int
	// ClientUUID and UserID go into the ROOK documents (default "local" and
	// "me", as for wearlink normalize).
	ClientUUID, UserID string
	Progress           Progress
	Logger             *slog.Logger
	Now                func() time.Time
}

func (o *Options) fill() error {
	if o.User == nil {
		return errors.New("pull: no Oura user to read from")
	}
	if o.Out == "" {
		return errors.New("pull: no output directory")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = silent{}
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.SeriesWindowDays <= 0 || o.SeriesWindowDays > 30 {
		o.SeriesWindowDays = 30
	}
	if o.DocumentWindowDays <= 0 {
		o.DocumentWindowDays = 90
	}
	if o.ClientUUID == "" {
		o.ClientUUID = "local"
	}
	if o.UserID == "" {
		o.UserID = "me"
	}
	if len(o.Collections) == 0 {
		for _, c := range oura.Collections() {
			o.Collections = append(o.Collections, c.Name)
		}
	}
	for _, name := range o.Collections {
		if _, ok := oura.LookupCollection(name); !ok {
			return fmt.Errorf("pull: unknown collection %q", name)
		}
	}
	if o.Until == "" {
		o.Until = oura.Date(o.Now().In(o.rowZone()).Format(time.DateOnly))
	}
	if o.Since == "" {
		return errors.New("pull: no first day: give since (a later run in the same directory starts where the first one did)")
	}
	for _, d := range []oura.Date{o.Since, o.Until} {
		if _, err := d.Time(); err != nil {
			return fmt.Errorf("pull: day %q is not YYYY-MM-DD", d)
		}
	}
	if o.Until < o.Since {
		return fmt.Errorf("pull: until %s is before since %s", o.Until, o.Since)
	}
	return nil
}

// rowZone is the zone that places time-series rows on days.
func (o *Options) rowZone() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

type silent struct{}

func (silent) Planned(int)                {}
func (silent) Fetched(Window, int, error) {}
func (silent) Writing()                   {}

// Summary says what a run did.
type Summary struct {
	// Windows is the number of windows fetched.
	Windows int
	// Fetched counts the documents received per collection, Stored the
	// documents in each collection's file afterwards.
	Fetched, Stored map[string]int
	// Skipped names collections left out because the token lacks their
	// scope (or the user's app is too old for them), with the reason.
	Skipped map[string]string
	// Files lists the files written, relative to Out.
	Files []string
}

// ErrUnauthorized is returned when Oura refuses the token itself.
var ErrUnauthorized = errors.New("the Oura API refused the access token")

// Run fetches every window in parallel, merges what arrived into the files
// of Out, records in the state file how far each collection is complete and
// rewrites the derived files. When a window fails, the collection keeps
// what came before the failure and the error is returned after the files
// are written; a later run starts again from there.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	if opt.Out == "" {
		return nil, errors.New("pull: no output directory")
	}
	st, err := loadState(opt.Out)
	if err != nil {
		return nil, err
	}
	if opt.Since == "" {
		opt.Since = st.earliest()
	}
	if err := opt.fill(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	plan := planWindows(&opt, st)
	sum := &Summary{Windows: len(plan), Fetched: map[string]int{}, Stored: map[string]int{}, Skipped: map[string]string{}}
	opt.Progress.Planned(len(plan))
	results := fetchAll(ctx, &opt, plan)
	opt.Progress.Writing()

	var fetchErr error
	byColl := map[string][]windowResult{}
	refused, fetched := false, false
	for _, r := range results {
		byColl[r.w.Collection] = append(byColl[r.w.Collection], r)
		fetched = fetched || r.err == nil
		if k := oura.KindOf(r.err); k == oura.KindInvalidToken || k == oura.KindForbidden {
			refused = true
			fetchErr = r.err
		}
	}
	if refused && !fetched {
		// Nothing to merge: leave the directory as it was.
		return sum, unauthorized(fetchErr)
	}
	merged := map[string][]json.RawMessage{}
	for _, coll := range opt.Collections {
		rs := byColl[coll]
		var docs []oura.RawDocument
		through := oura.Date("")
		for _, r := range rs {
			if r.err != nil {
				switch oura.KindOf(r.err) {
				case oura.KindMissingScope, oura.KindUpgradeRequired:
					sum.Skipped[coll] = r.err.Error()
				default:
					if fetchErr == nil || errors.Is(fetchErr, context.Canceled) {
						fetchErr = fmt.Errorf("fetch %s: %w", r.w, r.err)
					}
				}
				break
			}
			docs = append(docs, r.docs...)
			through = r.w.To
		}
		sum.Fetched[coll] = len(docs)
		if len(docs) == 0 && through == "" && fileExists(opt.Out, rawFileName(coll)) {
			continue // nothing new and the file is already there
		}
		stored, err := mergeRaw(opt.Out, coll, docs, opt.rowZone())
		if err != nil {
			return sum, err
		}
		merged[coll] = stored
		sum.Stored[coll] = len(stored)
		if through != "" {
			st.advance(coll, rs[0].w.From, through)
		}
	}
	if err := st.save(opt.Out); err != nil {
		return sum, err
	}
	files, err := writeDerived(opt.Out, &opt, merged)
	sum.Files = files
	if err != nil {
		return sum, err
	}
	if refused {
		return sum, unauthorized(fetchErr)
	}
	return sum, fetchErr
}

func unauthorized(err error) error {
	return fmt.Errorf("%w (%s): check --token or OURA_TOKEN, or log in again: %v", ErrUnauthorized, oura.KindOf(err), err)
}

// planWindows cuts each collection's days into windows. A collection whose
// state says it is complete through day D starts again at D-1, since Oura
// still updates the documents of the last two days; one asked for earlier
// than it was ever fetched starts at Since.
func planWindows(opt *Options, st *state) []Window {
	var plan []Window
	for _, coll := range opt.Collections {
		c, _ := oura.LookupCollection(coll)
		if c.Range == oura.RangeNone || c.Range == oura.RangeSingleton {
			plan = append(plan, Window{Collection: coll})
			continue
		}
		start := opt.Since
		if s, ok := st.Collections[coll]; ok && s.From <= opt.Since && s.Through >= opt.Since {
			start = max(opt.Since, min(addDays(s.Through, -1), addDays(opt.Until, -1)))
		}
		span := opt.DocumentWindowDays
		if c.Range == oura.RangeDateTime {
			span = opt.SeriesWindowDays
		}
		plan = append(plan, splitDays(coll, start, opt.Until, span)...)
	}
	return plan
}

type windowResult struct {
	w    Window
	docs []oura.RawDocument
	err  error
}

// fetchAll runs the windows on a bounded pool. The slowest collections (the
// paged time series) are started first so they do not finish last alone. A
// refused token stops everything; other failures stop only later windows
// of their own collection.
func fetchAll(ctx context.Context, opt *Options, plan []Window) []windowResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]windowResult, len(plan))
	order := make([]int, len(plan))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return weight(plan[b]) - weight(plan[a]) })

	jobs := make(chan int)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed = map[string]bool{}
	)
	for range min(opt.Workers, len(plan)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				w := plan[i]
				mu.Lock()
				stop := failed[w.Collection]
				mu.Unlock()
				var r windowResult
				if stop || ctx.Err() != nil {
					r = windowResult{w: w, err: context.Canceled}
				} else {
					docs, err := opt.User.Days(ctx, w.Collection, dayOr(w.From, opt.Since), dayOr(w.To, opt.Until), opt.rowZone())
					r = windowResult{w: w, docs: docs, err: err}
				}
				results[i] = r
				mu.Lock()
				if r.err != nil {
					failed[w.Collection] = true
					if k := oura.KindOf(r.err); k == oura.KindInvalidToken || k == oura.KindForbidden {
						cancel()
					}
				}
				if r.err == nil || !errors.Is(r.err, context.Canceled) {
					opt.Progress.Fetched(w, len(r.docs), r.err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, i := range order {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return results
}

// splitDays cuts [from, to] into the fewest windows of at most maxSpan
// days, all of nearly the same length.
func splitDays(coll string, from, to oura.Date, maxSpan int) []Window {
	t1, _ := from.Time()
	t2, _ := to.Time()
	days := int(t2.Sub(t1).Hours()/24) + 1
	n := (days + maxSpan - 1) / maxSpan
	var out []Window
	for i := range n {
		a := addDays(from, i*days/n)
		b := addDays(from, (i+1)*days/n-1)
		out = append(out, Window{Collection: coll, From: a, To: b})
	}
	return out
}

// weight ranks windows by expected cost: time series answer in many pages.
func weight(w Window) int {
	c, _ := oura.LookupCollection(w.Collection)
	if c.Range == oura.RangeDateTime {
		return 1
	}
	return 0
}

func dayOr(d, def oura.Date) oura.Date {
	if d == "" {
		return def
	}
	return d
}

func addDays(d oura.Date, n int) oura.Date {
	t, err := d.Time()
	if err != nil {
		return d
	}
	return oura.Date(t.AddDate(0, 0, n).Format(time.DateOnly))
}
