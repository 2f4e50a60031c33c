package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// What a user's account holds at a moment: generated data whose time has
// passed plus what was added. Each list is in the order Withings answers
// it, which pagination offsets index into.

// measures are the groups synced by now, newest first.
func (w *world) measures(u *User, now time.Time) []MeasureGroup {
	var out []MeasureGroup
	for n := u.FirstDay; n <= localDay(now, u.loc); n++ {
		for _, g := range w.dayGroups(u, n) {
			if g.Created <= now.Unix() {
				out = append(out, g)
			}
		}
	}
	w.mu.Lock()
	for _, g := range w.added[u.Index].groups {
		if g.Created <= now.Unix() {
			out = append(out, g)
		}
	}
	w.mu.Unlock()
	slices.SortStableFunc(out, func(a, b MeasureGroup) int {
		return cmp.Or(cmp.Compare(b.Date, a.Date), cmp.Compare(b.GrpID, a.GrpID))
	})
	return out
}

// nights are the nights analysed by now, newest first.
func (w *world) nights(u *User, now time.Time) []*night {
	var out []*night
	for n := u.FirstDay - 1; n <= localDay(now, u.loc); n++ {
		if nt := w.genNight(u, n); nt != nil && nt.created <= now.Unix() {
			out = append(out, nt)
		}
	}
	w.mu.Lock()
	for _, nt := range w.added[u.Index].nights {
		if nt.created <= now.Unix() {
			out = append(out, nt)
		}
	}
	w.mu.Unlock()
	slices.SortStableFunc(out, func(a, b *night) int { return b.start.Compare(a.start) })
	return out
}

// activities are the days over by now, oldest first.
func (w *world) activities(u *User, now time.Time) []Activity {
	var out []Activity
	for n := u.FirstDay; n <= localDay(now, u.loc); n++ {
		if a := w.activity(u, n); a != nil && a.Modified <= now.Unix() {
			out = append(out, *a)
		}
	}
	return out
}

// workouts are the workouts synced by now, oldest first.
func (w *world) workouts(u *User, now time.Time) []Workout {
	var out []Workout
	for n := u.FirstDay; n <= localDay(now, u.loc); n++ {
		if wo := w.workout(u, n); wo != nil && wo.Modified <= now.Unix() {
			out = append(out, *wo)
		}
	}
	return out
}

// devices are the user's devices, first used on the first day of history.
func (w *world) devices(u *User, now time.Time) []Device {
	first := u.at(u.FirstDay, 0).Unix()
	last := u.at(localDay(now, u.loc), 0).Unix()
	ds := []device{u.scale, u.sleep, u.bpm}
	if u.watch {
		ds = append(ds, u.watchDev)
	}
	batteries := []string{"high", "medium", "low"}
	out := make([]Device, len(ds))
	for i, d := range ds {
		out[i] = Device{Type: d.typ, Battery: batteries[w.rng("battery", u.Index, i).IntN(len(batteries))], Model: d.model, ModelID: d.modelID,
			Timezone: u.Timezone, FirstSessionDate: first, LastSessionDate: last, DeviceID: d.id, HashDeviceID: d.id}
	}
	return out
}

// addWeighIn records a weigh-in taken at at and synced at now.
func (w *world) addWeighIn(u *User, at, now time.Time) MeasureGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	ad := w.added[u.Index]
	ad.n++
	r := w.rng("added-weigh", u.Index, ad.n)
	g := u.weighIn(addedID(9_000_000_000, u, ad.n), localDay(at, u.loc), at, r)
	g.Created, g.Modified = now.Unix(), now.Unix()
	ad.groups = append(ad.groups, g)
	return g
}

// addBloodPressure records a blood-pressure measurement taken at at.
func (w *world) addBloodPressure(u *User, at, now time.Time) MeasureGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	ad := w.added[u.Index]
	ad.n++
	r := w.rng("added-bp", u.Index, ad.n)
	g := MeasureGroup{GrpID: addedID(9_000_000_000, u, ad.n), Attrib: AttribDevice, Category: CategoryReal, Date: at.Unix(), Created: now.Unix(), Modified: now.Unix(),
		Measures: []Measure{meas(int64(70+r.IntN(20)), TypeDiastolic, 0), meas(int64(110+r.IntN(30)), TypeSystolic, 0), meas(int64(u.restHR+5+r.IntN(20)), TypeHeartPulse, 0)}}
	u.withDevice(&g, u.bpm)
	ad.groups = append(ad.groups, g)
	return g
}

// addNight records a night ending at end, analysed at now. It refuses one
// that overlaps a night the user already has.
func (w *world) addNight(u *User, end, now time.Time) (*night, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ad := w.added[u.Index]
	k := ad.n + 1
	r := w.rng("added-night", u.Index, k)
	minutes := 390 + r.IntN(90)
	start := end.Add(-time.Duration(minutes) * time.Minute).Truncate(time.Minute)
	nt := buildNight(r, start, minutes)
	nt.id, nt.user, nt.created = addedID(8_000_000_000, u, k), u, now.Unix()
	nt.date = ymd(localDay(nt.end(), u.loc))
	s := w.rng("added-nightseries", u.Index, k)
	nt.series = [2]uint64{s.Uint64(), s.Uint64()}
	overlaps := func(o *night) bool { return o.start.Before(nt.end()) && nt.start.Before(o.end()) }
	for n := localDay(start, u.loc) - 1; n <= localDay(end, u.loc); n++ {
		if o := w.genNight(u, n); o != nil && overlaps(o) {
			return nil, fmt.Errorf("withingssim: the night %s to %s overlaps the one starting %s", nt.start.Format(time.RFC3339), nt.end().Format(time.RFC3339), o.start.Format(time.RFC3339))
		}
	}
	for _, o := range ad.nights {
		if overlaps(o) {
			return nil, fmt.Errorf("withingssim: the night overlaps an added one starting %s", o.start.Format(time.RFC3339))
		}
	}
	ad.n = k
	ad.nights = append(ad.nights, nt)
	return nt, nil
}
