package sim

// The simulator's own JSON shapes of WHOOP API v2 documents. They are
// written from the published spec, not shared with the WHOOP client, so that
// the simulator checks the client instead of agreeing with it by
// construction.

// Cycle is a physiological cycle. End is nil for the current cycle.
type Cycle struct {
	ID             int64       `json:"id"`
	UserID         int64       `json:"user_id"`
	CreatedAt      string      `json:"created_at"`
	UpdatedAt      string      `json:"updated_at"`
	Start          string      `json:"start"`
	End            *string     `json:"end,omitempty"`
	TimezoneOffset string      `json:"timezone_offset"`
	ScoreState     string      `json:"score_state"`
	Score          *CycleScore `json:"score,omitempty"`
}

// CycleScore is present only when the cycle is SCORED.
type CycleScore struct {
	Strain           float64 `json:"strain"`
	Kilojoule        float64 `json:"kilojoule"`
	AverageHeartRate int     `json:"average_heart_rate"`
	MaxHeartRate     int     `json:"max_heart_rate"`
}

// Sleep is one sleep activity, a main sleep or a nap.
type Sleep struct {
	ID             string      `json:"id"`
	CycleID        int64       `json:"cycle_id"`
	V1ID           *int64      `json:"v1_id,omitempty"`
	UserID         int64       `json:"user_id"`
	CreatedAt      string      `json:"created_at"`
	UpdatedAt      string      `json:"updated_at"`
	Start          string      `json:"start"`
	End            string      `json:"end"`
	TimezoneOffset string      `json:"timezone_offset"`
	Nap            bool        `json:"nap"`
	ScoreState     string      `json:"score_state"`
	Score          *SleepScore `json:"score,omitempty"`
}

// SleepScore is present only when the sleep is SCORED.
type SleepScore struct {
	StageSummary               SleepStageSummary `json:"stage_summary"`
	SleepNeeded                SleepNeeded       `json:"sleep_needed"`
	RespiratoryRate            *float64          `json:"respiratory_rate,omitempty"`
	SleepPerformancePercentage *float64          `json:"sleep_performance_percentage,omitempty"`
	SleepConsistencyPercentage *float64          `json:"sleep_consistency_percentage,omitempty"`
	SleepEfficiencyPercentage  *float64          `json:"sleep_efficiency_percentage,omitempty"`
}

// SleepStageSummary: awake + no data + light + slow wave + REM is exactly
// the time in bed, which is end - start.
type SleepStageSummary struct {
	TotalInBedTimeMilli         int64 `json:"total_in_bed_time_milli"`
	TotalAwakeTimeMilli         int64 `json:"total_awake_time_milli"`
	TotalNoDataTimeMilli        int64 `json:"total_no_data_time_milli"`
	TotalLightSleepTimeMilli    int64 `json:"total_light_sleep_time_milli"`
	TotalSlowWaveSleepTimeMilli int64 `json:"total_slow_wave_sleep_time_milli"`
	TotalRemSleepTimeMilli      int64 `json:"total_rem_sleep_time_milli"`
	SleepCycleCount             int   `json:"sleep_cycle_count"`
	DisturbanceCount            int   `json:"disturbance_count"`
}

// SleepNeeded sums to the sleep the user needed before this sleep.
type SleepNeeded struct {
	BaselineMilli             int64 `json:"baseline_milli"`
	NeedFromSleepDebtMilli    int64 `json:"need_from_sleep_debt_milli"`
	NeedFromRecentStrainMilli int64 `json:"need_from_recent_strain_milli"`
	NeedFromRecentNapMilli    int64 `json:"need_from_recent_nap_milli"`
}

// Recovery belongs to a cycle and the main sleep that opened it.
type Recovery struct {
	CycleID    int64          `json:"cycle_id"`
	SleepID    string         `json:"sleep_id"`
	UserID     int64          `json:"user_id"`
	CreatedAt  string         `json:"created_at"`
	UpdatedAt  string         `json:"updated_at"`
	ScoreState string         `json:"score_state"`
	Score      *RecoveryScore `json:"score,omitempty"`
}

// RecoveryScore is present only when the recovery is SCORED. SpO2 and skin
// temperature only come from 4.0 straps.
type RecoveryScore struct {
	UserCalibrating  bool     `json:"user_calibrating"`
	RecoveryScore    float64  `json:"recovery_score"`
	RestingHeartRate float64  `json:"resting_heart_rate"`
	HrvRmssdMilli    float64  `json:"hrv_rmssd_milli"`
	Spo2Percentage   *float64 `json:"spo2_percentage,omitempty"`
	SkinTempCelsius  *float64 `json:"skin_temp_celsius,omitempty"`
}

// Workout is a v2 workout. V1ID and SportID are absent for workouts that
// start after the v1 cut-off, as WHOOP announced.
type Workout struct {
	ID             string        `json:"id"`
	V1ID           *int64        `json:"v1_id,omitempty"`
	UserID         int64         `json:"user_id"`
	CreatedAt      string        `json:"created_at"`
	UpdatedAt      string        `json:"updated_at"`
	Start          string        `json:"start"`
	End            string        `json:"end"`
	TimezoneOffset string        `json:"timezone_offset"`
	SportName      string        `json:"sport_name"`
	ScoreState     string        `json:"score_state"`
	Score          *WorkoutScore `json:"score,omitempty"`
	SportID        *int          `json:"sport_id,omitempty"`
}

// WorkoutScore is present only when the workout is SCORED.
type WorkoutScore struct {
	Strain              float64       `json:"strain"`
	AverageHeartRate    int           `json:"average_heart_rate"`
	MaxHeartRate        int           `json:"max_heart_rate"`
	Kilojoule           float64       `json:"kilojoule"`
	PercentRecorded     float64       `json:"percent_recorded"`
	DistanceMeter       *float64      `json:"distance_meter,omitempty"`
	AltitudeGainMeter   *float64      `json:"altitude_gain_meter,omitempty"`
	AltitudeChangeMeter *float64      `json:"altitude_change_meter,omitempty"`
	ZoneDurations       ZoneDurations `json:"zone_durations"`
}

// ZoneDurations sum to the recorded part of the workout.
type ZoneDurations struct {
	ZoneZeroMilli  int64 `json:"zone_zero_milli"`
	ZoneOneMilli   int64 `json:"zone_one_milli"`
	ZoneTwoMilli   int64 `json:"zone_two_milli"`
	ZoneThreeMilli int64 `json:"zone_three_milli"`
	ZoneFourMilli  int64 `json:"zone_four_milli"`
	ZoneFiveMilli  int64 `json:"zone_five_milli"`
}

// Page is the body of the collection routes. NextToken is omitted on the
// last page (the spec types it as a string, not nullable).
type Page[T any] struct {
	Records   []T    `json:"records"`
	NextToken string `json:"next_token,omitempty"`
}

// BasicProfile is /v2/user/profile/basic.
type BasicProfile struct {
	UserID    int64  `json:"user_id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// BodyMeasurement is /v2/user/measurement/body.
type BodyMeasurement struct {
	HeightMeter    float64 `json:"height_meter"`
	WeightKilogram float64 `json:"weight_kilogram"`
	MaxHeartRate   int     `json:"max_heart_rate"`
}

// ActivityMapping is /v1/activity-mapping/{activityV1Id}.
type ActivityMapping struct {
	V2ActivityID string `json:"v2_activity_id"`
}

// Webhook is the body WHOOP POSTs to the application's webhook URL.
type Webhook struct {
	UserID  int64  `json:"user_id"`
	ID      string `json:"id"`
	Type    string `json:"type"`
	TraceID string `json:"trace_id"`
}

// Score states.
const (
	StateScored     = "SCORED"
	StatePending    = "PENDING_SCORE"
	StateUnscorable = "UNSCORABLE"
)
