package health

// Typo records a key that ROOK's OpenAPI 2.0.1 document misspells and the
// spelling wearlink emits instead. We emit the correct spelling because it
// is the one the same field has everywhere else in the schema (and in
// ROOK's own document builders), so a receiver parsing one field name for
// every structure keeps working; a receiver that copied the typo would
// already be broken for the other structures.
type Typo struct {
	// Schema is the component name in ROOK's OpenAPI document.
	Schema string
	// Object is the path of the object holding the key: property names
	// joined by dots, "[]" stepping into array items.
	Object string
	// Published is the key as the YAML spells it.
	Published string
	// Emitted is the key we write.
	Emitted string
}

// Typos returns every published misspelling and what we emit instead (see
// TYPOS.md for the reasoning).
func Typos() []Typo {
	const (
		celcius = "temperature_celcius_float"
		celsius = "temperature_celsius_float"
		tempEvt = "body_health.events.temperature_event[].temperature."
	)
	return []Typo{
		{"SleepSummary", "sleep_health.summary.sleep_summary.breathing.saturation_granular_data_array[]",
			"interval_duration_seconds_float_number", "interval_duration_seconds_float"},
		{"BodySummary", "body_health.summary.body_summary.nutrition",
			"trans_fat_intake_g_floatr", "trans_fat_intake_g_float"},
		{"BodyTemperatureEvent", tempEvt + "temperature_avg_object", celcius, celsius},
		{"BodyTemperatureEvent", tempEvt + "temperature_maximum_object", celcius, celsius},
		{"BodyTemperatureEvent", tempEvt + "temperature_minimum_object", celcius, celsius},
		{"BodyTemperatureEvent", tempEvt + "temperature_delta_object", celcius, celsius},
	}
}
