package normalize

import (
	"errors"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// TestSeam: behind the provider seam, a document that cannot be used is
// named as an input error and the rest is still normalized.
func TestSeam(t *testing.T) {
	docs, opt := loadInput(t, "synthetic-week")
	want, err := Normalize(docs, opt)
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs,
		provider.Document{Collection: withings.CollMeasure, ID: "broken", Raw: []byte(`{"grpid": "x"}`)},
		provider.Document{Collection: withings.CollMeasure, ID: "undated", Raw: []byte(`{"grpid": 5, "measures": []}`)},
		provider.Document{Collection: withings.CollSleep, ID: "backwards", Raw: []byte(`{"startdate": 10, "enddate": 5, "state": 1}`)},
		provider.Document{Collection: withings.CollWorkout, ID: "w", Raw: []byte(`{"id": 1}`)},
		provider.Document{Collection: "heart", ID: "x", Raw: []byte(`{}`)})
	var n provider.Normalizer = Normalizer{}
	out, err := n.Normalize(docs, provider.NormalizeOptions{ClientUUID: opt.ClientUUID, UserID: opt.UserID, Location: opt.Location})
	var list interface{ Unwrap() []error }
	if !errors.As(err, &list) || len(list.Unwrap()) != 5 {
		t.Fatalf("err %v; want five input errors", err)
	}
	for _, e := range list.Unwrap() {
		var ie *provider.InputError
		if !errors.As(e, &ie) || health.ErrorCode(e) != health.EINVALID {
			t.Errorf("%v is not an input error", e)
		}
	}
	if len(out) != len(want) {
		t.Errorf("%d documents, want %d", len(out), len(want))
	}
	if _, err := Normalize(nil, Options{AsOf: "2024-13-01"}); err == nil {
		t.Error("a bad as-of day: no error")
	}
}

// TestKeptApart: objectives and ambiguous groups fill no value; what the
// user entered fills only events marked not auto-detected, under their
// own key; the day's summary holds the device's readings alone.
func TestKeptApart(t *testing.T) {
	docs, opt := loadInput(t, "synthetic-week")
	results, err := Normalize(docs, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		auto := true
		switch d := r.Doc.(type) {
		case *health.BodySummaryDocument:
			if r.Key == "2024-03-10" && d.Summary.BodyMetrics.WeightKg != nil {
				t.Errorf("the objective or the ambiguous weight reached the summary: %v", *d.Summary.BodyMetrics.WeightKg)
			}
			if r.Key == "2024-03-08" && len(d.Summary.BloodPressure.BloodPressureGranularData) != 1 {
				t.Errorf("the entered blood pressure is mixed into the summary: %d readings", len(d.Summary.BloodPressure.BloodPressureGranularData))
			}
			if strings.HasPrefix(r.Key, manualPrefix) {
				t.Errorf("a summary for entered measures: %s", r.Key)
			}
			continue
		case *health.BodyMetricsEventDocument:
			auto = *d.AutoDetected
		case *health.BloodPressureEventDocument:
			auto = *d.AutoDetected
		case *health.BodyHeartRateEventDocument:
			auto = *d.AutoDetected
		case *health.TemperatureEventDocument:
			auto = *d.AutoDetected
		case *health.BodyOxygenationEventDocument:
			auto = *d.AutoDetected
		default:
			continue
		}
		if manual := strings.HasPrefix(r.Key, manualPrefix); manual == auto {
			t.Errorf("%s %s: auto_detected %v", r.Doc.DataStructure(), r.Key, auto)
		}
	}
	byKind := resultsByStructure(results)
	if len(byKind[health.BloodPressureEvent]) != 2 {
		t.Errorf("%d blood_pressure_event documents, want the device's and the user's", len(byKind[health.BloodPressureEvent]))
	}
}
