package health

// SleepSummaryDocument is a sleep_summary document: one night of sleep,
// filed under sleep_health.summary.sleep_summary.
type SleepSummaryDocument struct {
	Header
	Summary SleepSummaryRecord
}

// SleepSummaryRecord is the object under sleep_health.summary.sleep_summary.
type SleepSummaryRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          Metadata          `json:"metadata"`
	Duration          SleepDuration     `json:"duration"`
	Scores            SleepScores       `json:"scores"`
	HeartRate         SleepHeartRate    `json:"heart_rate"`
	Temperature       Temperature       `json:"temperature"`
	Breathing         Breathing         `json:"breathing"`
}

// SleepDuration is the duration object of sleep_summary.
type SleepDuration struct {
	SleepStartDatetime          *string `json:"sleep_start_datetime_string"`
	SleepEndDatetime            *string `json:"sleep_end_datetime_string"`
	SleepDate                   *string `json:"sleep_date_string"`
	SleepDurationSeconds        *int    `json:"sleep_duration_seconds_int"`
	TimeInBedSeconds            *int    `json:"time_in_bed_seconds_int"`
	LightSleepDurationSeconds   *int    `json:"light_sleep_duration_seconds_int"`
	REMSleepDurationSeconds     *int    `json:"rem_sleep_duration_seconds_int"`
	DeepSleepDurationSeconds    *int    `json:"deep_sleep_duration_seconds_int"`
	TimeToFallAsleepSeconds     *int    `json:"time_to_fall_asleep_seconds_int"`
	TimeAwakeDuringSleepSeconds *int    `json:"time_awake_during_sleep_seconds_int"`
}

// SleepScores is the scores object of sleep_summary.
type SleepScores struct {
	SleepQualityRating1To5Score *int `json:"sleep_quality_rating_1_5_score_int"`
	SleepEfficiency1To100Score  *int `json:"sleep_efficiency_1_100_score_int"`
	SleepGoalSeconds            *int `json:"sleep_goal_seconds_int"`
	SleepContinuity1To5Score    *int `json:"sleep_continuity_1_5_score_int"`
	SleepContinuity1To5Rating   *int `json:"sleep_continuity_1_5_rating_int"`
}

// SleepHeartRate is the heart_rate object of sleep_summary: HeartRate plus
// the basal heart rate.
type SleepHeartRate struct {
	HRMaximumBPM         *int             `json:"hr_maximum_bpm_int"`
	HRMinimumBPM         *int             `json:"hr_minimum_bpm_int"`
	HRAvgBPM             *int             `json:"hr_avg_bpm_int"`
	HRRestingBPM         *int             `json:"hr_resting_bpm_int"`
	HRBasalBPM           *int             `json:"hr_basal_bpm_int"`
	HRGranularData       []HRSample       `json:"hr_granular_data_array"`
	HRVAvgRMSSD          *float64         `json:"hrv_avg_rmssd_float"`
	HRVAvgSDNN           *float64         `json:"hrv_avg_sdnn_float"`
	HRVSDNNGranularData  []HRVSDNNSample  `json:"hrv_sdnn_granular_data_array"`
	HRVRMSSDGranularData []HRVRMSSDSample `json:"hrv_rmssd_granular_data_array"`
}

// Breathing is the breathing object of sleep_summary (breathing rate,
// snoring and oxygen saturation during the night).
type Breathing struct {
	BreathsMinimumPerMin        *int               `json:"breaths_minimum_per_min_int"`
	BreathsAvgPerMin            *int               `json:"breaths_avg_per_min_int"`
	BreathsMaximumPerMin        *int               `json:"breaths_maximum_per_min_int"`
	BreathingGranularData       []BreathingSample  `json:"breathing_granular_data_array"`
	SnoringEventsCount          *int               `json:"snoring_events_count_int"`
	SnoringDurationTotalSeconds *int               `json:"snoring_duration_total_seconds_int"`
	SnoringGranularData         []SnoringSample    `json:"snoring_granular_data_array"`
	SaturationAvgPercentage     *int               `json:"saturation_avg_percentage_int"`
	SaturationMinimumPercentage *int               `json:"saturation_minimum_percentage_int"`
	SaturationMaximumPercentage *int               `json:"saturation_maximum_percentage_int"`
	SaturationGranularData      []SaturationSample `json:"saturation_granular_data_array"`
}

// BreathingSample is an item of breathing_granular_data_array.
type BreathingSample struct {
	Datetime      *string `json:"datetime_string"`
	BreathsPerMin *int    `json:"breaths_per_min_int"`
}

// SnoringSample is an item of snoring_granular_data_array.
type SnoringSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	SnoringEventsCount      *int     `json:"snoring_events_count_int"`
}
