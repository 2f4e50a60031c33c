package normalize

import (
	"encoding/json"

	"github.com/wearlink/wearlink/internal/provider/normkit"
)

// Items of non_structured_data_array.
//
// Every Oura document that has no field of its own in ROOK's structures is
// attached to a document of its day inside a wrapper:
//
//	{"source": "oura", "collection": "<Oura collection path name>",
//	 "role": "<optional, see below>", "document": { ...the Oura document... }}
//
// The document is the bytes Oura sent (compacted) when the caller passes them
// in Input.Raw, as the sync engine and `wearlink normalize` do; otherwise the
// decoded model encoded again, which leaves out fields newer than the model.
//
// Documents that are mapped are attached too when they carry something the
// mapping does not (scores and contributors, MET minutes, breathing
// disturbance index, the workout's intensity label ...), so a receiver can
// always read what Oura said. Where each collection goes:
//
//	sleep_summary      daily_sleep, daily_readiness, sleep (role "main" for
//	                   the period mapped, "nap" for the periods left out of
//	                   the summary, "deleted" for periods Oura marks
//	                   deleted), a derived hypnogram (role "hypnogram"),
//	                   sleep_time
//	physical_summary   daily_activity, daily_resilience, vO2_max
//	body_summary       tag, enhanced_tag, rest_mode_period (on its start
//	                   day), daily_cardiovascular_age, ring_battery_level
//	                   (one item per row), and on the as-of day
//	                   personal_info (without the e-mail address) and
//	                   ring_configuration
//	activity_event     the workout or session itself
//	stress_event       daily_stress
//	oxygenation_event  daily_spo2
//	temperature_event  daily_readiness
//	heart_rate_event   a derived run list of the samples' Oura source
//	                   (role "sources")
//
// When a collection has several documents for one day (which Oura should
// not send), the newest is mapped and the others are attached with role
// "superseded".

// ouraSource is the source of every attached item.
const ouraSource = "oura"

// wrap builds the attachment item for an Oura document's JSON.
func wrap(coll, role string, raw []byte) json.RawMessage {
	return normkit.Wrap(ouraSource, coll, role, raw)
}

// hypnogramItem is the sleep_phase_5_min string as runs of one phase. ROOK
// has no field for sleep stages over time; runs keep it short and exact.
type hypnogramItem struct {
	Source     string           `json:"source"`
	Collection string           `json:"collection"`
	Role       string           `json:"role"`
	SleepID    string           `json:"sleep_id"`
	Phases     []hypnogramPhase `json:"hypnogram_granular_data_array"`
}

type hypnogramPhase struct {
	Datetime string  `json:"datetime_string"`
	Interval float64 `json:"interval_duration_seconds_float"`
	Phase    string  `json:"sleep_phase_string"`
}

// sourcesItem lists which Oura source (awake, rest, sleep, workout, session,
// live) produced the heart-rate samples, as runs of consecutive samples.
type sourcesItem struct {
	Source     string       `json:"source"`
	Collection string       `json:"collection"`
	Role       string       `json:"role"`
	Runs       []sourcesRun `json:"sources_granular_data_array"`
}

type sourcesRun struct {
	Start   string `json:"datetime_string"`
	End     string `json:"end_datetime_string"`
	Source  string `json:"heartrate_source_string"`
	Samples int    `json:"samples_int"`
}
