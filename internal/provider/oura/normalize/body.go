package normalize

import (
	"encoding/json"
	"math"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// dayHR returns the day's heart-rate granular array, built once and shared
// by the physical summary and the heart-rate event.
func (r *run) dayHR(day string) []health.HRSample {
	if g, ok := r.hrGranular[day]; ok {
		return g
	}
	g := hrGranular(r.hrDays[day], nil)
	if r.hrGranular == nil {
		r.hrGranular = map[string][]health.HRSample{}
	}
	r.hrGranular[day] = g
	return g
}

// buildBody emits one body_summary per local day with body data or an
// attachment that belongs there.
func (r *run) buildBody() {
	for _, day := range r.daysWith(hasTemperature | hasSpO2 | hasHR | hasTag | hasEnhancedTag | hasRestMode | hasCVAge | hasBattery | hasAsOf) {
		r.emit(day, r.bodySummary(day))
	}
}

// bodySummary maps one local day: weight, height and BMI from
// personal_info on the as-of day; the day's heart-rate average, minimum
// and maximum and the night's lowest as resting (the samples themselves are
// in the physical summary and the heart-rate event); daily_spo2 average as
// saturation; the readiness temperature deviation as temperature delta.
func (r *run) bodySummary(day string) *health.BodySummaryDocument {
	d := &health.BodySummaryDocument{Header: r.header(day)}
	s := &d.Summary
	s.Metadata = r.metadata(r.dayStart(day))
	if day == r.asOf {
		if p := r.personalMain(); p != nil {
			s.BodyMetrics = bodyMetrics(p)
		}
	}
	s.HeartRate.HRAvgBPM, s.HeartRate.HRMinimumBPM, s.HeartRate.HRMaximumBPM = hrStats(r.hrDays[day])
	s.HeartRate.HRRestingBPM = r.restingHR(day)
	if sp := r.spo2[day].get(); sp != nil && sp.SpO2Percentage != nil {
		s.Oxygenation.SaturationAvgPercentage = normkit.Percentage(sp.SpO2Percentage.Average)
	}
	if dt := r.temperatureDelta(day); dt != nil {
		s.Temperature.TemperatureDelta = &health.TemperatureValue{TemperatureCelsius: dt, MeasurementType: health.String(skin)}
	}

	nsd := attachItems(nil, oura.CollTag, "", r.tags[day])
	nsd = attachItems(nsd, oura.CollEnhancedTag, "", r.etags[day])
	nsd = attachItems(nsd, oura.CollRestModePeriod, "", r.restMode[day])
	nsd = attachGroup(nsd, oura.CollDailyCardiovascularAge, r.cvAge[day])
	nsd = attachItems(nsd, oura.CollRingBatteryLevel, "", r.battery[day])
	if day == r.asOf {
		for i, p := range r.personal {
			role := normkit.RoleSuperseded
			if i == len(r.personal)-1 {
				role = ""
			}
			nsd = append(nsd, wrap(oura.CollPersonalInfo, role, withoutEmail(p.v)))
		}
		nsd = attachItems(nsd, oura.CollRingConfiguration, "", r.rings)
	}
	s.NonStructuredData = nsd
	return d
}

// personalMain is the personal_info mapped: the last in order when there
// are several.
func (r *run) personalMain() *oura.PersonalInfo {
	if len(r.personal) == 0 {
		return nil
	}
	return r.personal[len(r.personal)-1].v
}

// withoutEmail is personal_info as attached to delivered documents: the
// e-mail address is the only field that identifies the person and serves
// no health purpose, so it stays in the raw store only.
func withoutEmail(p *oura.PersonalInfo) []byte {
	b, err := json.Marshal(struct {
		ID            string   `json:"id"`
		Age           *int     `json:"age"`
		Weight        *float64 `json:"weight"`
		Height        *float64 `json:"height"`
		BiologicalSex *string  `json:"biological_sex"`
	}{p.ID, p.Age, normkit.Finite(p.Weight), normkit.Finite(p.Height), p.BiologicalSex})
	if err != nil {
		return []byte(`{}`)
	}
	return b
}

// heightCm converts Oura's height in metres to whole centimetres.
func heightCm(p *oura.PersonalInfo) *int {
	if h := normkit.PositiveFloat(p.Height); h != nil {
		return normkit.RoundInt(*h * 100)
	}
	return nil
}

// bodyMetrics maps personal_info: weight in kg, height in cm, and the BMI
// they give (kg/m², one decimal).
func bodyMetrics(p *oura.PersonalInfo) health.BodyMetrics {
	m := health.BodyMetrics{WeightKg: normkit.PositiveFloat(p.Weight), HeightCm: heightCm(p)}
	if w, h := normkit.PositiveFloat(p.Weight), normkit.PositiveFloat(p.Height); w != nil && h != nil {
		if bmi := *w / (*h * *h); !math.IsInf(bmi, 0) && !math.IsNaN(bmi) {
			m.BMI = health.Float(math.Round(bmi*10) / 10)
		}
	}
	return m
}

// buildDailyEvents emits the events Oura measures once a day (or as a
// day's series): heart rate, oxygenation, stress and temperature.
func (r *run) buildDailyEvents() {
	for _, day := range r.daysWith(hasHR) {
		r.heartRateEvent(day)
	}
	for _, day := range r.daysWith(hasSpO2) {
		r.oxygenationEvent(day)
	}
	for _, day := range r.daysWith(hasStress) {
		r.stressEvent(day)
	}
	for _, day := range r.daysWith(hasTemperature) {
		r.temperatureEvent(day)
	}
}

// heartRateEvent is the day's heart-rate samples as a body heart_rate_event:
// average (rounded), minimum, maximum and the samples in the user's local
// time, plus which Oura source recorded them.
func (r *run) heartRateEvent(day string) {
	s := r.hrDays[day]
	var rec health.HeartRateEventRecord
	rec.HeartRate.HRAvgBPM, rec.HeartRate.HRMinimumBPM, rec.HeartRate.HRMaximumBPM = hrStats(s)
	rec.HeartRate.HRGranularData = append([]health.HRSample(nil), r.dayHR(day)...)
	rec.Metadata = r.eventMetadata(health.Datetime(s[0].at), nil)
	rec.NonStructuredData = health.NonStructuredData{normkit.Derived(sourcesItem{
		Source: ouraSource, Collection: oura.CollHeartRate, Role: normkit.RoleSources, Runs: sourceRuns(s),
	})}
	d := &health.BodyHeartRateEventDocument{Header: r.header(day), AutoDetected: health.Bool(true), Events: []health.HeartRateEventRecord{rec}}
	r.emit(day, d)
}

// oxygenationEvent is the night's average SpO2 (rounded) as a body
// oxygenation_event; the breathing disturbance index is in the attached
// daily_spo2.
func (r *run) oxygenationEvent(day string) {
	var rec health.OxygenationEventRecord
	if sp := r.spo2[day].get(); sp != nil && sp.SpO2Percentage != nil {
		rec.Oxygenation.SaturationAvgPercentage = normkit.Percentage(sp.SpO2Percentage.Average)
	}
	rec.Metadata = r.eventMetadata(r.dayStart(day), nil)
	rec.NonStructuredData = attachGroup(nil, oura.CollDailySpO2, r.spo2[day])
	d := &health.BodyOxygenationEventDocument{Header: r.header(day), AutoDetected: health.Bool(true), Events: []health.OxygenationEventRecord{rec}}
	r.emit(day, d)
}

// stressEvent is daily_stress as a stress_event, mapped as in the physical
// summary; day_summary is in the attached document.
func (r *run) stressEvent(day string) {
	var rec health.StressEventRecord
	if st := r.stress[day].get(); st != nil {
		rec.Stress.HighStressDurationSeconds = normkit.NonNeg(st.StressHigh)
		rec.Stress.StressAtRestDurationSeconds = normkit.NonNeg(st.RecoveryHigh)
	}
	rec.Metadata = r.eventMetadata(r.dayStart(day), nil)
	rec.NonStructuredData = attachGroup(nil, oura.CollDailyStress, r.stress[day])
	d := &health.StressEventDocument{Header: r.header(day), AutoDetected: health.Bool(true), Events: []health.StressEventRecord{rec}}
	r.emit(day, d)
}

// temperatureEvent is the readiness skin-temperature deviation as a body
// temperature_event; the trend deviation is in the attached readiness.
func (r *run) temperatureEvent(day string) {
	var rec health.TemperatureEventRecord
	rec.Temperature.TemperatureDelta = &health.TemperatureValue{TemperatureCelsius: r.temperatureDelta(day), MeasurementType: health.String(skin)}
	rec.Metadata = r.eventMetadata(r.dayStart(day), nil)
	rec.NonStructuredData = attachGroup(nil, oura.CollDailyReadiness, r.readiness[day])
	d := &health.TemperatureEventDocument{Header: r.header(day), AutoDetected: health.Bool(true), Events: []health.TemperatureEventRecord{rec}}
	r.emit(day, d)
}

// buildPersonal emits user_info and body_metrics_event from personal_info,
// on the as-of day.
func (r *run) buildPersonal() {
	p := r.personalMain()
	if p == nil || r.asOf == "" {
		return
	}
	at := r.dayStart(r.asOf)
	u := &health.UserInfoDocument{Header: r.header(r.asOf), Metadata: r.metadata(at)}
	u.UserInformation.UserBodyMetrics = health.UserBodyMetrics{HeightCm: heightCm(p), WeightKg: normkit.PositiveFloat(p.Weight)}
	if p.BiologicalSex != nil && *p.BiologicalSex != "" {
		u.UserInformation.UserDemographics.Sex = health.String(*p.BiologicalSex)
	}
	if l := r.opt.Location; l != nil && l.String() != "Local" {
		u.UserInformation.UserDemographics.TimeZone = health.String(l.String())
	}
	r.emit(r.asOf, u)

	m := bodyMetrics(p)
	if m.WeightKg == nil && m.HeightCm == nil {
		return
	}
	// Profile values the user entered in the app: not detected by the ring.
	rec := health.BodyMetricsEventRecord{Metadata: r.eventMetadata(at, nil), BodyMetrics: m}
	d := &health.BodyMetricsEventDocument{Header: r.header(r.asOf), AutoDetected: health.Bool(false), Events: []health.BodyMetricsEventRecord{rec}}
	r.emit(r.asOf, d)
}
