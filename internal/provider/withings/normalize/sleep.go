package normalize

import (
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// Sleep states of a segment (sleepv2 get).
const (
	stateAwake       = 0
	stateLight       = 1
	stateDeep        = 2
	stateREM         = 3
	stateManual      = 4
	stateUnspecified = 5
	stateOutOfBed    = 15
)

func stateName(s int64) string {
	switch s {
	case stateAwake:
		return "awake"
	case stateLight:
		return "light"
	case stateDeep:
		return "deep"
	case stateREM:
		return "rem"
	case stateManual:
		return "manual"
	case stateUnspecified:
		return "unspecified"
	case stateOutOfBed:
		return "out_of_bed"
	}
	return "state_" + strconv.FormatInt(s, 10)
}

// sessionGap splits segments that no summary covers into sessions: a
// longer pause than this between two segments starts another sleep.
const sessionGap = time.Hour

// night is one decoded sleep summary.
type night struct {
	v          SleepSummary
	id         string
	raw        []byte
	day        string
	loc        *time.Location
	start, end time.Time
	ok         bool // start and end are usable and in order
	segs       []*segment
}

// segment is one decoded sleep segment; its instants are in UTC until a
// night or a session places them.
type segment struct {
	v          SleepSegment
	start, end time.Time
	night      *night
}

func (r *run) addNight(d provider.Document) {
	x, ok := decode[SleepSummary](r, d)
	if !ok {
		return
	}
	n := &night{v: x.v, id: d.ID, raw: x.raw, loc: r.zone(x.v.Timezone)}
	if x.v.ID.OK {
		n.id = strconv.FormatInt(x.v.ID.V, 10)
	}
	var okS, okE bool
	if x.v.StartDate.OK {
		n.start, okS = at(x.v.StartDate.V, n.loc)
	}
	if x.v.EndDate.OK {
		n.end, okE = at(x.v.EndDate.V, n.loc)
	}
	n.ok = okS && okE && !n.end.Before(n.start)
	day, okD := normkit.ParseDay(string(x.v.Date))
	if !okD && okE {
		day, okD = n.end.Format(time.DateOnly), true
	}
	if !okD {
		r.fail(d, "no day: neither a date nor an end")
		return
	}
	n.day = day
	r.summaries = append(r.summaries, n)
}

func (r *run) addSegment(d provider.Document) {
	x, ok := decode[SleepSegment](r, d)
	if !ok {
		return
	}
	v := x.v
	if !v.StartDate.OK || !v.EndDate.OK || v.EndDate.V < v.StartDate.V || !v.State.OK {
		r.fail(d, "no state, or no start and end in order")
		return
	}
	s := &segment{v: v}
	var okS, okE bool
	s.start, okS = at(v.StartDate.V, time.UTC)
	s.end, okE = at(v.EndDate.V, time.UTC)
	if !okS || !okE {
		r.fail(d, "start or end is not a usable instant")
		return
	}
	r.segments = append(r.segments, s)
}

// buildSleep emits one sleep_summary per day with a night: a summary
// where Withings made one (its segments give the series), else a session
// of segments no summary covers.
func (r *run) buildSleep() {
	sortStable(r.summaries, func(a, b *night) bool {
		if !a.start.Equal(b.start) {
			return a.start.Before(b.start)
		}
		return a.id < b.id
	})
	sortStable(r.segments, func(a, b *segment) bool { return a.start.Before(b.start) })
	var loose []*segment
	for _, s := range r.segments {
		if n := r.nightOf(s); n != nil {
			s.night = n
			n.segs = append(n.segs, s)
		} else {
			loose = append(loose, s)
		}
	}
	byDay := map[string][]*night{}
	for _, n := range r.summaries {
		byDay[n.day] = append(byDay[n.day], n)
	}
	sessions := map[string][][]*segment{}
	for _, ss := range splitSessions(loose) {
		loc := r.zone(ss[0].v.Timezone)
		day := ss[len(ss)-1].end.In(loc).Format(time.DateOnly)
		if byDay[day] == nil {
			sessions[day] = append(sessions[day], ss)
		}
	}
	for _, day := range sortedKeys(byDay) {
		r.emit(day, r.nightSummary(day, byDay[day]))
	}
	for _, day := range sortedKeys(sessions) {
		r.emit(day, r.sessionSummary(day, sessions[day]))
	}
}

// nightOf is the summary whose span holds the middle of the segment,
// preferring one of the same device.
func (r *run) nightOf(s *segment) *night {
	mid := s.start.Add(s.end.Sub(s.start) / 2)
	var found *night
	for _, n := range r.summaries {
		if !n.ok || mid.Before(n.start) || mid.After(n.end) {
			continue
		}
		if n.v.HashDeviceID != "" && n.v.HashDeviceID == s.v.HashDeviceID {
			return n
		}
		if found == nil {
			found = n
		}
	}
	return found
}

func splitSessions(segs []*segment) [][]*segment {
	var out [][]*segment
	for _, s := range segs {
		if n := len(out); n > 0 {
			cur := out[n-1]
			if !s.start.After(cur[len(cur)-1].end.Add(sessionGap)) {
				out[n-1] = append(cur, s)
				continue
			}
		}
		out = append(out, []*segment{s})
	}
	return out
}

// pickMain chooses the night a day's summary describes: the longest;
// ties go to the earlier start, then the smaller id (the input is sorted
// so).
func pickMain(ns []*night) *night {
	var best *night
	for _, n := range ns {
		if best == nil || (n.ok && (!best.ok || n.end.Sub(n.start) > best.end.Sub(best.start))) {
			best = n
		}
	}
	return best
}

// seconds rounds a duration Withings gives in seconds.
func seconds(f Float) *int { return nonNegRound(f) }

// nightSummary maps a day's main night and its segments; the other nights
// of the day are attached as naps.
//
// Summary: start, end and their span as time in bed; light, deep and REM
// and their sum as time asleep (total_sleep_time, then asleepduration,
// when the stages are missing); WASO as time awake during sleep; sleep
// latency as time to fall asleep; efficiency (a ratio, or a percentage
// in older answers) as a 1-100 score; heart rate and breathing rate
// average, minimum and maximum; snoring time and episodes; core body
// temperature. Stages that add up to more than the span are not copied:
// they cannot be right. Segments: the heart rate, breathing rate, HRV and
// snoring series, and the hypnogram.
func (r *run) nightSummary(day string, ns []*night) *health.SleepSummaryDocument {
	n := pickMain(ns)
	d := &health.SleepSummaryDocument{Header: r.header(day)}
	s := &d.Summary
	du := &s.Duration
	du.SleepDate = health.String(day)
	when := midnight(day, n.loc)
	data := n.v.Data
	inBed := -1
	if n.ok {
		du.SleepStartDatetime, du.SleepEndDatetime = health.Datetime(n.start), health.Datetime(n.end)
		when = du.SleepStartDatetime
		inBed = int(n.end.Sub(n.start) / time.Second)
		du.TimeInBedSeconds = normkit.NonNegInt(inBed)
	}
	light, deep, rem := seconds(data.LightSleepDuration), seconds(data.DeepSleepDuration), seconds(data.REMSleepDuration)
	asleep := normkit.SumKnown(light, deep, rem)
	if asleep == nil {
		light, deep, rem = nil, nil, nil
		asleep = seconds(data.TotalSleepTime)
		if asleep == nil {
			asleep = seconds(data.AsleepDuration)
		}
	}
	awake := seconds(data.WASO)
	if awake == nil {
		awake = seconds(data.WakeupDuration)
	}
	latency := seconds(data.SleepLatency)
	if latency == nil {
		latency = seconds(data.DurationToSleep)
	}
	if fits(inBed, asleep, awake, latency) {
		du.LightSleepDurationSeconds, du.DeepSleepDurationSeconds, du.REMSleepDurationSeconds = light, deep, rem
		du.SleepDurationSeconds, du.TimeAwakeDuringSleepSeconds, du.TimeToFallAsleepSeconds = asleep, awake, latency
	}
	if e := data.SleepEfficiency; e.OK {
		v := e.V
		if v <= 1 {
			v *= 100 // a ratio, as the spec defines it
		}
		s.Scores.SleepEfficiency1To100Score = normkit.Percentage(v)
	}

	ser := series(n.segs, n.start, n.end, n.loc, n.ok)
	hr := &s.HeartRate
	hr.HRAvgBPM, hr.HRMinimumBPM, hr.HRMaximumBPM = orStat(posRound(data.HRAverage), ser.hrAvg), orStat(posRound(data.HRMin), ser.hrMin), orStat(posRound(data.HRMax), ser.hrMax)
	hr.HRGranularData = ser.hr
	hr.HRVAvgRMSSD = ser.rmssdAvg
	if hr.HRVAvgRMSSD == nil && data.RMSSDStartAvg.OK && data.RMSSDEndAvg.OK {
		hr.HRVAvgRMSSD = normkit.PositiveFloat(health.Float(round((data.RMSSDStartAvg.V+data.RMSSDEndAvg.V)/2, 2)))
	}
	hr.HRVRMSSDGranularData, hr.HRVAvgSDNN, hr.HRVSDNNGranularData = ser.rmssd, ser.sdnnAvg, ser.sdnn
	b := &s.Breathing
	b.BreathsAvgPerMin, b.BreathsMinimumPerMin, b.BreathsMaximumPerMin = orStat(posRound(data.RRAverage), ser.rrAvg), orStat(posRound(data.RRMin), ser.rrMin), orStat(posRound(data.RRMax), ser.rrMax)
	b.BreathingGranularData = ser.rr
	b.SnoringDurationTotalSeconds = seconds(data.Snoring)
	b.SnoringEventsCount = nonNegRound(data.SnoringEpisodeCount)
	b.SnoringGranularData = ser.snoring
	s.Temperature = coreTemperature(data)

	s.Metadata = r.metadata(when)
	s.NonStructuredData = append(s.NonStructuredData, wrap(withings.CollSleepSummary, normkit.RoleMain, n.raw))
	if h := hypnogram(n.segs, n.loc); h != nil {
		s.NonStructuredData = append(s.NonStructuredData, h)
	}
	for _, o := range ns {
		if o != n {
			s.NonStructuredData = append(s.NonStructuredData, wrap(withings.CollSleepSummary, normkit.RoleNap, o.raw))
		}
	}
	return d
}

// fits reports whether durations are known to fit in the time in bed.
func fits(inBed int, parts ...*int) bool {
	if inBed < 0 {
		return false
	}
	t := 0
	for _, p := range parts {
		if p != nil {
			t += *p
		}
	}
	return t <= inBed
}

func orStat(a, b *int) *int {
	if a != nil {
		return a
	}
	return b
}

func coreTemperature(data SleepSummaryData) health.Temperature {
	var t health.Temperature
	v := func(f Float) *health.TemperatureValue {
		if !f.OK || !(f.V > 0) {
			return nil
		}
		return &health.TemperatureValue{TemperatureCelsius: health.Float(f.V), MeasurementType: health.String(tempCore)}
	}
	t.TemperatureAvg, t.TemperatureMinimum, t.TemperatureMaximum = v(data.CoreBodyTemperatureAvg), v(data.CoreBodyTemperatureMin), v(data.CoreBodyTemperatureMax)
	return t
}

// sessionSummary maps segments no summary covers (a night whose summary
// is not stored yet): the day's longest session, its span as time in
// bed, the time in each state, the time before the first asleep segment
// as time to fall asleep, and the series.
func (r *run) sessionSummary(day string, sessions [][]*segment) *health.SleepSummaryDocument {
	main := sessions[0]
	for _, ss := range sessions[1:] {
		if ss[len(ss)-1].end.Sub(ss[0].start) > main[len(main)-1].end.Sub(main[0].start) {
			main = ss
		}
	}
	loc := r.zone(main[0].v.Timezone)
	start, end := main[0].start.In(loc), main[len(main)-1].end.In(loc)
	for _, sg := range main {
		if sg.end.After(end) {
			end = sg.end.In(loc)
		}
	}
	d := &health.SleepSummaryDocument{Header: r.header(day)}
	s := &d.Summary
	du := &s.Duration
	du.SleepDate = health.String(day)
	du.SleepStartDatetime, du.SleepEndDatetime = health.Datetime(start), health.Datetime(end)
	inBed := int(end.Sub(start) / time.Second)
	du.TimeInBedSeconds = normkit.NonNegInt(inBed)
	var light, deep, rem, other, awake int
	var firstAsleep *time.Time
	for _, sg := range main {
		n := int(sg.end.Sub(sg.start) / time.Second)
		switch st := sg.v.State.V; st {
		case stateAwake, stateOutOfBed:
			if firstAsleep != nil {
				awake += n
			}
			continue
		case stateLight:
			light += n
		case stateDeep:
			deep += n
		case stateREM:
			rem += n
		default:
			other += n
		}
		if firstAsleep == nil {
			t := sg.start
			firstAsleep = &t
		}
	}
	asleep := light + deep + rem + other
	if asleep+awake <= inBed {
		if other == 0 {
			du.LightSleepDurationSeconds, du.DeepSleepDurationSeconds, du.REMSleepDurationSeconds = health.Int(light), health.Int(deep), health.Int(rem)
		}
		du.SleepDurationSeconds, du.TimeAwakeDuringSleepSeconds = health.Int(asleep), health.Int(awake)
		if firstAsleep != nil {
			du.TimeToFallAsleepSeconds = normkit.NonNegInt(int(firstAsleep.Sub(start) / time.Second))
		}
	}
	ser := series(main, start, end, loc, true)
	s.HeartRate.HRAvgBPM, s.HeartRate.HRMinimumBPM, s.HeartRate.HRMaximumBPM, s.HeartRate.HRGranularData = ser.hrAvg, ser.hrMin, ser.hrMax, ser.hr
	s.HeartRate.HRVAvgRMSSD, s.HeartRate.HRVRMSSDGranularData, s.HeartRate.HRVAvgSDNN, s.HeartRate.HRVSDNNGranularData = ser.rmssdAvg, ser.rmssd, ser.sdnnAvg, ser.sdnn
	b := &s.Breathing
	b.BreathsAvgPerMin, b.BreathsMinimumPerMin, b.BreathsMaximumPerMin, b.BreathingGranularData = ser.rrAvg, ser.rrMin, ser.rrMax, ser.rr
	b.SnoringGranularData = ser.snoring
	if ser.snoring != nil {
		b.SnoringDurationTotalSeconds = normkit.RoundInt(ser.snoringTotal)
	}
	s.Metadata = r.metadata(du.SleepStartDatetime)
	if h := hypnogram(main, loc); h != nil {
		s.NonStructuredData = append(s.NonStructuredData, h)
	}
	return d
}

// nightSeries are the samples of a night's segments, in its zone and
// inside its span, with their statistics.
type nightSeries struct {
	hr                  []health.HRSample
	hrAvg, hrMin, hrMax *int
	rr                  []health.BreathingSample
	rrAvg, rrMin, rrMax *int
	rmssd               []health.HRVRMSSDSample
	rmssdAvg            *float64
	sdnn                []health.HRVSDNNSample
	sdnnAvg             *float64
	snoring             []health.SnoringSample
	snoringTotal        float64
}

// point is one sample of a series.
type point struct {
	t time.Time
	v float64
}

// points merges one series of every segment: the samples inside
// [lo, hi] (all when bounded is false), positive, one per instant (the
// first segment's), in time order.
func points(segs []*segment, pick func(*SleepSegment) Series, lo, hi time.Time, loc *time.Location, bounded bool) []point {
	seen := map[int64]bool{}
	var out []point
	for _, sg := range segs {
		for k, v := range pick(&sg.v) {
			e, err := strconv.ParseInt(k, 10, 64)
			if err != nil || !v.OK || !(v.V > 0) || seen[e] {
				continue
			}
			t, ok := at(e, loc)
			if !ok || (bounded && (t.Before(lo) || t.After(hi))) {
				continue
			}
			seen[e] = true
			out = append(out, point{t, v.V})
		}
	}
	sortStable(out, func(a, b point) bool { return a.t.Before(b.t) })
	return out
}

func stats(ps []point) (avg, lo, hi *int) {
	if len(ps) == 0 {
		return nil, nil, nil
	}
	vs := make([]float64, len(ps))
	for i, p := range ps {
		vs[i] = p.v
	}
	l, h := minMax(vs)
	return meanInt(vs), normkit.RoundInt(l), normkit.RoundInt(h)
}

func avgFloat(ps []point) *float64 {
	if len(ps) == 0 {
		return nil
	}
	t := 0.0
	for _, p := range ps {
		t += p.v
	}
	return health.Float(round(t/float64(len(ps)), 2))
}

func series(segs []*segment, lo, hi time.Time, loc *time.Location, bounded bool) nightSeries {
	var ns nightSeries
	hr := points(segs, func(s *SleepSegment) Series { return s.HR }, lo, hi, loc, bounded)
	for _, p := range hr {
		ns.hr = append(ns.hr, health.HRSample{Datetime: health.Datetime(p.t), HRBPM: normkit.RoundInt(p.v)})
	}
	ns.hrAvg, ns.hrMin, ns.hrMax = stats(hr)
	rr := points(segs, func(s *SleepSegment) Series { return s.RR }, lo, hi, loc, bounded)
	for _, p := range rr {
		ns.rr = append(ns.rr, health.BreathingSample{Datetime: health.Datetime(p.t), BreathsPerMin: normkit.RoundInt(p.v)})
	}
	ns.rrAvg, ns.rrMin, ns.rrMax = stats(rr)
	rm := points(segs, func(s *SleepSegment) Series { return s.RMSSD }, lo, hi, loc, bounded)
	for _, p := range rm {
		ns.rmssd = append(ns.rmssd, health.HRVRMSSDSample{Datetime: health.Datetime(p.t), HRVRMSSD: health.Float(p.v)})
	}
	ns.rmssdAvg = avgFloat(rm)
	sd := points(segs, func(s *SleepSegment) Series { return s.SDNN1 }, lo, hi, loc, bounded)
	for _, p := range sd {
		ns.sdnn = append(ns.sdnn, health.HRVSDNNSample{Datetime: health.Datetime(p.t), HRVSDNN: health.Float(p.v)})
	}
	ns.sdnnAvg = avgFloat(sd)
	// A snoring sample is the seconds of snoring in the interval that
	// starts at its instant: ROOK's interval duration.
	for _, p := range points(segs, func(s *SleepSegment) Series { return s.Snoring }, lo, hi, loc, bounded) {
		ns.snoring = append(ns.snoring, health.SnoringSample{Datetime: health.Datetime(p.t), IntervalDurationSeconds: health.Float(p.v)})
		ns.snoringTotal += p.v
	}
	return ns
}

// hypnogramItem is the segments' states as runs, attached with role
// hypnogram: ROOK has no field for sleep stages over time.
type hypnogramItem struct {
	Source     string           `json:"source"`
	Collection string           `json:"collection"`
	Role       string           `json:"role"`
	Phases     []hypnogramPhase `json:"phases"`
}

type hypnogramPhase struct {
	Start           string `json:"start_datetime"`
	DurationSeconds int64  `json:"duration_seconds"`
	State           string `json:"state"`
}

func hypnogram(segs []*segment, loc *time.Location) []byte {
	if len(segs) == 0 {
		return nil
	}
	h := hypnogramItem{Source: source, Collection: withings.CollSleep, Role: normkit.RoleHypnogram}
	var lastEnd time.Time
	var lastState int64 = -1
	for _, sg := range segs {
		n := len(h.Phases)
		if n > 0 && sg.v.State.V == lastState && sg.start.Equal(lastEnd) {
			h.Phases[n-1].DurationSeconds += int64(sg.end.Sub(sg.start) / time.Second)
		} else {
			h.Phases = append(h.Phases, hypnogramPhase{
				Start:           string(normkit.AppendDatetime(nil, sg.start.In(loc))),
				DurationSeconds: int64(sg.end.Sub(sg.start) / time.Second),
				State:           stateName(sg.v.State.V),
			})
		}
		lastEnd, lastState = sg.end, sg.v.State.V
	}
	return normkit.Derived(h)
}
