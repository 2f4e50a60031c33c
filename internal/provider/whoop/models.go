package whoop

import (
	"encoding/json"
	"strconv"
	"time"
)

// Models of the WHOOP API v2 resources (the spec's Cycle, Recovery, Sleep,
// WorkoutV2, UserBasicProfile and UserBodyMeasurement). Every field of the
// spec is here; a field the spec does not require is a pointer, because
// WHOOP leaves it out (score unless SCORED, end of the current cycle, SpO2
// before WHOOP 4.0). Unknown fields are ignored by encoding/json and enums
// are plain strings, so a field or a value WHOOP adds later never fails a
// decode; Record keeps the exact bytes so they travel anyway.

// Time is a date-time as WHOOP sends it ("2022-04-24T02:25:44.774Z"), kept
// as text so that a value that does not parse does not fail the whole
// record.
type Time string

// Parse reads the instant.
func (t Time) Parse() (time.Time, error) { return time.Parse(time.RFC3339Nano, string(t)) }

// ScoreState says whether a record's score is there. PENDING_SCORE and
// UNSCORABLE records are kept: they are real records without a score.
type ScoreState string

const (
	ScoreStateScored       ScoreState = "SCORED"
	ScoreStatePendingScore ScoreState = "PENDING_SCORE"
	ScoreStateUnscorable   ScoreState = "UNSCORABLE"
)

// Cycle is a physiological cycle: from falling asleep to the next sleep.
// The current cycle has no End.
type Cycle struct {
	ID             int64       `json:"id"`
	UserID         int64       `json:"user_id"`
	CreatedAt      Time        `json:"created_at"`
	UpdatedAt      Time        `json:"updated_at"`
	Start          Time        `json:"start"`
	End            *Time       `json:"end"`
	TimezoneOffset string      `json:"timezone_offset"`
	ScoreState     ScoreState  `json:"score_state"`
	Score          *CycleScore `json:"score"`
}

// CycleScore is WHOOP's evaluation of a cycle.
type CycleScore struct {
	Strain           float64 `json:"strain"`
	Kilojoule        float64 `json:"kilojoule"`
	AverageHeartRate int     `json:"average_heart_rate"`
	MaxHeartRate     int     `json:"max_heart_rate"`
}

// Sleep is one sleep activity (a night or a nap).
type Sleep struct {
	ID             string      `json:"id"`
	CycleID        int64       `json:"cycle_id"`
	V1ID           *int64      `json:"v1_id"`
	UserID         int64       `json:"user_id"`
	CreatedAt      Time        `json:"created_at"`
	UpdatedAt      Time        `json:"updated_at"`
	Start          Time        `json:"start"`
	End            Time        `json:"end"`
	TimezoneOffset string      `json:"timezone_offset"`
	Nap            bool        `json:"nap"`
	ScoreState     ScoreState  `json:"score_state"`
	Score          *SleepScore `json:"score"`
}

// SleepScore is WHOOP's evaluation of a sleep.
type SleepScore struct {
	StageSummary               SleepStageSummary `json:"stage_summary"`
	SleepNeeded                SleepNeeded       `json:"sleep_needed"`
	RespiratoryRate            *float64          `json:"respiratory_rate"`
	SleepPerformancePercentage *float64          `json:"sleep_performance_percentage"`
	SleepConsistencyPercentage *float64          `json:"sleep_consistency_percentage"`
	SleepEfficiencyPercentage  *float64          `json:"sleep_efficiency_percentage"`
}

// SleepStageSummary is the time in each stage, in milliseconds.
type SleepStageSummary struct {
	TotalInBedTimeMilli         int64 `json:"total_in_bed_time_milli"`
	TotalAwakeTimeMilli         int64 `json:"total_awake_time_milli"`
	TotalNoDataTimeMilli        int64 `json:"total_no_data_time_milli"`
	TotalLightSleepTimeMilli    int64 `json:"total_light_sleep_time_milli"`
	TotalSlowWaveSleepTimeMilli int64 `json:"total_slow_wave_sleep_time_milli"`
	TotalREMSleepTimeMilli      int64 `json:"total_rem_sleep_time_milli"`
	SleepCycleCount             int   `json:"sleep_cycle_count"`
	DisturbanceCount            int   `json:"disturbance_count"`
}

// SleepNeeded is the sleep the user needed before this sleep, in parts
// that add up to the whole (the nap part is zero or negative).
type SleepNeeded struct {
	BaselineMilli             int64 `json:"baseline_milli"`
	NeedFromSleepDebtMilli    int64 `json:"need_from_sleep_debt_milli"`
	NeedFromRecentStrainMilli int64 `json:"need_from_recent_strain_milli"`
	NeedFromRecentNapMilli    int64 `json:"need_from_recent_nap_milli"`
}

// Recovery is the recovery of a cycle, computed from its sleep. It has no
// time of its own: its day is its sleep's.
type Recovery struct {
	CycleID    int64          `json:"cycle_id"`
	SleepID    string         `json:"sleep_id"`
	UserID     int64          `json:"user_id"`
	CreatedAt  Time           `json:"created_at"`
	UpdatedAt  Time           `json:"updated_at"`
	ScoreState ScoreState     `json:"score_state"`
	Score      *RecoveryScore `json:"score"`
}

// RecoveryScore is WHOOP's evaluation of a recovery.
type RecoveryScore struct {
	UserCalibrating  bool     `json:"user_calibrating"`
	RecoveryScore    float64  `json:"recovery_score"`
	RestingHeartRate float64  `json:"resting_heart_rate"`
	HRVRMSSDMilli    float64  `json:"hrv_rmssd_milli"`
	SpO2Percentage   *float64 `json:"spo2_percentage"`
	SkinTempCelsius  *float64 `json:"skin_temp_celsius"`
}

// Workout is one workout activity (the spec's WorkoutV2).
type Workout struct {
	ID             string        `json:"id"`
	V1ID           *int64        `json:"v1_id"`
	UserID         int64         `json:"user_id"`
	CreatedAt      Time          `json:"created_at"`
	UpdatedAt      Time          `json:"updated_at"`
	Start          Time          `json:"start"`
	End            Time          `json:"end"`
	TimezoneOffset string        `json:"timezone_offset"`
	SportName      string        `json:"sport_name"`
	ScoreState     ScoreState    `json:"score_state"`
	Score          *WorkoutScore `json:"score"`
	SportID        *int          `json:"sport_id"`
}

// WorkoutScore is WHOOP's evaluation of a workout.
type WorkoutScore struct {
	Strain              float64       `json:"strain"`
	AverageHeartRate    int           `json:"average_heart_rate"`
	MaxHeartRate        int           `json:"max_heart_rate"`
	Kilojoule           float64       `json:"kilojoule"`
	PercentRecorded     float64       `json:"percent_recorded"`
	DistanceMeter       *float64      `json:"distance_meter"`
	AltitudeGainMeter   *float64      `json:"altitude_gain_meter"`
	AltitudeChangeMeter *float64      `json:"altitude_change_meter"`
	ZoneDurations       ZoneDurations `json:"zone_durations"`
}

// ZoneDurations is the time in each heart-rate zone, in milliseconds.
type ZoneDurations struct {
	ZoneZeroMilli  int64 `json:"zone_zero_milli"`
	ZoneOneMilli   int64 `json:"zone_one_milli"`
	ZoneTwoMilli   int64 `json:"zone_two_milli"`
	ZoneThreeMilli int64 `json:"zone_three_milli"`
	ZoneFourMilli  int64 `json:"zone_four_milli"`
	ZoneFiveMilli  int64 `json:"zone_five_milli"`
}

// UserBasicProfile is /v2/user/profile/basic. UserID is a pointer so that
// a profile without one is told apart from user 0.
type UserBasicProfile struct {
	UserID    *int64 `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// UserBodyMeasurement is /v2/user/measurement/body.
type UserBodyMeasurement struct {
	HeightMeter    float64 `json:"height_meter"`
	WeightKilogram float64 `json:"weight_kilogram"`
	MaxHeartRate   int     `json:"max_heart_rate"`
}

// Record pairs a decoded model with the exact bytes WHOOP sent, which are
// what wearlink stores.
type Record[T any] struct {
	Value T
	Raw   json.RawMessage
}

// UnmarshalJSON keeps a copy of the bytes and decodes them into Value.
func (r *Record[T]) UnmarshalJSON(b []byte) error {
	r.Raw = append(json.RawMessage(nil), b...)
	return json.Unmarshal(b, &r.Value)
}

// MarshalJSON writes the bytes as received when there are any.
func (r Record[T]) MarshalJSON() ([]byte, error) {
	if len(r.Raw) > 0 {
		return r.Raw, nil
	}
	return json.Marshal(r.Value)
}

// page is one answer of a collection route. The response names the cursor
// next_token; the request parameter is nextToken.
type page[T any] struct {
	Records   []Record[T] `json:"records"`
	NextToken *string     `json:"next_token"`
}

// CycleID formats a cycle id as the routes and notifications carry it.
func CycleID(id int64) string { return strconv.FormatInt(id, 10) }
