package normalize

import (
	"math"
	"sort"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// hrSample is one usable heart-rate row, its instant in the user's zone.
type hrSample struct {
	at     time.Time
	bpm    int
	source oura.HeartRateSource
}

// prepareHeartRate parses, orders and de-duplicates the heart-rate rows and
// files them under the user's local day. Rows with an unusable timestamp or
// a bpm that is not positive are left out (reported once, with a count):
// a row has no id, so there is nothing better to name. Two rows at the same
// instant keep the lower bpm, so the result does not depend on input order
// and granular timestamps are strictly increasing.
func (r *run) prepareHeartRate(rows []oura.HeartRate) {
	r.hrDays = map[string][]hrSample{}
	if len(rows) == 0 {
		return
	}
	s := parseRows(r, oura.CollHeartRate, "an unusable timestamp or bpm", rows, func(h *oura.HeartRate) (hrSample, bool) {
		t, ok := parseTime(h.Timestamp)
		if !ok || h.BPM <= 0 || h.BPM > normkit.MaxInt32 {
			return hrSample{}, false
		}
		return hrSample{at: t, bpm: h.BPM, source: h.Source}, true
	}, func(h *oura.HeartRate) oura.DateTime { return h.Timestamp })
	s = byInstant(s, func(v *hrSample) time.Time { return v.at }, func(a, b *hrSample) bool {
		if a.bpm != b.bpm {
			return a.bpm < b.bpm
		}
		return a.source < b.source
	})
	var (
		dayKey  string
		y, d    int
		m       time.Month
		started bool
	)
	kept := s[:0]
	for i := range s {
		at := s[i].at.In(r.zf.At(s[i].at))
		yy, mm, dd := at.Date()
		if yy < 1 || yy > 9999 {
			// Only reachable a few hours from the ends of the calendar:
			// no day to file the sample under.
			r.fail(oura.CollHeartRate, "", "row at %s falls outside the years a day can name", s[i].at.UTC().Format(time.RFC3339))
			continue
		}
		if !started || yy != y || mm != m || dd != d {
			y, m, d, started = yy, mm, dd, true
			dayKey = at.Format(time.DateOnly)
		}
		kept = append(kept, hrSample{at: at, bpm: s[i].bpm, source: s[i].source})
		r.hrDays[dayKey] = append(r.hrDays[dayKey], kept[len(kept)-1])
	}
	r.hr = kept
}

// parseRows converts time-series rows with conv, leaving out those it
// refuses and reporting them once, with a count and the first one's
// timestamp: a row has no id, so there is nothing better to name.
func parseRows[R, T any](r *run, coll, why string, rows []R, conv func(*R) (T, bool), stamp func(*R) oura.DateTime) []T {
	out := make([]T, 0, len(rows))
	bad, first := 0, ""
	for i := range rows {
		v, ok := conv(&rows[i])
		if !ok {
			if bad == 0 {
				first = string(stamp(&rows[i]))
			}
			bad++
			continue
		}
		out = append(out, v)
	}
	if bad > 0 {
		r.fail(coll, "", "%d rows with %s left out (first: %q)", bad, why, first)
	}
	return out
}

// byInstant sorts rows by instant, then by less, and keeps the first row
// of each instant, so the result does not depend on input order and its
// instants strictly increase.
func byInstant[T any](s []T, at func(*T) time.Time, less func(a, b *T) bool) []T {
	sort.Slice(s, func(i, j int) bool {
		a, b := at(&s[i]), at(&s[j])
		if !a.Equal(b) {
			return a.Before(b)
		}
		return less(&s[i], &s[j])
	})
	out := s[:0]
	for i := range s {
		if i > 0 && at(&s[i]).Equal(at(&s[i-1])) {
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// prepareBattery files battery rows under the user's local day, like heart
// rate. They are only attached, so each row keeps its JSON.
func (r *run) prepareBattery(rows []oura.RingBatteryLevel) {
	items := make([]*item[oura.RingBatteryLevel], 0, len(rows))
	bad, first := 0, ""
	for i := range rows {
		t, ok := parseTime(rows[i].Timestamp)
		if !ok {
			if bad == 0 {
				first = string(rows[i].Timestamp)
			}
			bad++
			continue
		}
		it := &item[oura.RingBatteryLevel]{v: &rows[i], at: t}
		local := t.In(r.zf.At(t))
		if local.Year() < 1 || local.Year() > 9999 {
			if bad == 0 {
				first = string(rows[i].Timestamp)
			}
			bad++
			continue
		}
		it.day = local.Format(time.DateOnly)
		// Time-series rows have no id; their timestamp stands in for one.
		if err := it.encode(r.raw(oura.CollRingBatteryLevel, string(rows[i].Timestamp))); err != nil {
			r.fail(oura.CollRingBatteryLevel, string(rows[i].Timestamp), "cannot encode: %v", err)
			continue
		}
		items = append(items, it)
	}
	if bad > 0 {
		r.fail(oura.CollRingBatteryLevel, "", "%d rows with an unusable timestamp left out (first: %q)", bad, first)
	}
	r.battery = byDay(dedupe(items))
}

// window returns the samples with start <= at < end.
func window(s []hrSample, start, end time.Time) []hrSample {
	i := sort.Search(len(s), func(i int) bool { return !s[i].at.Before(start) })
	j := sort.Search(len(s), func(j int) bool { return !s[j].at.Before(end) })
	if j < i {
		return nil
	}
	return s[i:j]
}

// hrGranular builds hr_granular_data_array from samples, rendered in loc
// (nil: the zone each sample already has).
func hrGranular(s []hrSample, loc *time.Location) []health.HRSample {
	if len(s) == 0 {
		return nil
	}
	b := normkit.NewStamps(len(s))
	for i := range s {
		t := s[i].at
		if loc != nil {
			t = t.In(loc)
		}
		b.Add(t)
	}
	strs := b.Strings()
	bpm := make([]int, len(s))
	out := make([]health.HRSample, len(s))
	for i := range s {
		bpm[i] = s[i].bpm
		out[i] = health.HRSample{Datetime: &strs[i], HRBPM: &bpm[i]}
	}
	return out
}

// hrStats returns the average (rounded), minimum and maximum bpm.
func hrStats(s []hrSample) (avg, lo, hi *int) {
	if len(s) == 0 {
		return nil, nil, nil
	}
	sum, mn, mx := 0.0, s[0].bpm, s[0].bpm
	for i := range s {
		sum += float64(s[i].bpm)
		mn = min(mn, s[i].bpm)
		mx = max(mx, s[i].bpm)
	}
	return normkit.RoundInt(sum / float64(len(s))), health.Int(mn), health.Int(mx)
}

// sourceRuns lists runs of samples from one Oura source.
func sourceRuns(s []hrSample) []sourcesRun {
	var out []sourcesRun
	var b normkit.Stamps
	for i := range s {
		if i == 0 || s[i].source != s[i-1].source {
			out = append(out, sourcesRun{Source: string(s[i].source)})
			b.Add(s[i].at)
		}
		out[len(out)-1].Samples++
	}
	starts := b.Strings()
	var e normkit.Stamps
	for i := range s {
		if i == len(s)-1 || s[i].source != s[i+1].source {
			e.Add(s[i].at)
		}
	}
	ends := e.Strings()
	for i := range out {
		out[i].Start, out[i].End = starts[i], ends[i]
	}
	return out
}

// series walks an Oura sample series: the datetime of item i is the
// series timestamp plus i intervals, in the timestamp's own offset. Null
// and non-finite items are skipped; items before lo or after hi (when
// set) are dropped as malformed, so granular data stays inside the period
// it describes. fn receives each usable item.
func series(s *oura.Sample, lo, hi time.Time, fn func(at time.Time, v float64)) {
	if s == nil || len(s.Items) == 0 {
		return
	}
	t0, ok := parseTime(s.Timestamp)
	if !ok {
		return
	}
	slots(t0, s.Interval, len(s.Items), lo, hi, func(i int, at time.Time) {
		if p := s.Items[i]; p != nil && !math.IsNaN(*p) && !math.IsInf(*p, 0) {
			fn(at, *p)
		}
	})
}

// slots walks the first n slots of a grid: slot i is at t0 plus i
// intervals, in t0's offset. Slots before lo are skipped and the walk ends
// after hi (either when set), or where the offset is out of range.
func slots(t0 time.Time, interval float64, n int, lo, hi time.Time, fn func(i int, at time.Time)) {
	for i := 0; i < n; i++ {
		off, ok := normkit.SampleOffset(interval, i)
		if !ok {
			return
		}
		at := t0.Add(off)
		if !lo.IsZero() && at.Before(lo) {
			continue
		}
		if !hi.IsZero() && at.After(hi) {
			return
		}
		fn(i, at)
	}
}

// seriesHR maps an Oura heart-rate series to granular samples plus the
// rounded average, minimum and maximum of what was kept.
func seriesHR(s *oura.Sample, lo, hi time.Time) (g []health.HRSample, avg, mn, mx *int) {
	if s == nil {
		return nil, nil, nil, nil
	}
	b := normkit.NewStamps(len(s.Items))
	bpm := make([]int, 0, len(s.Items))
	sum := 0.0 // of the unrounded values, for an exact average
	series(s, lo, hi, func(at time.Time, v float64) {
		p := normkit.RoundInt(v)
		if p == nil || *p <= 0 {
			return
		}
		b.Add(at)
		bpm = append(bpm, *p)
		sum += v
	})
	if len(bpm) == 0 {
		return nil, nil, nil, nil
	}
	strs := b.Strings()
	g = make([]health.HRSample, len(bpm))
	lo2, hi2 := bpm[0], bpm[0]
	for i := range bpm {
		g[i] = health.HRSample{Datetime: &strs[i], HRBPM: &bpm[i]}
		lo2, hi2 = min(lo2, bpm[i]), max(hi2, bpm[i])
	}
	return g, normkit.RoundInt(sum / float64(len(bpm))), health.Int(lo2), health.Int(hi2)
}

// seriesHRV maps an Oura HRV (RMSSD) series to granular samples and their
// mean.
func seriesHRV(s *oura.Sample, lo, hi time.Time) (g []health.HRVRMSSDSample, avg *float64) {
	if s == nil {
		return nil, nil
	}
	b := normkit.NewStamps(len(s.Items))
	vals := make([]float64, 0, len(s.Items))
	series(s, lo, hi, func(at time.Time, v float64) {
		if v <= 0 {
			return
		}
		b.Add(at)
		vals = append(vals, v)
	})
	if len(vals) == 0 {
		return nil, nil
	}
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	return hrvSamples(b, vals), health.Float(sum / float64(len(vals)))
}

// hrvSamples pairs stamps and values, which b and vals hold in one order.
func hrvSamples(b normkit.Stamps, vals []float64) []health.HRVRMSSDSample {
	strs := b.Strings()
	g := make([]health.HRVRMSSDSample, len(vals))
	for i := range vals {
		g[i] = health.HRVRMSSDSample{Datetime: &strs[i], HRVRMSSD: &vals[i]}
	}
	return g
}
