package health

// BodySummaryDocument is a body_summary document: one local day of body
// measurements, filed under body_health.summary.body_summary.
type BodySummaryDocument struct {
	Header
	Summary BodySummaryRecord
}

// BodySummaryRecord is the object under body_health.summary.body_summary.
type BodySummaryRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          Metadata          `json:"metadata"`
	BodyMetrics       BodyMetrics       `json:"body_metrics"`
	BloodGlucose      BloodGlucose      `json:"blood_glucose"`
	BloodPressure     BloodPressure     `json:"blood_pressure"`
	Hydration         Hydration         `json:"hydration"`
	HeartRate         HeartRate         `json:"heart_rate"`
	Mood              Mood              `json:"mood"`
	Nutrition         Nutrition         `json:"nutrition"`
	Oxygenation       Oxygenation       `json:"oxygenation"`
	Temperature       Temperature       `json:"temperature"`
	Menstruation      Menstruation      `json:"menstruation"`
}

// BodyMetrics is the body_metrics object of body_summary and
// body_metrics_event.
type BodyMetrics struct {
	WaistCircumferenceCm        *int     `json:"waist_circumference_cm_int"`
	HipCircumferenceCm          *int     `json:"hip_circumference_cm_int"`
	ChestCircumferenceCm        *int     `json:"chest_circumference_cm_int"`
	BoneCompositionPercentage   *int     `json:"bone_composition_percentage_int"`
	MuscleCompositionPercentage *int     `json:"muscle_composition_percentage_int"`
	WaterCompositionPercentage  *int     `json:"water_composition_percentage_int"`
	WeightKg                    *float64 `json:"weight_kg_float"`
	HeightCm                    *int     `json:"height_cm_int"`
	BMI                         *float64 `json:"bmi_float"`
}

// BloodGlucose is the blood_glucose object of body_summary and
// blood_glucose_event.
type BloodGlucose struct {
	BloodGlucoseAvgMgPerDL   *int                 `json:"blood_glucose_avg_mg_per_dL_int"`
	BloodGlucoseGranularData []BloodGlucoseSample `json:"blood_glucose_granular_data_array"`
}

// BloodGlucoseSample is an item of blood_glucose_granular_data_array.
type BloodGlucoseSample struct {
	Datetime            *string `json:"datetime_string"`
	BloodGlucoseMgPerDL *int    `json:"blood_glucose_mg_per_dL_int"`
}

// BloodPressure is the blood_pressure object of body_summary and
// blood_pressure_event.
type BloodPressure struct {
	BloodPressureAvg          *BloodPressureValue   `json:"blood_pressure_avg_object"`
	BloodPressureGranularData []BloodPressureSample `json:"blood_pressure_granular_data_array"`
}

// BloodPressureValue is blood_pressure_avg_object.
type BloodPressureValue struct {
	SystolicMmHg  *int `json:"systolic_mmHg_int"`
	DiastolicMmHg *int `json:"diastolic_mmHg_int"`
}

// BloodPressureSample is an item of blood_pressure_granular_data_array.
type BloodPressureSample struct {
	Datetime      *string `json:"datetime_string"`
	SystolicMmHg  *int    `json:"systolic_mmHg_int"`
	DiastolicMmHg *int    `json:"diastolic_mmHg_int"`
}

// Hydration is the hydration object of body_summary and hydration_event.
type Hydration struct {
	WaterTotalConsumptionML     *int                    `json:"water_total_consumption_mL_int"`
	HydrationAmountGranularData []HydrationAmountSample `json:"hydration_amount_granular_data_array"`
	HydrationLevelGranularData  []HydrationLevelSample  `json:"hydration_level_granular_data_array"`
}

// HydrationAmountSample is an item of hydration_amount_granular_data_array.
type HydrationAmountSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	HydrationAmountML       *int     `json:"hydration_amount_mL_int"`
}

// HydrationLevelSample is an item of hydration_level_granular_data_array.
type HydrationLevelSample struct {
	Datetime                 *string  `json:"datetime_string"`
	IntervalDurationSeconds  *float64 `json:"interval_duration_seconds_float"`
	HydrationLevelPercentage *int     `json:"hydration_level_percentage_int"`
}

// Mood is the mood object of body_summary and mood_event.
type Mood struct {
	MoodMinimumScale *int         `json:"mood_minimum_scale_int"`
	MoodAvgScale     *int         `json:"mood_avg_scale_int"`
	MoodMaximumScale *int         `json:"mood_maximum_scale_int"`
	MoodGranularData []MoodSample `json:"mood_granular_data_array"`
	MoodDeltaScale   *int         `json:"mood_delta_scale_int"`
}

// MoodSample is an item of mood_granular_data_array.
type MoodSample struct {
	Datetime                *string  `json:"datetime_string"`
	IntervalDurationSeconds *float64 `json:"interval_duration_seconds_float"`
	MoodScale               *int     `json:"mood_scale_int"`
}

// Nutrition is the nutrition object of body_summary and nutrition_event.
// TransFatIntakeG is emitted as trans_fat_intake_g_float in both, although
// the published body_summary schema misspells it (see Typos).
type Nutrition struct {
	FoodIntake           *float64 `json:"food_intake_float"`
	CaloriesIntakeKcal   *float64 `json:"calories_intake_kcal_float"`
	ProteinIntakeG       *float64 `json:"protein_intake_g_float"`
	SugarIntakeG         *float64 `json:"sugar_intake_g_float"`
	FatIntakeG           *float64 `json:"fat_intake_g_float"`
	TransFatIntakeG      *float64 `json:"trans_fat_intake_g_float"`
	CarbohydratesIntakeG *float64 `json:"carbohydrates_intake_g_float"`
	FiberIntakeG         *float64 `json:"fiber_intake_g_float"`
	AlcoholIntakeG       *float64 `json:"alcohol_intake_g_float"`
	SodiumIntakeMg       *float64 `json:"sodium_intake_mg_float"`
	CholesterolIntakeMg  *float64 `json:"cholesterol_intake_mg_float"`
}

// Menstruation is the menstruation object of body_summary (there is no
// menstruation event in API 2.0.1).
type Menstruation struct {
	LastUpdatedDatetime          *string                  `json:"last_updated_datetime_string"`
	PeriodStartDate              *string                  `json:"period_start_date_string"`
	CycleDay                     *int                     `json:"cycle_day_int"`
	PredictedCycleLengthDays     *int                     `json:"predicted_cycle_length_days_int"`
	CycleLengthDays              *int                     `json:"cycle_length_days_int"`
	CurrentPhase                 *string                  `json:"current_phase_string"`
	LengthOfCurrentPhaseDays     *int                     `json:"length_of_current_phase_days_int"`
	DaysUntilNextPhase           *int                     `json:"days_until_next_phase_int"`
	IsAPredictedCycle            *bool                    `json:"is_a_predicted_cycle_bool"`
	MenstruationFlowGranularData []MenstruationFlowSample `json:"menstruation_flow_granular_data_array"`
}

// MenstruationFlowSample is an item of menstruation_flow_granular_data_array.
type MenstruationFlowSample struct {
	Datetime *string `json:"datetime_string"`
	FlowML   *int    `json:"flow_mL_int"`
}

// BodyMetricsEventDocument is a body_metrics_event document, filed under
// body_health.events.body_metrics_event.
type BodyMetricsEventDocument struct {
	Header
	AutoDetected *bool
	Events       []BodyMetricsEventRecord
}

// BodyMetricsEventRecord is an item of body_metrics_event.
type BodyMetricsEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	BodyMetrics       BodyMetrics       `json:"body_metrics"`
}

// BloodGlucoseEventDocument is a blood_glucose_event document, filed under
// body_health.events.blood_glucose_event.
type BloodGlucoseEventDocument struct {
	Header
	AutoDetected *bool
	Events       []BloodGlucoseEventRecord
}

// BloodGlucoseEventRecord is an item of blood_glucose_event.
type BloodGlucoseEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	BloodGlucose      BloodGlucose      `json:"blood_glucose"`
}

// BloodPressureEventDocument is a blood_pressure_event document, filed under
// body_health.events.blood_pressure_event.
type BloodPressureEventDocument struct {
	Header
	AutoDetected *bool
	Events       []BloodPressureEventRecord
}

// BloodPressureEventRecord is an item of blood_pressure_event.
type BloodPressureEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	BloodPressure     BloodPressure     `json:"blood_pressure"`
}

// BodyHeartRateEventDocument is a heart_rate_event document filed under
// body_health.events.heart_rate_event (same record as the physical one).
type BodyHeartRateEventDocument struct {
	Header
	AutoDetected *bool
	Events       []HeartRateEventRecord
}

// HydrationEventDocument is a hydration_event document, filed under
// body_health.events.hydration_event.
type HydrationEventDocument struct {
	Header
	AutoDetected *bool
	Events       []HydrationEventRecord
}

// HydrationEventRecord is an item of hydration_event.
type HydrationEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	Hydration         Hydration         `json:"hydration"`
}

// MoodEventDocument is a mood_event document, filed under
// body_health.events.mood_event.
type MoodEventDocument struct {
	Header
	AutoDetected *bool
	Events       []MoodEventRecord
}

// MoodEventRecord is an item of mood_event.
type MoodEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	Mood              Mood              `json:"mood"`
}

// NutritionEventDocument is a nutrition_event document, filed under
// body_health.events.nutrition_event.
type NutritionEventDocument struct {
	Header
	AutoDetected *bool
	Events       []NutritionEventRecord
}

// NutritionEventRecord is an item of nutrition_event.
type NutritionEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	Nutrition         Nutrition         `json:"nutrition"`
}

// BodyOxygenationEventDocument is an oxygenation_event document filed under
// body_health.events.oxygenation_event (same record as the physical one).
type BodyOxygenationEventDocument struct {
	Header
	AutoDetected *bool
	Events       []OxygenationEventRecord
}

// TemperatureEventDocument is a temperature_event document, filed under
// body_health.events.temperature_event.
type TemperatureEventDocument struct {
	Header
	AutoDetected *bool
	Events       []TemperatureEventRecord
}

// TemperatureEventRecord is an item of temperature_event.
type TemperatureEventRecord struct {
	NonStructuredData NonStructuredData `json:"non_structured_data_array"`
	Metadata          EventMetadata     `json:"metadata"`
	Temperature       Temperature       `json:"temperature"`
}
