package sim

import (
	"time"
)

// Kind is a WHOOP collection.
type Kind int

// The collections.
const (
	KindCycle Kind = iota
	KindSleep
	KindRecovery
	KindWorkout
)

func (k Kind) String() string {
	return [...]string{"cycle", "sleep", "recovery", "workout"}[k]
}

// fmtTime writes times as WHOOP does: UTC with milliseconds.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// scoreAt is when a record with this end, first visible at created, gets
// its score: end + ScoreDelay, but never before it is visible.
func (w *World) scoreAt(end, created time.Time) time.Time {
	t := end.Add(w.cfg.ScoreDelay)
	if t.Before(created) {
		return created
	}
	return t
}

// state returns score_state and updated_at of a record at now.
func (w *World) state(end, created time.Time, unscorable bool, now time.Time) (string, time.Time, bool) {
	at := w.scoreAt(end, created)
	switch {
	case now.Before(at):
		return StatePending, created, false
	case unscorable:
		return StateUnscorable, at, false
	}
	return StateScored, at, true
}

func (w *World) renderSleep(nt *night, s *genSleep, now time.Time) (Sleep, bool) {
	id := w.activityUUID(nt.u, nt.n, s.slot)
	if nt.n < w.firstN || now.Before(s.created) || w.isDeleted(id) {
		return Sleep{}, false
	}
	state, upd, scored := w.state(s.end, s.created, s.unscorable, now)
	out := Sleep{
		ID: id, CycleID: cycleID(nt.u, nt.n), UserID: nt.u.UserID,
		CreatedAt: fmtTime(s.created), UpdatedAt: fmtTime(upd),
		Start: fmtTime(s.start), End: fmtTime(s.end), TimezoneOffset: nt.u.TimezoneOffset,
		Nap: s.slot == slotNap, ScoreState: state,
	}
	if s.start.Before(v1Cutoff) {
		v := v1ID(nt.u, nt.n, s.slot)
		out.V1ID = &v
	}
	if scored {
		sc := s.score
		out.Score = &sc
	}
	return out, true
}

func (w *World) renderWorkout(nt *night, g *genWorkout, now time.Time) (Workout, bool) {
	if nt.n < w.firstN || now.Before(g.created) {
		return Workout{}, false
	}
	state, upd, scored := w.state(g.end, g.created, g.unscorable, now)
	out := Workout{
		ID: w.activityUUID(nt.u, nt.n, g.slot), UserID: nt.u.UserID,
		CreatedAt: fmtTime(g.created), UpdatedAt: fmtTime(upd),
		Start: fmtTime(g.start), End: fmtTime(g.end), TimezoneOffset: nt.u.TimezoneOffset,
		SportName: g.sportName, ScoreState: state,
	}
	if g.start.Before(v1Cutoff) {
		v, sid := v1ID(nt.u, nt.n, g.slot), g.sportID
		out.V1ID, out.SportID = &v, &sid
	}
	if scored {
		sc := g.score
		out.Score = &sc
	}
	return out, true
}

// renderRecovery follows its main sleep: visible, scored and deleted with it.
func (w *World) renderRecovery(nt *night, now time.Time) (Recovery, bool) {
	s := &nt.main
	id := w.activityUUID(nt.u, nt.n, slotMain)
	if nt.n < w.firstN || now.Before(s.created) || w.isDeleted(id) {
		return Recovery{}, false
	}
	state, upd, scored := w.state(s.end, s.created, nt.recovery.unscorable, now)
	out := Recovery{
		CycleID: cycleID(nt.u, nt.n), SleepID: id, UserID: nt.u.UserID,
		CreatedAt: fmtTime(s.created), UpdatedAt: fmtTime(upd), ScoreState: state,
	}
	if scored {
		sc := nt.recovery.score
		out.Score = &sc
	}
	return out, true
}

// renderCycle: a cycle appears with its main sleep and stays open (end
// absent, PENDING_SCORE) until the next main sleep is recorded.
func (w *World) renderCycle(nt *night, now time.Time) (Cycle, bool) {
	if nt.n < w.firstN || now.Before(nt.main.created) {
		return Cycle{}, false
	}
	out := Cycle{
		ID: cycleID(nt.u, nt.n), UserID: nt.u.UserID,
		CreatedAt: fmtTime(nt.main.created), UpdatedAt: fmtTime(nt.main.created),
		Start: fmtTime(nt.start), TimezoneOffset: nt.u.TimezoneOffset, ScoreState: StatePending,
	}
	closed := w.night(nt.u, nt.n+1).main.created
	if now.Before(closed) {
		return out, true
	}
	end := fmtTime(nt.nextStart)
	out.End, out.UpdatedAt = &end, fmtTime(closed)
	state, upd, scored := w.state(nt.nextStart, closed, nt.cycle.unscorable, now)
	out.ScoreState, out.UpdatedAt = state, fmtTime(upd)
	if scored {
		sc := nt.cycle.score
		out.Score = &sc
	}
	return out, true
}

// item is one visible record with the span the collection filters on.
type item struct {
	start time.Time
	end   *time.Time // nil: still open
	doc   any
}

// items returns the visible records of kind k in night n, latest start
// first.
func (w *World) items(k Kind, nt *night, now time.Time) []item {
	var out []item
	switch k {
	case KindCycle:
		if c, ok := w.renderCycle(nt, now); ok {
			it := item{start: nt.start, doc: c}
			if c.End != nil {
				e := nt.nextStart
				it.end = &e
			}
			out = append(out, it)
		}
	case KindSleep:
		if nt.nap != nil {
			if s, ok := w.renderSleep(nt, nt.nap, now); ok {
				out = append(out, item{start: nt.nap.start, end: &nt.nap.end, doc: s})
			}
		}
		if s, ok := w.renderSleep(nt, &nt.main, now); ok {
			out = append(out, item{start: nt.main.start, end: &nt.main.end, doc: s})
		}
	case KindRecovery:
		// Recoveries sort and filter on their sleep.
		if r, ok := w.renderRecovery(nt, now); ok {
			out = append(out, item{start: nt.main.start, end: &nt.main.end, doc: r})
		}
	case KindWorkout:
		for i := len(nt.workouts) - 1; i >= 0; i-- {
			g := &nt.workouts[i]
			if wo, ok := w.renderWorkout(nt, g, now); ok {
				out = append(out, item{start: g.start, end: &g.end, doc: wo})
			}
		}
	}
	return out
}

// Query selects a page of a collection.
type Query struct {
	// Start (inclusive; zero: no lower bound) and End (exclusive) bound the
	// records' spans: a record matches if it ends at or after Start (or is
	// still open) and starts before End.
	Start, End time.Time
	// Before, if set, keeps only records starting strictly before it: the
	// position of a next_token.
	Before time.Time
	Limit  int
}

// List returns one page of u's records of kind k at now, latest start
// first, and the start of the last one if more follow.
func (w *World) List(k Kind, u *User, q Query, now time.Time) (docs []any, more bool, last time.Time) {
	top := q.End
	if !q.Before.IsZero() && q.Before.Before(top) {
		top = q.Before
	}
	if now.Before(top) {
		top = now
	}
	for n := u.localDay(top) + 1; n >= w.firstN; n-- {
		// Once a closed night ended before Start, so did every earlier one.
		// The open cycle has no end yet and matches any Start.
		if !q.Start.IsZero() && w.mainStart(u, n+1).Before(q.Start) && !now.Before(w.night(u, n+1).main.created) {
			break
		}
		nt := w.night(u, n)
		for _, it := range w.items(k, nt, now) {
			if !it.start.Before(q.End) || (!q.Before.IsZero() && !it.start.Before(q.Before)) {
				continue
			}
			if !q.Start.IsZero() && it.end != nil && it.end.Before(q.Start) {
				continue
			}
			if len(docs) == q.Limit {
				return docs, true, last
			}
			docs = append(docs, it.doc)
			last = it.start
		}
	}
	return docs, false, time.Time{}
}

// nightOf generates night n of user index ui if both exist.
func (w *World) nightOf(ui, n int) (*night, bool) {
	u := w.User(ui)
	if u == nil || n < w.firstN || n > 1<<24 {
		return nil, false
	}
	return w.night(u, n), true
}

// Cycle finds u's cycle by id.
func (w *World) Cycle(u *User, id int64, now time.Time) (Cycle, bool) {
	ui, n, ok := decodeCycleID(id)
	if !ok || ui != u.Index {
		return Cycle{}, false
	}
	nt, ok := w.nightOf(ui, n)
	if !ok {
		return Cycle{}, false
	}
	return w.renderCycle(nt, now)
}

// SleepForCycle is the main sleep of u's cycle id.
func (w *World) SleepForCycle(u *User, id int64, now time.Time) (Sleep, bool) {
	ui, n, ok := decodeCycleID(id)
	if !ok || ui != u.Index {
		return Sleep{}, false
	}
	nt, ok := w.nightOf(ui, n)
	if !ok {
		return Sleep{}, false
	}
	return w.renderSleep(nt, &nt.main, now)
}

// RecoveryForCycle is the recovery of u's cycle id.
func (w *World) RecoveryForCycle(u *User, id int64, now time.Time) (Recovery, bool) {
	ui, n, ok := decodeCycleID(id)
	if !ok || ui != u.Index {
		return Recovery{}, false
	}
	nt, ok := w.nightOf(ui, n)
	if !ok {
		return Recovery{}, false
	}
	return w.renderRecovery(nt, now)
}

// Sleep finds u's sleep by UUID.
func (w *World) Sleep(u *User, id string, now time.Time) (Sleep, bool) {
	ui, n, slot, ok := w.decodeUUID(id)
	if !ok || ui != u.Index {
		return Sleep{}, false
	}
	nt, ok := w.nightOf(ui, n)
	switch {
	case !ok:
	case slot == slotMain:
		return w.renderSleep(nt, &nt.main, now)
	case slot == slotNap && nt.nap != nil:
		return w.renderSleep(nt, nt.nap, now)
	}
	return Sleep{}, false
}

// Workout finds u's workout by UUID.
func (w *World) Workout(u *User, id string, now time.Time) (Workout, bool) {
	ui, n, slot, ok := w.decodeUUID(id)
	if !ok || ui != u.Index {
		return Workout{}, false
	}
	nt, ok := w.nightOf(ui, n)
	if !ok {
		return Workout{}, false
	}
	for i := range nt.workouts {
		if nt.workouts[i].slot == slot {
			return w.renderWorkout(nt, &nt.workouts[i], now)
		}
	}
	return Workout{}, false
}

// MapV1 maps one of u's v1 activity ids to its v2 UUID.
func (w *World) MapV1(u *User, v1 int64, now time.Time) (string, bool) {
	ui, n, slot, ok := decodeV1ID(v1)
	if !ok || ui != u.Index {
		return "", false
	}
	id := w.activityUUID(u, n, slot)
	var v *int64
	if slot <= slotNap {
		s, ok := w.Sleep(u, id, now)
		if !ok {
			return "", false
		}
		v = s.V1ID
	} else {
		wo, ok := w.Workout(u, id, now)
		if !ok {
			return "", false
		}
		v = wo.V1ID
	}
	if v == nil {
		return "", false
	}
	return id, true
}
