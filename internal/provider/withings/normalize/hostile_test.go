package normalize

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/withings"
	"github.com/wearlink/wearlink/internal/testutil/rookschema"
)

// TestHostileInput: values that cannot be right (negative or backwards
// durations, stages longer than the night, absurd units and instants,
// unknown zones, numbers as junk strings) neither panic nor reach a
// document as nonsense; what still validates is mapped.
func TestHostileInput(t *testing.T) {
	docs := []provider.Document{
		{Collection: withings.CollMeasure, ID: "1", Raw: []byte(`{"grpid":1,"attrib":0,"category":1,"date":1710000000,"timezone":"Mars/Olympus","measures":[` +
			`{"value":80000,"type":1,"unit":-3},{"value":-5,"type":11,"unit":0},{"value":250,"type":54,"unit":0},{"value":1,"type":1,"unit":400},` +
			`{"value":9,"type":88,"unit":3},{"value":null,"type":10,"unit":0},{"value":"", "type":9,"unit":0}]}`)},
		{Collection: withings.CollMeasure, ID: "2", Raw: []byte(`{"grpid":2,"date":-10,"measures":[]}`)},
		{Collection: withings.CollMeasure, ID: "3", Raw: []byte(`{"grpid":3,"date":1710000000,"measures":[{"value":"12x","type":1,"unit":0}]}`)},
		{Collection: withings.CollSleepSummary, ID: "4", Raw: []byte(`{"id":4,"timezone":"Europe/Paris","startdate":1710000000,"enddate":1710003600,"date":"2024-03-09",` +
			`"data":{"lightsleepduration":3000,"deepsleepduration":3000,"remsleepduration":3000,"waso":-5,"sleep_efficiency":7,"hr_average":-3,"snoring":-1}}`)},
		{Collection: withings.CollSleepSummary, ID: "5", Raw: []byte(`{"id":5,"startdate":1710090000,"enddate":1710080000,"date":"2024-03-10","data":{}}`)},
		{Collection: withings.CollSleep, ID: "6", Raw: []byte(`{"startdate":1710000000,"enddate":1710000600,"state":1,"hr":{"x":60,"1710000060":-1,"1710000120":"61","99999999999999":70}}`)},
		{Collection: withings.CollSleep, ID: "7", Raw: []byte(`{"startdate":1710200000,"enddate":1710200060,"state":99,"rr":{"1710200000":0}}`)},
		{Collection: withings.CollActivity, ID: "8", Raw: []byte(`{"date":"2024-03-09","steps":-10,"distance":"1e3","soft":-1,"hr_average":0,"calories":null}`)},
		{Collection: withings.CollActivity, ID: "9", Raw: []byte(`{"date":"2024-02-30"}`)},
		{Collection: withings.CollWorkout, ID: "10", Raw: []byte(`{"id":10,"category":-1,"startdate":1710000000,"enddate":1709990000,"date":"2024-03-09","data":{"spo2_average":300,"pool_length":0,"steps":-4}}`)},
		{Collection: withings.CollWorkout, ID: "11", Raw: []byte(`{"id":11,"startdate":253402300800,"enddate":253402300900,"date":"x"}`)},
		{Collection: withings.CollDevice, ID: "12", Raw: []byte(`{"model_id":"x"}`)},
	}
	results, err := Normalize(docs, Options{ClientUUID: testClient, UserID: testUser})
	var list interface{ Unwrap() []error }
	if !errors.As(err, &list) || len(list.Unwrap()) != 5 {
		t.Errorf("input errors %v; want the junk date, the undecodable device and group, the negative instant and the undated workout", err)
	}
	var got []string
	for _, r := range results {
		got = append(got, r.Doc.DataStructure()+" "+r.Key)
	}
	want := []string{"activity_event workout:10", "body_metrics_event 2024-03-09", "body_summary 2024-03-09", "physical_summary 2024-03-09",
		"sleep_summary 2024-03-09", "sleep_summary 2024-03-10", "sleep_summary 2024-03-11"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("documents %v, want %v", got, want)
	}
	for _, r := range results {
		body, _ := json.Marshal(r.Doc)
		if err := rookschema.Validate(t, r.Doc.Pillar(), r.Doc.DataStructure(), body); err != nil {
			t.Errorf("%s %s: %v", r.Doc.DataStructure(), r.Key, err)
		}
		switch d := r.Doc.(type) {
		case *health.SleepSummaryDocument:
			checkSleep(t, r.Key, d)
			if d.Summary.HeartRate.HRAvgBPM != nil && *d.Summary.HeartRate.HRAvgBPM <= 0 {
				t.Errorf("%s: heart rate %d", r.Key, *d.Summary.HeartRate.HRAvgBPM)
			}
			if du := d.Summary.Duration; r.Key == "2024-03-09" && du.LightSleepDurationSeconds != nil {
				t.Errorf("stages of 9000 s copied into a night of 3600 s")
			}
		case *health.BodySummaryDocument:
			m := d.Summary.BodyMetrics
			if m.WeightKg == nil || *m.WeightKg != 80 || m.BoneCompositionPercentage != nil || d.Summary.HeartRate.HRAvgBPM != nil || d.Summary.Oxygenation.SaturationAvgPercentage != nil {
				t.Errorf("body summary %s: %s", r.Key, body)
			}
		case *health.PhysicalSummaryDocument:
			s := d.Summary
			if s.Distance.Steps != nil || s.Activity.LowIntensitySeconds != nil || s.HeartRate.HRAvgBPM != nil || *s.Distance.TraveledDistanceMeters != 1000 {
				t.Errorf("physical summary: %s", body)
			}
		case *health.ActivityEventDocument:
			e := d.Events[0]
			if e.Activity.ActivityDurationSeconds != nil || e.Oxygenation.SaturationAvgPercentage != nil || e.Distance.Steps != nil || e.Activity.ActivityTypeName != nil {
				t.Errorf("activity event %s: %s", r.Key, body)
			}
		}
	}
}
