// Package pull copies one person's history at one provider into a
// directory: the raw documents of every collection as the provider sent
// them, the ROOK documents made from them, and flat CSV and Parquet tables
// of both. A second run fetches only what is new and merges it into the
// files. Everything it knows about the provider comes through the provider
// seam: the collection table, Fetch, and the optional
// DocumentReader (required here), Normalizer and Tabler.
package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// Window is one unit of work: a collection over a span of days (YYYY-MM-DD,
// inclusive). Collections read whole and singletons have one window without
// days.
type Window struct {
	Collection string
	From, To   string
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
	// Provider is read from; it must implement provider.DocumentReader to
	// merge into the files, and provider.Normalizer for the ROOK documents
	// (without it there are none). A provider.Tabler adds its long tables.
	Provider provider.Provider
	// Auth gives the access token.
	Auth provider.Auth
	// Out is the directory of the files and of the state file.
	Out string
	// Since and Until bound the days (inclusive). Since defaults to the
	// first day an earlier run in Out fetched; Until to today in Location.
	Since, Until string
	// Location places time-series rows (heart rate) on days and is the
	// user's time zone for the ROOK documents. Nil: UTC for the rows, and
	// each document's own offset for the ROOK documents.
	Location *time.Location
	// Collections to fetch (default: every collection of the provider).
	Collections []string
	// Workers is the number of requests in flight (default 8). The client's
	// rate limiter still paces them.
	Workers int
	// SeriesWindowDays is the longest span of one window of a time series
	// (default 30: the provider splits longer spans into requests of its
	// own, and a month of heart rate is already many pages).
	// DocumentWindowDays is that of the other dated collections (default
	// 90: about one page of a hundred documents, since most have one
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

	// FHIR also writes the ROOK documents as FHIR R4 NDJSON under FHIRDir.
	FHIR bool

	// table is the provider's collection table, by name.
	table map[string]provider.Collection
}

func (o *Options) fill() error {
	if o.Provider == nil {
		return errors.New("pull: no provider to read from")
	}
	if _, ok := o.Provider.(provider.DocumentReader); !ok {
		return fmt.Errorf("pull: %s documents cannot be kept in files (the provider reads none back)", o.Provider.Info().Name)
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
	if o.SeriesWindowDays <= 0 {
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
	o.table = map[string]provider.Collection{}
	for _, c := range o.Provider.Collections() {
		o.table[c.Name] = c
	}
	if len(o.Collections) == 0 {
		for _, c := range o.Provider.Collections() {
			o.Collections = append(o.Collections, c.Name)
		}
	}
	for _, name := range o.Collections {
		if _, ok := o.table[name]; !ok {
			return fmt.Errorf("pull: unknown collection %q", name)
		}
	}
	if o.Until == "" {
		o.Until = o.Now().In(o.rowZone()).Format(time.DateOnly)
	}
	if o.Since == "" {
		return errors.New("pull: no first day: give since (a later run in the same directory starts where the first one did)")
	}
	for _, d := range []string{o.Since, o.Until} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
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
	// scope, the membership lapsed or the user's app is too old for them,
	// with the reason and what to do about it.
	Skipped map[string]string
	// Files lists the files written, relative to Out.
	Files []string
}

// ErrUnauthorized is returned when the provider refuses the token itself.
var ErrUnauthorized = errors.New("the API refused the access token")

// Run fetches every window in parallel, merges what arrived into the files
// of Out, records in the state file how far each collection is complete and
// rewrites the derived files. When a window fails, the collection keeps
// what came before the failure and the error is returned after the files
// are written; a later run starts again from there.
//
// The writing starts during the fetching: a collection whose windows are
// all done is merged into its file and its table written while the others
// are still being fetched. Only what needs every collection (the ROOK
// documents and the provider's tables) waits for the end, and then only for
// the last collection's merge, not for the tables.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	if opt.Out == "" {
		return nil, errors.New("pull: no output directory")
	}
	if opt.Provider == nil {
		return nil, errors.New("pull: no provider to read from")
	}
	st, err := loadState(opt.Out, opt.Provider.Info().DataSource)
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
	// One processor fewer than there are: the fetching needs one to read
	// the answers as they come, or it falls behind the writing.
	work := newTasksN(runtime.GOMAXPROCS(0) - 1)
	// Tables still being written when Run returns early must not outlive it.
	defer work.wait()
	var (
		streamMu sync.Mutex
		streamed = map[string]*collWrite{}
	)
	results := fetchAll(ctx, &opt, plan, func(coll string, rs []windowResult) {
		// A collection that brought nothing waits for the end, where a
		// refused token leaves the directory as it was and an unchanged
		// file is left alone.
		if sp := fetchedSpan(rs); sp.windows == 0 || (sp.through == "" && !slices.ContainsFunc(rs[:sp.windows], func(r windowResult) bool { return len(r.docs) > 0 })) {
			return
		}
		// The merge is done here, on the worker that fetched the last
		// window, and only the table waits for a processor: what needs
		// every collection's documents then starts as soon as the last
		// one is in, beside the tables still being written.
		cw := &collWrite{tabled: make(chan struct{})}
		cw.merge(&opt, coll, rs)
		streamMu.Lock()
		streamed[coll] = cw
		streamMu.Unlock()
		work.do(func() { cw.writeTable(&opt, coll) })
	})
	opt.Progress.Writing()

	var fetchErr error
	byColl := map[string][]windowResult{}
	refused, fetched := false, false
	for _, r := range results {
		byColl[r.w.Collection] = append(byColl[r.w.Collection], r)
		fetched = fetched || r.err == nil
		if provider.KindOf(r.err) == provider.KindInvalidToken {
			refused = true
			fetchErr = r.err
		}
	}
	if refused && !fetched {
		// Nothing to merge: leave the directory as it was.
		return sum, unauthorized(&opt, fetchErr)
	}
	merged := map[string]*collWrite{}
	for _, coll := range opt.Collections {
		rs := byColl[coll]
		span := fetchedSpan(rs)
		n := 0
		for _, r := range rs[:span.windows] {
			n += len(r.docs)
		}
		sum.Fetched[coll] = n
		if span.windows < len(rs) {
			r := rs[span.windows]
			switch provider.KindOf(r.err) {
			case provider.KindMissingScope, provider.KindForbidden, provider.KindUpgradeRequired:
				sum.Skipped[coll] = skipReason(&opt, r.err)
			default:
				if fetchErr == nil || errors.Is(fetchErr, context.Canceled) {
					fetchErr = fmt.Errorf("fetch %s: %w", r.w, r.err)
				}
			}
		}
		cw, ok := streamed[coll]
		if !ok {
			if n == 0 && span.through == "" && fileExists(opt.Out, rawFileName(&opt, coll)) {
				continue // nothing new and the file is already there
			}
			cw = &collWrite{}
			cw.merge(&opt, coll, rs)
		}
		if cw.err != nil {
			return sum, cw.err
		}
		merged[coll] = cw
		sum.Stored[coll] = len(cw.stored)
		if span.through != "" {
			st.advance(coll, rs[0].w.From, span.through)
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
		return sum, unauthorized(&opt, fetchErr)
	}
	return sum, fetchErr
}

// span is what a collection's windows (in day order) brought: those
// before the first failure.
type span struct {
	windows int    // windows before the first failure
	through string // the last day of the last of those, "" if none has days
}

func fetchedSpan(rs []windowResult) span {
	var s span
	for _, r := range rs {
		if r.err != nil {
			break
		}
		s.windows++
		s.through = r.w.To
	}
	return s
}

// unauthorized says what to do about a refused token: the command line
// takes it from --token or from <DATA_SOURCE>_TOKEN.
func unauthorized(opt *Options, err error) error {
	info := opt.Provider.Info()
	return fmt.Errorf("%s: %w (%s): check --token or %s_TOKEN, or log in again: %v",
		info.Name, ErrUnauthorized, provider.KindOf(err), strings.ToUpper(info.DataSource), err)
}

// planWindows cuts each collection's days into windows. A collection whose
// state says it is complete through day D starts again at D-1, since
// providers still revise the documents of the last two days; one asked for
// earlier than it was ever fetched starts at Since.
func planWindows(opt *Options, st *state) []Window {
	var plan []Window
	for _, coll := range opt.Collections {
		c := opt.table[coll]
		if c.Range == provider.RangeAll || c.Range == provider.RangeSingleton {
			plan = append(plan, Window{Collection: coll})
			continue
		}
		start := opt.Since
		if s, ok := st.Collections[coll]; ok && s.From <= opt.Since && s.Through >= opt.Since {
			start = max(opt.Since, min(addDays(s.Through, -1), addDays(opt.Until, -1)))
		}
		span := opt.DocumentWindowDays
		if c.TimeSeries {
			span = opt.SeriesWindowDays
		}
		plan = append(plan, splitDays(coll, start, opt.Until, span)...)
	}
	return plan
}

type windowResult struct {
	w    Window
	docs []rawDoc
	err  error
}

// fetchAll runs the windows on a bounded pool. The slowest collections (the
// paged time series) are started first so they do not finish last alone. A
// refused token stops everything; other failures stop only later windows
// of their own collection. done is called, from a worker, with each
// collection's results in plan order as soon as its last window is over.
func fetchAll(ctx context.Context, opt *Options, plan []Window, done func(coll string, rs []windowResult)) []windowResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]windowResult, len(plan))
	order := make([]int, len(plan))
	pending := map[string][]int{} // collection -> its windows, in plan order
	left := map[string]int{}
	for i, w := range plan {
		order[i] = i
		pending[w.Collection] = append(pending[w.Collection], i)
		left[w.Collection]++
	}
	slices.SortStableFunc(order, func(a, b int) int { return weight(opt, plan[b]) - weight(opt, plan[a]) })

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
					docs, err := fetch(ctx, opt, w)
					// Read here, while other requests are on their way.
					r = windowResult{w: w, docs: readFetched(opt, docs), err: err}
				}
				mu.Lock()
				results[i] = r
				if r.err != nil {
					failed[w.Collection] = true
					if provider.KindOf(r.err) == provider.KindInvalidToken {
						cancel()
					}
				}
				if r.err == nil || !errors.Is(r.err, context.Canceled) {
					opt.Progress.Fetched(w, len(r.docs), r.err)
				}
				left[w.Collection]--
				var rs []windowResult
				if left[w.Collection] == 0 {
					for _, j := range pending[w.Collection] {
						rs = append(rs, results[j])
					}
				}
				mu.Unlock()
				if rs != nil {
					done(w.Collection, rs)
				}
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

// readFetched reads what orders each fetched document and checks it.
func readFetched(opt *Options, docs []provider.Document) []rawDoc {
	if len(docs) == 0 {
		return nil
	}
	r := opt.Provider.(provider.DocumentReader)
	out := make([]rawDoc, len(docs))
	for i, d := range docs {
		out[i] = fetchedRawDoc(r, d, opt.rowZone())
	}
	return out
}

// fetch reads one window. A singleton is fetched like any collection, not
// taken from Identify: that reads the account's other documents too (WHOOP's
// profile and body measurement, Oura's ring configuration), once per
// singleton window, only to keep one of them.
func fetch(ctx context.Context, opt *Options, w Window) ([]provider.Document, error) {
	pw := provider.Window{From: dayOr(w.From, opt.Since), To: dayOr(w.To, opt.Until), Loc: opt.rowZone()}
	return opt.Provider.Fetch(ctx, opt.Auth, w.Collection, pw)
}

// splitDays cuts [from, to] into the fewest windows of at most maxSpan
// days, all of nearly the same length.
func splitDays(coll string, from, to string, maxSpan int) []Window {
	t1, _ := time.Parse(time.DateOnly, from)
	t2, _ := time.Parse(time.DateOnly, to)
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
func weight(opt *Options, w Window) int {
	if opt.table[w.Collection].TimeSeries {
		return 1
	}
	return 0
}

func dayOr(d, def string) string {
	if d == "" {
		return def
	}
	return d
}

func addDays(d string, n int) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}
