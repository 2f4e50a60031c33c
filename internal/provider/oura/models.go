package oura

import (
	"encoding/json"
	"time"
)

// Date is a calendar day, YYYY-MM-DD, already in the user's local time.
type Date string

// Time parses the day as midnight UTC (a day has no zone of its own).
func (d Date) Time() (time.Time, error) { return time.Parse(time.DateOnly, string(d)) }

// DateTime is an ISO 8601 timestamp as Oura sends it, kept as text so that a
// decode and encode round trip gives back the same bytes (Oura mixes
// "+00:00", "Z" and millisecond forms).
type DateTime string

// Time parses the timestamp. Oura sometimes omits the offset on LocalDateTime
// fields; such values are read as UTC.
func (t DateTime) Time() (time.Time, error) {
	s := string(t)
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return v, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

// Enumerations. They are plain strings: a value Oura adds later decodes fine.
type (
	SleepType               string
	SleepAlgorithmVersion   string
	SleepAnalysisReason     string
	HeartRateSource         string
	MomentMood              string
	MomentType              string
	WorkoutIntensity        string
	WorkoutSource           string
	DailyStressSummary      string
	ResilienceLevel         string
	RingColor               string
	RingDesign              string
	RingHardwareType        string
	SleepTimeRecommendation string
	SleepTimeStatus         string
	WebhookOperation        string
	DataType                string
)

const (
	SleepTypeDeleted   SleepType = "deleted"
	SleepTypeSleep     SleepType = "sleep"
	SleepTypeLongSleep SleepType = "long_sleep"
	SleepTypeLateNap   SleepType = "late_nap"
	SleepTypeRest      SleepType = "rest"

	HeartRateAwake   HeartRateSource = "awake"
	HeartRateWorkout HeartRateSource = "workout"
	HeartRateRest    HeartRateSource = "rest"
	HeartRateSleep   HeartRateSource = "sleep"
	HeartRateLive    HeartRateSource = "live"
	HeartRateSession HeartRateSource = "session"

	WebhookCreate WebhookOperation = "create"
	WebhookUpdate WebhookOperation = "update"
	WebhookDelete WebhookOperation = "delete"
)

// Sample is Oura's PublicSample: evenly spaced items from Timestamp on.
type Sample struct {
	Interval  float64    `json:"interval"`
	Items     []*float64 `json:"items"`
	Timestamp DateTime   `json:"timestamp"`
}

// ActivityContributors is PublicActivityContributors.
type ActivityContributors struct {
	MeetDailyTargets  *int `json:"meet_daily_targets"`
	MoveEveryHour     *int `json:"move_every_hour"`
	RecoveryTime      *int `json:"recovery_time"`
	StayActive        *int `json:"stay_active"`
	TrainingFrequency *int `json:"training_frequency"`
	TrainingVolume    *int `json:"training_volume"`
}

// DailyActivity is PublicDailyActivity: the 24 hours from 4 a.m. local time.
type DailyActivity struct {
	ID                        string               `json:"id"`
	Class5Min                 *string              `json:"class_5_min"`
	Score                     *int                 `json:"score"`
	ActiveCalories            int                  `json:"active_calories"`
	AverageMETMinutes         float64              `json:"average_met_minutes"`
	Contributors              ActivityContributors `json:"contributors"`
	EquivalentWalkingDistance int                  `json:"equivalent_walking_distance"`
	HighActivityMETMinutes    int                  `json:"high_activity_met_minutes"`
	HighActivityTime          int                  `json:"high_activity_time"`
	InactivityAlerts          int                  `json:"inactivity_alerts"`
	LowActivityMETMinutes     int                  `json:"low_activity_met_minutes"`
	LowActivityTime           int                  `json:"low_activity_time"`
	MediumActivityMETMinutes  int                  `json:"medium_activity_met_minutes"`
	MediumActivityTime        int                  `json:"medium_activity_time"`
	MET                       Sample               `json:"met"`
	MetersToTarget            int                  `json:"meters_to_target"`
	NonWearTime               int                  `json:"non_wear_time"`
	RestingTime               int                  `json:"resting_time"`
	SedentaryMETMinutes       int                  `json:"sedentary_met_minutes"`
	SedentaryTime             int                  `json:"sedentary_time"`
	Steps                     int                  `json:"steps"`
	TargetCalories            int                  `json:"target_calories"`
	TargetMeters              int                  `json:"target_meters"`
	TotalCalories             int                  `json:"total_calories"`
	Day                       Date                 `json:"day"`
	Timestamp                 DateTime             `json:"timestamp"`
}

// DailyCardiovascularAge is PublicDailyCardiovascularAge. Documents recorded
// before 2025 carry no id.
type DailyCardiovascularAge struct {
	ID                string   `json:"id,omitempty"`
	Day               Date     `json:"day"`
	PulseWaveVelocity *float64 `json:"pulse_wave_velocity"`
	VascularAge       *int     `json:"vascular_age"`
}

// ReadinessContributors is PublicReadinessContributors.
type ReadinessContributors struct {
	ActivityBalance     *int `json:"activity_balance"`
	BodyTemperature     *int `json:"body_temperature"`
	HRVBalance          *int `json:"hrv_balance"`
	PreviousDayActivity *int `json:"previous_day_activity"`
	PreviousNight       *int `json:"previous_night"`
	RecoveryIndex       *int `json:"recovery_index"`
	RestingHeartRate    *int `json:"resting_heart_rate"`
	SleepBalance        *int `json:"sleep_balance"`
	SleepRegularity     *int `json:"sleep_regularity"`
}

// DailyReadiness is PublicDailyReadiness.
type DailyReadiness struct {
	ID                        string                `json:"id"`
	Contributors              ReadinessContributors `json:"contributors"`
	Day                       Date                  `json:"day"`
	Score                     *int                  `json:"score"`
	TemperatureDeviation      *float64              `json:"temperature_deviation"`
	TemperatureTrendDeviation *float64              `json:"temperature_trend_deviation"`
	Timestamp                 DateTime              `json:"timestamp"`
}

// ResilienceContributors is ResilienceContributors.
type ResilienceContributors struct {
	SleepRecovery   float64 `json:"sleep_recovery"`
	DaytimeRecovery float64 `json:"daytime_recovery"`
	Stress          float64 `json:"stress"`
}

// DailyResilience is DailyResilienceModel.
type DailyResilience struct {
	ID           string                 `json:"id"`
	Day          Date                   `json:"day"`
	Contributors ResilienceContributors `json:"contributors"`
	Level        ResilienceLevel        `json:"level"`
}

// SleepContributors is PublicSleepContributors.
type SleepContributors struct {
	DeepSleep   *int `json:"deep_sleep"`
	Efficiency  *int `json:"efficiency"`
	Latency     *int `json:"latency"`
	REMSleep    *int `json:"rem_sleep"`
	Restfulness *int `json:"restfulness"`
	Timing      *int `json:"timing"`
	TotalSleep  *int `json:"total_sleep"`
}

// DailySleep is PublicDailySleep.
type DailySleep struct {
	ID           string            `json:"id"`
	Contributors SleepContributors `json:"contributors"`
	Day          Date              `json:"day"`
	Score        *int              `json:"score"`
	Timestamp    DateTime          `json:"timestamp"`
}

// SpO2Aggregate is PublicSpo2AggregatedValues.
type SpO2Aggregate struct {
	Average float64 `json:"average"`
}

// DailySpO2 is PublicDailySpO2.
type DailySpO2 struct {
	ID                        string         `json:"id"`
	Day                       Date           `json:"day"`
	SpO2Percentage            *SpO2Aggregate `json:"spo2_percentage"`
	BreathingDisturbanceIndex *int           `json:"breathing_disturbance_index"`
}

// DailyStress is PublicDailyStress.
type DailyStress struct {
	ID           string              `json:"id"`
	Day          Date                `json:"day"`
	StressHigh   *int                `json:"stress_high"`
	RecoveryHigh *int                `json:"recovery_high"`
	DaySummary   *DailyStressSummary `json:"day_summary"`
}

// EnhancedTag is EnhancedTagModel.
type EnhancedTag struct {
	ID          string    `json:"id"`
	TagTypeCode *string   `json:"tag_type_code"`
	StartTime   DateTime  `json:"start_time"`
	EndTime     *DateTime `json:"end_time"`
	StartDay    Date      `json:"start_day"`
	EndDay      *Date     `json:"end_day"`
	Comment     *string   `json:"comment"`
	CustomName  *string   `json:"custom_name"`
}

// HeartRate is one PublicHeartRateRow. Timestamps are UTC. timestamp_unix is
// in the published document but was not seen live; producer_timestamp was
// seen live but is not published. Both are kept when present.
type HeartRate struct {
	BPM               int             `json:"bpm"`
	Source            HeartRateSource `json:"source"`
	Timestamp         DateTime        `json:"timestamp"`
	TimestampUnix     *int64          `json:"timestamp_unix,omitempty"`
	ProducerTimestamp *DateTime       `json:"producer_timestamp,omitempty"`
}

// InterbeatInterval is one PublicInterbeatIntervalRow (API document of
// April 2026): the time between two heartbeats ending at Timestamp.
type InterbeatInterval struct {
	Timestamp     DateTime `json:"timestamp"`
	TimestampUnix *int64   `json:"timestamp_unix,omitempty"`
	// IBI is in milliseconds, at most 2000.
	IBI int `json:"ibi"`
	// Validity is one of the IBIValidity values.
	Validity IBIValidity `json:"validity"`
}

// IBIValidity classifies an interbeat interval row. Only good and corrected
// rows carry a measured interval; a gap row says the PPG signal was lost
// before it, so its ibi is not an interval between two beats.
type IBIValidity int

const (
	IBIGood      IBIValidity = 1
	IBIBad       IBIValidity = 2
	IBICorrected IBIValidity = 3
	IBIGap       IBIValidity = -1
	IBIGapLong   IBIValidity = -2
	IBIRaw       IBIValidity = 0
)

// PersonalInfo is PersonalInfoResponse.
type PersonalInfo struct {
	ID            string   `json:"id"`
	Age           *int     `json:"age"`
	Weight        *float64 `json:"weight"`
	Height        *float64 `json:"height"`
	BiologicalSex *string  `json:"biological_sex"`
	Email         *string  `json:"email"`
}

// RestModeEpisode is PublicRestModeEpisode.
type RestModeEpisode struct {
	Tags      []string `json:"tags"`
	Timestamp DateTime `json:"timestamp"`
}

// RestModePeriod is PublicRestModePeriod.
type RestModePeriod struct {
	ID        string            `json:"id"`
	EndDay    *Date             `json:"end_day"`
	EndTime   *DateTime         `json:"end_time"`
	Episodes  []RestModeEpisode `json:"episodes"`
	StartDay  Date              `json:"start_day"`
	StartTime *DateTime         `json:"start_time"`
}

// RingBatteryLevel is one PublicRingBatteryLevelRow.
type RingBatteryLevel struct {
	Timestamp         DateTime  `json:"timestamp"`
	TimestampUnix     *int64    `json:"timestamp_unix,omitempty"`
	ProducerTimestamp *DateTime `json:"producer_timestamp,omitempty"`
	Charging          *bool     `json:"charging"`
	InCharger         *bool     `json:"in_charger"`
	Level             int       `json:"level"`
}

// RingConfiguration is PublicRingConfiguration.
type RingConfiguration struct {
	ID              string            `json:"id"`
	Color           *RingColor        `json:"color"`
	Design          *RingDesign       `json:"design"`
	FirmwareVersion *string           `json:"firmware_version"`
	HardwareType    *RingHardwareType `json:"hardware_type"`
	SetUpAt         *DateTime         `json:"set_up_at"`
	Size            *int              `json:"size"`
}

// Session is PublicSession (a "moment": meditation, breathing, nap ...).
type Session struct {
	ID                   string      `json:"id"`
	Day                  Date        `json:"day"`
	StartDatetime        DateTime    `json:"start_datetime"`
	EndDatetime          DateTime    `json:"end_datetime"`
	Type                 MomentType  `json:"type"`
	HeartRate            *Sample     `json:"heart_rate"`
	HeartRateVariability *Sample     `json:"heart_rate_variability"`
	Mood                 *MomentMood `json:"mood"`
	MotionCount          *Sample     `json:"motion_count"`
}

// Readiness is PublicReadiness, embedded in a sleep period.
type Readiness struct {
	Contributors              ReadinessContributors `json:"contributors"`
	Score                     *int                  `json:"score"`
	TemperatureDeviation      *float64              `json:"temperature_deviation"`
	TemperatureTrendDeviation *float64              `json:"temperature_trend_deviation"`
}

// Sleep is PublicModifiedSleepModel: one sleep period (a night, a nap, a rest).
type Sleep struct {
	ID                    string                 `json:"id"`
	AverageBreath         *float64               `json:"average_breath"`
	AverageHeartRate      *float64               `json:"average_heart_rate"`
	AverageHRV            *int                   `json:"average_hrv"`
	AwakeTime             *int                   `json:"awake_time"`
	BedtimeEnd            DateTime               `json:"bedtime_end"`
	BedtimeStart          DateTime               `json:"bedtime_start"`
	Day                   Date                   `json:"day"`
	DeepSleepDuration     *int                   `json:"deep_sleep_duration"`
	Efficiency            *int                   `json:"efficiency"`
	HeartRate             *Sample                `json:"heart_rate"`
	HRV                   *Sample                `json:"hrv"`
	Latency               *int                   `json:"latency"`
	LightSleepDuration    *int                   `json:"light_sleep_duration"`
	LowBatteryAlert       bool                   `json:"low_battery_alert"`
	LowestHeartRate       *int                   `json:"lowest_heart_rate"`
	Movement30Sec         *string                `json:"movement_30_sec"`
	Period                int                    `json:"period"`
	Readiness             *Readiness             `json:"readiness"`
	ReadinessScoreDelta   *int                   `json:"readiness_score_delta"`
	REMSleepDuration      *int                   `json:"rem_sleep_duration"`
	RestlessPeriods       *int                   `json:"restless_periods"`
	SleepAlgorithmVersion *SleepAlgorithmVersion `json:"sleep_algorithm_version"`
	SleepAnalysisReason   *SleepAnalysisReason   `json:"sleep_analysis_reason"`
	SleepPhase30Sec       *string                `json:"sleep_phase_30_sec"`
	SleepPhase5Min        *string                `json:"sleep_phase_5_min"`
	SleepScoreDelta       *int                   `json:"sleep_score_delta"`
	TimeInBed             int                    `json:"time_in_bed"`
	TotalSleepDuration    *int                   `json:"total_sleep_duration"`
	Type                  *SleepType             `json:"type"`
	RingID                *string                `json:"ring_id"`
	AppSleepPhase5Min     *string                `json:"app_sleep_phase_5_min"`
}

// SleepTimeWindow is PublicSleepTimeWindow: offsets in seconds from midnight.
type SleepTimeWindow struct {
	DayTZ       int `json:"day_tz"`
	EndOffset   int `json:"end_offset"`
	StartOffset int `json:"start_offset"`
}

// SleepTime is PublicSleepTime, Oura's bedtime recommendation.
type SleepTime struct {
	ID             string                   `json:"id"`
	Day            Date                     `json:"day"`
	OptimalBedtime *SleepTimeWindow         `json:"optimal_bedtime"`
	Recommendation *SleepTimeRecommendation `json:"recommendation"`
	Status         *SleepTimeStatus         `json:"status"`
}

// Tag is the deprecated TagModel.
type Tag struct {
	ID        string   `json:"id"`
	Day       Date     `json:"day"`
	Text      *string  `json:"text"`
	Timestamp DateTime `json:"timestamp"`
	Tags      []string `json:"tags"`
}

// VO2Max is PublicVO2Max.
type VO2Max struct {
	ID        string   `json:"id"`
	Day       Date     `json:"day"`
	Timestamp DateTime `json:"timestamp"`
	VO2Max    int      `json:"vo2_max"`
}

// Workout is PublicWorkout.
type Workout struct {
	ID            string           `json:"id"`
	Activity      string           `json:"activity"`
	Calories      *float64         `json:"calories"`
	Day           Date             `json:"day"`
	Distance      *float64         `json:"distance"`
	EndDatetime   DateTime         `json:"end_datetime"`
	Intensity     WorkoutIntensity `json:"intensity"`
	Label         *string          `json:"label"`
	Source        WorkoutSource    `json:"source"`
	StartDatetime DateTime         `json:"start_datetime"`
}

// WebhookSubscription is WebhookSubscriptionModel.
type WebhookSubscription struct {
	ID             string           `json:"id"`
	CallbackURL    string           `json:"callback_url"`
	EventType      WebhookOperation `json:"event_type"`
	DataType       DataType         `json:"data_type"`
	ExpirationTime DateTime         `json:"expiration_time"`
}

// CreateWebhookSubscription is CreateWebhookSubscriptionRequest.
type CreateWebhookSubscription struct {
	CallbackURL       string           `json:"callback_url"`
	VerificationToken string           `json:"verification_token"`
	EventType         WebhookOperation `json:"event_type"`
	DataType          DataType         `json:"data_type"`
}

// UpdateWebhookSubscription is UpdateWebhookSubscriptionRequest.
type UpdateWebhookSubscription struct {
	VerificationToken string            `json:"verification_token"`
	CallbackURL       *string           `json:"callback_url,omitempty"`
	EventType         *WebhookOperation `json:"event_type,omitempty"`
	DataType          *DataType         `json:"data_type,omitempty"`
}

// Notification is the body Oura POSTs to a webhook callback. It carries no
// data: the document has to be fetched by ObjectID.
type Notification struct {
	EventType WebhookOperation `json:"event_type"`
	DataType  DataType         `json:"data_type"`
	ObjectID  string           `json:"object_id"`
	EventTime DateTime         `json:"event_time"`
	UserID    string           `json:"user_id"`
}

// Document pairs a decoded model with the exact bytes Oura sent for it, which
// wearlink stores as the raw document.
type Document[T any] struct {
	Value T
	Raw   json.RawMessage
}

// UnmarshalJSON keeps a copy of the bytes and decodes them into Value.
func (d *Document[T]) UnmarshalJSON(b []byte) error {
	d.Raw = append(json.RawMessage(nil), b...)
	return json.Unmarshal(b, &d.Value)
}

// MarshalJSON writes the raw bytes when present, so a stored document is
// emitted exactly as received.
func (d Document[T]) MarshalJSON() ([]byte, error) {
	if len(d.Raw) > 0 {
		return d.Raw, nil
	}
	return json.Marshal(d.Value)
}
