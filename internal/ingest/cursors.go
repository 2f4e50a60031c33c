package ingest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// A connection's sync progress is stored as string keys
// (store.Connection.Cursors) because the store merges them key by key, so
// concurrent jobs that write different keys never lose each other's
// progress. This file is the one codec between those keys and the typed
// Cursors the engine reads, and the typed cursorPatch it writes; no other
// file spells a key.

// Cursor keys of the connection as a whole.
const (
	keyBackfill     = "backfill"      // the backfill plan: "FROM/TO/WINDOWDAYS"
	keyBackfillDone = "backfill_done" // when the whole plan finished
	keyWebhookAt    = "webhook_at"    // the last notification
	keyNewest       = "newest_day"    // the newest day of any stored document
	keyLinkedAt     = "linked_at"     // when the connection was (re)linked
	keyNewestAt     = "newest_at"     // when newest_day last moved
	keyProbedAt     = "probed_at"     // when a paused connection was paused or last probed
)

// Prefixes of the keys per collection (and per window or document).
const (
	preWindow     = "bf:"       // bf:COLL:FROM: "done" or "through:DAY"
	preNormalized = "bfn:"      // bfn:FROM: the window's days are normalized
	preSyncedTo   = "to:"       // to:COLL
	preSyncedAt   = "at:"       // at:COLL
	preNotified   = "notified:" // notified:COLL
	preUpdate     = "upd:"      // upd:COLL:ID
	preSince      = "since:"    // since:COLL:DAY: a notified window's first day
	preDocDay     = "nd:"       // nd:COLL
	preRun        = "run:"      // run:COLL
	preLag        = "lag:"      // lag:COLL
	preScope      = "scope:"    // scope:COLL: "missing"
	preDelete     = "del:"      // del:COLL:ID: a deleteMark, as JSON
	preReadStart  = "rs:"       // rs:COLL: when the last notified read began
	prePending    = "pn:"       // pn:DAY ("pn:" for undated documents): stored, not yet normalized
)

// Cursors is a connection's sync progress, decoded.
type Cursors struct {
	// Plan is the backfill plan; HasPlan is false when none was made yet.
	Plan    plan
	HasPlan bool
	// BackfillDone is when the whole plan finished (zero: not yet).
	BackfillDone time.Time
	// WebhookAt is the time of the connection's last notification.
	WebhookAt time.Time
	// LinkedAt is when the connection was (re)linked; polls count silence
	// from it until the first notification.
	LinkedAt time.Time
	// Newest is the newest day of any stored document; NewestAt when it
	// last moved: the time of the sync whose documents the gap check (see
	// duePolls) expects.
	Newest   string
	NewestAt time.Time
	// ProbedAt is when a paused connection (store.Paused) was paused or
	// last probed; the next probe waits PauseProbe from it.
	ProbedAt time.Time
	// Normalized holds the backfill windows (by first day) whose days have
	// been normalized after all their collections were stored.
	Normalized map[string]bool
	// Pending holds the days a notified read stored and the sync has not
	// normalized yet ("" for undated documents), with when they were
	// stored: the sync normalizes them once for all its collections.
	Pending map[string]time.Time
	colls   map[string]*CollCursors
}

// CollCursors is the progress of one collection.
type CollCursors struct {
	// Windows maps a backfill window's first day to its state.
	Windows map[string]WindowState
	// SyncedTo is the newest day a read has covered, SyncedAt the time of
	// the last read, Notified that of the last notification.
	SyncedTo           string
	SyncedAt, Notified time.Time
	// ReadStart is when the last read that followed notifications began:
	// a notification after it still needs a read.
	ReadStart time.Time
	// Updates are the documents whose update was notified, read by id if
	// the next range read does not return them.
	Updates map[string]time.Time
	// Since holds the first days of notified windows (providers that
	// announce a time span rather than a document, Withings) not yet
	// read, with when each was notified: the next read reaches back to
	// the earliest.
	Since map[string]time.Time
	// DocDay is the newest day with a document; Run how many days in a row
	// up to it had one; Lag how many days it trailed Newest after its last
	// read. Together they say which collections come with every sync, so
	// that a missing one stands out (see duePolls).
	DocDay   string
	Run, Lag int
	// ScopeMissing marks a collection the user did not grant the scope for.
	ScopeMissing bool
	// Deletes are the documents whose delete has begun and not yet been
	// normalized (see delete.go), by id.
	Deletes map[string]deleteMark
}

// deleteMark is what a delete job records before it deletes a raw
// document: what it must normalize again should it be killed after the
// delete, when the document, and with it its day, is gone.
type deleteMark struct {
	// Days are the days the document was stored under ("" for a document
	// of no day); more than one only when a fetch moved it meanwhile.
	Days []string `json:"days"`
	// Gone are the health documents that only the deleted document
	// produced: they get a new version with no data.
	Gone []goneKey `json:"gone,omitempty"`
}

// goneKey names a health document of the user.
type goneKey struct {
	DataStructure string `json:"ds"`
	Pillar        string `json:"pillar"`
	Key           string `json:"key"`
	Day           string `json:"day"`
}

// add merges days and gone into the mark and reports whether it changed.
func (m *deleteMark) add(days []string, gone []goneKey) bool {
	changed := false
	for _, d := range days {
		if !slices.Contains(m.Days, d) {
			m.Days = append(m.Days, d)
			changed = true
		}
	}
	for _, g := range gone {
		if !slices.Contains(m.Gone, g) {
			m.Gone = append(m.Gone, g)
			changed = true
		}
	}
	return changed
}

// WindowState is how far one backfill window of a collection has got:
// Done, or, for a time series read in parts, the day it has read Through.
type WindowState struct {
	Done    bool
	Through string
}

// CursorsOf decodes a connection's cursors. Keys it does not know are
// ignored, so a database written by a newer version still reads.
func CursorsOf(conn store.Connection) Cursors { return decodeCursors(conn.Cursors) }

func decodeCursors(m map[string]string) Cursors {
	c := Cursors{Normalized: map[string]bool{}, Pending: map[string]time.Time{}, colls: map[string]*CollCursors{}}
	for k, v := range m {
		switch k {
		case keyBackfill:
			c.Plan, c.HasPlan = parsePlan(v)
			continue
		case keyBackfillDone:
			c.BackfillDone = parseTime(v)
			continue
		case keyWebhookAt:
			c.WebhookAt = parseTime(v)
			continue
		case keyNewest:
			c.Newest = v
			continue
		case keyLinkedAt:
			c.LinkedAt = parseTime(v)
			continue
		case keyNewestAt:
			c.NewestAt = parseTime(v)
			continue
		case keyProbedAt:
			c.ProbedAt = parseTime(v)
			continue
		}
		if day, ok := strings.CutPrefix(k, prePending); ok {
			if v != "" {
				c.Pending[day] = parseTime(v)
			}
			continue
		}
		if from, ok := strings.CutPrefix(k, preNormalized); ok {
			c.Normalized[from] = v != ""
			continue
		}
		if rest, ok := strings.CutPrefix(k, preWindow); ok {
			coll, from, ok := strings.Cut(rest, ":")
			if !ok {
				continue
			}
			cc := c.coll(coll)
			if cc.Windows == nil {
				cc.Windows = map[string]WindowState{}
			}
			// CutPrefix returns v whole when the prefix is absent ("done").
			through, ok := strings.CutPrefix(v, "through:")
			if !ok {
				through = ""
			}
			cc.Windows[from] = WindowState{Done: v == "done", Through: through}
			continue
		}
		if rest, ok := strings.CutPrefix(k, preUpdate); ok {
			coll, id, ok := strings.Cut(rest, ":")
			if !ok {
				continue
			}
			cc := c.coll(coll)
			if cc.Updates == nil {
				cc.Updates = map[string]time.Time{}
			}
			cc.Updates[id] = parseTime(v)
			continue
		}
		if rest, ok := strings.CutPrefix(k, preSince); ok {
			coll, day, ok := strings.Cut(rest, ":")
			if !ok {
				continue
			}
			cc := c.coll(coll)
			if cc.Since == nil {
				cc.Since = map[string]time.Time{}
			}
			cc.Since[day] = parseTime(v)
			continue
		}
		if rest, ok := strings.CutPrefix(k, preDelete); ok {
			coll, id, ok := strings.Cut(rest, ":")
			var m deleteMark
			if !ok || json.Unmarshal([]byte(v), &m) != nil {
				continue
			}
			cc := c.coll(coll)
			if cc.Deletes == nil {
				cc.Deletes = map[string]deleteMark{}
			}
			cc.Deletes[id] = m
			continue
		}
		for _, f := range collFields {
			if coll, ok := strings.CutPrefix(k, f.prefix); ok {
				f.set(c.coll(coll), v)
				break
			}
		}
	}
	return c
}

// collFields decodes the one-value keys of a collection.
var collFields = []struct {
	prefix string
	set    func(*CollCursors, string)
}{
	{preSyncedTo, func(c *CollCursors, v string) { c.SyncedTo = v }},
	{preSyncedAt, func(c *CollCursors, v string) { c.SyncedAt = parseTime(v) }},
	{preNotified, func(c *CollCursors, v string) { c.Notified = parseTime(v) }},
	{preReadStart, func(c *CollCursors, v string) { c.ReadStart = parseTime(v) }},
	{preDocDay, func(c *CollCursors, v string) { c.DocDay = v }},
	{preRun, func(c *CollCursors, v string) { c.Run, _ = strconv.Atoi(v) }},
	{preLag, func(c *CollCursors, v string) { c.Lag, _ = strconv.Atoi(v) }},
	{preScope, func(c *CollCursors, v string) { c.ScopeMissing = v != "" }},
}

func (c *Cursors) coll(name string) *CollCursors {
	cc := c.colls[name]
	if cc == nil {
		cc = &CollCursors{}
		c.colls[name] = cc
	}
	return cc
}

// Coll returns the progress of one collection (zero when it has none).
func (c Cursors) Coll(name string) CollCursors {
	if cc := c.colls[name]; cc != nil {
		return *cc
	}
	return CollCursors{}
}

// Backfilled reports whether the connection's backfill has finished.
func (c Cursors) Backfilled() bool { return !c.BackfillDone.IsZero() }

// notifiedSinceRead lists the collections notified after their last
// notified read began, sorted.
func (c Cursors) notifiedSinceRead() []string {
	var out []string
	for name, cc := range c.colls {
		if !cc.Notified.IsZero() && cc.Notified.After(cc.ReadStart) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// scopeMissing lists the collections marked as lacking their scope.
func (c Cursors) scopeMissing() []string {
	var out []string
	for name, cc := range c.colls {
		if cc.ScopeMissing {
			out = append(out, name)
		}
	}
	return out
}

// cursorPatch is a set of cursor changes, written with SetCursors; the
// store merges it key by key. Clearing a cursor writes "".
type cursorPatch map[string]string

func (p cursorPatch) plan(pl plan)              { p[keyBackfill] = pl.String() }
func (p cursorPatch) backfillDone(t time.Time)  { p[keyBackfillDone] = fmtTime(t) }
func (p cursorPatch) webhookAt(t time.Time)     { p[keyWebhookAt] = fmtTime(t) }
func (p cursorPatch) linkedAt(t time.Time)      { p[keyLinkedAt] = fmtTime(t) }
func (p cursorPatch) probedAt(t time.Time)      { p[keyProbedAt] = fmtTime(t) }
func (p cursorPatch) syncedTo(coll, day string) { p[preSyncedTo+coll] = day }
func (p cursorPatch) syncedAt(coll string, t time.Time) {
	p[preSyncedAt+coll] = fmtTime(t)
}
func (p cursorPatch) notified(coll string, t time.Time)  { p[preNotified+coll] = fmtTime(t) }
func (p cursorPatch) readStart(coll string, t time.Time) { p[preReadStart+coll] = fmtTime(t) }

// pending marks days (and "" for undated documents) as stored and not yet
// normalized; normalizedPending clears them.
func (p cursorPatch) pending(days []string, t time.Time) {
	for _, d := range days {
		p[prePending+d] = fmtTime(t)
	}
}
func (p cursorPatch) normalizedPending(day string) { p[prePending+day] = "" }
func (p cursorPatch) update(coll, id string, t time.Time) {
	p[preUpdate+coll+":"+id] = fmtTime(t)
}
func (p cursorPatch) clearUpdate(coll, id string) { p[preUpdate+coll+":"+id] = "" }
func (p cursorPatch) since(coll, day string, t time.Time) {
	p[preSince+coll+":"+day] = fmtTime(t)
}
func (p cursorPatch) clearSince(coll, day string) { p[preSince+coll+":"+day] = "" }

// deleting records a delete's mark; deleted clears it once the delete is
// normalized.
func (p cursorPatch) deleting(coll, id string, m deleteMark) {
	b, _ := json.Marshal(m) // never "": a mark is an object
	p[preDelete+coll+":"+id] = string(b)
}
func (p cursorPatch) deleted(coll, id string) { p[preDelete+coll+":"+id] = "" }

// newest moves the connection's newest day, and when it moved.
func (p cursorPatch) newest(day string, at time.Time) {
	p[keyNewest] = day
	p[keyNewestAt] = fmtTime(at)
}

func (p cursorPatch) scopeMissing(coll string, missing bool) {
	if missing {
		p[preScope+coll] = "missing"
	} else {
		p[preScope+coll] = ""
	}
}

// window records a backfill window's state; the zero state clears it.
func (p cursorPatch) window(coll, from string, s WindowState) {
	k := preWindow + coll + ":" + from
	switch {
	case s.Done:
		p[k] = "done"
	case s.Through != "":
		p[k] = "through:" + s.Through
	default:
		p[k] = ""
	}
}

func (p cursorPatch) normalized(from string, done bool) {
	if done {
		p[preNormalized+from] = "done"
	} else {
		p[preNormalized+from] = ""
	}
}

// run records the collection's newest document day, run and lag.
func (p cursorPatch) run(coll, docDay string, run, lag int) {
	p[preDocDay+coll] = docDay
	p[preRun+coll] = strconv.Itoa(run)
	p[preLag+coll] = strconv.Itoa(lag)
}

// endRun ends the collection's run of days with a document.
func (p cursorPatch) endRun(coll string) { p[preRun+coll] = "0" }

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func maxDay(a, b string) string {
	if a > b {
		return a
	}
	return b
}
