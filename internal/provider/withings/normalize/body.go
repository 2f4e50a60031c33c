package normalize

import (
	"bytes"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// Roles of attached measure groups that fill no ROOK field. They add to
// normkit's shared roles what only Withings has.
const (
	roleObjective = "objective" // category 2: a goal the user set, not a measurement
	roleAmbiguous = "ambiguous" // attrib 1: a device reading that may be someone else's
)

// class says how a measure group was obtained, which decides where it
// may go.
type class int

const (
	classDevice    class = iota // measured by a device and the user's
	classManual                 // entered by the user (attrib 2 and 4)
	classObjective              // a goal (category 2)
	classAmbiguous              // measured, but maybe not the user's (attrib 1)
)

// manualPrefix keys the events of measures the user entered, apart from
// the device's events of the same day.
const manualPrefix = "manual:"

// Measurement types of temperatures in ROOK's measurement_type_string.
const (
	tempBody = "body"
	tempSkin = "skin"
	tempCore = "core"
)

// value is one usable measure of a group.
type value struct {
	typ int64
	v   float64
}

// group is one decoded measure group.
type group struct {
	v      MeasureGroup
	id     string
	raw    []byte
	t      time.Time
	day    string
	class  class
	values []value
}

// get returns the group's first measure of a type.
func (g *group) get(typ int64) (float64, bool) {
	for _, v := range g.values {
		if v.typ == typ {
			return v.v, true
		}
	}
	return 0, false
}

func (g *group) has(types ...int64) bool {
	for _, t := range types {
		if _, ok := g.get(t); ok {
			return true
		}
	}
	return false
}

func (r *run) addGroup(d provider.Document) {
	x, ok := decode[MeasureGroup](r, d)
	if !ok {
		return
	}
	v := x.v
	if !v.GrpID.OK || !v.Date.OK {
		r.fail(d, "no grpid or date")
		return
	}
	t, ok := at(v.Date.V, r.zone(v.Timezone))
	if !ok {
		r.fail(d, "date %d is not a usable instant", v.Date.V)
		return
	}
	g := &group{v: v, id: strconv.FormatInt(v.GrpID.V, 10), raw: x.raw, t: t, day: t.Format(time.DateOnly)}
	switch {
	case v.Category.OK && v.Category.V == 2:
		g.class = classObjective
	case v.Attrib.OK && (v.Attrib.V == 2 || v.Attrib.V == 4):
		g.class = classManual
	case v.Attrib.OK && v.Attrib.V == 1:
		g.class = classAmbiguous
	}
	for _, m := range v.Measures {
		if f, ok := m.Decimal(); ok {
			g.values = append(g.values, value{typ: m.Type.V, v: f})
		}
	}
	r.groups = append(r.groups, g)
}

// dedupe keeps one group per grpid: the last modified (the documents are
// already in a stable order, which breaks ties). The others are returned
// to be attached as superseded.
func dedupe(groups []*group) (kept, superseded []*group) {
	best := map[string]*group{}
	for _, g := range groups {
		b, ok := best[g.id]
		if !ok || g.v.Modified.V > b.v.Modified.V || (g.v.Modified.V == b.v.Modified.V && bytes.Compare(g.raw, b.raw) > 0) {
			best[g.id] = g
		}
	}
	for _, g := range groups {
		if best[g.id] == g {
			kept = append(kept, g)
		} else {
			superseded = append(superseded, g)
		}
	}
	return kept, superseded
}

// dayGroups are the groups of one local day, by class.
type dayGroups struct {
	device, manual, attached []*group
	roles                    []string // of attached
}

// buildBody emits, per local day, the body_summary of the device's
// measurements and the body events of the device's and of the user's.
func (r *run) buildBody() {
	groups, superseded := dedupe(r.groups)
	sortGroups(groups)
	sortGroups(superseded)
	days := map[string]*dayGroups{}
	get := func(day string) *dayGroups {
		if days[day] == nil {
			days[day] = &dayGroups{}
		}
		return days[day]
	}
	var heights []*group // heights of the device and the user, in time order
	for _, g := range groups {
		dg := get(g.day)
		switch g.class {
		case classDevice:
			dg.device = append(dg.device, g)
		case classManual:
			dg.manual = append(dg.manual, g)
		case classObjective:
			dg.attached, dg.roles = append(dg.attached, g), append(dg.roles, roleObjective)
		case classAmbiguous:
			dg.attached, dg.roles = append(dg.attached, g), append(dg.roles, roleAmbiguous)
		}
		if (g.class == classDevice || g.class == classManual) && g.has(typeHeight) {
			heights = append(heights, g)
		}
	}
	for _, g := range superseded {
		dg := get(g.day)
		dg.attached, dg.roles = append(dg.attached, g), append(dg.roles, normkit.RoleSuperseded)
	}
	for _, day := range sortedKeys(days) {
		dg := days[day]
		if len(dg.device) > 0 || len(dg.attached) > 0 {
			r.bodySummary(day, dg, heights)
		}
		r.bodyEvents(day, dg.device, heights, true)
		r.bodyEvents(manualPrefix+day, dg.manual, heights, false)
	}
}

func sortGroups(gs []*group) {
	sortStable(gs, func(a, b *group) bool {
		if !a.t.Equal(b.t) {
			return a.t.Before(b.t)
		}
		return a.id < b.id
	})
}

// heightAt is the newest height measured or entered at or before t, in
// metres. A height is the one body value no Withings device measures: the
// user enters it, usually once. It is therefore taken from entered groups
// too, to place weights on the BMI scale; it never makes a day's summary
// by itself.
func heightAt(heights []*group, t time.Time) (float64, bool) {
	var h float64
	ok := false
	for _, g := range heights {
		if g.t.After(t) {
			break
		}
		if v, found := g.get(typeHeight); found && v > 0 {
			h, ok = v, true
		}
	}
	return h, ok
}

// bodyMetrics maps one group: weight (kg), height (cm), BMI from the
// weight and the newest height, and bone, muscle and water (hydration) as
// percentages of the group's own weight.
func bodyMetrics(g *group, heights []*group) health.BodyMetrics {
	var m health.BodyMetrics
	w, okW := g.get(typeWeight)
	okW = okW && w > 0
	if okW {
		m.WeightKg = health.Float(w)
	}
	h, okH := g.get(typeHeight)
	if !okH || !(h > 0) {
		h, okH = heightAt(heights, g.t)
	}
	if okH {
		m.HeightCm = normkit.RoundInt(h * 100)
	}
	if okW && okH {
		m.BMI = health.Float(round(w/(h*h), 1))
	}
	if okW {
		share := func(typ int64) *int {
			if v, ok := g.get(typ); ok && v >= 0 {
				return normkit.Percentage(v / w * 100)
			}
			return nil
		}
		m.BoneCompositionPercentage = share(typeBoneMass)
		m.MuscleCompositionPercentage = share(typeMuscleMass)
		m.WaterCompositionPercentage = share(typeHydration)
	}
	return m
}

// hasMetrics says whether a group carries a body_metrics value.
func hasMetrics(g *group) bool {
	return g.has(typeWeight, typeHeight, typeBoneMass, typeMuscleMass, typeHydration)
}

// samples are the readings of a set of groups, per ROOK object, with the
// groups each was drawn from.
type samples struct {
	bp                           []health.BloodPressureSample
	sys, dia                     []float64
	hr                           []health.HRSample
	hrV                          []float64
	temp                         []health.TemperatureSample
	tempBody, tempSkin           []float64
	spo2                         []health.SaturationSample
	spo2V                        []float64
	vo2                          []health.VO2Sample
	vo2V                         []float64
	bpSrc, hrSrc, tempSrc, oxSrc []*group
}

func collect(groups []*group) samples {
	var s samples
	for _, g := range groups {
		when := health.Datetime(g.t)
		sys, okS := g.get(typeSystolic)
		dia, okD := g.get(typeDiastolic)
		if okS || okD {
			b := health.BloodPressureSample{Datetime: when}
			if okS && sys > 0 {
				b.SystolicMmHg = normkit.RoundInt(sys)
				s.sys = append(s.sys, sys)
			}
			if okD && dia > 0 {
				b.DiastolicMmHg = normkit.RoundInt(dia)
				s.dia = append(s.dia, dia)
			}
			s.bp = append(s.bp, b)
			s.bpSrc = append(s.bpSrc, g)
		}
		if v, ok := g.get(typeHeartPulse); ok && v > 0 {
			s.hr = append(s.hr, health.HRSample{Datetime: when, HRBPM: normkit.RoundInt(v)})
			s.hrV = append(s.hrV, v)
			s.hrSrc = append(s.hrSrc, g)
		}
		took := false
		for _, tt := range []struct {
			typ  int64
			kind string
		}{{typeTemperature, tempBody}, {typeBodyTemperature, tempBody}, {typeSkinTemperature, tempSkin}} {
			if v, ok := g.get(tt.typ); ok {
				s.temp = append(s.temp, health.TemperatureSample{Datetime: when, TemperatureCelsius: health.Float(v), MeasurementType: health.String(tt.kind)})
				if tt.kind == tempBody {
					s.tempBody = append(s.tempBody, v)
				} else {
					s.tempSkin = append(s.tempSkin, v)
				}
				took = true
			}
		}
		if took {
			s.tempSrc = append(s.tempSrc, g)
		}
		took = false
		if v, ok := g.get(typeSpO2); ok {
			if p := normkit.Percentage(v); p != nil {
				s.spo2 = append(s.spo2, health.SaturationSample{Datetime: when, SaturationPercentage: p})
				s.spo2V = append(s.spo2V, v)
				took = true
			}
		}
		if v, ok := g.get(typeVO2Max); ok && v > 0 {
			s.vo2 = append(s.vo2, health.VO2Sample{Datetime: when, VO2MLPerMinPerKg: normkit.RoundInt(v)})
			s.vo2V = append(s.vo2V, v)
			took = true
		}
		if took {
			s.oxSrc = append(s.oxSrc, g)
		}
	}
	return s
}

func mean(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	t := 0.0
	for _, v := range vs {
		t += v
	}
	return t / float64(len(vs)), true
}

func meanInt(vs []float64) *int {
	if m, ok := mean(vs); ok {
		return normkit.RoundInt(m)
	}
	return nil
}

func minMax(vs []float64) (lo, hi float64) {
	lo, hi = vs[0], vs[0]
	for _, v := range vs[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func (s samples) bloodPressure() health.BloodPressure {
	var b health.BloodPressure
	if len(s.bp) == 0 {
		return b
	}
	b.BloodPressureAvg = &health.BloodPressureValue{SystolicMmHg: meanInt(s.sys), DiastolicMmHg: meanInt(s.dia)}
	b.BloodPressureGranularData = s.bp
	return b
}

func (s samples) heartRate() health.HeartRate {
	var h health.HeartRate
	if len(s.hrV) == 0 {
		return h
	}
	lo, hi := minMax(s.hrV)
	h.HRAvgBPM, h.HRMinimumBPM, h.HRMaximumBPM = meanInt(s.hrV), normkit.RoundInt(lo), normkit.RoundInt(hi)
	h.HRGranularData = s.hr
	return h
}

// temperature: the average, lowest and highest of the body temperatures
// (types 12 and 71); a day with only skin temperatures (73) has them
// instead. The samples keep each reading's kind.
func (s samples) temperature() health.Temperature {
	var t health.Temperature
	vs, kind := s.tempBody, tempBody
	if len(vs) == 0 {
		vs, kind = s.tempSkin, tempSkin
	}
	if len(vs) == 0 {
		return t
	}
	m, _ := mean(vs)
	lo, hi := minMax(vs)
	t.TemperatureAvg = &health.TemperatureValue{TemperatureCelsius: health.Float(round(m, 2)), MeasurementType: health.String(kind)}
	t.TemperatureMinimum = &health.TemperatureValue{TemperatureCelsius: health.Float(lo), MeasurementType: health.String(kind)}
	t.TemperatureMaximum = &health.TemperatureValue{TemperatureCelsius: health.Float(hi), MeasurementType: health.String(kind)}
	t.TemperatureGranularData = s.temp
	return t
}

// oxygenation: SpO2 average and samples; the newest VO2 max and its
// samples.
func (s samples) oxygenation() health.Oxygenation {
	var o health.Oxygenation
	if len(s.spo2) > 0 {
		o.SaturationAvgPercentage = meanInt(s.spo2V)
		o.SaturationGranularData = s.spo2
	}
	if n := len(s.vo2V); n > 0 {
		o.VO2MaxMLPerMinPerKg = normkit.RoundInt(s.vo2V[n-1])
		o.VO2GranularData = s.vo2
	}
	return o
}

// bodySummary maps a day's device measurements. Body metrics come from
// the day's last weigh-in (the last group with a weight, else with any
// body metric); the other objects summarize every reading of the day.
func (r *run) bodySummary(day string, dg *dayGroups, heights []*group) {
	d := &health.BodySummaryDocument{Header: r.header(day)}
	s := &d.Summary
	var loc *time.Location
	var last, lastAny *group
	for _, g := range dg.device {
		if g.has(typeWeight) {
			last = g
		}
		if hasMetrics(g) {
			lastAny = g
		}
	}
	if last == nil {
		last = lastAny
	}
	if last != nil {
		s.BodyMetrics = bodyMetrics(last, heights)
	}
	sm := collect(dg.device)
	s.BloodPressure = sm.bloodPressure()
	s.HeartRate = sm.heartRate()
	s.Temperature = sm.temperature()
	s.Oxygenation = sm.oxygenation()
	all := append(append([]*group(nil), dg.device...), dg.attached...)
	if len(all) > 0 {
		loc = all[0].t.Location()
	}
	s.Metadata = r.metadata(midnight(day, loc))
	for _, g := range dg.device {
		s.NonStructuredData = append(s.NonStructuredData, wrap(withings.CollMeasure, "", g.raw))
	}
	for i, g := range dg.attached {
		s.NonStructuredData = append(s.NonStructuredData, wrap(withings.CollMeasure, dg.roles[i], g.raw))
	}
	r.emit(day, d)
}

// bodyEvents emits the body events of one day's groups of one class:
// a body_metrics_event with one record per group that has body metrics,
// and one record each (with its granular array) for blood pressure,
// heart rate, temperature and oxygenation. Each record attaches the
// groups it was drawn from. auto is whether a device took them.
func (r *run) bodyEvents(key string, groups []*group, heights []*group, auto bool) {
	if len(groups) == 0 {
		return
	}
	day := groups[0].day
	h := r.header(day)
	attach := func(gs []*group) health.NonStructuredData {
		var out health.NonStructuredData
		for _, g := range gs {
			out = append(out, wrap(withings.CollMeasure, "", g.raw))
		}
		return out
	}
	var metrics []health.BodyMetricsEventRecord
	for _, g := range groups {
		if !hasMetrics(g) {
			continue
		}
		metrics = append(metrics, health.BodyMetricsEventRecord{
			Metadata:          r.eventMetadata(health.Datetime(g.t), nil),
			BodyMetrics:       bodyMetrics(g, heights),
			NonStructuredData: attach([]*group{g}),
		})
	}
	if len(metrics) > 0 {
		r.emit(key, &health.BodyMetricsEventDocument{Header: h, AutoDetected: health.Bool(auto), Events: metrics})
	}
	s := collect(groups)
	if len(s.bpSrc) > 0 {
		rec := health.BloodPressureEventRecord{Metadata: r.eventMetadata(s.bp[0].Datetime, nil), BloodPressure: s.bloodPressure(), NonStructuredData: attach(s.bpSrc)}
		r.emit(key, &health.BloodPressureEventDocument{Header: h, AutoDetected: health.Bool(auto), Events: []health.BloodPressureEventRecord{rec}})
	}
	if len(s.hrSrc) > 0 {
		rec := health.HeartRateEventRecord{Metadata: r.eventMetadata(s.hr[0].Datetime, nil), HeartRate: s.heartRate(), NonStructuredData: attach(s.hrSrc)}
		r.emit(key, &health.BodyHeartRateEventDocument{Header: h, AutoDetected: health.Bool(auto), Events: []health.HeartRateEventRecord{rec}})
	}
	if len(s.tempSrc) > 0 {
		rec := health.TemperatureEventRecord{Metadata: r.eventMetadata(s.temp[0].Datetime, nil), Temperature: s.temperature(), NonStructuredData: attach(s.tempSrc)}
		r.emit(key, &health.TemperatureEventDocument{Header: h, AutoDetected: health.Bool(auto), Events: []health.TemperatureEventRecord{rec}})
	}
	if len(s.oxSrc) > 0 {
		rec := health.OxygenationEventRecord{Metadata: r.eventMetadata(health.Datetime(s.oxSrc[0].t), nil), Oxygenation: s.oxygenation(), NonStructuredData: attach(s.oxSrc)}
		r.emit(key, &health.BodyOxygenationEventDocument{Header: h, AutoDetected: health.Bool(auto), Events: []health.OxygenationEventRecord{rec}})
	}
}
