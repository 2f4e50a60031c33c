package health

// PhysicalSummaryDocument is a physical_summary document: one local day of
// activity, filed under physical_health.summary.physical_summary.
type PhysicalSummaryDocument struct {
	Header
	Summary PhysicalSummaryRecord
}

// PhysicalSummaryRecord is the object under
// physical_health.summary.physical_summary.
type PhysicalSummaryRecord struct {
	NonStructuredData NonStructuredData       `json:"non_structured_data_array"`
	Metadata          Metadata                `json:"metadata"`
	Activity          PhysicalSummaryActivity `json:"activity"`
	Calories          PhysicalSummaryCalories `json:"calories"`
	Distance          PhysicalSummaryDistance `json:"distance"`
	HeartRate         HeartRate               `json:"heart_rate"`
	Oxygenation       Oxygenation             `json:"oxygenation"`
	Stress            PhysicalSummaryStress   `json:"stress"`
}

// PhysicalSummaryActivity is the activity object of physical_summary.
type PhysicalSummaryActivity struct {
	ActiveSeconds             *int                  `json:"active_seconds_int"`
	ContinuousInactivePeriods *int                  `json:"continuous_inactive_periods_int"`
	InactivitySeconds         *int                  `json:"inactivity_seconds_int"`
	LowIntensitySeconds       *int                  `json:"low_intensity_seconds_int"`
	ModerateIntensitySeconds  *int                  `json:"moderate_intensity_seconds_int"`
	RestSeconds               *int                  `json:"rest_seconds_int"`
	VigorousIntensitySeconds  *int                  `json:"vigorous_intensity_seconds_int"`
	ActivityLevelGranularData []ActivityLevelSample `json:"activity_level_granular_data_array"`
}

// PhysicalSummaryCalories is the calories object of physical_summary.
type PhysicalSummaryCalories struct {
	CaloriesBasalMetabolicRateKcal *float64 `json:"calories_basal_metabolic_rate_kcal_float"`
	CaloriesExpenditureKcal        *float64 `json:"calories_expenditure_kcal_float"`
	CaloriesNetActiveKcal          *float64 `json:"calories_net_active_kcal_float"`
	CaloriesNetIntakeKcal          *float64 `json:"calories_net_intake_kcal_float"`
}

// PhysicalSummaryDistance is the distance object of physical_summary.
type PhysicalSummaryDistance struct {
	Steps                             *int                     `json:"steps_int"`
	ActiveSteps                       *int                     `json:"active_steps_int"`
	FloorsClimbed                     *float64                 `json:"floors_climbed_float"`
	ElevationAvgAltitudeMeters        *float64                 `json:"elevation_avg_altitude_meters_float"`
	ElevationMinimumAltitudeMeters    *float64                 `json:"elevation_minimum_altitude_meters_float"`
	ElevationMaximumAltitudeMeters    *float64                 `json:"elevation_maximum_altitude_meters_float"`
	ElevationGainActualAltitudeMeters *float64                 `json:"elevation_gain_actual_altitude_meters_float"`
	ElevationLossActualAltitudeMeters *float64                 `json:"elevation_loss_actual_altitude_meters_float"`
	ElevationPlannedGainMeters        *float64                 `json:"elevation_planned_gain_meters_float"`
	SwimmingNumStrokes                *float64                 `json:"swimming_num_strokes_float"`
	SwimmingNumLaps                   *int                     `json:"swimming_num_laps_int"`
	SwimmingPoolLengthMeters          *float64                 `json:"swimming_pool_length_meters_float"`
	SwimmingTotalDistanceMeters       *float64                 `json:"swimming_total_distance_meters_float"`
	TraveledDistanceMeters            *float64                 `json:"traveled_distance_meters_float"`
	WalkedDistanceMeters              *float64                 `json:"walked_distance_meters_float"`
	StepsGranularData                 []StepsSample            `json:"steps_granular_data_array"`
	ActiveStepsGranularData           []ActiveStepsSample      `json:"active_steps_granular_data_array"`
	FloorsClimbedGranularData         []FloorsClimbedSample    `json:"floors_climbed_granular_data_array"`
	ElevationGranularData             []ElevationSample        `json:"elevation_granular_data_array"`
	SwimmingDistanceGranularData      []SwimmingDistanceSample `json:"swimming_distance_granular_data_array"`
	TraveledDistanceGranularData      []TraveledDistanceSample `json:"traveled_distance_granular_data_array"`
}

// PhysicalSummaryStress is the stress object of physical_summary.
type PhysicalSummaryStress struct {
	StressAtRestDurationSeconds *int           `json:"stress_at_rest_duration_seconds_int"`
	StressDurationSeconds       *int           `json:"stress_duration_seconds_int"`
	LowStressDurationSeconds    *int           `json:"low_stress_duration_seconds_int"`
	MediumStressDurationSeconds *int           `json:"medium_stress_duration_seconds_int"`
	HighStressDurationSeconds   *int           `json:"high_stress_duration_seconds_int"`
	StressAvgLevel              *int           `json:"stress_avg_level_int"`
	StressMaximumLevel          *int           `json:"stress_maximum_level_int"`
	StressGranularData          []StressSample `json:"stress_granular_data_array"`
}

// StressSample is an item of the stress_granular_data_array of
// physical_summary.
type StressSample struct {
	Datetime    *string `json:"datetime_string"`
	StressScore *int    `json:"stress_score_int"`
}

// ActivityEventDocument is an activity_event document (a workout or any
// bounded activity), filed under physical_health.events.activity_event.
type ActivityEventDocument struct {
	Header
	AutoDetected *bool
	Events       []ActivityEventRecord
}

// ActivityEventRecord is an item of physical_health.events.activity_event.
type ActivityEventRecord struct {
	NonStructuredData NonStructuredData     `json:"non_structured_data_array"`
	Metadata          EventMetadata         `json:"metadata"`
	Activity          ActivityEventActivity `json:"activity"`
	Calories          ActivityEventCalories `json:"calories"`
	Distance          ActivityEventDistance `json:"distance"`
	HeartRate         HeartRate             `json:"heart_rate"`
	Movement          Movement              `json:"movement"`
	Power             Power                 `json:"power"`
	Position          Position              `json:"position"`
	Oxygenation       Oxygenation           `json:"oxygenation"`
	Stress            ActivityEventStress   `json:"stress"`
}

// ActivityEventActivity is the activity object of activity_event.
// ActivityTypeName carries the source's own activity name, not a
// normalized one.
type ActivityEventActivity struct {
	ActivityStartDatetime           *string               `json:"activity_start_datetime_string"`
	ActivityEndDatetime             *string               `json:"activity_end_datetime_string"`
	ActivityDurationSeconds         *int                  `json:"activity_duration_seconds_int"`
	ActivityTypeName                *string               `json:"activity_type_name_string"`
	ActiveSeconds                   *int                  `json:"active_seconds_int"`
	RestSeconds                     *int                  `json:"rest_seconds_int"`
	LowIntensitySeconds             *int                  `json:"low_intensity_seconds_int"`
	ModerateIntensitySeconds        *int                  `json:"moderate_intensity_seconds_int"`
	VigorousIntensitySeconds        *int                  `json:"vigorous_intensity_seconds_int"`
	InactivitySeconds               *int                  `json:"inactivity_seconds_int"`
	ContinuousInactivePeriods       *int                  `json:"continuous_inactive_periods_int"`
	ActivityStrainLevel             *float64              `json:"activity_strain_level_float"`
	ActivityWorkKilojoules          *float64              `json:"activity_work_kilojoules_float"`
	ActivityEnergyKilojoules        *float64              `json:"activity_energy_kilojoules_float"`
	ActivityEnergyPlannedKilojoules *float64              `json:"activity_energy_planned_kilojoules_float"`
	ActivityLevelGranularData       []ActivityLevelSample `json:"activity_level_granular_data_array"`
}

// ActivityEventCalories is the calories object of activity_event.
type ActivityEventCalories struct {
	CaloriesBasalMetabolicRateKcal   *float64 `json:"calories_basal_metabolic_rate_kcal_float"`
	CaloriesExpenditureKcal          *float64 `json:"calories_expenditure_kcal_float"`
	CaloriesNetActiveKcal            *float64 `json:"calories_net_active_kcal_float"`
	CaloriesNetIntakeKcal            *float64 `json:"calories_net_intake_kcal_float"`
	CarbohydratePercentageOfCalories *int     `json:"carbohydrate_percentage_of_calories_int"`
	FatPercentageOfCalories          *int     `json:"fat_percentage_of_calories_int"`
	ProteinPercentageOfCalories      *int     `json:"protein_percentage_of_calories_int"`
}

// ActivityEventDistance is the distance object of activity_event (the
// summary's distance without active steps).
type ActivityEventDistance struct {
	Steps                             *int                     `json:"steps_int"`
	WalkedDistanceMeters              *float64                 `json:"walked_distance_meters_float"`
	TraveledDistanceMeters            *float64                 `json:"traveled_distance_meters_float"`
	FloorsClimbed                     *float64                 `json:"floors_climbed_float"`
	ElevationAvgAltitudeMeters        *float64                 `json:"elevation_avg_altitude_meters_float"`
	ElevationMinimumAltitudeMeters    *float64                 `json:"elevation_minimum_altitude_meters_float"`
	ElevationMaximumAltitudeMeters    *float64                 `json:"elevation_maximum_altitude_meters_float"`
	ElevationGainActualAltitudeMeters *float64                 `json:"elevation_gain_actual_altitude_meters_float"`
	ElevationLossActualAltitudeMeters *float64                 `json:"elevation_loss_actual_altitude_meters_float"`
	ElevationPlannedGainMeters        *float64                 `json:"elevation_planned_gain_meters_float"`
	SwimmingNumStrokes                *float64                 `json:"swimming_num_strokes_float"`
	SwimmingNumLaps                   *int                     `json:"swimming_num_laps_int"`
	SwimmingPoolLengthMeters          *float64                 `json:"swimming_pool_length_meters_float"`
	SwimmingTotalDistanceMeters       *float64                 `json:"swimming_total_distance_meters_float"`
	StepsGranularData                 []StepsSample            `json:"steps_granular_data_array"`
	FloorsClimbedGranularData         []FloorsClimbedSample    `json:"floors_climbed_granular_data_array"`
	ElevationGranularData             []ElevationSample        `json:"elevation_granular_data_array"`
	SwimmingDistanceGranularData      []SwimmingDistanceSample `json:"swimming_distance_granular_data_array"`
	TraveledDistanceGranularData      []TraveledDistanceSample `json:"traveled_distance_granular_data_array"`
}

// Movement is the movement object of activity_event.
type Movement struct {
	SpeedNormalizedMetersPerSecond *float64        `json:"speed_normalized_meters_per_second_float"`
	SpeedAvgMetersPerSecond        *float64        `json:"speed_avg_meters_per_second_float"`
	SpeedMaximumMetersPerSecond    *float64        `json:"speed_maximum_meters_per_second_float"`
	VelocityAvg                    *Velocity       `json:"velocity_avg_object"`
	VelocityMaximum                *Velocity       `json:"velocity_maximum_object"`
	PaceAvgMinPerKm                *float64        `json:"pace_avg_min_per_km_float"`
	PaceMaximumMinPerKm            *float64        `json:"pace_maximum_min_per_km_float"`
	CadenceAvgRPM                  *float64        `json:"cadence_avg_rpm_float"`
	CadenceMaximumRPM              *float64        `json:"cadence_maximum_rpm_float"`
	TorqueAvgNewtonMeters          *float64        `json:"torque_avg_newton_meters_float"`
	TorqueMaximumNewtonMeters      *float64        `json:"torque_maximum_newton_meters_float"`
	CadenceGranularData            []CadenceSample `json:"cadence_granular_data_array"`
	LapGranularData                []LapSample     `json:"lap_granular_data_array"`
	SpeedGranularData              []SpeedSample   `json:"speed_granular_data_array"`
	TorqueGranularData             []TorqueSample  `json:"torque_granular_data_array"`
}

// Velocity is a velocity_*_object.
type Velocity struct {
	SpeedMetersPerSecond *float64 `json:"speed_meters_per_second_float"`
	Direction            *string  `json:"direction_string"`
}

// CadenceSample is an item of cadence_granular_data_array.
type CadenceSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	CadenceRPM              *float64 `json:"cadence_rpm_float"`
}

// LapSample is an item of lap_granular_data_array.
type LapSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	Laps                    *int     `json:"laps_int"`
}

// SpeedSample is an item of speed_granular_data_array.
type SpeedSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	SpeedMetersPerSecond    *float64 `json:"speed_meters_per_second_float"`
}

// TorqueSample is an item of torque_granular_data_array.
type TorqueSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	TorqueNewtonMeters      *float64 `json:"torque_newton_meters_float"`
}

// Power is the power object of activity_event.
type Power struct {
	PowerAvgWatts     *float64      `json:"power_avg_watts_float"`
	PowerMaximumWatts *float64      `json:"power_maximum_watts_float"`
	PowerGranularData []PowerSample `json:"power_granular_data_array"`
}

// PowerSample is an item of power_granular_data_array.
type PowerSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	PowerWatts              *float64 `json:"power_watts_float"`
}

// Position is the position object of activity_event.
type Position struct {
	PositionStart                  *Coordinates     `json:"position_start_object"`
	PositionCentroid               *Coordinates     `json:"position_centroid_object"`
	PositionEnd                    *Coordinates     `json:"position_end_object"`
	PositionGranularData           []PositionSample `json:"position_granular_data_array"`
	PositionPolylineMapDataSummary *string          `json:"position_polyline_map_data_summary_string"`
}

// Coordinates is a position_*_object.
type Coordinates struct {
	LatDeg *float64 `json:"lat_deg_float"`
	LngDeg *float64 `json:"lng_deg_float"`
}

// PositionSample is an item of position_granular_data_array.
type PositionSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	LatDeg                  *float64 `json:"lat_deg_float"`
	LngDeg                  *float64 `json:"lng_deg_float"`
}

// ActivityEventStress is the stress object of activity_event. Its TSS
// samples have no interval, unlike stress_event's.
type ActivityEventStress struct {
	StressAtRestDurationSeconds *int                `json:"stress_at_rest_duration_seconds_int"`
	StressDurationSeconds       *int                `json:"stress_duration_seconds_int"`
	LowStressDurationSeconds    *int                `json:"low_stress_duration_seconds_int"`
	MediumStressDurationSeconds *int                `json:"medium_stress_duration_seconds_int"`
	HighStressDurationSeconds   *int                `json:"high_stress_duration_seconds_int"`
	TSSGranularData             []ActivityTSSSample `json:"tss_granular_data_array"`
	StressAvgLevel              *int                `json:"stress_avg_level_int"`
	StressMaximumLevel          *int                `json:"stress_maximum_level_int"`
}

// ActivityTSSSample is an item of activity_event's tss_granular_data_array.
type ActivityTSSSample struct {
	Datetime *string `json:"datetime_string"`
	TSSScore *int    `json:"tss_score_int"`
}

// PhysicalHeartRateEventDocument is a heart_rate_event document filed under
// physical_health.events.heart_rate_event.
type PhysicalHeartRateEventDocument struct {
	Header
	AutoDetected *bool
	Events       []HeartRateEventRecord
}

// HeartRateEventRecord is an item of heart_rate_event, in either pillar.
type HeartRateEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	HeartRate         HeartRate         `json:"heart_rate"`
}

// PhysicalOxygenationEventDocument is an oxygenation_event document filed
// under physical_health.events.oxygenation_event.
type PhysicalOxygenationEventDocument struct {
	Header
	AutoDetected *bool
	Events       []OxygenationEventRecord
}

// OxygenationEventRecord is an item of oxygenation_event, in either pillar.
type OxygenationEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	Oxygenation       Oxygenation       `json:"oxygenation"`
}

// StressEventDocument is a stress_event document, filed under
// physical_health.events.stress_event.
type StressEventDocument struct {
	Header
	AutoDetected *bool
	Events       []StressEventRecord
}

// StressEventRecord is an item of physical_health.events.stress_event.
type StressEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	Stress            StressEventStress `json:"stress"`
}

// StressEventStress is the stress object of stress_event.
type StressEventStress struct {
	StressAtRestDurationSeconds *int        `json:"stress_at_rest_duration_seconds_int"`
	StressDurationSeconds       *int        `json:"stress_duration_seconds_int"`
	LowStressDurationSeconds    *int        `json:"low_stress_duration_seconds_int"`
	MediumStressDurationSeconds *int        `json:"medium_stress_duration_seconds_int"`
	HighStressDurationSeconds   *int        `json:"high_stress_duration_seconds_int"`
	TSSGranularData             []TSSSample `json:"tss_granular_data_array"`
	StressAvgLevel              *int        `json:"stress_avg_level_int"`
	StressMaximumLevel          *int        `json:"stress_maximum_level_int"`
}

// TSSSample is an item of stress_event's tss_granular_data_array.
type TSSSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	TSSScore                *int     `json:"tss_score_int"`
}
