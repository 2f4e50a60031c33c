package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// ingestResult says what storing a batch changed.
type ingestResult struct {
	raw    store.RawWrite
	health store.HealthWrite
	// newest is the newest day among the batch's documents.
	newest string
}

// ingest stores documents as the provider sent them and normalizes the days they
// changed. Storing comes first and stands on its own: a document the
// normalizer cannot use is still kept raw.
//
// force normalizes every day of docs, changed or not: a job run again after
// a crash between storing and normalizing finds its documents unchanged.
func (e *Engine) ingest(ctx context.Context, conn store.Connection, docs []provider.Document, force bool) (ingestResult, error) {
	res, changed, undatedChanged, err := e.storeDocs(ctx, conn, docs, force)
	if err != nil || (len(changed) == 0 && !undatedChanged) {
		return res, err
	}
	hw, err := e.renormalize(ctx, conn, changed, undatedChanged)
	res.health = hw
	return res, err
}

// storeDocs stores documents as ingest does and returns the days to normalize
// (with force, every day of docs) and whether undated documents changed,
// for a caller that normalizes later.
func (e *Engine) storeDocs(ctx context.Context, conn store.Connection, docs []provider.Document, force bool) (ingestResult, []string, bool, error) {
	res, undatedChanged, err := e.storeRaw(ctx, conn, docs)
	if err != nil {
		return res, nil, false, err
	}
	changed := res.raw.ChangedDays
	if force {
		set := map[string]bool{}
		for _, d := range docs {
			if d.Day == "" {
				undatedChanged = true
			} else if !set[string(d.Day)] {
				set[string(d.Day)] = true
				changed = append(changed, string(d.Day))
			}
		}
	}
	return res, changed, undatedChanged, nil
}

// storeRaw stores documents as the provider sent them and reports whether
// any of the undated ones (singletons, collections read whole) changed.
func (e *Engine) storeRaw(ctx context.Context, conn store.Connection, docs []provider.Document) (ingestResult, bool, error) {
	var res ingestResult
	if len(docs) == 0 {
		return res, false, nil
	}
	now := e.now()
	var dated, undated []store.RawDocument
	for _, d := range docs {
		rd := store.RawDocument{ConnectionID: conn.ID, Collection: d.Collection, ExternalID: d.ID, Day: string(d.Day), Body: d.Raw, FetchedAt: now}
		if rd.ExternalID == "" {
			// A document without an id (a provider's older records, or
			// a singleton) is one per day.
			rd.ExternalID = "day:" + rd.Day
		}
		if rd.Day == "" {
			undated = append(undated, rd)
			continue
		}
		if rd.Day > res.newest {
			res.newest = rd.Day
		}
		dated = append(dated, rd)
	}
	undatedChanged := false
	if len(undated) > 0 {
		w, err := e.st.PutRawDocuments(ctx, undated)
		if err != nil {
			return res, false, fmt.Errorf("store raw documents: %w", err)
		}
		undatedChanged = w.Inserted+w.Updated > 0
		res.raw = w
	}
	if len(dated) > 0 {
		w, err := e.st.PutRawDocuments(ctx, dated)
		if err != nil {
			return res, false, fmt.Errorf("store raw documents: %w", err)
		}
		res.raw.Inserted += w.Inserted
		res.raw.Updated += w.Updated
		res.raw.Unchanged += w.Unchanged
		res.raw.ChangedDays = w.ChangedDays
	}
	return res, undatedChanged, nil
}

// normalizeDays rebuilds the health documents of days from..to (a whole
// backfill window), whatever changed.
func (e *Engine) normalizeDays(ctx context.Context, conn store.Connection, from, to string) (store.HealthWrite, error) {
	var days []string
	for d := from; d <= to; d = addDays(d, 1) {
		days = append(days, d)
	}
	return e.renormalize(ctx, conn, days, false)
}

// location is the user's time zone: the one the client set for the user,
// else nil, and the normalizer then uses the offsets of the user's own
// documents.
func (e *Engine) location(ctx context.Context, conn store.Connection) (*time.Location, error) {
	u, err := e.st.GetUser(ctx, conn.ClientUUID, conn.UserID)
	if err != nil {
		return nil, fmt.Errorf("user of connection %d: %w", conn.ID, err)
	}
	if u.TimeZone == "" {
		return nil, nil
	}
	loc, err := time.LoadLocation(u.TimeZone)
	if err != nil {
		e.log.WarnContext(ctx, "unknown user time zone, using the offsets of the provider's data", "connection", conn.ID, "time_zone", u.TimeZone)
		return nil, nil
	}
	return loc, nil
}

func dayOf(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(time.DateOnly)
}

// daysBetween is b - a in days; 0 when either is not a day.
func daysBetween(a, b string) int {
	ta, err1 := time.Parse(time.DateOnly, a)
	tb, err2 := time.Parse(time.DateOnly, b)
	if err1 != nil || err2 != nil {
		return 0
	}
	return int(tb.Sub(ta) / (24 * time.Hour)) // UTC dates: whole days
}

func addDays(day string, n int) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}

// asOfDay is the day personal_info and ring_configuration (the documents
// of docs without a day) are filed under: the local day their content last
// changed. It depends only on the stored
// documents, never on which days are being normalized, so normalizing any
// subset of days gives the same documents as normalizing everything with
// this AsOf.
func asOfDay(docs []store.RawDocument, loc *time.Location) string {
	var newest time.Time
	for _, d := range docs {
		if d.Day == "" && d.UpdatedAt.After(newest) {
			newest = d.UpdatedAt
		}
	}
	if newest.IsZero() {
		return ""
	}
	return dayOf(newest, loc)
}

// maxNormalizeTries bounds the re-runs when raw documents change while a
// day is being normalized by another process.
const maxNormalizeTries = 3

// normBatch is one normalization of a connection that several jobs share.
type normBatch struct {
	days    map[string]bool
	undated bool
	done    chan struct{}
	hw      store.HealthWrite
	err     error
}

// renormalize rebuilds the health documents of the changed days. Calls for
// one connection are batched: while a normalization runs, the days of
// every call that arrives join the next one, so the notifications of one
// sync (a read per collection, all finishing together) cost one or two
// normalizations, not one each. Each call returns when its days are done.
func (e *Engine) renormalize(ctx context.Context, conn store.Connection, changed []string, undatedChanged bool) (store.HealthWrite, error) {
	e.lockMu.Lock()
	b := e.batches[conn.ID]
	leader := b == nil
	if leader {
		b = &normBatch{days: map[string]bool{}, done: make(chan struct{})}
		e.batches[conn.ID] = b
	}
	for _, d := range changed {
		b.days[d] = true
	}
	b.undated = b.undated || undatedChanged
	e.lockMu.Unlock()
	if !leader {
		select {
		case <-b.done:
			return b.hw, b.err
		case <-ctx.Done():
			return store.HealthWrite{}, ctx.Err()
		}
	}
	unlock := e.lockConn(conn.ID)
	e.lockMu.Lock()
	delete(e.batches, conn.ID) // later calls start the next batch
	days := make([]string, 0, len(b.days))
	for d := range b.days {
		days = append(days, d)
	}
	undated := b.undated
	e.lockMu.Unlock()
	b.hw, b.err = e.renormalizeLocked(ctx, conn, days, undated)
	unlock()
	close(b.done)
	return b.hw, b.err
}

// renormalizeLocked does the work of renormalize. Outputs of a day may
// depend on its neighbours (sleep periods, samples near midnight, the zone
// of nearby documents), so the affected days are the changed days and their
// neighbours, each normalized with one more day of context on either side;
// only documents of affected days are kept, because a day at the edge of
// the loaded range lacks context.
func (e *Engine) renormalizeLocked(ctx context.Context, conn store.Connection, changed []string, undatedChanged bool) (store.HealthWrite, error) {
	loc, err := e.location(ctx, conn)
	if err != nil {
		return store.HealthWrite{}, err
	}
	affected := map[string]bool{}
	for _, d := range changed {
		for k := -1; k <= 1; k++ {
			affected[addDays(d, k)] = true
		}
	}
	if undatedChanged {
		// The day the changed undated documents are filed under is affected
		// too (the spans' own reads decide what they are filed with).
		undated, err := e.st.RawDocuments(ctx, conn.ID, e.collections(conn.DataSource, whole), "", "")
		if err != nil {
			return store.HealthWrite{}, err
		}
		if asOf := asOfDay(undated, loc); asOf != "" {
			affected[asOf] = true
		}
	}
	var total store.HealthWrite
	for _, span := range spans(affected) {
		hw, err := e.normalizeSpan(ctx, conn, loc, span, affected)
		total.Inserted += hw.Inserted
		total.Updated += hw.Updated
		total.Unchanged += hw.Unchanged
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// span is a run of days loaded and normalized together.
type span struct{ from, to string }

// spans groups the affected days into runs, so that a re-analysed old day
// does not load every day between it and today.
func spans(days map[string]bool) []span {
	list := make([]string, 0, len(days))
	for d := range days {
		list = append(list, d)
	}
	sort.Strings(list)
	var out []span
	for _, d := range list {
		if n := len(out); n > 0 && d <= addDays(out[n-1].to, 3) {
			out[n-1].to = d
			continue
		}
		out = append(out, span{d, d})
	}
	return out
}

// normalizeSpan normalizes one span. Its ranged read also returns the
// undated documents, and the day they are filed under (AsOf) is taken from
// that same read: an AsOf from an earlier read, made before another
// process stored personal_info, would file it under the span's last day
// and leave documents there that no later normalization replaces.
func (e *Engine) normalizeSpan(ctx context.Context, conn store.Connection, loc *time.Location, s span, affected map[string]bool) (store.HealthWrite, error) {
	from, to := addDays(s.from, -1), addDays(s.to, 1)
	raws, err := e.st.RawDocuments(ctx, conn.ID, nil, from, to)
	if err != nil {
		return store.HealthWrite{}, err
	}
	prov, err := e.providerOf(conn)
	if err != nil {
		return store.HealthWrite{}, err
	}
	norm, ok := prov.(provider.Normalizer)
	if !ok {
		return store.HealthWrite{}, nil // kept raw only
	}
	for try := 1; ; try++ {
		results := e.normalizeRaw(ctx, conn, norm, loc, raws)
		inputs := make([]store.HealthInput, 0, len(results))
		for _, r := range results {
			if affected[r.Doc.Envelope().Day] {
				inputs = append(inputs, store.HealthInput{Key: r.Key, Doc: r.Doc})
			}
		}
		hw, err := e.applyHealth(ctx, inputs)
		if err != nil {
			return hw, fmt.Errorf("store health documents of %s..%s: %w", s.from, s.to, err)
		}
		// Another process may have stored raw documents of these days after
		// they were read here and applied its result before this one: read
		// again and redo when anything changed, so the last write wins with
		// the newest input. (Within the process, renormalize serializes.)
		if e.cfg.SingleWriter {
			return hw, nil
		}
		again, err := e.st.RawDocuments(ctx, conn.ID, nil, from, to)
		if err != nil {
			return hw, err
		}
		if sameDocs(raws, again) || try >= maxNormalizeTries {
			return hw, nil
		}
		raws = again
	}
}

// normalizeRaw normalizes stored raw documents (a span's read, with the
// undated documents it returns), logging the documents the normalizer
// could not use.
func (e *Engine) normalizeRaw(ctx context.Context, conn store.Connection, norm provider.Normalizer, loc *time.Location, raws []store.RawDocument) []provider.Normalized {
	docs := make([]provider.Document, len(raws))
	for i, d := range raws {
		// The store's id is the key the normalizer attaches raw
		// documents under.
		docs[i] = provider.Document{Collection: d.Collection, ID: d.ExternalID, Day: d.Day, Raw: d.Body}
	}
	results, err := norm.Normalize(docs, provider.NormalizeOptions{ClientUUID: conn.ClientUUID, UserID: conn.UserID, Location: loc, AsOf: asOfDay(raws, loc)})
	if err != nil {
		logInputErrors(ctx, e, conn, err)
	}
	// Two providers of one user make documents of the same day and
	// structure: the data source keeps their keys apart.
	for i := range results {
		results[i].Key = store.HealthKey(conn.DataSource, results[i].Key)
	}
	return results
}

func logInputErrors(ctx context.Context, e *Engine, conn store.Connection, err error) {
	var list interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &list) {
		errs = list.Unwrap()
	}
	for _, x := range errs {
		var ie *provider.InputError
		if errors.As(x, &ie) {
			e.log.WarnContext(ctx, "document skipped by normalization", "connection", conn.ID, "collection", ie.Collection, "id", ie.ID, "reason", ie.Reason)
			continue
		}
		e.log.WarnContext(ctx, "normalization", "connection", conn.ID, "err", x)
	}
}

// sameDocs compares two reads by (collection, id, content hash).
func sameDocs(a, b []store.RawDocument) bool {
	if len(a) != len(b) {
		return false
	}
	return bytes.Equal(digest(a), digest(b))
}

func digest(docs []store.RawDocument) []byte {
	keys := make([]string, len(docs))
	for i, d := range docs {
		keys[i] = d.Collection + "\x00" + d.ExternalID + "\x00" + string(d.Hash)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{1})
	}
	return h.Sum(nil)
}
