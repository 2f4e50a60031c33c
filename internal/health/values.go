package health

import (
	"encoding/json"
	"time"
)

// DatetimeLayout formats the *_datetime_string fields: ROOK's microsecond
// precision, with the source's UTC offset kept ("Z" for UTC) so the local
// time of a sample is not lost.
const DatetimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// Int returns a pointer to v, for building documents.
func Int(v int) *int { return &v }

// Float returns a pointer to v, for building documents.
func Float(v float64) *float64 { return &v }

// String returns a pointer to v, for building documents.
func String(v string) *string { return &v }

// Bool returns a pointer to v, for building documents.
func Bool(v bool) *bool { return &v }

// Datetime formats t with DatetimeLayout. The zero time is unknown: nil.
func Datetime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(DatetimeLayout)
	return &s
}

// Metadata is the metadata object of summaries and of user_info.
type Metadata struct {
	Datetime      *string  `json:"datetime_string"`
	SourcesOfData []string `json:"sources_of_data_array"`
	UserID        *string  `json:"user_id_string"`
}

// EventMetadata is the metadata object of events: Metadata plus whether the
// user was exercising when the event was recorded.
type EventMetadata struct {
	Metadata
	WasTheUserUnderPhysicalActivity *bool `json:"was_the_user_under_physical_activity_bool"`
}

// NonStructuredData holds source data that has no place in the structure
// (items of non_structured_data_array). Each item must be a JSON object; it
// is emitted verbatim, so build it from a struct or a map (both marshal
// deterministically).
type NonStructuredData = []json.RawMessage

// HeartRate is the heart_rate object of physical_summary, activity_event,
// heart_rate_event (both pillars) and body_summary.
type HeartRate struct {
	HRMaximumBPM         *int             `json:"hr_maximum_bpm_int"`
	HRMinimumBPM         *int             `json:"hr_minimum_bpm_int"`
	HRAvgBPM             *int             `json:"hr_avg_bpm_int"`
	HRRestingBPM         *int             `json:"hr_resting_bpm_int"`
	HRGranularData       []HRSample       `json:"hr_granular_data_array"`
	HRVAvgRMSSD          *float64         `json:"hrv_avg_rmssd_float"`
	HRVAvgSDNN           *float64         `json:"hrv_avg_sdnn_float"`
	HRVSDNNGranularData  []HRVSDNNSample  `json:"hrv_sdnn_granular_data_array"`
	HRVRMSSDGranularData []HRVRMSSDSample `json:"hrv_rmssd_granular_data_array"`
}

// HRSample is an item of hr_granular_data_array.
type HRSample struct {
	Datetime *string `json:"datetime_string"`
	HRBPM    *int    `json:"hr_bpm_int"`
}

// HRVRMSSDSample is an item of hrv_rmssd_granular_data_array.
type HRVRMSSDSample struct {
	Datetime *string  `json:"datetime_string"`
	HRVRMSSD *float64 `json:"hrv_rmssd_float"`
}

// HRVSDNNSample is an item of hrv_sdnn_granular_data_array.
type HRVSDNNSample struct {
	Datetime *string  `json:"datetime_string"`
	HRVSDNN  *float64 `json:"hrv_sdnn_float"`
}

// Oxygenation is the oxygenation object of physical_summary,
// activity_event, oxygenation_event (both pillars) and body_summary.
type Oxygenation struct {
	SaturationAvgPercentage *int               `json:"saturation_avg_percentage_int"`
	SaturationGranularData  []SaturationSample `json:"saturation_granular_data_array"`
	VO2MaxMLPerMinPerKg     *int               `json:"vo2max_mL_per_min_per_kg_int"`
	VO2GranularData         []VO2Sample        `json:"vo2_granular_data_array"`
}

// SaturationSample is an item of saturation_granular_data_array. It is the
// same in sleep_summary, where the published schema misspells the interval
// key (see Typos).
type SaturationSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	SaturationPercentage    *int     `json:"saturation_percentage_int"`
}

// VO2Sample is an item of vo2_granular_data_array.
type VO2Sample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	VO2MLPerMinPerKg        *int     `json:"vo2_mL_per_min_per_kg_int"`
}

// Temperature is the temperature object of sleep_summary, body_summary and
// temperature_event.
type Temperature struct {
	TemperatureAvg          *TemperatureValue   `json:"temperature_avg_object"`
	TemperatureDelta        *TemperatureValue   `json:"temperature_delta_object"`
	TemperatureGranularData []TemperatureSample `json:"temperature_granular_data_array"`
	TemperatureMaximum      *TemperatureValue   `json:"temperature_maximum_object"`
	TemperatureMinimum      *TemperatureValue   `json:"temperature_minimum_object"`
}

// TemperatureValue is a temperature_*_object. In temperature_event the
// published schema misspells the celsius key (see Typos); we emit the
// spelling used everywhere else.
type TemperatureValue struct {
	TemperatureCelsius *float64 `json:"temperature_celsius_float"`
	MeasurementType    *string  `json:"measurement_type_string"`
}

// TemperatureSample is an item of temperature_granular_data_array.
type TemperatureSample struct {
	Datetime           *string  `json:"datetime_string"`
	TemperatureCelsius *float64 `json:"temperature_celsius_float"`
	MeasurementType    *string  `json:"measurement_type_string"`
}

// ActivityLevelSample is an item of activity_level_granular_data_array.
type ActivityLevelSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	ActivityLevel           *float64 `json:"activity_level_float"`
	ActivityLevelLabel      *string  `json:"activity_level_label_string"`
}

// StepsSample is an item of steps_granular_data_array.
type StepsSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	Steps                   *int     `json:"steps_int"`
}

// ActiveStepsSample is an item of active_steps_granular_data_array.
type ActiveStepsSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	ActiveSteps             *int     `json:"active_steps_int"`
}

// FloorsClimbedSample is an item of floors_climbed_granular_data_array.
type FloorsClimbedSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	FloorsClimbed           *float64 `json:"floors_climbed_float"`
}

// ElevationSample is an item of elevation_granular_data_array.
type ElevationSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	ElevationChangeMeters   *float64 `json:"elevation_change_meters_float"`
}

// SwimmingDistanceSample is an item of swimming_distance_granular_data_array.
type SwimmingDistanceSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	SwimmingDistanceMeters  *float64 `json:"swimming_distance_meters_float"`
}

// TraveledDistanceSample is an item of traveled_distance_granular_data_array.
type TraveledDistanceSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	TraveledDistanceMeters  *float64 `json:"traveled_distance_meters_float"`
}
