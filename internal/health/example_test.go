package health_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

// Building a sleep_summary the way normalization does: set what the source
// knows, leave the rest nil so that it is emitted as null.
func ExampleSleepSummaryDocument() {
	start := time.Date(2024, 12, 1, 23, 18, 33, 0, time.FixedZone("", 3600))
	doc := &health.SleepSummaryDocument{
		Header: health.Header{ClientUUID: "6f1a3c52-9d4e-4b7a-8c21-0e5d9f3a7b10", UserID: "user-42", DocumentVersion: 1, Day: "2024-12-01"},
	}
	doc.Summary.Duration = health.SleepDuration{
		SleepStartDatetime:   health.Datetime(start),
		SleepEndDatetime:     health.Datetime(start.Add(8 * time.Hour)),
		SleepDate:            health.String("2024-12-01"),
		SleepDurationSeconds: health.Int(25200),
	}
	doc.Summary.HeartRate.HRAvgBPM = health.Int(56)

	stored, err := health.Encode(doc)
	if err != nil {
		panic(err)
	}
	fmt.Println(stored.Pillar, stored.DataStructure, stored.Day)

	b, _ := json.Marshal(doc.Summary.Duration)
	fmt.Println(string(b))
	// Output:
	// sleep_health sleep_summary 2024-12-01
	// {"sleep_start_datetime_string":"2024-12-01T23:18:33.000000+01:00","sleep_end_datetime_string":"2024-12-02T07:18:33.000000+01:00","sleep_date_string":"2024-12-01","sleep_duration_seconds_int":25200,"time_in_bed_seconds_int":null,"light_sleep_duration_seconds_int":null,"rem_sleep_duration_seconds_int":null,"deep_sleep_duration_seconds_int":null,"time_to_fall_asleep_seconds_int":null,"time_awake_during_sleep_seconds_int":null}
}

// Serving a stored document: look the structure up from the route, decode
// the body, and use the typed value.
func ExampleDecode() {
	s, ok := health.LookupRoute("/v2/processed_data/body_health/events/heart_rate")
	if !ok {
		panic("unknown route")
	}
	body := []byte(`{"client_uuid":"c","user_id":"u","version":2,"document_version":4,"auto_detected":false,"data_structure":"heart_rate_event","body_health":{"events":{"heart_rate_event":[{"heart_rate":{"hr_avg_bpm_int":61}}]}}}`)
	d, err := health.Decode(health.Document{DataStructure: s.Name, Pillar: s.Pillar, Day: "2024-12-01", Body: body})
	if err != nil {
		panic(err)
	}
	hr := d.(*health.BodyHeartRateEventDocument)
	fmt.Println(s.Kind, s.Schema, hr.DocumentVersion, *hr.Events[0].HeartRate.HRAvgBPM, hr.Events[0].HeartRate.HRMaximumBPM == nil)
	// Output: event BodyHeartRateEvent 4 61 true
}
