package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// Document is one stored health document and where it came from: what the
// mapping needs to name its Observations' subject, device and source.
type Document struct {
	UserID string
	// DataSource is the provider's slug ("oura"); SourceName its display
	// name ("Oura"), which defaults to the slug.
	DataSource, SourceName string
	// Key is the key the provider's normalizer gave the document (the
	// store's key without the data source).
	Key                        string
	Pillar, DataStructure, Day string
	// Version is the document_version.
	Version int
	Body    json.RawMessage
}

// PatientID is the id of a user's Patient: the user_id itself, which is
// already 1 to 50 letters, digits or hyphens, a valid FHIR id.
func PatientID(userID string) string { return userID }

// DeviceID is the id of a user's Device of one provider.
func DeviceID(userID, dataSource string) string { return userID + "." + dataSource }

// Observations maps one health document to its Observations, in a stable
// order. Structures with nothing FHIR has a code for (user_info, stress,
// nutrition, mood, hydration, blood glucose) give none.
func Observations(d Document) ([]Observation, error) {
	doc, err := health.Decode(health.Document{DataStructure: d.DataStructure, Pillar: d.Pillar, Day: d.Day, Body: d.Body})
	if err != nil {
		return nil, fmt.Errorf("fhir: %s %s of %s: %w", d.DataStructure, d.Key, d.Day, err)
	}
	b := &builder{d: d, structure: StructureIndex(d.Pillar, d.DataStructure)}
	switch x := doc.(type) {
	case *health.SleepSummaryDocument:
		b.sleepSummary(x.Summary)
	case *health.PhysicalSummaryDocument:
		b.physicalSummary(x.Summary)
	case *health.BodySummaryDocument:
		b.bodySummary(x.Summary)
	case *health.ActivityEventDocument:
		for i, r := range x.Events {
			b.record(i, r.NonStructuredData)
			b.activityEvent(r)
		}
	case *health.PhysicalHeartRateEventDocument:
		b.heartRateEvents(x.Events)
	case *health.BodyHeartRateEventDocument:
		b.heartRateEvents(x.Events)
	case *health.PhysicalOxygenationEventDocument:
		b.oxygenationEvents(x.Events)
	case *health.BodyOxygenationEventDocument:
		b.oxygenationEvents(x.Events)
	case *health.TemperatureEventDocument:
		for i, r := range x.Events {
			b.record(i, r.NonStructuredData)
			b.temperature(r.Temperature, b.at(r.Metadata.Datetime))
		}
	case *health.BodyMetricsEventDocument:
		for i, r := range x.Events {
			b.record(i, r.NonStructuredData)
			b.bodyMetrics(r.BodyMetrics, b.at(r.Metadata.Datetime))
		}
	case *health.BloodPressureEventDocument:
		for i, r := range x.Events {
			b.record(i, r.NonStructuredData)
			b.bloodPressure(r.BloodPressure, b.at(r.Metadata.Datetime))
		}
	}
	return b.out, nil
}

// StructureIndex is the place of a structure in health.Structures(), which
// Observation ids carry so that a read finds the document again; -1 when
// there is no such structure.
func StructureIndex(pillar, name string) int {
	for i, s := range health.Structures() {
		if s.Pillar == pillar && s.Name == name {
			return i
		}
	}
	return -1
}

// ParseID reads the day and the structure out of an Observation id made by
// this package.
func ParseID(id string) (day string, structure health.Structure, ok bool) {
	parts := strings.Split(id, "-")
	if len(parts) != 3 || len(parts[0]) != 8 || len(parts[1]) != 2 || len(parts[2]) != 32 {
		return "", health.Structure{}, false
	}
	t, err := time.Parse("20060102", parts[0])
	if err != nil {
		return "", health.Structure{}, false
	}
	i, err := strconv.Atoi(parts[1])
	all := health.Structures()
	if err != nil || i < 0 || i >= len(all) {
		return "", health.Structure{}, false
	}
	return t.Format(time.DateOnly), all[i], true
}

// effective is when an Observation was made: an instant (or a day), or a
// period.
type effective struct {
	at         string
	start, end string
}

// builder collects the Observations of one document.
type builder struct {
	d         Document
	structure int
	rec       int
	derived   []Reference
	out       []Observation
}

// record starts the Observations of one record (a summary, or one event of
// an event document) and reads the raw documents it was made from.
func (b *builder) record(i int, nsd health.NonStructuredData) {
	b.rec = i
	b.derived = rawSources(nsd, b.d.Day)
}

// id is the Observation's id: the document's day and structure, so that a
// read can find the document, and a hash of everything that tells two
// Observations apart.
func (b *builder) id(name string, piece int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%s\x00%d",
		b.d.UserID, b.d.DataSource, b.d.Pillar, b.d.DataStructure, b.d.Key, b.rec, name, piece))
	return fmt.Sprintf("%s-%02d-%s", strings.ReplaceAll(b.d.Day, "-", ""), b.structure, hex.EncodeToString(h[:16]))
}

// base is the part every Observation shares.
func (b *builder) base(m metric, piece int, e effective) Observation {
	name := b.d.SourceName
	if name == "" {
		name = b.d.DataSource
	}
	o := Observation{
		ResourceType: "Observation",
		ID:           b.id(m.name, piece),
		Meta: Meta{
			VersionID: strconv.Itoa(b.d.Version),
			Source:    SourceURI(b.d.DataSource, b.d.Pillar, b.d.DataStructure, b.d.Key),
		},
		Status:  "final",
		Code:    m.code,
		Subject: Reference{Reference: "Patient/" + PatientID(b.d.UserID)},
		Device:  &Reference{Reference: "Device/" + DeviceID(b.d.UserID, b.d.DataSource), Display: name},
	}
	if m.category != "" {
		o.Category = []CodeableConcept{{Coding: []Coding{{System: CategorySystem, Code: m.category}}}}
	}
	if m.category == CategoryVitalSigns {
		o.Meta.Profile = []string{"http://hl7.org/fhir/StructureDefinition/vitalsigns"}
	}
	if e.start != "" {
		o.EffectivePeriod = &Period{Start: e.start, End: e.end}
	} else {
		o.EffectiveDateTime = e.at
	}
	o.DerivedFrom = b.derived
	return o
}

// SourceURI names the health document an Observation was made from:
// provider, pillar, data structure and the document's key.
func SourceURI(dataSource, pillar, structure, key string) string {
	return "urn:wearlink:" + dataSource + ":" + pillar + ":" + structure + ":" + key
}

func quantity(m metric, v float64) *Quantity {
	return &Quantity{Value: v, Unit: m.display, System: UCUM, Code: m.unit}
}

// add emits one Observation of a value, when the value is known.
func (b *builder) add(m metric, e effective, v *float64) {
	if v == nil {
		return
	}
	o := b.base(m, 0, e)
	o.ValueQuantity = quantity(m, *v)
	b.out = append(b.out, o)
}

func num[T int | float64](p *T) *float64 {
	if p == nil {
		return nil
	}
	v := float64(*p)
	return &v
}

// minutes converts seconds to minutes.
func minutes(p *int) *float64 {
	if p == nil {
		return nil
	}
	v := float64(*p) / 60
	return &v
}

// toRFC3339 re-reads a ROOK datetime; "" when it is not one.
func toRFC3339(s *string) string {
	if s == nil {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// at is an instant, or the document's day when the instant is unknown.
func (b *builder) at(s *string) effective {
	if t := toRFC3339(s); t != "" {
		return effective{at: t}
	}
	return b.day()
}

// day is the document's local day.
func (b *builder) day() effective { return effective{at: b.d.Day} }

// period is start..end, or the day when either is unknown.
func (b *builder) period(start, end *string) effective {
	s, e := toRFC3339(start), toRFC3339(end)
	if s == "" || e == "" {
		return b.day()
	}
	return effective{start: s, end: e}
}

func (b *builder) sleepSummary(s health.SleepSummaryRecord) {
	b.record(0, s.NonStructuredData)
	e := b.period(s.Duration.SleepStartDatetime, s.Duration.SleepEndDatetime)
	d := s.Duration
	b.add(mSleep, e, minutes(d.SleepDurationSeconds))
	b.add(mDeepSleep, e, minutes(d.DeepSleepDurationSeconds))
	b.add(mLightSleep, e, minutes(d.LightSleepDurationSeconds))
	b.add(mREMSleep, e, minutes(d.REMSleepDurationSeconds))
	b.add(mTimeInBed, e, minutes(d.TimeInBedSeconds))
	b.add(mEfficiency, e, num(s.Scores.SleepEfficiency1To100Score))
	hr := s.HeartRate
	b.add(mHeartRate, e, num(hr.HRAvgBPM))
	b.add(mRestingHR, e, num(hr.HRRestingBPM))
	b.add(mHRVRMSSD, e, num(hr.HRVAvgRMSSD))
	b.add(mHRVSDNN, e, num(hr.HRVAvgSDNN))
	b.add(mRespRate, e, num(s.Breathing.BreathsAvgPerMin))
	b.add(mSpO2, e, num(s.Breathing.SaturationAvgPercentage))
	b.temperature(s.Temperature, e)
	b.hrSeries(hr.HRGranularData)
	b.hrvSeries(hr.HRVRMSSDGranularData)
	b.saturationSeries(s.Breathing.SaturationGranularData)
	var breaths []sample
	for _, x := range s.Breathing.BreathingGranularData {
		breaths = append(breaths, sample{at: x.Datetime, v: num(x.BreathsPerMin)})
	}
	b.series(mBreathSeries, breaths)
	b.series(mHypnogram, hypnogram(s.NonStructuredData))
}

func (b *builder) physicalSummary(s health.PhysicalSummaryRecord) {
	b.record(0, s.NonStructuredData)
	e := b.day()
	b.add(mDailySteps, e, num(s.Distance.Steps))
	b.add(mActiveEnergy, e, num(s.Calories.CaloriesNetActiveKcal))
	b.heartRate(s.HeartRate, e)
	b.add(mSpO2, e, num(s.Oxygenation.SaturationAvgPercentage))
	b.saturationSeries(s.Oxygenation.SaturationGranularData)
}

func (b *builder) bodySummary(s health.BodySummaryRecord) {
	b.record(0, s.NonStructuredData)
	e := b.day()
	b.bodyMetrics(s.BodyMetrics, e)
	b.bloodPressure(s.BloodPressure, e)
	b.heartRate(s.HeartRate, e)
	b.add(mSpO2, e, num(s.Oxygenation.SaturationAvgPercentage))
	b.saturationSeries(s.Oxygenation.SaturationGranularData)
	b.temperature(s.Temperature, e)
}

func (b *builder) activityEvent(r health.ActivityEventRecord) {
	e := b.period(r.Activity.ActivityStartDatetime, r.Activity.ActivityEndDatetime)
	if e.start == "" {
		e = b.at(r.Metadata.Datetime)
	}
	b.add(mSteps, e, num(r.Distance.Steps))
	b.add(mActiveEnergy, e, num(r.Calories.CaloriesNetActiveKcal))
	b.heartRate(r.HeartRate, e)
	b.add(mSpO2, e, num(r.Oxygenation.SaturationAvgPercentage))
	b.saturationSeries(r.Oxygenation.SaturationGranularData)
}

func (b *builder) heartRateEvents(rs []health.HeartRateEventRecord) {
	for i, r := range rs {
		b.record(i, r.NonStructuredData)
		b.heartRate(r.HeartRate, b.at(r.Metadata.Datetime))
	}
}

func (b *builder) oxygenationEvents(rs []health.OxygenationEventRecord) {
	for i, r := range rs {
		b.record(i, r.NonStructuredData)
		b.add(mSpO2, b.at(r.Metadata.Datetime), num(r.Oxygenation.SaturationAvgPercentage))
		b.saturationSeries(r.Oxygenation.SaturationGranularData)
	}
}

// heartRate maps the heart_rate object shared by summaries and events.
func (b *builder) heartRate(hr health.HeartRate, e effective) {
	b.add(mHeartRate, e, num(hr.HRAvgBPM))
	b.add(mRestingHR, e, num(hr.HRRestingBPM))
	b.add(mHRVRMSSD, e, num(hr.HRVAvgRMSSD))
	b.add(mHRVSDNN, e, num(hr.HRVAvgSDNN))
	b.hrSeries(hr.HRGranularData)
	b.hrvSeries(hr.HRVRMSSDGranularData)
}

func (b *builder) bodyMetrics(m health.BodyMetrics, e effective) {
	b.add(mWeight, e, num(m.WeightKg))
	b.add(mHeight, e, num(m.HeightCm))
	b.add(mBMI, e, num(m.BMI))
}

// temperature maps a temperature object. Only an average that is not a
// skin reading is a body temperature; a delta is a deviation from the
// person's baseline and gets a code of its own so that it is never read
// as a temperature.
func (b *builder) temperature(t health.Temperature, e effective) {
	if v := t.TemperatureAvg; v != nil {
		m := mBodyTemp
		if v.MeasurementType != nil && strings.EqualFold(*v.MeasurementType, "skin") {
			m = mSkinTemp
		}
		b.add(m, e, v.TemperatureCelsius)
	}
	if v := t.TemperatureDelta; v != nil {
		b.add(mSkinTempDv, e, v.TemperatureCelsius)
	}
}

// bloodPressure emits a panel for the average and one per sample.
func (b *builder) bloodPressure(bp health.BloodPressure, e effective) {
	if v := bp.BloodPressureAvg; v != nil {
		b.bpPanel(0, e, v.SystolicMmHg, v.DiastolicMmHg)
	}
	for i, s := range bp.BloodPressureGranularData {
		if t := toRFC3339(s.Datetime); t != "" {
			b.bpPanel(i+1, effective{at: t}, s.SystolicMmHg, s.DiastolicMmHg)
		}
	}
}

func (b *builder) bpPanel(piece int, e effective, sys, dia *int) {
	if sys == nil && dia == nil {
		return
	}
	o := b.base(mBP, piece, e)
	for _, c := range []struct {
		m metric
		v *int
	}{{mSystolic, sys}, {mDiastol, dia}} {
		if c.v != nil {
			o.Component = append(o.Component, Component{Code: c.m.code, ValueQuantity: quantity(c.m, float64(*c.v))})
		}
	}
	b.out = append(b.out, o)
}

func (b *builder) hrSeries(xs []health.HRSample) {
	var s []sample
	for _, x := range xs {
		s = append(s, sample{at: x.Datetime, v: num(x.HRBPM)})
	}
	b.series(mHRSeries, s)
}

func (b *builder) hrvSeries(xs []health.HRVRMSSDSample) {
	var s []sample
	for _, x := range xs {
		s = append(s, sample{at: x.Datetime, v: x.HRVRMSSD})
	}
	b.series(mHRVSeries, s)
}

func (b *builder) saturationSeries(xs []health.SaturationSample) {
	var s []sample
	for _, x := range xs {
		s = append(s, sample{at: x.Datetime, v: num(x.SaturationPercentage)})
	}
	b.series(mSpO2Series, s)
}

// rawItem is an item of non_structured_data_array that wraps a provider
// document.
type rawItem struct {
	Source     string          `json:"source"`
	Collection string          `json:"collection"`
	Role       string          `json:"role"`
	Document   json.RawMessage `json:"document"`
}

// rawSources are the provider documents a record was made from: the items
// of its non_structured_data_array that wrap one (not the superseded,
// deleted or nap ones, nor what the normalizer derived), each named by its
// provider, collection and id. A document without an id is named by its
// day (or the record's), which is how the raw_data route selects it.
func rawSources(nsd health.NonStructuredData, day string) []Reference {
	var out []Reference
	seen := map[string]bool{}
	for _, raw := range nsd {
		var it rawItem
		if json.Unmarshal(raw, &it) != nil || it.Source == "" || it.Collection == "" || len(it.Document) == 0 || it.Document[0] != '{' {
			continue
		}
		if it.Role != "" && it.Role != "main" {
			continue
		}
		var id struct {
			ID  json.RawMessage `json:"id"`
			Day string          `json:"day"`
		}
		_ = json.Unmarshal(it.Document, &id)
		value := strings.Trim(string(id.ID), `"`)
		if value == "" || value == "null" {
			value = id.Day
		}
		if value == "" {
			value = day
		}
		system := RawSystem + "/" + it.Source + "/" + it.Collection
		if seen[system+"|"+value] {
			continue
		}
		seen[system+"|"+value] = true
		out = append(out, Reference{Type: "DocumentReference", Identifier: &Identifier{System: system, Value: value},
			Display: it.Source + " " + it.Collection + " " + value})
	}
	return out
}
