package health

// StructureVersion is the value of "version" in every document: the
// generation of ROOK's data structures these types follow.
const StructureVersion = 2

// Pillars: the top-level key a structure is filed under. user_info has no
// pillar object; PillarUser names its user_information block.
const (
	PillarPhysical = "physical_health"
	PillarSleep    = "sleep_health"
	PillarBody     = "body_health"
	PillarUser     = "user_information"
)

// Kinds of structure. A summary nests one object under <pillar>.summary, an
// event nests an array under <pillar>.events; user_info is neither.
const (
	KindSummary = "summary"
	KindEvent   = "event"
	KindInfo    = "info"
)

// Data structure names, the value of "data_structure". heart_rate_event and
// oxygenation_event exist in both the physical and the body pillar, so a
// structure is identified by its pillar and its name together.
const (
	UserInfo           = "user_info"
	SleepSummary       = "sleep_summary"
	PhysicalSummary    = "physical_summary"
	BodySummary        = "body_summary"
	ActivityEvent      = "activity_event"
	HeartRateEvent     = "heart_rate_event"
	OxygenationEvent   = "oxygenation_event"
	StressEvent        = "stress_event"
	BodyMetricsEvent   = "body_metrics_event"
	NutritionEvent     = "nutrition_event"
	MoodEvent          = "mood_event"
	HydrationEvent     = "hydration_event"
	BloodGlucoseEvent  = "blood_glucose_event"
	BloodPressureEvent = "blood_pressure_event"
	TemperatureEvent   = "temperature_event"
)

// Structure describes one data structure: where it is filed, the ROOK
// route that serves it (GET, with user_id and date query parameters), the
// name of its schema in ROOK's OpenAPI 2.0.1 document, and a constructor for
// its empty document.
type Structure struct {
	Name   string
	Pillar string
	Kind   string
	Route  string
	Schema string
	New    func() Doc
}

// Structures returns every data structure, in the order of ROOK's API
// reference. The slice is new on every call.
func Structures() []Structure {
	return []Structure{
		{UserInfo, PillarUser, KindInfo, "/v2/processed_data/user/info", "schema_user_info",
			func() Doc { return new(UserInfoDocument) }},
		{PhysicalSummary, PillarPhysical, KindSummary, "/v2/processed_data/physical_health/summary", "PhysicalSummary",
			func() Doc { return new(PhysicalSummaryDocument) }},
		{ActivityEvent, PillarPhysical, KindEvent, "/v2/processed_data/physical_health/events/activity", "ActivityEvent",
			func() Doc { return new(ActivityEventDocument) }},
		{HeartRateEvent, PillarPhysical, KindEvent, "/v2/processed_data/physical_health/events/heart_rate", "HeartRateEvent",
			func() Doc { return new(PhysicalHeartRateEventDocument) }},
		{OxygenationEvent, PillarPhysical, KindEvent, "/v2/processed_data/physical_health/events/oxygenation", "OxygenationEvent",
			func() Doc { return new(PhysicalOxygenationEventDocument) }},
		{StressEvent, PillarPhysical, KindEvent, "/v2/processed_data/physical_health/events/stress", "StressEvent",
			func() Doc { return new(StressEventDocument) }},
		{SleepSummary, PillarSleep, KindSummary, "/v2/processed_data/sleep_health/summary", "SleepSummary",
			func() Doc { return new(SleepSummaryDocument) }},
		{BodySummary, PillarBody, KindSummary, "/v2/processed_data/body_health/summary", "BodySummary",
			func() Doc { return new(BodySummaryDocument) }},
		{BodyMetricsEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/body_metrics", "BodyMetricsEvent",
			func() Doc { return new(BodyMetricsEventDocument) }},
		{HeartRateEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/heart_rate", "BodyHeartRateEvent",
			func() Doc { return new(BodyHeartRateEventDocument) }},
		{OxygenationEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/oxygenation", "BodyOxygenationEvent",
			func() Doc { return new(BodyOxygenationEventDocument) }},
		{NutritionEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/nutrition", "BodyNutritionEvent",
			func() Doc { return new(NutritionEventDocument) }},
		{MoodEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/mood", "BodyMoodEvent",
			func() Doc { return new(MoodEventDocument) }},
		{HydrationEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/hydration", "BodyHydrationEvent",
			func() Doc { return new(HydrationEventDocument) }},
		{BloodGlucoseEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/blood_glucose", "BodyBloodGlucoseEvent",
			func() Doc { return new(BloodGlucoseEventDocument) }},
		{BloodPressureEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/blood_pressure", "BodyBloodPressureEvent",
			func() Doc { return new(BloodPressureEventDocument) }},
		{TemperatureEvent, PillarBody, KindEvent, "/v2/processed_data/body_health/events/temperature", "BodyTemperatureEvent",
			func() Doc { return new(TemperatureEventDocument) }},
	}
}

// Lookup finds a structure by pillar and data_structure name. The pillar
// may be empty when the name alone is unambiguous; for heart_rate_event and
// oxygenation_event it is then not found.
func Lookup(pillar, name string) (Structure, bool) {
	var found Structure
	n := 0
	for _, s := range Structures() {
		if s.Name == name && (pillar == "" || s.Pillar == pillar) {
			found = s
			n++
		}
	}
	if n != 1 {
		return Structure{}, false
	}
	return found, true
}

// LookupRoute finds the structure served by a ROOK processed_data route
// (the path only, without query).
func LookupRoute(path string) (Structure, bool) {
	for _, s := range Structures() {
		if s.Route == path {
			return s, true
		}
	}
	return Structure{}, false
}
