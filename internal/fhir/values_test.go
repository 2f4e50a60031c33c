package fhir_test

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/fhir"
)

// source is a field of a ROOK record and the code its Observation has;
// factor converts the field's unit to the Observation's.
type source struct {
	path   string
	code   string // system|code
	factor float64
}

const (
	loinc   = fhir.LOINC + "|"
	metrics = fhir.Metrics + "|"
)

var heartRateFields = []source{
	{"heart_rate.hr_avg_bpm_int", loinc + "8867-4", 1},
	{"heart_rate.hr_resting_bpm_int", loinc + "40443-4", 1},
	{"heart_rate.hrv_avg_rmssd_float", metrics + fhir.MetricHRVRMSSD, 1},
	{"heart_rate.hrv_avg_sdnn_float", loinc + "80404-7", 1},
}

var temperatureFields = []source{
	{"temperature.temperature_delta_object.temperature_celsius_float", metrics + fhir.MetricSkinTempDeviation, 1},
	// The average's code depends on its measurement type (see avgTemp).
}

var bodyMetricFields = []source{
	{"body_metrics.weight_kg_float", loinc + "29463-7", 1},
	{"body_metrics.height_cm_int", loinc + "8302-2", 1},
	{"body_metrics.bmi_float", loinc + "39156-5", 1},
}

// fields are, per data structure, the fields that become Observations of
// a single value, written from ROOK's field names rather than from the
// mapping's code.
var fields = map[string][]source{
	"sleep_summary": concat([]source{
		{"duration.sleep_duration_seconds_int", loinc + "93832-4", 1.0 / 60},
		{"duration.deep_sleep_duration_seconds_int", loinc + "93831-6", 1.0 / 60},
		{"duration.light_sleep_duration_seconds_int", loinc + "93830-8", 1.0 / 60},
		{"duration.rem_sleep_duration_seconds_int", loinc + "93829-0", 1.0 / 60},
		{"duration.time_in_bed_seconds_int", metrics + fhir.MetricTimeInBed, 1.0 / 60},
		{"scores.sleep_efficiency_1_100_score_int", metrics + fhir.MetricSleepEfficiency, 1},
		{"breathing.breaths_avg_per_min_int", loinc + "9279-1", 1},
		{"breathing.saturation_avg_percentage_int", loinc + "59408-5", 1},
	}, heartRateFields, temperatureFields),
	"physical_summary": concat([]source{
		{"distance.steps_int", loinc + "41950-7", 1},
		{"calories.calories_net_active_kcal_float", loinc + "41981-2", 1},
		{"oxygenation.saturation_avg_percentage_int", loinc + "59408-5", 1},
	}, heartRateFields),
	"activity_event": concat([]source{
		{"distance.steps_int", loinc + "55423-8", 1},
		{"calories.calories_net_active_kcal_float", loinc + "41981-2", 1},
		{"oxygenation.saturation_avg_percentage_int", loinc + "59408-5", 1},
	}, heartRateFields),
	"heart_rate_event":   heartRateFields,
	"oxygenation_event":  {{"oxygenation.saturation_avg_percentage_int", loinc + "59408-5", 1}},
	"temperature_event":  temperatureFields,
	"body_metrics_event": bodyMetricFields,
	"body_summary": concat(bodyMetricFields, heartRateFields, temperatureFields,
		[]source{{"oxygenation.saturation_avg_percentage_int", loinc + "59408-5", 1}}),
}

// series are the granular arrays that become valueSampledData.
var series = []struct {
	path, value, code string
}{
	{"heart_rate.hr_granular_data_array", "hr_bpm_int", fhir.MetricHeartRateSeries},
	{"heart_rate.hrv_rmssd_granular_data_array", "hrv_rmssd_float", fhir.MetricHRVRMSSDSeries},
	{"oxygenation.saturation_granular_data_array", "saturation_percentage_int", fhir.MetricSpO2Series},
	{"breathing.saturation_granular_data_array", "saturation_percentage_int", fhir.MetricSpO2Series},
	{"breathing.breathing_granular_data_array", "breaths_per_min_int", fhir.MetricBreathingSeries},
}

func concat(ss ...[]source) []source { return slices.Concat(ss...) }

// records are the ROOK records of a document: its summary, or its events.
func records(t *testing.T, d fhir.Document) []map[string]any {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(d.Body, &top); err != nil {
		t.Fatal(err)
	}
	p, _ := top[d.Pillar].(map[string]any)
	if s, ok := p["summary"].(map[string]any); ok {
		r, _ := s[d.DataStructure].(map[string]any)
		return []map[string]any{r}
	}
	var out []map[string]any
	if e, ok := p["events"].(map[string]any); ok {
		list, _ := e[d.DataStructure].([]any)
		for _, r := range list {
			out = append(out, r.(map[string]any))
		}
	}
	return out
}

func at(rec map[string]any, path string) any {
	var v any = rec
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func codeOf(o fhir.Observation) []string {
	var out []string
	for _, c := range o.Code.Coding {
		out = append(out, c.System+"|"+c.Code)
	}
	return out
}

// TestValuesEqualTheirSources: for every document, the values of its
// single-value Observations, code by code, are its fields after unit
// conversion; the blood pressure components are its pressures; and every
// value of every series is a granular sample of the document at the same
// instant.
func TestValuesEqualTheirSources(t *testing.T) {
	checked := map[string]int{}
	for _, in := range inputs(t) {
		m := mapInput(t, in)
		byDoc := map[string][]fhir.Observation{}
		for _, o := range m.obs {
			d := m.from[o.ID]
			byDoc[d.Pillar+d.DataStructure+d.Key] = append(byDoc[d.Pillar+d.DataStructure+d.Key], o)
		}
		for _, d := range in.docs {
			obs := byDoc[d.Pillar+d.DataStructure+d.Key]
			want, got := map[string][]float64{}, map[string][]float64{}
			var wantSeries []sampleAt
			for _, rec := range records(t, d) {
				for _, f := range fields[d.DataStructure] {
					if v, ok := at(rec, f.path).(float64); ok {
						want[f.code] = append(want[f.code], v*f.factor)
					}
				}
				avgTemp(rec, want)
				bloodPressure(rec, want)
				wantSeries = append(wantSeries, granular(rec)...)
			}
			for _, o := range obs {
				codes := codeOf(o)
				switch {
				case o.ValueQuantity != nil:
					got[codes[0]] = append(got[codes[0]], o.ValueQuantity.Value)
				case o.Component != nil:
					for _, c := range o.Component {
						got[codeOf(fhir.Observation{Code: c.Code})[0]] = append(got[codeOf(fhir.Observation{Code: c.Code})[0]], c.ValueQuantity.Value)
					}
				}
			}
			for code, w := range want {
				g := got[code]
				slices.Sort(w)
				slices.Sort(g)
				if len(w) != len(g) {
					t.Errorf("%s %s %s: %s values %v, Observations have %v", in.name, d.DataStructure, d.Key, code, w, g)
					continue
				}
				for i := range w {
					if math.Abs(w[i]-g[i]) > 1e-9 {
						t.Errorf("%s %s %s: %s value %v, Observation has %v", in.name, d.DataStructure, d.Key, code, w[i], g[i])
					}
				}
				checked[code] += len(w)
			}
			for code := range got {
				if _, ok := want[code]; !ok {
					t.Errorf("%s %s %s: Observations of %s from no field", in.name, d.DataStructure, d.Key, code)
				}
			}
			checkSeries(t, in.name+" "+d.DataStructure+" "+d.Key, obs, wantSeries)
			checked["series"] += len(wantSeries)
		}
	}
	t.Logf("values checked: %v", checked)
	for _, code := range []string{loinc + "8867-4", loinc + "93832-4", metrics + fhir.MetricHRVRMSSD, loinc + "59408-5", loinc + "29463-7", "series"} {
		if checked[code] == 0 {
			t.Errorf("no value of %s was checked: the inputs prove nothing for it", code)
		}
	}
}

// avgTemp: an average that is a skin reading is a skin temperature, any
// other a body temperature.
func avgTemp(rec map[string]any, want map[string][]float64) {
	v, ok := at(rec, "temperature.temperature_avg_object.temperature_celsius_float").(float64)
	if !ok {
		return
	}
	code := loinc + "8310-5"
	if typ, _ := at(rec, "temperature.temperature_avg_object.measurement_type_string").(string); strings.EqualFold(typ, "skin") {
		code = metrics + fhir.MetricSkinTemperature
	}
	want[code] = append(want[code], v)
}

func bloodPressure(rec map[string]any, want map[string][]float64) {
	add := func(obj any) {
		m, _ := obj.(map[string]any)
		if v, ok := m["systolic_mmHg_int"].(float64); ok {
			want[loinc+"8480-6"] = append(want[loinc+"8480-6"], v)
		}
		if v, ok := m["diastolic_mmHg_int"].(float64); ok {
			want[loinc+"8462-4"] = append(want[loinc+"8462-4"], v)
		}
	}
	add(at(rec, "blood_pressure.blood_pressure_avg_object"))
	list, _ := at(rec, "blood_pressure.blood_pressure_granular_data_array").([]any)
	for _, s := range list {
		add(s)
	}
}

type sampleAt struct {
	code string
	t    time.Time
	v    float64
}

// granular reads the samples of a record's series, and its hypnogram's
// phase starts.
func granular(rec map[string]any) []sampleAt {
	var out []sampleAt
	for _, s := range series {
		list, _ := at(rec, s.path).([]any)
		seen := map[time.Time]bool{}
		for _, item := range list {
			m := item.(map[string]any)
			ts, _ := m["datetime_string"].(string)
			v, ok := m[s.value].(float64)
			tm, err := time.Parse(time.RFC3339Nano, ts)
			if !ok || err != nil || seen[tm] {
				continue
			}
			seen[tm] = true
			out = append(out, sampleAt{s.code, tm, v})
		}
	}
	nsd, _ := rec["non_structured_data_array"].([]any)
	stage := map[string]float64{"deep": 1, "light": 2, "rem": 3, "awake": 4}
	for _, item := range nsd {
		m, _ := item.(map[string]any)
		if m["role"] != "hypnogram" {
			continue
		}
		phases, _ := m["hypnogram_granular_data_array"].([]any)
		for _, p := range phases {
			pm := p.(map[string]any)
			tm, err := time.Parse(time.RFC3339Nano, pm["datetime_string"].(string))
			if v, ok := stage[pm["sleep_phase_string"].(string)]; ok && err == nil {
				out = append(out, sampleAt{fhir.MetricHypnogram, tm, v})
			}
		}
	}
	return out
}

// checkSeries decodes every valueSampledData and finds each sample in it,
// and counts that the series hold no value beyond the samples (a phase
// fills several slots, so the hypnogram is not counted).
func checkSeries(t *testing.T, what string, obs []fhir.Observation, want []sampleAt) {
	t.Helper()
	// Instants by milliseconds: time.Time values of one instant in two
	// zones are different map keys.
	type slot struct {
		code string
		t    int64
	}
	got := map[slot]string{}
	values := map[string]int{}
	for _, o := range obs {
		sd := o.ValueSampledData
		if sd == nil {
			continue
		}
		start, err := time.Parse(time.RFC3339Nano, o.EffectivePeriod.Start)
		if err != nil {
			t.Fatalf("%s: %s start: %v", what, describe(o), err)
		}
		code := o.Code.Coding[0].Code
		for i, v := range strings.Split(sd.Data, " ") {
			if v == "E" {
				continue
			}
			at := start.Add(time.Duration(float64(i) * sd.Period * float64(time.Millisecond)))
			got[slot{code, at.UnixMilli()}] = v
			values[code]++
		}
	}
	count := map[string]int{}
	for _, w := range want {
		count[w.code]++
		v, ok := got[slot{w.code, w.t.UnixMilli()}]
		if !ok {
			t.Errorf("%s: %s sample at %s is in no series", what, w.code, w.t)
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err != nil || f != w.v {
			t.Errorf("%s: %s at %s is %s in the series, %v in the document", what, w.code, w.t, v, w.v)
		}
	}
	for code, n := range values {
		if code != fhir.MetricHypnogram && n != count[code] {
			t.Errorf("%s: %d values in %s series, %d samples in the document", what, n, code, count[code])
		}
	}
}
