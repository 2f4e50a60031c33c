package normalize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// The models below are what the normalizer reads of each stored Withings
// document. They follow the spec's schemas (measuregrp_object,
// measure_object, activity_object, workout_object, sleep_summary_object,
// the series of sleepv2-get, user_device_object); mapping_test.go holds
// them to the spec and to MAPPING.md.
//
// Withings' numbers are not always numbers: recorded answers carry null
// for absent values, and clients (and older API versions) send numbers as
// strings. Int and Float read all three; an empty string is absent too.

// Int is an integer that may come as a number, a numeric string or null.
type Int struct {
	V  int64
	OK bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	s, ok, err := numberText(b)
	if err != nil || !ok {
		*n = Int{}
		return err
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = Int{V: v, OK: true}
		return nil
	}
	// 12.0 is an integer written as a float; 12.5 is not one.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = Int{V: int64(f), OK: true}
	return nil
}

// Ptr is the value as a pointer, nil when absent.
func (n Int) Ptr() *int64 {
	if !n.OK {
		return nil
	}
	v := n.V
	return &v
}

// Float is a number that may come as a number, a numeric string or null.
type Float struct {
	V  float64
	OK bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Float) UnmarshalJSON(b []byte) error {
	s, ok, err := numberText(b)
	if err != nil || !ok {
		*n = Float{}
		return err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = Float{V: f, OK: true}
	return nil
}

// Ptr is the value as a pointer, nil when absent.
func (n Float) Ptr() *float64 {
	if !n.OK {
		return nil
	}
	v := n.V
	return &v
}

// numberText returns the text of a JSON number or numeric string; ok is
// false for null and "".
func numberText(b []byte) (string, bool, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", false, nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, err
		}
		if s == "" {
			return "", false, nil
		}
		return s, true, nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		return string(b), true, nil
	}
	return "", false, fmt.Errorf("not a number: %s", b)
}

// Text is a string that may also come as a number or null (device ids
// are hashes, but some answers carry numeric ids).
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*t = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*t = Text(s)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("not a string: %s", b)
	}
	*t = Text(n.String())
	return nil
}

// Flag is a boolean that may come as true/false, 0/1 or null.
type Flag struct {
	V, OK bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Flag) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "null", `""`:
		*f = Flag{}
	case "true", "1", `"true"`, `"1"`:
		*f = Flag{V: true, OK: true}
	case "false", "0", `"false"`, `"0"`:
		*f = Flag{V: false, OK: true}
	default:
		return fmt.Errorf("not a boolean: %s", b)
	}
	return nil
}

// MeasureGroup is one measure group of measure getmeas, with the answer's
// timezone copied in (see the withings package).
type MeasureGroup struct {
	GrpID        Int       `json:"grpid"`
	Attrib       Int       `json:"attrib"`
	Date         Int       `json:"date"`
	Created      Int       `json:"created"`
	Modified     Int       `json:"modified"`
	Category     Int       `json:"category"`
	DeviceID     Text      `json:"deviceid"`
	HashDeviceID Text      `json:"hash_deviceid"`
	Measures     []Measure `json:"measures"`
	Model        Text      `json:"model"`
	ModelID      Int       `json:"model_id"`
	ModelIDOld   Int       `json:"modelid"`
	Comment      Text      `json:"comment"`
	Timezone     Text      `json:"timezone"`
}

// Measure is one measure of a group: value * 10^unit of type Type.
type Measure struct {
	Value      Int             `json:"value"`
	Type       Int             `json:"type"`
	Unit       Int             `json:"unit"`
	Algo       Int             `json:"algo"`
	FM         Int             `json:"fm"`
	Position   Int             `json:"position"`
	AlgoParams json.RawMessage `json:"algo_params"`
}

// Activity is one day of measurev2 getactivity.
type Activity struct {
	Date          Text  `json:"date"`
	Timezone      Text  `json:"timezone"`
	DeviceID      Text  `json:"deviceid"`
	HashDeviceID  Text  `json:"hash_deviceid"`
	Brand         Int   `json:"brand"`
	IsTracker     Flag  `json:"is_tracker"`
	Modified      Int   `json:"modified"`
	Model         Text  `json:"model"`
	ModelID       Int   `json:"modelid"`
	Steps         Float `json:"steps"`
	Distance      Float `json:"distance"`
	Elevation     Float `json:"elevation"`
	Soft          Float `json:"soft"`
	Moderate      Float `json:"moderate"`
	Intense       Float `json:"intense"`
	Active        Float `json:"active"`
	Calories      Float `json:"calories"`
	TotalCalories Float `json:"totalcalories"`
	HRAverage     Float `json:"hr_average"`
	HRMin         Float `json:"hr_min"`
	HRMax         Float `json:"hr_max"`
	HRZone0       Float `json:"hr_zone_0"`
	HRZone1       Float `json:"hr_zone_1"`
	HRZone2       Float `json:"hr_zone_2"`
	HRZone3       Float `json:"hr_zone_3"`
}

// Workout is one workout of measurev2 getworkouts.
type Workout struct {
	ID        Int         `json:"id"`
	Category  Int         `json:"category"`
	Timezone  Text        `json:"timezone"`
	Model     Int         `json:"model"`
	Attrib    Int         `json:"attrib"`
	StartDate Int         `json:"startdate"`
	EndDate   Int         `json:"enddate"`
	Date      Text        `json:"date"`
	Modified  Int         `json:"modified"`
	DeviceID  Text        `json:"deviceid"`
	Data      WorkoutData `json:"data"`
}

// WorkoutData is a workout's data object.
type WorkoutData struct {
	AlgoPauseDuration         Float `json:"algo_pause_duration"`
	Calories                  Float `json:"calories"`
	CoreBodyTemperatureAvg    Float `json:"core_body_temperature_avg"`
	CoreBodyTemperatureMax    Float `json:"core_body_temperature_max"`
	CoreBodyTemperatureMin    Float `json:"core_body_temperature_min"`
	CoreBodyTemperatureStatus Text  `json:"core_body_temperature_status"`
	Distance                  Float `json:"distance"`
	Elevation                 Float `json:"elevation"`
	HRAverage                 Float `json:"hr_average"`
	HRMax                     Float `json:"hr_max"`
	HRMin                     Float `json:"hr_min"`
	HRZone0                   Float `json:"hr_zone_0"`
	HRZone1                   Float `json:"hr_zone_1"`
	HRZone2                   Float `json:"hr_zone_2"`
	HRZone3                   Float `json:"hr_zone_3"`
	Intensity                 Float `json:"intensity"`
	ManualCalories            Float `json:"manual_calories"`
	ManualDistance            Float `json:"manual_distance"`
	ManualIntensity           Float `json:"manual_intensity"`
	PauseDuration             Float `json:"pause_duration"`
	PoolLaps                  Float `json:"pool_laps"`
	PoolLength                Float `json:"pool_length"`
	SpO2Average               Float `json:"spo2_average"`
	Steps                     Float `json:"steps"`
	Strokes                   Float `json:"strokes"`
}

// SleepSummary is one night of sleepv2 getsummary.
type SleepSummary struct {
	ID           Int              `json:"id"`
	Timezone     Text             `json:"timezone"`
	Model        Int              `json:"model"`
	ModelID      Int              `json:"model_id"`
	StartDate    Int              `json:"startdate"`
	EndDate      Int              `json:"enddate"`
	Date         Text             `json:"date"`
	Created      Int              `json:"created"`
	Modified     Int              `json:"modified"`
	HashDeviceID Text             `json:"hash_deviceid"`
	Completed    Flag             `json:"completed"`
	Data         SleepSummaryData `json:"data"`
}

// SleepSummaryData is a sleep summary's data object.
type SleepSummaryData struct {
	TotalTimeInBed                   Float           `json:"total_timeinbed"`
	TotalSleepTime                   Float           `json:"total_sleep_time"`
	AsleepDuration                   Float           `json:"asleepduration"`
	LightSleepDuration               Float           `json:"lightsleepduration"`
	REMSleepDuration                 Float           `json:"remsleepduration"`
	DeepSleepDuration                Float           `json:"deepsleepduration"`
	SleepEfficiency                  Float           `json:"sleep_efficiency"`
	SleepLatency                     Float           `json:"sleep_latency"`
	WakeupLatency                    Float           `json:"wakeup_latency"`
	WakeupDuration                   Float           `json:"wakeupduration"`
	WakeupCount                      Float           `json:"wakeupcount"`
	WASO                             Float           `json:"waso"`
	NbREMEpisodes                    Float           `json:"nb_rem_episodes"`
	DurationToSleep                  Float           `json:"durationtosleep"`
	DurationToWakeup                 Float           `json:"durationtowakeup"`
	OutOfBedCount                    Float           `json:"out_of_bed_count"`
	HRAverage                        Float           `json:"hr_average"`
	HRMin                            Float           `json:"hr_min"`
	HRMax                            Float           `json:"hr_max"`
	RRAverage                        Float           `json:"rr_average"`
	RRMin                            Float           `json:"rr_min"`
	RRMax                            Float           `json:"rr_max"`
	BreathingQualityAssessment       Float           `json:"breathing_quality_assessment"`
	BreathingDisturbancesIntensity   Float           `json:"breathing_disturbances_intensity"`
	Snoring                          Float           `json:"snoring"`
	SnoringEpisodeCount              Float           `json:"snoringepisodecount"`
	SleepScore                       Float           `json:"sleep_score"`
	NightEvents                      json.RawMessage `json:"night_events"`
	ApneaHypopneaIndex               Float           `json:"apnea_hypopnea_index"`
	MvtScoreAvg                      Float           `json:"mvt_score_avg"`
	MvtActiveDuration                Float           `json:"mvt_active_duration"`
	RMSSDStartAvg                    Float           `json:"rmssd_start_avg"`
	RMSSDEndAvg                      Float           `json:"rmssd_end_avg"`
	ChestMovementRateWellnessAverage Float           `json:"chest_movement_rate_wellness_average"`
	ChestMovementRateWellnessMin     Float           `json:"chest_movement_rate_wellness_min"`
	ChestMovementRateWellnessMax     Float           `json:"chest_movement_rate_wellness_max"`
	WithingsIndex                    Float           `json:"withings_index"`
	BreathingSounds                  Float           `json:"breathing_sounds"`
	BreathingSoundsEpisodeCount      Float           `json:"breathing_sounds_episode_count"`
	ChestMovementRateAverage         Float           `json:"chest_movement_rate_average"`
	ChestMovementRateMin             Float           `json:"chest_movement_rate_min"`
	ChestMovementRateMax             Float           `json:"chest_movement_rate_max"`
	CoreBodyTemperatureMin           Float           `json:"core_body_temperature_min"`
	CoreBodyTemperatureMax           Float           `json:"core_body_temperature_max"`
	CoreBodyTemperatureAvg           Float           `json:"core_body_temperature_avg"`
	CoreBodyTemperatureStatus        Text            `json:"core_body_temperature_status"`
}

// Series is one series of a high-frequency sleep segment: values keyed by
// epoch second (as text, the JSON object's keys).
type Series map[string]Float

// SleepSegment is one segment of sleepv2 get: a state between two
// instants, and the samples the device took in it.
type SleepSegment struct {
	StartDate         Int    `json:"startdate"`
	EndDate           Int    `json:"enddate"`
	State             Int    `json:"state"`
	Model             Text   `json:"model"`
	ModelID           Int    `json:"model_id"`
	HashDeviceID      Text   `json:"hash_deviceid"`
	Timezone          Text   `json:"timezone"`
	HR                Series `json:"hr"`
	RR                Series `json:"rr"`
	Snoring           Series `json:"snoring"`
	SDNN1             Series `json:"sdnn_1"`
	RMSSD             Series `json:"rmssd"`
	HRVQuality        Series `json:"hrv_quality"`
	MvtScore          Series `json:"mvt_score"`
	ChestMovementRate Series `json:"chest_movement_rate"`
	WithingsIndex     Series `json:"withings_index"`
	BreathingSounds   Series `json:"breathing_sounds"`
}

// Device is one device of userv2 getdevice. Devices are kept raw only; the
// normalizer decodes one only to name it when it is broken.
type Device struct {
	Type             Text            `json:"type"`
	Model            Text            `json:"model"`
	ModelID          Int             `json:"model_id"`
	Battery          Text            `json:"battery"`
	DeviceID         Text            `json:"deviceid"`
	MacAddress       Text            `json:"mac_address"`
	Fw               Text            `json:"fw"`
	Network          json.RawMessage `json:"network"`
	LastUsedNetwork  json.RawMessage `json:"last_used_network"`
	HashDeviceID     Text            `json:"hash_deviceid"`
	Timezone         Text            `json:"timezone"`
	FirstSessionDate Int             `json:"first_session_date"`
	LastSessionDate  Int             `json:"last_session_date"`
	SimStatus        json.RawMessage `json:"sim_status"`
}
