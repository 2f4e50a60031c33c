package normalize

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// TestInvariantsYear normalizes a year of simulated data for users in four
// time zones (with and without the zone given) and checks what must hold
// for every document: sleep stages add up to the sleep duration, time in
// bed is the span of the bedtimes, durations are never negative, every
// number is finite, and granular timestamps are strictly increasing,
// inside the period they describe and in the user's offset.
func TestInvariantsYear(t *testing.T) {
	const users = 4
	all := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	dst := []int{3, 10, 11} // the months with DST changes in these zones
	if raceEnabled || testing.Short() {
		all = dst // the race detector makes a full year slow
	}
	w := simWorld(users, "2023-01-01", 370)
	for _, u := range w.Users() {
		for _, given := range []bool{true, false} {
			months := all
			if !given {
				months = dst // inferred offsets matter most around DST changes
			}
			name := fmt.Sprintf("user%d-%s-zone-given-%v", u.Index, strings.ReplaceAll(u.TimeZone, "/", "_"), given)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				loc := u.Location
				if !given {
					loc = nil
				}
				c := &checker{zone: u.Location, given: loc}
				for _, m := range months {
					// Month by month bounds the memory.
					first := time.Date(2023, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
					days := int(first.AddDate(0, 1, 0).Sub(first).Hours() / 24)
					in := simInput(w, u, oura.Date(first.Format(time.DateOnly)), days)
					results, err := Normalize(in, Options{ClientUUID: testClient, UserID: "sim", Location: loc})
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range results {
						c.check(r)
					}
				}
				for i, p := range c.problems {
					if i == 20 {
						t.Errorf("... and %d more", len(c.problems)-i)
						break
					}
					t.Error(p)
				}
				if st := c.stats; st.sleep == 0 || st.hrSamples == 0 || st.activityEvents == 0 || st.levels == 0 {
					t.Errorf("the check saw too little: %+v", st)
				}
			})
		}
	}
}

// checker checks documents and collects what is wrong.
type checker struct {
	zone     *time.Location // the user's real zone
	given    *time.Location // the zone Normalize was given, nil if none
	problems []string
	// What was checked, so that an empty run cannot pass.
	stats struct{ sleep, hrSamples, activityEvents, levels int }
}

func (c *checker) errorf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// parse reads a datetime_string; a missing or bad one is a problem.
func (c *checker) parse(where string, s *string) (time.Time, bool) {
	if s == nil {
		c.errorf("%s: missing datetime", where)
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		c.errorf("%s: %v", where, err)
		return time.Time{}, false
	}
	return at, true
}

// check checks one document.
func (c *checker) check(r Result) {
	where := r.Doc.DataStructure() + " " + r.Key
	if err := r.Doc.Envelope().Validate(); err != nil {
		c.errorf("%s: %v", where, err)
	}
	c.numbers(where, reflect.ValueOf(r.Doc), "")

	day := r.Doc.Envelope().Day
	switch d := r.Doc.(type) {
	case *health.SleepSummaryDocument:
		c.sleep(where, &d.Summary)
	case *health.PhysicalSummaryDocument:
		c.stats.hrSamples += c.daySamples(where, day, d.Summary.HeartRate.HRGranularData)
		c.stats.levels += c.levels(where, d.Summary.Activity.ActivityLevelGranularData)
	case *health.BodyHeartRateEventDocument:
		c.daySamples(where, day, d.Events[0].HeartRate.HRGranularData)
	case *health.ActivityEventDocument:
		c.stats.activityEvents++
		a := d.Events[0].Activity
		s, ok1 := c.parse(where, a.ActivityStartDatetime)
		e, ok2 := c.parse(where, a.ActivityEndDatetime)
		if !ok1 || !ok2 {
			return
		}
		if a.ActivityDurationSeconds == nil || time.Duration(*a.ActivityDurationSeconds)*time.Second != e.Sub(s) {
			c.errorf("%s: duration %v is not end - start %v", where, a.ActivityDurationSeconds, e.Sub(s))
		}
		c.window(where+" hr", c.times(where, hrStamps(d.Events[0].HeartRate.HRGranularData)), s, e, true)
		c.window(where+" hrv", c.times(where, hrvStamps(d.Events[0].HeartRate.HRVRMSSDGranularData)), s, e, true)
	}
}

// numbers flags negative durations and non-finite numbers, walking the
// typed document (cheaper than its JSON). key is the JSON name of the
// field holding v.
func (c *checker) numbers(where string, v reflect.Value, key string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			c.numbers(where, v.Elem(), key)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "non_structured_data_array" || !f.IsExported() {
				continue
			}
			c.numbers(where, v.Field(i), name)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			c.numbers(where, v.Index(i), key)
		}
	case reflect.Float64:
		if x := v.Float(); math.IsNaN(x) || math.IsInf(x, 0) || strings.Contains(key, "seconds") && x < 0 {
			c.errorf("%s: %s is %v", where, key, x)
		}
	case reflect.Int:
		if strings.Contains(key, "seconds") && v.Int() < 0 {
			c.errorf("%s: %s is negative: %v", where, key, v.Int())
		}
	}
}

// sleep checks a night: stages add up, time in bed is the span of the
// bedtimes, samples and hypnogram stay inside it in the start's offset.
func (c *checker) sleep(where string, s *health.SleepSummaryRecord) {
	du := s.Duration
	if du.SleepStartDatetime == nil {
		return
	}
	c.stats.sleep++
	start, ok1 := c.parse(where, du.SleepStartDatetime)
	end, ok2 := c.parse(where, du.SleepEndDatetime)
	if !ok1 || !ok2 {
		return
	}
	if du.SleepDurationSeconds == nil || du.LightSleepDurationSeconds == nil || du.REMSleepDurationSeconds == nil || du.DeepSleepDurationSeconds == nil {
		c.errorf("%s: stage durations missing", where)
	} else if sum := *du.LightSleepDurationSeconds + *du.REMSleepDurationSeconds + *du.DeepSleepDurationSeconds; sum != *du.SleepDurationSeconds {
		c.errorf("%s: light + rem + deep = %d, sleep duration %d", where, sum, *du.SleepDurationSeconds)
	}
	if du.TimeInBedSeconds == nil || time.Duration(*du.TimeInBedSeconds)*time.Second != end.Sub(start) {
		c.errorf("%s: time in bed %v, end - start %v", where, du.TimeInBedSeconds, end.Sub(start))
	}
	if c.given != nil {
		if _, want := start.In(c.given).Zone(); offsetOf(start) != want {
			c.errorf("%s: sleep starts at %s, not in the user's offset %d", where, *du.SleepStartDatetime, want)
		}
	}
	for name, ts := range map[string][]time.Time{
		"hr":  c.times(where, hrStamps(s.HeartRate.HRGranularData)),
		"hrv": c.times(where, hrvStamps(s.HeartRate.HRVRMSSDGranularData)),
	} {
		c.window(where+" "+name, ts, start, end, false)
		for _, at := range ts {
			if offsetOf(at) != offsetOf(start) {
				c.errorf("%s: %s sample %s is not in the offset of the sleep start", where, name, at)
				break
			}
		}
	}
	// The hypnogram covers the period in order, without overlap.
	for _, item := range s.NonStructuredData {
		var h hypnogramItem
		if json.Unmarshal(item, &h) != nil || h.Role != normkit.RoleHypnogram {
			continue
		}
		prev := start
		for i, p := range h.Phases {
			at, err := time.Parse(time.RFC3339Nano, p.Datetime)
			if err != nil || at.Before(prev) || p.Interval <= 0 {
				c.errorf("%s: hypnogram phase %d %+v out of order", where, i, p)
				break
			}
			prev = at.Add(time.Duration(p.Interval * float64(time.Second)))
			if prev.After(end) {
				c.errorf("%s: hypnogram phase %d ends after the period", where, i)
				break
			}
		}
	}
}

// daySamples checks a day's heart-rate samples: strictly increasing, on the
// document's local day, in the user's offset when the zone was given (else
// in one of the offsets the zone uses: inferred offsets can lag a DST
// change by a few hours).
func (c *checker) daySamples(where, day string, g []health.HRSample) int {
	ts := c.times(where, hrStamps(g))
	c.window(where, ts, time.Time{}, time.Time{}, false)
	for _, at := range ts {
		if got := at.Format(time.DateOnly); got != day {
			c.errorf("%s: sample %s is not on %s", where, at, day)
			break
		}
		if c.given == nil {
			_, std := time.Date(at.Year(), 1, 1, 12, 0, 0, 0, c.zone).Zone()
			_, dst := time.Date(at.Year(), 7, 1, 12, 0, 0, 0, c.zone).Zone()
			if o := offsetOf(at); o != std && o != dst {
				c.errorf("%s: sample %s has an offset the user's zone never uses", where, at)
				break
			}
			continue
		}
		if _, want := at.In(c.given).Zone(); offsetOf(at) != want {
			c.errorf("%s: sample %s is not in the user's offset %d", where, at, want)
			break
		}
	}
	return len(ts)
}

// levels checks the activity levels: strictly increasing inside the 24
// hours from the first.
func (c *checker) levels(where string, g []health.ActivityLevelSample) int {
	stamps := make([]*string, len(g))
	for i := range g {
		stamps[i] = g[i].Datetime
	}
	ts := c.times(where, stamps)
	if len(ts) > 0 {
		c.window(where+" levels", ts, ts[0], ts[0].Add(24*time.Hour), true)
	}
	return len(ts)
}

// window checks strictly increasing times inside [lo, hi] (hi excluded
// when open); an unset bound is no bound.
func (c *checker) window(where string, ts []time.Time, lo, hi time.Time, open bool) {
	for i, at := range ts {
		if i > 0 && !at.After(ts[i-1]) {
			c.errorf("%s: sample %d at %s does not follow %s", where, i, at, ts[i-1])
			return
		}
		if !lo.IsZero() && at.Before(lo) || !hi.IsZero() && (at.After(hi) || open && at.Equal(hi)) {
			c.errorf("%s: sample %d at %s outside [%s, %s]", where, i, at, lo, hi)
			return
		}
	}
}

// times parses granular datetimes.
func (c *checker) times(where string, stamps []*string) []time.Time {
	out := make([]time.Time, 0, len(stamps))
	for _, s := range stamps {
		if at, ok := c.parse(where, s); ok {
			out = append(out, at)
		}
	}
	return out
}

func hrStamps(g []health.HRSample) []*string {
	out := make([]*string, len(g))
	for i := range g {
		out[i] = g[i].Datetime
	}
	return out
}

func hrvStamps(g []health.HRVRMSSDSample) []*string {
	out := make([]*string, len(g))
	for i := range g {
		out[i] = g[i].Datetime
	}
	return out
}

func offsetOf(t time.Time) int {
	_, o := t.Zone()
	return o
}

// TestInvariantChecksCatch breaks normalized documents in the ways the
// invariants forbid and makes sure the checker reports each one.
func TestInvariantChecksCatch(t *testing.T) {
	w := simWorld(1, "2023-03-01", 40)
	u := w.Users()[0]
	results, err := Normalize(simInput(w, u, "2023-03-10", 3), Options{ClientUUID: testClient, UserID: "sim", Location: u.Location})
	if err != nil {
		t.Fatal(err)
	}
	find := func(name string) health.Doc {
		for _, r := range results {
			if r.Doc.DataStructure() == name {
				return r.Doc
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	sleep := find(health.SleepSummary).(*health.SleepSummaryDocument)
	phys := find(health.PhysicalSummary).(*health.PhysicalSummaryDocument)
	hr := sleep.Summary.HeartRate.HRGranularData
	day := phys.Summary.HeartRate.HRGranularData
	tests := []struct {
		name   string
		doc    health.Doc
		break_ func() (restore func())
	}{
		{"stages do not add up", sleep, setPtr(&sleep.Summary.Duration.DeepSleepDurationSeconds, 1)},
		{"time in bed is not end - start", sleep, setPtr(&sleep.Summary.Duration.TimeInBedSeconds, 1)},
		{"negative duration", sleep, setPtr(&sleep.Summary.Duration.TimeToFallAsleepSeconds, -60)},
		{"sample outside the night", sleep, setPtr(&hr[0].Datetime, "2023-03-09T12:00:00.000000+02:00")},
		{"sample in another offset than the night", sleep, reoffset(&hr[1].Datetime)},
		{"samples out of order", phys, func() func() {
			day[0].Datetime, day[1].Datetime = day[1].Datetime, day[0].Datetime
			return func() { day[0].Datetime, day[1].Datetime = day[1].Datetime, day[0].Datetime }
		}},
		{"sample on another day", phys, setPtr(&day[0].Datetime, "2023-03-01T10:00:00.000000+02:00")},
		{"sample not in the user's offset", phys, reoffset(&day[len(day)/2].Datetime)},
		{"not a number", phys, setPtr(&phys.Summary.Calories.CaloriesExpenditureKcal, math.NaN())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &checker{zone: u.Location, given: u.Location}
			c.check(Result{Key: "k", Doc: tt.doc})
			if len(c.problems) != 0 {
				t.Fatalf("unbroken document already has problems: %v", c.problems)
			}
			restore := tt.break_()
			defer restore()
			c.check(Result{Key: "k", Doc: tt.doc})
			if len(c.problems) == 0 {
				t.Error("not reported")
			}
		})
	}
}

// setPtr returns a change that points *p at v, and its undo.
func setPtr[T any](p **T, v T) func() func() {
	return func() func() {
		old := *p
		*p = &v
		return func() { *p = old }
	}
}

// reoffset returns a change that writes the same instant an hour further
// east, and its undo.
func reoffset(p **string) func() func() {
	return func() func() {
		old := *p
		at, _ := time.Parse(time.RFC3339Nano, *old)
		s := at.In(time.FixedZone("", offsetOf(at)+3600)).Format(health.DatetimeLayout)
		*p = &s
		return func() { *p = old }
	}
}
